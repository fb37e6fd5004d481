import Glibc
import Synchronization
import VMRRBase

/// `--max-time`: a wall-clock limit on a recording.
///
/// A timer thread marks the limit as reached; the recorder then ends the run
/// at the next exit, so the journal ends on an exit and replays to its last
/// event. A vCPU that makes no exit (a compute loop, or `vmcall`, which
/// spins forever on this host) is kicked: after a short grace period the
/// thread sends SIGUSR1, whose handler does nothing and is installed without
/// SA_RESTART, to the vCPU thread until the run ends, so KVM_RUN returns
/// EINTR. Repeating the kick covers a signal that lands while the vCPU
/// thread is outside KVM_RUN.
public final class TimeLimit: Sendable {
    /// The limit in nanoseconds.
    public let nanoseconds: UInt64
    private let reached = Atomic<Bool>(false)
    /// Kicks start this long after the limit when the vCPU has not exited.
    static let graceNanoseconds: UInt64 = 50_000_000
    /// Interval between kicks, and between checks of the limit.
    static let pollNanoseconds: UInt64 = 10_000_000
    /// The signal used for kicks.
    public static let kickSignal = SIGUSR1

    /// The longest limit: about 584 years, as many nanoseconds as a UInt64 holds.
    public static let maximumSeconds = Double(UInt64.max / 1_000_000_000)

    /// A limit of `seconds`, clamped to 0 ... `maximumSeconds` (NaN counts as 0).
    public init(seconds: Double) {
        let s = seconds.isNaN ? 0 : min(max(0, seconds), Self.maximumSeconds)
        nanoseconds = UInt64(s * 1e9)
    }

    /// Whether the limit has passed (read at every exit; a relaxed atomic load).
    public var isReached: Bool { reached.load(ordering: .relaxed) }

    /// "2.5 s"
    public var text: String {
        let s = Double(nanoseconds) / 1e9
        return s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }

    /// Installs the kick signal's no-op handler, without SA_RESTART, so that a
    /// kick makes KVM_RUN fail with EINTR instead of being restarted, and
    /// unblocks the signal on the calling (vCPU) thread: a process may start
    /// with it blocked (the mask is inherited from whoever spawned it, e.g. a
    /// test runner's worker thread), and a blocked kick never arrives.
    public static func installKickHandler() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(kickSignal, &action, nil)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, kickSignal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Runs `body` on the calling thread (the vCPU thread) with the timer
    /// thread watching the limit and kicking this thread once it has passed.
    public func run<T>(_ body: () throws -> T) throws -> T {
        Self.installKickHandler()
        let watcher = Watcher(limit: self, target: pthread_self())
        // No timer thread: run without the limit rather than fail.
        return try withWatcherThread({ watcher.watch($0) }, cannotStart: { _ in }, body: body)
    }

    /// The timer thread's state: the limit and the thread to kick.
    private final class Watcher: @unchecked Sendable {
        // `target` is only passed to pthread_kill; the limit is Sendable.
        let limit: TimeLimit
        let target: pthread_t
        init(limit: TimeLimit, target: pthread_t) { self.limit = limit; self.target = target }

        func watch(_ stop: WatcherStop) {
            let start = monotonicNanoseconds()
            while monotonicNanoseconds() &- start < limit.nanoseconds {
                guard stop.sleep(min(TimeLimit.pollNanoseconds, limit.nanoseconds &- (monotonicNanoseconds() &- start))) else { return }
            }
            limit.reached.store(true, ordering: .relaxed)
            let reachedAt = monotonicNanoseconds()
            while !stop.isStopped {
                if monotonicNanoseconds() &- reachedAt >= TimeLimit.graceNanoseconds {
                    pthread_kill(target, TimeLimit.kickSignal)
                }
                guard stop.sleep(TimeLimit.pollNanoseconds) else { return }
            }
        }

    }
}

/// Runs `body` on the calling (vCPU) thread while `watch` runs on a thread of
/// its own (`TimeLimit`'s, `Preemption`'s and `ReplayWatchdog`'s watchers);
/// after `body`, the `WatcherStop` it was given is stopped, which ends its
/// sleep at once and must make `watch` return, and the thread is joined.
/// When the thread cannot be started, `cannotStart` is told pthread_create's
/// error: it throws, or `body` runs unwatched.
func withWatcherThread<T>(_ watch: @escaping @Sendable (WatcherStop) -> Void,
                          cannotStart: (Int32) throws -> Void, body: () throws -> T) throws -> T {
    let stop = WatcherStop()
    var thread = pthread_t()
    let context = Unmanaged.passRetained(WatcherBox { watch(stop) }).toOpaque()
    let rc = pthread_create(&thread, nil, { arg in
        // `arg` is the retained box passed below; released here.
        Unmanaged<WatcherBox>.fromOpaque(arg!).takeRetainedValue().watch()
        return nil
    }, context)
    guard rc == 0 else {
        Unmanaged<WatcherBox>.fromOpaque(context).release()
        try cannotStart(rc)
        return try body()
    }
    defer {
        stop.stop()
        pthread_join(thread, nil)
    }
    return try body()
}

/// The end of a watcher thread's run: `sleep` waits on a condition variable
/// (CLOCK_MONOTONIC) that `stop()` signals, so the run's end never waits out
/// a poll interval. With plain sleeps it did: every replay's wall time held up
/// to the replay watchdog's 50 ms poll, which `vmrr bench` showed as replay
/// 1.26-1.49x record in wall time per exit at 10,000 exits, 1.02-1.05x in CPU
/// (docs/PERFORMANCE.md, 2026-12-03).
final class WatcherStop: @unchecked Sendable {
    // The mutex guards `stopped` for the condition variable; both are
    // allocated so their addresses never move.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let stopped = Atomic<Bool>(false)

    init() {
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// True once `stop()` was called (a relaxed atomic load).
    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// Ends every sleep, now and later.
    func stop() {
        pthread_mutex_lock(mutex)
        stopped.store(true, ordering: .relaxed)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Waits `nanoseconds` or until `stop()`; false when stopped.
    func sleep(_ nanoseconds: UInt64) -> Bool {
        let deadline = monotonicNanoseconds() &+ nanoseconds
        var at = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_mutex_lock(mutex)
        // 0 is a wake-up (a signal, or spurious: wait again until the deadline);
        // ETIMEDOUT, or any error, ends the wait.
        while !stopped.load(ordering: .relaxed), pthread_cond_timedwait(condition, mutex, &at) == 0 {}
        let running = !stopped.load(ordering: .relaxed)
        pthread_mutex_unlock(mutex)
        return running
    }
}

/// A watcher thread's work, passed through pthread_create's argument.
private final class WatcherBox: Sendable {
    let watch: @Sendable () -> Void
    init(_ watch: @escaping @Sendable () -> Void) { self.watch = watch }
}
