import Glibc

/// Anonymous host memory that backs guest RAM. Owns the mapping and unmaps it
/// in deinit. Callers read and write it by guest-physical address through the
/// checked functions; raw pointers are lent only inside closures.
public final class GuestRAM: @unchecked Sendable {
    public let size: UInt64
    let base: UnsafeMutableRawPointer

    public init(size: UInt64) throws {
        guard size > 0, size <= UInt64(Int.max) else { throw KVMUnsupported("guest RAM size \(size) is out of range") }
        let p = mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw KVMError("mmap \(size) bytes of guest RAM", errno: errno) }
        self.size = size
        self.base = p
    }

    deinit { munmap(base, Int(size)) }

    /// The host virtual address of guest-physical 0.
    public var hostAddress: UInt64 { UInt64(UInt(bitPattern: base)) }

    @inline(__always)
    public func contains(_ gpa: UInt64, count: Int) -> Bool {
        count >= 0 && gpa <= size && UInt64(count) <= size - gpa
    }

    public func read(_ gpa: UInt64, count: Int) -> [UInt8]? {
        guard contains(gpa, count: count) else { return nil }
        // In range: checked above.
        return Array(UnsafeRawBufferPointer(start: base + Int(gpa), count: count))
    }

    public func write(_ gpa: UInt64, _ bytes: [UInt8]) -> Bool {
        guard contains(gpa, count: bytes.count) else { return false }
        bytes.withUnsafeBytes { src in
            // In range: checked above; src holds exactly bytes.count bytes.
            if let s = src.baseAddress { (base + Int(gpa)).copyMemory(from: s, byteCount: bytes.count) }
        }
        return true
    }

    public func read64(_ gpa: UInt64) -> UInt64? {
        guard contains(gpa, count: 8) else { return nil }
        return (base + Int(gpa)).loadUnaligned(as: UInt64.self).littleEndian
    }

    public func read32(_ gpa: UInt64) -> UInt32? {
        guard contains(gpa, count: 4) else { return nil }
        return (base + Int(gpa)).loadUnaligned(as: UInt32.self).littleEndian
    }

    /// Lends the bytes of one page-aligned range; used for checkpoints and digests.
    public func withBytes<R>(_ gpa: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard contains(gpa, count: count) else { return nil }
        return try body(UnsafeRawBufferPointer(start: base + Int(gpa), count: count))
    }

    /// Zeroes all of RAM (used before restoring a full checkpoint).
    public func zeroAll() {
        // MADV_DONTNEED on a private anonymous mapping gives back zero pages cheaply.
        if madvise(base, Int(size), MADV_DONTNEED) != 0 {
            memset(base, 0, Int(size))
        }
    }
}
