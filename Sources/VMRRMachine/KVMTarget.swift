import Glibc
import Synchronization
import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRKVM
import VMRRMMU
import VMRRReplay

/// The debugger's view of a journal replayed on KVM. It moves through the
/// recorded execution forward and backward: backward moves restore the
/// nearest snapshot (the debugger's own, or a journal checkpoint) and
/// re-execute forward, so every position is exact.
///
/// A position (E, K) is the state right after event E was handled plus K
/// single-stepped instructions. Between events, KVM's single-step is exact at
/// CPL0 on this host; guest code at CPL3 cannot be single-stepped from the
/// host, so stepping there reports it instead of hanging.
public final class KVMTarget: DebugTarget {
    public let journal: JournalReader
    public let session: ReplaySession
    var machine: Machine { session.machine }
    var runner: Runner { session.runner }
    var replayer: Replayer
    public private(set) var position: Position
    public var lastEvent: UInt64 { journal.eventCount - 1 }
    public var executionUnavailableReason: String? { nil }
    public var breakpoints: [Breakpoint] { table.all }
    var table = BreakpointTable()
    var snapshots: [Snapshot] = []
    let maxSnapshots: Int
    /// For event E: instruction steps from (E, 0) before the next event, and
    /// the event index that step lands on.
    var intervals: [UInt64: (steps: UInt64, lands: UInt64)] = [:]
    /// Set by Ctrl-C (a signal handler) or gdb's interrupt byte (another thread); motions poll it.
    static let interruptRequested = Atomic<Bool>(false)
    /// Marks a position whose instruction count is not known (a run-mode
    /// breakpoint stop); the next move restores a snapshot first.
    static let unknownInstructions = UInt64.max
    /// Single-steps allowed in one command before it gives up (CPL3 loops, runaway intervals).
    public var stepLimit: UInt64 = 50_000_000

    /// A debugger snapshot: vCPU state plus the contents of every page the
    /// guest has touched since boot (all other pages are zero), so it costs
    /// the guest's working set, not its RAM size.
    struct Snapshot {
        var position: Position
        var state: VCPUState
        var pages: [UInt64: [UInt8]]
        var lastUsed: UInt64
    }
    /// Pages that may be non-zero: the boot image's, every page the dirty log
    /// ever reported, and every page a restore wrote.
    var touched: Set<UInt64> = []
    static let zeroPage = [UInt8](repeating: 0, count: Int(Layout.pageSize))
    var clock: UInt64 = 0

    public init(reader: JournalReader, options: ReplayOptions = ReplayOptions()) throws {
        journal = reader
        var o = options
        o.until = 0
        session = try ReplaySession(reader: reader, options: o)
        replayer = session.replayer
        position = Position(event: 0)
        maxSnapshots = 64
        if let cp0 = reader.checkpoints.first(where: { $0.id == 0 }) {
            touched.formUnion(try reader.checkpoint(id: cp0.id).pages.map(\.gpa))
        }
        _ = try runner.run(replayer)
        if let d = replayer.divergence { throw DebugError("the journal does not replay: \(d.render(journalName: reader.path))") }
        position = Position(event: replayer.lastMatched?.index ?? 0)
        replayer.setUntil(nil)
        try takeSnapshot()
    }

    public func currentEvent() throws -> EventRecord { try journal.event(at: position.event) }

    // MARK: state

    public func registers() throws -> GPRegisters { runner.regs }

    public func specialRegisters() throws -> SpecialRegisters { try machine.vcpu.getSpecialRegisters() }

    public func readPhysical(_ gpa: UInt64, count: Int) throws -> [UInt8] {
        guard let b = machine.ram.read(gpa, count: count) else {
            throw DebugError("cannot read \(count) bytes at guest-physical \(hex(gpa)): not in RAM")
        }
        return b
    }

    func pagingContext() throws -> PagingContext {
        PagingContext(sregs: try specialRegisters(), rflags: runner.regs.rflags, cpuid: journal.header.cpuidEffective)
    }

