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
    /// How the descriptor is named in the one failure message.
    let name: String
    /// Set at the first failed write: output is dropped from then on, once reported.
    private(set) var failure: FileError?
    public init(fd: Int32, ownsDescriptor: Bool = false, name: String = "standard output") {
        self.fd = fd; self.ownsDescriptor = ownsDescriptor; self.name = name
    }
    public func write(_ byte: UInt8) {
        guard failure == nil else { return }
        buffer.append(byte)
        if byte == UInt8(ascii: "\n") || buffer.count >= Self.flushThreshold { flush() }
    }
    /// Writes the buffer; the first failure (a full disk, `ulimit -f`,
    /// /dev/full) is reported once on standard error, and later output is
    /// dropped (the journal still holds every byte the guest wrote). EPIPE
    /// is not reported: SIGPIPE ends the recording and says so.
    public func flush() {
        defer { buffer.removeAll(keepingCapacity: true) }
        guard failure == nil, !buffer.isEmpty else { return }
        do { try FileIO.writeAll(fd: fd, buffer) } catch {
            failure = error
            guard error.errno != Errno(EPIPE) else { return }
            let line = "vmrr: console output to \(displaySafe(name)): \(error); console output is dropped from here on (the journal keeps it)\n"
            try? FileIO.writeAll(fd: STDERR_FILENO, Array(line.utf8))
        }
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
