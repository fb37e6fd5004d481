import Testing
import VMRRJournal
import VMRRReplay

/// A replayer is made from a configuration value, at any start event, as
/// often as a timeline seeks: every copy behaves the same.
@Suite struct ReplayConfigurationTests {
    @Test func aReplayerTakesEveryFieldOfItsConfiguration() throws {
        let j = try makeJournal(steps([.hlt, .end(reason: .debugExit, status: 0)]))
        let c = ReplayConfiguration(consolePort: TestLayout.thr, clockAddress: TestLayout.clock, timerAddress: TestLayout.timer,
                                    symbolize: { "sym+\($0)" }, verifyMemory: true)
        let r = c.makeReplayer(journal: j, start: 1)
        #expect(r.next == 1)
        #expect(r.consolePort == TestLayout.thr && r.clockAddress == TestLayout.clock && r.timerAddress == TestLayout.timer)
        #expect(r.verifyMemory)
        #expect(r.symbolize?(5) == "sym+5")
    }

    @Test func replayersMadeAtDifferentStartsReplayTheSameEvents() throws {
        let s = steps(recording)
        let j = try makeJournal(s)
        let c = ReplayConfiguration(consolePort: TestLayout.thr, clockAddress: TestLayout.clock)
        let fromStart = c.makeReplayer(journal: j, start: 0)
        try drive(fromStart, exits: exits(of: s))
        let fromCheckpoint = c.makeReplayer(journal: j, start: 16)
        try drive(fromCheckpoint, exits: exits(of: Array(s[16...])), startRegs: s[15].regs)
        #expect(fromStart.divergence == nil && fromCheckpoint.divergence == nil)
        #expect(fromStart.end == fromCheckpoint.end)
        #expect(fromCheckpoint.matched == 2)
    }
}
