import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRTestSupport

/// A journal that fails a check fails every command the same way (issue 18):
/// a flipped byte in any chunk, events or checkpoint, is refused at open by
/// dump, dump --json, debug --no-kvm, mmu --no-kvm, pack, unpack and (with
/// KVM) replay, with the same one-line error and status 2. Before, replay
/// said "identically" for a checkpoint chunk failing its CRC.
struct OneJournalCheckTests {
    /// (offset, payload length) of every chunk but the index, found by walking the frames.
    static func chunks(_ bytes: [UInt8]) -> [(offset: Int, length: Int, type: UInt8)] {
        var out: [(Int, Int, UInt8)] = []
        var i = 0
        while i + 25 <= bytes.count {
            if Array(bytes[i..<(i + 4)]) == Array("CHNK".utf8) && (1...2).contains(bytes[i + 4]) {
                let length = Int(bytes[i + 5]) | Int(bytes[i + 6]) << 8 | Int(bytes[i + 7]) << 16 | Int(bytes[i + 8]) << 24
                out.append((i, length, bytes[i + 4]))
                i += 25 + length
            } else {
                i += 1
            }
        }
        return out
    }

    @Test func aDamagedChunkFailsEveryCommandAlike() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try FileIO.read(Fixtures.journalPath("demo"))
        let found = Self.chunks(original)
        #expect(found.contains { $0.type == 1 } && found.contains { $0.type == 2 })
        for (k, c) in found.enumerated() {
            var bytes = original
            bytes[c.offset + 25 + c.length - 1] ^= 0x10
            let path = dir.appendingPathComponent("damaged\(k).vmrr").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            var commands: [[String]] = [
                ["dump", path], ["dump", "--json", path], ["dump", "--summary", path],
                ["debug", path, "--no-kvm", "--batch", "-x", "/dev/null"], ["mmu", path, "--no-kvm", "--at", "5", "pt", "0"],
                ["pack", path, "--image", Fixtures.guest("demo"), "-o", dir.appendingPathComponent("p.vmrrpack").path],
            ]
            if Fixtures.kvmAvailable { commands.append(["replay", path]) }
            let expected = "vmrr: \(path): offset \(c.offset): chunk CRC mismatch"
            for args in commands {
                let r = try Fixtures.vmrr(args)
                #expect(r.status == ExitStatus.unusableInput && r.stderrLines.count == 1 && r.stderr.hasPrefix(expected),
                        "\(args.first!) on a damaged chunk at \(c.offset): status \(r.status): \(r.stderr)")
            }
        }
    }
}
