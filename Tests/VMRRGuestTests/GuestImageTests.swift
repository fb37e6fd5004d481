import Testing
@testable import VMRRGuest

@Suite struct GuestImageTests {
    @Test(arguments: fixtureNames)
    func fixturesLoadAndFit(name: String) throws {
        let image = try GuestImage.load(path: fixturePath(name))
        #expect(image.path == fixturePath(name))
        #expect(image.sha256 == SHA256.hash(image.bytes))
        #expect(image.entry == 0x10_0000)
        #expect(image.symbols.lookup("_start") == image.entry)
        #expect(image.symbols.lookup("main") != nil)
        #expect(image.symbols.all.contains { $0.name == "main" && $0.kind == .function && $0.binding == .global })
        let text = try #require(image.segments.first { $0.flags == [.read, .execute] })
        #expect(text.paddr == Layout.imageMinimumAddress && text.vaddr == text.paddr)
        #expect(image.segments.allSatisfy { $0.paddr >= Layout.imageMinimumAddress && $0.paddr % Layout.pageSize == 0 })
        #expect(image.segments.contains { $0.flags == [.read, .write] })
        try image.validate(memorySize: Layout.minimumMemorySize)
    }

    @Test func symbolizeAndLookup() throws {
        let image = try GuestImage.load(path: fixturePath("paging"))
        let symbols = image.symbols
        let main = try #require(symbols.lookup("main"))
        let mainSize = try #require(symbols.all.first { $0.name == "main" }?.size)
        #expect(symbols.symbolize(main)! == ("main", 0))
        #expect(symbols.symbolize(main + 5)! == ("main", 5))
        #expect(symbols.symbolize(main + mainSize - 1)! == ("main", mainSize - 1))
        // Assembly names without a size and the stubs they sit in.
        let stub = try #require(symbols.lookup("isr_page_fault"))
        #expect(stub == (try #require(symbols.lookup("isr_stubs"))) + 14 * 16)
        #expect(symbols.symbolize(stub + 2)! == ("isr_page_fault", 2))
        // Data objects.
        let pml4 = try #require(symbols.lookup("pml4"))
        #expect(pml4 % Layout.pageSize == 0)
        #expect(symbols.symbolize(pml4 + 0x800)! == ("pml4", 0x800))
        // Below every symbol, and unknown names.
        #expect(symbols.symbolize(0x1000) == nil)
        #expect(symbols.lookup("no_such_symbol") == nil)
    }

    @Test func symbolizeRules() {
        let table = SymbolTable([
            Symbol(name: "f", value: 0x100, size: 0x20, kind: .function, binding: .global),
            Symbol(name: "label", value: 0x110, size: 0, kind: .notype, binding: .local),
            Symbol(name: "g", value: 0x200, size: 0x10, kind: .function, binding: .global),
            Symbol(name: "end", value: 0x300, size: 0, kind: .notype, binding: .global),
            Symbol(name: "file.c", value: 0, size: 0, kind: .file, binding: .local),
            Symbol(name: "dup", value: 0x400, size: 0, kind: .notype, binding: .local),
            Symbol(name: "dup", value: 0x500, size: 0, kind: .notype, binding: .global),
        ])
        #expect(table.symbolize(0x108)! == ("f", 8))
        #expect(table.symbolize(0x118)! == ("label", 8))       // nearer label inside f
        #expect(table.symbolize(0x180)! == ("label", 0x70))    // past f: the nearest symbol is unsized
        #expect(table.symbolize(0x210) == nil)                  // just past g, which has a size
        #expect(table.symbolize(0x350)! == ("end", 0x50))       // unsized: nearest
        #expect(table.symbolize(0xFF) == nil)
        #expect(table.lookup("dup") == 0x500)                   // global wins
        #expect(table.lookup("file.c") == nil)
    }

    @Test func absoluteSymbolsAreConstantsNotAddresses() {
        // A multiboot header's `.set mb_flags, 3` (SHN_ABS): `p $rax` of 0 or 3 is not <mb_flags>.
        let table = SymbolTable([
            Symbol(name: "mb_flags", value: 0x3, size: 0, kind: .notype, binding: .global, absolute: true),
            Symbol(name: "mb_magic", value: 0x1BADB002, size: 0, kind: .notype, binding: .global, absolute: true),
            Symbol(name: "_start", value: 0x40000c, size: 0, kind: .notype, binding: .global),
        ])
        #expect(table.symbolize(0) == nil)
        #expect(table.symbolize(3) == nil)
        #expect(table.symbolize(0x1BADB002)?.name != "mb_magic")
        #expect(table.symbolize(0x40000c)! == ("_start", 0))
        #expect(table.lookup("mb_flags") == 3)                  // still usable by name
    }

    @Test func pagingFixtureMatchesItsDocumentedFaults() throws {
        // paging.c's header documents these GVAs; tests of the recorder rely on them.
        let image = try GuestImage.load(path: fixturePath("paging"))
        let address = try #require(image.symbols.lookup("fault_gvas"))
        let segment = try #require(image.segments.first { $0.vaddr <= address && address < $0.vaddr + UInt64($0.fileBytes.count) })
        let offset = Int(address - segment.vaddr)
        let gvas = (0..<5).map { Array(segment.fileBytes).le64(at: offset + 8 * $0) }
        #expect(gvas == [0x60_0000, 0x4000_0000, 0x4000_1008, 0x7F00_0000_0000, 0xFFFF_8000_0000_5000])
    }

