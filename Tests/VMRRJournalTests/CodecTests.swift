import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport

@Suite struct CRCTests {
    @Test func knownVector() {
        // The CRC-32C check value from the Castagnoli/iSCSI specification.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    }

    @Test func sliceBy8AgreesWithBitwiseAndChains() {
        var g = SplitMix64(seed: 42)
        for len in [0, 1, 7, 8, 9, 15, 16, 63, 64, 100, 1000] {
            let b = (0..<len).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            let fast = CRC32C.checksum(b)
            #expect(fast == CRC32C.referenceChecksum(b), "length \(len)")
            let split = len / 3
            let chained = CRC32C.checksum(b, range: split..<len, initial: CRC32C.checksum(b, range: 0..<split))
            #expect(chained == fast, "chained length \(len)")
        }
    }
}

@Suite struct VarintTests {
    @Test func roundTripAndSizes() throws {
        let values: [UInt64] = [0, 1, 127, 128, 300, 16383, 16384, UInt64(UInt32.max), UInt64.max - 1, UInt64.max]
        for v in values {
            var s = ByteSink()
            s.varint(v)
            #expect(s.bytes.count == varintSize(v))
            var r = ByteReader(s.bytes, name: "t")
            #expect(try r.varint("v") == v)
            #expect(r.atEnd)
        }
        #expect(varintSize(UInt64.max) == 10)
        for v: Int64 in [0, -1, 1, Int64.min, Int64.max, -64, 63] {
            #expect(zigzagDecode(zigzagEncode(v)) == v)
        }
        #expect(zigzagEncode(-1) == 1 && zigzagEncode(1) == 2)
    }

    @Test func overlongAndOverflowingVarintsAreErrors() {
        var eleven = [UInt8](repeating: 0x80, count: 10); eleven.append(0)
        var r = ByteReader(eleven, name: "t")
        #expect(throws: JournalError.self) { try r.varint("v") }
        // 10 bytes whose last carries more than bit 63.
        var big = [UInt8](repeating: 0xff, count: 9); big.append(0x02)
        var r2 = ByteReader(big, name: "t")
        do { _ = try r2.varint("v"); Issue.record("no error") } catch let e as JournalError {
            #expect(e.reason.contains("overflow"))
            #expect(e.offset == 0)
        } catch { Issue.record("\(error)") }
        var r3 = ByteReader([0x80, 0x80], name: "t")
        #expect(throws: JournalError.self) { try r3.varint("v") }
    }
}

@Suite struct RoundTripTests {
    @Test func everyEventKindAndHeaderField() throws {
        let path = Fixtures.tempPath("kinds")
        defer { unlink(path) }
        let written = try Fixtures.write(path: path, events: Fixtures.everyKind)
        let r = try JournalReader(path: path)
        #expect(r.header == Fixtures.header())
        #expect(r.formatVersion == JournalFormat.version)
        #expect(r.truncationNote == nil)
        #expect(r.usedIndexTail)
        #expect(r.eventCount == UInt64(written.count))
        #expect(try r.events() == written)
        // Every kind of a one-vCPU journal is covered by the fixture (version 3's are in SMPJournalTests).
        #expect(Set(written.map { $0.event.kind }) == Set(EventKind.allCases.filter { !$0.needsMoreThanOneVCPU }))
    }

    @Test func registersRoundTripWithWildChanges() throws {
        let path = Fixtures.tempPath("regs")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Fixtures.header())
        var written: [EventRecord] = []
        for i in 0..<600 {
            let regs = i % 7 == 0 ? GPRegisters() : Fixtures.regs(UInt64(i))
            let e: Event = i % 2 == 0 ? .io(port: UInt16(truncatingIfNeeded: regs.rdx), size: 1, direction: .write, value: regs.rax & 0xff)
                : .clock(ns: regs.rcx)
            written.append(EventRecord(index: try w.append(e, regs: regs), regs: regs, event: e))
            if i % 97 == 0 { try w.flush() }
        }
        try w.finish()
        let r = try JournalReader(path: path)
        #expect(try r.events() == written)
    }

