import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport

/// Hand-built journals and chunks for hostile-input tests.
enum Build {
    static func header(_ h: JournalHeader = Fixtures.header()) -> [UInt8] { HeaderCodec.encode(h) }

    /// A chunk with a correct CRC over whatever fields and payload it is given.
    static func chunk(type: UInt8, first: UInt64, count: UInt32, payload: [UInt8], length: UInt32? = nil) -> [UInt8] {
        var s = ByteSink()
        s.raw(JournalFormat.chunkMagic)
        s.u8(type)
        s.u32(length ?? UInt32(payload.count))
        s.u64(first)
        s.u32(count)
        let fields = CRC32C.checksum(s.bytes, range: JournalFormat.chunkCRCFieldsRange)
        s.u32(CRC32C.checksum(payload, initial: fields))
        s.raw(payload)
        return s.bytes
    }

    /// An events payload from encoded records.
    static func records(_ events: [Event], version: UInt16 = JournalFormat.version) -> [UInt8] {
        var codec = EventCodec(formatVersion: version)
        var out: [UInt8] = []
        for e in events {
            var buf = [UInt8](repeating: 0, count: EventCodec.maxRecordSize(e))
            let body = buf.withUnsafeMutableBufferPointer { p -> [UInt8] in
                var enc = RawEncoder(p: p.baseAddress!)
                codec.encode(e, regs: GPRegisters(), into: &enc)
                return Array(p[0..<(enc.p - p.baseAddress!)])
            }
            var s = ByteSink()
            // Format 4: the length's low bit is the prediction bit.
            s.varint(codec.predicts ? UInt64(body.count) << 1 | (codec.lastRecordPredicted ? 1 : 0) : UInt64(body.count))
            out += s.bytes + body
        }
        return out
    }

    /// A header with a different version pair and extra TLV bytes, CRC recomputed.
    static func header(version: UInt16, minReader: UInt16, extraTLV: [UInt8] = [], breakTLV: Bool = false) -> [UInt8] {
        let base = header()
        var r = ByteReader(base, name: "x", from: 12)
        let len = Int(try! r.u32("len"))
        var tlv = Array(base[16..<(16 + len)]) + extraTLV
        if breakTLV { tlv = [0xff, 0xff, 0xff] }
        var s = ByteSink()
        s.raw(JournalFormat.fileMagic)
        s.u16(version)
        s.u16(minReader)
        s.u32(UInt32(tlv.count))
        s.raw(tlv)
        s.u32(CRC32C.checksum(s.bytes))
        return s.bytes
    }
}

/// Opens and reads everything; returns the error, if any.
func openAndReadAll(_ bytes: [UInt8], name: String = "t.vmrr") -> (JournalReader?, [EventRecord], Error?) {
    do {
        let r = try JournalReader(bytes: bytes, name: name)
        do {
            let (events, _) = try Fixtures.readAll(r)
            return (r, events, nil)
        } catch { return (r, [], error) }
    } catch { return (nil, [], error) }
}

/// Peak resident set size in KiB.
func maxRSSKiB() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return u.ru_maxrss
}

@Suite struct CorruptionTests {
    static func smallJournal(finish: Bool = true) throws -> ([UInt8], [EventRecord]) {
        let path = Fixtures.tempPath("small")
        defer { unlink(path) }
        let cp = Checkpoint(id: 1, eventIndex: 3, full: false, state: VCPUState(),
                            pages: [PageRecord(gpa: 0x2000, bytes: [UInt8](repeating: 0, count: 4096))], deviceState: [1, 2])
        let written = try Fixtures.write(path: path, events: Array(Fixtures.everyKind.prefix(14)), checkpointsAt: [3: cp],
                                         flushEvery: 5, finish: finish)
        return (try Fixtures.read(path), written)
    }

    @Test func truncationAtEveryOffset() throws {
        let (bytes, written) = try Self.smallJournal()
        var lastReadable = 0
        var sawNote = false
        var sawError = false
        for cut in 0...bytes.count {
            let (reader, events, err) = openAndReadAll(Array(bytes[0..<cut]), name: "cut.vmrr")
            if let err {
                let e = try #require(err as? JournalError, "cut \(cut): \(err)")
                #expect(e.offset != nil, "cut \(cut): \(e)")
                #expect(e.description.hasPrefix("cut.vmrr: offset "))
                // Only a header cut short is an error; a cut in the chunks is a readable prefix.
                #expect(cut < Build.header().count, "cut \(cut): \(e)")
                #expect(lastReadable == 0)
                sawError = true
                continue
            }
            let r = try #require(reader)
            #expect(events.count == Int(r.eventCount))
            #expect(events.count <= written.count)
            #expect(events == Array(written.prefix(events.count)), "cut \(cut)")
            #expect(events.count >= lastReadable, "cut \(cut): readable events went down")
            lastReadable = events.count
            if cut < bytes.count {
                let note = try #require(r.truncationNote, "cut \(cut) has no note")
                #expect(note.contains("\(events.count) events readable"))
                sawNote = true
            } else {
                #expect(r.truncationNote == nil)
            }
        }
        #expect(sawNote && sawError)
        #expect(lastReadable == written.count)
    }

