import VMRRGuest
import VMRRJournal

/// The local APIC timer (SDM vol. 3, 11.5.4), counting guest-clock time:
/// the current-count register decrements once per `Layout.apicTimerTickNanoseconds`
/// times the divide value. A write of the initial-count register (re)starts
/// the count, 0 stops it; at 0 a one-shot timer stops and a periodic timer
/// reloads the initial count. A write of the divide configuration continues
/// the count from its current value at the new rate. TSC-deadline mode is
/// not modelled (the TSC cannot be made deterministic here; CPUID does not
/// offer it): the timer does not count in that mode.
struct APICTimer: Equatable {
    /// The LVT timer's mode field (bits 18:17).
    enum Mode { static let shift: UInt32 = 17, mask: UInt32 = 0x3, oneShot: UInt32 = 0, periodic: UInt32 = 1 }

    var initialCount: UInt32 = 0
    /// The divide configuration register (bits 0, 1 and 3 used).
    var divideConfig: UInt32 = 0
    /// The count at `start`, and when it was loaded; nil while stopped.
    var startCount: UInt32 = 0
    var start: UInt64?
    var periodic = false

    /// The divide value the configuration selects (SDM figure 11-10): bits 3,1:0
    /// 000 = 2, 001 = 4, ..., 110 = 128, 111 = 1.
    static func divisor(_ config: UInt32) -> UInt64 {
        let code = ((config & 0x8) >> 1) | (config & 0x3)
        return code == 7 ? 1 : 2 << UInt64(code)
    }

    /// Guest ns per count at the current divide value.
    var nanosecondsPerCount: UInt64 { Self.divisor(divideConfig) * Layout.apicTimerTickNanoseconds }

    /// The current-count register at `now`.
    func currentCount(at now: UInt64) -> UInt32 {
        guard let start else { return 0 }
        let elapsed = (now &- start) / nanosecondsPerCount
        if elapsed < UInt64(startCount) { return startCount - UInt32(elapsed) }
        guard periodic, initialCount != 0 else { return 0 }
        let into = (elapsed - UInt64(startCount)) % UInt64(initialCount)
        return initialCount - UInt32(into)
    }

    /// When the count next reaches 0 after `start`, nil while stopped.
    var nextExpiry: UInt64? {
        guard let start else { return nil }
        return start &+ UInt64(startCount) * nanosecondsPerCount
    }

    mutating func setInitialCount(_ v: UInt32, now: UInt64, mode: UInt32) {
        initialCount = v
        periodic = mode == Mode.periodic
        guard v != 0, mode == Mode.oneShot || mode == Mode.periodic else { start = nil; return }
        startCount = v; start = now
    }

    mutating func setDivide(_ v: UInt32, now: UInt64) {
        let current = currentCount(at: now)
        let wasRunning = start != nil && current != 0
        divideConfig = v & 0xB
        if wasRunning { startCount = current; start = now }
    }

    /// The LVT timer's mode changed: a one-shot timer that expired stays stopped.
    mutating func setMode(_ mode: UInt32) {
        periodic = mode == Mode.periodic
        if mode != Mode.oneShot && mode != Mode.periodic { start = nil }
    }

    /// Counts up to `now`: how many times the count reached 0 (at most 1
    /// for a one-shot timer; periodic expiries missed since are merged into
    /// one by the caller). Stops a one-shot timer at its expiry and moves a
    /// periodic timer's start to its last expiry.
    mutating func advance(to now: UInt64) -> Bool {
        guard let expiry = nextExpiry, expiry <= now else { return false }
        if periodic && initialCount != 0 {
            let period = UInt64(initialCount) * nanosecondsPerCount
            let last = expiry &+ (now &- expiry) / period * period
            startCount = initialCount; start = last
        } else {
            start = nil; startCount = 0
        }
        return true
    }

    func save(_ s: inout DeviceStateWriter) {
        s.u32(initialCount); s.u32(divideConfig); s.u32(startCount); s.optionalU64(start); s.bool(periodic)
    }

    static func restore(_ r: inout DeviceStateReader) throws -> APICTimer {
        APICTimer(initialCount: try r.u32(), divideConfig: try r.u32(), startCount: try r.u32(),
                  start: try r.optionalU64(), periodic: try r.bool())
    }
}
