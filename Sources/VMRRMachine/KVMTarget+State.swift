import VMRRJournal
import VMRRReplay

extension KVMTarget {
    /// The vCPU's whole state as a checkpoint would capture it (`info all-registers`).
    public func vcpuState() throws -> VCPUState? {
        var s = try machine.captureState(vcpu: shownVCPU)
        s.regs = try registers()
        return s
    }
}