    @Test func singleBitFlipsAreDetected() throws {
        let (bytes, _) = try Self.smallJournal()
        for offset in 0..<bytes.count {
            for bit in [offset % 8, (offset + 3) % 8] {
                var b = bytes
                b[offset] ^= UInt8(1) << UInt8(bit)
                let (_, _, err) = openAndReadAll(b, name: "flip.vmrr")
                let e = try #require(err as? JournalError, "flip at \(offset) bit \(bit) went undetected")
                #expect(e.offset != nil, "flip at \(offset): \(e)")
                #expect(e.description.hasPrefix("flip.vmrr: offset "), "\(e)")
            }
        }
    }

    @Test func crcMismatchMessage() throws {
        var b = Build.header()
        let chunkAt = b.count
        var c = Build.chunk(type: ChunkType.events.rawValue, first: 0, count: 1, payload: Build.records([.hlt]))
        c[c.count - 1] ^= 0x40
        b += c
        let (_, _, err) = openAndReadAll(b, name: "trace.vmrr")
        let e = try #require(err as? JournalError)
        #expect(e.offset == UInt64(chunkAt))
        #expect(e.description.hasPrefix("trace.vmrr: offset \(chunkAt): chunk CRC mismatch (stored 0x"))
        #expect(e.description.contains("computed 0x"))
    }

