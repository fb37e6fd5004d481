import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport

/// A journal opened from a path is read at offsets (pread), never loaded:
/// every answer, and every error, must be the one the same bytes give in memory.
@Suite struct FileReaderTests {
    /// Opens `bytes` both ways and reads everything: the events, the checkpoints,
    /// the note, or the error's text.
    static func outcome(_ r: () throws -> JournalReader) -> String {
        do {
            let reader = try r()
            let (events, cps) = try Fixtures.readAll(reader)
            return "events \(events) checkpoints \(cps) note \(reader.truncationNote ?? "-") size \(reader.fileSize) tail \(reader.usedIndexTail)"
        } catch { return "error \(error)" }
    }

    static func bothWays(_ bytes: [UInt8], path: String) throws -> (memory: String, file: String) {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let memory = outcome { try JournalReader(bytes: bytes, name: path) }
        let file = outcome { try JournalReader(path: path) }
        return (memory, file)
    }

    @Test func corruptedJournalsReadTheSameFromAFileAsFromMemory() throws {
        let (finished, _) = try CorruptionTests.smallJournal(finish: true)
        let (unfinished, _) = try CorruptionTests.smallJournal(finish: false)
        let seeds = [finished, unfinished]
        let path = Fixtures.tempPath("pread")
        defer { unlink(path) }
        var g = SplitMix64(seed: 0xf11e)
        var errors = 0
        for i in 0..<400 {
            let b = Corruptor.mutate(seeds[i % 2], other: seeds[Int(g.next() % 2)], using: &g)
            let (memory, file) = try Self.bothWays(b, path: path)
            #expect(memory == file, "case \(i)")
            if file.hasPrefix("error") { errors += 1 }
        }
        #expect(errors > 0)
    }

    @Test func everyTruncationReadsTheSameFromAFile() throws {
        let (bytes, _) = try CorruptionTests.smallJournal()
        let path = Fixtures.tempPath("pread-cut")
        defer { unlink(path) }
        for cut in stride(from: 0, through: bytes.count, by: 7) {
            let (memory, file) = try Self.bothWays(Array(bytes[0..<cut]), path: path)
            #expect(memory == file, "cut \(cut)")
        }
    }

    /// A journal cut short while a reader has it open: the chunks before the
    /// cut still read, a chunk past it gives one line naming the offset, and
    /// nothing traps (there is no mapping to fault on).
    @Test func aFileTruncatedUnderTheReaderGivesOneLine() throws {
        let path = Fixtures.tempPath("shrink")
        defer { unlink(path) }
        let events = (0..<5000).map { Event.io(port: 0x3f8, size: 1, direction: .write, value: UInt64($0 & 0xff)) }
        try Fixtures.write(path: path, events: events, flushEvery: 256)
        let reader = try JournalReader(path: path)
        #expect(reader.eventCount == 5000)
        #expect(truncate(path, off_t(reader.fileSize / 2)) == 0)
        #expect(try reader.event(at: 0).index == 0)
        do {
            _ = try reader.event(at: 4999)
            Issue.record("reading past the cut succeeded")
        } catch let e as JournalError {
            #expect(e.offset != nil)
            #expect(!e.description.contains("\n"))
            #expect(e.description.contains("truncated while being read"), "\(e)")
        }
    }

    /// Bytes appended after open are not read: the size is the one seen at open.
    @Test func aFileGrowingUnderTheReaderKeepsItsSizeAtOpen() throws {
        let path = Fixtures.tempPath("grow")
        defer { unlink(path) }
        let written = try Fixtures.write(path: path, events: Array(Fixtures.everyKind.prefix(14)))
        let reader = try JournalReader(path: path)
        let size = reader.fileSize
        let h = try #require(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile()
        h.write(Data(repeating: 0xaa, count: 4096))
        h.closeFile()
        #expect(reader.fileSize == size)
        #expect(try reader.events() == written)
    }

    @Test func aDirectoryOrAMissingFileIsRefusedOnOneLine() {
        for path in [NSTemporaryDirectory(), "/nonexistent/j.vmrr"] {
            #expect(throws: JournalError.self) { try JournalReader(path: path) }
        }
    }
}
