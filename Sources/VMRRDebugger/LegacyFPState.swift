/// The x87 and SSE registers in the legacy region of an XSAVE (FXSAVE)
/// area: the first 512 bytes of KVM's `struct kvm_xsave` (Intel SDM vol. 1,
/// table 10-2, the 64-bit layout).
struct LegacyFPState: Equatable {
    var fcw: UInt16
    var fsw: UInt16
    /// The abridged tag byte: bit i set when physical register i is not empty.
    var abridgedTag: UInt8
    var fop: UInt16
    var fip: UInt64
    var fdp: UInt64
    var mxcsr: UInt32
    /// ST0..ST7, 10 bytes each (little endian: 64-bit significand, then sign and exponent).
    var st: [[UInt8]]
    /// XMM0..XMM15, 16 bytes each.
    var xmm: [[UInt8]]

    static let size = 512
    static let fcwOffset = 0, fswOffset = 2, tagOffset = 4, fopOffset = 6, fipOffset = 8, fdpOffset = 16
    static let mxcsrOffset = 24, stOffset = 32, stStride = 16, stBytes = 10, xmmOffset = 160, xmmStride = 16
    static let stCount = 8, xmmCount = 16
    static let topShift: UInt16 = 11

    init?(xsave b: [UInt8]) {
        guard b.count >= Self.size else { return nil }
        func le(_ off: Int, _ n: Int) -> UInt64 {
            (0..<n).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(b[off + $1]) }
        }
        fcw = UInt16(le(Self.fcwOffset, 2))
        fsw = UInt16(le(Self.fswOffset, 2))
        abridgedTag = b[Self.tagOffset]
        fop = UInt16(le(Self.fopOffset, 2))
        fip = le(Self.fipOffset, 8)
        fdp = le(Self.fdpOffset, 8)
        mxcsr = UInt32(le(Self.mxcsrOffset, 4))
        st = (0..<Self.stCount).map { i in
            Array(b[(Self.stOffset + i * Self.stStride)..<(Self.stOffset + i * Self.stStride + Self.stBytes)])
        }
        xmm = (0..<Self.xmmCount).map { i in
            Array(b[(Self.xmmOffset + i * Self.xmmStride)..<(Self.xmmOffset + (i + 1) * Self.xmmStride)])
        }
    }

    /// The full tag word (as FSTENV stores it, and gdb shows as ftag): two
    /// bits per physical register, 0 valid, 1 zero, 2 special, 3 empty.
    var tagWord: UInt16 {
        let top = Int((fsw >> Self.topShift) & 7)
        var word: UInt16 = 0
        for physical in 0..<Self.stCount {
            var tag: UInt16 = 3
            if abridgedTag & (1 << UInt8(physical)) != 0 {
                tag = Self.classify(st[(physical - top + Self.stCount) % Self.stCount])
            }
            word |= tag << UInt16(physical * 2)
        }
        return word
    }

    static let integerBit: UInt64 = 1 << 63
    static let exponentMask: UInt16 = 0x7fff

    static func classify(_ r: [UInt8]) -> UInt16 {
        let significand = (0..<8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(r[$1]) }
        let exponent = (UInt16(r[9]) << 8 | UInt16(r[8])) & exponentMask
        if exponent == 0, significand == 0 { return 1 }
        if exponent == exponentMask || exponent == 0 || significand & integerBit == 0 { return 2 }
        return 0
    }

    /// An ST register's value as a decimal number (Swift's Float80 is the same 80-bit format).
    static func value(_ r: [UInt8]) -> String {
        var f = Float80(0)
        withUnsafeMutableBytes(of: &f) { raw in
            for i in 0..<stBytes { raw[i] = r[i] }
        }
        return "\(f)"
    }
}