    public func readVirtual(_ gva: UInt64, count: Int) throws -> [UInt8] {
        do { return try VirtualReader.read(gva, count: count, context: try pagingContext(), memory: LiveMemory(machine.ram)) } catch let e as VirtualReadError {
            throw DebugError(e.description)
        }
    }

    public func mmuContext() throws -> MMUCommandContext {
        try liveMMUContext(label: "position \(position) (replayed on KVM)")
    }

    public func mmuContext(at p: Position) throws -> MMUCommandContext {
        let here = position
        try goto(p)
        let ctx = try copiedMMUContext(label: "position \(p) (replayed on KVM)", at: "\(p)")
        try goto(here)
        return ctx
    }

    /// Moves to event `e` and returns the MMU context there: the live machine
    /// (with host frames), or a copy of its memory that stays valid when the
    /// target moves on (`ptdiff`'s earlier side).
    public func mmuContext(atEvent e: UInt64, copyingMemory: Bool) throws -> MMUCommandContext {
        try goto(Position(event: e))
        let label = "event \(e) (replayed on KVM)"
        return copyingMemory ? try copiedMMUContext(label: label, at: "event \(e)") : try liveMMUContext(label: label)
    }

    func liveMMUContext(label: String) throws -> MMUCommandContext {
        MMUCommandContext(memory: LiveMemory(machine.ram), paging: try pagingContext(), slots: machine.memorySlots,
                          hostMMUModel: journal.header.hostMMU.name, hostFrames: PagemapResolver(), positionLabel: label)
    }

    func copiedMMUContext(label: String, at what: String) throws -> MMUCommandContext {
        let copy = ByteArrayMemory(bytes: machine.ram.read(0, count: Int(min(machine.ram.size, machine.ram.ranges[0].upperBound))) ?? [])
        return MMUCommandContext(memory: copy, paging: try pagingContext(), slots: machine.memorySlots,
                                 hostMMUModel: journal.header.hostMMU.name, hostFrames: NoHostFrames(reason: "a copy of memory at \(what)"),
                                 positionLabel: label)
    }

    public var snapshotPositions: [Position] { snapshots.map(\.position).sorted() }

    public func requestInterrupt() { Self.interruptRequested.store(true, ordering: .relaxed) }

    // MARK: snapshots

    /// Adds the pages dirtied since the last look to `touched`.
    func refreshTouched() throws {
        touched.formUnion(try machine.dirtyPages())
    }

    func takeSnapshot() throws {
        guard position.instructions == 0, !snapshots.contains(where: { $0.position == position }) else { return }
        try runner.completePendingRead()
        try refreshTouched()
        let state = try machine.captureState()
        var pages: [UInt64: [UInt8]] = [:]
        pages.reserveCapacity(touched.count)
        for gpa in touched {
            if let b = machine.ram.read(gpa, count: Int(Layout.pageSize)), b.contains(where: { $0 != 0 }) { pages[gpa] = b }
        }
        clock += 1
        snapshots.append(Snapshot(position: position, state: state, pages: pages, lastUsed: clock))
        if snapshots.count > maxSnapshots, let victim = snapshots.indices.filter({ snapshots[$0].position.event != 0 })
            .min(by: { snapshots[$0].lastUsed < snapshots[$1].lastUsed }) {
            snapshots.remove(at: victim)
        }
    }

    func restore(_ i: Int) throws {
        clock += 1
        snapshots[i].lastUsed = clock
        let s = snapshots[i]
        try refreshTouched()
        for gpa in touched { _ = machine.ram.write(gpa, s.pages[gpa] ?? Self.zeroPage) }
        try machine.restoreState(s.state)
        try machine.completePendingIO()
        runner.didRestore(regs: machine.vcpu.syncedRegisters)
        machine.clearDirtyLog()
        replayer = makeReplayer(start: s.position.event + 1)
        position = s.position
    }

