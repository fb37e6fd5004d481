import Testing
import VMRRBase
import VMRRJournal
@testable import VMRRMachine
@testable import VMRRReplay

/// What `vmrr replay` exits with: one meaning per status. No KVM.
@Suite struct ReplayResultTests {
    func result(end: RunEnd, guestEnded: Bool = true) -> ReplayResult {
        ReplayResult(end: end, divergence: nil, digestMismatch: nil, guestEnd: guestEnded ? end : nil, interrupted: false,
                     foreignImage: nil, startEvent: 0, matched: 10, lastEvent: 9, warnings: [], verifiedDigest: false,
                     wallNanoseconds: 1)
    }

    func difference(_ why: Divergence.Reason) -> Divergence {
        Divergence(index: 4, expected: nil, actual: "checkpoint 1", actualRegisters: GPRegisters(), reason: why,
                   lastMatched: nil)
    }

    @Test func anIdenticalReplayExitsZeroWhateverTheGuestsStatus() {
        for status: Int32 in [0, 1, 3, 130, 132] {
            let r = result(end: RunEnd(reason: .debugExit, status: status))
            #expect(r.exitStatus(passThroughGuestStatus: false) == ExitStatus.replayedIdentically)
            #expect(r.exitStatus(passThroughGuestStatus: true) == status, "--exit-with-guest-status passes \(status) on")
        }
    }

    @Test func untilExitsZeroEvenWhenPassingTheGuestsStatusOn() {
        let r = result(end: RunEnd(reason: .limit, status: 0, message: "stopped after event 5 (--until)"), guestEnded: false)
        #expect(r.exitStatus(passThroughGuestStatus: true) == 0)
    }

    @Test func aDivergenceIsThreeAndWinsOverEverythingElse() {
        var r = result(end: RunEnd(reason: .error, status: ExitStatus.divergence), guestEnded: false)
        r.divergence = difference(.registersDiffer)
        r.digestMismatch = difference(.memoryDigestDiffers(recorded: 1, replayed: 2))
        #expect(r.exitStatus(passThroughGuestStatus: false) == ExitStatus.divergence)
        #expect(r.exitStatus(passThroughGuestStatus: true) == ExitStatus.divergence)
    }

    @Test func onlyADigestThatDiffersIsFour() throws {
        var r = result(end: RunEnd(reason: .debugExit, status: 3))
        r.digestMismatch = difference(.memoryDigestDiffers(recorded: 1, replayed: 2))
        #expect(ExitStatus.verifyDigestOnly == 4)
        #expect(r.exitStatus(passThroughGuestStatus: false) == ExitStatus.verifyDigestOnly)
        #expect(r.exitStatus(passThroughGuestStatus: true) == ExitStatus.verifyDigestOnly)
        #expect(r.digestMismatchCause == nil, "the recorded image explains nothing")
        r.foreignImage = "build/new.elf"
        let cause = try #require(r.digestMismatchCause)
        #expect(cause.contains("build/new.elf") && cause.contains("part of guest memory"))
    }

    @Test func anInterruptedReplayKeepsItsStatus() {
        var r = result(end: RunEnd(reason: .interrupted, status: ExitStatus.replayInterrupted), guestEnded: false)
        r.interrupted = true
        #expect(r.exitStatus(passThroughGuestStatus: false) == ExitStatus.replayInterrupted)
        #expect(r.exitStatus(passThroughGuestStatus: true) == ExitStatus.replayInterrupted)
    }

    @Test func theStatusesAreDistinct() {
        let statuses = [ExitStatus.replayedIdentically, ExitStatus.unusableInput, ExitStatus.divergence,
                        ExitStatus.verifyDigestOnly, ExitStatus.replayInterrupted]
        #expect(Set(statuses).count == statuses.count)
    }
}
