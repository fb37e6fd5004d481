import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// fuzz/hostile-images (issue 18): `record` of each hostile image ends as
/// its README says, within a budget, in less memory than 64 MiB resident
/// for a 16 MiB guest: a hostile image costs no more than the RAM it asks for.
struct HostileImageCorpusTests {
    static let dir = Fixtures.root.appendingPathComponent("fuzz/hostile-images")
    /// The files, and whether `record` refuses each (else it records).
    static let refused: [String: Bool] = [
        "overlapping-segments.elf": true, "shared-file-bytes.elf": false,
        "huge-bss.multiboot": true, "pref-address-near-2e64.bzImage": true,
    ]

    @Test(.enabled(if: Fixtures.kvmAvailable)) func recordEndsAsExpectedOnEveryHostileImage() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path).filter { !$0.hasSuffix(".md") }.sorted()
        #expect(Set(files) == Set(Self.refused.keys), "fuzz/hostile-images holds \(files)")
        for name in files {
            let scratch = Fixtures.scratch()
            defer { try? FileManager.default.removeItem(at: scratch) }
            let journal = scratch.appendingPathComponent("out.vmrr").path
            let r = try BudgetedRun.run(Fixtures.vmrrBinary, ["record", Self.dir.appendingPathComponent(name).path, "-o", journal,
                                                              "--memory", "16M", "--clock", "virtual", "--max-exits", "1000",
                                                              "--max-time", "30", "-q"],
                                        memoryMiB: 256, cpuSeconds: 120, wallSeconds: 300, scratch: scratch)
            #expect(r.signal == nil && !r.hung, "\(name): signal \(r.signal ?? 0): \(r.stderr)")
            #expect(r.maxRSSKiB < 64 << 10, "\(name): \(r.maxRSSKiB) KiB resident")
            #expect(!r.stderr.contains("0x0x") && !r.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(name): \(r.stderr)")
            if Self.refused[name] == true {
                #expect(r.status == ExitStatus.unusableInput && r.stderr.split(separator: "\n").count == 1, "\(name): \(r.status): \(r.stderr)")
                #expect(!FileManager.default.fileExists(atPath: journal), "\(name): a journal was left")
            } else {
                #expect(Set(ExitStatus.documented.map(\.status)).contains(r.status), "\(name): \(r.status): \(r.stderr)")
            }
        }
    }
}
