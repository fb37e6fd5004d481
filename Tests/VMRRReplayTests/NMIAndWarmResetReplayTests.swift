import Testing
import VMRRBase
import VMRRJournal
import VMRRReplay
import VMRRTestSupport

/// A replay applies a recording's warm reset and NMIs at the same events,
/// after checking the registers there (and, for the reset, the vector in memory).
@Suite struct NMIAndWarmResetReplayTests {
    static let out = Event.io(port: TestLayout.thr, size: 1, direction: .write, value: 0x41)
    static let vector = WarmResetVector(segment: 0x80E, offset: 0xC)

    /// OUT, warm_reset, OUT, nmi, OUT, as the recorder writes them: the
    /// reset and the NMI carry the registers of the exit before them.
    static let steps: [Step] = [
        Step(event: out, regs: regs(1)),
        Step(event: .warmReset(segment: vector.segment, offset: vector.offset), regs: regs(1)),
        Step(event: out, regs: regs(2)),
        Step(event: .nmi, regs: regs(2)),
        Step(event: out, regs: regs(3)),
    ]

    func write(_ r: Replayer, _ i: Int) throws {
        _ = try r.respond(to: .portWrite(port: TestLayout.thr, size: 1, value: 0x41), regs: regs(i))
    }

    @Test func theRecordedResetAndNMIAreAppliedWhereTheyWere() throws {
        let r = newReplayer(try makeJournal(Self.steps))
        #expect(try r.warmResetBeforeRun(regs: regs(0), vectorInMemory: { Issue.record("read before the reset"); return Self.vector }) == nil)
        try write(r, 1)
        #expect(try r.warmResetBeforeRun(regs: regs(1), vectorInMemory: { Self.vector }) == Self.vector)
        #expect(try !r.nmiBeforeRun(regs: regs(1)))
        try write(r, 2)
        #expect(try r.warmResetBeforeRun(regs: regs(2), vectorInMemory: { Self.vector }) == nil)
        #expect(try r.nmiBeforeRun(regs: regs(2)))
        #expect(try r.interruptBeforeRun(regs: regs(2), ready: true) == nil)
        try write(r, 3)
        #expect(r.divergence == nil)
        #expect(r.next == 5)
    }

    @Test func anotherVectorInMemoryDiverges() throws {
        let r = newReplayer(try makeJournal(Self.steps))
        try write(r, 1)
        let moved = WarmResetVector(segment: 0x80E, offset: 0xD)
        #expect(try r.warmResetBeforeRun(regs: regs(1), vectorInMemory: { moved }) == nil)
        let d = try #require(r.divergence)
        #expect(d.index == 1)
        #expect(d.reason == .differentWarmResetVector(recorded: Self.vector, now: moved))
        #expect(d.reason.description == "the warm-reset vector at 0x467 is 0x080e:0x000d, but the recording jumped to 0x080e:0x000c")
    }

    @Test func otherRegistersAtTheResetOrTheNMIDiverge() throws {
        let reset = newReplayer(try makeJournal(Self.steps))
        try write(reset, 1)
        var other = regs(1)
        other.rax &+= 1
        #expect(try reset.warmResetBeforeRun(regs: other, vectorInMemory: { Self.vector }) == nil)
        #expect(reset.divergence?.reason == .registersDifferAtWarmReset)
        #expect(reset.divergence?.differingRegisters == ["rax"])

        let nmi = newReplayer(try makeJournal(Self.steps))
        try write(nmi, 1)
        _ = try nmi.warmResetBeforeRun(regs: regs(1), vectorInMemory: { Self.vector })
        try write(nmi, 2)
        var moved = regs(2)
        moved.rip &+= 1
        #expect(try !nmi.nmiBeforeRun(regs: moved))
        #expect(nmi.divergence?.index == 3)
        #expect(nmi.divergence?.reason == .registersDifferAtNMI)
    }

    /// A guest that exits where the recording injected its NMI runs a different path.
    @Test func anExitWhereTheRecordingInjectedAnNMIDiverges() throws {
        let r = newReplayer(try makeJournal(Self.steps))
        try write(r, 1)
        _ = try r.warmResetBeforeRun(regs: regs(1), vectorInMemory: { Self.vector })
        try write(r, 2)
        try write(r, 3)
        #expect(r.divergence?.index == 3)
        #expect(r.divergence?.reason == .differentKind)
    }
}

