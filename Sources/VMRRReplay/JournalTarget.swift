import Synchronization
import VMRRBase
import VMRRJournal
import VMRRMMU

/// A `DebugTarget` that reads the journal alone: no KVM, nothing executes.
///
/// - The position is always an event index (`instructions` is 0).
/// - General registers are known at every event (from the event records).
/// - Special registers, memory and the MMU views need a whole machine state,
///   which the journal holds only at its checkpoints. Elsewhere they throw a
///   `DebugError` naming the nearest checkpoint to `goto`.
/// - Moving by events, `goto EVENT` and event breakpoints work (they scan the
///   journal). Single-stepping, address breakpoints and watchpoints need
///   execution and throw a `DebugError` built from `executionUnavailableReason`.
///
/// This is how a bug report is read on a machine without /dev/kvm.
public final class JournalTarget: DebugTarget {
    public static let defaultUnavailableReason =
        "/dev/kvm is absent (or --no-kvm was given); this session reads the journal only"

    public let journal: JournalReader
    public let executionUnavailableReason: String?
    public private(set) var position = Position(event: 0)
    public var breakpoints: [Breakpoint] { table.all }
    private var table = BreakpointTable()
    public var lastEvent: UInt64 { journal.eventCount - 1 }
    public var snapshotPositions: [Position] {
        journal.checkpoints.map { Position(event: $0.eventIndex) }.sorted()
    }

    /// Guest-physical RAM ranges (the memory slots shown by `ept`, `ptdump ept`...).
    let ramRanges: [Range<UInt64>]
    private let interruptFlag = Atomic<Bool>(false)
    /// Checkpoint memory, newest use last; a few are kept (ptdiff needs two).
    private var memoryCache: [(id: UInt32, memory: JournalMemory)] = []
    private static let memoryCacheSize = 3
    /// How often a journal scan looks at the interrupt flag.
    private static let interruptCheckInterval: UInt64 = 4096

    /// Opens `reader` at event 0. `ramRanges` are the guest-physical ranges
    /// backed by RAM (VMRRGuest's `Layout.ramRanges`); nil means one range
    /// from 0 to the journal's memory size.
    public init(reader: JournalReader, ramRanges: [Range<UInt64>]? = nil,
                executionUnavailableReason: String = JournalTarget.defaultUnavailableReason) throws {
        guard reader.eventCount > 0 else {
            throw DebugError("\(reader.path): the journal has no events")
        }
        journal = reader
        self.ramRanges = ramRanges ?? [0..<reader.header.memorySize]
        self.executionUnavailableReason = executionUnavailableReason
    }

    public func currentEvent() throws -> EventRecord {
        try journal.event(at: position.event)
    }

    // MARK: state

    public var selectedVCPU: Int?

    public var runningVCPU: Int { Int((try? currentEvent().vcpu) ?? 0) }

    public func registers() throws -> GPRegisters {
        try registers(vcpu: shownVCPU)
    }

    /// The registers of vCPU `k`'s latest event at or before the position
    /// (its registers do not change while another vCPU runs).
    public func registers(vcpu k: Int) throws -> GPRegisters {
        var e = position.event
        while true {
            let r = try journal.event(at: e)
            if Int(r.vcpu) == k { return r.regs }
            if e == 0 { break }
            if e % Self.interruptCheckInterval == 0, interruptFlag.exchange(false, ordering: .relaxed) {
                throw DebugError("interrupted while looking for vCPU \(k)'s registers")
            }
            e -= 1
        }
        throw DebugError("vCPU \(k) has not run by event \(position.event) (its registers are known from its first event on)")
    }

    public func specialRegisters() throws -> SpecialRegisters {
        try shownState(try memory(for: "special registers", verb: "need").checkpoint).sregs
    }

    /// The shown vCPU's state in checkpoint `cp`.
    func shownState(_ cp: Checkpoint) throws -> VCPUState {
        let k = shownVCPU
        if let all = cp.allVCPUs, k < all.vcpus.count { return all.vcpus[k].state }
        guard k == runningVCPU else {
            throw DebugError("checkpoint \(cp.id) holds only the running vCPU's state (a journal written before 2026-12-02): vCPU \(k)'s is not known")
        }
        return cp.state
    }

    public func readPhysical(_ gpa: UInt64, count: Int) throws -> [UInt8] {
        let mem = try memory(for: "memory", verb: "needs")
        guard let bytes = mem.readBytes(gpa, count: count) else {
            throw DebugError("cannot read \(count) bytes at guest-physical \(hex(gpa)): outside guest memory "
                             + "(\(hex(mem.size)) bytes)")
        }
        return bytes
    }

