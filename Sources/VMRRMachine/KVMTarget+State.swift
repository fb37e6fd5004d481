import VMRRJournal
import VMRRReplay

extension KVMTarget {
    /// The vCPU's whole state as a checkpoint would capture it (`info all-registers`).
    public func vcpuState() throws -> VCPUState? {
        var s = try machine.captureState()
        s.regs = runner.regs
        return s
    }
}
