import Testing
import VMRRDevices
import VMRRMachine

/// `--chaos SEED` on its own (docs/SMP.md, "Chaos mode"): the generator is
/// SplitMix64, the same seed gives the same schedule, different seeds give
/// different ones, and without a seed the policy is the fixed one. No KVM.
@Suite struct SchedulerChaosTests {
    /// The decisions of a scheduler of `vcpus` vCPUs, all started, over
    /// `exits` exits in which every vCPU stays runnable: the vCPU that runs
    /// at each exit.
    func schedule(vcpus: Int, chaos: ChaosSchedule?, exits: Int) -> [Int] {
        let s = Scheduler(vcpus: vcpus, chaos: chaos)
        for k in 1..<vcpus { _ = s.apply(.startup(cpu: k, vector: 8)) }
        var ran: [Int] = []
        for _ in 0..<exits {
            if case let .switchTo(k) = s.decide(interruptWaits: { _ in false }) { s.switched(to: k) }
            ran.append(s.running)
            s.exited()
        }
        return ran
    }

    @Test func theGeneratorIsSplitMix64() {
        // The reference outputs of SplitMix64 from seed 0 (Vigna's splitmix64.c).
        var g = ChaosSchedule(seed: 0)
        #expect([g.next(), g.next(), g.next()] == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        #expect(ChaosSchedule(seed: 7).seed == 7)
    }

    @Test func slicesAreOneToTwiceTheNormalSliceAndShortOnesAreCommon() {
        var g = ChaosSchedule(seed: 42)
        let budgets = (0..<1000).map { _ in g.sliceBudget() }
        #expect(budgets.allSatisfy { $0 >= 1 && $0 <= ChaosSchedule.longSliceMax })
        #expect(budgets.filter { $0 <= ChaosSchedule.shortSliceMax }.count > 400)
        #expect(Set(budgets).count > 50)
    }

    @Test func theSameSeedGivesTheSameScheduleAndOtherSeedsOtherOnes() {
        let a = schedule(vcpus: 4, chaos: ChaosSchedule(seed: 1), exits: 2000)
        #expect(a == schedule(vcpus: 4, chaos: ChaosSchedule(seed: 1), exits: 2000))
        let others = (2...6).map { schedule(vcpus: 4, chaos: ChaosSchedule(seed: $0), exits: 2000) }
        #expect(others.allSatisfy { $0 != a })
        #expect(Set(others.map { $0.description } + [a.description]).count == 6)
        // Every vCPU gets to run, and switches come at other exits than the fixed policy's.
        #expect(Set(a) == [0, 1, 2, 3])
        #expect(a != schedule(vcpus: 4, chaos: nil, exits: 2000))
    }

    @Test func withoutASeedTheFixedPolicyRuns() {
        // Slices of exactly `sliceExits` exits, in round-robin order.
        let ran = schedule(vcpus: 3, chaos: nil, exits: 3 * Int(Scheduler.sliceExits) + 1)
        let n = Int(Scheduler.sliceExits)
        #expect(ran[0..<n].allSatisfy { $0 == 0 } && ran[n..<(2 * n)].allSatisfy { $0 == 1 })
        #expect(ran[(2 * n)..<(3 * n)].allSatisfy { $0 == 2 } && ran[3 * n] == 0)
        #expect(Scheduler(vcpus: 2).sliceBudget == Scheduler.sliceExits)
    }

    @Test func chaosChoosesOnlyRunnableVCPUsAndKeepsTheOnlyRunnableOne() {
        let s = Scheduler(vcpus: 4, chaos: ChaosSchedule(seed: 9))
        _ = s.apply(.startup(cpu: 2, vector: 8))
        // vCPUs 1 and 3 wait for a SIPI: only 0 and 2 ever run.
        for _ in 0..<500 {
            if case let .switchTo(k) = s.decide(interruptWaits: { _ in false }) {
                #expect(k == 0 || k == 2)
                s.switched(to: k)
            }
            s.exited()
        }
        s.halted(interruptsEnabled: false)
        if case let .switchTo(k) = s.decide(interruptWaits: { _ in false }) { s.switched(to: k) }
        s.halted(interruptsEnabled: false)
        #expect(s.decide { _ in false } == .noneCanRun)
    }
}
