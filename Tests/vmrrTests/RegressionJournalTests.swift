import Foundation
import Testing
import VMRRTestSupport
import VMRRBase
import VMRRJournal

/// One committed regression journal in fixtures/journals (see its README.md
/// and record-all.sh).
struct RegressionJournal: Sendable, CustomTestStringConvertible {
    /// fixtures/journals/NAME.vmrr, with the expected console in NAME.console.
    let name: String
    /// The fixture guest it was recorded from.
    let guest: String
    /// The guest's documented exit status for that recording.
    let status: Int32
    /// `--cpus` of the recording (docs/SMP.md).
    var vcpus = 1
    /// False for a format-3 journal written before checkpoints held every
    /// vCPU (smp4.vmrr, kept as such): it replays from the start only.
    var checkpointsHoldEveryVCPU = true
    var testDescription: String { name }

    static let all: [RegressionJournal] = [
        .init(name: "demo", guest: "demo", status: 0),
        .init(name: "paging", guest: "paging", status: 0),
        .init(name: "timer", guest: "timer", status: 0),
        .init(name: "echo", guest: "echo", status: 0),
        .init(name: "bug", guest: "bug", status: 0),
        .init(name: "exits", guest: "exits", status: 0),
        .init(name: "strict", guest: "exits", status: 132),
        .init(name: "multiboot", guest: "multiboot", status: 1),
        .init(name: "assist", guest: "assist", status: 0),
        .init(name: "noassist", guest: "assist", status: 131),
        .init(name: "pcdev", guest: "pcdev", status: 0),
        .init(name: "lockstep", guest: "lockstep", status: 0),
        .init(name: "tsc", guest: "tsc", status: 0),
        .init(name: "platform", guest: "platform", status: 1),
        .init(name: "spin", guest: "spin", status: 0),
        .init(name: "smp2", guest: "smp", status: 1, vcpus: 2),
        .init(name: "smp4", guest: "smp", status: 1, vcpus: 4, checkpointsHoldEveryVCPU: false),
        .init(name: "bench", guest: "bench", status: 0),
        .init(name: "hostile", guest: "hostile", status: 130),
    ]

    var journal: String { E2E.journalsDir.appendingPathComponent("\(name).vmrr").path }
    var console: String { E2E.journalsDir.appendingPathComponent("\(name).console").path }
}

extension KVMEndToEnd {
    @Test("committed regression journals replay identically against the committed guests",
          arguments: RegressionJournal.all)
    func regressionJournalReplays(_ j: RegressionJournal) throws {
        let expectedConsole = try FileIO.readText(j.console)
        let d = try E2E.dump(j.journal)
        E2E.checkShape(d, status: j.status)
        #expect(d.consoleText == expectedConsole, "\(j.name).console is not the journal's console output")
        // The header's image path is where it was recorded; name the committed ELF.
        try E2E.checkReplay(j.journal, status: j.status, console: expectedConsole,
                            extra: ["--image", Fixtures.guest(j.guest)])
    }

    /// (Not smp4.vmrr, whose checkpoints hold only the running vCPU's state: SMPDebugTests checks the refusal.)
    @Test("committed regression journals replay identically from their first checkpoint",
          arguments: RegressionJournal.all.filter { $0.checkpointsHoldEveryVCPU })
    func regressionJournalReplaysFromCheckpoint(_ j: RegressionJournal) throws {
        // Old checkpoints hold XSAVE areas from before their header was
        // normalized; restoring them must still work (KVM_SET_XSAVE).
        let r = try Fixtures.vmrr(["replay", "--quiet", "--from-checkpoint", "1", "--image", Fixtures.guest(j.guest), j.journal])
        #expect(r.exited && r.status == ExitStatus.replayedIdentically, "\(j.name): status \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("identically") && r.stderr.contains("; guest status \(j.status) ("), "\(j.name): \(r.stderr)")
        if let range = E2E.replayedRange(r.stderr) { #expect(range.start > 0, "\(j.name) did not start from a checkpoint") }
    }

    @Test("the format-version-1 journal still replays")
    func formatVersion1Replays() throws {
        let journal = E2E.journalsDir.appendingPathComponent("v1/demo.vmrr").path
        let bytes = try E2E.read(journal)
        try #require(bytes.count > 12)
        #expect(Array(bytes[0..<8]) == Array("VMRRJRNL".utf8))
        #expect(bytes[8] == 1 && bytes[9] == 0, "v1/demo.vmrr must stay a version-1 file")
        let summary = try Fixtures.vmrr(["dump", "--summary", journal])
        #expect(summary.status == 0 && summary.stdout.contains("format version 1"), "\(summary.stdout)\(summary.stderr)")
        let console = try FileIO.readText(E2E.journalsDir.appendingPathComponent("v1/demo.console").path)
        #expect(console.hasSuffix("demo: done\n"))
        try E2E.checkReplay(journal, status: 0, console: console, extra: ["--image", Fixtures.guest("demo")])
    }
}

/// Not KVM: the regression fixtures are complete and small.
@Suite("Regression journal fixtures")
struct RegressionFixtureTests {
    /// Guests without a committed journal, and why: each is recorded and
    /// replayed at test time instead.
    static let recordedAtTestTime: [String: String] = [
        "race": "ChaosTests records it with several --chaos seeds and replays each; its smallest journal (91 KB) does not fit under journalsAreSmall's 2.5 MB",
        "lateidt": "PreemptionTests records it with and without timer kicks and compares the two: what it checks is a property of recording, which a committed journal cannot show",
    ]

