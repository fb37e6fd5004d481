import VMRRGuest
import VMRRJournal

/// vmrr's own clock page at 0xFEB0_0000 (docs/GUEST.md, "Paravirtual clock"
/// and "Paravirtual one-shot timer"): a read of `Layout.clockGPA` returns
/// the guest clock in ns (a `clock` event); a write of `Layout.timerGPA`
/// arms a one-shot timer for that deadline, or disarms it with 0 (a `timer`
/// event). The rest of the page reads all ones and ignores writes (`mmio`
/// events). When the deadline has passed, `Layout.timerVector` is due; no
/// EOI is needed. Map it at the page.
public final class ParavirtualClock: DeviceModel {
    /// The timer deadline in clock ns, or nil when disarmed.
    public private(set) var deadline: UInt64?

    static let clockOffset = Layout.clockGPA - Layout.paravirtPageGPA
    static let timerOffset = Layout.timerGPA - Layout.paravirtPageGPA

    public init() {}

    /// Whether the timer has fired by `now` (its interrupt waits for injection).
    public func expired(at now: UInt64) -> Bool {
        guard let d = deadline else { return false }
        return now >= d
    }

    /// The timer's interrupt was injected: it is disarmed.
    public func acknowledge() { deadline = nil }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        guard access.offset == Self.clockOffset else { return .value(DeviceAccess.allOnes) }
        return DeviceAnswer(value: access.now, record: .clock(nanoseconds: access.now))
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        guard access.offset == Self.timerOffset else { return .handled }
        deadline = access.value == 0 ? nil : access.value
        return DeviceAnswer(record: .timer(deadline: access.value))
    }

    /// The deadline (optional u64).
    func saveState(_ s: inout DeviceStateWriter) { s.optionalU64(deadline) }
    func restoreState(_ r: inout DeviceStateReader) throws { deadline = try r.optionalU64() }
}
