import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRReplay

/// The replay timeline (rr's ReplayTimeline over its ReplaySession): it owns
/// positions, snapshots, the instruction counts between events, and seeking.
/// The session below it only runs forward; the timeline moves backward by
/// restoring the best snapshot or journal checkpoint at or before a target
/// and running forward from there, so every position is exact.
///
/// A position (E, K) is the state right after event E was handled (with any
/// pending IN or MMIO read completed, so it is the same however it was
/// reached) plus K single-stepped instructions.
public final class Timeline {
    public let journal: JournalReader
    public let session: ReplaySession
    var machine: Machine { session.machine }
    var runner: Runner { session.runner }
    /// The replayer answering the run loop at the current position.
    var replayer: Replayer { session.replayer }
    /// Where the machine is. Motion code that steps or runs the session
    /// directly moves it along.
    public internal(set) var position: Position
    /// Marks a position whose instruction count is not known (a run-mode
    /// breakpoint stop); the next move restores a snapshot first.
    public static let unknownInstructions = UInt64.max
    /// Single-steps allowed in one command before it gives up (CPL3 loops, runaway intervals).
    public var stepLimit: UInt64 = 50_000_000

    /// A debugger snapshot: every vCPU's state and which one runs, plus the
    /// contents of every page the guest has touched since boot (all other
    /// pages are zero), so it costs the guest's working set, not its RAM size.
    struct Snapshot {
        var position: Position
        var states: [VCPUState]
        var running: Int
        var pages: [UInt64: [UInt8]]
        var lastUsed: UInt64
        /// The pages dirtied since the last clean mark (`Machine.dirtySinceMark`): preemption digests need them.
        var dirtyMark: Set<UInt64> = []
    }
    private var snapshots: [Snapshot] = []
    /// Snapshots kept; the least recently used one goes first (never event 0's).
    static let maxSnapshots = 64
    /// A forward seek restores a later snapshot or checkpoint only when it
    /// saves more than this many events of re-execution.
    static let seekSkipEvents: UInt64 = 64
    /// For event E: instruction steps from (E, 0) before the next event, and
    /// the event index that step lands on.
    private var intervals: [UInt64: (steps: UInt64, lands: UInt64)] = [:]
    /// Pages that may be non-zero: the boot image's, every page the dirty log
    /// ever reported, and every page a restore wrote.
    private var touched: Set<UInt64> = []
    private static let zeroPage = [UInt8](repeating: 0, count: Int(Layout.pageSize))
    /// Ticks at every snapshot taken or restored (for least-recently-used eviction).
    private var clock: UInt64 = 0
    private let restorer: CheckpointRestorer

    /// Builds the replay session and runs it to event 0 (after the boot
    /// checkpoint), where the first snapshot is taken.
    public init(reader: JournalReader, options: ReplayOptions = ReplayOptions()) throws {
        journal = reader
        restorer = CheckpointRestorer(reader: reader)
        var o = options
        o.until = 0
        session = try ReplaySession(reader: reader, options: o)
        position = Position(event: 0)
        if let cp0 = reader.checkpoints.first(where: { $0.id == 0 }) {
            touched.formUnion(try reader.checkpoint(id: cp0.id).pages.map(\.gpa))
        }
        _ = try session.runForward()
        if let d = replayer.divergence { throw DebugError("the journal does not replay: \(d.render(journalName: reader.path))") }
        position = Position(event: replayer.lastMatchedIndex ?? 0)
        replayer.setUntil(nil)
        try takeSnapshot()
    }

    /// The last event of the journal.
    public var lastEvent: UInt64 { journal.eventCount - 1 }

    public var snapshotPositions: [Position] { snapshots.map(\.position).sorted() }

    // MARK: snapshots

    /// Adds the pages dirtied since the last look to `touched`.
    private func refreshTouched() throws {
        touched.formUnion(try machine.dirtyPages())
    }

    /// Snapshots the current position, if it is an event boundary without one.
    /// Not at a page fault's event, where the run loop is stepping over the
    /// #PF handler's breakpoint (a restore resets that, and the breakpoint
    /// would fire again): journal checkpoints skip it for the same reason.
    func takeSnapshot() throws {
        guard position.instructions == 0, !runner.trap.steppingOver,
              !snapshots.contains(where: { $0.position == position }) else { return }
        try runner.completePendingRead()
        try refreshTouched()
        let states = try machine.vcpus.indices.map { try machine.captureState(vcpu: $0) }
        var pages: [UInt64: [UInt8]] = [:]
        pages.reserveCapacity(touched.count)
        for gpa in touched {
            if let b = machine.ram.read(gpa, count: Int(Layout.pageSize)), b.contains(where: { $0 != 0 }) { pages[gpa] = b }
        }
        clock += 1
        snapshots.append(Snapshot(position: position, states: states, running: machine.current, pages: pages, lastUsed: clock,
                                  dirtyMark: machine.dirtySinceMark))
        if snapshots.count > Self.maxSnapshots, let victim = snapshots.indices.filter({ snapshots[$0].position.event != 0 })
            .min(by: { snapshots[$0].lastUsed < snapshots[$1].lastUsed }) {
            snapshots.remove(at: victim)
        }
    }

