import VMRRBase
import VMRRJournal

/// What a responder may ask of the machine at a clean boundary. `Machine`
/// (VMRRMachine) implements it over KVM; tests implement it over arrays.
public protocol MachineStateSource: AnyObject {
    /// The complete vCPU state.
    func captureState() throws -> VCPUState
    /// The pages written since the previous call (KVM's dirty log).
    func dirtyPageRecords() throws -> [PageRecord]
    /// vmrr's digest of all of guest memory (docs/JOURNAL.md).
    func memoryDigest() -> UInt64
    /// A clean mark: forgets the pages dirtied so far for the preemption
    /// digest (docs/SMP.md). Recording and replay both mark at every checkpoint event.
    func markClean() throws
    /// The number of vCPUs and the running one (docs/SMP.md).
    var vcpuCount: Int { get }
    var runningVCPU: Int { get }
    /// vCPU `k`'s complete state.
    func captureState(vcpu k: Int) throws -> VCPUState
}

extension MachineStateSource {
    /// Sources without a dirty log (test doubles) have nothing to mark.
    public func markClean() throws {}
    public var vcpuCount: Int { 1 }
    public var runningVCPU: Int { 0 }
    public func captureState(vcpu k: Int) throws -> VCPUState { try captureState() }
}

/// What the guest did at an exit, as the run loop reports it to a
/// responder's `respond(to:regs:)`: device accesses and the exits that end or
/// interrupt a run. Reads carry no value: the responder supplies it (from
/// devices when recording, from the journal when replaying). MSR accesses
/// and assists have types and responder methods of their own.
public enum Access: Equatable, Sendable {
    case portRead(port: UInt16, size: UInt8)
    case portWrite(port: UInt16, size: UInt8, value: UInt64)
    case mmioRead(gpa: UInt64, size: UInt8)
    case mmioWrite(gpa: UInt64, size: UInt8, value: UInt64)
    case halt(interruptsEnabled: Bool)
    case shutdown
    /// A guest page fault caught at the #PF handler (a `.pageFault` event).
    case pageFault(Event)
    /// KVM could not run the guest. `data` holds the instruction bytes of an
    /// emulation failure when KVM gave them.
    case kvmError(reason: UInt32, suberror: UInt32, data: [UInt8], description: String)
    /// KVM_RUN was interrupted by a signal (Ctrl-C, a kick).
    case interrupted
}

/// An RDMSR (value 0) or WRMSR that exited to userspace, for `respondToMSR`.
public struct MSRAccess: Equatable, Sendable {
    public var index: UInt32
    public var direction: IODirection
    /// The value written (0 for a read).
    public var value: UInt64
    public init(index: UInt32, direction: IODirection, value: UInt64) {
        self.index = index; self.direction = direction; self.value = value
    }
}

/// An instruction KVM could not emulate, offered for `--assist`.
public struct AssistRequest: Equatable, Sendable {
    /// The instruction bytes KVM reported.
    public var bytes: [UInt8]
    public init(bytes: [UInt8]) { self.bytes = bytes }
}

/// What a responder made of an MSR access.
public struct MSRAnswer: Equatable, Sendable {
    /// The value an RDMSR returns (ignored for writes and faults).
    public var value: UInt64
    /// Raise #GP(0) instead of completing the access.
    public var fault: Bool
    public init(value: UInt64, fault: Bool) { self.value = value; self.fault = fault }
}

/// The far pointer a warm reset jumps through (segment and offset, the
/// 16-bit words at 0x469 and 0x467, as a BIOS reads them after a reset with
/// CMOS shutdown code 0x05 or 0x0A).
public struct WarmResetVector: Equatable, Sendable, CustomStringConvertible {
    public var segment: UInt16
    public var offset: UInt16
    public init(segment: UInt16, offset: UInt16) { self.segment = segment; self.offset = offset }
    /// `0x0000:0x7000`.
    public var description: String { hex(segment, digits: 4) + ":" + hex(offset, digits: 4) }
}

/// How a run ended.
public struct RunEnd: Equatable, Sendable {
    public var reason: EndReason
    public var status: Int32
    public var message: String?
    public init(reason: EndReason, status: Int32, message: String? = nil) {
        self.reason = reason; self.status = status; self.message = message
    }
}

