import VMRRBase
import VMRRReplay

/// Continue and reverse-continue: searches for breakpoint hits. Event
/// breakpoints come from the journal alone; address breakpoints and
/// watchpoints are found by running forward (debug registers and int3 bytes,
/// watched bytes compared after every exit). A forward address hit stops the
/// machine right there (its instruction count is counted only when asked:
/// KVMTarget+Count.swift); a watched write is landed on by single-stepping;
/// backward searches run forward over windows that end at the current
/// position and take the last hit.
extension KVMTarget {
    /// One hit found while running forward: where, and what.
    enum Hit {
        case address(Breakpoint, event: UInt64)       // first hit of the address after (event, 0)
        /// The location changed after `fromEvent` and by event `detectedAt`.
        case watch(Breakpoint, fromEvent: Position, detectedAt: UInt64, old: [UInt8], new: [UInt8])
        case event(Breakpoint, event: UInt64)
    }

    /// Runs forward from the current position until a breakpoint hit, the end
    /// of the journal, or `limit` (exclusive of positions past it).
    func runForward(until limit: Position?, firstOnly: Bool) throws -> [Hit] {
        var hits: [Hit] = []
        let evBPs = table.eventBreakpoints
        replayer.resume()
        replayer.setUntil(limit?.event)
        replayer.pauseAfter = evBPs.isEmpty ? nil : { r in BreakpointTable.eventBreakpoint(in: evBPs, matching: r) != nil }
        defer { replayer.pauseAfter = nil; replayer.setUntil(nil) }
        runner.breakpoints = table.hardwareAddresses
        runner.softwareBreakpoints = table.softwareAddresses
        defer { runner.breakpoints = []; runner.softwareBreakpoints = [] }
        var lastValues = watchValues()
        // The last position at which the watched values were seen unchanged.
        var quiet = machinePosition.instructions == Timeline.unknownInstructions ? Position(event: machinePosition.event) : machinePosition
        while true {
            if Self.interruptRequested.load(ordering: .relaxed) { break }
            let runStart = machinePosition, runRecipe = currentUncounted
            let stop = try session.runUntilStop { [unowned self] in
                let matched = self.replayer.lastMatchedIndex
                // Ctrl-C stops at the first event boundary after it (an exit
                // that was an event), where the position is exact.
                if Self.interruptRequested.load(ordering: .relaxed), matched != nil, matched != quiet.event { return true }
                let v = self.watchValues()
                if v != lastValues { return true }
                quiet = Position(event: matched ?? quiet.event)
                return false
            }
            try timeline.settlePosition()
            switch stop {
            case let .breakpoint(pc):
                if let bp = table.atAddress(pc) {
                    hits.append(.address(bp, event: machinePosition.event))
                }
                // The machine is at the hit, an uncounted number of instructions after (event, 0).
                noteBreakpointStop(at: pc, from: runStart, startRecipe: runRecipe)
            case .watch:
                let v = watchValues()
                for (i, w) in watches.enumerated() where i < v.count && i < lastValues.count && v[i] != lastValues[i] {
                    if let bp = table.breakpoint(id: w.id) {
                        hits.append(.watch(bp, fromEvent: quiet, detectedAt: machinePosition.event, old: lastValues[i], new: v[i]))
                    }
                }
                lastValues = v
            case .ended:
                if replayer.paused != nil, replayer.final == nil || replayer.paused != nil {
                    if let r = replayer.lastMatched, let bp = BreakpointTable.eventBreakpoint(in: evBPs, matching: r) {
                        hits.append(.event(bp, event: r.index))
                    }
                    if replayer.paused?.reason == .interrupted {
                        // Stopped mid-interval by Ctrl-C: go back to the last event boundary.
                        replayer.resume()
                        machinePosition.instructions = Timeline.unknownInstructions
                        try timeline.reach(event: machinePosition.event)
                        return hits
                    }
                    replayer.resume()
                }
            }
            // After a breakpoint stop the instruction count is unknown; the
            // watched values were last compared at (event, 0).
            quiet = machinePosition.instructions == Timeline.unknownInstructions ? Position(event: machinePosition.event) : machinePosition
            if let l = limit, machinePosition.event >= l.event { break }
            if (firstOnly && !hits.isEmpty) || replayer.final != nil { break }
            if case .ended = stop, replayer.paused == nil, replayer.final != nil { break }
        }
        return hits
    }

