import VMRRGuest
import VMRRJournal

/// The ACPI fixed-hardware registers the FADT names (docs/GUEST.md,
/// "ACPI PM"), in port space at `Layout.acpiPMBase` as on QEMU's PIIX4:
/// - PM1a_EVT_BLK: PM1 status (0x600, 16 bits, write 1 to clear) and PM1
///   enable (0x602, 16 bits). TMR_STS (bit 0) is set each time bit 23 of
///   the PM timer changes; no other event occurs (no power or sleep
///   button, no RTC alarm, no global lock).
/// - PM1a_CNT_BLK (0x604, 16 bits): SCI_EN (bit 0) reads 1 from boot
///   (there is no SMI_CMD, so ACPI mode is always on); BM_RLD, GBL_RLS and
///   SLP_TYP are stored; SLP_EN (bit 13) is write-only and ignored: vmrr
///   does not model sleep states, so a guest asking for one runs on.
/// - PM_TMR_BLK (0x608, 32-bit reads): the 24-bit PM timer at 3.579545 MHz
///   on the guest clock (bits 31:24 read 0; `Layout.pmTimerIs32Bit` is
///   false, as the FADT says). Writes are ignored.
/// While SCI_EN is set, the SCI (ISA IRQ 9) is asserted as long as a status
/// bit and its enable bit are both set.
/// Byte and word accesses reach the registers' bytes. Map it at
/// 0x600-0x605 and 0x608-0x60B.
public final class ACPIPM: DeviceModel, ClockedInterruptSource {
    /// PM1 status and enable bits.
    enum PM1 {
        static let timer: UInt16 = 1 << 0, busMaster: UInt16 = 1 << 4, global: UInt16 = 1 << 5
        static let powerButton: UInt16 = 1 << 8, sleepButton: UInt16 = 1 << 9, rtc: UInt16 = 1 << 10
        static let wake: UInt16 = 1 << 15
        static let enableWritable: UInt16 = timer | global | powerButton | sleepButton | rtc
    }
    /// PM1 control bits.
    enum Control {
        static let sciEnable: UInt16 = 1 << 0, busMasterReload: UInt16 = 1 << 1, globalRelease: UInt16 = 1 << 2
        static let sleepTypeMask: UInt16 = 0x7 << 10
        static let sleepEnable: UInt16 = 1 << 13
        static let stored: UInt16 = sciEnable | busMasterReload | globalRelease | sleepTypeMask
    }
    static let nanosecondsPerSecond: UInt64 = 1_000_000_000
    /// The timer's width: bit 23 carries into TMR_STS.
    static let counterMask: UInt64 = (1 << 24) - 1
    static let carryShift: UInt64 = 23

    private(set) var status: UInt16 = 0
    private(set) var enable: UInt16 = 0
    private(set) var control: UInt16 = Control.sciEnable
    /// Timer ticks >> 23 when TMR_STS was last cleared (or at boot): a
    /// different value now means bit 23 has changed since.
    private(set) var timerEpoch: UInt64 = 0
    private(set) var sciLevel = false
    let sci: InterruptLine

    public init(sci: InterruptLine) { self.sci = sci }

    /// PM timer ticks at guest time `now` (3.579545 MHz since boot).
    static func ticks(at now: UInt64) -> UInt64 {
        let f = Layout.pmTimerFrequency
        return now / nanosecondsPerSecond * f + now % nanosecondsPerSecond * f / nanosecondsPerSecond
    }

    /// Guest ns at which the timer has counted `ticks` (rounded up).
    static func time(ofTicks ticks: UInt64) -> UInt64 {
        let f = Layout.pmTimerFrequency
        return ticks / f * nanosecondsPerSecond + (ticks % f * nanosecondsPerSecond + f - 1) / f
    }

    /// What the timer register reads at `now`.
    public static func timerValue(at now: UInt64) -> UInt32 {
        UInt32(ticks(at: now) & counterMask)
    }

    /// Sets TMR_STS if bit 23 changed, then drives the SCI.
    public func advance(to now: UInt64) {
        if ticks(at: now) >> Self.carryShift != timerEpoch { status |= PM1.timer }
        let level = control & Control.sciEnable != 0 && status & enable != 0
        if level != sciLevel { sciLevel = level; sci.set(level) }
    }

    func ticks(at now: UInt64) -> UInt64 { Self.ticks(at: now) }

    /// When TMR_STS next raises the SCI, nil when it cannot.
    public func nextInterruptTime() -> UInt64? {
        guard control & Control.sciEnable != 0, enable & PM1.timer != 0, status & PM1.timer == 0 else { return nil }
        return Self.time(ofTicks: (timerEpoch + 1) << Self.carryShift)
    }

    func byte(at port: UInt16, now: UInt64) -> UInt8 {
        func lane(_ v: UInt64, _ k: UInt16) -> UInt8 { UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
        switch port {
        case Layout.pm1aEventPort...(Layout.pm1aEventPort + 1): return lane(UInt64(status), port - Layout.pm1aEventPort)
        case (Layout.pm1aEventPort + 2)...(Layout.pm1aEventPort + 3): return lane(UInt64(enable), port - Layout.pm1aEventPort - 2)
        case Layout.pm1aControlPort...(Layout.pm1aControlPort + 1): return lane(UInt64(control), port - Layout.pm1aControlPort)
        case Layout.pmTimerPort...(Layout.pmTimerPort + 3):
            return lane(UInt64(Self.timerValue(at: now)), port - Layout.pmTimerPort)
        default: return 0xFF
        }
    }

    func storeByte(_ port: UInt16, _ v: UInt8, now: UInt64) {
        func merged(_ old: UInt16, _ k: UInt16) -> UInt16 {
            k == 0 ? (old & 0xFF00) | UInt16(v) : (old & 0x00FF) | UInt16(v) << 8
        }
        switch port {
        case Layout.pm1aEventPort...(Layout.pm1aEventPort + 1):
            let bits = UInt16(v) << (8 * (port - Layout.pm1aEventPort))
            if bits & PM1.timer != 0 { timerEpoch = ticks(at: now) >> Self.carryShift }
            status &= ~bits
        case (Layout.pm1aEventPort + 2)...(Layout.pm1aEventPort + 3):
            enable = merged(enable, port - Layout.pm1aEventPort - 2) & PM1.enableWritable
        case Layout.pm1aControlPort...(Layout.pm1aControlPort + 1):
            control = merged(control, port - Layout.pm1aControlPort) & Control.stored
        default:
            break   // the PM timer is read-only
        }
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        advance(to: access.now)
        var v: UInt64 = 0
        for i in (0..<UInt16(min(access.size, 4))).reversed() {
            v = v << 8 | UInt64(byte(at: access.port &+ i, now: access.now))
        }
        return .value(v)
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        advance(to: access.now)
        for i in 0..<UInt16(min(access.size, 4)) {
            storeByte(access.port &+ i, UInt8(truncatingIfNeeded: access.value >> (8 * UInt64(i))), now: access.now)
        }
        advance(to: access.now)
        return .handled
    }

    // MARK: checkpoint state

    /// PM1 status, enable and control, the TMR_STS epoch, the SCI level.
    func saveState(_ s: inout DeviceStateWriter) {
        s.u16(status); s.u16(enable); s.u16(control); s.u64(timerEpoch); s.bool(sciLevel)
    }

    func restoreState(_ r: inout DeviceStateReader) throws {
        status = try r.u16(); enable = try r.u16(); control = try r.u16(); timerEpoch = try r.u64(); sciLevel = try r.bool()
    }
}
