import Glibc
import VMRRBase

/// Console input for COM1's receive buffer (`UART16550`).
public protocol ConsoleInput: AnyObject {
    /// The next byte, if one is available now; nil when none is (yet).
    func peek() -> UInt8?
    /// Consumes the byte `peek()` returned.
    func consume()
    /// True when no byte will ever come again.
    var atEnd: Bool { get }
}

/// Input from a file read completely up front (`--input FILE`).
public final class BufferedInput: ConsoleInput {
    let bytes: [UInt8]
    var position = 0
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }
    public func consume() { if position < bytes.count { position += 1 } }
    public var atEnd: Bool { position >= bytes.count }
}

/// Input from a file descriptor (stdin), polled without blocking.
public final class DescriptorInput: ConsoleInput {
    let fd: Int32
    var buffer: [UInt8] = []
    var eof = false
    /// How much one poll reads at most.
    static let chunkSize = 4096
    public init(fd: Int32) { self.fd = fd }
    func fill() {
        guard buffer.isEmpty, !eof else { return }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) > 0 else { return }
        var chunk = [UInt8](repeating: 0, count: Self.chunkSize)
        switch valueOrErrno({ chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }) {
        case .success(0): eof = true
        case .success(let n): buffer.append(contentsOf: chunk[0..<n])
        case .failure(let e): if e.code != EAGAIN { eof = true }
        }
    }
    public func peek() -> UInt8? { fill(); return buffer.first }
    public func consume() { if !buffer.isEmpty { buffer.removeFirst() } }
    public var atEnd: Bool { fill(); return buffer.isEmpty && eof }
}
