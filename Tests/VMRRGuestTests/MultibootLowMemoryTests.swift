import Testing
@testable import VMRRGuest
import VMRRBase

/// Multiboot images below 1 MiB: vmrr's GDT, TSS, multiboot information and
/// ACPI tables move clear of the image, and a real collision is one line
/// naming both ranges.
@Suite struct MultibootLowMemoryTests {
    static func plan(_ bytes: [UInt8], acpi: ACPIPlatform? = .pc, modules: [MultibootModule] = []) throws -> BootPlan {
        let boot = try BootImage.parse(bytes: bytes, path: "k.elf", selection: .multiboot)
        return try boot.plan(memorySize: 64 << 20, arguments: ["x"], modules: modules, acpi: acpi)
    }

    static func failure(_ bytes: [UInt8], acpi: ACPIPlatform? = .pc) -> String {
        do { _ = try plan(bytes, acpi: acpi); return "(no error)" } catch { return "\(error)" }
    }

    @Test func anImageAt0x8000LoadsAndTheMultibootInformationMovesPastIt() throws {
        let kernel = smallKernel(paddr: 0x8000)   // 0x8000 - 0xa00f with its bss
        let p = try Self.plan(kernel)
        let mem = WrittenMemory(writes: p.writes)
        let infoBase = p.regs.rbx
        #expect(infoBase == 0x1020, "the lowest free 16-byte-aligned place: after the GDT")
        #expect(p.writes.contains { $0.gpa == 0x8000 }, "the image is written where it is linked")
        #expect(p.sregs.gdt.base == Layout.gdtAddress && p.sregs.tr.base == Layout.tssAddress, "GDT and TSS keep their places")
        let mmapAddr = UInt64(mem.read32(infoBase + UInt64(MultibootInfo.Offset.mmapAddr)))
        #expect(mmapAddr > infoBase && mmapAddr < infoBase + 0x1000, "pointers follow the moved structure")
        #expect(mem.read32(infoBase + UInt64(MultibootInfo.Offset.flags)) == 0x24D)
        let ranges = p.writes.map { $0.gpa..<($0.gpa + UInt64($0.bytes.count)) }
        for (i, a) in ranges.enumerated() { for b in ranges[(i + 1)...] { #expect(!a.overlaps(b), "\(a) and \(b)") } }
        #expect(p.acpi?.rsdp == Layout.acpiTablesAddress)
    }

    @Test func anImageOverTheGDTMovesItAndTheTSS() throws {
        let p = try Self.plan(smallKernel(paddr: 0x1000, bss: 0x1800))   // 0x1000 - 0x280f
        #expect(p.sregs.gdt.base == 0x2810 && p.sregs.tr.base == 0x2830)
        let mem = WrittenMemory(writes: p.writes)
        // The TSS descriptor in the moved GDT names the moved TSS.
        let tssDescriptor = mem.read64(p.sregs.gdt.base + UInt64(Layout.tssSelector))
        #expect((tssDescriptor >> 16) & 0xFF_FFFF == p.sregs.tr.base)
        #expect(p.regs.rbx == Layout.multibootInfoAddress)
    }

    @Test func anImageInTheRSDPAreaMovesTheACPITables() throws {
        let p = try Self.plan(smallKernel(paddr: 0xE_0000, bss: 0xFF0))
        let tables = try #require(p.acpi)
        #expect(tables.rsdp == 0xE_1000)
        #expect(WrittenMemory(writes: p.writes).byte(0xE_1000) == UInt8(ascii: "R"))
        #expect(try Self.plan(smallKernel(paddr: 0xE_0000), acpi: nil).acpi == nil)
    }

    @Test func aRealCollisionNamesBothRanges() {
        let low = Self.failure(smallKernel(paddr: 0x1000, bss: 0x9_F000))   // 0x1000 - 0xa000f
        #expect(!low.contains("\n"))
        #expect(low.contains("no room for vmrr's multiboot GDT (32 bytes) in 0x1000-0xa0000"), "\(low)")
        #expect(low.contains("image segment 0") && low.contains("at 0x1000-0xa000f"), "\(low)")
        let bios = Self.failure(smallKernel(paddr: 0xE_0000, bss: 0x1_FF00))   // 0xe0000 - 0xfff0f
        #expect(bios.contains("no room for the ACPI tables") && bios.contains("0xe0000-0x100000") && bios.contains("at 0xe0000-0xfff0f"), "\(bios)")
        #expect(Self.failure(smallKernel(paddr: 0xE_0000, bss: 0x1_FF00), acpi: nil) == "(no error)")
    }

    @Test func modulesOfALowImageGoAbove1MiB() throws {
        let m = MultibootModule(path: "m.bin", arguments: nil, bytes: [1, 2, 3])
        let p = try Self.plan(smallKernel(paddr: 0x8000), modules: [m])
        #expect(p.writes.contains { $0.gpa == Layout.legacyHoleEnd && $0.bytes == [1, 2, 3] })
    }
}
