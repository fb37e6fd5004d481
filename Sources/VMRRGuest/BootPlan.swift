import VMRRJournal

/// Why a boot state could not be built (bad command line, image does not fit).
public struct BootPlanError: Error, CustomStringConvertible, Equatable, Sendable {
    public let reason: String
    public var description: String { reason }
}

/// Everything the executor needs to start a guest: bytes to write into fresh,
/// zeroed RAM, and the initial vCPU registers. Pure data; nothing here touches KVM.
public struct BootPlan: Sendable {
    /// GDT, TSS, page tables, command line (when not empty), then each image
    /// segment's file bytes, in that order. A segment's bytes share the
    /// image file's storage: they are never copied per program header.
    public let writes: [(gpa: UInt64, bytes: ArraySlice<UInt8>)]
    /// RAM the executor zeroes before the writes: each segment's memsz beyond
    /// its file bytes (its bss), as a range, never as bytes. Segments do not
    /// overlap each other or vmrr's structures (`GuestImage.checkSegmentsDisjoint`),
    /// so zeroing first is zeroing after.
    public var zeroFills: [Range<UInt64>] = []
    public let regs: GPRegisters
    public let sregs: SpecialRegisters
    /// The ACPI tables among `writes`, when the plan has them (multiboot and Linux).
    public var acpi: ACPITables? = nil

    /// Builds the entry state of docs/GUEST.md for `image` on a machine with
    /// `memorySize` bytes of RAM, passing `commandLine` to the guest.
    public static func make(image: GuestImage, memorySize: UInt64, commandLine: String) throws -> BootPlan {
        try image.validate(memorySize: memorySize)
        let cmdline = Array(commandLine.utf8)
        guard cmdline.count <= Layout.commandLineMax else {
            throw BootPlanError(reason: "command line is \(cmdline.count) bytes; the limit is \(Layout.commandLineMax)")
        }
        guard !cmdline.contains(0) else { throw BootPlanError(reason: "command line contains a NUL byte") }

        var writes: [(gpa: UInt64, bytes: ArraySlice<UInt8>)] = []
        writes.append((Layout.gdtAddress, gdtBytes()[...]))
        writes.append((Layout.tssAddress, [UInt8](repeating: 0, count: Int(Layout.tssSize))[...]))
        writes.append(contentsOf: identityMapTables().map { ($0.gpa, $0.bytes[...]) })
        if !cmdline.isEmpty { writes.append((Layout.commandLineAddress, (cmdline + [0])[...])) }
        let (segmentWrites, zeroFills) = segmentWrites(image)
        writes += segmentWrites

        var regs = GPRegisters()
        regs.rip = image.entry
        regs.rflags = GuestArch.RFlags.reserved1.rawValue
        regs.rsp = Layout.bootStackTop
        regs.rdi = memorySize
        regs.rsi = cmdline.isEmpty ? 0 : Layout.commandLineAddress
        return BootPlan(writes: writes, zeroFills: zeroFills, regs: regs, sregs: entrySpecialRegisters())
    }

    /// Each non-empty segment's file bytes (sharing the file's storage) and
    /// its bss as a range to zero.
    static func segmentWrites(_ image: GuestImage) -> (writes: [(gpa: UInt64, bytes: ArraySlice<UInt8>)], zeroFills: [Range<UInt64>]) {
        var writes: [(gpa: UInt64, bytes: ArraySlice<UInt8>)] = []
        var zeroFills: [Range<UInt64>] = []
        for seg in image.segments where seg.memsz > 0 {
            if !seg.fileBytes.isEmpty { writes.append((seg.paddr, seg.fileBytes)) }
            let bss = seg.paddr + UInt64(seg.fileBytes.count)
            if bss < seg.paddr + seg.memsz { zeroFills.append(bss..<(seg.paddr + seg.memsz)) }
        }
        return (writes, zeroFills)
    }

    // MARK: Pieces, public so that the executor and tests can use them alone

    /// CR0 at entry: PE|MP|ET|NE|WP|AM|PG.
    public static let entryCR0: GuestArch.CR0 = [.pe, .mp, .et, .ne, .wp, .am, .pg]
    /// CR4 at entry: PAE|OSFXSR|OSXMMEXCPT.
    public static let entryCR4: GuestArch.CR4 = [.pae, .osfxsr, .osxmmexcpt]
    /// EFER at entry: SCE|LME|LMA|NXE.
    public static let entryEFER: GuestArch.EFER = [.sce, .lme, .lma, .nxe]
    /// Flags of every boot page-table entry: present and writable.
    public static let identityMapFlags: GuestArch.PageEntryFlags = [.present, .writable]

