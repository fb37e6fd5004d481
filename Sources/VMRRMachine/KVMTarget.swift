import Glibc
import Synchronization
import VMRRBase
import VMRRJournal
import VMRRMMU
import VMRRReplay

/// The debugger's view of a journal replayed on KVM: a thin `DebugTarget`
/// over a `Timeline`. State comes from the timeline's machine; motion
/// commands (KVMTarget+Motion.swift) and breakpoint searches
/// (KVMTarget+Search.swift) step and run the timeline's session and let the
/// timeline seek.
///
/// Between events, KVM's single-step is exact at CPL0 on this host; guest
/// code at CPL3 cannot be single-stepped from the host, so stepping there
/// reports it instead of hanging.
public final class KVMTarget: DebugTarget {
    public let timeline: Timeline
    public var journal: JournalReader { timeline.journal }
    public var session: ReplaySession { timeline.session }
    var machine: Machine { timeline.machine }
    var runner: Runner { timeline.runner }
    var replayer: Replayer { timeline.replayer }
    /// The exact position. After a run-mode breakpoint stop the machine is
    /// already there but its instruction count is not counted yet: asking
    /// counts it (KVMTarget+Count.swift), so a `continue` that hits costs
    /// only the breakpoint's exit and the step over it when it resumes.
    public var position: Position {
        try? countInstructions()
        return timeline.position
    }
    /// Where the machine is, as the timeline knows it: after a run-mode
    /// breakpoint stop, an event with `Timeline.unknownInstructions`, counted
    /// from `uncounted` when a command needs it. Motion code moves it along.
    var machinePosition: Position {
        get { timeline.position }
        set { timeline.position = newValue }
    }
    /// How to count the instructions of the run-mode stop the machine is at.
    var uncounted: UncountedStop?
    public var lastEvent: UInt64 { timeline.lastEvent }
    public var executionUnavailableReason: String? { nil }
    public var breakpoints: [Breakpoint] { table.all }
    var table = BreakpointTable()
    /// Set by Ctrl-C (a signal handler) or gdb's interrupt byte (another thread); motions poll it.
    static let interruptRequested = Atomic<Bool>(false)
    /// Single-steps allowed in one command before it gives up (CPL3 loops, runaway intervals).
    public var stepLimit: UInt64 {
        get { timeline.stepLimit }
        set { timeline.stepLimit = newValue }
    }

    /// The thread that runs the vCPU (the one that made the target), kicked
    /// out of KVM_RUN by `interruptRunningGuest`.
    let vcpuThread = pthread_self()

    public init(reader: JournalReader, options: ReplayOptions = ReplayOptions()) throws {
        timeline = try Timeline(reader: reader, options: options)
        TimeLimit.installKickHandler()
    }

    public var foreignImageSHA256: [UInt8]? { session.foreignImage == nil ? nil : session.image?.sha256 }

    public func settleAfterFailedMotion() { timeline.settleAfterFailedMotion() }

    public func currentEvent() throws -> EventRecord { try journal.event(at: machinePosition.event) }

    // MARK: state

    public var selectedVCPU: Int?

    public var runningVCPU: Int { machine.current }

    public func registers() throws -> GPRegisters { try registers(vcpu: shownVCPU) }

    /// The running vCPU's registers are the run loop's; another's are where its last switch left them.
    public func registers(vcpu k: Int) throws -> GPRegisters {
        k == machine.current ? runner.regs : try machine.registers(vcpu: k)
    }

    public func specialRegisters() throws -> SpecialRegisters { try machine.vcpus[shownVCPU].getSpecialRegisters() }

    public func readPhysical(_ gpa: UInt64, count: Int) throws -> [UInt8] {
        guard let b = machine.ram.read(gpa, count: count) else {
            throw DebugError("cannot read \(count) bytes at guest-physical \(hex(gpa)): not in RAM")
        }
        return b
    }

    func pagingContext() throws -> PagingContext {
        PagingContext(sregs: try specialRegisters(), rflags: try registers().rflags, cpuid: journal.header.cpuidEffective)
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

    public var snapshotPositions: [Position] { timeline.snapshotPositions }

    /// KVM_RUN calls made by this target's vCPU so far (`vmrr bench`'s exits per breakpoint hit).
    public var vcpuRuns: UInt64 { machine.vcpu.runCount }

    public func requestInterrupt() { Self.interruptRequested.store(true, ordering: .relaxed) }

    /// Makes a KVM_RUN that has not exited return (EINTR), for a guest that
    /// makes no exits after a Ctrl-C.
    public func interruptRunningGuest() { pthread_kill(vcpuThread, TimeLimit.kickSignal) }

    public func goto(_ p: Position) throws { try timeline.goto(p) }

    // MARK: breakpoints

    /// Execution breakpoints take a free hardware debug register first and
    /// become int3 breakpoints after that, so there is no limit.
    public func addBreakpoint(_ kind: BreakpointKind) throws -> Int {
        try addBreakpoint(kind, mechanism: .automatic)
    }

    public func addBreakpoint(_ kind: BreakpointKind, mechanism: BreakpointMechanism) throws -> Int {
        guard case .address = kind else { return table.add(kind) }
        let hardwareFree = table.hardwareAddresses.count < PageFaultTrap.debuggerBreakpointCapacity
        switch mechanism {
        case .software: return table.add(kind, software: true)
        case .automatic: return table.add(kind, software: !hardwareFree)
        case .hardware:
            guard hardwareFree else {
                throw DebugError("all \(PageFaultTrap.debuggerBreakpointCapacity) hardware breakpoints are in use (this host has \(PageFaultTrap.hardwareBreakpoints) debug registers and vmrr keeps one for the #PF handler): delete one, or use a software breakpoint (gdb's break, not hbreak)")
            }
            return table.add(kind)
        }
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
        case .event: return .eventBreakpoint(id: bp.id, event: machinePosition.event)
        case let .watch(g, _, _): return .watchpoint(id: bp.id, address: g, old: [], new: [])
        }
    }

    func watchValues() -> [[UInt8]] {
        watches.map { runner.software.unpatched(machine.ram.read($0.gpa, count: $0.length) ?? [], at: $0.gpa) }
    }
}
