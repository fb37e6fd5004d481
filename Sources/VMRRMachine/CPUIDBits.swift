/// CPUID bits vmrr changes.
public enum CPUIDBits {
    /// CPUID.1:ECX bit 21: x2APIC.
    public static let x2apic: UInt32 = 1 << 21
    /// CPUID.1:ECX bit 13: CMPXCHG16B.
    public static let cmpxchg16b: UInt32 = 1 << 13
}
