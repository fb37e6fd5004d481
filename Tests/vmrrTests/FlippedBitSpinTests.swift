import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRTestSupport

/// Issue 18: "Replay spins forever … on some fixture journals with one
/// flipped bit and repaired CRCs". `search` looks for such files (one bit
/// flipped inside a chunk's payload of a committed journal, every checksum
/// repaired, replayed with a short watchdog from the start, or from the
/// checkpoint whose chunk holds the flip); the ones it found are in
/// fuzz/hostile, and the tests below pin what replay does with them.
struct FlippedBitSpinTests {
    /// The journals searched, each with its guest.
    static let journals = ["timer", "pcdev", "exits", "demo", "echo", "paging", "multiboot", "bug", "tsc"]

    /// A copy of `bytes` with bit `bit` of byte `offset` flipped and every checksum repaired.
    static func flipped(_ bytes: [UInt8], offset: Int, bit: Int) -> [UInt8] {
        var b = bytes
        b[offset] ^= UInt8(1) << UInt8(bit)
        ChecksumRepair.repair(&b)
        return b
    }

    /// The search, by hand: VMRR_FIND_SPINS=N flips N random payload bits in
    /// each journal above and replays each result with `--watchdog 2`,
    /// printing the flips that stop by the watchdog (and keeping the files in
    /// $TMPDIR). Needs /dev/kvm.
    @Test(.enabled(if: Fixtures.kvmAvailable && ProcessInfo.processInfo.environment["VMRR_FIND_SPINS"] != nil))
    func search() throws {
        let n = Int(ProcessInfo.processInfo.environment["VMRR_FIND_SPINS"] ?? "") ?? 100
        var g = SplitMix64(seed: UInt64(ProcessInfo.processInfo.environment["VMRR_FIND_SPINS_SEED"].flatMap { UInt64($0) } ?? 18))
        let scratch = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        for name in Self.journals {
            let bytes = try FileIO.read(Fixtures.journalPath(name))
            let chunks = Corruptor.chunkOffsets(bytes)
            var outcomes: [String: Int] = [:]
            for _ in 0..<n {
                let r = Corruptor.chunkRange(bytes, chunks[Int(g.next() % UInt64(chunks.count))])
                let payload = (r.lowerBound + ChecksumRepair.chunkFrameSize)..<r.upperBound
                guard !payload.isEmpty else { continue }
                let offset = payload.lowerBound + Int(g.next() % UInt64(payload.count)), bit = Int(g.next() % 8)
                let file = scratch.appendingPathComponent("case.vmrr").path
                try Data(Self.flipped(bytes, offset: offset, bit: bit)).write(to: URL(fileURLWithPath: file))
                // A flip in a checkpoint chunk is replayed from that checkpoint (multiboot and Linux journals restore checkpoint 0 at the boot too).
                let isCheckpoint = bytes[r.lowerBound + 4] == 2 && payload.count >= 4
                let id = isCheckpoint ? ChecksumRepair.le(bytes, payload.lowerBound, 4) : 0
                let from = id > 0 ? ["--from-checkpoint", "\(id)"] : []
                let run = try BudgetedRun.run(Fixtures.vmrrBinary, ["replay", file, "--image", Fixtures.guest(Self.guest(name)),
                                                                    "--watchdog", "2", "-q"] + from,
                                              memoryMiB: 1 << 20, cpuSeconds: 600, wallSeconds: 120, scratch: scratch)
                let key = run.stderr.contains("watchdog") ? "watchdog" : "status \(run.status)"
                outcomes[key, default: 0] += 1
                if run.stderr.contains("watchdog") || run.hung || run.signal != nil {
                    let keep = FileManager.default.temporaryDirectory.appendingPathComponent("vmrr-spin-\(name)-\(offset)-\(bit).vmrr")
                    try? FileManager.default.removeItem(at: keep)
                    try FileManager.default.copyItem(atPath: file, toPath: keep.path)
                    print("spin search: \(name) offset \(offset) bit \(bit) \(from): \(run.hung ? "hung" : run.stderr)")
                }
            }
            print("spin search: \(name): \(outcomes.sorted { $0.key < $1.key })")
        }
    }

    /// The offset of the first occurrence of `needle` in `bytes`.
    static func find(_ bytes: [UInt8], _ needle: [UInt8]) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        return (0...(bytes.count - needle.count)).first { i in bytes[i] == needle[0] && Array(bytes[i..<(i + needle.count)]) == needle }
    }

    /// One bit flipped in the entry instruction's bytes in checkpoint 0 of the
    /// multiboot journal (the boot state a multiboot replay restores), every
    /// checksum repaired: the journal opens, and the replay refuses it on one
    /// line, naming the checkpoint and both digests, before the guest runs the
    /// damaged code.
    @Test(.enabled(if: Fixtures.kvmAvailable)) func aFlippedBitInTheBootCheckpointIsRefusedBeforeTheGuestRuns() throws {
        let path = Fixtures.journalPath("multiboot")
        let bytes = try FileIO.read(path)
        let reader = try JournalReader(path: path)
        let cp0 = try reader.checkpoint(id: 0)
        let rip = cp0.state.regs.rip
        let page = try #require(cp0.pages.first { $0.gpa == rip & ~(Checkpoint.pageSize - 1) })
        let at = Int(rip & (Checkpoint.pageSize - 1))
        let offset = try #require(Self.find(bytes, Array(page.bytes[at..<(at + 32)])))
        let scratch = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let file = scratch.appendingPathComponent("flipped.vmrr").path
        try Data(Self.flipped(bytes, offset: offset, bit: 1)).write(to: URL(fileURLWithPath: file))
        #expect(try JournalReader(path: file).eventCount == reader.eventCount)
        let r = try BudgetedRun.run(Fixtures.vmrrBinary, ["replay", file, "--image", Fixtures.guest("multiboot"), "--watchdog", "60", "-q"],
                                    memoryMiB: 1 << 20, cpuSeconds: 600, wallSeconds: 600, scratch: scratch)
        #expect(r.signal == nil && !r.hung)
        #expect(r.status == ExitStatus.unusableInput, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("\(file): checkpoint 0 restores memory whose digest 0x"), "\(r.stderr)")
        #expect(r.stderr.contains("its pages changed after it was written"), "\(r.stderr)")
    }

    /// The guest of a committed journal (the SMP journals share one).
    static func guest(_ journal: String) -> String { journal.hasPrefix("smp") ? "smp" : journal }
}