    /// Restores journal checkpoint `info`. When the machine already holds a
    /// state at or after an earlier checkpoint J, only the page deltas of
    /// checkpoints J+1 ... K are applied: every page that changed since J is
    /// in one of them, with its content as of the last.
    func restoreCheckpoint(_ info: CheckpointInfo) throws {
        let current = journal.checkpoint(atOrBefore: position.event)
        if let j = current, j.id < info.id, replayer.divergence == nil {
            try refreshTouched()
            let deltas = journal.checkpoints.filter { $0.id > j.id && $0.id <= info.id }.sorted { $0.id < $1.id }
            var state: VCPUState?
            for d in deltas {
                let cp = try journal.checkpoint(id: d.id)
                try machine.restorePages(cp.pages)
                touched.formUnion(cp.pages.map(\.gpa))
                state = cp.state
            }
            if let state { try machine.restoreState(state) }
            machine.clearDirtyLog()
        } else {
            try refreshTouched()
            try ReplaySession.restore(reader: journal, upTo: info.id, into: machine)
            for d in journal.checkpoints where d.id <= info.id {
                touched.formUnion(try journal.checkpoint(id: d.id).pages.map(\.gpa))
            }
        }
        try machine.completePendingIO()
        runner.didRestore(regs: machine.vcpu.syncedRegisters)
        replayer = makeReplayer(start: info.eventIndex + 1)
        position = Position(event: info.eventIndex)
        try takeSnapshot()
    }

    func makeReplayer(start: UInt64) -> Replayer {
        let r = Replayer(journal: journal, start: start, consolePort: session.replayer.consolePort,
                         clockAddress: session.replayer.clockAddress, timerAddress: session.replayer.timerAddress)
        r.symbolize = session.replayer.symbolize
        return r
    }

    /// Puts the machine at (event, 0) by restoring the best snapshot or
    /// checkpoint at or before it (or staying, if the machine is already
    /// before it) and running forward.
    func reach(event e: UInt64) throws {
        let target = Position(event: e)
        if !(position <= target && replayer.final == nil) {
            try restoreBest(atOrBefore: target)
        } else if let i = snapshots.indices.filter({ snapshots[$0].position <= target && snapshots[$0].position > position })
                    .max(by: { snapshots[$0].position < snapshots[$1].position }),
                  snapshots[i].position.event > position.event + 64 {
            try restore(i)
        } else if let cp = journal.checkpoint(atOrBefore: e), cp.eventIndex > position.event + 64 {
            try restoreCheckpoint(cp)
        }
        if position == target { return }
        let saved = runner.breakpoints
        runner.breakpoints = []
        defer { runner.breakpoints = saved }
        replayer.pauseAfter = nil
        replayer.resume()
        replayer.setUntil(e)
        let stop = try runner.runUntilStop(replayer)
        try settlePosition()
        replayer.setUntil(nil)
        guard case .ended = stop, position.event == e else {
            throw DebugError("could not reach event \(e) (stopped at \(position))")
        }
    }

    func restoreBest(atOrBefore target: Position) throws {
        let snap = snapshots.indices.filter { snapshots[$0].position <= target }
            .max { snapshots[$0].position < snapshots[$1].position }
        let cp = journal.checkpoint(atOrBefore: target.event)
        if let cp, snap == nil || Position(event: cp.eventIndex) > snapshots[snap!].position {
            try restoreCheckpoint(cp)
        } else if let snap {
            try restore(snap)
        } else {
            throw DebugError("no snapshot or checkpoint at or before \(target)")
        }
    }

    /// Updates `position` after a run, and turns a divergence into an error.
    func settlePosition() throws {
        if let d = replayer.divergence {
            throw DebugError("replay diverged:\n\(d.render(journalName: journal.path))")
        }
        if let m = replayer.lastMatched { position = Position(event: m.index) }
        try runner.completePendingRead()
    }

    // MARK: motion

    public func goto(_ p: Position) throws {
        guard p.event <= lastEvent else {
            throw DebugError("goto \(p): no such event: the journal has events 0 to \(lastEvent)")
        }
        if p == position { return }
        try reach(event: p.event)
        if p.instructions > 0 {
            try takeSnapshot()
            for i in 0..<p.instructions {
                switch try runner.stepOnce(replayer) {
                case .instruction: position.instructions += 1
                case .event, .ended:
                    try settlePosition()
                    try reach(event: p.event)
                    throw DebugError("goto \(p): event \(p.event) has only \(i) instructions before the next event")
                }
            }
        }
    }

