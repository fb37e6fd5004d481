import VMRRJournal

/// Replaying a journal of more than one vCPU (docs/SMP.md): the replayer
/// never decides, it follows the journal's `startup` and `switch` records,
/// and checks the registers at each (the running vCPU's at a start-up, the
/// resumed vCPU's at a switch), as it does at every exit.
extension Replayer: VCPUScheduling {
    public func nextSchedulingStep(vcpu: UInt8, regs: GPRegisters) throws -> SchedulingStep? {
        guard !hasEnded, let kind = try nextKind(), kind == .startup || kind == .switchVCPU,
              let expected = try peek() else { return nil }
        switch expected.event {
        case let .startup(k, vector):
            guard expected.regs == regs else {
                diverge(expected: expected, actual: "start-up of vCPU \(k)", actualRegs: regs, why: .registersDiffer)
                return nil
            }
            accept(expected)
            return .startup(vcpu: k, vector: vector)
        case let .switchVCPU(k):
            return .switchTo(vcpu: k)
        default:
            return nil
        }
    }

    public func switched(to vcpu: UInt8, regs: GPRegisters) throws {
        guard !hasEnded, try nextKind() == .switchVCPU, let expected = try peek(), case .switchVCPU(let k) = expected.event, k == vcpu else { return }
        guard expected.regs == regs else {
            diverge(expected: expected, actual: "switch to vCPU \(vcpu)", actualRegs: regs, why: .registersDiffer)
            return
        }
        accept(expected)
    }
}
