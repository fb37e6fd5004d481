import VMRRBase
import VMRRDevices
import VMRRJournal
import VMRRReplay

/// The recorder's side of scheduling (docs/SMP.md): it applies the APICs'
/// INIT and SIPI requests, asks the `Scheduler` what runs next, and
/// journals every decision (`startup`, `switch`), so that replay follows it.
extension Recorder: VCPUScheduling {
    public func nextSchedulingStep(vcpu: UInt8, regs: GPRegisters) throws -> SchedulingStep? {
        guard let scheduler, end == nil else { return nil }
        // The common case, at nearly every exit: nothing to start, nothing to decide.
        if !devices.hasStartRequests && pendingStartups.isEmpty && scheduler.staysWithoutWaking { return nil }
        for request in devices.takeStartRequests() {
            if let vector = scheduler.apply(request), case let .startup(k, _) = request {
                pendingStartups.append((UInt8(k), vector))
            }
        }
        if !pendingStartups.isEmpty {
            let (k, vector) = pendingStartups.removeFirst()
            try append(.startup(vcpu: k, vector: vector), regs)
            return .startup(vcpu: k, vector: vector)
        }
        var waited = false
        while true {
            switch scheduler.decide(interruptWaits: devices.interruptWaits(cpu:)) {
            case .stay:
                return nil
            case .switchTo(let k):
                return .switchTo(vcpu: UInt8(k))
            case .allHalted:
                // As with one vCPU: the guest clock runs on to the next interrupt source, once.
                if !waited, let deadline = devices.nextInterruptTime() {
                    devices.clock.waitUntil(deadline)
                    waited = true
                    continue
                }
                if devices.nextInterruptTime() == nil {
                    finish(.halted, ExitStatus.halted, "every vCPU halted and no timer is armed: nothing can wake the guest")
                    return nil
                }
                scheduler.resumeRunning()
                return nil
            case .noneCanRun:
                finish(.halted, ExitStatus.halted, "every vCPU halted with interrupts disabled or waits for a SIPI: nothing can wake the guest")
                return nil
            }
        }
    }

    public func switched(to vcpu: UInt8, regs: GPRegisters) throws {
        scheduler?.switched(to: Int(vcpu))
        devices.selectCPU(Int(vcpu))
        try append(.switchVCPU(vcpu: vcpu), regs)
    }
}

extension Recorder {
    /// Every vCPU's state and scheduling state for a checkpoint of more than
    /// one vCPU (nil for one); `state` is the running vCPU's, captured already.
    func allVCPUs(_ source: MachineStateSource, running state: VCPUState) throws -> CheckpointVCPUs? {
        guard source.vcpuCount > 1 else { return nil }
        let running = source.runningVCPU
        var vcpus: [CheckpointVCPU] = []
        for k in 0..<source.vcpuCount {
            let s = k == running ? state : try source.captureState(vcpu: k)
            vcpus.append(CheckpointVCPU(runState: scheduler.map { Self.runState($0.states[k]) } ?? .runnable, state: s))
        }
        return CheckpointVCPUs(running: running, vcpus: vcpus)
    }

    static func runState(_ s: Scheduler.State) -> VCPURunState {
        switch s {
        case .runnable: return .runnable
        case .halted: return .halted
        case .stopped: return .stopped
        case .waitingForSIPI: return .waitingForSIPI
        }
    }
}
