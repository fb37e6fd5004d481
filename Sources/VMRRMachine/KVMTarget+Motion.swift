import VMRRReplay

/// Motion by instructions and by events: stepping forward counts the
/// instructions between events (the timeline's intervals), stepping backward
/// uses them to land on an exact earlier position.
extension KVMTarget {
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
        if machinePosition.instructions == 0 { try timeline.takeSnapshot() }
        var startedAtEvent: UInt64? = machinePosition.instructions == 0 ? machinePosition.event : nil
        var steps: UInt64 = 0
        for _ in 0..<n {
            if Self.interruptRequested.load(ordering: .relaxed) { return .interrupted }
            if replayer.final != nil { return .endOfHistory }
            let before = machinePosition, recipe = currentUncounted
            switch try session.stepOnce() {
            case .instruction:
                // After a run-mode stop whose count is not counted yet, the recipe grows by a step.
                if machinePosition.instructions != Timeline.unknownInstructions {
                    machinePosition.instructions += 1
                } else {
                    noteStepWhileUncounted(startRecipe: recipe)
                }
                steps += 1
                if let bp = table.atAddress(runner.regs.rip) {
                    return hit(bp)
                }
            case .event:
                try timeline.settlePosition()
                if let s = startedAtEvent { timeline.recordInterval(from: s, steps: before.instructions, lands: machinePosition.event) }
                startedAtEvent = machinePosition.event
                if let bp = eventBreakpointMatching(from: before.event + 1, through: machinePosition.event) { return hit(bp) }
            case .ended:
                if replayer.paused?.reason == .interrupted {
                    // Ctrl-C arrived during this step's KVM_RUN: go back to the
                    // position before it, which is known exactly.
                    replayer.resume()
                    machinePosition.instructions = Timeline.unknownInstructions
                    if before.instructions != Timeline.unknownInstructions {
                        try goto(before)
                    } else if let r = recipe {
                        try count(r)
                    } else {
                        try timeline.reach(event: before.event)
                    }
                    return .interrupted
                }
                try timeline.settlePosition()
                return .endOfHistory
            }
            if steps > stepLimit {
                throw DebugError("stepped \(steps) instructions without reaching the next event; the guest may be running at CPL3, which the host cannot single-step")
            }
        }
        return .done
    }

    public func reverseStepInstructions(_ n: UInt64) throws -> StopReason {
        Self.interruptRequested.store(false, ordering: .relaxed)
        try countInstructions()
        var target = machinePosition
        var left = n
        while left > 0 {
            if target.instructions >= left {
                target.instructions -= left
                left = 0
            } else {
                left -= target.instructions
                target.instructions = 0
                guard let prev = try timeline.interval(landingAt: target.event) else {
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
        let target = min(lastEvent, machinePosition.event + n)
        if target == machinePosition.event && machinePosition.instructions == 0 { return .endOfHistory }
        let from = machinePosition.event
        try timeline.reach(event: target)
        if let bp = eventBreakpointMatching(from: from + 1, through: target), case let .event(kind, _) = bp.kind, kind != .end {
            _ = kind
        }
        return target == lastEvent && n > 0 && from + n > lastEvent ? .endOfHistory : .done
    }

    public func previousEvents(_ n: UInt64) throws -> StopReason {
        if machinePosition.event == 0 && machinePosition.instructions == 0 { return .startOfHistory }
        let back = machinePosition.instructions > 0 ? n - 1 : n
        let target = machinePosition.event >= back ? machinePosition.event - back : 0
        try timeline.reach(event: target)
        return machinePosition.event == 0 && n > 0 && back > 0 && target == 0 ? .startOfHistory : .done
    }
}
