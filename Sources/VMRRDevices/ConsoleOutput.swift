import Glibc
import VMRRBase

/// Where console output (COM1's transmitted bytes) goes.
public protocol ConsoleOutput: AnyObject {
    func write(_ byte: UInt8)
    func flush()
}

/// Console output to a file descriptor, buffered per line.
public final class DescriptorOutput: ConsoleOutput {
    let fd: Int32
    let ownsDescriptor: Bool
    var buffer: [UInt8] = []
    /// A buffer this full is written out even without a newline.
    static let flushThreshold = 4096
    public init(fd: Int32, ownsDescriptor: Bool = false) { self.fd = fd; self.ownsDescriptor = ownsDescriptor }
    public func write(_ byte: UInt8) {
        buffer.append(byte)
        if byte == UInt8(ascii: "\n") || buffer.count >= Self.flushThreshold { flush() }
    }
    public func flush() {
        try? FileIO.writeAll(fd: fd, buffer)
        buffer.removeAll(keepingCapacity: true)
    }
    deinit { flush(); if ownsDescriptor { close(fd) } }
}

/// Console output collected in memory (tests, `--quiet` comparison).
public final class CapturedOutput: ConsoleOutput {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ byte: UInt8) { bytes.append(byte) }
    public func flush() {}
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
