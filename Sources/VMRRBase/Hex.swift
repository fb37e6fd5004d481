/// The one hex formatter of vmrr: `0x` and lowercase digits, zero-padded to
/// `digits` when given (`hex(0x1f)` is "0x1f", `hex(0x1f, digits: 4)` is
/// "0x001f"). Every module formats numbers through this, so `hex` means the
/// same thing everywhere and never needs a `0x` in front of it.
@inline(__always)
public func hex<T: BinaryInteger>(_ value: T, digits: Int = 0) -> String {
    let s = String(value, radix: 16)
    return digits > s.count ? "0x" + String(repeating: "0", count: digits - s.count) + s : "0x" + s
}

/// Two lowercase hex digits, no prefix ("0f"): instruction bytes, packet payloads.
@inline(__always)
public func hexByte(_ b: UInt8) -> String {
    b < 16 ? "0" + String(b, radix: 16) : String(b, radix: 16)
}

/// Bytes as lowercase hex pairs, no prefix, no separator ("0fa2").
public func hexBytes<C: Collection>(_ bytes: C, separator: String = "") -> String where C.Element == UInt8 {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    var s = ""
    s.reserveCapacity(bytes.count * (2 + separator.count))
    for (i, b) in bytes.enumerated() {
        if i > 0 && !separator.isEmpty { s += separator }
        s.append(digits[Int(b >> 4)])
        s.append(digits[Int(b & 0xF)])
    }
    return s
}
