import Foundation
import Testing
import VMRRJournal
import VMRRTestSupport

/// A journal with no events (a recorder killed right after writing the
/// header): every command that needs a position refuses it with one line and
/// status 2, and none traps (issue 18: `eventCount - 1` used to).
@Suite("journals with no events or impossible RAM")
struct HostileJournalTests {
    /// The demo journal cut right before its first chunk.
    static func zeroEventJournal(in dir: URL) throws -> String {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.journalPath("demo")))
        let magic = Data("CHNK".utf8)
        let first = try #require(bytes.range(of: magic)?.lowerBound)
        let path = dir.appendingPathComponent("zero.vmrr").path
        #expect(FileManager.default.createFile(atPath: path, contents: bytes.prefix(upTo: first)))
        return path
    }

    @Test("replay --from-event, debug, debug --gdb, debug --no-kvm and mmu refuse it on one line with status 2",
          arguments: [["replay", "--from-event", "0"], ["debug", "--batch"], ["debug", "--gdb", "-"],
                      ["debug", "--no-kvm", "--batch"], ["mmu", "--no-kvm"], ["mmu"]])
    func refused(_ command: [String]) throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try Self.zeroEventJournal(in: dir)
        let args = command.first == "mmu" ? command + [journal, "pt", "0"] : [command[0], journal] + command.dropFirst()
        let r = try Fixtures.vmrr(args, stdin: "")
        #expect(r.exited && r.status == 2, "\(args): status \(r.status): \(r.stderr)")
        let errors = r.stderr.split(separator: "\n").filter { !$0.contains("no index tail") }
        #expect(errors.count == 1 && errors[0].contains("no events"), "\(args): \(r.stderr)")
    }

    /// The demo journal rewritten with a header that declares `memorySize` bytes of RAM.
    static func journal(declaring memorySize: UInt64, in dir: URL) throws -> String {
        let reader = try JournalReader(path: Fixtures.journalPath("demo"))
        var header = reader.header
        header.memorySize = memorySize
        let path = dir.appendingPathComponent("huge.vmrr").path
        try JournalRewrite.write(reader, header: header, to: path)
        return path
    }

    @Test("a header declaring RAM near 2^64 is refused on one line by debug --no-kvm, mmu and replay (no overflow trap)",
          arguments: [["debug", "--no-kvm", "--batch"], ["mmu", "--no-kvm"], ["replay"]])
    func hugeMemory(_ command: [String]) throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = try Self.journal(declaring: UInt64.max & ~0x1F_FFFF, in: dir)
        let args = command.first == "mmu" ? command + [journal, "pt", "0"] : [command[0], journal] + command.dropFirst()
        let r = try Fixtures.vmrr(args, stdin: "")
        #expect(r.exited && r.status == 2, "\(args): status \(r.status): \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("bytes of RAM"), "\(args): \(r.stderr)")
    }
}
