import Testing
@testable import VMRRMachine
import VMRRBase
import VMRRDevices

/// `--max-time` in seconds becomes nanoseconds without trapping, whatever the number.
struct TimeLimitTests {
    @Test(arguments: [2e10, 1e300, Double.infinity, -1, Double.nan, 0.5])
    func clampsInsteadOfTrapping(seconds: Double) {
        let limit = TimeLimit(seconds: seconds)
        if seconds.isNaN || seconds <= 0 {
            #expect(limit.nanoseconds == 0)
        } else if seconds > TimeLimit.maximumSeconds {
            #expect(limit.nanoseconds == UInt64(TimeLimit.maximumSeconds * 1e9))
        } else {
            #expect(limit.nanoseconds == UInt64(seconds * 1e9))
        }
    }
}

/// Waiting for a far-off timer under the host clock ends when the recorder
/// is kicked (issue 18: the recorder ignored --max-time, SIGINT and SIGTERM
/// while a guest waited for a timer armed at 2^64 - 1).
struct HostClockWaitTests {
    @Test func aKickEndsAWaitForAFarDeadline() throws {
        let clock = HostClock()
        clock.begin()
        let started = monotonicNanoseconds()
        try TimeLimit(seconds: 0.2).run { clock.waitUntil(UInt64.max) }
        let waited = monotonicNanoseconds() - started
        // Behaviour, not a rate: it returned at all, long before the deadline (584 years).
        #expect(waited < 60_000_000_000, "waited \(waited) ns")
    }
}