    private func restoreSnapshot(_ i: Int) throws {
        clock += 1
        snapshots[i].lastUsed = clock
        let s = snapshots[i]
        try refreshTouched()
        for gpa in touched { _ = machine.ram.write(gpa, s.pages[gpa] ?? Self.zeroPage) }
        try machine.restoreStates(s.states, running: s.running)
        try machine.completePendingIO()
        machine.clearDirtyLog()
        machine.restoreDirtyMark(s.dirtyMark)
        session.restart(atEvent: s.position.event + 1)
        position = s.position
    }

    /// Restores journal checkpoint `info` with the one `CheckpointRestorer`:
    /// over the checkpoint at or before the current position when that is
    /// earlier (only the page deltas since it), else from zeroed RAM.
    private func restoreCheckpoint(_ info: CheckpointInfo) throws {
        let current = journal.checkpoint(atOrBefore: position.event)
        try refreshTouched()
        if let j = current, j.id < info.id, replayer.divergence == nil {
            touched.formUnion(try restorer.restore(info.id, into: machine, over: j.id))
        } else {
            touched.formUnion(try restorer.restore(info.id, into: machine))
        }
        try machine.completePendingIO()
        session.restart(atEvent: info.eventIndex + 1)
        position = Position(event: info.eventIndex)
        try takeSnapshot()
    }

    // MARK: seeking

    /// Puts the machine at (event, 0) by restoring the best snapshot or
    /// checkpoint at or before it (or staying, if the machine is already
    /// before it) and running forward.
    public func reach(event e: UInt64) throws {
        let target = Position(event: e)
        if !(position <= target && replayer.final == nil) {
            try restoreBest(atOrBefore: target)
        } else if let i = snapshots.indices.filter({ snapshots[$0].position <= target && snapshots[$0].position > position })
                    .max(by: { snapshots[$0].position < snapshots[$1].position }),
                  snapshots[i].position.event > position.event + Self.seekSkipEvents {
            try restoreSnapshot(i)
        } else if let cp = usableCheckpoint(atOrBefore: e), cp.eventIndex > position.event + Self.seekSkipEvents {
            try restoreCheckpoint(cp)
        }
        if position == target { return }
        let saved = (runner.breakpoints, runner.softwareBreakpoints)
        runner.breakpoints = []
        runner.softwareBreakpoints = []
        defer { (runner.breakpoints, runner.softwareBreakpoints) = saved }
        replayer.pauseAfter = nil
        replayer.resume()
        replayer.setUntil(e)
        var stop = try session.runUntilStop()
        // A kick (Ctrl-C) that interrupted KVM_RUN: reaching a known event is
        // short, so finish it; the motion that asked looks at the interrupt.
        while case .ended = stop, replayer.paused?.reason == .interrupted, replayer.final == nil {
            replayer.resume()
            stop = try session.runUntilStop()
        }
        try settlePosition()
        replayer.setUntil(nil)
        guard case .ended = stop, position.event == e else {
            throw DebugError("could not reach event \(e) (stopped at \(position))")
        }
    }

    /// Restores the latest snapshot or checkpoint at or before `target`.
    public func restoreBest(atOrBefore target: Position) throws {
        let snap = snapshots.indices.filter { snapshots[$0].position <= target }
            .max { snapshots[$0].position < snapshots[$1].position }
        let cp = usableCheckpoint(atOrBefore: target.event)
        if let cp, snap == nil || Position(event: cp.eventIndex) > snapshots[snap!].position {
            try restoreCheckpoint(cp)
        } else if let snap {
            try restoreSnapshot(snap)
        } else {
            throw DebugError("no snapshot or checkpoint at or before \(target)")
        }
    }

    /// The journal checkpoint at or before event `e` that seeking may
    /// restore. None when another build is replayed (`--image NEW`): a
    /// checkpoint's memory holds the recorded image's code and data, so
    /// that build is only ever run forward from the boot and its own snapshots.
    /// Nor, with more than one vCPU, a checkpoint that holds only the running
    /// vCPU's state (format 3 before 2026-12-02): the snapshots serve then.
    public func usableCheckpoint(atOrBefore e: UInt64) -> CheckpointInfo? {
        guard session.foreignImage == nil else { return nil }
        return journal.checkpoints.filter { $0.eventIndex <= e && journal.checkpointRestoresEveryVCPU(id: $0.id) }
            .max { $0.eventIndex < $1.eventIndex }
    }

    /// Where another build's history splits from the journal, once found:
    /// the divergence at the exit and the first instruction whose effect differs.
    public private(set) var split: (divergence: Divergence, words: String, at: Position?)?
    /// Where to go once a motion that ran into the split has unwound.
    var pendingRelocation: Position?

    /// Moves to where another build's history split from the journal's,
    /// after a motion that reached it failed (the machine is past the split).
    public func settleAfterFailedMotion() {
        guard let p = pendingRelocation else { return }
        pendingRelocation = nil
        try? goto(p)
    }

