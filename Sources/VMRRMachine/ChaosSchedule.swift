/// `vmrr record --chaos SEED` (docs/SMP.md, "Chaos mode"): the scheduler's
/// source of variation, as in rr's chaos mode. It draws each slice's exit
/// budget and the choice of the next runnable vCPU from SplitMix64 (Steele,
/// Lea and Flood, "Fast splittable pseudorandom number generators", 2014:
/// add the golden gamma 0x9E3779B97F4A7C15, then two xor-shift-multiply
/// rounds), seeded with SEED. The generator is consulted only at switch
/// points, which are exits, so the same guest, answers and seed give the same
/// schedule; replay needs no seed, because the journal records every switch.
public struct ChaosSchedule: Sendable, Equatable {
    /// The seed given on the command line (the journal header keeps it).
    public let seed: UInt64
    private var state: UInt64

    /// A short slice (1 to `shortSliceMax` exits) is drawn with probability
    /// 1/2, so switches often fall inside a guest's short critical sections.
    public static let shortSliceMax: UInt64 = 8
    /// Otherwise a slice is 1 to `longSliceMax` exits (twice the normal slice).
    public static let longSliceMax: UInt64 = 2 * Scheduler.sliceExits

    public init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// The next 64 bits of SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound (bound > 0), by the remainder: the tiny bias of
    /// a 64-bit remainder does not matter for scheduling.
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        return next() % bound
    }

    /// The exit budget of a new slice: 1 to 8 or 1 to 128 exits, half and half.
    public mutating func sliceBudget() -> UInt64 {
        let short = next() & 1 == 0
        return 1 + below(short ? Self.shortSliceMax : Self.longSliceMax)
    }

    /// One of `candidates` (not empty), uniformly.
    public mutating func pick(_ candidates: [Int]) -> Int {
        candidates[Int(below(UInt64(candidates.count)))]
    }
}
