import Foundation
import Testing
@testable import VMRRJournal
import VMRRBase
import VMRRTestSupport

/// Journal format version 3 (docs/SMP.md): `switch` and `startup` records,
/// per-vCPU register deltas, the events chunk's leading vCPU byte, and the
/// version rules (one vCPU stays version 2).
@Suite struct SMPJournalTests {
    static func header(vcpus: UInt32) -> JournalHeader {
        var h = Fixtures.header()
        h.vcpuCount = vcpus
        return h
    }

    /// Each vCPU's registers drift on their own; the running vCPU changes
    /// every few events, and chunks are cut at odd places so that some start
    /// on a vCPU other than 0.
    static func writeInterleaved(path: String, vcpus: UInt8, events: Int, flushEvery: Int) throws -> [EventRecord] {
        let w = try JournalWriter(path: path, header: header(vcpus: UInt32(vcpus)))
        var regs = (0..<Int(vcpus)).map { k -> GPRegisters in
            var r = GPRegisters()
            r.rip = 0x10_0000 + UInt64(k) * 0x1000
            r.rsp = 0x20_0000 - UInt64(k) * 0x1000
            return r
        }
        var running: UInt8 = 0
        var out: [EventRecord] = []
        var g = SplitMix64(seed: 15)
        for i in 0..<events {
            let e: Event
            if i % 11 == 10 {
                let next = UInt8(g.next() % UInt64(vcpus))
                running = next
                e = .switchVCPU(vcpu: next)
            } else if i % 97 == 5 {
                e = .startup(vcpu: UInt8(g.next() % UInt64(vcpus)), vector: 0x08)
            } else {
                regs[Int(running)].rip &+= 3
                regs[Int(running)].rax = g.next() >> 40
                e = i % 2 == 0 ? .io(port: 0x80, size: 1, direction: .read, value: regs[Int(running)].rax & 0xff)
                    : .interrupt(vector: 0xf0 + running)
            }
            let idx = try w.append(e, regs: regs[Int(running)])
            out.append(EventRecord(index: idx, regs: regs[Int(running)], event: e, vcpu: running))
            if (i + 1) % flushEvery == 0 { try w.flush() }
        }
        try w.finish()
        return out
    }

    @Test func fourVCPUsRoundTripWithEveryEventOnItsVCPU() throws {
        let path = Fixtures.tempPath("smp")
        defer { unlink(path) }
        let written = try Self.writeInterleaved(path: path, vcpus: 4, events: 9000, flushEvery: 1234)
        let r = try JournalReader(path: path)
        #expect(r.formatVersion == JournalFormat.version)
        #expect(r.header.vcpuCount == 4)
        #expect(try r.events() == written)
        // Random access into a chunk that starts on another vCPU decodes alone.
        let late = try #require(written.last(where: { $0.vcpu != 0 }))
        let fresh = try JournalReader(path: path)
        #expect(try fresh.event(at: late.index) == late)
        #expect(Set(written.map(\.vcpu)) == [0, 1, 2, 3])
    }

