/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), computed slice-by-8,
/// three streams at a time for large buffers.
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

    /// Below this many bytes one stream is as fast as three (the combine costs ~1 µs).
    static let interleaveThreshold = 4096

    /// The CRC of `bytes`, continuing from a previous result `initial` (0 to start).
    ///
    /// Large buffers are cut into three equal parts whose CRCs are computed
    /// in the same loop (three independent dependency chains keep the table
    /// loads busy: about 2.5x the speed of one stream) and then combined; the
    /// result is the same CRC, bit for bit.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return initial }
        let n = bytes.count
        return tables.withUnsafeBufferPointer { tp -> UInt32 in
            // tables has exactly 2048 entries, and every index below is a byte
            // value plus a multiple of 256 below 2048.
            let t = tp.baseAddress!
            var crc = ~initial
            var i = 0
            if n >= interleaveThreshold {
                // Three streams of `part` bytes (a multiple of 8) each; the
                // second and third start from a zero register.
                let part = n / 24 * 8
                var a = crc, b: UInt32 = 0, c: UInt32 = 0
                // Every load below is at most at offset 2 * part + part - 8 < n.
                while i < part {
                    a = step8(t, a, base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                    b = step8(t, b, base.loadUnaligned(fromByteOffset: part + i, as: UInt64.self))
                    c = step8(t, c, base.loadUnaligned(fromByteOffset: 2 * part + i, as: UInt64.self))
                    i += 8
                }
                // The register is linear: running `part` bytes from state s
                // gives shift(s, part) ^ (the run from 0).
                let shift = zerosOperator(bytes: part)
                crc = multiplyModP(shift, multiplyModP(shift, a) ^ b) ^ c
                i = 3 * part
            }
            while i + 8 <= n {
                crc = step8(t, crc, base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                i += 8
            }
            while i < n {
                let byte = base.load(fromByteOffset: i, as: UInt8.self)
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(byte)) & 0xff)]
                i += 1
            }
            return ~crc
        }
    }

    /// Eight bytes through the register, slice-by-8.
    @inline(__always)
    static func step8(_ t: UnsafePointer<UInt32>, _ crc: UInt32, _ raw: UInt64) -> UInt32 {
        let word = UInt64(littleEndian: raw)
        let lo = crc ^ UInt32(truncatingIfNeeded: word)
        let hi = UInt32(truncatingIfNeeded: word >> 32)
        return t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
            ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
            ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
            ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
    }

    /// a * b modulo the polynomial, in the reflected bit order (bit 31 is x^0).
    static func multiplyModP(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var m: UInt32 = 1 << 31
        var p: UInt32 = 0
        var b = b
        while m != 0 && a & (m | (m &- 1)) != 0 {
            if a & m != 0 { p ^= b }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ polynomial : b >> 1
        }
        return p
    }

    /// x^(2^k) modulo the polynomial, for k in 0..<64 (reflected).
    static let powersOfX: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 64)
        var p: UInt32 = 1 << 30   // x^1
        for k in 0..<64 {
            t[k] = p
            p = multiplyModP(p, p)
        }
        return t
    }()

    /// x^(8 * bytes) modulo the polynomial: multiplying a register by it runs
    /// it through `bytes` zero bytes.
    static func zerosOperator(bytes: Int) -> UInt32 {
        var p: UInt32 = 1 << 31   // x^0
        var n = UInt64(bytes) << 3   // bits; below 2^64 for any buffer
        var k = 0
        while n != 0 {
            if n & 1 != 0 { p = multiplyModP(powersOfX[k], p) }
            n >>= 1
            k += 1
        }
        return p
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
