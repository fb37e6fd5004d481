import VMRRDevices
import VMRRJournal

/// The recording's scheduling policy for machines of more than one vCPU
/// (docs/SMP.md): one vCPU runs at a time, switch points are exits, and a
/// vCPU yields when it halts, when it has made `sliceExits` exits since it
/// was scheduled, or when it spins (`spinRepeats` exits in a row, each the
/// same as the one before). Pure logic (no KVM, no devices): the recorder feeds it
/// exits, halts and APIC start requests, and asks it what runs next. With a
/// `ChaosSchedule` (`--chaos SEED`) each slice's budget and the next vCPU
/// are drawn from the seeded generator instead (docs/SMP.md, "Chaos mode").
public final class Scheduler {
    public enum State: Equatable, Sendable {
        case runnable
        /// HLT with IF=1: an interrupt its APIC can deliver wakes it.
        case halted
        /// HLT with IF=0: only INIT (then a SIPI) restarts it.
        case stopped
        /// An AP at power-on or after INIT.
        case waitingForSIPI
    }

    /// What runs next.
    public enum Decision: Equatable, Sendable {
        /// The running vCPU goes on.
        case stay
        case switchTo(Int)
        /// Nothing is runnable, but a vCPU halted with interrupts enabled: the guest clock may wake it.
        case allHalted
        /// Nothing is runnable and nothing can ever wake a vCPU.
        case noneCanRun
    }

    /// The exit budget of a slice: counted in exits, never in time, so the
    /// same guest with the same answers is switched at the same exits.
    public static let sliceExits: UInt64 = 64

    public private(set) var states: [State]
    public private(set) var running = 0
    public private(set) var exitsInSlice: UInt64 = 0
    /// The running slice's exit budget: `sliceExits`, or drawn under chaos.
    public private(set) var sliceBudget: UInt64 = Scheduler.sliceExits
    /// `--chaos SEED`: nil schedules by the fixed policy.
    public private(set) var chaos: ChaosSchedule?

    /// Where a vCPU spun: the RIP and the event of an exit that repeated the
    /// vCPU's previous one (a try of a spin-wait with an exit per try).
    public struct SpinSite: Equatable, Sendable {
        public let rip: UInt64
        public let event: Event
        public init(rip: UInt64, event: Event) { self.rip = rip; self.event = event }
    }

    /// The spin sites each vCPU has repeated an exit at, most recent last
    /// (at most `spinSiteLimit` each). An exit at one of its own sites ends
    /// the vCPU's slice at once, without waiting for the repeat: the vCPU
    /// found, at its first try, what it waits for still not done.
    public private(set) var spinSites: [[SpinSite]]
    public static let spinSiteLimit = 8

    /// vCPU 0 runs; the APs wait for a SIPI.
    public init(vcpus: Int, chaos: ChaosSchedule? = nil) {
        precondition(vcpus >= 1)
        spinSites = Array(repeating: [], count: vcpus)
        states = [.runnable] + Array(repeating: .waitingForSIPI, count: vcpus - 1)
        self.chaos = chaos
        newSlice()
    }

    /// Starts a slice: the exit count from zero, and under chaos a new budget.
    private func newSlice() {
        exitsInSlice = 0
        repeats = 0
        if chaos != nil { sliceBudget = chaos!.sliceBudget() }
    }

    /// Exits in a row that repeat the one before exactly (same event, same
    /// registers) end the slice at this many: a spin-wait with an exit per
    /// try, which cannot progress until another vCPU runs (the pause-loop
    /// exiting of hardware, counted in exits). One: the first repeat yields
    /// (the race fixture's ticket lock: `vmrr bench --smp-only`, 2,163 exits
    /// with two, 1,689 with one, against 30,599 without the rule).
    public static let spinRepeats: UInt64 = 1

    /// Consecutive exits of the running vCPU that repeated the one before.
    public private(set) var repeats: UInt64 = 0

