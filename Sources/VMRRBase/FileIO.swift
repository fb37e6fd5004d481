#if canImport(Glibc)
import Glibc
#endif

/// Why a file could not be read or written: the operation, the errno, and
/// how far it got. Callers add the path and what the file was for.
public struct FileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Errno
    /// Bytes read or written before the failure.
    public var offset: UInt64?
    /// The path names a directory, device or FIFO, not a regular file.
    public var notRegularFile = false
    public init(operation: String, errno: Errno, offset: UInt64? = nil) {
        self.operation = operation; self.errno = errno; self.offset = offset
    }
    public var description: String { notRegularFile ? "not a regular file" : "\(operation): \(errno)" }
}

/// The one way vmrr reads and writes whole files (every read and write goes
/// through `valueOrErrno`, so EINTR is retried in one place).
public enum FileIO {
    /// The whole regular file at `path`, read to its end (files whose size
    /// `stat` gives as 0, such as those in /proc, are read completely too).
    /// Directories, devices and FIFOs are refused, so that a path that is not
    /// a file cannot block or grow without end.
    ///
    /// With `regularOnly: false`, FIFOs and character devices are read to
    /// their end too (`--input <(...)`); use that only where a person names
    /// the file on the command line, with `maxBytes`: a device such as
    /// /dev/zero never ends, and reading stops with EFBIG past that many bytes.
    public static func read(_ path: String, regularOnly: Bool = true, maxBytes: Int = .max) throws(FileError) -> [UInt8] {
        let fd: Int32
        // Opened with O_NONBLOCK, so that a FIFO without a writer never blocks
        // open(2) (it is refused below, or, when allowed, read as empty);
        // reads are blocking again once the file is open.
        switch valueOrErrno({ open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }) {
        case .success(let d): fd = d
        case .failure(let e): throw FileError(operation: "open", errno: e)
        }
        defer { close(fd) }
        guard fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0 else { throw FileError(operation: "fcntl", errno: .current) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError(operation: "fstat", errno: .current) }
        guard (st.st_mode & S_IFMT) == S_IFREG || (!regularOnly && (st.st_mode & S_IFMT) != S_IFDIR) else {
            var e = FileError(operation: "open", errno: Errno((st.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL))
            e.notRegularFile = true
            throw e
        }
        var out: [UInt8] = []
        out.reserveCapacity(max(Int(st.st_size), 0))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            // `chunk` is alive and holds chunk.count bytes for the call.
            let r = valueOrErrno { chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            switch r {
            case .success(0): return out
            case .success(let n):
                guard n <= maxBytes - out.count else {
                    throw FileError(operation: "read (more than \(maxBytes) bytes)", errno: Errno(EFBIG), offset: UInt64(out.count))
                }
                out.append(contentsOf: chunk[0..<n])
            case .failure(let e): throw FileError(operation: "read", errno: e, offset: UInt64(out.count))
            }
        }
    }

    /// The whole file as UTF-8 text (invalid sequences replaced).
    public static func readText(_ path: String, regularOnly: Bool = true) throws(FileError) -> String {
        String(decoding: try read(path, regularOnly: regularOnly), as: UTF8.self)
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
    public static func writeAll(fd: Int32, _ bytes: some Collection<UInt8>) throws(FileError) {
        let array = Array(bytes)
        if let failure = array.withUnsafeBytes({ write(fd: fd, $0) }) { throw failure }
    }

    /// Writes all of `bytes` to `fd` without copying them.
    public static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(FileError) {
        if let failure = write(fd: fd, bytes) { throw failure }
    }

    /// Writes all of `bytes` to `fd` at file offset `offset` with pwrite(2)
    /// (the file position does not move), retrying short writes and EINTR.
    public static func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(FileError) {
        if let failure = write(fd: fd, bytes, at: offset) { throw failure }
    }

    /// The write loop: nil when every byte is out. With `at`, pwrite(2) at that offset.
    private static func write(fd: Int32, _ bytes: UnsafeRawBufferPointer, at position: UInt64? = nil) -> FileError? {
        guard let base = bytes.baseAddress else { return nil }
        var off = 0
        while off < bytes.count {
            // `bytes` is valid for the call and off < bytes.count.
            switch valueOrErrno({
                if let position { return pwrite(fd, base + off, bytes.count - off, off_t(position) + off_t(off)) }
                return Glibc.write(fd, base + off, bytes.count - off)
            }) {
            case .success(0): return FileError(operation: "write", errno: Errno(EIO), offset: UInt64(off))
            case .success(let n): off += n
            case .failure(let e): return FileError(operation: "write", errno: e, offset: UInt64(off))
            }
        }
        return nil
    }
}
