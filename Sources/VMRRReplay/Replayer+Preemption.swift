import VMRRBase
import VMRRJournal

/// Reaching a `preempt` record (docs/SMP.md, "Preemption by a timer
/// signal"): the run loop arms a hardware execution breakpoint at the
/// record's RIP and asks at every hit; the first hit whose registers and
/// then dirty-page digest match is the recorded stop. State equal in the
/// registers and in everything written since the last clean mark is the same
/// state for all later execution, whichever loop iteration it was.
extension Replayer {
    /// Hits at one preemption point before the replay gives up with a divergence.
    public static let preemptionHitLimit: UInt64 = 1_000_000

    public func preemptionPoint() throws -> UInt64? {
        guard !hasEnded, try nextKind() == .preempt, let e = try peek(), case .preempt = e.event else { return nil }
        return e.regs.rip
    }

    public func reachedPreemption(regs: GPRegisters, digest: () throws -> UInt64) throws -> Bool {
        guard !hasEnded, let e = try peek(), case let .preempt(want) = e.event else { return false }
        preemptionHits.all += 1
        preemptionCost.hits += 1
        if e.regs == regs {
            preemptionHits.registersMatched += 1
            preemptionCost.digests += 1
            let t0 = monotonicNanoseconds()
            let got = try digest()
            preemptionCost.digestNanoseconds += monotonicNanoseconds() - t0
            if got == want {
                preemptionHits = (0, 0)
                preemptionCost.reached += 1
                accept(e)
                return true
            }
        }
        if preemptionHits.all >= Self.preemptionHitLimit {
            diverge(expected: e, actual: "preemption point", actualRegs: regs,
                    why: .preemptionHitLimit(rip: e.regs.rip, hits: preemptionHits.all, matchedRegisters: preemptionHits.registersMatched))
        }
        return false
    }
}

/// What reaching `preempt` records cost a replay so far, counted as it goes:
/// every check at a preemption point's RIP (a breakpoint hit, or a
/// single-step that arrived there), the dirty-page digests computed (one per
/// check whose registers matched) and their time, and the points reached. Every check that
/// did not match was followed by a step over the breakpoint.
public struct PreemptionCost: Sendable, Equatable {
    public var reached: UInt64 = 0
    public var hits: UInt64 = 0
    public var digests: UInt64 = 0
    /// Wall time spent computing those digests.
    public var digestNanoseconds: UInt64 = 0
    public init() {}
    /// Checks that did not match, each followed by a single-step over the breakpoint.
    public var stepsOver: UInt64 { hits - reached }
}
