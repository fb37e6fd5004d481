import VMRRJournal

/// The x86-64 architectural bits the boot state is built from, as named flag sets.
public enum GuestArch {
    /// Control register 0.
    public struct CR0: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        /// Protection enable.
        public static let pe = CR0(rawValue: 1 << 0)
        /// Monitor coprocessor.
        public static let mp = CR0(rawValue: 1 << 1)
        /// x87 emulation.
        public static let em = CR0(rawValue: 1 << 2)
        /// Task switched.
        public static let ts = CR0(rawValue: 1 << 3)
        /// Extension type (always 1).
        public static let et = CR0(rawValue: 1 << 4)
        /// Numeric error: native x87 error reporting.
        public static let ne = CR0(rawValue: 1 << 5)
        /// Write protect: CPL0 honours read-only pages.
        public static let wp = CR0(rawValue: 1 << 16)
        /// Alignment mask.
        public static let am = CR0(rawValue: 1 << 18)
        /// Not write-through.
        public static let nw = CR0(rawValue: 1 << 29)
        /// Cache disable.
        public static let cd = CR0(rawValue: 1 << 30)
        /// Paging.
        public static let pg = CR0(rawValue: 1 << 31)
    }

    /// Control register 4.
    public struct CR4: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        /// Page size extensions.
        public static let pse = CR4(rawValue: 1 << 4)
        /// Physical address extension (required for long mode).
        public static let pae = CR4(rawValue: 1 << 5)
        /// Global pages.
        public static let pge = CR4(rawValue: 1 << 7)
        /// OS supports FXSAVE/FXRSTOR.
        public static let osfxsr = CR4(rawValue: 1 << 9)
        /// OS handles unmasked SIMD exceptions.
        public static let osxmmexcpt = CR4(rawValue: 1 << 10)
    }

    /// The IA32_EFER MSR.
    public struct EFER: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        /// SYSCALL/SYSRET enable.
        public static let sce = EFER(rawValue: 1 << 0)
        /// Long mode enable.
        public static let lme = EFER(rawValue: 1 << 8)
        /// Long mode active.
        public static let lma = EFER(rawValue: 1 << 10)
        /// No-execute enable.
        public static let nxe = EFER(rawValue: 1 << 11)
    }

    /// RFLAGS.
    public struct RFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        /// Carry.
        public static let cf = RFlags(rawValue: 1 << 0)
        /// Bit 1 is reserved and always reads as 1.
        public static let reserved1 = RFlags(rawValue: 1 << 1)
        /// Zero.
        public static let zf = RFlags(rawValue: 1 << 6)
        /// Trap (single-step).
        public static let tf = RFlags(rawValue: 1 << 8)
        /// Interrupt enable.
        public static let interruptEnable = RFlags(rawValue: 1 << 9)
        /// Direction.
        public static let df = RFlags(rawValue: 1 << 10)
    }

    /// Flags of a 4-level paging entry (PML4E, PDPTE, PDE or PTE).
    public struct PageEntryFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let present = PageEntryFlags(rawValue: 1 << 0)
        public static let writable = PageEntryFlags(rawValue: 1 << 1)
        public static let user = PageEntryFlags(rawValue: 1 << 2)
        public static let writeThrough = PageEntryFlags(rawValue: 1 << 3)
        public static let cacheDisable = PageEntryFlags(rawValue: 1 << 4)
        public static let accessed = PageEntryFlags(rawValue: 1 << 5)
        public static let dirty = PageEntryFlags(rawValue: 1 << 6)
        /// In a PDE: this entry maps a 2 MiB page (in a PDPTE: 1 GiB, unavailable on this host).
        public static let pageSize = PageEntryFlags(rawValue: 1 << 7)
        public static let global = PageEntryFlags(rawValue: 1 << 8)
        public static let noExecute = PageEntryFlags(rawValue: 1 << 63)
    }

    /// Bits 51:12 of a paging entry: the physical address of the next table or 4 KiB page.
    public static let pageAddressMask: UInt64 = ((1 << 52) - 1) & ~((1 << 12) - 1)
    /// Bits 51:21 of a 2 MiB PDE: the physical address of the large page.
    public static let largePageAddressMask: UInt64 = ((1 << 52) - 1) & ~((1 << 21) - 1)

    /// Segment descriptor types used at entry (the `type` field, 4 bits).
    public enum SegmentType {
        /// Code segment, execute/read, accessed.
        public static let codeExecuteReadAccessed: UInt8 = 11
        /// Data segment, read/write, accessed.
        public static let dataReadWriteAccessed: UInt8 = 3
        /// System segment: LDT.
        public static let ldt: UInt8 = 2
        /// System segment: available 64-bit TSS.
        public static let tss64Available: UInt8 = 9
        /// System segment: busy 64-bit TSS.
        public static let tss64Busy: UInt8 = 11
        /// System segment: busy 32-bit TSS (the same code as `tss64Busy`
        /// outside long mode).
        public static let tss32Busy: UInt8 = 11
    }
}

/// Builders for paging entries.
public enum PageEntry {
    /// An entry pointing at the next-level table at `address` (4 KiB aligned).
    public static func table(_ address: UInt64, _ flags: GuestArch.PageEntryFlags) -> UInt64 {
        precondition(address & ~GuestArch.pageAddressMask == 0, "table address \(address) not 4 KiB aligned")
        return address | flags.rawValue
    }

