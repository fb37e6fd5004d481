import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport

/// The checkpoint encoder as it was before the fast path (commit 18a91c0),
/// kept as the reference the fast path must match byte for byte.
enum ReferenceCheckpointEncoder {
    static func encode(_ c: Checkpoint) -> [UInt8] {
        var s = ByteSink()
        s.u32(c.id)
        s.u64(c.eventIndex)
        var flags = CheckpointFlags()
        if c.full { flags.insert(.full) }
        if c.memoryDigest != nil { flags.insert(.hasDigest) }
        s.u8(flags.rawValue)
        if let d = c.memoryDigest { s.u64(d) }
        for i in 0..<GPRegisters.count { s.u64(c.state.regs[i]) }
        let sr = c.state.sregs
        for seg in [sr.cs, sr.ds, sr.es, sr.fs, sr.gs, sr.ss, sr.tr, sr.ldt] {
            s.u64(seg.base); s.u32(seg.limit); s.u16(seg.selector); s.u8(seg.type); s.u8(seg.dpl)
            var f = SegmentFlags()
            if seg.present { f.insert(.present) }
            if seg.db { f.insert(.db) }
            if seg.s { f.insert(.s) }
            if seg.l { f.insert(.l) }
            if seg.g { f.insert(.g) }
            if seg.avl { f.insert(.avl) }
            if seg.unusable { f.insert(.unusable) }
            s.u8(f.rawValue)
        }
        for dt in [sr.gdt, sr.idt] { s.u64(dt.base); s.u16(dt.limit) }
        for v in [sr.cr0, sr.cr2, sr.cr3, sr.cr4, sr.cr8, sr.efer, sr.apicBase] { s.u64(v) }
        s.varint(UInt64(c.state.msrs.count))
        for m in c.state.msrs { s.u32(m.index); s.u64(m.value) }
        let names = c.state.blobs.keys.sorted()
        s.varint(UInt64(names.count))
        for n in names {
            s.lengthPrefixed(Array(n.utf8))
            s.lengthPrefixed(c.state.blobs[n] ?? [])
        }
        s.lengthPrefixed(c.deviceState)
        var entries = ByteSink()
        var entryCount: UInt64 = 0
        var nextPage: UInt64 = 0
        var i = 0
        let pages = c.pages
        while i < pages.count {
            let p = pages[i]
            let page = p.gpa >> 12
            let delta = zigzagEncode(Int64(bitPattern: page &- nextPage))
            if CheckpointCodec.isZero(p.bytes) {
                var run: UInt64 = 1
                while i + Int(run) < pages.count, pages[i + Int(run)].gpa == p.gpa &+ run * 4096,
                      pages[i + Int(run)].bytes.count == 4096, CheckpointCodec.isZero(pages[i + Int(run)].bytes) {
                    run += 1
                }
                entries.varint(delta << 1 | 1)
                entries.varint(run)
                nextPage = page &+ run
                i += Int(run)
            } else {
                entries.varint(delta << 1)
                entries.raw(p.bytes)
                nextPage = page &+ 1
                i += 1
            }
            entryCount += 1
        }
        s.varint(entryCount)
        s.raw(entries.bytes)
        return s.bytes
    }
}

