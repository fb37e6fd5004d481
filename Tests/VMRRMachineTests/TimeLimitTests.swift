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

/// A watcher thread's sleep ends when its run ends, not at its next poll:
/// the replay watchdog's 50 ms poll was in every replay's wall time.
struct WatcherStopTests {
    @Test func stopEndsASleepAtOnce() throws {
        let stop = WatcherStop()
        #expect(stop.sleep(1_000_000))   // a short sleep runs out: still running
        let started = monotonicNanoseconds()
        let watched = try withWatcherThread({ s in
            // Two minutes, unless stopped: the join below would wait them out.
            _ = s.sleep(120_000_000_000)
        }, cannotStart: { rc in throw VMRRError("pthread_create: \(rc)") }) { 7 }
        let waited = monotonicNanoseconds() - started
        #expect(watched == 7)
        // Behaviour, not a rate: the join returned long before the two minutes.
        #expect(waited < 60_000_000_000, "waited \(waited) ns")
        stop.stop()
        #expect(!stop.sleep(3_600_000_000_000))   // stopped: returns at once, false
        #expect(stop.isStopped)
    }
}
