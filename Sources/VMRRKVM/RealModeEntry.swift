import VMRRJournal

/// A vCPU put into real mode at `segment:offset`, as after INIT (SDM vol. 3,
/// table 10-1, "Following INIT") and the firmware's far jump that follows:
/// - CS = `segment` (base `segment << 4`), IP = `offset`; the data segments
///   DS, ES, FS, GS and SS = `dataSegment` (base `dataSegment << 4`); all
///   with limit 0xFFFF, present, accessed, 16-bit;
/// - CR0 = ET with CD and NW kept (INIT leaves them), paging and protection
///   off; CR2, CR3, CR4, CR8 and EFER 0; GDTR and IDTR base 0, limit 0xFFFF;
///   LDTR and TR selector 0, limit 0xFFFF (an LDT, a busy 16/32-bit TSS);
/// - RFLAGS = 0x2 (interrupts off); every general register 0. (INIT puts
///   the CPU signature in EDX, but that comes from the host's CPUID, so vmrr
///   leaves 0 there: a replay on another CPU must see the same registers.)
/// IA32_APIC_BASE, the FPU/SSE state and the MSRs are unchanged, as INIT
/// leaves them.
///
/// Used for a warm reset through the CMOS shutdown byte (the BIOS's jump
/// through 40:67, with DS = 0x40) and, with `segment` = SIPI vector << 8,
/// offset 0 and data segment 0, for an application processor's start-up.
/// Pure values, so the state is testable without KVM; `VCPU.enterRealMode`
/// applies it.
public enum RealModeEntry {
    /// CR0 bits.
    static let cr0ExtensionType: UInt64 = 1 << 4
    static let cr0NotWriteThrough: UInt64 = 1 << 29
    static let cr0CacheDisable: UInt64 = 1 << 30
    /// RFLAGS bit 1 is always set.
    static let rflagsFixed: UInt64 = 1 << 1
    /// Segment types: code execute/read accessed; data read/write accessed;
    /// an LDT; a busy 32-bit TSS (what KVM and the SDM give TR after INIT).
    static let codeType: UInt8 = 0xB, dataType: UInt8 = 0x3, ldtType: UInt8 = 0x2, busyTSSType: UInt8 = 0xB
    /// EDX of an AP at its start-up: 0x600 (family 6), what KVM puts there
    /// when it creates a vCPU, before any CPUID is set, on every host; so an
    /// AP starts with the same registers the first time and after an INIT.
    public static let apSignature: UInt64 = 0x600
    /// Real-mode segment limit and descriptor-table limits after INIT.
    static let limit: UInt32 = 0xFFFF
    static let tableLimit: UInt16 = 0xFFFF

    /// A real-mode segment register holding `selector`.
    public static func segment(_ selector: UInt16, type: UInt8) -> SegmentRegister {
        SegmentRegister(base: UInt64(selector) << 4, limit: limit, selector: selector, type: type, present: true,
                        dpl: 0, db: false, s: true, l: false, g: false)
    }

    /// The special registers at the entry, from `current` (for CD, NW and the APIC base).
    public static func specialRegisters(segment cs: UInt16, dataSegment ds: UInt16, from current: SpecialRegisters) -> SpecialRegisters {
        var s = SpecialRegisters()
        s.cs = segment(cs, type: codeType)
        let data = segment(ds, type: dataType)
        s.ds = data; s.es = data; s.fs = data; s.gs = data; s.ss = data
        s.ldt = SegmentRegister(base: 0, limit: limit, selector: 0, type: ldtType, present: true, dpl: 0, db: false, s: false, l: false, g: false)
        s.tr = SegmentRegister(base: 0, limit: limit, selector: 0, type: busyTSSType, present: true, dpl: 0, db: false, s: false, l: false, g: false)
        s.gdt = DescriptorTableRegister(base: 0, limit: tableLimit)
        s.idt = DescriptorTableRegister(base: 0, limit: tableLimit)
        s.cr0 = cr0ExtensionType | (current.cr0 & (cr0CacheDisable | cr0NotWriteThrough))
        s.apicBase = current.apicBase
        return s
    }

    /// The general registers at the entry: RIP = `offset`, RFLAGS = 0x2, the rest 0.
    public static func registers(offset: UInt16) -> GPRegisters {
        var r = GPRegisters()
        r.rip = UInt64(offset)
        r.rflags = rflagsFixed
        return r
    }
}

extension VCPU {
    /// Puts the vCPU in real mode at `segment:offset` (`RealModeEntry`):
    /// KVM_SET_SREGS, then KVM_SET_REGS. Complete any pending exit first
    /// (an `immediate_exit` run), so that KVM does not finish the old
    /// instruction on the new state. Returns the registers it set.
    @discardableResult
    public func enterRealMode(segment: UInt16, offset: UInt16, dataSegment: UInt16) throws -> GPRegisters {
        let sregs = RealModeEntry.specialRegisters(segment: segment, dataSegment: dataSegment, from: try getSpecialRegisters())
        try setSpecialRegisters(sregs)
        let regs = RealModeEntry.registers(offset: offset)
        try setRegisters(regs)
        return regs
    }
}
