import VMRRJournal

/// What the recorded CPUID says about paging.
public struct CPUIDFacts {
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