/// The policy side of the run loop: recording answers from devices and
/// writes the journal; replaying answers from the journal and checks.
public protocol ExitResponder: AnyObject {
    /// Called before each KVM_RUN, first: a warm reset to perform now (the
    /// vCPU re-enters real mode at the vector), or nil. `vectorInMemory`
    /// reads the far pointer at 0x467 from guest memory.
    func warmResetBeforeRun(regs: GPRegisters, vectorInMemory: () throws -> WarmResetVector) throws -> WarmResetVector?
    /// Called before each KVM_RUN, after `warmResetBeforeRun`: whether to
    /// inject an NMI now (KVM_NMI). When it says yes, no interrupt is
    /// injected before this run.
    func nmiBeforeRun(regs: GPRegisters) throws -> Bool
    /// Called before each KVM_RUN: a vector to inject now, or nil.
    func interruptBeforeRun(regs: GPRegisters, ready: Bool) throws -> UInt8?
    /// Handles one access. For reads, returns the value the guest receives.
    func respond(to access: Access, regs: GPRegisters) throws -> UInt64
    /// Handles an MSR access: the value to return, or a #GP.
    func respondToMSR(_ access: MSRAccess, regs: GPRegisters) throws -> MSRAnswer
    /// Handles an emulation failure: the emulation to apply, or nil to let
    /// the failure be reported (as `.kvmError`).
    func assist(_ request: AssistRequest, regs: GPRegisters) throws -> (action: AssistAction, length: UInt8)?
    /// After an exit has been fully handled: whether to checkpoint now.
    var wantsCheckpoint: Bool { get }
    /// Takes the checkpoint; the vCPU is at a clean boundary.
    func checkpoint(state: MachineStateSource, regs: GPRegisters) throws
    /// Set when the run must end.
    var end: RunEnd? { get }
    /// `end != nil`, without copying the `RunEnd` (the run loop asks several times per exit).
    var hasEnded: Bool { get }
    /// Recording: a timer signal stopped the running vCPU between exits
    /// (`record --preempt-ms`, docs/SMP.md) at `regs`; `digest` gives the
    /// digest of the pages dirtied since the last clean mark. Journals a
    /// `preempt` when the stop can change what happens next, and returns
    /// whether it did (the stop is then an event).
    func preempted(regs: GPRegisters, digest: () throws -> UInt64) throws -> Bool
    /// Replay: the RIP of the next event when it is a `preempt` (the running
    /// vCPU's: a `switch` comes first otherwise), where the run loop arms a
    /// hardware breakpoint; nil otherwise.
    func preemptionPoint() throws -> UInt64?
    /// Replay: the vCPU is at the preemption point's RIP, before its
    /// instruction. True when the registers and then `digest()` match the
    /// record, which is then accepted; false to step over and run on.
    func reachedPreemption(regs: GPRegisters, digest: () throws -> UInt64) throws -> Bool
}

/// A scheduling decision at a switch point (docs/SMP.md), made before a KVM_RUN.
public enum SchedulingStep: Equatable, Sendable {
    /// Start AP `vcpu` as a SIPI with `vector` does; the running vCPU stays.
    case startup(vcpu: UInt8, vector: UInt8)
    /// Run `vcpu` from here on.
    case switchTo(vcpu: UInt8)
}

/// Scheduling between vCPUs, asked only of machines with more than one:
/// the recorder decides and journals, the replayer follows the journal.
public protocol VCPUScheduling: AnyObject {
    /// The next step before running again (nil: run the running vCPU).
    /// `vcpu` is the running vCPU, `regs` its registers.
    func nextSchedulingStep(vcpu: UInt8, regs: GPRegisters) throws -> SchedulingStep?
    /// The run loop has switched to `vcpu`, whose registers are `regs`.
    func switched(to vcpu: UInt8, regs: GPRegisters) throws
}

/// Responders that never reset the vCPU or inject NMIs (test doubles) need
/// not say so.
extension ExitResponder {
    public func warmResetBeforeRun(regs: GPRegisters, vectorInMemory: () throws -> WarmResetVector) throws -> WarmResetVector? { nil }
    public func nmiBeforeRun(regs: GPRegisters) throws -> Bool { false }
    public func preempted(regs: GPRegisters, digest: () throws -> UInt64) throws -> Bool { false }
    public func preemptionPoint() throws -> UInt64? { nil }
    public func reachedPreemption(regs: GPRegisters, digest: () throws -> UInt64) throws -> Bool { false }
    public var hasEnded: Bool { end != nil }
}