    /// Each case: bytes after the header, and a fragment the error must contain.
    static let hostile: [(String, [UInt8], String)] = {
        let ev = ChunkType.events.rawValue, cp = ChunkType.checkpoint.rawValue, ix = ChunkType.index.rawValue
        let good3 = Build.chunk(type: ev, first: 0, count: 3, payload: Build.records([.hlt, .hlt, .hlt]))
        var elevenByteMask: [UInt8] = [EventKind.hlt.rawValue] + [UInt8](repeating: 0x80, count: 10) + [0]
        elevenByteMask.insert(UInt8(elevenByteMask.count), at: 0)
        // A checkpoint payload whose MSR count is enormous.
        var cpHead = ByteSink()
        cpHead.u32(1); cpHead.u64(0); cpHead.u8(0)
        for _ in 0..<GPRegisters.count { cpHead.u64(0) }
        for _ in 0..<8 { cpHead.u64(0); cpHead.u32(0); cpHead.u16(0); cpHead.u8(0); cpHead.u8(0); cpHead.u8(0) }
        for _ in 0..<2 { cpHead.u64(0); cpHead.u16(0) }
        for _ in 0..<7 { cpHead.u64(0) }
        var hugeMSRs = cpHead; hugeMSRs.varint(UInt64(1) << 40)
        var manyPages = cpHead; manyPages.varint(0); manyPages.varint(0); manyPages.varint(0); manyPages.varint(1_000_000)
        var zeroRun = cpHead; zeroRun.varint(0); zeroRun.varint(0); zeroRun.varint(0); zeroRun.varint(1)
        zeroRun.varint(1); zeroRun.varint(UInt64(1) << 50)
        var shortPage = cpHead; shortPage.varint(0); shortPage.varint(0); shortPage.varint(0); shortPage.varint(1)
        shortPage.varint(0); shortPage.raw([UInt8](repeating: 7, count: 100))
        var hugeIndex = ByteSink(); hugeIndex.u32(UInt32.max); hugeIndex.u32(UInt32.max)
        var hugeError = [EventKind.error.rawValue, 0, 1, 1]
        var big = ByteSink(); big.varint(UInt64(1) << 40); hugeError += big.bytes
        hugeError.insert(UInt8(hugeError.count) << 1, at: 0)   // format 4: length << 1
        return [
            ("huge chunk length", Build.chunk(type: ev, first: 0, count: 1, payload: [], length: 0xffff_fff0), "exceeds the limit"),
            ("huge record count", Build.chunk(type: ev, first: 0, count: UInt32.max, payload: Build.records([.hlt])), "claims 4294967295 records"),
            ("count beyond payload", Build.chunk(type: ev, first: 0, count: 4000, payload: Build.records([.hlt])), "claims 4000 records"),
            ("11-byte varint", Build.chunk(type: ev, first: 0, count: 1, payload: elevenByteMask), "varint"),
            // Format 4: a record's length field is its length << 1 (the low bit: predicted registers).
            ("record past chunk", Build.chunk(type: ev, first: 0, count: 1, payload: [100, EventKind.hlt.rawValue, 0]), "runs past the end of its chunk"),
            ("unknown kind", Build.chunk(type: ev, first: 0, count: 1, payload: [4, 31, 0]), "unknown event kind 31"),
            ("undefined flags", Build.chunk(type: ev, first: 0, count: 1, payload: [4, EventKind.hlt.rawValue | 0x80, 0]), "not defined for hlt"),
            ("trailing bytes in record", Build.chunk(type: ev, first: 0, count: 1, payload: [6, EventKind.hlt.rawValue, 0, 0]), "unexpected bytes"),
            ("huge record length", Build.chunk(type: ev, first: 0, count: 1, payload: [0x83, 0x80, 0x01, EventKind.hlt.rawValue, 0]), "exceeds the limit"),
            ("fewer records than count", Build.chunk(type: ev, first: 0, count: 2, payload: Build.records([.hlt]) + [0, 0]), "event 1"),
            ("huge error data", Build.chunk(type: ev, first: 0, count: 1, payload: hugeError), "error data"),
            ("event index gap", good3 + Build.chunk(type: ev, first: 5, count: 1, payload: Build.records([.hlt])), "gap in event indices"),
            ("non-monotonic indices", good3 + Build.chunk(type: ev, first: 1, count: 1, payload: Build.records([.hlt])), "go backwards"),
            ("unknown chunk type", Build.chunk(type: 9, first: 0, count: 0, payload: []), "unknown chunk type 9"),
            ("bad chunk magic", Array("CHNX".utf8) + [UInt8](repeating: 0, count: 30), "bad chunk magic"),
            ("huge MSR count", Build.chunk(type: cp, first: 1, count: 0, payload: hugeMSRs.bytes), "MSR count"),
            ("page count beyond payload", Build.chunk(type: cp, first: 1, count: 1, payload: manyPages.bytes), "page entry count"),
            ("huge zero run", Build.chunk(type: cp, first: 1, count: 4, payload: zeroRun.bytes), "zero run"),
            ("page past payload", Build.chunk(type: cp, first: 1, count: 1, payload: shortPage.bytes), "needs 4096 bytes"),
            ("pages beyond guest memory", Build.chunk(type: cp, first: 1, count: UInt32.max, payload: manyPages.bytes), "pages; the guest has"),
            ("checkpoint id mismatch", Build.chunk(type: cp, first: 2, count: 0, payload: hugeMSRs.bytes), "frame says id 2"),
            ("huge index counts", Build.chunk(type: ix, first: 0, count: 0, payload: hugeIndex.bytes) + [UInt8](repeating: 0, count: 8) + Array("VMRRIDX1".utf8), "index lists"),
        ]
    }()

    @Test func hostileChunksGiveErrorsWithoutLargeAllocations() throws {
        let rssBefore = maxRSSKiB()
        let start = Date()
        let head = Build.header()
        for (name, chunk, fragment) in Self.hostile {
            var bytes = head + chunk
            if name == "huge index counts" {
                // Point the trailer at the index chunk.
                for i in 0..<8 { bytes[bytes.count - 16 + i] = UInt8(truncatingIfNeeded: UInt64(head.count) >> (8 * i)) }
            }
            let (_, _, err) = openAndReadAll(bytes, name: "hostile.vmrr")
            let e = try #require(err as? JournalError, "\(name): no error")
            #expect(e.offset != nil, "\(name): \(e)")
            #expect(e.reason.contains(fragment), "\(name): \(e)")
            #expect(!e.description.contains("\n"))
        }
        #expect(Date().timeIntervalSince(start) < 10)
        // Nothing sized by a hostile count was allocated (64 MiB of slack for the rest of the suite).
        #expect(maxRSSKiB() - rssBefore < 64 * 1024)
    }

