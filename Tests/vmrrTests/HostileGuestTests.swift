import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// The hostile fixture guest (fixtures/guests/hostile, issue 18): each mode
/// attacks the recorder or the tools, and each has an expected outcome. Every
/// journal left behind replays. Recorded under --clock virtual; the
/// assertions are on statuses, events and output, never on host time.
extension KVMEndToEnd {
    /// Records hostile.elf in `mode` and returns the journal, the result and the dump.
    func recordHostile(_ mode: [String], options: [String] = [], in dir: URL) throws -> (journal: String, run: Fixtures.Result, dump: Dumped) {
        let journal = dir.appendingPathComponent("hostile.vmrr").path
        let r = try Fixtures.vmrr(["record", Fixtures.guest("hostile"), "--clock", "virtual", "--quiet", "--input", "/dev/null",
                                   "-o", journal] + options + ["--"] + mode, timeout: 600)
        return (journal, r, try E2E.dump(journal))
    }

    /// The journal replays to its recorded end.
    func expectReplays(_ journal: String, _ what: String) throws {
        let replay = try Fixtures.vmrr(["replay", journal, "--image", Fixtures.guest("hostile"), "-q"], timeout: 600)
        #expect(replay.status == 0 && replay.stderr.contains("identically"), "\(what): \(replay.stderr)")
    }

    @Test("hostile storm: 20,000 exits in a row are all journaled and replay")
    func hostileStorm() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, r, d) = try recordHostile(["storm", "20000"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(d.of("io").filter { $0.u("port") == 0x80 }.count == 20000)
        try expectReplays(journal, "storm")
    }

    @Test("hostile flood: 2,000 console lines reach the console and the journal, and replay")
    func hostileFlood() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, r, d) = try recordHostile(["flood", "2000"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").count == 2002 && r.stdout.hasSuffix("hostile: done\n"))
        #expect(d.consoleText == r.stdout)
        try expectReplays(journal, "flood")
    }

    @Test("hostile triple: an empty IDT and ud2 end in a triple fault, status 130, and replay")
    func hostileTripleFault() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, r, d) = try recordHostile(["triple"], in: dir)
        #expect(r.status == ExitStatus.shutdown, "\(r.stderr)")
        E2E.checkShape(d, status: ExitStatus.shutdown)
        try expectReplays(journal, "triple")
    }

    @Test("hostile ptloop: page tables that loop are walked and dumped with bounded output")
    func hostilePageTableLoop() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, r, d) = try recordHostile(["ptloop"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        try expectReplays(journal, "ptloop")
        let last = String(d.events.count - 2)   // the final checkpoint, after the loop was made
        let dump = try Fixtures.vmrr(["mmu", journal, "--image", Fixtures.guest("hostile"), "--at", last, "ptdump"])
        #expect(dump.status == 0 && dump.stdout.contains("self-reference"), "\(dump.stdout.suffix(500)) \(dump.stderr)")
        let walk = try Fixtures.vmrr(["mmu", journal, "--image", Fixtures.guest("hostile"), "--at", last, "pt", "0xffff964b00000000"])
        #expect(walk.status == 0 && walk.stdout.contains("self-referencing tables"), "\(walk.stdout) \(walk.stderr)")
    }

    @Test("hostile idt: 100 IDT reloads, each with a timer interrupt taken, replay")
    func hostileIDTChurn() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, r, d) = try recordHostile(["idt", "100"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("hostile: 100 ticks"))
        #expect(d.of("interrupt").count == 100)
        try expectReplays(journal, "idt")
    }

    @Test("hostile farhlt: HLT with the timer at 2^64 - 1 ends (halted, or --max-time under the host clock) and replays",
          arguments: ["virtual", "host"])
    func hostileFarTimerHalt(clock: String) throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("hostile.vmrr").path
        let r = try Fixtures.vmrr(["record", Fixtures.guest("hostile"), "--clock", clock, "--max-time", "2", "--quiet",
                                   "--input", "/dev/null", "-o", journal, "--", "farhlt"], timeout: 600)
        #expect(r.status == 0, "\(r.stderr)")
        let replay = try Fixtures.vmrr(["replay", journal, "--image", Fixtures.guest("hostile"), "-q"], timeout: 600)
        #expect(replay.status == 0, "\(replay.stderr)")
    }
}
