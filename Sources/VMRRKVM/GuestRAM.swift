import Glibc

/// Anonymous host memory that backs guest RAM. Owns the mapping and unmaps it
/// in deinit. Callers read and write it by guest-physical address through the
/// checked functions; raw pointers are lent only inside closures.
public final class GuestRAM: @unchecked Sendable {
    /// Total bytes of RAM.
    public let size: UInt64
    /// The guest-physical ranges backed by RAM, in order; range i starts at
    /// host offset `offsets[i]` of the one mapping.
    public let ranges: [Range<UInt64>]
    let offsets: [UInt64]
    let base: UnsafeMutableRawPointer

    public init(ranges: [Range<UInt64>]) throws {
        let size = ranges.reduce(UInt64(0)) { $0 + UInt64($1.count) }
        guard size > 0, size <= UInt64(Int.max) else { throw KVMUnsupported("guest RAM size \(size) is out of range") }
        let p = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw KVMError("mmap \(size) bytes of guest RAM", errno: errno) }
        self.size = size
        self.ranges = ranges
        var offs: [UInt64] = []
        var o: UInt64 = 0
        for r in ranges { offs.append(o); o += UInt64(r.count) }
        self.offsets = offs
        self.base = p
    }

    public convenience init(size: UInt64) throws { try self.init(ranges: [0..<size]) }

    deinit { munmap(base, Int(size)) }

    /// The host virtual address of the start of range `i`.
    public func hostAddress(ofRange i: Int) -> UInt64 { UInt64(UInt(bitPattern: base)) + offsets[i] }

    /// The host virtual address backing `gpa`, if RAM backs it.
    public func hostAddress(of gpa: UInt64) -> UInt64? {
        guard let off = offset(gpa, count: 1) else { return nil }
        return UInt64(UInt(bitPattern: base)) + off
    }

    /// The offset into the mapping of `count` bytes at `gpa`, when one RAM range holds them all.
    @inline(__always)
    func offset(_ gpa: UInt64, count: Int) -> UInt64? {
        guard count >= 0 else { return nil }
        for (i, r) in ranges.enumerated() where gpa >= r.lowerBound && gpa < r.upperBound {
            guard UInt64(count) <= r.upperBound - gpa else { return nil }
            return offsets[i] + (gpa - r.lowerBound)
        }
        return count == 0 && ranges.contains(where: { $0.upperBound == gpa }) ? 0 : nil
    }

    @inline(__always)
    public func contains(_ gpa: UInt64, count: Int) -> Bool { offset(gpa, count: count) != nil }

    public func read(_ gpa: UInt64, count: Int) -> [UInt8]? {
        guard let off = offset(gpa, count: count) else { return nil }
        // In range: checked by offset().
        return Array(UnsafeRawBufferPointer(start: base + Int(off), count: count))
    }

    public func write(_ gpa: UInt64, _ bytes: [UInt8]) -> Bool {
        guard let off = offset(gpa, count: bytes.count) else { return false }
        bytes.withUnsafeBytes { src in
            // In range: checked by offset(); src holds exactly bytes.count bytes.
            if let s = src.baseAddress { (base + Int(off)).copyMemory(from: s, byteCount: bytes.count) }
        }
        return true
    }

    public func write(_ gpa: UInt64, _ bytes: ArraySlice<UInt8>) -> Bool {
        guard let off = offset(gpa, count: bytes.count) else { return false }
        bytes.withUnsafeBytes { src in
            // In range: checked by offset(); src holds exactly bytes.count bytes.
            if let s = src.baseAddress { (base + Int(off)).copyMemory(from: s, byteCount: bytes.count) }
        }
        return true
    }

    public func read64(_ gpa: UInt64) -> UInt64? {
        guard let off = offset(gpa, count: 8) else { return nil }
        return (base + Int(off)).loadUnaligned(as: UInt64.self).littleEndian
    }

    public func read32(_ gpa: UInt64) -> UInt32? {
        guard let off = offset(gpa, count: 4) else { return nil }
        return (base + Int(off)).loadUnaligned(as: UInt32.self).littleEndian
    }

    /// Lends the bytes of one page-aligned range; used for checkpoints and digests.
    public func withBytes<R>(_ gpa: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard let off = offset(gpa, count: count) else { return nil }
        return try body(UnsafeRawBufferPointer(start: base + Int(off), count: count))
    }

    /// Zeroes `count` bytes from `gpa` within one RAM range; false when they
    /// are not all RAM. The whole pages of a large range are given back to
    /// the kernel instead of being written (so a huge bss or zero run costs
    /// no resident memory).
    public func zero(_ gpa: UInt64, count: UInt64) -> Bool {
        guard count <= UInt64(Int.max), let off = offset(gpa, count: Int(count)) else { return false }
        let start = Int(off), end = start + Int(count)
        let page = Int(getpagesize())
        // base is page-aligned (mmap), so these offsets are page boundaries of the mapping.
        let first = (start + page - 1) / page * page, last = end / page * page
        if count >= Self.madviseThreshold, first < last, madvise(base + first, last - first, MADV_DONTNEED) == 0 {
            memset(base + start, 0, first - start)
            memset(base + last, 0, end - last)
        } else {
            memset(base + start, 0, Int(count))
        }
        return true
    }

    /// Below this many bytes, zeroing writes them (cheaper than faulting the pages back in).
    static let madviseThreshold: UInt64 = 64 << 10

    /// Zeroes all of RAM (used before restoring a full checkpoint).
    public func zeroAll() {
        // MADV_DONTNEED on a private anonymous mapping gives back zero pages cheaply.
        if madvise(base, Int(size), MADV_DONTNEED) != 0 {
            memset(base, 0, Int(size))
        }
    }
}