@Suite struct CheckpointSpeedTests {
    static func random(bytes n: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(seed: seed)
        return (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    }

    @Test func interleavedCRCAgreesWithTheBitwiseReference() {
        var g = SplitMix64(seed: 7)
        // Around the three-stream threshold, and lengths that leave a tail.
        for n in [4095, 4096, 4097, 4103, 4119, 4120, 4121, 5000, 24 * 300 + 7, 20_011] {
            let b = Self.random(bytes: n, seed: UInt64(n))
            let initial = UInt32(truncatingIfNeeded: g.next())
            #expect(CRC32C.checksum(b) == CRC32C.referenceChecksum(b), "length \(n)")
            #expect(CRC32C.checksum(b, initial: initial) == CRC32C.referenceChecksum(b, initial: initial), "length \(n)")
        }
    }

    @Test func largeBuffersAgreeWithChainedSmallPieces() {
        let b = Self.random(bytes: (1 << 20) + 5, seed: 99)
        var chained: UInt32 = 0
        var at = 0
        while at < b.count {
            // Pieces below the threshold take the one-stream path.
            let n = min(1000, b.count - at)
            chained = CRC32C.checksum(b, range: at..<(at + n), initial: chained)
            at += n
        }
        #expect(CRC32C.checksum(b) == chained)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 1 << 16)) == CRC32C.checksum([UInt8](repeating: 0, count: 1 << 16), range: 0..<(1 << 16)))
    }

    @Test func zerosOperatorRunsTheRegisterThroughZeros() {
        var g = SplitMix64(seed: 3)
        for n in [1, 7, 8, 100, 4096, 65_537] {
            let register = UInt32(truncatingIfNeeded: g.next())
            // The raw register after n zero bytes, the slow way.
            let slow = ~CRC32C.referenceChecksum([UInt8](repeating: 0, count: n), initial: ~register)
            #expect(CRC32C.multiplyModP(CRC32C.zerosOperator(bytes: n), register) == slow, "n \(n)")
        }
        #expect(CRC32C.multiplyModP(0, 0x1234) == 0)
        #expect(CRC32C.multiplyModP(1 << 31, 0x1234) == 0x1234)   // x^0 is one
    }

    /// Random checkpoints: zero runs broken by gaps and non-zero pages,
    /// pages out of order and far apart, blobs with odd names, with and
    /// without a digest. The fast encoder's bytes equal the reference's.
    @Test func fastEncoderMatchesTheReferenceOnRandomCheckpoints() throws {
        var g = SplitMix64(seed: 0xc0ffee)
        let zero = [UInt8](repeating: 0, count: 4096)
        for round in 0..<150 {
            var c = Fixtures.checkpoint(id: UInt32(round), eventIndex: g.next() >> 20, full: round % 3 == 0,
                                        digest: round % 2 == 0 ? g.next() : nil)
            var pages: [PageRecord] = []
            var gpa = (g.next() % 64) << 12
            for _ in 0..<Int(g.next() % 40) {
                switch g.next() % 6 {
                case 0: gpa = (g.next() >> 12) << 12   // anywhere, even near the top
                case 1: gpa = gpa &- ((g.next() % 8) << 12)   // backwards
                case 2: gpa = gpa &+ ((2 + g.next() % 8) << 12)   // a gap
                default: gpa = gpa &+ 4096
                }
                pages.append(PageRecord(gpa: gpa, bytes: g.next() % 3 == 0 ? Fixtures.page(g.next()) : zero))
            }
            c.pages = pages
            if round % 5 == 0 { c.state.blobs = [:]; c.state.msrs = []; c.deviceState = [] }
            if round % 7 == 0 { c.state.blobs["ünï ✓"] = [1]; c.state.blobs["Z"] = [] }
            let fast = try CheckpointCodec.encode(c, path: "t")
            #expect(fast == ReferenceCheckpointEncoder.encode(c), "round \(round)")
            #expect(try CheckpointCodec.plan(c, path: "t").size == fast.count)
            var r = ByteReader(fast, name: "t")
            #expect(try CheckpointCodec.decode(&r, pageLimit: UInt64(c.pages.count)) == c.compacted, "round \(round)")
        }
    }

    @Test func badPagesAreRefusedBeforeAnythingIsWritten() throws {
        var c = Fixtures.checkpoint(id: 1, eventIndex: 2)
        c.pages.append(PageRecord(gpa: 0x5001, bytes: [UInt8](repeating: 0, count: 4096)))
        #expect { try CheckpointCodec.encode(c, path: "p.vmrr") } throws: {
            ($0 as? JournalError)?.reason == "checkpoint 1: page gpa 0x5001 is not page-aligned"
        }
        c.pages[c.pages.count - 1] = PageRecord(gpa: 0x5000, bytes: [1, 2, 3])
        let path = Fixtures.tempPath("badpage")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Fixtures.header())
        try w.append(.hlt, regs: GPRegisters())
        let before = w.bytesWritten
        #expect { try w.appendCheckpoint(c) } throws: {
            ($0 as? JournalError)?.reason == "checkpoint 1: page 0x5000 has 3 bytes, not 4096"
        }
        #expect(w.bytesWritten == before)
        // The writer goes on working.
        c.pages.removeLast()
        try w.appendCheckpoint(c)
        try w.finish()
        #expect(try JournalReader(path: path).checkpoint(id: 1) == c.compacted)
    }

    /// Checkpoints of changing sizes reuse and grow the writer's buffer.
    @Test func checkpointsOfChangingSizesRoundTrip() throws {
        let path = Fixtures.tempPath("sizes")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Fixtures.header())
        var written: [Checkpoint] = []
        for (id, n) in [3, 300, 10, 600, 0, 1].enumerated() {
            try w.append(.checkpoint(id: UInt32(id)), regs: GPRegisters())
            var c = Fixtures.checkpoint(id: UInt32(id), eventIndex: UInt64(id))
            c.pages = (0..<n).map { PageRecord(gpa: UInt64($0) << 12, bytes: Fixtures.page(UInt64($0 + id))) }
            try w.appendCheckpoint(c)
            written.append(c)
        }
        try w.finish()
        let r = try JournalReader(path: path)
        for c in written { #expect(try r.checkpoint(id: c.id) == c.compacted) }
    }

    /// The encode + checksum path for 4 MiB of dirty pages. The figure is
    /// printed; the bound is loose because debug builds are slow (the release
    /// figure is what `vmrr bench` reports).
    @Test func encodingDirtyPagesIsFast() throws {
        let pattern = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var c = Fixtures.checkpoint(id: 1, eventIndex: 1)
        c.pages = (0..<1024).map { PageRecord(gpa: 0x20_0000 + UInt64($0) << 12, bytes: pattern) }
        let clock = ContinuousClock()
        var bytes: [UInt8] = []
        let elapsed = try clock.measure {
            bytes = try CheckpointCodec.encode(c, path: "t")
            _ = CRC32C.checksum(bytes)
        }
        let us = Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
        print("checkpoint encode + CRC: \(Int(us / 4)) µs/MiB (this build's optimization level)")
        #expect(bytes.count > 4 << 20)
        #expect(us / 4 < 200_000)
    }
}
