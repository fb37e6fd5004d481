/// A bit field inside a CPUID register: bits `low...high`.
public struct CPUIDField: Sendable {
    public let low: Int
    public let width: Int

    public init(bits: ClosedRange<Int>) {
        low = bits.lowerBound
        width = bits.count
    }

    /// The field's bits in place.
    public var mask: UInt32 { (width == 32 ? UInt32.max : (1 << UInt32(width)) - 1) << UInt32(low) }

    public func get(_ register: UInt32) -> UInt32 { (register & mask) >> UInt32(low) }

    /// `register` with this field replaced by `value` (truncated to the field's width).
    public func set(_ register: UInt32, _ value: UInt32) -> UInt32 {
        (register & ~mask) | ((value << UInt32(low)) & mask)
    }
}

/// The CPUID fields that identify a logical processor or count them.
public enum CPUIDTopology {
    /// CPUID.1:EBX[31:24]: initial APIC ID.
    public static let initialAPICID = CPUIDField(bits: 24...31)
    /// CPUID.1:EBX[23:16]: maximum number of addressable logical-processor IDs in the package.
    public static let logicalProcessorCount = CPUIDField(bits: 16...23)
    /// CPUID.4:EAX[31:26] (Intel): addressable core IDs in the package, minus one.
    public static let coresPerPackageMinusOne = CPUIDField(bits: 26...31)
    /// CPUID.4:EAX[25:14] and CPUID.8000_001D:EAX[25:14]: logical processors sharing the cache, minus one.
    public static let cacheSharingMinusOne = CPUIDField(bits: 14...25)
    /// CPUID.B/1F:EAX[4:0]: right shift of the x2APIC ID to the next level's ID.
    public static let levelShift = CPUIDField(bits: 0...4)
    /// CPUID.B/1F:EBX[15:0]: logical processors at this level.
    public static let levelProcessors = CPUIDField(bits: 0...15)
    /// CPUID.B/1F:ECX[7:0]: the level number (the subleaf).
    public static let levelNumber = CPUIDField(bits: 0...7)
    /// CPUID.B/1F:ECX[15:8]: the level type (`LevelType`).
    public static let levelType = CPUIDField(bits: 8...15)
    /// CPUID.8000_0008:ECX[7:0] (AMD): number of threads in the package, minus one.
    public static let amdThreadsMinusOne = CPUIDField(bits: 0...7)
    /// CPUID.8000_0008:ECX[15:12] (AMD): APIC ID bits that identify the thread (0: derive from the count).
    public static let amdAPICIDSize = CPUIDField(bits: 12...15)
    /// CPUID.8000_001E:EBX[7:0] (AMD): compute unit ID (bits 15:8, threads per unit - 1, left 0).
    public static let amdComputeUnitID = CPUIDField(bits: 0...7)

    /// The level types of leaves 0xB and 0x1F.
    public enum LevelType: UInt32 {
        case invalid = 0
        case smt = 1
        case core = 2
    }
}