    /// The 64-bit code segment CS holds at entry (selector 0x08).
    public static let codeSegment = SegmentRegister(
        base: 0, limit: 0xFFFF_FFFF, selector: Layout.codeSelector,
        type: GuestArch.SegmentType.codeExecuteReadAccessed, present: true, dpl: 0,
        db: false, s: true, l: true, g: true)
    /// The flat data segment DS, ES, FS, GS and SS hold at entry (selector 0x10).
    public static let dataSegment = SegmentRegister(
        base: 0, limit: 0xFFFF_FFFF, selector: Layout.dataSelector,
        type: GuestArch.SegmentType.dataReadWriteAccessed, present: true, dpl: 0,
        db: true, s: true, l: false, g: true)
    /// TR at entry: the busy 64-bit TSS at `Layout.tssAddress` (selector 0x18).
    public static let taskSegment = SegmentRegister(
        base: Layout.tssAddress, limit: UInt32(Layout.tssSize - 1), selector: Layout.tssSelector,
        type: GuestArch.SegmentType.tss64Busy, present: true, dpl: 0,
        db: false, s: false, l: false, g: false)
    /// LDTR at entry: unusable.
    public static let unusableLDT = SegmentRegister(
        base: 0, limit: 0, selector: 0, type: GuestArch.SegmentType.ldt, present: false, dpl: 0,
        db: false, s: false, l: false, g: false, unusable: true)

    /// The special registers at entry.
    public static func entrySpecialRegisters() -> SpecialRegisters {
        var s = SpecialRegisters()
        s.cs = codeSegment
        s.ds = dataSegment; s.es = dataSegment; s.fs = dataSegment; s.gs = dataSegment; s.ss = dataSegment
        s.tr = taskSegment
        s.ldt = unusableLDT
        s.gdt = DescriptorTableRegister(base: Layout.gdtAddress, limit: Layout.gdtLimit)
        s.idt = DescriptorTableRegister(base: 0, limit: 0)
        s.cr0 = entryCR0.rawValue
        s.cr3 = Layout.pml4Address
        s.cr4 = entryCR4.rawValue
        s.efer = entryEFER.rawValue
        s.apicBase = Layout.apicBaseAtEntry
        return s
    }

    /// The GDT's bytes: null, code, data, and the 16-byte TSS descriptor.
    public static func gdtBytes() -> [UInt8] {
        let tss = SegmentDescriptor.packSystem(taskSegment)
        let entries: [UInt64] = [0, SegmentDescriptor.pack(codeSegment), SegmentDescriptor.pack(dataSegment), tss.low, tss.high]
        precondition(entries.count == Layout.gdtEntryCount)
        return entries.flatMap(littleEndianBytes)
    }

    /// The boot page tables: a PML4 whose entry 0 points at the PDPT, whose
    /// entries 0-3 point at 4 page directories mapping 0-4 GiB in 2 MiB pages.
    public static func identityMapTables() -> [(gpa: UInt64, bytes: [UInt8])] {
        let entriesPerTable = Int(Layout.pageSize / 8)
        var pml4 = [UInt64](repeating: 0, count: entriesPerTable)
        pml4[0] = PageEntry.table(Layout.pdptAddress, identityMapFlags)
        var pdpt = [UInt64](repeating: 0, count: entriesPerTable)
        var tables: [(gpa: UInt64, bytes: [UInt8])] = []
        for d in 0..<Layout.pdCount {
            let pdAddress = Layout.pdAddress + UInt64(d) * Layout.pageSize
            pdpt[d] = PageEntry.table(pdAddress, identityMapFlags)
            var pd = [UInt64](repeating: 0, count: entriesPerTable)
            for e in 0..<entriesPerTable {
                let page = (UInt64(d) * UInt64(entriesPerTable) + UInt64(e)) * Layout.largePageSize
                pd[e] = PageEntry.largePage(page, identityMapFlags)
            }
            tables.append((pdAddress, pd.flatMap(littleEndianBytes)))
        }
        return [(Layout.pml4Address, pml4.flatMap(littleEndianBytes)),
                (Layout.pdptAddress, pdpt.flatMap(littleEndianBytes))] + tables
    }
}

/// The 8 little-endian bytes of `v`.
func littleEndianBytes(_ v: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: v >> (UInt64($0) * 8)) }
}
