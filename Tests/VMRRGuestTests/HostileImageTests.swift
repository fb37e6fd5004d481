import Testing
import VMRRBase
@testable import VMRRGuest

/// Images built to cost more than they hold (issue 18): every size is
/// checked against the file and the guest's RAM before anything is
/// allocated, file bytes are never copied per program header, and a bss is
/// a range to zero, never bytes.
struct HostileImageTests {
    /// An ELF64 x86-64 ET_EXEC whose `count` PT_LOAD headers all point at the
    /// same `data` (one copy in the file), at `paddr(k)`, each with `memsz`.
    static func sharedDataELF(count: Int, data: [UInt8], memsz: UInt64, paddr: (Int) -> UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64 + 56 * count)
        func put(_ v: UInt64, _ n: Int, at o: Int) { for i in 0..<n { out[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        out[0...3] = [0x7F, 0x45, 0x4C, 0x46]
        out[4] = 2; out[5] = 1; out[6] = 1
        put(2, 2, at: 16); put(62, 2, at: 18); put(1, 4, at: 20)
        put(paddr(0), 8, at: 24)                 // e_entry: the first segment
        put(64, 8, at: 32)                       // e_phoff
        put(64, 2, at: 52); put(56, 2, at: 54); put(UInt64(count), 2, at: 56)
        let dataOffset = UInt64(out.count)
        for k in 0..<count {
            let h = 64 + 56 * k
            put(1, 4, at: h); put(7, 4, at: h + 4)               // PT_LOAD, RWX
            put(dataOffset, 8, at: h + 8)                        // p_offset: the one copy
            put(paddr(k), 8, at: h + 16); put(paddr(k), 8, at: h + 24)
            put(UInt64(data.count), 8, at: h + 32); put(memsz, 8, at: h + 40)
        }
        return out + data
    }

    @Test func segmentsShareTheFilesBytesInsteadOfCopyingThem() throws {
        let data = [UInt8](repeating: 0xF4, count: 256 << 10)
        let bytes = Self.sharedDataELF(count: 64, data: data, memsz: 256 << 10) { 0x20_0000 + UInt64($0) * (256 << 10) }
        let image = try GuestImage.parse(bytes: bytes, path: "shared.elf")
        #expect(image.segments.count == 64)
        let bases = image.segments.map { s in s.fileBytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }
        #expect(Set(bases).count == 1, "64 headers over one 256 KiB range hold one copy, not 64")
        let plan = try BootPlan.make(image: image, memorySize: 64 << 20, commandLine: "")
        let segmentWrites = plan.writes.filter { $0.gpa >= 0x20_0000 }
        #expect(segmentWrites.count == 64)
        #expect(Set(segmentWrites.map { w in w.bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } }).count == 1)
    }

    @Test func overlappingSegmentsAreRefusedOnOneLine() throws {
        // The attack: headers whose ranges overlap, each once materialized at its full memsz.
        let bytes = Self.sharedDataELF(count: 100, data: [0xF4], memsz: 60 << 20) { 0x20_0000 + UInt64($0) * 4096 }
        let image = try GuestImage.parse(bytes: bytes, path: "overlap.elf")
        #expect { try BootPlan.make(image: image, memorySize: 64 << 20, commandLine: "") } throws: { e in
            let text = "\(e)"
            return text.contains("segment 1 (paddr 0x201000") && text.contains("overlaps segment 0") && !text.contains("\n")
        }
    }

    @Test func aHugeBssIsARangeNotBytes() throws {
        // 40 bytes: a multiboot header with address fields, bss_end 1 GiB past the load address, and hlt.
        let load: UInt32 = 0x10_0000
        let bytes = multibootHeader(flags: 0x1_0000, addresses: [load, load, 0, load + (1 << 30), load + 32])
            + [0xF4, 0xEB, 0xFD, 0x90, 0x90, 0x90, 0x90, 0x90]
        #expect(bytes.count == 40)
        let image = try MultibootImage.parse(bytes: bytes, path: "bss.bin")
        let plan = try BootPlan.multiboot(image: image, memorySize: 2 << 30, commandLine: "", modules: [])
        let written = plan.writes.reduce(0) { $0 + $1.bytes.count }
        #expect(written < 1 << 20, "the plan writes \(written) bytes for a 40-byte image")
        #expect(plan.zeroFills == [UInt64(load) + 40..<UInt64(load) + (1 << 30)])
        // The same image on a guest too small for its bss: one line, before anything is allocated.
        #expect { try BootPlan.multiboot(image: image, memorySize: 64 << 20, commandLine: "", modules: []) } throws: { e in
            "\(e)".contains("does not fit in guest RAM") && !"\(e)".contains("\n")
        }
    }
}
