/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), computed slice-by-8.
///
/// `checksum(_:initial:)` chains: `checksum(b, initial: checksum(a)) == checksum(a + b)`.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    static let polynomial: UInt32 = 0x82F6_3B78

    /// Eight 256-entry tables, back to back: table k at `k * 256`.
    /// Table 0 is the classic byte-at-a-time table; table k advances a byte
    /// through k further zero bytes.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ polynomial : c >> 1 }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xff)]
            }
        }
        return t
    }()

    /// The CRC of `bytes`, continuing from a previous result `initial` (0 to start).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = ~initial
        guard let base = bytes.baseAddress, bytes.count > 0 else { return initial }
        let n = bytes.count
        tables.withUnsafeBufferPointer { tp in
            // tables has exactly 2048 entries, and every index below is a byte
            // value plus a multiple of 256 below 2048.
            let t = tp.baseAddress!
            var i = 0
            while i + 8 <= n {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let lo = crc ^ UInt32(truncatingIfNeeded: word)
                let hi = UInt32(truncatingIfNeeded: word >> 32)
                crc = t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                let b = base.load(fromByteOffset: i, as: UInt8.self)
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(b)) & 0xff)]
                i += 1
            }
        }
        return ~crc
    }

    /// The CRC of `bytes[range]`, continuing from `initial`.
    public static func checksum(_ bytes: [UInt8], range: Range<Int>? = nil, initial: UInt32 = 0) -> UInt32 {
        let r = range ?? 0..<bytes.count
        precondition(r.lowerBound >= 0 && r.upperBound <= bytes.count, "CRC32C range out of bounds")
        return bytes.withUnsafeBytes { raw in
            checksum(UnsafeRawBufferPointer(rebasing: raw[r]), initial: initial)
        }
    }

    /// Bitwise reference implementation (slow); used by tests to check the tables.
    public static func referenceChecksum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        var crc = ~initial
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
        }
        return ~crc
    }
}
