import VMRRJournal
import VMRRMMU

/// A position in a recorded execution: the state right after event `event`
/// was handled, plus `instructions` single-stepped guest instructions since.
/// Shown as "1234+17" (or "1234" when no instruction has been stepped).
public struct Position: Equatable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var event: UInt64
    public var instructions: UInt64
    public init(event: UInt64, instructions: UInt64 = 0) { self.event = event; self.instructions = instructions }
    public static func < (a: Position, b: Position) -> Bool {
        (a.event, a.instructions) < (b.event, b.instructions)
    }
    public var description: String { instructions == 0 ? "\(event)" : "\(event)+\(instructions)" }

    /// Parses "1234", "1234+17".
    public init?(parsing text: String) {
        let parts = text.split(separator: "+", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let e = UInt64(parts[0]) else { return nil }
        var k: UInt64 = 0
        if parts.count == 2 { guard let v = UInt64(parts[1]) else { return nil }; k = v }
        self.init(event: e, instructions: k)
    }
}

/// Why a motion command stopped.
public enum StopReason: Equatable, Sendable {
    /// The requested number of steps or events was done.
    case done
    case breakpoint(id: Int, address: UInt64)
    case eventBreakpoint(id: Int, event: UInt64)
    case watchpoint(id: Int, address: UInt64, old: [UInt8], new: [UInt8])
    /// The start or the end of the recorded history was reached.
    case startOfHistory
    case endOfHistory
    /// Ctrl-C.
    case interrupted
}

/// What a breakpoint watches for.
public enum BreakpointKind: Equatable, Sendable {
    /// An execution breakpoint at a guest-virtual address.
    case address(UInt64)
    /// A journal event of a kind, with an optional filter.
    case event(EventKind, EventFilter)
    /// A write to guest memory (`len` bytes at a guest-physical address; `virtual` is what the user typed).
    case watch(gpa: UInt64, length: UInt64, virtual: UInt64?)
}

/// Filters for event breakpoints: `port=0x3f8`, `gva=0x4000..0x8000`,
/// `gpa=...`, `vector=0x20`, `value=...`, `dir=in|out|read|write`.
public struct EventFilter: Equatable, Sendable {
    public var port: ClosedRange<UInt64>?
    public var gva: ClosedRange<UInt64>?
    public var gpa: ClosedRange<UInt64>?
    public var vector: ClosedRange<UInt64>?
    public var msr: ClosedRange<UInt64>?
    public var value: ClosedRange<UInt64>?
    public var direction: IODirection?
    public init() {}

    public func matches(_ e: Event) -> Bool {
        func ok(_ r: ClosedRange<UInt64>?, _ v: UInt64?) -> Bool { r == nil || (v.map { r!.contains($0) } ?? false) }
        var port: UInt64?, gva: UInt64?, gpa: UInt64?, vector: UInt64?, msr: UInt64?, value: UInt64?, dir: IODirection?
        switch e {
        case let .io(p, _, d, v): port = UInt64(p); value = v; dir = d
        case let .input(p, b): port = UInt64(p); value = UInt64(b); dir = .read
        case let .mmio(g, _, d, v), let .stage2Fault(g, _, d, v): gpa = g; value = v; dir = d
        case let .pageFault(g, _, _, _): gva = g
        case let .interrupt(v): vector = UInt64(v)
        case let .clock(ns): value = ns
        case let .timer(d): value = d
        case let .msr(i, d, v, _): msr = UInt64(i); value = v; dir = d
        default: break
        }
        return ok(self.port, port) && ok(self.gva, gva) && ok(self.gpa, gpa) && ok(self.vector, vector) && ok(self.msr, msr)
            && ok(self.value, value) && (direction == nil || direction == dir)
    }
}

public struct Breakpoint: Equatable, Sendable {
    public var id: Int
    public var kind: BreakpointKind
    public var hits: Int = 0
    public init(id: Int, kind: BreakpointKind) { self.id = id; self.kind = kind }
}

/// A failure of a debugger operation, with a one-line message for the user.
public struct DebugError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What the REPL drives. Two implementations: one replays on KVM and can
/// execute (step, continue, reverse); one reads only the journal (no KVM):
/// registers at every event, memory at checkpoints. The REPL never touches a
/// vCPU directly.
public protocol DebugTarget: AnyObject {
    var journal: JournalReader { get }
    /// Nil when the target can execute; otherwise why it cannot (shown by
    /// commands that need execution).
    var executionUnavailableReason: String? { get }
    /// The SHA-256 of the image this target executes, when it executes
    /// another build than the recorded one (`vmrr debug J --image NEW`):
    /// that build's code and symbols then describe the positions, up to
    /// where its history splits from the journal. Nil otherwise.
    var foreignImageSHA256: [UInt8]? { get }
    /// Called after a command that moved the target failed: puts it at a
    /// position that is consistent again (where another build's history
    /// split from the journal, for instance).
    func settleAfterFailedMotion()
    var position: Position { get }
    /// The last event of the journal.
    var lastEvent: UInt64 { get }
    /// The event record at `position.event`.
    func currentEvent() throws -> EventRecord

