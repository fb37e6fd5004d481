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

    func saveState(_ s: inout DeviceStateWriter) { s.u8(value) }
    func restoreState(_ r: inout DeviceStateReader) throws { value = try r.u8() }
}

/// What a CPU reset through INIT does (docs/GUEST.md, "Resets"): the
/// firmware that runs after it reads the CMOS shutdown status byte (0x0F);
/// codes 0x05 and 0x0A mean "jump through the warm-reset vector at 40:67"
/// (an AP-style start that test kernels use), anything else is a cold boot.
/// vmrr cannot re-enter real mode after an INIT: its executor loads only
/// the long- or protected-mode entry state of its boot protocols, there is
/// no firmware to run the real-mode path through 40:67, and a replay could
/// not reproduce a register reload the journal does not hold. So every
/// reset ends the run with `ExitStatus.reset`, and the message says which
/// kind it was and, for a warm reset, which code the CMOS held.
public final class WarmReset {
    let cmos: CMOSRTC

    public init(cmos: CMOSRTC) { self.cmos = cmos }

    /// The CMOS shutdown status byte now.
    var shutdownCode: UInt8 { cmos.ram[Int(Layout.cmosShutdownStatus)] }

    /// Whether a reset now would jump through the 40:67 vector.
    var isWarm: Bool { shutdownCode == Layout.shutdownJumpNoEOI || shutdownCode == Layout.shutdownJumpWithEOI }

    /// The end of the run for a reset caused by `cause`.
    func outcome(cause: String) -> DeviceOutcome {
        let code = shutdownCode
        let kind = isWarm
            ? "warm reset (CMOS shutdown code \(hex(code)): jump through the 40:67 vector); vmrr cannot re-enter real mode, so the run ends"
            : "reset (CMOS shutdown code \(hex(code)): cold boot)"
        return .end(.shutdown, status: ExitStatus.reset, message: "\(cause): \(kind)")
    }
}
