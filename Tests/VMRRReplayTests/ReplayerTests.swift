import Foundation
import Testing
import VMRRJournal
@testable import VMRRReplay
import VMRRBase

/// A recording with one of every kind of exit, two checkpoints and an
/// injection: what a replay of the fixture guests sees, without KVM.
let recording: [Event] = [
    .checkpoint(id: 0),                                                         // 0  boot checkpoint
    .io(port: TestLayout.lsr, size: 1, direction: .read, value: 0x60),           // 1  LSR poll
    .io(port: TestLayout.thr, size: 1, direction: .write, value: 0x48),          // 2  'H'
    .io(port: TestLayout.thr, size: 1, direction: .write, value: 0x69),          // 3  'i'
    .io(port: 0x80, size: 1, direction: .write, value: 0x12),                    // 4  not the console
    .input(port: TestLayout.thr, byte: 0x41),                                    // 5
    .clock(ns: 123_456_789),                                                     // 6
    .timer(deadline: 200_000_000),                                               // 7
    .mmio(gpa: TestLayout.device, size: 4, direction: .read, value: 0xdead_beef), // 8
    .mmio(gpa: TestLayout.device + 4, size: 2, direction: .write, value: 0x55aa), // 9
    .stage2Fault(gpa: TestLayout.unbacked, size: 8, direction: .read, value: UInt64.max), // 10
    .stage2Fault(gpa: TestLayout.unbacked + 8, size: 1, direction: .write, value: 7),     // 11
    .hlt,                                                                        // 12
    .interrupt(vector: 0x20),                                                    // 13
    .pageFault(gva: 0x40_0000, errorCode: 2, cr3: 0x9000, faultingRIP: 0x10_0040), // 14
    .checkpoint(id: 1),                                                          // 15
    .io(port: TestLayout.thr, size: 1, direction: .write, value: 0x0a),          // 16 '\n'
    .io(port: TestLayout.lsr, size: 4, direction: .read, value: 0x1234_5678),    // 17
    .end(reason: .debugExit, status: 7),                                         // 18
]

/// The exits before event `index` (exclusive), as the recorded guest makes them.
func exits(before index: Int, of s: [Step]) -> [(Access, GPRegisters)] {
    exits(of: Array(s.prefix(index)))
}

@Suite struct ReplayerTests {
    let steps = VMRRReplayTests.steps(recording)

    // MARK: replaying identically

    @Test func identicalExecutionReplaysToTheRecordedEnd() throws {
        let j = try makeJournal(steps)
        let r = newReplayer(j)
        var console: [UInt8] = []
        r.consoleOutput = { console.append($0) }
        let run = try drive(r, exits: exits(of: steps))
        #expect(r.divergence == nil)
        #expect(r.end == RunEnd(reason: .debugExit, status: 7, message: nil))
        #expect(run.exitsPresented == 15)
        #expect(run.injected == [0x20])
        #expect(run.checkpoints == 2)
        #expect(r.matched == 18)
        #expect(r.next == 18)
        #expect(r.lastMatched?.index == 18)
        #expect(console == Array("Hi\n".utf8))
    }

