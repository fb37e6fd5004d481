import Foundation
import Testing
@testable import VMRRJournal

/// Byte-for-byte pins of format v1 as the writer produces it. The files in
/// `Golden/` were written by the codec before the checkpoint fast path
/// replaced it, so any change to the bytes on disk fails here.
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
        let want = Array(try Data(contentsOf: url))
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

    /// A journal of a few thousand events over several chunks with checkpoints between.
    static func journal() throws -> [UInt8] {
        let path = Fixtures.tempPath("golden")
        defer { unlink(path) }
        var events: [Event] = []
        for i in 0..<5000 { events.append(Fixtures.everyKind[i % 21]) }
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
            #expect(try CheckpointCodec.decode(&r, pageLimit: UInt64(c.pages.count)) == c)
        }
    }

    @Test func journalIsByteIdentical() throws {
        let bytes = try Golden.journal()
        try Golden.check("journal.vmrr", bytes)
        let r = try JournalReader(bytes: bytes, name: "golden.vmrr")
        #expect(r.eventCount == 5000)
        #expect(r.checkpoints.count == 3)
        #expect(try r.checkpoint(id: 2) == Golden.checkpoints[1])
    }
}