    /// Updates `position` after a run, and turns a divergence into an error.
    func settlePosition() throws {
        if let d = replayer.divergence {
            // The machine is past the divergent exit: the next move restores a snapshot.
            position.instructions = Self.unknownInstructions
            // KVM may still wait to complete that exit's IN or MMIO read, and
            // would complete it over whatever state is restored next: finish it now.
            try? machine.completePendingIO()
            guard let image = session.foreignImage else {
                throw DebugError("replay diverged:\n\(d.render(journalName: journal.path))")
            }
            let words = historySplit(d, image: image)
            // Stay where the histories split: at the first differing
            // instruction when it was found, else at the last matching event.
            // The caller moves there once the motion has unwound
            // (`settleAfterFailedMotion`): breakpoints may be patched now.
            pendingRelocation = split?.at ?? Position(event: d.lastMatched?.index ?? 0)
            throw DebugError(words)
        }
        if let m = replayer.lastMatchedIndex { position = Position(event: m) }
        try runner.completePendingRead()
    }

    /// The words for another build's history splitting from the journal
    /// (traced to the instruction once, then remembered).
    func historySplit(_ d: Divergence, image: String) -> String {
        if let known = split, known.divergence.index == d.index { return known.words }
        var at: Position?
        var words = "the history of \(image) splits from the journal's here: the journal records the recorded image's run, "
            + "which this build leaves at event \(d.index)\n\(d.render(journalName: journal.path))"
        let traced = Lockstep.traceDivergence(reader: journal, options: session.options, divergence: d)
        if case let .instruction(step, _, b, _, _, _) = traced.report.finding {
            let base = traced.report.lastMatched.map { "\($0)" } ?? "0"
            var place = hex(b.rip)
            if let l = session.image?.symbols.label(b.rip) { place += " <\(l)>" }
            if let image = session.image, let loc = SourceLines(elf: image.bytes).location(of: b.rip) { place += " at \(loc)" }
            words += "\n  the first instruction whose effect differs is at position \(base)+\(step): \(place) "
                + "(vmrr replay --image \(image) \(journal.path) shows both sides); stopped there"
            at = Position(event: traced.report.lastMatched ?? 0, instructions: step)
        }
        split = (d, words, at)
        return words
    }

    /// Executes one guest instruction, or the journal event that comes
    /// first, and moves the position along: one instruction further, or to
    /// the event (a divergence is thrown).
    @discardableResult
    func step() throws -> Runner.StepOutcome {
        var outcome = try session.stepOnce()
        // A kick (Ctrl-C) during the step's KVM_RUN: the step did not happen; do it.
        while case .ended = outcome, replayer.paused?.reason == .interrupted, replayer.final == nil {
            replayer.resume()
            outcome = try session.stepOnce()
        }
        if outcome == .instruction { position.instructions += 1 } else { try settlePosition() }
        return outcome
    }

    /// Moves to exactly `p`: reaches (p.event, 0), then single-steps.
    public func goto(_ p: Position) throws {
        guard p.event <= lastEvent else {
            throw DebugError("goto \(p): no such event: the journal has events 0 to \(lastEvent)")
        }
        if p == position { return }
        try reach(event: p.event)
        if p.instructions > 0 {
            try takeSnapshot()
            for i in 0..<p.instructions {
                if try step() != .instruction {
                    try reach(event: p.event)
                    throw DebugError("goto \(p): event \(p.event) has only \(i) instructions before the next event")
                }
            }
        }
    }

    // MARK: intervals

    /// The interval that ends at event `landing`: its start event and step count.
    func interval(landingAt landing: UInt64) throws -> (start: UInt64, steps: UInt64)? {
        var e = landing
        while e > 0 {
            e -= 1
            let info = try intervalInfo(e)
            if info.lands == landing { return (e, info.steps) }
            if info.lands < landing { return nil }
        }
        return nil
    }

    /// Measures (or recalls) the interval after event `e`: re-executes it by
    /// single-steps from (e, 0) to the next event.
    func intervalInfo(_ e: UInt64) throws -> (steps: UInt64, lands: UInt64) {
        if let i = intervals[e] { return i }
        try reach(event: e)
        var steps: UInt64 = 0
        while true {
            switch try session.stepOnce() {
            case .instruction:
                steps += 1
                position.instructions = steps
                if steps > stepLimit {
                    throw DebugError("event \(e) is followed by more than \(stepLimit) instructions (or by CPL3 code the host cannot single-step)")
                }
            case .event, .ended:
                if replayer.paused?.reason == .interrupted {
                    // Ctrl-C during this step: the interval was not measured.
                    replayer.resume()
                    position.instructions = Self.unknownInstructions
                    try reach(event: e)
                    throw DebugError("interrupted while re-executing event \(e); the position is \(position)")
                }
                try settlePosition()
                intervals[e] = (steps, position.event)
                return (steps, position.event)
            }
        }
    }

    /// Notes that `steps` single-steps from (e, 0) land on event `lands` (a
    /// forward step found it).
    func recordInterval(from e: UInt64, steps: UInt64, lands: UInt64) {
        intervals[e] = (steps, lands)
    }
}

