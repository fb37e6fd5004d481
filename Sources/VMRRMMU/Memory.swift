// Read-only access to guest-physical memory: checkpoint memory from a journal, live KVM
// memory, or a synthetic byte array in tests. A nil read means "outside memory".

/// Guest-physical memory as the MMU library sees it: read-only, little-endian.
public protocol GuestPhysicalMemory {
    /// Bytes of guest-physical memory starting at GPA 0.
    var size: UInt64 { get }
    /// `count` bytes at `gpa`, or nil if any of them lies outside memory.
    func readBytes(_ gpa: UInt64, count: Int) -> [UInt8]?
    /// The little-endian 64-bit value at `gpa`, or nil if outside memory.
    func read64(_ gpa: UInt64) -> UInt64?
    /// The little-endian 32-bit value at `gpa`, or nil if outside memory.
    func read32(_ gpa: UInt64) -> UInt32?
}

extension GuestPhysicalMemory {
    /// True if `count` bytes at `gpa` lie inside memory. Never traps.
    public func contains(_ gpa: UInt64, count: UInt64) -> Bool {
        count <= size && gpa <= size - count
    }

    public func read64(_ gpa: UInt64) -> UInt64? {
        guard let bytes = readBytes(gpa, count: 8), bytes.count == 8 else { return nil }
        return bytes.reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }

    public func read32(_ gpa: UInt64) -> UInt32? {
        guard let bytes = readBytes(gpa, count: 4), bytes.count == 4 else { return nil }
        return bytes.reversed().reduce(UInt32(0)) { ($0 << 8) | UInt32($1) }
    }
}

/// Guest memory held in a Swift array: for tests, benchmarks and small checkpoints.
public struct ByteArrayMemory: GuestPhysicalMemory, Sendable {
    public private(set) var bytes: [UInt8]

    public init(size: Int) {
        bytes = [UInt8](repeating: 0, count: max(size, 0))
    }

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var size: UInt64 { UInt64(bytes.count) }

    public func readBytes(_ gpa: UInt64, count: Int) -> [UInt8]? {
        guard count >= 0, contains(gpa, count: UInt64(count)) else { return nil }
        let start = Int(gpa)
        return Array(bytes[start..<start + count])
    }

    public func read64(_ gpa: UInt64) -> UInt64? {
        guard contains(gpa, count: 8) else { return nil }
        // The range check above keeps the 8-byte load inside the array.
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: Int(gpa), as: UInt64.self)) }
    }

    public func read32(_ gpa: UInt64) -> UInt32? {
        guard contains(gpa, count: 4) else { return nil }
        // The range check above keeps the 4-byte load inside the array.
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: Int(gpa), as: UInt32.self)) }
    }

    /// Writes a little-endian 64-bit value. Writing outside memory is a programming error.
    public mutating func write64(_ gpa: UInt64, _ value: UInt64) {
        precondition(contains(gpa, count: 8), "write64 outside memory: \(gpa)")
        for i in 0..<8 { bytes[Int(gpa) + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
    }

    /// Writes a little-endian 32-bit value. Writing outside memory is a programming error.
    public mutating func write32(_ gpa: UInt64, _ value: UInt32) {
        precondition(contains(gpa, count: 4), "write32 outside memory: \(gpa)")
        for i in 0..<4 { bytes[Int(gpa) + i] = UInt8(truncatingIfNeeded: value >> UInt32(8 * i)) }
    }
}
