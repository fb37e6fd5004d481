import VMRRJournal

extension BootPlan {
    /// The multiboot entry state for `image`: 32-bit protected mode, paging
    /// off, flat 4 GiB segments, IF = 0, EAX = 0x2BADB002, EBX = the
    /// multiboot information. `commandLine` is the whole string the kernel
    /// sees (vmrr passes `IMAGE-NAME ARGS`, as QEMU does). With `acpi`, the
    /// ACPI tables for that platform go in the RSDP search area.
    ///
    /// The GDT, the TSS and the multiboot information go at their usual
    /// addresses (`Layout.gdtAddress`, `tssAddress`, `multibootInfoAddress`)
    /// and the ACPI tables at `acpiTablesAddress`, unless the image covers
    /// them: then each moves to the lowest free place in its window
    /// (`LowMemoryPlanner`), or the plan fails naming both ranges.
    public static func multiboot(image: MultibootImage, memorySize: UInt64, commandLine: String,
                                 modules: [MultibootModule], acpi: ACPIPlatform? = nil) throws -> BootPlan {
        try image.validate(memorySize: memorySize)
        var low = LowMemoryPlanner(segments: image.image.segments)
        let gdt = try low.place("vmrr's multiboot GDT", size: UInt64(Layout.multibootGDTEntryCount * 8), alignment: 8,
                                preferred: Layout.gdtAddress, window: Layout.lowStructureWindow)
        let tss = try low.place("vmrr's multiboot TSS", size: Layout.tss32Size, alignment: 16,
                                preferred: Layout.tssAddress, window: Layout.lowStructureWindow)
        let sized = try MultibootInfo.make(image: image, memorySize: memorySize, commandLine: commandLine, modules: modules)
        let infoBase = try low.place("the multiboot information", size: UInt64(sized.bytes.count), alignment: 16,
                                     preferred: Layout.multibootInfoAddress, window: Layout.lowStructureWindow)
        let info = infoBase == sized.base ? sized
            : try MultibootInfo.make(image: image, memorySize: memorySize, commandLine: commandLine, modules: modules, base: infoBase)
        var writes: [(gpa: UInt64, bytes: ArraySlice<UInt8>)] = []
        writes.append((gdt, multibootGDTBytes(tss: tss)[...]))
        writes.append((tss, [UInt8](repeating: 0, count: Int(Layout.tss32Size))[...]))
        writes.append((info.base, info.bytes[...]))
        var tables: ACPITables?
        if let acpi {
            let at = try low.place("the ACPI tables", size: ACPITables.size(platform: acpi), alignment: Layout.acpiRSDPAlignment,
                                   preferred: Layout.acpiTablesAddress, window: Layout.acpiSearchWindow)
            tables = ACPITables.build(platform: acpi, base: at)
            writes.append((at, tables!.bytes[...]))
        }
        let (segmentWrites, zeroFills) = segmentWrites(image.image)
        writes += segmentWrites
        writes.append(contentsOf: info.modulePlacements.map { ($0.gpa, $0.bytes[...]) })

        var regs = GPRegisters()
        regs.rip = image.image.entry
        regs.rflags = GuestArch.RFlags.reserved1.rawValue
        regs.rax = UInt64(Layout.multibootBootloaderMagic)
        regs.rbx = info.base
        regs.rsp = Layout.bootStackTop
        var plan = BootPlan(writes: writes, zeroFills: zeroFills, regs: regs, sregs: multibootSpecialRegisters(gdt: gdt, tss: tss))
        plan.acpi = tables
        return plan
    }

    /// CR0 at a multiboot entry: PE and ET only (paging off).
    public static let multibootCR0: GuestArch.CR0 = [.pe, .et]

    /// The 32-bit flat code segment at a multiboot entry (selector 0x08).
    public static let multibootCodeSegment = SegmentRegister(
        base: 0, limit: 0xFFFF_FFFF, selector: Layout.codeSelector,
        type: GuestArch.SegmentType.codeExecuteReadAccessed, present: true, dpl: 0,
        db: true, s: true, l: false, g: true)
    /// The flat data segment at a multiboot entry (selector 0x10): the same as the vmrr protocol's.
    public static let multibootDataSegment = dataSegment
    /// TR at a multiboot entry: a busy 32-bit TSS at `Layout.tssAddress` (selector 0x18).
    public static let multibootTaskSegment = multibootTaskSegment(at: Layout.tssAddress)
    /// TR at a multiboot entry, with the TSS at `tss`.
    public static func multibootTaskSegment(at tss: UInt64) -> SegmentRegister { SegmentRegister(
        base: tss, limit: UInt32(Layout.tss32Size - 1), selector: Layout.tssSelector,
        type: GuestArch.SegmentType.tss32Busy, present: true, dpl: 0,
        db: false, s: false, l: false, g: false) }

    /// The special registers at a multiboot entry, with the GDT at `gdt` and the TSS at `tss`.
    public static func multibootSpecialRegisters(gdt: UInt64 = Layout.gdtAddress, tss: UInt64 = Layout.tssAddress) -> SpecialRegisters {
        var s = SpecialRegisters()
        s.cs = multibootCodeSegment
        s.ds = multibootDataSegment; s.es = multibootDataSegment; s.fs = multibootDataSegment
        s.gs = multibootDataSegment; s.ss = multibootDataSegment
        s.tr = multibootTaskSegment(at: tss)
        s.ldt = unusableLDT
        s.gdt = DescriptorTableRegister(base: gdt, limit: Layout.multibootGDTLimit)
        s.idt = DescriptorTableRegister(base: 0, limit: 0)
        s.cr0 = multibootCR0.rawValue
        s.cr3 = 0
        s.cr4 = 0
        s.efer = 0
        s.apicBase = Layout.apicBaseAtEntry
        return s
    }

    /// The GDT at a multiboot entry: null, 32-bit code, data, 32-bit TSS.
    public static func multibootGDTBytes(tss: UInt64 = Layout.tssAddress) -> [UInt8] {
        let entries: [UInt64] = [0, SegmentDescriptor.pack(multibootCodeSegment),
                                 SegmentDescriptor.pack(multibootDataSegment), SegmentDescriptor.pack(multibootTaskSegment(at: tss))]
        precondition(entries.count == Layout.multibootGDTEntryCount)
        return entries.flatMap(littleEndianBytes)
    }
}