    @Test func futureVersionsAreRefusedWithAUsefulMessage() throws {
        var h = Fixtures.header()
        h.vmrrVersion = "3.1.4"
        let named = Build.header(version: 5, minReader: 5)
        let (_, _, err) = openAndReadAll(named, name: "new.vmrr")
        let e = try #require(err as? JournalError)
        #expect(e.description == "new.vmrr: offset 8: journal format version 5 needs vmrr 0.1.0 or newer; this vmrr reads versions up to 4")
        let broken = Build.header(version: 7, minReader: 5, breakTLV: true)
        let (_, _, err2) = openAndReadAll(broken, name: "new.vmrr")
        let e2 = try #require(err2 as? JournalError)
        #expect(e2.reason == "journal format version 7 needs a newer vmrr; this vmrr reads versions up to 4")
    }

    @Test func newerCompatibleVersionsSkipUnknownFields() throws {
        // A future version 5 that older readers may read (minimum reader 1), with a field they do not know (tag 99).
        var extra = ByteSink()
        extra.varint(99); extra.lengthPrefixed([1, 2, 3, 4, 5])
        var bytes = Build.header(version: 5, minReader: 1, extraTLV: extra.bytes)
        bytes += Build.chunk(type: ChunkType.events.rawValue, first: 0, count: 2, payload: Build.records([.hlt, .clock(ns: 9)]))
        let r = try JournalReader(bytes: bytes, name: "v5.vmrr")
        #expect(r.formatVersion == 5)
        #expect(r.header == Fixtures.header())
        #expect(try r.events().map(\.event) == [.hlt, .clock(ns: 9)])
    }

    @Test func notAJournal() throws {
        for bytes in [[], Array("hello".utf8), Array("VMRRJRNX".utf8) + [UInt8](repeating: 0, count: 40)] {
            let (_, _, err) = openAndReadAll(bytes, name: "x")
            let e = try #require(err as? JournalError)
            #expect(e.offset == 0)
        }
        #expect(throws: JournalError.self) { try JournalReader(path: "/nonexistent/dir/j.vmrr") }
    }

    /// Random corruptions of finished and unfinished journals, a multi-chunk
    /// journal with checkpoints, and a bundle: never a crash or hang; either a
    /// one-line error with an offset, or a consistent readable journal. The
    /// damage (Corruption.swift, shared with VMRRReplayTests and the fuzzer)
    /// is byte- and chunk-level, and checksums are usually repaired after it
    /// so the decoders behind them are reached.
    /// The case count comes from VMRR_JOURNAL_FUZZ_CASES (default 3000).
    @Test func randomCorruptions() throws {
        let cases = Int(ProcessInfo.processInfo.environment["VMRR_JOURNAL_FUZZ_CASES"] ?? "") ?? 3000
        try Self.fuzz(cases: cases, seed: 0x5eed)
    }

    static func fuzz(cases: Int, seed: UInt64) throws {
        let (finished, _) = try smallJournal(finish: true)
        let (unfinished, _) = try smallJournal(finish: false)
        let golden = try Golden.journal()
        let bundle = VMRRBundle(manifest: "vmrr bundle version 1\n", journal: finished, image: Array("\u{7f}ELF".utf8)).encode()
        let seeds = [finished, unfinished, golden, bundle]
        var g = SplitMix64(seed: seed)
        var errors = 0, readable = 0, badBundles = 0
        for i in 0..<cases {
            // The multi-chunk journal is large: one case in sixteen.
            let k = i % 16 == 15 ? 2 : [0, 1, 3][i % 3]
            var b = Corruptor.mutate(seeds[k], other: seeds[Int(g.next() % 4)], using: &g)
            if VMRRBundle.looksLikeBundle(b) {
                do {
                    b = try VMRRBundle.decode(b, name: "fuzz.vmrrpack").journal
                } catch {
                    guard let e = error as? JournalError, e.offset != nil, !e.description.contains("\n") else {
                        Issue.record("case \(i): bad bundle error \(error)")
                        continue
                    }
                    badBundles += 1
                    continue
                }
            }
            let (reader, events, err) = openAndReadAll(b, name: "fuzz.vmrr")
            if let err {
                guard let e = err as? JournalError, e.offset != nil, !e.description.contains("\n") else {
                    Issue.record("case \(i): bad error \(err)")
                    continue
                }
                errors += 1
            } else if let r = reader {
                readable += 1
                #expect(UInt64(events.count) == r.eventCount, "case \(i)")
                #expect(events.enumerated().allSatisfy { UInt64($0.offset) == $0.element.index }, "case \(i)")
            }
        }
        print("fuzz: \(cases) cases, \(errors) errors, \(readable) readable, \(badBundles) bundles refused")
        #expect(errors + readable + badBundles == cases)
        #expect(errors > 0)
        if cases >= 100 { #expect(readable > 0 && badBundles > 0) }
    }
}
