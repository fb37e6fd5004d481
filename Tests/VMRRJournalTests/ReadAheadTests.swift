import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport
import VMRRBase

/// `JournalSource`'s read-ahead window (used while a journal is opened):
/// reads and CRCs through the window give the same bytes as direct preads,
/// across window boundaries, and a file cut short still gives one line
/// naming the offset.
@Suite struct ReadAheadTests {
    static let size = 2 * JournalSource.windowSize + 12_345

    static func file() throws -> (String, [UInt8]) {
        let path = Fixtures.tempPath("window")
        var g = SplitMix64(seed: 42)
        let bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { close(fd) }
        try FileIO.writeAll(fd: fd, bytes)
        return (path, bytes)
    }

    static func source(_ path: String, readAhead: Bool) throws -> JournalSource {
        let s = JournalSource(file: try PositionalFile(path: path), name: path)
        s.readAhead = readAhead
        return s
    }

    @Test func readsThroughTheWindowMatchDirectReads() throws {
        let (path, bytes) = try Self.file()
        defer { unlink(path) }
        let windowed = try Self.source(path, readAhead: true), direct = try Self.source(path, readAhead: false)
        let w = JournalSource.windowSize
        // In order, as an open walks the file, then backwards and at the edges: across each window boundary, and past the end.
        var reads: [(Int, Int)] = [(0, 16), (16, 100), (w - 10, 20), (w - 1, 1), (w, 1), (2 * w - 5, 10), (Self.size - 3, 10),
                                   (Self.size, 4), (100, 200), (w + 7, w - 8), (w + 7, w), (-5, 3)]
        var g = SplitMix64(seed: 7)
        for _ in 0..<300 { reads.append((Int(g.next() % UInt64(Self.size)), Int(g.next() % 70_000))) }
        for (offset, count) in reads {
            let a = try windowed.read(offset, count), b = try direct.read(offset, count)
            #expect(a == b, "read(\(offset), \(count))")
            let lo = min(max(0, offset), Self.size)
            #expect(a == Array(bytes[lo..<min(Self.size, lo + max(0, count))]), "read(\(offset), \(count))")
        }
        for (lo, n) in [(0, 4096), (w - 100, 200), (3, 2 * w), (w + 1, 65_536)] {
            let range = lo..<min(Self.size, lo + n)
            #expect(try windowed.crc(range, initial: 0) == CRC32C.checksum(bytes, range: range, initial: 0))
            #expect(try direct.crc(range, initial: 0) == windowed.crc(range, initial: 0))
        }
        // Turned off (as after an open), reads go to the file directly, and still agree.
        windowed.readAhead = false
        #expect(try windowed.read(w - 10, 20) == Array(bytes[(w - 10)..<(w + 10)]))
    }

    @Test func aFileCutShortUnderTheWindowGivesOneLineNamingTheOffset() throws {
        let (path, _) = try Self.file()
        defer { unlink(path) }
        let s = try Self.source(path, readAhead: true)
        let cut = JournalSource.windowSize + JournalSource.windowSize / 2
        #expect(truncate(path, off_t(cut)) == 0)
        // Before the cut, a window that reaches past it is not read whole: the cut is reported.
        for offset in [cut - 100, cut + 10] {
            do {
                _ = try s.read(offset, 16)
                if offset >= cut { Issue.record("a read past the cut succeeded") }
            } catch let e as JournalError {
                // The first byte the file no longer has.
                let missing = max(offset, cut)
                #expect(e.offset == UInt64(missing), "\(e)")
                #expect(!e.description.contains("\n"))
                #expect(e.description.contains("offset \(missing)") && e.description.contains("truncated while being read"), "\(e)")
            }
        }
    }
}
