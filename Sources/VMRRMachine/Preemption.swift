import Glibc
import Synchronization
import VMRRBase

/// `record --preempt-ms`: preemption without a counter (docs/SMP.md).
///
/// A watcher thread notes the serial the run loop bumps before every
/// KVM_RUN. When one KVM_RUN has used a slice of the vCPU thread's CPU time
/// (`CLOCK_THREAD_CPUTIME_ID` of that thread, so that a loaded host does not
/// preempt more often), it kicks the vCPU thread with `TimeLimit`'s kick
/// signal until the run ends. The run loop then asks `takeRequest()`: a
/// KVM_RUN that returned EINTR after a request is a preemption, journaled
/// as a `preempt` record; any other EINTR is not.
public final class Preemption: Sendable {
    /// The slice in nanoseconds of vCPU-thread CPU time.
    public let sliceNanoseconds: UInt64
    /// The default slice. No fixture guest runs this long without an exit,
    /// so their `--clock virtual` journals stay byte-identical.
    public static let defaultMilliseconds: UInt64 = 100
    /// The longest slice `--preempt-ms` accepts (one hour).
    public static let maximumMilliseconds: UInt64 = 3_600_000
    private let serial = Atomic<UInt64>(0)
    private let requested = Atomic<Bool>(false)
    private let kicks = Atomic<UInt64>(0)

    /// A slice of `milliseconds` (at least 1, at most `maximumMilliseconds`).
    public init(milliseconds: UInt64) {
        sliceNanoseconds = min(max(1, milliseconds), Self.maximumMilliseconds) * 1_000_000
    }

    /// How often the watcher looks: a quarter slice, between 0.2 and 2 ms.
    var pollNanoseconds: UInt64 { min(max(sliceNanoseconds / 4, 200_000), 2_000_000) }

    /// Called by the run loop just before every KVM_RUN (a relaxed atomic add).
    @inline(__always) public func willRun() { serial.wrappingAdd(1, ordering: .relaxed) }

    /// True, once, when the watcher asked for the KVM_RUN that just returned
    /// EINTR to be a preemption.
    public func takeRequest() -> Bool { requested.exchange(false, ordering: .relaxed) }

    /// Signals sent so far (a kick that lands outside KVM_RUN does nothing).
    public var kickCount: UInt64 { kicks.load(ordering: .relaxed) }

    /// Runs `body` on the calling (vCPU) thread with the watcher kicking it
    /// whenever one KVM_RUN lasts longer than a slice.
    public func run<T>(_ body: () throws -> T) throws -> T {
        TimeLimit.installKickHandler()
        let watcher = Watcher(preemption: self, target: pthread_self())
        return try withWatcherThread({ watcher.watch($0) }, cannotStart: { rc in
            throw VMRRError("--preempt-ms: cannot start the preemption thread (pthread_create: \(String(cString: strerror(rc))))")
        }, body: body)
    }

    /// The watcher thread's state: what to watch and the thread to kick.
    private final class Watcher: @unchecked Sendable {
        // `target` is only passed to pthread_kill and pthread_getcpuclockid; the rest is Sendable.
        let preemption: Preemption
        let target: pthread_t
        init(preemption: Preemption, target: pthread_t) { self.preemption = preemption; self.target = target }

        /// The target thread's CPU time, or the monotonic clock when the
        /// thread's CPU clock cannot be read.
        func cpuNanoseconds(_ clock: clockid_t?) -> UInt64 {
            guard let clock else { return monotonicNanoseconds() }
            var ts = timespec()
            guard clock_gettime(clock, &ts) == 0 else { return monotonicNanoseconds() }
            return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
        }

        func watch(_ stop: WatcherStop) {
            let p = preemption
            var id = clockid_t()
            let clock: clockid_t? = pthread_getcpuclockid(target, &id) == 0 ? id : nil
            var seen = p.serial.load(ordering: .relaxed)
            var since = cpuNanoseconds(clock)
            while stop.sleep(p.pollNanoseconds) {
                let s = p.serial.load(ordering: .relaxed)
                let now = cpuNanoseconds(clock)
                if s != seen {
                    seen = s
                    since = now
                } else if now &- since >= p.sliceNanoseconds && !stop.isStopped {
                    // Until the run ends: a kick may land while the thread is outside KVM_RUN.
                    p.requested.store(true, ordering: .relaxed)
                    p.kicks.wrappingAdd(1, ordering: .relaxed)
                    pthread_kill(target, TimeLimit.kickSignal)
                }
            }
        }
    }
}