    /// Format 4 predicts a record's register delta from the previous record
    /// of its kind: a loop that makes the same exits with the same register
    /// changes costs a one-byte register field per record.
    @Test func repeatedRegisterDeltasArePredicted() throws {
        let path = Fixtures.tempPath("predicted")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Fixtures.header())
        var regs = GPRegisters()
        regs.rip = 0x10_0040; regs.rflags = 0x2; regs.rax = 5_000; regs.r12 = 5_000
        var written: [EventRecord] = []
        var sizes: [UInt64] = []
        // A clock loop as the bench guest's: RAX and R12 take the clock
        // (+1,000 ns), RBX counts; every eighth pass RFLAGS changes too.
        for i in 0..<64 {
            let before = w.bytesWritten
            regs.rax &+= 1_000; regs.r12 &+= 1_000; regs.rbx &+= 1
            if i % 8 == 7 { regs.rflags ^= 0x40 }
            let e = Event.clock(ns: regs.rax)
            written.append(EventRecord(index: try w.append(e, regs: regs), regs: regs, event: e))
            sizes.append(w.bytesWritten - before)
        }
        // A steady pass: length, kind, the register field (1: predicted,
        // nothing to correct), the clock delta (2 bytes).
        // (The first record also carries the chunk's frame.) A pass where
        // RFLAGS flips, and the one after it, correct one register: 6-7 bytes.
        #expect(sizes[2...].filter { $0 == 5 }.count >= 45, "\(sizes)")
        #expect(sizes[2...].allSatisfy { $0 <= 7 }, "\(sizes)")
        try w.finish()
        #expect(try JournalReader(path: path).events() == written)
    }

    /// Kinds interleave, registers follow each kind's own progression with
    /// noise, vCPUs switch, chunks end: what is decoded is what was written,
    /// and the predicted form makes the events chunks smaller than the
    /// unpredicted one would (the same records in format 3).
    @Test func predictionRoundTripsAcrossKindsChunksAndVCPUs() throws {
        var g = SplitMix64(seed: 44)
        let kinds: [Event] = [.io(port: 0x3fd, size: 1, direction: .read, value: 0x60), .hlt, .clock(ns: 77),
                              .mmio(gpa: 0xfed0_00f0, size: 8, direction: .read, value: 12), .interrupt(vector: 0x30)]
        var header = Fixtures.header()
        header.vcpuCount = 2
        var state = [GPRegisters(), GPRegisters()]
        var running: UInt8 = 0
        var records: [(Event, GPRegisters)] = []
        for i in 0..<4000 {
            if g.next() % 50 == 0 {
                running ^= 1
                records.append((.switchVCPU(vcpu: running), state[Int(running)]))
            }
            let k = Int(g.next() % UInt64(kinds.count))
            var r = state[Int(running)]
            r.rip = 0x1000 + UInt64(k) * 0x40
            r.rax &+= UInt64(k + 1) * 1000
            r.rcx &+= UInt64(k)
            r.rsp &-= 8 * UInt64(k & 1)
            if g.next() % 4 == 0 { r.rdx = g.next() >> (g.next() % 64) }
            if i % 300 == 0 { r.r15 = g.next() }
            state[Int(running)] = r
            records.append((kinds[k], r))
        }
        func write(_ path: String, version: UInt16) throws -> (records: [EventRecord], bytes: UInt64) {
            var codec = EventCodec(formatVersion: version, vcpuCount: 2)
            var out: [EventRecord] = []
            var bytes: UInt64 = 0
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1024)
            defer { buffer.deallocate() }
            for (i, (e, r)) in records.enumerated() {
                if i % 700 == 0 { codec.reset() }
                var enc = RawEncoder(p: buffer)
                codec.encode(e, regs: r, into: &enc)
                bytes += UInt64(enc.p - buffer)
                out.append(EventRecord(index: UInt64(i), regs: r, event: e, vcpu: codec.vcpu))
            }
            if version == JournalFormat.version {
                let w = try JournalWriter(path: path, header: header)
                for (i, (e, r)) in records.enumerated() {
                    try w.append(e, regs: r)
                    if i % 700 == 699 { try w.flush() }
                }
                try w.finish()
            }
            return (out, bytes)
        }
        let path = Fixtures.tempPath("predicted-mix")
        defer { unlink(path) }
        let v4 = try write(path, version: 4)
        let v3 = try write(path, version: 3)
        let r = try JournalReader(path: path)
        #expect(try r.events().map { $0.regs } == v4.records.map(\.regs))
        #expect(try r.events().map { $0.vcpu } == v4.records.map(\.vcpu))
        #expect(try r.events().map { $0.event } == v4.records.map(\.event))
        // Random access decodes a chunk alone, predictions included.
        #expect(try JournalReader(path: path).event(at: 3333).regs == v4.records[3333].regs)
        #expect(v4.bytes * 10 < v3.bytes * 9, "format 4: \(v4.bytes) bytes, format 3: \(v3.bytes)")
    }

    @Test func checkpointRoundTrip() throws {
        let path = Fixtures.tempPath("cp")
        defer { unlink(path) }
        let c0 = Fixtures.checkpoint(id: 0, eventIndex: 0, full: true, digest: nil)
        let c1 = Fixtures.checkpoint(id: 1, eventIndex: 5, full: false, digest: 0x1234)
        let c2 = Checkpoint(id: 7, eventIndex: 9, full: false, state: VCPUState(), pages: [])
        let events = Array(Fixtures.everyKind.prefix(12))
        try Fixtures.write(path: path, events: events, checkpointsAt: [0: c0, 5: c1, 9: c2])
        let r = try JournalReader(path: path)
        #expect(r.checkpoints.map(\.id) == [0, 1, 7])
        #expect(r.checkpoints.map(\.full) == [true, false, false])
        #expect(try r.checkpoint(id: 0) == c0.compacted)
        #expect(try r.checkpoint(id: 1) == c1.compacted)
        #expect(try r.checkpoint(id: 7) == c2.compacted)
        #expect(r.checkpoint(atOrBefore: 4)?.id == 0)
        #expect(r.checkpoint(atOrBefore: 5)?.id == 1)
        #expect(r.checkpoint(atOrBefore: 100)?.id == 7)
        #expect(throws: JournalError.self) { try r.checkpoint(id: 3) }
        #expect(try r.events().count == events.count)
    }

    @Test func zeroPagesCostAlmostNothing() throws {
        // A full checkpoint of a 64 MiB guest with 200 non-zero pages.
        let path = Fixtures.tempPath("zero")
        defer { unlink(path) }
        let pageCount = (64 << 20) / 4096
        var pages: [PageRecord] = []
        let zero = [UInt8](repeating: 0, count: 4096)
        for p in 0..<pageCount {
            pages.append(PageRecord(gpa: UInt64(p) * 4096, bytes: p % 80 == 0 && p / 80 < 200 ? Fixtures.page(UInt64(p)) : zero))
        }
        let nonZero = pages.filter { !$0.bytes.allSatisfy { $0 == 0 } }.count
        #expect(nonZero == 200)
        let c = Checkpoint(id: 0, eventIndex: 0, full: true, state: VCPUState(), pages: pages)
        let w = try JournalWriter(path: path, header: Fixtures.header())
        try w.append(.checkpoint(id: 0), regs: GPRegisters())
        try w.appendCheckpoint(c)
        try w.finish()
        #expect(w.checkpointBytes > 200 * 4096)
        #expect(w.checkpointBytes < 200 * 4096 + 4096)
        let r = try JournalReader(path: path)
        #expect(r.checkpointBytes == w.checkpointBytes)
        #expect(try r.checkpoint(id: 0) == c.compacted)
    }

    @Test func randomAccessAndStreamingAgree() throws {
        let path = Fixtures.tempPath("ra")
        defer { unlink(path) }
        var g = SplitMix64(seed: 7)
        let events = (0..<10_000).map { _ in Fixtures.everyKind[Int(g.next() % UInt64(Fixtures.everyKind.count))] }
        let written = try Fixtures.write(path: path, events: events, flushEvery: 777)
        let r = try JournalReader(path: path)
        #expect(r.eventCount == 10_000)
        var streamed: [EventRecord] = []
        try r.forEachEvent { streamed.append($0); return true }
        #expect(streamed == written)
        for _ in 0..<300 {
            let i = g.next() % 10_000
            #expect(try r.event(at: i) == written[Int(i)])
        }
        // In order (a replay's pattern: the decoded chunk's fast path) and backward, across chunk boundaries.
        for i in UInt64(700)..<1600 { #expect(try r.event(at: i) == written[Int(i)]) }
        for i in stride(from: UInt64(2400), to: 1500, by: -1) { #expect(try r.event(at: i) == written[Int(i)]) }
        #expect(try r.events(from: 4000, count: 50) == Array(written[4000..<4050]))
        #expect(try r.events(from: 9990, count: 50) == Array(written[9990...]))
        var stoppedAt: UInt64 = 0
        try r.forEachEvent(from: 1234) { stoppedAt = $0.index; return $0.index < 1300 }
        #expect(stoppedAt == 1300)
        #expect(throws: JournalError.self) { try r.event(at: 10_000) }
    }

    @Test func indexTailAndScanFallbackAgree() throws {
        let path = Fixtures.tempPath("tail")
        defer { unlink(path) }
        let cps: [UInt64: Checkpoint] = [100: Fixtures.checkpoint(id: 1, eventIndex: 100), 3000: Fixtures.checkpoint(id: 2, eventIndex: 3000)]
        let events = (0..<5000).map { Fixtures.everyKind[$0 % Fixtures.everyKind.count] }
        let written = try Fixtures.write(path: path, events: events, checkpointsAt: cps, flushEvery: 1000)
        let bytes = try Fixtures.read(path)
        let withTail = try JournalReader(bytes: bytes, name: "full.vmrr")
        #expect(withTail.usedIndexTail)
        #expect(withTail.truncationNote == nil)
        // Drop the trailer magic: the reader must scan and still find everything, with a note.
        let noTail = try JournalReader(bytes: Array(bytes.dropLast(16)), name: "cut.vmrr")
        #expect(!noTail.usedIndexTail)
        #expect(noTail.truncationNote != nil)
        #expect(noTail.eventCount == withTail.eventCount)
        #expect(noTail.checkpoints == withTail.checkpoints)
        #expect(try noTail.events() == written)
        #expect(try withTail.events() == written)
        #expect(try noTail.checkpoint(id: 2) == cps[3000]?.compacted)
    }

    @Test func killedRecorderReadsUpToLastChunk() throws {
        let path = Fixtures.tempPath("killed")
        defer { unlink(path) }
        let events = (0..<300).map { _ in Event.clock(ns: 5) }
        // flush() every 100 events and never finish: as if SIGKILLed after the last flush.
        let written = try Fixtures.write(path: path, events: events, flushEvery: 100, finish: false)
        var bytes = try Fixtures.read(path)
        // Plus half a chunk that never completed.
        bytes += Array("CHNK".utf8) + [1, 0xff, 0, 0, 0]
        let r = try JournalReader(bytes: bytes, name: "killed.vmrr")
        #expect(r.eventCount == 300)
        let note = try #require(r.truncationNote)
        #expect(note.contains("journal ends at offset \(bytes.count) inside a chunk"))
        #expect(note.contains("300 events readable"))
        #expect(try r.events() == written)
    }

    @Test func writerCountsAndIdempotentFinish() throws {
        let path = Fixtures.tempPath("count")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Fixtures.header())
        let before = w.bytesWritten
        #expect(try w.append(.hlt, regs: GPRegisters()) == 0)
        #expect(try w.append(.hlt, regs: GPRegisters()) == 1)
        #expect(w.eventCount == 2)
        #expect(w.bytesWritten > before)
        try w.finish()
        let size = w.bytesWritten
        try w.finish()
        #expect(w.bytesWritten == size)
        #expect(try Fixtures.read(path).count == Int(size))
        #expect(throws: JournalError.self) { try w.append(.hlt, regs: GPRegisters()) }
        let bad = Checkpoint(id: 1, eventIndex: 0, full: false, state: VCPUState(), pages: [PageRecord(gpa: 0x1001, bytes: Fixtures.page(1))])
        let w2 = try JournalWriter(path: path, header: Fixtures.header())
        #expect(throws: JournalError.self) { try w2.appendCheckpoint(bad) }
        try w2.appendCheckpoint(Fixtures.checkpoint(id: 1, eventIndex: 0))
        #expect(throws: JournalError.self) { try w2.appendCheckpoint(Fixtures.checkpoint(id: 1, eventIndex: 0)) }
    }
}