    /// Moves to the exact position of a hit found by a run-mode pass. The
    /// machine is at an address hit already (its instruction count waits
    /// until asked: KVMTarget+Count.swift); a watched write is found by
    /// single-stepping from where the values were last seen unchanged.
    func land(_ h: Hit) throws -> StopReason {
        switch h {
        case let .event(bp, e):
            try timeline.reach(event: e)
            return hit(bp)
        case let .address(bp, _):
            return hit(bp)
        case let .watch(bp, from, _, old, new):
            guard case let .watch(gpa, len, _) = bp.kind else { return .done }
            try goto(from)
            var steps: UInt64 = 0
            while (machine.ram.read(gpa, count: Int(len)) ?? []) == old {
                try timeline.step()
                steps += 1
                if steps > stepLimit { throw DebugError("watchpoint \(bp.id): the write is more than \(stepLimit) instructions away") }
                if replayer.final != nil { break }
            }
            table.recordHit(bp.id)
            return .watchpoint(id: bp.id, address: gpa, old: old, new: new)
        }
    }

    public func continueForward() throws -> StopReason {
        Self.interruptRequested.store(false, ordering: .relaxed)
        if replayer.final != nil { return .endOfHistory }
        // A watchpoint search compares values from an exact position.
        if !watches.isEmpty { try countInstructions() }
        // An address breakpoint at the current RIP is stepped over first.
        let hits = try runForward(until: nil, firstOnly: true)
        if Self.interruptRequested.load(ordering: .relaxed) && hits.isEmpty { return .interrupted }
        guard let h = hits.first else { return .endOfHistory }
        return try land(h)
    }

    public func reverseContinue() throws -> StopReason {
        Self.interruptRequested.store(false, ordering: .relaxed)
        try countInstructions()
        let here = machinePosition
        var windowEnd = here
        while true {
            // Ctrl-C: stop at the earliest position searched so far.
            if Self.interruptRequested.load(ordering: .relaxed) { try goto(windowEnd); return .interrupted }
            if windowEnd == Position(event: 0) {
                try goto(Position(event: 0))
                return .startOfHistory
            }
            // The window [(start, 0), windowEnd), from the nearest snapshot or checkpoint.
            let startEvent: UInt64
            if windowEnd.instructions > 0 {
                startEvent = windowEnd.event
            } else {
                let snap = timeline.snapshotPositions.map(\.event).filter { $0 < windowEnd.event }.max()
                let cp = timeline.usableCheckpoint(atOrBefore: windowEnd.event - 1)?.eventIndex
                startEvent = max(snap ?? 0, cp ?? 0)
            }
            var candidates: [(Position, Hit)] = []
            // Event breakpoints come from the journal alone.
            for bp in table.eventBreakpoints {
                guard case let .event(kind, filter) = bp.kind else { continue }
                for e in startEvent...windowEnd.event where Position(event: e) < windowEnd {
                    if let r = try? journal.event(at: e), r.event.kind == kind, filter.matches(r.event) {
                        candidates.append((Position(event: e), .event(bp, event: e)))
                    }
                }
            }
            // Address breakpoints and watchpoints need execution.
            if !addressBreakpoints.isEmpty || !watches.isEmpty {
                try timeline.reach(event: startEvent)
                // A hit at the window's start: the forward run below steps over it, as a continue does.
                // Not when a switch comes first: that vCPU does not execute there (docs/SMP.md).
                if Position(event: startEvent) < windowEnd, let bp = table.atAddress(runner.regs.rip), !switchFollows(startEvent) {
                    candidates.append((Position(event: startEvent), .address(bp, event: startEvent)))
                }
                if windowEnd.event > startEvent {
                    let saved = table
                    table = table.withoutEventBreakpoints
                    defer { table = saved }
                    for h in try runForward(until: Position(event: windowEnd.event), firstOnly: false) {
                        candidates.append((hitPosition(h), h))
                    }
                    if Self.interruptRequested.load(ordering: .relaxed) { try goto(windowEnd); return .interrupted }
                    try timeline.reach(event: windowEnd.event)
                }
                var values = watchValues()
                while machinePosition < windowEnd {
                    let before = machinePosition
                    try timeline.step()
                    if machinePosition >= windowEnd || machinePosition == before { break }
                    if let bp = table.atAddress(runner.regs.rip) {
                        candidates.append((machinePosition, .address(bp, event: machinePosition.event)))
                    }
                    let v = watchValues()
                    if v != values {
                        for (i, w) in watches.enumerated() where v[i] != values[i] {
                            if let bp = table.breakpoint(id: w.id) {
                                candidates.append((machinePosition, .watch(bp, fromEvent: before, detectedAt: machinePosition.event, old: values[i], new: v[i])))
                            }
                        }
                        values = v
                    }
                }
            }
            for (_, h) in candidates.sorted(by: { $0.0 > $1.0 }) {
                if let stop = try landLast(h, before: windowEnd) { return stop }
            }
            windowEnd = Position(event: startEvent)
        }
    }