    /// Single-stepping needs ring-0 guest code on this kind of host.
    func requireSteppable(_ what: String) throws {
        let cpl = (try machine.vcpu.getSpecialRegisters().cs.selector) & 3
        if cpl == 3 {
            throw DebugError("\(what) needs single-stepping, and the guest is running ring-3 code here, which this host cannot single-step; use next-event, goto EVENT or break-event instead")
        }
    }

    public func stepInstructions(_ n: UInt64) throws -> StopReason {
        Self.interruptRequested.store(false, ordering: .relaxed)
        try requireSteppable("stepi")
        if position.instructions == 0 { try takeSnapshot() }
        var startedAtEvent: UInt64? = position.instructions == 0 ? position.event : nil
        var steps: UInt64 = 0
        for _ in 0..<n {
            if Self.interruptRequested.load(ordering: .relaxed) { return .interrupted }
            if replayer.final != nil { return .endOfHistory }
            let before = position
            switch try runner.stepOnce(replayer) {
            case .instruction:
                position.instructions += 1
                steps += 1
                if let bp = table.atAddress(runner.regs.rip) {
                    return hit(bp)
                }
            case .event:
                try settlePosition()
                if let s = startedAtEvent { intervals[s] = (before.instructions, position.event) }
                startedAtEvent = position.event
                if let bp = eventBreakpointMatching(from: before.event + 1, through: position.event) { return hit(bp) }
            case .ended:
                if replayer.paused?.reason == .interrupted {
                    // Ctrl-C arrived during this step's KVM_RUN: go back to the
                    // position before it, which is known exactly.
                    replayer.resume()
                    position.instructions = Self.unknownInstructions
                    try goto(before)
                    return .interrupted
                }
                try settlePosition()
                return .endOfHistory
            }
            if steps > stepLimit {
                throw DebugError("stepped \(steps) instructions without reaching the next event; the guest may be running at CPL3, which the host cannot single-step")
            }
        }
        return .done
    }

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

