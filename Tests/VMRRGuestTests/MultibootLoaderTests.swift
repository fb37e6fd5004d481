import Testing
import VMRRJournal
@testable import VMRRGuest
import VMRRBase

/// A hand-built ELF32 or ELF64 image: headers, then each segment's data at
/// its own page-aligned file offset from 0x1000 on (no sections).
struct TestELF {
    struct Segment {
        var paddr: UInt64
        var vaddr: UInt64
        var data: [UInt8]
        var memsz: UInt64
        init(paddr: UInt64, vaddr: UInt64? = nil, data: [UInt8], memsz: UInt64? = nil) {
            self.paddr = paddr; self.vaddr = vaddr ?? paddr; self.data = data; self.memsz = memsz ?? UInt64(data.count)
        }
    }
    var is64 = false
    var machine: UInt16 = 3
    var entry: UInt64
    var segments: [Segment]

    func bytes() -> [UInt8] {
        let ehdrSize = is64 ? 64 : 52, phdrSize = is64 ? 56 : 32
        var out = [UInt8](repeating: 0, count: ehdrSize)
        func put(_ v: UInt64, _ n: Int, at o: Int, in b: inout [UInt8]) {
            for i in 0..<n { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
        }
        out[0...3] = [0x7F, 0x45, 0x4C, 0x46]
        out[4] = is64 ? 2 : 1; out[5] = 1; out[6] = 1
        put(2, 2, at: 16, in: &out)                 // ET_EXEC
        put(UInt64(machine), 2, at: 18, in: &out)
        put(1, 4, at: 20, in: &out)                 // EV_CURRENT
        let w = is64 ? 8 : 4
        put(entry, w, at: 24, in: &out)
        put(UInt64(ehdrSize), w, at: 24 + w, in: &out)   // e_phoff
        put(0, w, at: 24 + 2 * w, in: &out)              // e_shoff
        let tail = 24 + 3 * w + 4                        // after e_flags
        put(UInt64(ehdrSize), 2, at: tail, in: &out)
        put(UInt64(phdrSize), 2, at: tail + 2, in: &out)
        put(UInt64(segments.count), 2, at: tail + 4, in: &out)
        put(UInt64(is64 ? 64 : 40), 2, at: tail + 6, in: &out)
        var offsets: [Int] = []
        var next = 0x1000
        for s in segments {
            offsets.append(next)
            next += (s.data.count + 0xFFF) & ~0xFFF
            if s.data.isEmpty { next += 0 }
        }
        for (i, s) in segments.enumerated() {
            var ph = [UInt8](repeating: 0, count: phdrSize)
            put(1, 4, at: 0, in: &ph)                    // PT_LOAD
            if is64 {
                put(7, 4, at: 4, in: &ph)                // RWX
                put(UInt64(offsets[i]), 8, at: 8, in: &ph)
                put(s.vaddr, 8, at: 16, in: &ph); put(s.paddr, 8, at: 24, in: &ph)
                put(UInt64(s.data.count), 8, at: 32, in: &ph); put(s.memsz, 8, at: 40, in: &ph)
                put(0x1000, 8, at: 48, in: &ph)
            } else {
                put(UInt64(offsets[i]), 4, at: 4, in: &ph)
                put(s.vaddr, 4, at: 8, in: &ph); put(s.paddr, 4, at: 12, in: &ph)
                put(UInt64(s.data.count), 4, at: 16, in: &ph); put(s.memsz, 4, at: 20, in: &ph)
                put(7, 4, at: 24, in: &ph); put(0x1000, 4, at: 28, in: &ph)
            }
            out += ph
        }
        for (i, s) in segments.enumerated() {
            if out.count < offsets[i] { out += [UInt8](repeating: 0, count: offsets[i] - out.count) }
            out += s.data
        }
        return out
    }
}

/// The 12 (or 32) bytes of a multiboot v1 header.
func multibootHeader(flags: UInt32, checksum: UInt32? = nil, addresses: [UInt32]? = nil) -> [UInt8] {
    let magic = Layout.multibootHeaderMagic
    var words = [magic, flags, checksum ?? (0 &- (magic &+ flags))]
    if let addresses { words += addresses }
    return words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } }
}