    public func readVirtual(_ gva: UInt64, count: Int) throws -> [UInt8] {
        let mem = try memory(for: "memory", verb: "needs")
        let paging = PagingContext(state: try shownState(mem.checkpoint), cpuid: journal.header.cpuidEffective)
        do { return try VirtualReader.read(gva, count: count, context: paging, memory: mem) } catch {
            throw DebugError(error.description)
        }
    }

    public func mmuContext() throws -> MMUCommandContext {
        try mmuContext(at: position)
    }

    /// The MMU context at the checkpoint at or before `at`, labelled with
    /// what it is (as `vmrr mmu --no-kvm` does).
    public func mmuContext(at p: Position) throws -> MMUCommandContext {
        try checkpointMMUContext(p, requested: "\(p)", unit: "position")
    }

    /// The MMU context for event `e` (`vmrr mmu --no-kvm`): the checkpoint at
    /// or before it, labelled in events. Nothing moves; the memory is the
    /// checkpoint's and never changes.
    public func mmuContext(atEvent e: UInt64, copyingMemory: Bool) throws -> MMUCommandContext {
        try checkpointMMUContext(Position(event: e), requested: "event \(e)", unit: "event")
    }

    /// The context at the checkpoint at or before `p`; when that is not `p`
    /// itself the label says so, naming the request as `requested`.
    private func checkpointMMUContext(_ p: Position, requested: String, unit: String) throws -> MMUCommandContext {
        try checkRange(p, command: "position")
        guard let cp = journal.checkpoint(atOrBefore: p.event) else {
            throw DebugError("no checkpoint at or before event \(p.event): the MMU views need one")
        }
        let mem = try memory(checkpoint: cp.id)
        var label = "checkpoint \(cp.id) (event \(cp.eventIndex))"
        if cp.eventIndex != p.event || p.instructions != 0 {
            label += ", the nearest at or before \(requested): replaying to the exact \(unit) needs /dev/kvm"
        }
        let slots = ramRanges.enumerated().map { i, r in
            MemorySlot(gpa: r.lowerBound, size: UInt64(r.count), hostAddress: 0, name: "ram\(i)")
        }
        return MMUCommandContext(
            memory: mem, paging: PagingContext(state: try shownState(mem.checkpoint), cpuid: journal.header.cpuidEffective), slots: slots,
            hostMMUModel: journal.header.hostMMU.name,
            hostFrames: NoHostFrames(reason: "journal memory has no host frames (a replay with /dev/kvm has)"),
            positionLabel: label)
    }

    // MARK: motion

    public func stepInstructions(_ n: UInt64) throws -> StopReason {
        throw unavailable("stepi")
    }

    public func reverseStepInstructions(_ n: UInt64) throws -> StopReason {
        throw unavailable("reverse-stepi")
    }

    public func nextEvents(_ n: UInt64) throws -> StopReason {
        interruptFlag.store(false, ordering: .relaxed)
        guard position.event < lastEvent else { return .endOfHistory }
        let pastEnd = n > lastEvent - position.event
        return try scanForward(to: pastEnd ? lastEvent : position.event + n, reaching: pastEnd ? .endOfHistory : .done)
    }

    /// Moves forward to `target`, stopping early at an event breakpoint or
    /// on Ctrl-C; `reaching` is the stop reason when `target` is reached.
    private func scanForward(to target: UInt64, reaching: StopReason) throws -> StopReason {
        var stop = reaching
        var landed = target
        var seen: UInt64 = 0
        try journal.forEachEvent(from: position.event + 1) { r in
            if let id = matchingBreakpoint(r) {
                stop = .eventBreakpoint(id: id, event: r.index)
                landed = r.index
                return false
            }
            seen += 1
            if seen % Self.interruptCheckInterval == 0, interruptFlag.load(ordering: .relaxed) {
                stop = .interrupted; landed = r.index; return false
            }
            return r.index < target
        }
        position = Position(event: landed)
        if case .eventBreakpoint(let id, _) = stop { hit(id) }
        return stop
    }

    public func previousEvents(_ n: UInt64) throws -> StopReason {
        interruptFlag.store(false, ordering: .relaxed)
        guard position.event > 0 else { return .startOfHistory }
        let pastStart = n > position.event
        let (landed, stop) = try scanBackward(from: position.event, downTo: pastStart ? 0 : position.event - n)
        position = Position(event: landed)
        return stop == .done && pastStart ? .startOfHistory : stop
    }

