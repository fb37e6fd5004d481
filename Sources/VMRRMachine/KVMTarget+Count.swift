import VMRRBase
import VMRRReplay

/// A run-mode breakpoint stop leaves the machine exactly at the hit, but
/// without an instruction counter (this host has no PMU) the number of
/// instructions since the last event is not known there. Counting it means
/// re-executing from a snapshot by single-steps, about twenty vCPU runs, so
/// it is done only when a command needs the count: the position line, `when`,
/// reverse motion, a watchpoint search. Registers, memory, stepping forward
/// and continuing again need only the machine, so a `continue` that hits
/// costs the breakpoint's exit and, when the motion resumes, the step over it.
///
/// What is kept is a recipe: from a known position, the stops that followed,
/// each "the first time RIP is at this address" (the first hit of any
/// breakpoint is the first time RIP reaches the one that fired) or "N more
/// single-steps". It is valid while the machine has not moved: the same
/// timeline position and the same number of vCPU runs as when it was made.
struct UncountedStop {
    enum Leg: Equatable {
        /// Single-step until RIP is `address`; at least one step unless `includingStart`.
        case toAddress(UInt64, includingStart: Bool)
        case steps(UInt64)
    }
    /// A position whose count is known, where counting starts.
    var base: Position
    var legs: [Leg]
    /// The timeline's position and the vCPU's run count when the recipe was last extended.
    var at: Position
    var runs: UInt64
}

extension KVMTarget {
    /// The recipe for the machine's current position, if it still describes it.
    var currentUncounted: UncountedStop? {
        guard let u = uncounted, u.at == machinePosition, u.runs == vcpuRuns,
              machinePosition.instructions == Timeline.unknownInstructions else { return nil }
        return u
    }

    /// Notes a run-mode stop at breakpoint `pc` (the machine is there, the
    /// timeline's position is its event with an unknown count). `start` and
    /// `startRecipe` describe where the run began.
    func noteBreakpointStop(at pc: UInt64, from start: Position, startRecipe: UncountedStop?) {
        machinePosition.instructions = Timeline.unknownInstructions
        var base = Position(event: machinePosition.event)
        var legs: [UncountedStop.Leg] = [.toAddress(pc, includingStart: true)]
        if start.event == machinePosition.event {
            // No event on the way: the hit is the first one after the start.
            if start.instructions != Timeline.unknownInstructions {
                base = start
                legs = []
            } else if let r = startRecipe {
                base = r.base
                legs = r.legs
            } else {
                uncounted = nil
                return
            }
            legs.append(.toAddress(pc, includingStart: false))
        }
        uncounted = UncountedStop(base: base, legs: legs, at: machinePosition, runs: vcpuRuns)
    }

    /// Notes one single-step taken from an uncounted position (stepping forward needs no count).
    func noteStepWhileUncounted(startRecipe: UncountedStop?) {
        guard var r = startRecipe else { uncounted = nil; return }
        if case let .steps(n)? = r.legs.last { r.legs[r.legs.count - 1] = .steps(n + 1) } else { r.legs.append(.steps(1)) }
        r.at = machinePosition
        r.runs = vcpuRuns
        uncounted = r
    }

    /// Counts the instructions of an uncounted position: re-executes from the
    /// recipe's known position by single-steps (restoring a snapshot first),
    /// which ends in the same machine state, now with its count.
    func countInstructions() throws {
        guard let u = currentUncounted else { return }
        try count(u)
    }

    /// Moves to the position `u` describes, counting its instructions.
    func count(_ u: UncountedStop) throws {
        uncounted = nil
        let rip = runner.regs.rip
        try timeline.goto(u.base)
        if u.base.instructions == 0 { try timeline.takeSnapshot() }
        var steps: UInt64 = 0
        func stepOne() throws {
            if try timeline.step() != .instruction {
                throw DebugError("lost the breakpoint stop at \(hex(rip)) while counting the instructions after event \(u.base.event)")
            }
            steps += 1
            if steps > stepLimit { throw DebugError("the breakpoint stop at \(hex(rip)) is more than \(stepLimit) instructions after event \(u.base.event)") }
        }
        for leg in u.legs {
            switch leg {
            case let .steps(n):
                for _ in 0..<n { try stepOne() }
            case let .toAddress(a, includingStart):
                if !includingStart { try stepOne() }
                while runner.regs.rip != a { try stepOne() }
            }
        }
    }
}
