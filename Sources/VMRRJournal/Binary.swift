/// Byte-level codecs shared by the journal writer and reader.
/// Every fixed-width integer in a journal is little-endian. Varints are
/// unsigned LEB128 (7 bits per byte, low group first, high bit = more);
/// signed values are zigzag-mapped first.

/// The LEB128 continuation bit.
let varintContinuation: UInt8 = 0x80
/// The 7 payload bits of a LEB128 byte.
let varintPayloadMask: UInt64 = 0x7f
/// A UInt64 needs at most 10 LEB128 bytes; the 10th may only carry bit 63.
let varintMaxBytes = 10

@inline(__always) func zigzagEncode(_ v: Int64) -> UInt64 {
    UInt64(bitPattern: (v << 1) ^ (v >> 63))
}

@inline(__always) func zigzagDecode(_ u: UInt64) -> Int64 {
    Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
}

/// How many bytes the LEB128 encoding of `v` takes.
@inline(__always) func varintSize(_ v: UInt64) -> Int {
    var n = 1
    var v = v >> 7
    while v != 0 { n += 1; v >>= 7 }
    return n
}

// MARK: - Hot-path encoding into a raw buffer the caller has sized

/// Writes into memory the caller has checked is large enough (see
/// `EventCodec.maxRecordSize`). Used only by the writer's append path.
struct RawEncoder {
    var p: UnsafeMutablePointer<UInt8>

    @inline(__always) mutating func u8(_ v: UInt8) { p.pointee = v; p += 1 }

    @inline(__always) mutating func varint(_ value: UInt64) {
        var v = value
        while v > varintPayloadMask {
            p.pointee = UInt8(truncatingIfNeeded: v) | varintContinuation
            p += 1
            v >>= 7
        }
        p.pointee = UInt8(truncatingIfNeeded: v)
        p += 1
    }

    @inline(__always) mutating func zigzag(_ v: Int64) { varint(zigzagEncode(v)) }

    @inline(__always) mutating func u16(_ v: UInt16) {
        UnsafeMutableRawPointer(p).storeBytes(of: v.littleEndian, as: UInt16.self); p += 2
    }
    @inline(__always) mutating func u32(_ v: UInt32) {
        UnsafeMutableRawPointer(p).storeBytes(of: v.littleEndian, as: UInt32.self); p += 4
    }
    @inline(__always) mutating func u64(_ v: UInt64) {
        UnsafeMutableRawPointer(p).storeBytes(of: v.littleEndian, as: UInt64.self); p += 8
    }

    /// varint length, then the bytes.
    mutating func lengthPrefixed(_ b: [UInt8]) { varint(UInt64(b.count)); bytes(b) }

    /// Copies `b` in.
    @inline(__always) mutating func raw(_ b: UnsafeRawBufferPointer) {
        guard let src = b.baseAddress, b.count > 0 else { return }
        UnsafeMutableRawPointer(p).copyMemory(from: src, byteCount: b.count)
        p += b.count
    }

    mutating func bytes(_ b: [UInt8]) {
        b.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { return }
            p.update(from: base, count: src.count)
        }
        p += b.count
    }
}

// MARK: - Cold-path encoding into a growable array

/// A growable little-endian byte sink for the header, checkpoints and the index.
struct ByteSink {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { for i in 0..<2 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func varint(_ value: UInt64) {
        var v = value
        while v > varintPayloadMask {
            bytes.append(UInt8(truncatingIfNeeded: v) | varintContinuation)
            v >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: v))
    }
    mutating func zigzag(_ v: Int64) { varint(zigzagEncode(v)) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    mutating func raw(_ s: String) { bytes.append(contentsOf: Array(s.utf8)) }
    /// varint length, then the bytes.
    mutating func lengthPrefixed(_ b: [UInt8]) { varint(UInt64(b.count)); raw(b) }

    /// Overwrites 4 bytes at `at` with `v`, little-endian.
    mutating func patchU32(_ v: UInt32, at: Int) {
        for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }
}

// MARK: - Checked decoding

/// A bounds-checked little-endian cursor over a journal's bytes. Every read
/// checks the remaining length first and throws a `JournalError` naming the
/// absolute file offset; nothing traps on bad data.
///
/// `bytes` may be a piece of the file read at `base` (a chunk read with
/// pread): positions are indices into `bytes`, and errors add `base`.
struct ByteReader {
    let bytes: [UInt8]
    let name: String
    var pos: Int
    var end: Int
    /// The file offset of `bytes[0]`.
    let base: Int

    init(_ bytes: [UInt8], name: String, from: Int = 0, to: Int? = nil, base: Int = 0) {
        self.bytes = bytes; self.name = name; self.pos = from; self.base = base
        self.end = min(to ?? bytes.count, bytes.count)
    }

    var remaining: Int { end - pos }
    var atEnd: Bool { pos >= end }
    /// The file offset of `pos`.
    var offset: Int { base + pos }

    /// An error at `offset`, an index into `bytes` (default: `pos`).
    func error(_ reason: String, at offset: Int? = nil) -> JournalError {
        JournalError(path: name, offset: UInt64(max(0, base + (offset ?? pos))), reason: reason)
    }

    @inline(__always) mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n >= 0, n <= end - pos else {
            throw error("\(what()) needs \(n) bytes but only \(max(0, end - pos)) remain")
        }
    }

    mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 {
        guard pos < end else { throw error("\(what()) is missing (no bytes remain)") }
        let v = bytes[pos]; pos += 1
        return v
    }

    mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 {
        UInt16(truncatingIfNeeded: try fixed(2, what()))
    }
    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 {
        UInt32(truncatingIfNeeded: try fixed(4, what()))
    }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 {
        try fixed(8, what())
    }

    private mutating func fixed(_ n: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        try need(n, what())
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[pos + i]) << (8 * i) }
        pos += n
        return v
    }

    mutating func varint(_ what: @autoclosure () -> String) throws -> UInt64 {
        let start = pos
        var v: UInt64 = 0
        var shift: UInt64 = 0
        for i in 0..<varintMaxBytes {
            guard pos < end else { throw error("\(what()): varint runs past the end", at: start) }
            let b = bytes[pos]; pos += 1
            let payload = UInt64(b) & varintPayloadMask
            if i == varintMaxBytes - 1, payload > 1 {
                throw error("\(what()): varint overflows 64 bits", at: start)
            }
            v |= payload << shift
            if b & varintContinuation == 0 { return v }
            shift += 7
        }
        throw error("\(what()): varint longer than \(varintMaxBytes) bytes", at: start)
    }

    mutating func zigzag(_ what: @autoclosure () -> String) throws -> Int64 {
        zigzagDecode(try varint(what()))
    }

    /// A varint that must fit in an Int and not exceed `limit`.
    mutating func length(_ what: @autoclosure () -> String, limit: Int) throws -> Int {
        let start = pos
        let v = try varint(what())
        guard v <= UInt64(limit) else {
            throw error("\(what()) \(v) exceeds the limit \(limit)", at: start)
        }
        return Int(v)
    }

    /// `n` raw bytes; `n` is checked against what remains before allocating.
    mutating func bytes(_ n: Int, _ what: @autoclosure () -> String) throws -> [UInt8] {
        try need(n, what())
        let out = Array(bytes[pos..<(pos + n)])
        pos += n
        return out
    }

    /// varint length then that many bytes.
    mutating func lengthPrefixed(_ what: @autoclosure () -> String) throws -> [UInt8] {
        let n = try length("\(what()) length", limit: remaining)
        return try bytes(n, what())
    }
}