    /// Whether the event after `e` is a `switch`: the vCPU running at (e, 0) executes nothing before it.
    func switchFollows(_ e: UInt64) -> Bool {
        guard e + 1 < journal.eventCount, let r = try? journal.event(at: e + 1) else { return false }
        if case .switchVCPU = r.event { return true }
        return false
    }

    /// A hit's approximate position, for ordering (exact for events).
    func hitPosition(_ h: Hit) -> Position {
        switch h {
        case let .event(_, e): return Position(event: e)
        case let .address(_, e): return Position(event: e, instructions: 1)
        case let .watch(_, from, _, _, _): return Position(event: from.event, instructions: from.instructions + 1)
        }
    }

    /// Lands on the LAST occurrence of a hit that lies before `limit`
    /// (an address breakpoint can fire several times between two events, and
    /// a location can be written several times), or returns nil if the hit
    /// is not before `limit`.
    func landLast(_ h: Hit, before limit: Position) throws -> StopReason? {
        switch h {
        case let .event(bp, e):
            guard Position(event: e) < limit else { return nil }
            try goto(Position(event: e))
            return hit(bp)
        case let .address(bp, e):
            guard case let .address(addr) = bp.kind else { return nil }
            try timeline.reach(event: e)
            var best: Position?
            var steps: UInt64 = 0
            while machinePosition < limit && machinePosition.event == e && replayer.final == nil {
                if runner.regs.rip == addr { best = machinePosition }
                try timeline.step()
                steps += 1
                if steps > stepLimit { break }
            }
            if machinePosition < limit, runner.regs.rip == addr, !switchFollows(machinePosition.event) { best = machinePosition }
            guard let p = best else { return nil }
            try goto(p)
            return hit(bp)
        case let .watch(bp, from, detectedAt, _, _):
            guard case let .watch(gpa, len, _) = bp.kind, from < limit else { return nil }
            try goto(from)
            var last: (Position, [UInt8], [UInt8])?
            var value = machine.ram.read(gpa, count: Int(len)) ?? []
            var steps: UInt64 = 0
            while machinePosition < limit && machinePosition.event <= detectedAt && replayer.final == nil {
                try timeline.step()
                let v = machine.ram.read(gpa, count: Int(len)) ?? []
                if v != value, machinePosition < limit { last = (machinePosition, value, v) }
                value = v
                steps += 1
                if steps > stepLimit { break }
            }
            guard let (p, old, new) = last else { return nil }
            try goto(p)
            table.recordHit(bp.id)
            return .watchpoint(id: bp.id, address: gpa, old: old, new: new)
        }
    }
}
