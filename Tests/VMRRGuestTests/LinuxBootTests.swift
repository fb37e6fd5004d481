import Testing
import VMRRJournal
@testable import VMRRGuest

/// A synthetic bzImage: boot sector and setup sectors with a setup header,
/// then `kernelSize` bytes of protected-mode kernel.
struct TestBzImage {
    var setupSects: UInt8 = 4
    var version: UInt16 = 0x020F
    var xloadflags: UInt16 = 1          // XLF_KERNEL_64
    var initSize: UInt32 = 0x40_0000
    var prefAddress: UInt64 = 0x100_0000
    var kernelAlignment: UInt32 = 0x20_0000
    var relocatable: UInt8 = 1
    var cmdlineSize: UInt32 = 2047
    var kernelSize = 0x1000
    var magic: UInt32 = 0x5372_6448

    func bytes() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: (Int(setupSects) + 1) * 512 + kernelSize)
        func put(_ o: Int, _ v: UInt64, _ n: Int) { for i in 0..<n { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        b[0x1F1] = setupSects
        put(0x1FE, 0xAA55, 2)
        b[0x200] = 0xEB; b[0x201] = 0x6A        // jmp to 0x26C: the header ends there (protocol 2.15)
        put(0x202, UInt64(magic), 4)
        put(0x206, UInt64(version), 2)
        b[0x211] = 0x01                         // LOADED_HIGH, as a bzImage sets it
        put(0x22C, 0x7FFF_FFFF, 4)
        put(0x230, UInt64(kernelAlignment), 4)
        b[0x234] = relocatable
        put(0x236, UInt64(xloadflags), 2)
        put(0x238, UInt64(cmdlineSize), 4)
        put(0x258, prefAddress, 8)
        put(0x260, UInt64(initSize), 4)
        for i in 0..<kernelSize { b[(Int(setupSects) + 1) * 512 + i] = UInt8(truncatingIfNeeded: i) }
        return b
    }
}

private func le(_ b: [UInt8], _ o: Int, _ n: Int) -> UInt64 {
    (0..<n).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) }
}

