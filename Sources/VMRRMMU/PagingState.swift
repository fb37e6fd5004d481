import VMRRJournal

/// What the recorded CPUID says about paging.
public struct CPUIDFacts: Sendable, Equatable {
    public var maxPhysAddrBits = 36
    public var supports1GiBPages = false
    static let addressSizesLeaf: UInt32 = 0x8000_0008
    static let extendedFeaturesLeaf: UInt32 = 0x8000_0001
    static let page1GBit: UInt32 = 1 << 26
    static let physicalAddressBitsMask: UInt32 = 0xff
    public init(_ cpuid: [CPUIDEntry]) {
        if let e = cpuid.first(where: { $0.function == Self.addressSizesLeaf }) { maxPhysAddrBits = Int(e.eax & Self.physicalAddressBitsMask) }
        if let e = cpuid.first(where: { $0.function == Self.extendedFeaturesLeaf }) { supports1GiBPages = e.edx & Self.page1GBit != 0 }
    }
}

extension PagingContext {
    /// The paging context of a vCPU: its control registers, EFER and RFLAGS,
    /// and what its CPUID says about physical-address width and 1 GiB pages.
    /// The one place a walk's inputs are built from machine state (KVM
    /// replays, journal checkpoints and `vmrr mmu` all come here).
    public init(sregs s: SpecialRegisters, rflags: UInt64, cpuid: [CPUIDEntry]) {
        self.init(cr0: s.cr0, cr3: s.cr3, cr4: s.cr4, efer: s.efer, rflags: rflags, facts: CPUIDFacts(cpuid))
    }

    /// The same from the four control registers and CPUID facts read once
    /// (the run loop's, at every switch: `Runner.plainINCompletion`).
    public init(cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64, rflags: UInt64, facts cpu: CPUIDFacts) {
        self.init(cr0: cr0, cr3: cr3, cr4: cr4, efer: efer, rflags: rflags,
                  maxPhysAddrBits: cpu.maxPhysAddrBits, supports1GiBPages: cpu.supports1GiBPages)
    }

    /// The paging context of a whole saved vCPU state (a checkpoint's).
    public init(state: VCPUState, cpuid: [CPUIDEntry]) {
        self.init(sregs: state.sregs, rflags: state.regs.rflags, cpuid: cpuid)
    }
}