    @Test func oneVCPUIsTheCurrentVersionAndRefusesSchedulingEvents() throws {
        let path = Fixtures.tempPath("one")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Self.header(vcpus: 1))
        #expect(throws: JournalError.self) { try w.append(.switchVCPU(vcpu: 0), regs: GPRegisters()) }
        #expect(throws: JournalError.self) { try w.append(.startup(vcpu: 1, vector: 8), regs: GPRegisters()) }
        try w.append(.hlt, regs: GPRegisters())
        try w.finish()
        let bytes = try FileIO.read(path)
        #expect(bytes[8] == 4 && bytes[10] == 4)   // version 4, minimum reader 4
        #expect(try JournalReader(path: path).formatVersion == 4)
    }

    /// Switching back and forth costs the switch record alone: each vCPU's
    /// registers are delta-coded against its own, so an unchanged vCPU's
    /// records stay as small as on one vCPU.
    @Test func perVCPUDeltasKeepSwitchesCheap() throws {
        let path = Fixtures.tempPath("cheap")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Self.header(vcpus: 2))
        var a = GPRegisters(), b = GPRegisters()
        a.rip = 0xffff_ffff_8100_0000; a.rsp = 0xffff_c900_0000_0000
        b.rip = 0x1000; b.rsp = 0x7000
        try w.append(.hlt, regs: a)
        try w.append(.switchVCPU(vcpu: 1), regs: b)
        try w.append(.hlt, regs: b)
        func round() throws {
            try w.append(.switchVCPU(vcpu: 0), regs: a)
            try w.append(.hlt, regs: a)
            try w.append(.switchVCPU(vcpu: 1), regs: b)
            try w.append(.hlt, regs: b)
        }
        try round()   // both vCPUs' registers are now known in this chunk
        let before = w.bytesWritten
        for _ in 0..<100 { try round() }
        // 400 records of 3 bytes each: length, kind, an empty register mask.
        #expect(w.bytesWritten - before == 400 * 3)
        try w.finish()
        let r = try JournalReader(path: path)
        #expect(try r.events().filter { $0.event == .hlt }.allSatisfy { $0.regs == ($0.vcpu == 0 ? a : b) })
    }

    /// The header's vCPU count is checked: 1 to 8, and above 1 only in version 3.
    @Test func headerVCPUCountIsChecked() throws {
        func patched(vcpus: UInt32, version: UInt16) -> [UInt8] {
            var bytes = HeaderCodec.encode(Self.header(vcpus: vcpus))
            bytes[8] = UInt8(version); bytes[9] = 0
            bytes[10] = UInt8(version); bytes[11] = 0
            let crcAt = bytes.count - 4
            let crc = CRC32C.checksum(bytes, range: 0..<crcAt)
            for k in 0..<4 { bytes[crcAt + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
            return bytes
        }
        func message(_ bytes: [UInt8]) -> String {
            do { _ = try JournalReader(bytes: bytes, name: "h.vmrr"); return "" } catch { return "\(error)" }
        }
        #expect(message(patched(vcpus: 2, version: 2)).contains("format version 2 cannot record"))
        #expect(message(patched(vcpus: 9, version: 3)).contains("9 vCPUs (vmrr runs 1 to 8)"))
        #expect(message(patched(vcpus: 0, version: 3)).contains("0 vCPUs"))
        #expect(message(patched(vcpus: 4, version: 3)) == "")
    }

    /// A switch to a vCPU the header does not have is corruption.
    @Test func switchBeyondTheVCPUCountIsRefused() throws {
        let path = Fixtures.tempPath("beyond")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Self.header(vcpus: 2))
        try w.append(.switchVCPU(vcpu: 5), regs: GPRegisters())
        try w.finish()
        let r = try JournalReader(path: path)
        #expect(throws: JournalError.self) { _ = try r.events() }
    }

    @Test func dumpShowsTheVCPU() {
        var regs = GPRegisters()
        regs.rip = 0x1000
        let rec = EventRecord(index: 7, regs: regs, event: .switchVCPU(vcpu: 2), vcpu: 2)
        #expect(EventFormat.text(rec, vcpu: true).hasPrefix("#      7  vcpu=2  rip=0x0000000000001000  switch"))
        #expect(EventFormat.text(rec).hasPrefix("#      7  rip="))
        #expect(EventFormat.json(rec, vcpu: true).hasPrefix("{\"index\":7,\"vcpu\":2,\"kind\":\"switch\""))
        let s = EventRecord(index: 8, regs: regs, event: .startup(vcpu: 3, vector: 0x08), vcpu: 0)
        #expect(EventFormat.text(s).hasSuffix("vcpu=3 vector=0x8 (real mode, cs=0x800 ip=0)"))
    }
}
