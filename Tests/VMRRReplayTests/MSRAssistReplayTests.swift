import Foundation
import Testing
import VMRRJournal
@testable import VMRRReplay
import VMRRBase

/// Format-2 events without KVM: MSR answers and assists come back from the
/// journal, and anything else the guest does there is a divergence.
@Suite struct MSRAssistReplayTests {
    static let events: [Event] = [
        .msr(index: 0x1b, direction: .read, value: 0xfee0_0900, fault: false),  // 0
        .msr(index: 0x802, direction: .read, value: 0, fault: true),            // 1
        .msr(index: 0x1b, direction: .write, value: 0xfee0_0d00, fault: false), // 2
        .assist(action: .breakpoint, length: 1),                                // 3
        .assist(action: .setAC, length: 3),                                     // 4
        .end(reason: .debugExit, status: 0),                                    // 5
    ]
    static let int3: [UInt8] = [AssistAction.Opcode.int3]
    static let stac: [UInt8] = [AssistAction.Opcode.twoByteEscape, AssistAction.Opcode.group7, AssistAction.Opcode.stacModRM]

    @Test func answersAndAssistsComeFromTheJournal() throws {
        let s = steps(Self.events)
        let r = newReplayer(try makeJournal(s))
        #expect(try r.respondToMSR(MSRAccess(index: 0x1b, direction: .read, value: 0), regs: s[0].regs) == MSRAnswer(value: 0xfee0_0900, fault: false))
        #expect(try r.respondToMSR(MSRAccess(index: 0x802, direction: .read, value: 0), regs: s[1].regs) == MSRAnswer(value: 0, fault: true))
        #expect(try r.respondToMSR(MSRAccess(index: 0x1b, direction: .write, value: 0xfee0_0d00), regs: s[2].regs).fault == false)
        let a = try #require(try r.assist(AssistRequest(bytes: Self.int3 + [0x90, 0x90]), regs: s[3].regs))
        #expect(a.action == .breakpoint && a.length == 1)
        let b = try #require(try r.assist(AssistRequest(bytes: Self.stac), regs: s[4].regs))
        #expect(b.action == .setAC && b.length == 3)
        #expect(r.divergence == nil)
        #expect(r.end == RunEnd(reason: .debugExit, status: 0, message: nil))
    }

    @Test func aDifferentMSRIsADivergence() throws {
        let s = steps(Self.events)
        let r = newReplayer(try makeJournal(s))
        _ = try r.respondToMSR(MSRAccess(index: 0x1c, direction: .read, value: 0), regs: s[0].regs)
        let d = try #require(r.divergence)
        #expect(d.index == 0 && d.reason == .differentMSR)
        #expect(r.end?.status == ExitStatus.divergence)
    }

    @Test func aDifferentValueWrittenIsADivergence() throws {
        let s = steps(Self.events)
        let r = newReplayer(try makeJournal(s))
        _ = try r.respondToMSR(MSRAccess(index: 0x1b, direction: .read, value: 0), regs: s[0].regs)
        _ = try r.respondToMSR(MSRAccess(index: 0x802, direction: .read, value: 0), regs: s[1].regs)
        _ = try r.respondToMSR(MSRAccess(index: 0x1b, direction: .write, value: 0xfee0_0900), regs: s[2].regs)
        let d = try #require(r.divergence)
        #expect(d.index == 2)
        #expect(d.reason == .differentMSRValue(index: 0x1b, recorded: 0xfee0_0d00, now: 0xfee0_0900))
    }

    @Test func aDifferentInstructionWhereTheRecordingAssistedIsADivergence() throws {
        let s = steps(Self.events)
        let r = newReplayer(try makeJournal(s), start: 3)
        #expect(try r.assist(AssistRequest(bytes: Self.stac), regs: s[3].regs) == nil)
        let d = try #require(r.divergence)
        #expect(d.index == 3 && d.reason == .differentAssist(now: .setAC, recorded: .breakpoint))
    }

    @Test func anMSRAccessOrAnAssistWhereTheRecordingHasAnotherExitIsADivergence() throws {
        let s = steps([.io(port: 0x80, size: 1, direction: .write, value: 1), .hlt, .end(reason: .debugExit, status: 0)])
        let r = newReplayer(try makeJournal(s))
        _ = try r.respondToMSR(MSRAccess(index: 0x1b, direction: .read, value: 0), regs: s[0].regs)
        #expect(r.divergence?.reason == .differentKind)
        #expect(r.divergence?.actual == "rdmsr msr=0x1b")
        #expect(r.mismatch(AssistRequest(bytes: Self.int3), .hlt) == .differentKind)
        #expect(r.mismatch(AssistRequest(bytes: [0x90]), .assist(action: .breakpoint, length: 1)) == .noAssistApplies)
        #expect(Replayer.describe(AssistRequest(bytes: Self.stac)) == "emulation failure, instruction bytes f 1 cb")
        #expect(Replayer.describe(MSRAccess(index: 0x1b, direction: .write, value: 0x900)) == "wrmsr msr=0x1b value=0x900")
    }

    @Test func noAssistIsOfferedWhereTheRecordingReportedTheFailure() throws {
        // A journal recorded without --assist holds an error event: the replay
        // does not assist, so the failure is reported and compared as recorded.
        let s = steps([.error(reason: 17, suberror: 1, data: Self.int3), .end(reason: .error, status: 131)])
        let r = newReplayer(try makeJournal(s))
        #expect(try r.assist(AssistRequest(bytes: Self.int3), regs: s[0].regs) == nil)
        #expect(r.divergence == nil && r.next == 0)
        _ = try r.respond(to: .kvmError(reason: 17, suberror: 1, data: Self.int3, description: "int3"), regs: s[0].regs)
        #expect(r.divergence == nil)
        #expect(r.end == RunEnd(reason: .error, status: 131, message: nil))
    }

    @Test func theDecoderKnowsExactlyFourInstructions() {
        #expect(AssistAction.decode([0xcc])! == (.breakpoint, 1))
        #expect(AssistAction.decode([0x9b, 0xdb, 0xe3])! == (.skip, 1))
        #expect(AssistAction.decode([0x0f, 0x01, 0xca])! == (.clearAC, 3))
        #expect(AssistAction.decode([0x0f, 0x01, 0xcb])! == (.setAC, 3))
        for other: [UInt8] in [[], [0xcd, 0x80], [0x0f, 0x01], [0x0f, 0x01, 0xc1], [0xdb, 0xe3], [0x0f, 0x0b]] {
            #expect(AssistAction.decode(other) == nil, "\(other)")
        }
    }
}
