// Host-physical frames behind host virtual addresses. The real resolver reads
// /proc/self/pagemap; journals and tests use the others.
#if canImport(Glibc)
import Glibc
#endif

/// Why a host frame could not be found; rendered as "n/a: <reason>".
public struct HostFrameError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "n/a: \(reason)" }
}

/// Finds the host-physical frame number (PFN) that backs a host virtual address.
public protocol HostFrameResolver {
    func hostFrame(forHostAddress address: UInt64) -> Result<UInt64, HostFrameError>
}

/// A resolver that knows no frames, e.g. when viewing memory from a journal.
public struct NoHostFrames: HostFrameResolver, Sendable {
    public var reason: String
    public init(reason: String = "no live host memory (viewing a recording)") { self.reason = reason }
    public func hostFrame(forHostAddress address: UInt64) -> Result<UInt64, HostFrameError> {
        .failure(HostFrameError(reason))
    }
}

/// A fixed table of frames (host page address -> PFN), for tests.
public struct FixedHostFrames: HostFrameResolver, Sendable {
    public var frames: [UInt64: UInt64]
    public init(_ frames: [UInt64: UInt64]) { self.frames = frames }
    public func hostFrame(forHostAddress address: UInt64) -> Result<UInt64, HostFrameError> {
        if let pfn = frames[address & ~bitRange(11, 0)] { return .success(pfn) }
        return .failure(HostFrameError("page not present"))
    }
}

/// Reads /proc/self/pagemap: one 64-bit entry per host page (Documentation/admin-guide/mm/pagemap.rst).
public struct PagemapResolver: HostFrameResolver, Sendable {
    /// Bit 63: page present in RAM.
    static let presentBit: UInt64 = 1 << 63
    /// Bit 62: page swapped out.
    static let swappedBit: UInt64 = 1 << 62
    /// Bits 54:0: the page frame number when present.
    static let frameMask: UInt64 = bitRange(54, 0)
    static let pageShift: UInt64 = 12

    public let path: String
    public init(path: String = "/proc/self/pagemap") { self.path = path }

    public func hostFrame(forHostAddress address: UInt64) -> Result<UInt64, HostFrameError> {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failure(HostFrameError("open \(path): errno \(errno)")) }
        defer { close(fd) }
        var entry: UInt64 = 0
        let offset = (address >> Self.pageShift) &* 8
        guard offset <= UInt64(Int64.max) else { return .failure(HostFrameError("address beyond pagemap")) }
        // `entry` is a local 8-byte buffer that outlives the call.
        let n = withUnsafeMutableBytes(of: &entry) { pread(fd, $0.baseAddress, 8, off_t(offset)) }
        guard n == 8 else { return .failure(HostFrameError("pread \(path): errno \(errno)")) }
        if entry & Self.presentBit == 0 {
            return .failure(HostFrameError(entry & Self.swappedBit != 0 ? "page swapped out"
                                                                       : "page not present (never touched)"))
        }
        let pfn = entry & Self.frameMask
        guard pfn != 0 else { return .failure(HostFrameError("kernel hides PFNs (needs CAP_SYS_ADMIN)")) }
        return .success(pfn)
    }
}
