import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport

/// Pages straight from a source (guest RAM) make the same chunk, byte for
/// byte, as the same pages copied into records first.
@Suite struct CheckpointPagesTests {
    final class Pages: CheckpointPageSource {
        var pages: [UInt64: [UInt8]] = [:]
        func withPage<R>(at gpa: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
            guard let p = pages[gpa] else { return nil }
            return try p.withUnsafeBytes(body)
        }
    }

    static func source() -> (Pages, [UInt64]) {
        let s = Pages()
        // Raw pages, zero pages (alone and in runs), and gaps between them.
        let gpas: [UInt64] = [0x1000, 0x2000, 0x3000, 0x4000, 0x9000, 0xa000, 0x10_0000, 0x10_1000, 0x20_0000]
        for (k, gpa) in gpas.enumerated() {
            s.pages[gpa] = [2, 3, 4, 8].contains(k) ? Array(repeating: 0, count: 4096) : Fixtures.page(UInt64(k))
        }
        return (s, gpas)
    }

    @Test func pagesFromASourceEncodeLikeRecords() throws {
        let (s, gpas) = Self.source()
        let a = Fixtures.tempPath("cp-records"), b = Fixtures.tempPath("cp-source")
        defer { unlink(a); unlink(b) }
        var base = Fixtures.checkpoint(id: 1, eventIndex: 1)
        base.pages = []
        base.zeroRuns = [ZeroRun(gpa: 0x40_0000, count: 3)]
        for (path, fromSource) in [(a, false), (b, true)] {
            let w = try JournalWriter(path: path, header: Fixtures.header())
            try w.append(.checkpoint(id: 1), regs: GPRegisters())
            var cp = base
            if fromSource {
                try w.appendCheckpoint(cp, pagesAt: gpas, in: s)
            } else {
                cp.pages = gpas.map { PageRecord(gpa: $0, bytes: s.pages[$0]!) }
                try w.appendCheckpoint(cp)
            }
            try w.finish()
        }
        #expect(try Fixtures.read(a) == Fixtures.read(b))
        let back = try JournalReader(path: b).checkpoint(id: 1)
        #expect(back.pages.map(\.gpa) == [0x1000, 0x2000, 0xa000, 0x10_0000, 0x10_1000])
        #expect(back.pageCount == UInt64(gpas.count) + 3)
    }

    @Test func anAddressOutsideTheSourceIsRefusedOnOneLine() throws {
        let (s, gpas) = Self.source()
        let path = Fixtures.tempPath("cp-missing")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Fixtures.header())
        var cp = Fixtures.checkpoint(id: 1, eventIndex: 0)
        cp.pages = []
        #expect(throws: JournalError.self) { try w.appendCheckpoint(cp, pagesAt: gpas + [0x7000_0000], in: s) }
    }
}