    @Test("every fixture guest has a committed journal and is built by build-all.sh")
    func everyGuestHasAJournal() throws {
        let fm = FileManager.default
        let guests = try fm.contentsOfDirectory(atPath: E2E.guestsDir.path)
            .filter { fm.fileExists(atPath: E2E.guestsDir.appendingPathComponent("\($0)/build.sh").path) }
        #expect(guests.count >= 6)
        let buildAll = try String(contentsOf: E2E.guestsDir.appendingPathComponent("build-all.sh"), encoding: .utf8)
        let recordAll = try String(contentsOf: E2E.journalsDir.appendingPathComponent("record-all.sh"), encoding: .utf8)
        for g in guests {
            #expect(buildAll.contains(" \(g)"), "build-all.sh does not build \(g)")
            if Self.recordedAtTestTime[g] != nil { continue }
            #expect(RegressionJournal.all.contains { $0.guest == g }, "no regression journal for guest \(g)")
            #expect(recordAll.contains("fixtures/guests/$guest/$guest.elf") && recordAll.contains(" \(g)"),
                    "record-all.sh does not record \(g)")
        }
        for j in RegressionJournal.all {
            #expect(fm.fileExists(atPath: j.journal), "missing \(j.journal)")
            #expect(fm.fileExists(atPath: j.console), "missing \(j.console)")
        }
    }

    @Test("fixtures/journals stays under 2.5 MB")
    func journalsAreSmall() throws {
        let fm = FileManager.default
        let files = try #require(fm.enumerator(atPath: E2E.journalsDir.path)).compactMap { $0 as? String }
        var total = 0
        for f in files {
            total += (try fm.attributesOfItem(atPath: E2E.journalsDir.appendingPathComponent(f).path))[.size] as? Int ?? 0
        }
        #expect(files.contains("v1/demo.vmrr"))
        #expect(total > 0 && total < 2_500_000, "fixtures/journals holds \(total) bytes")
    }

    /// Old journals keep replaying only while some are committed: every
    /// format version before the one written now keeps one here, replayed
    /// by `regressionJournalReplays` (a re-recording with record-all.sh
    /// would turn them all into the current version; README.md there).
    @Test("fixtures/journals keeps a journal of every older format version")
    func everyOlderFormatVersionIsCommitted() throws {
        let fm = FileManager.default
        let files = try #require(fm.enumerator(atPath: E2E.journalsDir.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".vmrr") }
        var versions: [UInt16: [String]] = [:]
        for f in files {
            let bytes = try E2E.read(E2E.journalsDir.appendingPathComponent(f).path)
            try #require(bytes.count > 12, "\(f)")
            versions[UInt16(bytes[8]) | UInt16(bytes[9]) << 8, default: []].append(f)
        }
        for v in 1..<JournalFormat.version {
            #expect(versions[v] != nil, "no committed journal of format version \(v): \(versions)")
        }
    }
}

extension RegressionFixtureTests {
    /// The debugger reads the image with the journal's boot protocol, so an
    /// ELF32 multiboot kernel gives its symbols too (it once needed ELF64).
    @Test("vmrr debug names symbols of an ELF32 multiboot image")
    func debuggerLoadsMultibootSymbols() throws {
        let commands = Fixtures.scratch().appendingPathComponent("cmds")
        try "goto 1\ninfo symbol $rip\n".write(to: commands, atomically: true, encoding: .utf8)
        let journal = E2E.journalsDir.appendingPathComponent("multiboot.vmrr").path
        let r = try Fixtures.vmrr(["debug", "--no-kvm", "--batch", "-x", commands.path,
                                   "--image", Fixtures.guest("multiboot"), journal])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("ELF64"), "\(r.stderr)")
        // `info symbol` answers "NAME + OFFSET", and the disassembly line at the position names the same symbol.
        let last = String(r.stdout.split(separator: "\n").last ?? "")
        let parts = last.split(separator: " ")
        #expect(parts.count == 3 && parts[1] == "+" && Int(parts[2]) != nil, "\(r.stdout)")
        if parts.count == 3 { #expect(r.stdout.contains("<\(parts[0])+\(parts[2])>"), "\(r.stdout)") }
    }
}
