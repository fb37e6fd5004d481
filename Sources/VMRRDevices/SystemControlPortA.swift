import VMRRBase
import VMRRGuest
import VMRRJournal

/// System control port A at 0x92 (docs/GUEST.md, "Resets"): bit 1 is the
/// A20 gate (stored and read back; vmrr never masks address line 20, so
/// memory does not wrap at 1 MiB either way), bit 0 is the fast reset: a
/// write that sets it when it was clear resets the CPU (a warm reset,
/// `WarmReset`). Bit 0 reads back as written. Map it at 0x92.
public final class SystemControlPortA: DeviceModel {
    /// The register as last written (A20 enabled at boot).
    private(set) var value: UInt8 = Layout.portAA20
    let reset: WarmReset

    public init(reset: WarmReset) { self.reset = reset }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? { .value(UInt64(value)) }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        let old = value
        value = access.byte & (Layout.portAA20 | Layout.portAFastReset)
        guard value & Layout.portAFastReset != 0, old & Layout.portAFastReset == 0 else { return .handled }
        return DeviceAnswer(outcome: reset.outcome(cause: "fast reset: \(hex(access.byte)) written to port 0x92"))
    }

    /// A reset clears the fast-reset bit (A20 stays as it was), so that the next rising edge resets again.
    func clearFastReset() { value &= ~Layout.portAFastReset }

    func saveState(_ s: inout DeviceStateWriter) { s.u8(value) }
    func restoreState(_ r: inout DeviceStateReader) throws { value = try r.u8() }
}

/// What a CPU reset does (docs/GUEST.md, "Resets"): the firmware that runs
/// after it reads the CMOS shutdown status byte (0x0F). Codes 0x05 and 0x0A
/// mean "jump through the warm-reset vector at 40:67" (an AP-style restart
/// that test kernels and old protected-mode software use): vmrr does what a
/// BIOS does then, without running one. It clears the shutdown byte, sends
/// the PIC pair an EOI for code 0x05, resets the local APIC as INIT does,
/// and asks the run loop to put the vCPU in real mode at the far pointer at
/// 0x467 (`DeviceOutcome.warmReset`; the recorder journals it as a
/// `warm_reset` event, so a replay does the same). Any other code is a cold
/// boot, which vmrr cannot run (there is no firmware): the run ends with
/// `ExitStatus.reset`, and the message says which code the CMOS held.
public final class WarmReset {
    let cmos: CMOSRTC
    /// The devices a warm reset touches besides the CMOS (set by `PCPlatform`).
    var pic: PICPair?
    var apic: LocalAPIC?
    var portA: SystemControlPortA?

    public init(cmos: CMOSRTC) { self.cmos = cmos }

    /// The CMOS shutdown status byte now.
    var shutdownCode: UInt8 { cmos.ram[Int(Layout.cmosShutdownStatus)] }

    /// Whether a reset now would jump through the 40:67 vector.
    var isWarm: Bool { shutdownCode == Layout.shutdownJumpNoEOI || shutdownCode == Layout.shutdownJumpWithEOI }

    /// What a reset caused by `cause` does: a warm reset through 40:67, or the end of the run.
    func outcome(cause: String) -> DeviceOutcome {
        let code = shutdownCode
        guard isWarm else {
            return .end(.shutdown, status: ExitStatus.reset, message: "\(cause): reset (CMOS shutdown code \(hex(code)): cold boot)")
        }
        // What the BIOS's resume path does before the far jump (SeaBIOS handle_resume).
        cmos.clearShutdownStatus()
        if code == Layout.shutdownJumpWithEOI { pic?.endOfInterruptForReset() }
        apic?.initReset()
        portA?.clearFastReset()
        return .warmReset
    }
}
