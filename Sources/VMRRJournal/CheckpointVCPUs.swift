/// Every vCPU of a checkpoint of more than one vCPU (docs/SMP.md,
/// docs/JOURNAL.md "Checkpoint chunk payload": the `allVCPUs` flag).

/// A vCPU's scheduling state, as the recorder's scheduler had it.
public enum VCPURunState: UInt8, Sendable, Equatable, CaseIterable {
    case runnable = 0
    /// HLT with IF=1.
    case halted = 1
    /// HLT with IF=0.
    case stopped = 2
    /// An AP at power-on or after INIT.
    case waitingForSIPI = 3

    public var name: String {
        switch self {
        case .runnable: return "runnable"
        case .halted: return "halted"
        case .stopped: return "stopped"
        case .waitingForSIPI: return "waiting for SIPI"
        }
    }
}

/// One vCPU in a checkpoint: its scheduling state and its whole state.
public struct CheckpointVCPU: Sendable, Equatable {
    public var runState: VCPURunState
    public var state: VCPUState
    public init(runState: VCPURunState, state: VCPUState) { self.runState = runState; self.state = state }
}

/// All vCPUs of a checkpoint and which one runs. The running vCPU's
/// `state` is the checkpoint's own `state` (stored once).
public struct CheckpointVCPUs: Sendable, Equatable {
    public var running: Int
    public var vcpus: [CheckpointVCPU]
    public init(running: Int, vcpus: [CheckpointVCPU]) { self.running = running; self.vcpus = vcpus }
}