    public func continueForward() throws -> StopReason {
        interruptFlag.store(false, ordering: .relaxed)
        guard position.event < lastEvent else { return .endOfHistory }
        return try scanForward(to: lastEvent, reaching: .endOfHistory)
    }

    public func reverseContinue() throws -> StopReason {
        interruptFlag.store(false, ordering: .relaxed)
        guard position.event > 0 else { return .startOfHistory }
        let (landed, stop) = try scanBackward(from: position.event, downTo: 0)
        position = Position(event: landed)
        return stop == .done ? .startOfHistory : stop
    }

    /// Walks back from `from - 1` to `downTo`, stopping at the first event a
    /// breakpoint matches (or on Ctrl-C).
    private func scanBackward(from: UInt64, downTo: UInt64) throws -> (UInt64, StopReason) {
        var i = from
        var seen: UInt64 = 0
        while i > downTo {
            i -= 1
            let r = try journal.event(at: i)
            if let id = matchingBreakpoint(r) { hit(id); return (i, .eventBreakpoint(id: id, event: i)) }
            seen += 1
            if seen % Self.interruptCheckInterval == 0, interruptFlag.load(ordering: .relaxed) {
                return (i, .interrupted)
            }
        }
        return (downTo, .done)
    }

    public func goto(_ p: Position) throws {
        try checkRange(p, command: "goto \(p)")
        guard p.instructions == 0 else {
            throw unavailable("goto \(p)")
        }
        position = p
    }

    private func checkRange(_ p: Position, command: String) throws {
        guard p.event <= lastEvent else {
            throw DebugError("\(command): no such event: the journal has events 0 to \(lastEvent)")
        }
    }

    // MARK: breakpoints

    public func addBreakpoint(_ kind: BreakpointKind) throws -> Int {
        switch kind {
        case .address: throw unavailable("an address breakpoint")
        case .watch: throw unavailable("a watchpoint")
        case .event: break
        }
        return table.add(kind)
    }

    public func deleteBreakpoint(_ id: Int) throws {
        try table.delete(id)
    }

    public func deleteAllBreakpoints() {
        table.deleteAll()
    }

    /// Known at checkpoints, as the special registers are.
    public func vcpuState() throws -> VCPUState? {
        try shownState(try memory(for: "the vCPU state", verb: "needs").checkpoint)
    }

    public func requestInterrupt() {
        interruptFlag.store(true, ordering: .relaxed)
    }

    private func matchingBreakpoint(_ r: EventRecord) -> Int? {
        table.eventBreakpoint(matching: r)?.id
    }

    private func hit(_ id: Int) {
        table.recordHit(id)
    }

    private func unavailable(_ what: String) -> DebugError {
        DebugError("\(what) needs execution on KVM: \(executionUnavailableReason ?? "this target cannot execute")")
    }

    // MARK: checkpoint memory

    /// The memory of the checkpoint at the current position, or an error
    /// naming the nearest checkpoint, e.g. "memory at event 155 needs a
    /// replay on KVM; the nearest checkpoint is 1 at event 101: goto 101".
    private func memory(for what: String, verb: String) throws -> JournalMemory {
        if position.instructions == 0, let cp = journal.checkpoints.first(where: { $0.eventIndex == position.event }) {
            return try memory(checkpoint: cp.id)
        }
        var message = "\(what) at \(position.instructions == 0 ? "event " : "")\(position) \(verb) a replay on KVM"
        if let near = nearestCheckpoint(to: position.event) {
            message += "; the nearest checkpoint is \(near.id) at event \(near.eventIndex): goto \(near.eventIndex)"
        } else {
            message += "; the journal has no checkpoints"
        }
        throw DebugError(message)
    }

    /// The checkpoint nearest to `event` (the earlier one on a tie).
    func nearestCheckpoint(to event: UInt64) -> CheckpointInfo? {
        func distance(_ c: CheckpointInfo) -> UInt64 {
            c.eventIndex > event ? c.eventIndex - event : event - c.eventIndex
        }
        return journal.checkpoints.min { a, b in
            distance(a) != distance(b) ? distance(a) < distance(b) : a.eventIndex < b.eventIndex
        }
    }

    private func memory(checkpoint id: UInt32) throws -> JournalMemory {
        if let k = memoryCache.firstIndex(where: { $0.id == id }) {
            let entry = memoryCache.remove(at: k)
            memoryCache.append(entry)
            return entry.memory
        }
        let mem = try JournalMemory(reader: journal, checkpoint: id)
        memoryCache.append((id, mem))
        if memoryCache.count > Self.memoryCacheSize { memoryCache.removeFirst() }
        return mem
    }
}