/// A small valid ELF32 multiboot kernel at 1 MiB: header, then code bytes, then bss.
func smallKernel(flags: UInt32 = 3, is64: Bool = false, machine: UInt16? = nil, paddr: UInt64 = 0x10_0000,
                 vaddr: UInt64? = nil, bss: UInt64 = 0x2000) -> [UInt8] {
    let code: [UInt8] = multibootHeader(flags: flags) + [0xF4, 0xEB, 0xFD]   // hlt; jmp .-1
    let v = vaddr ?? paddr
    return TestELF(is64: is64, machine: machine ?? (is64 ? 62 : 3), entry: v + 12,
                   segments: [.init(paddr: paddr, vaddr: v, data: code, memsz: UInt64(code.count) + bss)]).bytes()
}

/// Little-endian reads from a byte array.
extension [UInt8] {
    func le32(at o: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[o + $1]) << (8 * UInt32($1)) } }
    func cString(at o: Int) -> String {
        var end = o
        while end < count && self[end] != 0 { end += 1 }
        return String(decoding: self[o..<end], as: UTF8.self)
    }
}

@Suite struct MultibootScanTests {
    @Test func findsAlignedHeaderInFirst8KiB() {
        var bytes = [UInt8](repeating: 0, count: 9000)
        bytes.replaceSubrange(0x100..<0x10C, with: multibootHeader(flags: 3))
        guard case let .found(h) = MultibootScan.scan(bytes) else { Issue.record("no header found"); return }
        #expect(h.offset == 0x100 && h.flags == [.pageAlignModules, .memoryInfo])

        // The last place a 12-byte header fits entirely in the first 8 KiB.
        var last = [UInt8](repeating: 0, count: 9000)
        last.replaceSubrange(8180..<8192, with: multibootHeader(flags: 0))
        #expect({ if case .found(let h) = MultibootScan.scan(last) { return h.offset == 8180 }; return false }())
        var beyond = [UInt8](repeating: 0, count: 9000)
        beyond.replaceSubrange(8184..<8196, with: multibootHeader(flags: 0))
        #expect(MultibootScan.scan(beyond) == .none)

        // Not 4-byte aligned: not a header.
        var unaligned = [UInt8](repeating: 0, count: 100)
        unaligned.replaceSubrange(2..<14, with: multibootHeader(flags: 0))
        #expect(MultibootScan.scan(unaligned) == .none)
    }

    @Test func badChecksumAndMultiboot2AreNamed() {
        var bad = [UInt8](repeating: 0, count: 64)
        bad.replaceSubrange(8..<20, with: multibootHeader(flags: 3, checksum: 0x1234))
        let scan = MultibootScan.scan(bad)
        #expect(scan == .badChecksum(offset: 8, flags: 3, checksum: 0x1234, sum: Layout.multibootHeaderMagic &+ 3 &+ 0x1234))
        #expect(scan.problem?.contains("bad checksum") == true)

        // A good header after a bad one wins.
        var both = bad
        both.replaceSubrange(40..<52, with: multibootHeader(flags: 0))
        #expect({ if case .found(let h) = MultibootScan.scan(both) { return h.offset == 40 }; return false }())

        // Multiboot 2: magic, architecture 0, header length 16, checksum.
        let m2: [UInt32] = [Layout.multiboot2HeaderMagic, 0, 16, 0 &- (Layout.multiboot2HeaderMagic &+ 16)]
        var v2 = [UInt8](repeating: 0, count: 64)
        v2.replaceSubrange(16..<32, with: m2.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } })
        #expect(MultibootScan.scan(v2) == .multiboot2(offset: 16))
        #expect(MultibootScan.scan(v2).problem?.contains("version 1 only") == true)
        #expect(MultibootScan.scan([UInt8](repeating: 0, count: 64)).problem?.contains("no multiboot header") == true)
    }
}

@Suite struct MultibootLoaderTests {
    let fixture = fixturePath("multiboot")