/// Reaching a `preempt` record (docs/SMP.md): the first breakpoint hit whose
/// registers and then dirty-page digest match is the recorded stop; an exit
/// before it is a divergence that names the point.
@Suite struct PreemptionReplayTests {
    static let out = Event.io(port: TestLayout.thr, size: 1, direction: .write, value: 0x41)
    static let digest: UInt64 = 0x1234_5678_9abc_def0
    static let steps: [Step] = [
        Step(event: out, regs: regs(1)),
        Step(event: .preempt(digest: digest), regs: regs(2)),
        Step(event: out, regs: regs(3)),
    ]

    @Test func theFirstHitWithTheRecordedRegistersAndDigestIsTheStop() throws {
        let r = newReplayer(try makeJournal(Self.steps))
        #expect(try r.preemptionPoint() == nil, "the next event is an exit")
        _ = try r.respond(to: .portWrite(port: TestLayout.thr, size: 1, value: 0x41), regs: regs(1))
        #expect(try r.preemptionPoint() == regs(2).rip)
        var other = regs(2)
        other.rcx &+= 1
        var digestAsked = 0
        #expect(try !r.reachedPreemption(regs: other, digest: { digestAsked += 1; return Self.digest }))
        #expect(digestAsked == 0, "the digest is computed only when the registers match")
        #expect(try !r.reachedPreemption(regs: regs(2), digest: { Self.digest ^ 1 }), "another loop iteration: memory differs")
        #expect(r.divergence == nil && r.next == 1)
        #expect(try r.reachedPreemption(regs: regs(2), digest: { Self.digest }))
        #expect(r.next == 2 && r.divergence == nil)
        // What `vmrr bench` reports: three checks at the point, two with the recorded registers, one reached.
        #expect(r.preemptionCost.hits == 3 && r.preemptionCost.digests == 2 && r.preemptionCost.reached == 1)
        #expect(r.preemptionCost.stepsOver == 2)
        #expect(try r.preemptionPoint() == nil)
        _ = try r.respond(to: .portWrite(port: TestLayout.thr, size: 1, value: 0x41), regs: regs(3))
        #expect(r.divergence == nil)
    }

    @Test func anExitBeforeThePointIsADivergenceNamingIt() throws {
        let r = newReplayer(try makeJournal(Self.steps))
        _ = try r.respond(to: .portWrite(port: TestLayout.thr, size: 1, value: 0x41), regs: regs(1))
        _ = try r.respond(to: .portWrite(port: TestLayout.thr, size: 1, value: 0x41), regs: regs(3))
        let d = try #require(r.divergence)
        #expect(d.index == 1)
        #expect(d.reason == .preemptionNotReached(rip: regs(2).rip))
        #expect(d.reason.description == "the vCPU exited before it reached the recorded preemption point at rip \(hex(regs(2).rip))")
    }

    /// Memory the digest covers that differs (in Linux, entropy from RDTSC
    /// that the kernel's RNG keeps in memory) shows as hits with the recorded
    /// registers and never the digest: the report says so.
    @Test func anExitAfterHitsWithTheRegistersButNotTheDigestSaysMemoryDiffers() throws {
        let r = newReplayer(try makeJournal(Self.steps))
        _ = try r.respond(to: .portWrite(port: TestLayout.thr, size: 1, value: 0x41), regs: regs(1))
        var other = regs(2)
        other.rcx &+= 1
        #expect(try !r.reachedPreemption(regs: other, digest: { Self.digest }))
        #expect(try !r.reachedPreemption(regs: regs(2), digest: { Self.digest ^ 1 }))
        #expect(try !r.reachedPreemption(regs: regs(2), digest: { Self.digest ^ 2 }))
        _ = try r.respond(to: .portWrite(port: TestLayout.thr, size: 1, value: 0x41), regs: regs(3))
        let d = try #require(r.divergence)
        #expect(d.index == 1)
        #expect(d.reason == .preemptionNotReached(rip: regs(2).rip, hits: 3, matchedRegisters: 2))
        #expect(d.reason.description == "the vCPU exited before it reached the recorded preemption point at rip \(hex(regs(2).rip)) "
                + "(it was there with the recorded registers 2 of 3 times, but with another dirty-page digest: "
                + "memory written since the last checkpoint differs from the recording's)")
    }
}
