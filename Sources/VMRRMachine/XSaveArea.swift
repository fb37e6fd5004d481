import VMRRJournal

/// The XSAVE area `KVM_GET_XSAVE` returns (the standard, uncompacted format
/// of the Intel SDM, Vol. 1, 13.4), and the one normalization vmrr applies
/// before a checkpoint stores it: equal register contents give equal bytes.
///
/// XSTATE_BV bit i says whether component i was saved from live state or is
/// in its initial configuration. The processor tracks that with its XINUSE
/// bits, which are not a function of the register contents alone: XMM
/// registers that were used and are zero again may or may not count as in
/// use, so two recordings with the same state gave XSTATE_BV 0 and 2 (SSE).
/// When a bit is clear the area holds the initial values (KVM writes them),
/// so clearing every bit whose component holds exactly its initial values
/// gives one representation. XRSTOR of either form loads the same registers.
public enum XSaveArea {
    /// The XSAVE header: XSTATE_BV at byte 512, XCOMP_BV at byte 520 (8 bytes each).
    public static let xstateBVOffset = 512
    public static let xcompBVOffset = 520
    /// XCOMP_BV bit 63: the area is in the compacted format (vmrr leaves it alone).
    public static let compactedFormat: UInt64 = 1 << 63

    /// State component numbers (bits of XSTATE_BV) kept in the legacy region.
    public static let x87Component = 0
    public static let sseComponent = 1

    /// The legacy region (the FXSAVE image): FCW, FSW, abridged FTW, FOP,
    /// FIP and FDP (with FCS and FDS) in bytes 0..<24; MXCSR and MXCSR_MASK
    /// (not part of either component's initial-state check) in 24..<32.
    static let x87ControlRange = 0..<24
    static let x87ControlWordOffset = 0
    /// ST0-ST7 (MM0-MM7), 16 bytes each.
    static let x87RegistersRange = 32..<160
    /// XMM0-XMM15, 16 bytes each.
    static let sseRegistersRange = 160..<416
    /// FCW after FNINIT (all exceptions masked, 64-bit precision, round to nearest).
    static let x87InitialControlWord: UInt16 = 0x037f

    /// Where a component above SSE lives in the standard format.
    public struct Component: Sendable, Equatable {
        public var number: Int
        public var offset: Int
        public var size: Int
        public init(number: Int, offset: Int, size: Int) { self.number = number; self.offset = offset; self.size = size }
    }

    /// Components 2 and up that the guest's XCR0 can enable, from CPUID leaf
    /// 0xD: subleaf i gives component i's size (EAX) and offset (EBX);
    /// ECX bit 0 marks a supervisor component, which KVM_GET_XSAVE does not hold.
    public static func components(cpuid: [CPUIDEntry]) -> [Component] {
        let supervisorFlag: UInt32 = 1 << 0
        return cpuid.filter { $0.function == CPUIDLeaf.xsaveState && $0.index >= 2 && $0.index < 64 }
            .filter { $0.eax > 0 && $0.ecx & supervisorFlag == 0 }
            .map { Component(number: Int($0.index), offset: Int($0.ebx), size: Int($0.eax)) }
            .sorted { $0.number < $1.number }
    }

    /// `area` with XSTATE_BV bit i cleared for every component i whose bytes
    /// are its initial configuration: x87 with FCW 0x037f and everything else
    /// zero, SSE with XMM0-15 zero, components 2 and up all zero (their
    /// initial state; `components` gives where each one is). A compacted or
    /// too short area is returned unchanged.
    public static func normalize(_ area: [UInt8], components: [Component]) -> [UInt8] {
        guard area.count >= xcompBVOffset + 8, load(area, xcompBVOffset) & compactedFormat == 0 else { return area }
        let bv = load(area, xstateBVOffset)
        var cleared = bv
        if bv & bit(x87Component) != 0, x87IsInitial(area) { cleared &= ~bit(x87Component) }
        if bv & bit(sseComponent) != 0, isZero(area, sseRegistersRange) { cleared &= ~bit(sseComponent) }
        for c in components where bv & bit(c.number) != 0 {
            guard c.offset >= 0, c.size > 0, c.offset + c.size <= area.count else { continue }
            if isZero(area, c.offset..<(c.offset + c.size)) { cleared &= ~bit(c.number) }
        }
        guard cleared != bv else { return area }
        var out = area
        for i in 0..<8 { out[xstateBVOffset + i] = UInt8(truncatingIfNeeded: cleared >> (8 * UInt64(i))) }
        return out
    }

    /// The state components the guest may enable in XCR0 (CPUID leaf 0xD
    /// subleaf 0, EDX:EAX), which bounds what KVM_SET_XSAVE accepts.
    public static func permittedFeatures(cpuid: [CPUIDEntry]) -> UInt64? {
        guard let e = cpuid.first(where: { $0.function == CPUIDLeaf.xsaveState && $0.index == 0 }) else { return nil }
        return UInt64(e.edx) << 32 | UInt64(e.eax)
    }

    /// `area` with every XSTATE_BV bit outside `permitted` cleared, so that
    /// KVM_SET_XSAVE accepts it. Checkpoints written before `normalize`
    /// existed can carry such a bit: on this host KVM_GET_XSAVE reported
    /// PKRU (bit 9) in use for guests whose CPUID does not offer it. A guest
    /// cannot set an XCR0 bit its CPUID does not permit, so that component's
    /// contents are unreachable to it and dropping them changes nothing it
    /// can observe. A compacted or too short area is returned unchanged.
    public static func restorable(_ area: [UInt8], permitted: UInt64) -> [UInt8] {
        guard area.count >= xcompBVOffset + 8, load(area, xcompBVOffset) & compactedFormat == 0 else { return area }
        let bv = load(area, xstateBVOffset)
        let kept = bv & permitted
        guard kept != bv else { return area }
        var out = area
        for i in 0..<8 { out[xstateBVOffset + i] = UInt8(truncatingIfNeeded: kept >> (8 * UInt64(i))) }
        return out
    }

    static func x87IsInitial(_ area: [UInt8]) -> Bool {
        let fcw = UInt16(area[x87ControlWordOffset]) | UInt16(area[x87ControlWordOffset + 1]) << 8
        let rest = (x87ControlWordOffset + 2)..<x87ControlRange.upperBound
        return fcw == x87InitialControlWord && isZero(area, rest) && isZero(area, x87RegistersRange)
    }

    static func bit(_ component: Int) -> UInt64 { 1 << UInt64(component) }

    static func isZero(_ area: [UInt8], _ range: Range<Int>) -> Bool {
        area[range].allSatisfy { $0 == 0 }
    }

    static func load(_ area: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(area[offset + $1]) << (8 * UInt64($1)) }
    }
}
