import Testing
import VMRRDevices
import VMRRMachine

/// The recording's scheduling policy on its own (docs/SMP.md): no KVM.
@Suite struct SchedulerTests {
    @Test func apsWaitForASIPIAndRunAfterIt() {
        let s = Scheduler(vcpus: 3)
        #expect(s.states == [.runnable, .waitingForSIPI, .waitingForSIPI])
        #expect(s.apply(.startup(cpu: 1, vector: 8)) == 8)
        #expect(s.apply(.startup(cpu: 1, vector: 9)) == nil, "a second SIPI to a started AP is ignored")
        #expect(s.apply(.startup(cpu: 0, vector: 8)) == nil, "the BSP takes no SIPI")
        #expect(s.states == [.runnable, .runnable, .waitingForSIPI])
        #expect(s.apply(.initialize(cpu: 1)) == nil)
        #expect(s.states[1] == .waitingForSIPI)
    }

    @Test func aSliceIsABudgetOfExitsThenRoundRobin() {
        let s = Scheduler(vcpus: 3)
        _ = s.apply(.startup(cpu: 1, vector: 8))
        _ = s.apply(.startup(cpu: 2, vector: 8))
        for _ in 0..<(Scheduler.sliceExits - 1) { s.exited() }
        #expect(s.decide { _ in false } == .stay)
        s.exited()
        #expect(s.decide { _ in false } == .switchTo(1))
        s.switched(to: 1)
        #expect(s.exitsInSlice == 0 && s.decide { _ in false } == .stay)
        for _ in 0..<Scheduler.sliceExits { s.exited() }
        #expect(s.decide { _ in false } == .switchTo(2))
        s.switched(to: 2)
        for _ in 0..<Scheduler.sliceExits { s.exited() }
        #expect(s.decide { _ in false } == .switchTo(0), "round robin wraps to the BSP")
        // A kick is not an exit.
        s.switched(to: 0)
        s.exited(); s.notAnExit()
        #expect(s.exitsInSlice == 0)
    }

    /// The run loop's question at every exit: when this says the running
    /// vCPU stays, `decide` says so too, whatever interrupts wait.
    @Test func staysWithoutWakingAgreesWithDecide() {
        let s = Scheduler(vcpus: 3)
        _ = s.apply(.startup(cpu: 1, vector: 8))
        for _ in 0..<(Scheduler.sliceExits - 1) { s.exited() }
        #expect(s.staysWithoutWaking && s.decide { _ in true } == .stay)
        s.exited()
        #expect(!s.staysWithoutWaking, "the slice is spent")
        #expect(s.decide { _ in false } == .switchTo(1))
        s.switched(to: 1)
        #expect(s.staysWithoutWaking)
        // A halted vCPU could be woken by an interrupt: decide must look.
        s.halted(interruptsEnabled: true)
        #expect(!s.staysWithoutWaking)
        #expect(s.decide { _ in false } == .switchTo(0))
        s.switched(to: 0)
        #expect(!s.staysWithoutWaking, "vCPU 1 is still halted")
        #expect(s.decide { $0 == 1 } == .stay, "woken, but vCPU 0's slice goes on")
        #expect(s.states[1] == .runnable && s.staysWithoutWaking)
    }

    @Test func aSpinWithAnExitPerTryYieldsAtOnce() {
        let s = Scheduler(vcpus: 2)
        _ = s.apply(.startup(cpu: 1, vector: 8))
        // Exits that differ (a loop making progress) keep the slice.
        for _ in 0..<10 { s.exited(repeating: false) }
        #expect(s.decide { _ in false } == .stay)
        // Fewer repeats in a row than `spinRepeats` are not yet a spin; a different exit starts the count again.
        for _ in 1..<Scheduler.spinRepeats { s.exited(repeating: true) }
        s.exited(repeating: false)
        for _ in 1..<Scheduler.spinRepeats { s.exited(repeating: true) }
        #expect(s.repeats == Scheduler.spinRepeats - 1 && s.decide { _ in false } == .stay)
        s.exited(repeating: true)
        #expect(s.repeats == Scheduler.spinRepeats)
        #expect(s.decide { _ in false } == .switchTo(1))
        s.switched(to: 1)
        #expect(s.repeats == 0 && s.exitsInSlice == 0)
        // Alone, a spinning vCPU runs on, with a fresh count.
        s.halted(interruptsEnabled: true)
        #expect(s.decide { _ in false } == .switchTo(0))
        s.switched(to: 0)
        for _ in 0...Scheduler.spinRepeats { s.exited(repeating: true) }
        #expect(s.decide { _ in false } == .stay)
        #expect(s.repeats == 0)
    }