    @Test func fixtureIsAnELF32ContainerWith64BitCode() throws {
        let bytes = try FileIO.read(fixture)
        #expect(bytes[4] == 1 && bytes.le32(at: 18) & 0xFFFF == 3)        // ELF32, EM_386
        let mb = try MultibootImage.load(path: fixture)
        #expect(mb.format == .elf32)
        #expect(mb.header.offset < Layout.multibootSearchLimit)
        #expect(mb.image.entry == mb.image.symbols.lookup("_start"))
        #expect(mb.image.symbols.lookup("main") != nil && mb.image.symbols.lookup("start64") != nil)
        #expect(mb.image.segments.allSatisfy { $0.paddr >= 0x40_0000 })
        try mb.validate(memorySize: Layout.minimumMemorySize * 4)
        // The vmrr protocol refuses it; auto picks multiboot.
        #expect(throws: GuestImageError.self) { try GuestImage.parse(bytes: bytes, path: fixture) }
        let auto = try BootImage.parse(bytes: bytes, path: fixture, selection: .auto)
        #expect(auto.bootProtocol == .multiboot)
        #expect(try BootImage.load(path: fixturePath("demo"), selection: .auto).bootProtocol == .vmrr)
    }

    @Test func entryStateAndInformation() throws {
        let mb = try MultibootImage.load(path: fixture)
        let memory: UInt64 = 64 << 20
        let modules = [MultibootModule(path: "/m/one", arguments: "x=1,y=2", bytes: Array("module one".utf8)),
                       MultibootModule(path: "/m/two", arguments: nil, bytes: [UInt8](repeating: 7, count: 5000))]
        let cmdline = BootImage.multiboot(mb).guestCommandLine(arguments: ["a", "b"])
        #expect(cmdline == "\(fixture) a b")
        #expect(BootImage.multiboot(mb).guestCommandLine(arguments: []) == "\(fixture) ")   // as QEMU: "%s %s"
        let plan = try BootPlan.multiboot(image: mb, memorySize: memory, commandLine: cmdline, modules: modules)

        #expect(plan.regs.rip == mb.image.entry)
        #expect(plan.regs.rax == 0x2BAD_B002 && plan.regs.rbx == Layout.multibootInfoAddress)
        #expect(plan.regs.rflags == 0x2)
        let s = plan.sregs
        #expect(s.cr0 == 0x11 && s.cr3 == 0 && s.cr4 == 0 && s.efer == 0)
        #expect(s.cs.selector == 0x08 && s.cs.db && !s.cs.l && s.cs.g && s.cs.base == 0 && s.cs.limit == 0xFFFF_FFFF)
        for seg in [s.ds, s.es, s.fs, s.gs, s.ss] { #expect(seg.selector == 0x10 && seg.db && seg.limit == 0xFFFF_FFFF) }
        #expect(s.gdt.base == Layout.gdtAddress && s.gdt.limit == 31)

        let mem = WrittenMemory(writes: plan.writes)
        // The GDT decodes to the segments CS and DS hold.
        #expect(SegmentDescriptor.unpack(mem.read64(Layout.gdtAddress + 8), selector: 0x08) == s.cs)
        #expect(SegmentDescriptor.unpack(mem.read64(Layout.gdtAddress + 16), selector: 0x10) == s.ds)

        // The information structure.
        let info = (0..<0x1000).map { mem.byte(Layout.multibootInfoAddress + UInt64($0)) }
        func at(_ gpa: UInt32) -> Int { Int(UInt64(gpa) - Layout.multibootInfoAddress) }
        #expect(info.le32(at: 0) == 0x24D)                          // memory, cmdline, mods, mmap, loader name
        #expect(info.le32(at: 4) == 640 && info.le32(at: 8) == UInt32((memory - (1 << 20)) / 1024))
        #expect(info.cString(at: at(info.le32(at: 16))) == cmdline)
        #expect(info.cString(at: at(info.le32(at: 64))) == "vmrr")
        // Memory map: 640 KiB available, the legacy hole, RAM from 1 MiB, the device hole.
        let mmapLength = Int(info.le32(at: 44)), mmapAddr = at(info.le32(at: 48))
        #expect(mmapLength == 4 * 24)
        var regions: [(UInt64, UInt64, UInt32)] = []
        for e in stride(from: mmapAddr, to: mmapAddr + mmapLength, by: 24) {
            #expect(info.le32(at: e) == 20)
            let base = UInt64(info.le32(at: e + 4)) | UInt64(info.le32(at: e + 8)) << 32
            let length = UInt64(info.le32(at: e + 12)) | UInt64(info.le32(at: e + 16)) << 32
            regions.append((base, length, info.le32(at: e + 20)))
        }
        #expect(regions.map { $0.0 } == [0, 0xA_0000, 0x10_0000, 0xC000_0000])
        #expect(regions.map { $0.1 } == [0xA_0000, 0x6_0000, memory - 0x10_0000, 0x4000_0000])
        #expect(regions.map { $0.2 } == [1, 2, 1, 2])
        // Modules: page-aligned after the image, strings "FILE ARGS".
        #expect(info.le32(at: 20) == 2)
        let mods = at(info.le32(at: 24))
        let start0 = info.le32(at: mods), end0 = info.le32(at: mods + 4)
        let start1 = info.le32(at: mods + 16), end1 = info.le32(at: mods + 20)
        #expect(UInt64(start0) >= mb.end && start0 % 4096 == 0 && end0 == start0 + 10)
        #expect(start1 % 4096 == 0 && start1 > end0 && end1 == start1 + 5000)
        #expect(info.cString(at: at(info.le32(at: mods + 8))) == "/m/one x=1,y=2")
        #expect(info.cString(at: at(info.le32(at: mods + 24))) == "/m/two")
        #expect(mem.byte(UInt64(start0)) == UInt8(ascii: "m") && mem.byte(UInt64(start1) + 4999) == 7)

        // Nothing vmrr writes lands on page 0, and the information stays clear of the image.
        #expect(plan.writes.allSatisfy { $0.gpa >= Layout.pageSize })
        let infoWrite = try #require(plan.writes.first { $0.gpa == Layout.multibootInfoAddress })
        #expect(Layout.multibootInfoAddress + UInt64(infoWrite.bytes.count) <= Layout.multibootInfoAreaEnd)
        #expect(mb.image.segments.allSatisfy { $0.paddr >= Layout.multibootInfoAreaEnd })
    }

    @Test func memoryMapAboveTheHole() {
        let map = MultibootInfo.memoryMap(memorySize: 4 << 30)
        #expect(map.map(\.base) == [0, 0xA_0000, 0x10_0000, 0xC000_0000, 1 << 32])
        #expect(map.last == MultibootInfo.MemoryRegion(base: 1 << 32, length: 1 << 30, kind: .available))
        #expect(map[2].length == 0xC000_0000 - 0x10_0000)
        #expect(!map.contains { $0.kind == .available && $0.base < 1 << 32 && $0.base + $0.length > 0xC000_0000 })
    }

    @Test func elf64AndVirtualEntry() throws {
        // An ELF64 kernel linked high, loaded low: the entry is translated through its segment.
        let bytes = smallKernel(is64: true, paddr: 0x20_0000, vaddr: 0xFFFF_FFFF_8020_0000)
        let mb = try MultibootImage.parse(bytes: bytes, path: "k64")
        #expect(mb.format == .elf64)
        #expect(mb.image.entry == 0x20_000C)
        let plan = try BootPlan.multiboot(image: mb, memorySize: 64 << 20, commandLine: "k64 ", modules: [])
        let mem = WrittenMemory(writes: plan.writes)
        #expect(mem.byte(0x20_000C) == 0xF4)
        #expect(mem.byte(0x20_0010) == 0)   // bss
    }

    @Test func addressFields() throws {
        // A flat image: header at offset 8, loaded at 1 MiB from the file's start.
        let load: UInt32 = 0x10_0000
        var bytes = [UInt8](repeating: 0x90, count: 8)
        bytes += multibootHeader(flags: 0x1_0003, addresses: [load + 8, load, 0, load + 0x3000, load + 40])
        bytes += [UInt8](repeating: 0xAB, count: 24)
        let mb = try MultibootImage.parse(bytes: bytes, path: "flat.bin")
        #expect(mb.format == .addressFields)
        let seg = try #require(mb.image.segments.first)
        #expect(seg.paddr == UInt64(load) && seg.fileBytes == bytes[...] && seg.memsz == 0x3000)
        #expect(mb.image.entry == UInt64(load) + 40)
        // With load_end_addr: only that much is loaded.
        var cut = [UInt8](repeating: 0x90, count: 8)
        cut += multibootHeader(flags: 0x1_0000, addresses: [load + 8, load, load + 16, 0, load])
        cut += [UInt8](repeating: 0xCD, count: 64)
        let mb2 = try MultibootImage.parse(bytes: cut, path: "cut.bin")
        #expect(mb2.image.segments.first?.fileBytes == cut[0..<16] && mb2.image.segments.first?.memsz == 16)
        // Flag 16 wins over the ELF program headers, as in GRUB and QEMU: the
        // header (file offset 0x1000) says it sits at 0x301000 and loading starts
        // 0x1000 bytes before it, at the file's first byte.
        let code = multibootHeader(flags: 0x1_0003, addresses: [0x30_1000, 0x30_0000, 0, 0, 0x30_1020]) + [0xF4]
        let elf = TestELF(entry: 0x10_0020, segments: [.init(paddr: 0x10_0000, data: code)]).bytes()
        let mb3 = try MultibootImage.parse(bytes: elf, path: "both.elf")
        #expect(mb3.format == .addressFields)
        #expect(mb3.image.segments.first?.paddr == 0x30_0000 && mb3.image.segments.first?.fileBytes == elf[...])
        #expect(mb3.image.entry == 0x30_1020)
    }

    @Test func moduleSpecs() {
        #expect(MultibootModule.parseSpec("initrd.img") == ("initrd.img", nil))
        #expect(MultibootModule.parseSpec("m.bin,a=1,b=2") == ("m.bin", "a=1,b=2"))
        #expect(MultibootModule(path: "m", arguments: "x", bytes: []).string == "m x")
        #expect(throws: BootPlanError.self) { try MultibootModule.load(spec: "/nonexistent/module,x") }
    }
}

/// Every loader error is one line that names the file and the reason.
@Suite struct MultibootErrorTests {
    func error(_ bytes: [UInt8], path: String = "k.elf", memory: UInt64 = 64 << 20,
               selection: BootSelection = .multiboot, modules: [MultibootModule] = []) -> String {
        do {
            let boot = try BootImage.parse(bytes: bytes, path: path, selection: selection)
            _ = try boot.plan(memorySize: memory, arguments: [], modules: modules)
            return "(no error)"
        } catch {
            return "\(error)"
        }
    }