    @Test func readsAreAnsweredFromTheJournal() throws {
        let j = try makeJournal(steps)
        let run = try drive(newReplayer(j), exits: exits(of: steps))
        // One value per exit, in order: reads get the recorded data, writes 0.
        #expect(run.values == [
            0x60,            // io in
            0, 0, 0,         // io out
            0x41,            // input byte
            123_456_789,     // clock ns
            0,               // timer write
            0xdead_beef,     // mmio read
            0,               // mmio write
            UInt64.max,      // stage2 read: all ones
            0,               // stage2 write
            0,               // hlt
            0,               // page fault
            0,               // io out
            0x1234_5678,     // io in, size 4
        ])
    }

    @Test func consoleBytesAreOnlyTheTHRWrites() throws {
        let events: [Event] = [
            .io(port: TestLayout.thr + 1, size: 1, direction: .write, value: 0x01),  // IER
            .io(port: TestLayout.thr, size: 1, direction: .write, value: 0x4f),
            .io(port: TestLayout.thr, size: 1, direction: .read, value: 0x50),       // a read of the THR port is no output
            .mmio(gpa: UInt64(TestLayout.thr), size: 1, direction: .write, value: 0x51), // nor is MMIO at that number
            .io(port: TestLayout.thr, size: 1, direction: .write, value: 0x4b),
            .end(reason: .debugExit, status: 0),
        ]
        let s = VMRRReplayTests.steps(events)
        let r = newReplayer(try makeJournal(s))
        var console: [UInt8] = []
        r.consoleOutput = { console.append($0) }
        try drive(r, exits: exits(of: s))
        #expect(r.end?.reason == .debugExit)
        #expect(console == Array("OK".utf8))
    }

    @Test func startingAfterACheckpointReplaysTheRest() throws {
        let j = try makeJournal(steps)
        let r = newReplayer(j, start: 16)
        let run = try drive(r, exits: exits(of: Array(steps[16...])), startRegs: steps[15].regs)
        #expect(r.divergence == nil)
        #expect(r.end == RunEnd(reason: .debugExit, status: 7, message: nil))
        #expect(run.values == [0, 0x1234_5678])
        #expect(r.matched == 2)
    }

    @Test func kvmErrorsReplayAndEndWithTheRecordedStatus() throws {
        let events: [Event] = [
            .io(port: TestLayout.thr, size: 1, direction: .write, value: 0x21),
            .error(reason: 17, suberror: 1, data: [0x0f, 0x0b]),
            .end(reason: .error, status: 4),
        ]
        let s = VMRRReplayTests.steps(events)
        let same = newReplayer(try makeJournal(s))
        try drive(same, exits: exits(of: s))
        #expect(same.divergence == nil)
        #expect(same.end == RunEnd(reason: .error, status: 4, message: nil))

        let other = newReplayer(try makeJournal(s))
        let wrong = Access.kvmError(reason: 17, suberror: 1, data: [0xcc], description: "int3")
        try drive(other, exits: [exits(of: s)[0], (wrong, s[1].regs)])
        #expect(other.divergence?.index == 1)
        #expect(other.divergence?.reason == .differentKVMError)
    }

    // MARK: divergences

    /// Replays the recording up to event `index`, then presents `wrong` there.
    func diverge(at index: Int, with wrong: Access, regs wrongRegs: GPRegisters? = nil,
                 configure: (Replayer) -> Void = { _ in }) throws -> (Replayer, Divergence) {
        let r = newReplayer(try makeJournal(steps))
        configure(r)
        try drive(r, exits: exits(before: index, of: steps) + [(wrong, wrongRegs ?? steps[index].regs)])
        let d = try #require(r.divergence, "no divergence at \(index)")
        #expect(r.end == RunEnd(reason: .error, status: ExitStatus.divergence, message: "replay diverged at event \(d.index)"))
        return (r, d)
    }

    @Test func aDifferentValueWrittenDivergesWithAFullReport() throws {
        let (r, d) = try diverge(at: 2, with: .portWrite(port: TestLayout.thr, size: 1, value: 0x49))
        #expect(d.index == 2)
        #expect(d.reason == .differentValue(recorded: 0x48, now: 0x49))
        #expect(d.differingRegisters.isEmpty)
        #expect(d.lastMatched?.index == 1)
        #expect(r.matched == 2)
        let e = try r.journal.event(at: 2), last = try r.journal.event(at: 1)
        #expect(d.render(journalName: "t.vmrr") == """
            vmrr: t.vmrr: replay diverged at event 2: different value written (recorded 0x48, now 0x49)
              expected: \(EventFormat.text(e))
              actual:   rip=0x\(hex16s(steps[2].regs.rip))  io out port=0x3f8 size=1 value=0x49
              registers: all 18 general registers match
              last matching event: \(EventFormat.text(last))
            """)
    }

    @Test func differentRegistersAreNamedWithBothValues() throws {
        var wrong = steps[3].regs
        wrong.rax &+= 1
        wrong.r15 = 0
        let (_, d) = try diverge(at: 3, with: .portWrite(port: TestLayout.thr, size: 1, value: 0x69), regs: wrong)
        #expect(d.index == 3)
        #expect(d.reason == .registersDiffer)
        #expect(d.differingRegisters == ["rax", "r15"])
        let text = d.render(journalName: "t.vmrr")
        let want = steps[3].regs
        #expect(text.contains("replay diverged at event 3: registers differ"))
        #expect(text.contains("registers that differ (2 of 18):"))
        #expect(text.contains("    rax    expected 0x\(hex16s(want.rax))  actual 0x\(hex16s(wrong.rax))"))
        #expect(text.contains("    r15    expected 0x\(hex16s(want.r15))  actual 0x0000000000000000"))
        #expect(!text.contains("    rip "))
        #expect(text.contains("last matching event: #      2"))
        #expect(text.contains("actual:   rip=0x\(hex16s(wrong.rip))  io out port=0x3f8"))
    }

    @Test(arguments: [
        // (event index, what the guest does instead, the reason)
        (2, Access.portWrite(port: 0x2f8, size: 1, value: 0x48), "different port written"),
        (2, Access.portWrite(port: TestLayout.thr, size: 2, value: 0x48), "different port written"),
        (2, Access.halt(interruptsEnabled: true), "a different kind of exit"),
        (2, Access.portRead(port: TestLayout.thr, size: 1), "a different kind of exit"),
        (1, Access.portRead(port: 0x3fe, size: 1), "different port read"),
        (5, Access.portRead(port: 0x2f8, size: 1), "different port read"),
        (6, Access.mmioRead(gpa: TestLayout.device, size: 8), "different address read (the recording read the clock)"),
        (7, Access.mmioWrite(gpa: TestLayout.timer, size: 8, value: 1), "different timer deadline (recorded 200000000, now 1)"),
        (8, Access.mmioRead(gpa: TestLayout.device + 8, size: 4), "different address read"),
        (8, Access.mmioWrite(gpa: TestLayout.device, size: 4, value: 0), "a different kind of exit"),
        (9, Access.mmioWrite(gpa: TestLayout.device + 4, size: 2, value: 0x55ab), "different value written (recorded 0x55aa, now 0x55ab)"),
        (10, Access.mmioRead(gpa: TestLayout.unbacked, size: 4), "different address read"),
        (11, Access.mmioWrite(gpa: TestLayout.unbacked + 16, size: 1, value: 7), "different address written"),
        (12, Access.shutdown, "a different kind of exit"),
        (14, Access.pageFault(.pageFault(gva: 0x40_0000, errorCode: 3, cr3: 0x9000, faultingRIP: 0x10_0040)), "different page fault"),
        (16, Access.kvmError(reason: 17, suberror: 1, data: [], description: "x"), "a different kind of exit"),
    ] as [(Int, Access, String)])
    func aDifferentExitDivergesAtItsEvent(index: Int, wrong: Access, reason: String) throws {
        let (r, d) = try diverge(at: index, with: wrong)
        #expect(d.index == UInt64(index))
        #expect(d.reason.description == reason)
        #expect(d.expected == (try r.journal.event(at: UInt64(index))))
        #expect(d.actual == Replayer.describe(wrong))
        #expect(d.differingRegisters.isEmpty)
        let text = d.render(journalName: "t.vmrr")
        #expect(text.hasPrefix("vmrr: t.vmrr: replay diverged at event \(index): \(reason)\n"))
        #expect(text.contains("  expected: \(EventFormat.text(try r.journal.event(at: UInt64(index))))\n"))
        #expect(text.contains("  actual:   rip=0x\(hex16s(steps[index].regs.rip))  \(Replayer.describe(wrong))\n"))
        #expect(text.contains("  last matching event: \(EventFormat.text(try #require(d.lastMatched)))"))
        #expect(d.lastMatched?.index == UInt64(index - 1))
        #expect(text.split(separator: "\n").count == 5)
    }

    @Test func theReplayStopsAtTheFirstDivergence() throws {
        let (r, d) = try diverge(at: 4, with: .portWrite(port: 0x81, size: 1, value: 0x12))
        // Whatever the run loop does next changes nothing.
        #expect(try r.respond(to: .portWrite(port: 0x80, size: 1, value: 0x12), regs: steps[4].regs) == 0)
        #expect(try r.interruptBeforeRun(regs: steps[4].regs, ready: true) == nil)
        #expect(!r.wantsCheckpoint)
        #expect(r.divergence == d)
        #expect(r.next == 4)
    }

    @Test func whenTheFirstEventAlreadyDiffersThereIsNoLastMatch() throws {
        var wrong = steps[0].regs
        wrong.rip = 0xbad
        let r = newReplayer(try makeJournal(steps))
        let m = FakeMachine()
        m.state.regs = wrong
        #expect(r.wantsCheckpoint)
        try r.checkpoint(state: m, regs: wrong)
        let d = try #require(r.divergence)
        #expect(d.index == 0)
        #expect(d.reason == .registersDifferAtCheckpoint)
        #expect(d.actual == "checkpoint 0")
        #expect(d.differingRegisters == ["rip"])
        #expect(d.render(journalName: "t").hasSuffix("  last matching event: none (the first event already differs)"))
    }

    @Test func symbolsAppearInTheReport() throws {
        let (_, d) = try diverge(at: 3, with: .portWrite(port: TestLayout.thr, size: 1, value: 0x70)) { r in
            r.symbolize = { "main+0x\(String($0 - 0x10_0000, radix: 16))" }
        }
        let text = d.render(journalName: "t.vmrr")
        #expect(text.contains("  (main+0x\(String(steps[3].regs.rip - 0x10_0000, radix: 16)))\n"))
        #expect(text.contains("value=0x70  (main+0x"))
        #expect(text.hasSuffix("(main+0x\(String(steps[2].regs.rip - 0x10_0000, radix: 16)))"))
    }

    // MARK: interrupts

    @Test func injectionPointsAreHonoured() throws {
        let r = newReplayer(try makeJournal(steps))
        try drive(r, exits: exits(before: 13, of: steps))
        #expect(r.next == 13)
        #expect(try r.interruptBeforeRun(regs: steps[13].regs, ready: true) == 0x20)
        #expect(r.next == 14)
        #expect(r.lastMatched?.event == .interrupt(vector: 0x20))
        // Not ready: the recording injected here, so this is a divergence.
        let notReady = newReplayer(try makeJournal(steps))
        try drive(notReady, exits: exits(of: steps), ready: false)
        let d = try #require(notReady.divergence)
        #expect(d.index == 13)
        #expect(d.reason == .interruptNotAccepted(vector: 0x20))
        #expect(d.actual == "interrupt injection point")
        #expect(d.differingRegisters.isEmpty)
    }

    @Test func injectionAtDifferentRegistersDiverges() throws {
        let r = newReplayer(try makeJournal(steps))
        try drive(r, exits: exits(before: 13, of: steps))
        #expect(r.end == nil)
        var moved = steps[13].regs
        moved.rip &+= 2
        #expect(try r.interruptBeforeRun(regs: moved, ready: true) == nil)
        let d = try #require(r.divergence)
        #expect(d.index == 13)
        #expect(d.reason == .registersDifferAtInjection(vector: 0x20))
        #expect(d.differingRegisters == ["rip"])
        #expect(d.render(journalName: "t").contains("    rip    expected 0x\(hex16s(steps[13].regs.rip))  actual 0x\(hex16s(moved.rip))"))
    }

    @Test func noInjectionWhereTheRecordingHadNone() throws {
        let r = newReplayer(try makeJournal(steps))
        try drive(r, exits: exits(before: 5, of: steps))
        #expect(try r.interruptBeforeRun(regs: steps[4].regs, ready: true) == nil)
        #expect(r.next == 5)
        #expect(r.divergence == nil)
        // An exit where the recording injected first is a different kind of exit.
        let late = newReplayer(try makeJournal(steps))
        try drive(late, exits: exits(before: 13, of: steps))
        _ = try late.respond(to: .pageFault(steps[14].event), regs: steps[14].regs)
        #expect(late.divergence?.index == 13)
        #expect(late.divergence?.reason == .differentKind)
    }

    // MARK: checkpoints

    /// Replays up to the checkpoint event 15 without taking it.
    func replayerAtCheckpoint1(_ m: FakeMachine) throws -> Replayer {
        let r = newReplayer(try makeJournal(steps))
        try drive(r, exits: exits(before: 14, of: steps), machine: m)
        #expect(try r.interruptBeforeRun(regs: steps[13].regs, ready: true) == 0x20)
        #expect(try r.respond(to: .pageFault(steps[14].event), regs: steps[14].regs) == 0)
        #expect(r.next == 15)
        return r
    }

    @Test func checkpointsAreMatchedAtTheirEvents() throws {
        let m = FakeMachine()
        let r = try replayerAtCheckpoint1(m)
        #expect(r.wantsCheckpoint)
        #expect(m.captureCalls == 1)   // the boot checkpoint
        m.state.regs = steps[15].regs
        try r.checkpoint(state: m, regs: steps[15].regs)
        #expect(r.next == 16)
        #expect(!r.wantsCheckpoint)
        #expect(r.divergence == nil)
        #expect(m.captureCalls == 2)
        // Asked for a checkpoint where the journal has none, it does nothing.
        try r.checkpoint(state: m, regs: steps[15].regs)
        #expect(r.next == 16 && m.captureCalls == 2)
    }

    @Test func checkpointWithDifferentRegistersDiverges() throws {
        let m = FakeMachine()
        let r = try replayerAtCheckpoint1(m)
        m.state.regs = steps[15].regs
        m.state.regs.rbx = 0x1234
        try r.checkpoint(state: m, regs: steps[15].regs)
        let d = try #require(r.divergence)
        #expect(d.index == 15)
        #expect(d.reason == .registersDifferAtCheckpoint)
        #expect(d.differingRegisters == ["rbx"])
        #expect(d.actual == "checkpoint 1")
        #expect(d.lastMatched?.index == 14)
    }

    @Test func memoryDigestsAreCheckedWhenAsked() throws {
        func run(verify: Bool, digest: UInt64) throws -> (Replayer, FakeMachine) {
            let r = newReplayer(try makeJournal(steps, digests: [1: 0xfeed]))
            r.verifyMemory = verify
            let m = FakeMachine()
            m.digest = digest
            try drive(r, exits: exits(of: steps), machine: m)
            return (r, m)
        }
        let (good, gm) = try run(verify: true, digest: 0xfeed)
        #expect(good.divergence == nil && good.verifiedDigest)
        #expect(gm.dirtyCalls == 1)
        #expect(good.end?.reason == .debugExit)

        // A digest that differs is reported, but the replay goes on: the
        // events and registers after it still tell whether execution changed.
        let (bad, _) = try run(verify: true, digest: 0xbad)
        #expect(bad.divergence == nil)
        let d = try #require(bad.digestMismatch)
        #expect(d.index == 15)
        #expect(d.reason == .memoryDigestDiffers(recorded: 0xfeed, replayed: 0xbad))
        #expect(d.lastMatched?.index == 14)
        #expect(!bad.verifiedDigest)
        #expect(bad.end?.reason == .debugExit && bad.reachedEndRecord)

        let (unchecked, um) = try run(verify: false, digest: 0xbad)
        #expect(unchecked.divergence == nil && unchecked.digestMismatch == nil && !unchecked.verifiedDigest && um.dirtyCalls == 0)
    }

    // MARK: ends

    @Test func untilStopsAfterTheGivenEvent() throws {
        let r = newReplayer(try makeJournal(steps))
        r.until = 4
        var console: [UInt8] = []
        r.consoleOutput = { console.append($0) }
        let run = try drive(r, exits: exits(of: steps))
        #expect(r.end == RunEnd(reason: .limit, status: 0, message: "stopped after event 4 (--until)"))
        #expect(r.divergence == nil)
        #expect(run.exitsPresented == 4)
        #expect(r.next == 5)
        #expect(console == Array("Hi".utf8))
    }

    @Test func aJournalWithoutAnEndRecordEndsCleanlyWhereItStops() throws {
        let cut = Array(steps.prefix(12))   // events 0 to 11, no end record
        let r = newReplayer(try makeJournal(cut))
        let run = try drive(r, exits: exits(of: steps))
        let end = try #require(r.end)
        #expect(end.reason == .limit && end.status == 0)
        #expect(end.message?.contains("cut short") == true)
        #expect(end.message?.contains("ends after event 11") == true)
        #expect(r.divergence == nil)
        #expect(run.exitsPresented == 11)
    }

    @Test func aJournalCutInsideAChunkReplaysWhatIsReadable() throws {
        // Unfinished (no index), and the last events chunk loses its tail.
        let j = try makeJournal(steps, finish: false) { Array($0.dropLast(3)) }
        #expect(j.truncationNote != nil)
        #expect(j.eventCount == 16)   // events 0 to 15: the chunk after checkpoint 1 is gone
        let r = newReplayer(j)
        try drive(r, exits: exits(of: steps))
        #expect(r.divergence == nil)
        #expect(r.end?.status == 0)
        #expect(r.end?.message?.contains("cut short") == true)
        #expect(r.end?.message?.contains("after event 15") == true)
    }

    @Test func anInterruptedRunEndsWithStatus130() throws {
        let r = newReplayer(try makeJournal(steps))
        try drive(r, exits: exits(before: 3, of: steps))
        _ = try r.respond(to: .interrupted, regs: steps[2].regs)
        #expect(r.end == RunEnd(reason: .interrupted, status: 130, message: "replay interrupted at event 3"))
        #expect(r.divergence == nil)
    }

    @Test func anEmptyJournalEndsAtOnce() throws {
        let r = newReplayer(try makeJournal([]))
        #expect(r.end?.status == 0)
        #expect(r.end?.message?.contains("cut short") == true)
        #expect(!r.wantsCheckpoint)
        #expect(try r.respond(to: .halt(interruptsEnabled: false), regs: GPRegisters()) == 0)
        #expect(r.divergence == nil)
    }
}