    // MARK: Malformed images: one-line errors naming the file, never a crash

    func expectError(_ bytes: [UInt8], _ fragments: [String], memory: UInt64? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        let path = "/tmp/bad.elf"
        do {
            let image = try GuestImage.parse(bytes: bytes, path: path)
            if let memory { try image.validate(memorySize: memory) }
            Issue.record("expected an error containing \(fragments)", sourceLocation: sourceLocation)
        } catch let error as GuestImageError {
            let text = error.description
            #expect(!text.contains("\n"), sourceLocation: sourceLocation)
            #expect(text.hasPrefix("guest image \(path): "), sourceLocation: sourceLocation)
            for f in fragments { #expect(text.contains(f), "\(text)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: fixtureNames)
    func everyTruncationFailsCleanly(name: String) throws {
        let bytes = try fixtureBytes(name)
        // The section headers end the file, so every proper prefix is missing something.
        var lengths = Array(stride(from: 0, to: bytes.count, by: 61)) + [1, 15, 16, 63, 64, 119, 120, 121, bytes.count - 1]
        lengths = lengths.filter { $0 < bytes.count }
        for n in lengths {
            expectError(Array(bytes[0..<n]), ["truncated"])
        }
    }

    @Test func headerFieldsAreChecked() throws {
        let bytes = try fixtureBytes("demo")
        expectError(bytes.patched(at: 0, 0x7F45_4C47, size: 4), ["not an ELF file", "offset 0"])
        expectError(bytes.patched(at: 4, 1, size: 1), ["32-bit", "offset 4"])
        expectError(bytes.patched(at: 5, 2, size: 1), ["little-endian", "offset 5"])
        expectError(bytes.patched(at: 18, 3, size: 2), ["e_machine 3", "offset 18"])
        expectError(bytes.patched(at: 16, 3, size: 2), ["e_type 3", "ET_EXEC"])
        expectError(bytes.patched(at: 16, 1, size: 2), ["e_type 1", "ET_EXEC"])
        expectError(bytes.patched(at: 32, UInt64(bytes.count - 8), size: 8), ["program header table", "past the end"])
        expectError(bytes.patched(at: 56, 0, size: 2), ["no program headers"])
        expectError(bytes.patched(at: 54, 32, size: 2), ["e_phentsize 32"])
        expectError(bytes.patched(at: 40, UInt64.max - 10, size: 8), ["section header table", "past the end"])
    }

    /// Offset of field `field` of program header `index` of `bytes`.
    func phdr(_ bytes: [UInt8], _ index: Int, _ field: Int) -> Int {
        Int(bytes.le64(at: 32)) + index * 56 + field
    }
    let pOffset = 8, pVaddr = 16, pPaddr = 24, pFilesz = 32, pMemsz = 40

    @Test func segmentsAreChecked() throws {
        let bytes = try fixtureBytes("demo")
        let filesz = bytes.le64(at: phdr(bytes, 0, pFilesz))
        expectError(bytes.patched(at: phdr(bytes, 0, pMemsz), filesz - 1, size: 8), ["segment 0", "filesz is larger than memsz"])
        expectError(bytes.patched(at: phdr(bytes, 0, pOffset), UInt64(bytes.count) - 4, size: 8), ["segment 0", "past the end"])
        expectError(bytes.patched(at: phdr(bytes, 0, pOffset), UInt64.max - 1, size: 8), ["segment 0", "past the end"])
        expectError(bytes.patched(at: phdr(bytes, 1, pPaddr), UInt64.max - 0x10, size: 8), ["segment 1", "overflows"])
    }

    @Test func placementIsCheckedAgainstRAM() throws {
        let bytes = try fixtureBytes("demo")
        expectError(bytes.patched(at: phdr(bytes, 0, pPaddr), 0x7_F000, size: 8),
                    ["segment 0", "paddr 0x7f000", "overlaps vmrr's boot stack at 0x20000-0x80000"], memory: Layout.defaultMemorySize)
        expectError(bytes.patched(at: phdr(bytes, 0, pPaddr), 0x8000, size: 8),
                    ["segment 0", "at 0x8000-", "overlaps vmrr's GDT, TSS and boot page tables at 0x1000-0x9000"], memory: Layout.defaultMemorySize)
        expectError(bytes.patched(at: phdr(bytes, 1, pPaddr), 0x3FF_FFF0, size: 8),
                    ["segment 1", "paddr 0x3fffff0", "does not fit in guest RAM"], memory: Layout.defaultMemorySize)
        expectError(bytes.patched(at: phdr(bytes, 1, pPaddr), 0xFEB0_0000, size: 8),
                    ["segment 1", "does not fit in guest RAM"], memory: 8 << 30)
        expectError(bytes.patched(at: 24, 0x5000_0000, size: 8), ["entry point 0x50000000"], memory: Layout.defaultMemorySize)
        // The same segment fits when RAM is large enough.
        let moved = try GuestImage.parse(bytes: bytes.patched(at: phdr(bytes, 1, pPaddr), 0x3FF_FFF0, size: 8), path: "moved")
        try moved.validate(memorySize: 128 << 20)
    }

    @Test func missingFileIsAnError() {
        #expect {
            _ = try GuestImage.load(path: "/nonexistent/guest.elf")
        } throws: { error in
            (error as? GuestImageError)?.description == "guest image /nonexistent/guest.elf: open: No such file or directory"
        }
        #expect(throws: GuestImageError.self) { _ = try GuestImage.load(path: fixturesDirectory) }
    }
}
