import VMRRJournal

/// System control port B at 0x61 (docs/GUEST.md, "PC devices"): bit 0
/// gates PIT channel 2, bit 1 is the speaker data enable (stored, read
/// back), bit 4 toggles with every DRAM refresh request of guest time, and
/// bit 5 shows channel 2's OUT, which Linux's PIT calibration polls.
public final class SystemControlPort: DeviceModel {
    let pit: PIT8254
    /// Bit 1, as last written.
    var speakerData = false

    /// Port 0x61 bits.
    enum Bits {
        static let gate2: UInt8 = 1 << 0, speakerData: UInt8 = 1 << 1
        static let refreshToggle: UInt8 = 1 << 4, out2: UInt8 = 1 << 5
    }
    /// DRAM refresh request period: 15.085 us.
    static let refreshPeriodNanoseconds: UInt64 = 15_085

    public init(pit: PIT8254) { self.pit = pit }

    func value(now: UInt64) -> UInt8 {
        var v: UInt8 = 0
        if pit.gate2 { v |= Bits.gate2 }
        if speakerData { v |= Bits.speakerData }
        if (now / Self.refreshPeriodNanoseconds) & 1 != 0 { v |= Bits.refreshToggle }
        if pit.out2(now) { v |= Bits.out2 }
        return v
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? { .value(UInt64(value(now: access.now))) }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        speakerData = access.byte & Bits.speakerData != 0
        pit.setGate2(access.byte & Bits.gate2 != 0, now: access.now)
        return .handled
    }

    /// The speaker data bit (the gate lives in the PIT's state).
    func saveState(_ s: inout DeviceStateWriter) { s.bool(speakerData) }
    func restoreState(_ r: inout DeviceStateReader) throws { speakerData = try r.bool() }
}