    func expectOneLine(_ message: String, _ parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!message.contains("\n"), "\(message)", sourceLocation: sourceLocation)
        for p in parts { #expect(message.contains(p), "'\(message)' does not say '\(p)'", sourceLocation: sourceLocation) }
    }

    @Test func badMagic() {
        expectOneLine(error([UInt8](repeating: 0, count: 4096)), ["k.elf", "no multiboot header", "0x1badb002", "8192"])
    }

    @Test func badChecksum() {
        var k = smallKernel()
        k[0x1008] ^= 0x01
        expectOneLine(error(k), ["k.elf", "offset 0x1000", "bad checksum"])
        // auto: the multiboot problem is what is reported for an image vmrr cannot boot otherwise.
        expectOneLine(error(k, selection: .auto), ["k.elf", "bad checksum", "vmrr-protocol image"])
    }

    @Test func unsupportedVersionAndFlags() {
        var v2 = smallKernel()
        let m2: [UInt32] = [Layout.multiboot2HeaderMagic, 0, 16, 0 &- (Layout.multiboot2HeaderMagic &+ 16)]
        v2.replaceSubrange(0x1000..<0x100C, with: m2.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } })
        expectOneLine(error(v2), ["k.elf", "multiboot2", "version 1 only"])
        expectOneLine(error(smallKernel(flags: 0x7)), ["k.elf", "flag 2 (video mode)", "no display"])
        expectOneLine(error(smallKernel(flags: 0x23)), ["k.elf", "bits 5", "must refuse"])
        // Bits 17-31 are optional features: ignored.
        #expect(error(smallKernel(flags: 0x8000_0003)) == "(no error)")
    }

    @Test func segmentsOutsideRAM() {
        #expect(error(smallKernel(paddr: 0x8_0000)) == "(no error)", "below 1 MiB loads (MultibootLowMemoryTests)")
        expectOneLine(error(smallKernel(paddr: 0x400_0000)), ["k.elf", "segment 0", "does not fit in guest RAM"])
        expectOneLine(error(smallKernel(paddr: 0x3FF_F000, bss: 0x2000)), ["k.elf", "does not fit in guest RAM"])
        expectOneLine(error(smallKernel(is64: true, paddr: 0x1_0000_0000), memory: 8 << 30), ["k.elf", "above 4 GiB"])
    }

    @Test func truncatedImages() {
        let k = smallKernel()
        // The program header table (32 bytes) starts 16 bytes before the end of the file.
        let phdrCut = k.patched(at: 28, UInt64(k.count - 16), size: 4)
        expectOneLine(error(phdrCut), ["k.elf", "truncated", "program header table"])
        // The segment's data cut short (the multiboot header itself is whole).
        expectOneLine(error(Array(k[0..<0x100E])), ["k.elf", "truncated", "segment 0"])
        // The address fields ask for more bytes than the file holds.
        var flat = multibootHeader(flags: 0x1_0000, addresses: [0x10_0000, 0x10_0000, 0x10_1000, 0, 0x10_0000])
        flat += [UInt8](repeating: 0, count: 100)
        expectOneLine(error(flat, path: "flat.bin"), ["flat.bin", "truncated", "load_end_addr"])
        // Flag 16 set, but the file ends inside the address fields.
        expectOneLine(error(multibootHeader(flags: 0x1_0000) + [0, 0, 0, 0], path: "f.bin"), ["f.bin", "truncated", "address fields"])
    }

    @Test func badAddressFieldsAndFormats() {
        func flat(_ fields: [UInt32]) -> [UInt8] { multibootHeader(flags: 0x1_0000, addresses: fields) + [UInt8](repeating: 0, count: 64) }
        expectOneLine(error(flat([0x10_0000, 0x10_0010, 0, 0, 0x10_0010])), ["load_addr", "above header_addr"])
        expectOneLine(error(flat([0x10_0010, 0x10_0000, 0, 0, 0x10_0000])), ["before the beginning of the file"])
        expectOneLine(error(flat([0x10_0000, 0x10_0000, 0, 0, 0x20_0000])), ["entry_addr", "outside the loaded image"])
        expectOneLine(error(flat([0x10_0000, 0x10_0000, 0x10_0020, 0x10_0010, 0x10_0000])), ["bss_end_addr"])
        // Not ELF and no address fields: nothing says where it loads.
        expectOneLine(error(multibootHeader(flags: 3) + [UInt8](repeating: 0, count: 64), path: "raw.bin"),
                      ["raw.bin", "not an ELF file", "flag 16"])
        // An ELF32 container must be EM_386.
        expectOneLine(error(smallKernel(machine: 62)), ["k.elf", "e_machine 62", "i386"])
        // ELF32 with no multiboot header, in auto mode: both protocols are named.
        let plain = TestELF(entry: 0x10_0000, segments: [.init(paddr: 0x10_0000, data: [0xF4])]).bytes()
        expectOneLine(error(plain, selection: .auto), ["k.elf", "32-bit ELF", "no multiboot header"])
    }

    @Test func modulesThatDoNotFit() {
        let big = MultibootModule(path: "/m/big", arguments: nil, bytes: [UInt8](repeating: 1, count: 3 << 20))
        expectOneLine(error(smallKernel(), memory: 4 << 20, modules: [big]), ["module /m/big", "does not fit in guest RAM"])
        let many = (0..<2000).map { MultibootModule(path: "/m/\($0)", arguments: String(repeating: "a", count: 60), bytes: []) }
        expectOneLine(error(smallKernel(), modules: many), ["multiboot information", "does not fit"])
        // The vmrr protocol has no modules.
        let vmrr = (try? FileIO.read(fixturePath("demo"))) ?? []
        expectOneLine(error(vmrr, selection: .vmrr, modules: [big]), ["--module needs a multiboot guest"])
    }
}
