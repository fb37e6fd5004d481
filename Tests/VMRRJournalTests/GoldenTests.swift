import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport
import VMRRBase

/// Byte-for-byte pins of the format as the writer produces it. The
/// checkpoint files in `Golden/` were written by the codec before the
/// checkpoint fast path replaced it, so any change to the bytes on disk
/// fails here. `journal-v1.vmrr` and `journal-v2.vmrr` are what the format-1
/// and format-2 writers produced; they stay, read by every later reader.
/// `journal-v4.vmrr` pins format 4, what the writer produces now.
/// `VMRR_UPDATE_GOLDEN=1` rewrites them (only for a deliberate format change,
/// which also means a new format version).
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func check(_ name: String, _ bytes: [UInt8]) throws {
        let url = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["VMRR_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
            return
        }
        let want = try FileIO.read(url.path)
        guard want != bytes else { return }
        let at = (0..<min(want.count, bytes.count)).first { want[$0] != bytes[$0] } ?? min(want.count, bytes.count)
        Issue.record("\(name): \(bytes.count) bytes differ from the golden \(want.count) bytes, first at offset \(at)")
    }

    /// Checkpoints that exercise every branch of the page encoder: runs of
    /// zero pages (ended by a gap, by a non-zero page, by the end), pages out
    /// of order (negative deltas), pages far apart, no pages, no digest.
    static var checkpoints: [Checkpoint] {
        let zero = [UInt8](repeating: 0, count: 4096)
        var a = Fixtures.checkpoint(id: 1, eventIndex: 3)
        var b = Fixtures.checkpoint(id: 2, eventIndex: 900, full: true, digest: nil)
        b.pages = (0..<40).map { k in
            let gpa = UInt64(k < 20 ? k : 60 - k) << 12 | (k >= 30 ? 0x7f_0000_0000 : 0)
            return PageRecord(gpa: gpa, bytes: k % 7 == 3 ? Fixtures.page(UInt64(k)) : zero)
        }
        b.pages.append(PageRecord(gpa: 0xffff_ffff_ffff_f000, bytes: zero))
        b.pages.append(PageRecord(gpa: 0, bytes: Fixtures.page(99)))
        var c = Fixtures.checkpoint(id: 3, eventIndex: 901, digest: 0)
        c.pages = []
        c.state.blobs = [:]
        c.state.msrs = []
        c.deviceState = []
        a.pages.append(PageRecord(gpa: 0x5000, bytes: [UInt8](repeating: 0xff, count: 4096)))
        return [a, b, c]
    }

    /// The event kinds format 1 has: the first 21 entries of `Fixtures.everyKind`.
    static let version1Kinds = 21
    /// The entries the golden v2 journal was written with: those before the
    /// kinds format 2 gained later (`nmi`, `warm_reset`), which its pinned
    /// bytes do not hold.
    static let version2GoldenKinds = 36

    /// The events of the golden journals: `kinds` entries of `Fixtures.everyKind`, cycled.
    static func events(kinds: Int) -> [Event] {
        (0..<5000).map { Fixtures.everyKind[$0 % kinds] }
    }

    /// A journal of a few thousand events over several chunks with
    /// checkpoints between: every kind a one-vCPU journal may hold.
    static func journal() throws -> [UInt8] {
        let path = Fixtures.tempPath("golden")
        defer { unlink(path) }
        let events = Self.events(kinds: Fixtures.everyKind.count)
        let cps = checkpoints
        try Fixtures.write(path: path, events: events,
                           checkpointsAt: [3: cps[0], 900: cps[1], 4500: cps[2]], flushEvery: 1234)
        return try Fixtures.read(path)
    }
}

@Suite struct GoldenTests {
    @Test func checkpointPayloadsAreByteIdentical() throws {
        for (k, c) in Golden.checkpoints.enumerated() {
            let bytes = try CheckpointCodec.encode(c, path: "golden")
            try Golden.check("checkpoint-\(k).bin", bytes)
            var r = ByteReader(bytes, name: "golden")
            #expect(try CheckpointCodec.decode(&r, pageLimit: UInt64(c.pages.count)) == c.compacted)
        }
    }

    @Test func journalIsByteIdentical() throws {
        let bytes = try Golden.journal()
        try Golden.check("journal-v4.vmrr", bytes)
        let r = try JournalReader(bytes: bytes, name: "golden.vmrr")
        #expect(r.formatVersion == 4)
        #expect(r.eventCount == 5000)
        #expect(try r.events().map(\.event) == Golden.events(kinds: Fixtures.everyKind.count))
        #expect(r.checkpoints.count == 3)
        #expect(try r.checkpoint(id: 2) == Golden.checkpoints[1].compacted)
    }

    /// Format 2 files stay readable: the journal the v2 writer produced
    /// (every one-vCPU journal vmrr wrote before format 4) reads back with
    /// every event, register and checkpoint.
    @Test func aVersion2JournalStillReads() throws {
        let bytes = try FileIO.read(Golden.directory.appendingPathComponent("journal-v2.vmrr").path)
        let r = try JournalReader(bytes: bytes, name: "journal-v2.vmrr")
        #expect(r.formatVersion == 2)
        #expect(r.eventCount == 5000)
        let path = Fixtures.tempPath("golden-v2-events")
        defer { unlink(path) }
        // The same events and registers, written now (format 4), decode to the same records.
        let written = try Fixtures.write(path: path, events: Golden.events(kinds: Golden.version2GoldenKinds))
        #expect(try r.events() == written)
        #expect(try r.checkpoint(id: 2) == Golden.checkpoints[1].compacted)
    }

    /// Format 1 files stay readable: the journal the v1 writer produced reads
    /// back with every event and checkpoint.
    @Test func aVersion1JournalStillReads() throws {
        let bytes = try FileIO.read(Golden.directory.appendingPathComponent("journal-v1.vmrr").path)
        let r = try JournalReader(bytes: bytes, name: "journal-v1.vmrr")
        #expect(r.formatVersion == 1)
        #expect(try r.events().map(\.event) == Golden.events(kinds: Golden.version1Kinds))
        #expect(try r.checkpoint(id: 2) == Golden.checkpoints[1].compacted)
    }

    /// A file that says format 1 but holds a format-2 event kind is corrupt.
    @Test func version2KindsInAVersion1FileAreCorruption() throws {
        for (kind, event) in [("14 (msr)", Event.msr(index: 0x1b, direction: .read, value: 0, fault: true)),
                              ("15 (assist)", Event.assist(action: .breakpoint, length: 1))] {
            // A format-1 header and a format-1 events chunk (the writer writes format 4).
            let bytes = Build.header(version: 1, minReader: 1)
                + Build.chunk(type: ChunkType.events.rawValue, first: 0, count: 2, payload: Build.records([.hlt, event], version: 1))
            let r = try JournalReader(bytes: bytes, name: "old.vmrr")
            #expect(r.formatVersion == 1)
            #expect { try r.events() } throws: {
                let e = $0 as? JournalError
                return e?.reason == "event 1: event kind \(kind) does not exist in format version 1" && e?.offset != nil
            }
        }
    }
}