    func intervalInfo(_ e: UInt64) throws -> (steps: UInt64, lands: UInt64) {
        if let i = intervals[e] { return i }
        try reach(event: e)
        var steps: UInt64 = 0
        while true {
            switch try runner.stepOnce(replayer) {
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

    public func reverseStepInstructions(_ n: UInt64) throws -> StopReason {
        Self.interruptRequested.store(false, ordering: .relaxed)
        var target = position
        var left = n
        while left > 0 {
            if target.instructions >= left {
                target.instructions -= left
                left = 0
            } else {
                left -= target.instructions
                target.instructions = 0
                guard let prev = try interval(landingAt: target.event) else {
                    try goto(target)
                    return .startOfHistory
                }
                target = Position(event: prev.start, instructions: prev.steps)
                left -= 1
            }
        }
        try goto(target)
        if let bp = table.atAddress(runner.regs.rip), n > 0 {
            return hit(bp)
        }
        return .done
    }

    public func nextEvents(_ n: UInt64) throws -> StopReason {
        let target = min(lastEvent, position.event + n)
        if target == position.event && position.instructions == 0 { return .endOfHistory }
        let from = position.event
        try reach(event: target)
        if let bp = eventBreakpointMatching(from: from + 1, through: target), case let .event(kind, _) = bp.kind, kind != .end {
            _ = kind
        }
        return target == lastEvent && n > 0 && from + n > lastEvent ? .endOfHistory : .done
    }

    public func previousEvents(_ n: UInt64) throws -> StopReason {
        if position.event == 0 && position.instructions == 0 { return .startOfHistory }
        let back = position.instructions > 0 ? n - 1 : n
        let target = position.event >= back ? position.event - back : 0
        try reach(event: target)
        return position.event == 0 && n > 0 && back > 0 && target == 0 ? .startOfHistory : .done
    }

    // MARK: breakpoints

    public func addBreakpoint(_ kind: BreakpointKind) throws -> Int {
        if case .address = kind, table.addresses.count >= PageFaultTrap.debuggerBreakpointCapacity {
            throw DebugError("this host has \(PageFaultTrap.hardwareBreakpoints) hardware execution breakpoints and vmrr keeps one for the #PF handler: delete one first")
        }
        return table.add(kind)
    }

    public func deleteBreakpoint(_ id: Int) throws {
        try table.delete(id, command: "delete \(id)")
    }

    public func deleteAllBreakpoints() { table.deleteAll() }

    var addressBreakpoints: [UInt64] { table.addresses }

    var watches: [(id: Int, gpa: UInt64, length: Int)] { table.watches }

    func eventBreakpointMatching(from: UInt64, through: UInt64) -> Breakpoint? {
        table.eventBreakpoint(in: journal, from: from, through: through)
    }

    func hit(_ bp: Breakpoint) -> StopReason {
        table.recordHit(bp.id)
        switch bp.kind {
        case let .address(a): return .breakpoint(id: bp.id, address: a)
        case .event: return .eventBreakpoint(id: bp.id, event: position.event)
        case let .watch(g, _, _): return .watchpoint(id: bp.id, address: g, old: [], new: [])
        }
    }

    func watchValues() -> [[UInt8]] {
        watches.map { machine.ram.read($0.gpa, count: $0.length) ?? [] }
    }

    // MARK: continue, forward and backward

    /// One hit found while running forward: where, and what.
    enum Hit {
        case address(Breakpoint, event: UInt64)       // first hit of the address after (event, 0)
        /// The location changed after `fromEvent` and by event `detectedAt`.
        case watch(Breakpoint, fromEvent: Position, detectedAt: UInt64, old: [UInt8], new: [UInt8])
        case event(Breakpoint, event: UInt64)
    }

    /// Runs forward from the current position until a breakpoint hit, the end
    /// of the journal, or `limit` (exclusive of positions past it).
    func runForward(until limit: Position?, firstOnly: Bool) throws -> [Hit] {
        var hits: [Hit] = []
        let evBPs = table.eventBreakpoints
        replayer.resume()
        replayer.setUntil(limit?.event)
        replayer.pauseAfter = evBPs.isEmpty ? nil : { r in BreakpointTable.eventBreakpoint(in: evBPs, matching: r) != nil }
        defer { replayer.pauseAfter = nil; replayer.setUntil(nil) }
        runner.breakpoints = addressBreakpoints
        defer { runner.breakpoints = [] }
        var lastValues = watchValues()
        // The last position at which the watched values were seen unchanged.
        var quiet = position.instructions == Self.unknownInstructions ? Position(event: position.event) : position
        while true {
            if Self.interruptRequested.load(ordering: .relaxed) { break }
            let stop = try runner.runUntilStop(replayer) { [unowned self] in
                let v = self.watchValues()
                if v != lastValues { return true }
                quiet = Position(event: self.replayer.lastMatched?.index ?? quiet.event)
                return false
            }
            try settlePosition()
            switch stop {
            case let .breakpoint(pc):
                if let bp = table.atAddress(pc) {
                    hits.append(.address(bp, event: position.event))
                }
                // The machine is somewhere after (event, 0): an unknown number of instructions.
                position.instructions = Self.unknownInstructions
            case .watch:
                let v = watchValues()
                for (i, w) in watches.enumerated() where i < v.count && i < lastValues.count && v[i] != lastValues[i] {
                    if let bp = table.breakpoint(id: w.id) {
                        hits.append(.watch(bp, fromEvent: quiet, detectedAt: position.event, old: lastValues[i], new: v[i]))
                    }
                }
                lastValues = v
            case .ended:
                if replayer.paused != nil, replayer.final == nil || replayer.paused != nil {
                    if let r = replayer.lastMatched, let bp = BreakpointTable.eventBreakpoint(in: evBPs, matching: r) {
                        hits.append(.event(bp, event: r.index))
                    }
                    if replayer.paused?.reason == .interrupted {
                        // Stopped mid-interval by Ctrl-C: go back to the last event boundary.
                        replayer.resume()
                        position.instructions = Self.unknownInstructions
                        try reach(event: position.event)
                        return hits
                    }
                    replayer.resume()
                }
            }
            // After a breakpoint stop the instruction count is unknown; the
            // watched values were last compared at (event, 0).
            quiet = position.instructions == Self.unknownInstructions ? Position(event: position.event) : position
            if let l = limit, position.event >= l.event { break }
            if (firstOnly && !hits.isEmpty) || replayer.final != nil { break }
            if case .ended = stop, replayer.paused == nil, replayer.final != nil { break }
        }
        return hits
    }

    /// Moves to the exact position of a hit found by a run-mode pass.
    func land(_ h: Hit) throws -> StopReason {
        switch h {
        case let .event(bp, e):
            try reach(event: e)
            return hit(bp)
        case let .address(bp, e):
            guard case let .address(addr) = bp.kind else { return .done }
            try reach(event: e)
            try takeSnapshot()
            var steps: UInt64 = 0
            while runner.regs.rip != addr {
                switch try runner.stepOnce(replayer) {
                case .instruction: position.instructions += 1
                case .event, .ended:
                    try settlePosition()
                    throw DebugError("lost breakpoint \(bp.id) at \(hex(addr)) while re-executing event \(e)")
                }
                steps += 1
                if steps > stepLimit { throw DebugError("breakpoint \(bp.id) is more than \(stepLimit) instructions after event \(e)") }
            }
            return hit(bp)
        case let .watch(bp, from, _, old, new):
            guard case let .watch(gpa, len, _) = bp.kind else { return .done }
            try goto(from)
            var steps: UInt64 = 0
            while (machine.ram.read(gpa, count: Int(len)) ?? []) == old {
                switch try runner.stepOnce(replayer) {
                case .instruction: position.instructions += 1
                case .event: try settlePosition()
                case .ended: try settlePosition(); break
                }
                steps += 1
                if steps > stepLimit { throw DebugError("watchpoint \(bp.id): the write is more than \(stepLimit) instructions away") }
                if replayer.final != nil { break }
            }
            table.recordHit(bp.id)
            return .watchpoint(id: bp.id, address: gpa, old: old, new: new)
        }
    }

    public func continueForward() throws -> StopReason {
        Self.interruptRequested.store(false, ordering: .relaxed)
        if replayer.final != nil { return .endOfHistory }
        // An address breakpoint at the current RIP is stepped over first.
        let hits = try runForward(until: nil, firstOnly: true)
        if Self.interruptRequested.load(ordering: .relaxed) && hits.isEmpty { return .interrupted }
        guard let h = hits.first else { return .endOfHistory }
        return try land(h)
    }

    public func reverseContinue() throws -> StopReason {
        Self.interruptRequested.store(false, ordering: .relaxed)
        let here = position
        var windowEnd = here
        while true {
            if Self.interruptRequested.load(ordering: .relaxed) { try goto(here); return .interrupted }
            if windowEnd == Position(event: 0) {
                try goto(Position(event: 0))
                return .startOfHistory
            }
            // The window [(start, 0), windowEnd), from the nearest snapshot or checkpoint.
            let startEvent: UInt64
            if windowEnd.instructions > 0 {
                startEvent = windowEnd.event
            } else {
                let snap = snapshots.map(\.position.event).filter { $0 < windowEnd.event }.max()
                let cp = journal.checkpoint(atOrBefore: windowEnd.event - 1)?.eventIndex
                startEvent = max(snap ?? 0, cp ?? 0)
            }
            var candidates: [(Position, Hit)] = []
            // Event breakpoints come from the journal alone.
            for bp in table.eventBreakpoints {
                guard case let .event(kind, filter) = bp.kind else { continue }
                for e in startEvent...windowEnd.event where Position(event: e) < windowEnd {
                    if let r = try? journal.event(at: e), r.event.kind == kind, filter.matches(r.event) {
                        candidates.append((Position(event: e), .event(bp, event: e)))
                    }
                }
            }
            // Address breakpoints and watchpoints need execution.
            if !addressBreakpoints.isEmpty || !watches.isEmpty {
                try reach(event: startEvent)
                if windowEnd.event > startEvent {
                    let saved = table
                    table = table.withoutEventBreakpoints
                    defer { table = saved }
                    for h in try runForward(until: Position(event: windowEnd.event), firstOnly: false) {
                        candidates.append((hitPosition(h), h))
                    }
                    try reach(event: windowEnd.event)
                }
                var values = watchValues()
                while position < windowEnd {
                    let before = position
                    switch try runner.stepOnce(replayer) {
                    case .instruction: position.instructions += 1
                    case .event, .ended: try settlePosition()
                    }
                    if position >= windowEnd || position == before { break }
                    if let bp = table.atAddress(runner.regs.rip) {
                        candidates.append((position, .address(bp, event: position.event)))
                    }
                    let v = watchValues()
                    if v != values {
                        for (i, w) in watches.enumerated() where v[i] != values[i] {
                            if let bp = table.breakpoint(id: w.id) {
                                candidates.append((position, .watch(bp, fromEvent: before, detectedAt: position.event, old: values[i], new: v[i])))
                            }
                        }
                        values = v
                    }
                }
            }
            for (_, h) in candidates.sorted(by: { $0.0 > $1.0 }) {
                if let stop = try landLast(h, before: windowEnd) { return stop }
            }
            windowEnd = Position(event: startEvent)
        }
    }

    /// A hit's approximate position, for ordering (exact for events).
    func hitPosition(_ h: Hit) -> Position {
        switch h {
        case let .event(_, e): return Position(event: e)
        case let .address(_, e): return Position(event: e, instructions: 1)
        case let .watch(_, from, _, _, _): return Position(event: from.event, instructions: from.instructions + 1)
        }
    }

    /// Lands on the LAST occurrence of a hit that lies before `limit`
    /// (an address breakpoint can fire several times between two events, and
    /// a location can be written several times), or returns nil if the hit
    /// is not before `limit`.
    func landLast(_ h: Hit, before limit: Position) throws -> StopReason? {
        switch h {
        case let .event(bp, e):
            guard Position(event: e) < limit else { return nil }
            try goto(Position(event: e))
            return hit(bp)
        case let .address(bp, e):
            guard case let .address(addr) = bp.kind else { return nil }
            try reach(event: e)
            var best: Position?
            var steps: UInt64 = 0
            while position < limit && position.event == e && replayer.final == nil {
                if runner.regs.rip == addr { best = position }
                switch try runner.stepOnce(replayer) {
                case .instruction: position.instructions += 1
                case .event, .ended: try settlePosition()
                }
                steps += 1
                if steps > stepLimit { break }
            }
            if position < limit, runner.regs.rip == addr { best = position }
            guard let p = best else { return nil }
            try goto(p)
            return hit(bp)
        case let .watch(bp, from, detectedAt, _, _):
            guard case let .watch(gpa, len, _) = bp.kind, from < limit else { return nil }
            try goto(from)
            var last: (Position, [UInt8], [UInt8])?
            var value = machine.ram.read(gpa, count: Int(len)) ?? []
            var steps: UInt64 = 0
            while position < limit && position.event <= detectedAt && replayer.final == nil {
                switch try runner.stepOnce(replayer) {
                case .instruction: position.instructions += 1
                case .event, .ended: try settlePosition()
                }
                let v = machine.ram.read(gpa, count: Int(len)) ?? []
                if v != value, position < limit { last = (position, value, v) }
                value = v
                steps += 1
                if steps > stepLimit { break }
            }
            guard let (p, old, new) = last else { return nil }
            try goto(p)
            table.recordHit(bp.id)
            return .watchpoint(id: bp.id, address: gpa, old: old, new: new)
        }
    }
}