    /// The running vCPU made an exit; `repeating` when it was the same event
    /// with the same registers as its previous exit; `site` its RIP and event.
    /// A repeat ends the slice and makes the site a spin site of the vCPU; an
    /// exit at a spin site of the vCPU ends the slice too.
    public func exited(repeating: Bool = false, site: SpinSite? = nil) {
        exitsInSlice &+= 1
        repeats = repeating ? repeats &+ 1 : 0
        if repeats >= Self.spinRepeats {
            exitsInSlice = max(exitsInSlice, sliceBudget)
            if let site, !spinSites[running].contains(site) {
                if spinSites[running].count >= Self.spinSiteLimit { spinSites[running].removeFirst() }
                spinSites[running].append(site)
            }
        } else if let site, spinSites[running].contains(site) {
            exitsInSlice = max(exitsInSlice, sliceBudget)
        }
    }

    /// Takes back the count of the exit just reported (`exited`, called for
    /// every access): a signal's kick is not a guest exit.
    public func notAnExit() { exitsInSlice &-= 1 }

    /// A timer signal preempted the running vCPU (`record --preempt-ms`):
    /// its slice is over, so the next switch point switches when another
    /// vCPU can run.
    public func endSlice() { exitsInSlice = Self.sliceExits }

    /// Whether a vCPU other than the running one could run at the next
    /// switch point (runnable, or halted with an interrupt waiting).
    public func anotherCanRun(interruptWaits: (Int) -> Bool) -> Bool {
        states.indices.contains { k in
            k != running && (states[k] == .runnable || (states[k] == .halted && interruptWaits(k)))
        }
    }

    /// The running vCPU executed HLT.
    public func halted(interruptsEnabled: Bool) {
        states[running] = interruptsEnabled ? .halted : .stopped
    }

    /// Applies an INIT or SIPI; returns the vector when a SIPI starts a
    /// waiting AP (a SIPI to any other vCPU is ignored, as on hardware).
    public func apply(_ request: CPUStartRequest) -> UInt8? {
        switch request {
        case let .initialize(k):
            guard k > 0, k < states.count else { return nil }
            states[k] = .waitingForSIPI
            return nil
        case let .startup(k, vector):
            guard k > 0, k < states.count, states[k] == .waitingForSIPI else { return nil }
            states[k] = .runnable
            return vector
        }
    }

    /// True when `decide` would say `.stay` whatever interrupts wait: the
    /// running vCPU is runnable and within its slice, and no vCPU is halted
    /// (so none could be woken). The run loop asks this at every exit first.
    public var staysWithoutWaking: Bool {
        states[running] == .runnable && exitsInSlice < sliceBudget && !states.contains(.halted)
    }

    /// The decision at a switch point. Halted vCPUs with an interrupt
    /// waiting (`interruptWaits`) become runnable first. The running vCPU
    /// stays while it is runnable and within its slice; otherwise the first
    /// runnable vCPU after it in round-robin order runs (itself last). Under
    /// chaos it is any other runnable vCPU, drawn uniformly.
    public func decide(interruptWaits: (Int) -> Bool) -> Decision {
        for k in states.indices where states[k] == .halted && interruptWaits(k) { states[k] = .runnable }
        if states[running] == .runnable && exitsInSlice < sliceBudget { return .stay }
        let n = states.count
        let order = (1...n).map { (running + $0) % n }.filter { states[$0] == .runnable }
        guard let first = order.first else { return states.contains(.halted) ? .allHalted : .noneCanRun }
        let others = order.filter { $0 != running }
        if others.isEmpty {
            newSlice()
            return .stay
        }
        return .switchTo(chaos == nil ? first : chaos!.pick(others))
    }

    /// vCPU `k` runs from here, with a fresh slice.
    public func switched(to k: Int) {
        running = k
        newSlice()
        if states[k] == .halted { states[k] = .runnable }
    }

    /// The guest clock moved on and still nothing woke: the running vCPU
    /// resumes after its HLT, as one vCPU does (it halts again if it must).
    public func resumeRunning() {
        if states[running] == .halted { states[running] = .runnable }
        newSlice()
    }
}
