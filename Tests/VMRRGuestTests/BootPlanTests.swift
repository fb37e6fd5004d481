import Testing
import VMRRJournal
@testable import VMRRGuest
import VMRRBase

@Suite struct BootPlanTests {
    func plan(commandLine: String = "", memory: UInt64 = Layout.defaultMemorySize) throws -> BootPlan {
        try BootPlan.make(image: GuestImage.load(path: fixturePath("demo")), memorySize: memory, commandLine: commandLine)
    }

    @Test func identityMapsTheFirst4GiBIn2MiBPages() throws {
        let p = try plan()
        let memory = WrittenMemory(writes: p.writes)
        #expect(p.sregs.cr3 == Layout.pml4Address)
        let probes: [UInt64] = [0x1000, 0x12_3456, Layout.bootStackTop - 8, 0x3FFF_FFFF, 0x4000_0000,
                                0x8765_4321, 0xC000_0000, Layout.clockGPA, Layout.timerGPA, 0xFFFF_FFFF]
        for va in probes {
            #expect(memory.translate(va, cr3: p.sregs.cr3) == va, "va \(hex(va))")
        }
        // Nothing beyond 4 GiB, and nothing in the higher half.
        #expect(memory.translate(1 << 32, cr3: p.sregs.cr3) == nil)
        #expect(memory.translate(0xFFFF_8000_0000_0000, cr3: p.sregs.cr3) == nil)
        // Every PDE is a present, writable 2 MiB page; every table below 1 MiB.
        for d in 0..<Layout.pdCount {
            for e in [0, 1, 255, 511] {
                let entry = memory.read64(Layout.pdAddress + UInt64(d) * Layout.pageSize + UInt64(e) * 8)
                #expect(PageEntry.flags(of: entry) == [.present, .writable, .pageSize])
            }
        }
        // No 1 GiB pages: PDPTEs never have PS.
        for i in 0..<4 {
            #expect(!PageEntry.flags(of: memory.read64(Layout.pdptAddress + UInt64(i) * 8)).contains(.pageSize))
        }
    }

    @Test func gdtDecodesToTheSegmentRegisters() throws {
        let p = try plan()
        let memory = WrittenMemory(writes: p.writes)
        #expect(p.sregs.gdt.base == Layout.gdtAddress)
        #expect(p.sregs.gdt.limit == 39)
        func descriptor(_ selector: UInt16) -> UInt64 { memory.read64(p.sregs.gdt.base + UInt64(selector & ~7)) }
        #expect(descriptor(0) == 0)
        #expect(SegmentDescriptor.unpack(descriptor(p.sregs.cs.selector), selector: p.sregs.cs.selector) == p.sregs.cs)
        for seg in [p.sregs.ds, p.sregs.es, p.sregs.fs, p.sregs.gs, p.sregs.ss] {
            #expect(seg.selector == Layout.dataSelector)
            #expect(SegmentDescriptor.unpack(descriptor(seg.selector), selector: seg.selector) == seg)
        }
        let tr = p.sregs.tr
        let high = memory.read64(p.sregs.gdt.base + UInt64(tr.selector) + 8)
        #expect(SegmentDescriptor.unpack(descriptor(tr.selector), high: high, selector: tr.selector) == tr)
        #expect(tr.type == GuestArch.SegmentType.tss64Busy && tr.present && !tr.s)
        #expect(tr.base == Layout.tssAddress && UInt64(tr.limit) + 1 == Layout.tssSize)
        #expect(p.sregs.cs.l && !p.sregs.cs.db && p.sregs.cs.dpl == 0 && p.sregs.cs.type == 11)
        #expect(p.sregs.ldt.unusable)
        #expect(p.sregs.idt.base == 0 && p.sregs.idt.limit == 0)
        #expect(p.sregs.cr0 == BootPlan.entryCR0.rawValue && p.sregs.cr4 == BootPlan.entryCR4.rawValue)
        #expect(p.sregs.efer == BootPlan.entryEFER.rawValue)
    }

    @Test func registersAndCommandLine() throws {
        let image = try GuestImage.load(path: fixturePath("demo"))
        let p = try BootPlan.make(image: image, memorySize: 256 << 20, commandLine: "hello world")
        #expect(p.regs.rip == image.entry)
        #expect(p.regs.rip == image.symbols.lookup("_start"))
        #expect(p.regs.rflags == GuestArch.RFlags.reserved1.rawValue)
        #expect(p.regs.rsp == Layout.bootStackTop && p.regs.rsp % 16 == 0)
        #expect(p.regs.rdi == 256 << 20)
        #expect(p.regs.rsi == Layout.commandLineAddress)
        let memory = WrittenMemory(writes: p.writes)
        let text = (0..<12).map { memory.byte(Layout.commandLineAddress + UInt64($0)) }
        #expect(text == Array("hello world".utf8) + [0])

        let empty = try BootPlan.make(image: image, memorySize: Layout.defaultMemorySize, commandLine: "")
        #expect(empty.regs.rsi == 0)
        #expect(!empty.writes.contains { $0.gpa == Layout.commandLineAddress })
    }

    @Test func commandLineLimits() throws {
        let longest = String(repeating: "x", count: Layout.commandLineMax)
        let p = try plan(commandLine: longest)
        #expect(p.writes.first { $0.gpa == Layout.commandLineAddress }?.bytes.count == Layout.commandLineMax + 1)
        #expect(throws: BootPlanError.self) { try plan(commandLine: longest + "y") }
        #expect(throws: BootPlanError.self) { try plan(commandLine: "a\u{0}b") }
    }

    @Test func imageSegmentsAreWrittenWithZeroedBSS() throws {
        let image = try GuestImage.load(path: fixturePath("paging"))
        let p = try BootPlan.make(image: image, memorySize: Layout.defaultMemorySize, commandLine: "")
        let withBSS = try #require(image.segments.first { UInt64($0.fileBytes.count) < $0.memsz })
        let write = try #require(p.writes.first { $0.gpa == withBSS.paddr })
        #expect(write.bytes == withBSS.fileBytes)
        let bss = withBSS.paddr + UInt64(withBSS.fileBytes.count)
        #expect(p.zeroFills.contains(bss..<(withBSS.paddr + withBSS.memsz)), "the bss is zeroed as a range, not written as bytes")
    }

    @Test func bootWritesStayBelow1MiBOffPage0AndDoNotOverlap() throws {
        let p = try plan(commandLine: "x")
        let ranges = p.writes.map { $0.gpa..<($0.gpa + UInt64($0.bytes.count)) }.sorted { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound <= b.lowerBound) }
        let boot = ranges.filter { $0.lowerBound < Layout.imageMinimumAddress }
        #expect(boot.count == 9)   // GDT, TSS, PML4, PDPT, 4 PDs, command line
        #expect(boot.allSatisfy { $0.lowerBound >= Layout.pageSize && $0.upperBound <= Layout.imageMinimumAddress })
        // The stack does not overlap any written structure.
        let stack = Layout.bootStackBottom..<Layout.bootStackTop
        #expect(stack.count >= 64 << 10)
        #expect(!ranges.contains { $0.overlaps(stack) })
    }

    @Test func ramRanges() {
        #expect(Layout.ramRanges(memorySize: 64 << 20) == [0..<(64 << 20)])
        #expect(Layout.ramRanges(memorySize: 3 << 30) == [0..<(3 << 30)])
        #expect(Layout.ramRanges(memorySize: 4 << 30) == [0..<(3 << 30), (4 << 30)..<(5 << 30)])
        #expect(!Layout.ramRanges(memorySize: 64 << 30).contains { $0.contains(Layout.clockGPA) })
    }
}