@Suite("Linux boot protocol loader")
struct LinuxBootTests {
    @Test("a pref_address or init_size near 2^64 is a one-line error, not an overflow trap",
          arguments: [(UInt64.max - 0xFFF, 0x40_0000), (UInt64.max & ~0x1F_FFFF, UInt32.max), (0xFFFF_FFFF_0000_0000, UInt32.max)]
            as [(UInt64, UInt32)])
    func hostileRunAddress(pref: UInt64, initSize: UInt32) throws {
        var bz = TestBzImage()
        bz.prefAddress = pref
        bz.initSize = initSize
        let boot = try BootImage.parse(bytes: bz.bytes(), path: "bz", selection: .auto)
        #expect(throws: (any Error).self) {
            _ = try boot.plan(memorySize: 64 << 20, arguments: [], modules: [], initrd: nil)
        }
        do { _ = try boot.plan(memorySize: 64 << 20, arguments: [], modules: [], initrd: nil) } catch {
            #expect(!"\(error)".contains("\n") && "\(error)".contains("init_size"), "\(error)")
        }
    }

    @Test("a 64-bit bzImage: kernel at 1 MiB, entry startup_64 at +0x200, zero page and long mode")
    func bzImage64() throws {
        let bytes = TestBzImage().bytes()
        let boot = try BootImage.parse(bytes: bytes, path: "bz", selection: .auto)
        guard case .linux(let l) = boot else { Issue.record("auto did not choose linux"); return }
        #expect(boot.bootProtocol == .linux)
        #expect(l.kind == .bzImage && l.longMode && l.protocolVersion == 0x020F)
        #expect(l.image.entry == 0x10_0200)
        #expect(l.image.segments.count == 1 && l.image.segments[0].paddr == 0x10_0000)
        #expect(l.image.segments[0].fileBytes.count == 0x1000 && l.image.segments[0].fileOffset == 5 * 512)

        let initrd = LinuxInitrd(path: "rd", bytes: [1, 2, 3, 4, 5])
        let plan = try boot.plan(memorySize: 64 << 20, arguments: ["console=ttyS0", "quiet"], modules: [], initrd: initrd)
        #expect(plan.regs.rip == 0x10_0200 && plan.regs.rsi == Layout.linuxZeroPageAddress)
        #expect(plan.regs.rflags & (1 << 9) == 0)
        #expect(plan.sregs.cs.selector == 0x10 && plan.sregs.cs.l && plan.sregs.ds.selector == 0x18)
        #expect(plan.sregs.cr0 & 0x8000_0001 == 0x8000_0001 && plan.sregs.efer & 0x500 == 0x500)
        let zp = Array(try #require(plan.writes.first { $0.gpa == Layout.linuxZeroPageAddress }?.bytes))
        #expect(zp.count == 4096)
        #expect(le(zp, 0x202, 4) == 0x5372_6448 && le(zp, 0x206, 2) == 0x020F)
        #expect(zp[0x210] == 0xFF)
        #expect(zp[0x211] & 0x81 == 0x81)
        #expect(le(zp, 0x228, 4) == Layout.linuxCommandLineAddress)
        let cmd = Array(try #require(plan.writes.first { $0.gpa == Layout.linuxCommandLineAddress }?.bytes))
        #expect(cmd == Array("console=ttyS0 quiet".utf8) + [0])
        // The initrd: page-aligned at the top of RAM, after the kernel.
        let rdAt = le(zp, 0x218, 4)
        #expect(le(zp, 0x21C, 4) == 5 && rdAt % 4096 == 0 && rdAt + 5 <= 64 << 20 && rdAt >= 0x100_0000 + 0x40_0000)
        #expect(plan.writes.contains { $0.gpa == rdAt && $0.bytes == [1, 2, 3, 4, 5] })
        // e820: low 640K, reserved to 1 MiB, RAM to the end, the 3-4 GiB hole.
        #expect(zp[0x1E8] == 4)
        let e = (0..<4).map { i in (le(zp, 0x2D0 + 20 * i, 8), le(zp, 0x2D8 + 20 * i, 8), le(zp, 0x2E0 + 20 * i, 4)) }
        #expect(e[0] == (0, 0xA_0000, 1) && e[1] == (0xA_0000, 0x6_0000, 2))
        #expect(e[2] == (0x10_0000, (64 << 20) - 0x10_0000, 1) && e[3] == (0xC000_0000, 0x4000_0000, 2))
    }

    @Test("without XLF_KERNEL_64 the 32-bit entry: protected mode, paging off, ESI = zero page")
    func bzImage32() throws {
        var t = TestBzImage(); t.xloadflags = 0
        let boot = try BootImage.parse(bytes: t.bytes(), path: "bz", selection: .linux)
        let plan = try boot.plan(memorySize: 64 << 20, arguments: [], modules: [])
        #expect(plan.regs.rip == 0x10_0000 && plan.regs.rsi == Layout.linuxZeroPageAddress)
        #expect(plan.sregs.cr0 & 0x8000_0001 == 1 && plan.sregs.efer == 0)
        #expect(plan.sregs.cs.selector == 0x10 && plan.sregs.cs.db && !plan.sregs.cs.l)
    }

    @Test("errors are one line: bad magic, old protocol, truncated, does not fit, initrd elsewhere")
    func errors() throws {
        func message(_ bytes: [UInt8], memory: UInt64 = 64 << 20) -> String {
            do {
                let b = try BootImage.parse(bytes: bytes, path: "k", selection: .linux)
                _ = try b.plan(memorySize: memory, arguments: [], modules: [])
                return "no error"
            } catch { return "\(error)" }
        }
        var bad = TestBzImage(); bad.magic = 0x1234_5678
        let m1 = message(bad.bytes())
        #expect(m1.contains("no \"HdrS\" magic at offset 0x202"), "\(m1)")
        var old = TestBzImage(); old.version = 0x0204
        let m2 = message(old.bytes())
        #expect(m2.contains("boot protocol 2.04") && m2.contains("2.06"), "\(m2)")
        let m3 = message(Array(TestBzImage().bytes().prefix(0x300)))
        #expect(m3.contains("truncated"), "\(m3)")
        let m3b = message(Array(TestBzImage().bytes().prefix(0x100)))
        #expect(m3b.contains("truncated"), "\(m3b)")
        var big = TestBzImage(); big.initSize = 0x300_0000
        let m4 = message(big.bytes(), memory: 32 << 20)
        #expect(m4.contains("does not fit in RAM") && m4.contains("--memory"), "\(m4)")
        for m in [m1, m2, m3, m3b, m4] { #expect(!m.contains("\n")) }

        let vmrrImage = TestELF(is64: true, machine: 62, entry: 0x10_0000,
                                segments: [.init(paddr: 0x10_0000, data: [0xF4])]).bytes()
        let g = try BootImage.parse(bytes: vmrrImage, path: "g", selection: .auto)
        #expect(throws: BootPlanError.self) {
            _ = try g.plan(memorySize: 64 << 20, arguments: [], modules: [], initrd: LinuxInitrd(path: "rd", bytes: [1]))
        }
    }

    @Test("a long command line is refused against cmdline_size")
    func commandLineSize() throws {
        var t = TestBzImage(); t.cmdlineSize = 10
        let boot = try BootImage.parse(bytes: t.bytes(), path: "bz", selection: .linux)
        #expect(throws: BootPlanError.self) { _ = try boot.plan(memorySize: 64 << 20, arguments: ["console=ttyS0"], modules: []) }
    }

    @Test("the Linux GDT holds __BOOT_CS at 0x10 and __BOOT_DS at 0x18")
    func gdt() {
        let g = BootPlan.linuxGDTBytes(longMode: true)
        #expect(g.count == Layout.linuxGDTEntryCount * 8)
        #expect(le(g, 0x10, 8) == SegmentDescriptor.pack(BootPlan.linuxCode64Segment))
        #expect(le(g, 0x18, 8) == SegmentDescriptor.pack(BootPlan.linuxDataSegment))
        #expect(le(g, 0x10, 8) != le(BootPlan.linuxGDTBytes(longMode: false), 0x10, 8))
    }
}