    /// A repeat makes its RIP and event a spin site of the vCPU; its next
    /// exit there ends the slice at the first try, another vCPU's does not,
    /// and a vCPU keeps at most `spinSiteLimit` sites, the newest.
    @Test func anExitAtAKnownSpinSiteYieldsAtTheFirstTry() {
        let s = Scheduler(vcpus: 2)
        _ = s.apply(.startup(cpu: 1, vector: 8))
        let spin = Scheduler.SpinSite(rip: 0x40_0180, event: .io(port: 0x80, size: 1, direction: .read, value: 0xff))
        let work = Scheduler.SpinSite(rip: 0x40_0193, event: .io(port: 0x80, size: 1, direction: .read, value: 0xff))
        // Not a site yet: the first try keeps the slice, the repeat ends it.
        s.exited(repeating: false, site: spin)
        #expect(s.decide { _ in false } == .stay)
        s.exited(repeating: true, site: spin)
        #expect(s.spinSites[0] == [spin])
        #expect(s.decide { _ in false } == .switchTo(1))
        s.switched(to: 1)
        // vCPU 1 has no sites: an exit at vCPU 0's site keeps its slice.
        s.exited(repeating: false, site: spin)
        #expect(s.decide { _ in false } == .stay)
        s.halted(interruptsEnabled: true)
        #expect(s.decide { _ in false } == .switchTo(0))
        s.switched(to: 0)
        // Back on vCPU 0: the same RIP with another event, or another RIP, keeps the slice...
        s.exited(repeating: false, site: Scheduler.SpinSite(rip: spin.rip, event: .io(port: 0x80, size: 1, direction: .read, value: 0)))
        s.exited(repeating: false, site: work)
        #expect(s.decide { _ in false } == .stay)
        // ...the site itself ends it at once.
        s.exited(repeating: false, site: spin)
        #expect(s.repeats == 0 && s.exitsInSlice >= s.sliceBudget)
        _ = s.decide { _ in true }
        // At most `spinSiteLimit` sites per vCPU, the newest kept.
        for k in 0..<UInt64(Scheduler.spinSiteLimit + 2) {
            s.exited(repeating: true, site: Scheduler.SpinSite(rip: 0x1000 + k, event: .hlt))
        }
        #expect(s.spinSites[s.running].count == Scheduler.spinSiteLimit)
        #expect(s.spinSites[s.running].last?.rip == 0x1000 + UInt64(Scheduler.spinSiteLimit + 1))
    }

    @Test func haltYieldsAndAnInterruptWakes() {
        let s = Scheduler(vcpus: 2)
        _ = s.apply(.startup(cpu: 1, vector: 8))
        s.halted(interruptsEnabled: true)
        #expect(s.decide { _ in false } == .switchTo(1))
        s.switched(to: 1)
        s.halted(interruptsEnabled: true)
        #expect(s.decide { _ in false } == .allHalted)
        // An IPI to the BSP wakes it.
        #expect(s.decide { $0 == 0 } == .switchTo(0))
        s.switched(to: 0)
        #expect(s.states == [.runnable, .halted])
        // The only runnable vCPU keeps running past its slice.
        for _ in 0..<(2 * Scheduler.sliceExits) { s.exited() }
        #expect(s.decide { _ in false } == .stay)
        s.halted(interruptsEnabled: false)
        #expect(s.decide { _ in false } == .allHalted, "vCPU 1 may still be woken")
        #expect(s.decide { $0 == 1 } == .switchTo(1))
        s.switched(to: 1)
        s.halted(interruptsEnabled: false)
        #expect(s.decide { _ in true } == .noneCanRun, "HLT with IF=0 waits for INIT, not interrupts")
    }

    @Test func anINITStopsAnAPThatRanAndASecondSIPIStartsItAgain() {
        let s = Scheduler(vcpus: 2)
        _ = s.apply(.startup(cpu: 1, vector: 8))
        s.switched(to: 1)
        s.halted(interruptsEnabled: false)   // the AP's cli; hlt
        #expect(s.states == [.runnable, .stopped])
        s.switched(to: 0)
        #expect(s.apply(.startup(cpu: 1, vector: 8)) == nil, "a SIPI alone does not restart a stopped AP")
        #expect(s.apply(.initialize(cpu: 1)) == nil)
        #expect(s.states[1] == .waitingForSIPI)
        #expect(s.apply(.startup(cpu: 1, vector: 9)) == 9)
        #expect(s.states[1] == .runnable)
    }
}
