import Glibc
import Synchronization
import VMRRBase
import VMRRJournal
import VMRRKVM
import VMRRReplay

/// Replay's watchdog: a replay must keep consuming journal events. One that
/// makes `exitLimit` exits in a row, or runs `seconds` of host time, without
/// consuming an event is stopped and reported with what it saw (the next
/// event, RIP, the last exit's kind), as a divergence (status 3). A forged
/// checkpoint, or a damaged journal whose checksums were repaired, can put
/// the guest in a loop that makes no exit, or exits the journal never
/// explains; before the watchdog such a replay ran forever.
///
/// The time limit is host time, so it is a bound for a hang, not a measure:
/// a thread checks progress every `pollNanoseconds` and, once the limit has
/// passed with no new event, kicks the vCPU thread out of KVM_RUN (as
/// `TimeLimit` does for `record --max-time`).
public final class ReplayWatchdog: Sendable {
    /// Exits in a row without a new event before the replay is stopped.
    public let exitLimit: UInt64
    /// Host nanoseconds without a new event before the replay is stopped.
    public let nanoseconds: UInt64
    public static let defaultExitLimit: UInt64 = 1_000_000
    /// Ten minutes: a guest may compute long without an exit (CPL0 code is
    /// emulated here, slower still on a loaded machine); the recording took as long.
    public static let defaultSeconds: Double = 600
    static let pollNanoseconds: UInt64 = 50_000_000

    /// The replayer's next event as last seen, and when it changed.
    private let progress = Atomic<UInt64>(0)
    private let progressAt = Atomic<UInt64>(0)
    private let expired = Atomic<Bool>(false)

    public init(exitLimit: UInt64 = defaultExitLimit, seconds: Double = defaultSeconds) {
        self.exitLimit = max(exitLimit, 1)
        let s = seconds.isNaN ? Self.defaultSeconds : min(max(0.001, seconds), TimeLimit.maximumSeconds)
        nanoseconds = UInt64(s * 1e9)
    }

    /// Why a replay was stopped, one line.
    public struct Stalled: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs the replay to its end as `Runner.run` does, under the watchdog.
    public func run(_ runner: Runner, _ replayer: Replayer, journal: String) throws -> RunEnd {
        TimeLimit.installKickHandler()
        progress.store(replayer.next, ordering: .relaxed)
        progressAt.store(monotonicNanoseconds(), ordering: .relaxed)
        let watcher = Watcher(dog: self, target: pthread_self())
        // No thread: the exit limit still holds.
        return try withWatcherThread({ watcher.watch($0) }, cannotStart: { _ in }) {
            try runWatched(runner, replayer, journal: journal)
        }
    }

    /// The run loop under the watchdog: stops after `exitLimit` exits, or the
    /// watcher's time limit, without a new event.
    private func runWatched(_ runner: Runner, _ replayer: Replayer, journal: String) throws -> RunEnd {
        var exits: UInt64 = 0
        var seen = replayer.next
        while true {
            let stop = try runner.runUntilStop(replayer) {
                if replayer.next != seen {
                    seen = replayer.next
                    exits = 0
                    self.progress.store(seen, ordering: .relaxed)
                    self.progressAt.store(monotonicNanoseconds(), ordering: .relaxed)
                }
                exits += 1
                return exits >= self.exitLimit || self.expired.load(ordering: .relaxed)
            }
            switch stop {
            case .breakpoint: continue
            case let .ended(end):
                // A kick from the watcher ends the run as an interruption: report it as the stall it is.
                guard expired.load(ordering: .relaxed), replayer.next == seen, replayer.final == nil else { return end }
                throw stalled(runner, replayer, journal: journal, why: "no journal event consumed for \(text) of host time")
            case .watch:
                let why = exits >= exitLimit ? "\(exitLimit) exits in a row consumed no journal event"
                    : "no journal event consumed for \(text) of host time"
                throw stalled(runner, replayer, journal: journal, why: why)
            }
        }
    }

    /// "60 s"
    var text: String {
        let s = Double(nanoseconds) / 1e9
        return s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }

    func stalled(_ runner: Runner, _ replayer: Replayer, journal: String, why: String) -> Stalled {
        let last = replayer.lastMatchedIndex.map { "after event \($0)" }
            ?? (replayer.next > 0 ? "after event \(replayer.next - 1)" : "before the first event")
        let exit = runner.lastExit.map { "the last exit was \($0.name)" } ?? "the guest made no exit"
        let expected = (try? replayer.peek()).flatMap { $0 }.map { e in
            if case .preempt = e.event { return " (preempt, never reached at rip \(hex(e.regs.rip)))" }
            return " (\(e.event.kind.name))"
        } ?? ""
        return Stalled(description: "\(journal): replay watchdog: \(why): stopped \(last), waiting for event \(replayer.next)\(expected), at rip \(hex(runner.regs.rip)); \(exit)")
    }

    /// The timer thread: marks the limit and kicks the vCPU thread until the run ends.
    private final class Watcher: @unchecked Sendable {
        // `target` is only passed to pthread_kill; the watchdog is Sendable.
        let dog: ReplayWatchdog
        let target: pthread_t
        init(dog: ReplayWatchdog, target: pthread_t) { self.dog = dog; self.target = target }

        func watch(_ stop: WatcherStop) {
            while stop.sleep(ReplayWatchdog.pollNanoseconds) {
                // The last progress first, then the time: the other order could see a progress
                // newer than "now" (stored in between), and a wrapped difference would fire.
                let at = dog.progressAt.load(ordering: .relaxed)
                let now = monotonicNanoseconds()
                if now > at, now - at >= dog.nanoseconds {
                    dog.expired.store(true, ordering: .relaxed)
                    pthread_kill(target, TimeLimit.kickSignal)
                }
            }
        }
    }
}
