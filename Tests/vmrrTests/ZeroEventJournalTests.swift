import Foundation
import Testing
import VMRRTestSupport

/// A journal with no events (a recorder killed right after writing the
/// header): every command that needs a position refuses it with one line and
/// status 2, and none traps (issue 18: `eventCount - 1` used to).
@Suite("a journal with no events")
struct ZeroEventJournalTests {
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
}
