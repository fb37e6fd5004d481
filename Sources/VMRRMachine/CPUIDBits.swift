/// CPUID bits vmrr changes.
public enum CPUIDBits {
    /// CPUID.1:ECX bit 21: x2APIC.
    public static let x2apic: UInt32 = 1 << 21
    /// CPUID.1:ECX bit 24: TSC-deadline mode of the local APIC timer.
    public static let tscDeadline: UInt32 = 1 << 24
    /// CPUID.1:ECX bit 13: CMPXCHG16B.
    public static let cmpxchg16b: UInt32 = 1 << 13
    /// `KVM_CPUID_FLAG_SIGNIFCANT_INDEX` in an entry's flags: the entry is for
    /// one subleaf (ECX on entry).
    public static let significantIndexFlag: UInt32 = 1 << 0
}

/// CPUID leaves (EAX on entry) whose fields vmrr sets itself.
public enum CPUIDLeaf {
    /// Feature information: EBX holds the initial APIC ID and the logical-processor count.
    public static let features: UInt32 = 0x1
    /// Intel deterministic cache parameters, one subleaf per cache.
    public static let cacheParameters: UInt32 = 0x4
    /// Processor extended state enumeration: subleaf i >= 2 gives XSAVE component i's size and offset.
    public static let xsaveState: UInt32 = 0xD
    /// Extended topology enumeration (x2APIC ID and topology levels).
    public static let extendedTopology: UInt32 = 0xB
    /// V2 extended topology enumeration, a superset of leaf 0xB.
    public static let extendedTopologyV2: UInt32 = 0x1F
    /// AMD: address sizes and the number of cores (ECX).
    public static let amdSizes: UInt32 = 0x8000_0008
    /// AMD cache topology, the same layout as leaf 4's EAX.
    public static let amdCacheTopology: UInt32 = 0x8000_001D
    /// AMD extended APIC ID, compute unit and node identifiers.
    public static let amdExtendedAPIC: UInt32 = 0x8000_001E
}