    /// A PDE mapping the 2 MiB page at `address` (2 MiB aligned); sets `pageSize`.
    public static func largePage(_ address: UInt64, _ flags: GuestArch.PageEntryFlags) -> UInt64 {
        precondition(address & ~GuestArch.largePageAddressMask == 0, "large page \(address) not 2 MiB aligned")
        return address | flags.union(.pageSize).rawValue
    }

    /// A PTE mapping the 4 KiB page at `address`.
    public static func page(_ address: UInt64, _ flags: GuestArch.PageEntryFlags) -> UInt64 {
        table(address, flags)
    }

    /// The flags of an entry (everything outside the address bits).
    public static func flags(of entry: UInt64) -> GuestArch.PageEntryFlags {
        GuestArch.PageEntryFlags(rawValue: entry & ~GuestArch.pageAddressMask)
    }

    /// The address bits of an entry: next table or 4 KiB page, or for a
    /// 2 MiB PDE (`pageSize` set) the large page.
    public static func address(of entry: UInt64) -> UInt64 {
        flags(of: entry).contains(.pageSize)
            ? entry & GuestArch.largePageAddressMask : entry & GuestArch.pageAddressMask
    }
}

/// Packing of segment descriptors, between vmrr's `SegmentRegister` (the
/// CPU's hidden part: byte-granular limit, as in `struct kvm_segment`) and
/// the 8-byte (code/data) or 16-byte (system: TSS, LDT) GDT descriptor.
///
/// Descriptor bits: limit 15:0 in 0-15, base 23:0 in 16-39, type in 40-43,
/// S in 44, DPL in 45-46, P in 47, limit 19:16 in 48-51, AVL 52, L 53, D/B 54,
/// G 55, base 31:24 in 56-63; a system descriptor adds base 63:32 in its
/// second 8 bytes. With G set the descriptor holds the limit in 4 KiB units:
/// `limit = (raw << 12) | 0xfff`.
public enum SegmentDescriptor {
    public enum Bit {
        public static let limitLow = 0, baseLow = 16, type = 40, s = 44, dpl = 45, present = 47
        public static let limitHigh = 48, avl = 52, l = 53, db = 54, g = 55, baseHigh = 56
    }

    /// The 20-bit raw limit for `seg`, scaled by its granularity.
    static func rawLimit(_ seg: SegmentRegister) -> UInt64 {
        UInt64(seg.g ? seg.limit >> 12 : seg.limit) & 0xF_FFFF
    }

    /// Packs the 8-byte descriptor for `seg` (its low 8 bytes for a system segment).
    public static func pack(_ seg: SegmentRegister) -> UInt64 {
        let limit = rawLimit(seg)
        let base = seg.base
        var d: UInt64 = 0
        d |= (limit & 0xFFFF) << UInt64(Bit.limitLow)
        d |= (base & 0xFF_FFFF) << UInt64(Bit.baseLow)
        d |= UInt64(seg.type & 0xF) << UInt64(Bit.type)
        d |= (seg.s ? 1 : 0) << UInt64(Bit.s)
        d |= UInt64(seg.dpl & 0x3) << UInt64(Bit.dpl)
        d |= (seg.present ? 1 : 0) << UInt64(Bit.present)
        d |= (limit >> 16) << UInt64(Bit.limitHigh)
        d |= (seg.avl ? 1 : 0) << UInt64(Bit.avl)
        d |= (seg.l ? 1 : 0) << UInt64(Bit.l)
        d |= (seg.db ? 1 : 0) << UInt64(Bit.db)
        d |= (seg.g ? 1 : 0) << UInt64(Bit.g)
        d |= ((base >> 24) & 0xFF) << UInt64(Bit.baseHigh)
        return d
    }

    /// Packs the 16-byte system descriptor (TSS, LDT) for `seg`.
    public static func packSystem(_ seg: SegmentRegister) -> (low: UInt64, high: UInt64) {
        (pack(seg), seg.base >> 32)
    }

    /// Decodes an 8-byte descriptor into the segment register it loads as `selector`.
    /// For a system descriptor, pass its second 8 bytes as `high` to get base 63:32.
    public static func unpack(_ d: UInt64, high: UInt64 = 0, selector: UInt16) -> SegmentRegister {
        func bit(_ n: Int) -> Bool { (d >> UInt64(n)) & 1 == 1 }
        let rawLimit = UInt32((d >> UInt64(Bit.limitLow)) & 0xFFFF) | UInt32((d >> UInt64(Bit.limitHigh)) & 0xF) << 16
        let g = bit(Bit.g)
        let s = bit(Bit.s)
        var base = ((d >> UInt64(Bit.baseLow)) & 0xFF_FFFF) | ((d >> UInt64(Bit.baseHigh)) & 0xFF) << 24
        if !s { base |= (high & 0xFFFF_FFFF) << 32 }
        return SegmentRegister(
            base: base, limit: g ? (rawLimit << 12) | 0xFFF : rawLimit, selector: selector,
            type: UInt8((d >> UInt64(Bit.type)) & 0xF), present: bit(Bit.present),
            dpl: UInt8((d >> UInt64(Bit.dpl)) & 0x3), db: bit(Bit.db), s: s, l: bit(Bit.l), g: g,
            avl: bit(Bit.avl))
    }
}