    // State at the current position.
    func registers() throws -> GPRegisters
    func specialRegisters() throws -> SpecialRegisters
    func readPhysical(_ gpa: UInt64, count: Int) throws -> [UInt8]
    /// Reads through the guest's page tables at the current position.
    func readVirtual(_ gva: UInt64, count: Int) throws -> [UInt8]
    /// The MMU views' context at the current position.
    func mmuContext() throws -> MMUCommandContext
    /// The MMU context at another position (for `ptdiff`); may move nothing.
    func mmuContext(at: Position) throws -> MMUCommandContext
    /// The MMU context at event `e` for `vmrr mmu`, labelled in events. A
    /// target that executes moves there; with `copyingMemory` the context
    /// keeps a copy of memory, so it stays valid after the target moves on.
    func mmuContext(atEvent e: UInt64, copyingMemory: Bool) throws -> MMUCommandContext

    // Motion. Each returns why it stopped; the position is always consistent.
    func stepInstructions(_ n: UInt64) throws -> StopReason
    func reverseStepInstructions(_ n: UInt64) throws -> StopReason
    func nextEvents(_ n: UInt64) throws -> StopReason
    func previousEvents(_ n: UInt64) throws -> StopReason
    func continueForward() throws -> StopReason
    func reverseContinue() throws -> StopReason
    func goto(_ p: Position) throws

    // Breakpoints (execution, event and watch). Returns the new breakpoint's id.
    var breakpoints: [Breakpoint] { get }
    func addBreakpoint(_ kind: BreakpointKind) throws -> Int
    /// An execution breakpoint kept the way `mechanism` says (gdb's `Z0` is
    /// software, `Z1` hardware); other kinds ignore it.
    func addBreakpoint(_ kind: BreakpointKind, mechanism: BreakpointMechanism) throws -> Int
    func deleteBreakpoint(_ id: Int) throws
    func deleteAllBreakpoints()

    /// Debugger-taken snapshots and the journal's checkpoints, for `info checkpoints`.
    var snapshotPositions: [Position] { get }

    /// Asks a running motion command to stop at the next consistent point (Ctrl-C).
    func requestInterrupt()
    /// After `requestInterrupt`, when the motion has not stopped soon: forces
    /// the guest out of a run that makes no exits (async-signal-safe).
    func interruptRunningGuest()

    /// The vCPU's whole state at the current position (MSRs and the XSAVE
    /// area besides the registers), for `info all-registers`; nil where the
    /// target does not know it.
    func vcpuState() throws -> VCPUState?

    // Threads: one per vCPU (docs/DEBUGGER.md, "Threads"). The state reads
    // above (registers, memory through the page tables, the MMU views) show
    // the selected vCPU.
    /// The vCPU running at the current position (whose events these are).
    var runningVCPU: Int { get }
    /// The vCPU the state reads show; nil: the running one. A motion leaves
    /// it as it is; the REPL and the gdb stub clear it after a stop, so the
    /// selection follows the running vCPU, as gdb's does.
    var selectedVCPU: Int? { get set }
    /// vCPU `k`'s general registers at the current position.
    func registers(vcpu k: Int) throws -> GPRegisters
}

extension DebugTarget {
    /// The number of vCPUs (gdb's threads).
    public var vcpuCount: Int { Int(journal.header.vcpuCount) }

    /// The vCPU the state reads show.
    public var shownVCPU: Int { selectedVCPU ?? runningVCPU }

    /// Selects vCPU `k` (nil: the running one), or says why not.
    public func selectVCPU(_ k: Int?) throws {
        if let k, k < 0 || k >= vcpuCount {
            throw DebugError("no vCPU \(k): the journal has \(vcpuCount) (0 to \(vcpuCount - 1))")
        }
        selectedVCPU = k
    }
}

/// How an execution breakpoint is kept by a target that executes.
public enum BreakpointMechanism: Sendable, Equatable {
    /// A hardware debug register while one is free, else an int3 byte.
    case automatic
    /// An int3 byte patched in while the guest runs (any number of them).
    case software
    /// A hardware debug register (a few; refused when they are all in use).
    case hardware
}

extension DebugTarget {
    public func interruptRunningGuest() {}

    public var foreignImageSHA256: [UInt8]? { nil }

    public func settleAfterFailedMotion() {}

    /// Targets that do not execute keep every breakpoint the same way.
    public func addBreakpoint(_ kind: BreakpointKind, mechanism: BreakpointMechanism) throws -> Int {
        try addBreakpoint(kind)
    }

    public func vcpuState() throws -> VCPUState? { nil }
}
