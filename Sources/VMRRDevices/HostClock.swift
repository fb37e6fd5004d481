import VMRRBase

/// The host's monotonic clock, counted from the start of the recording.
public final class HostClock: GuestClock {
    var start: UInt64
    public init() { start = monotonicNanoseconds() }
    public func begin() { start = monotonicNanoseconds() }
    public func now() -> UInt64 { monotonicNanoseconds() &- start }
    public func exitTick() {}
    public func waitUntil(_ deadline: UInt64) {
        let n = now()
        guard deadline > n else { return }
        // Interruptible: a signal (SIGINT, SIGTERM, the --max-time kick) must end the wait, so that
        // the recorder can stop; a guest that armed its timer years ahead would otherwise hold it.
        sleepNanoseconds(deadline - n, interruptible: true)
    }
}
