#if canImport(Glibc)
import Glibc
#endif

/// A regular file opened read-only and read at offsets with pread(2), for
/// files too large to load whole (a journal of millions of events). Nothing
/// is mapped: a file cut short after it was opened gives a short read, which
/// the caller reports, never a SIGBUS.
public final class PositionalFile {
    public let fd: Int32
    /// The size `fstat` gave at open.
    public let size: Int

    /// Opens `path`; directories, devices and FIFOs are refused (a FIFO
    /// without a writer does not block the open).
    public init(path: String) throws(FileError) {
        let d: Int32
        switch valueOrErrno({ open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }) {
        case .success(let v): d = v
        case .failure(let e): throw FileError(operation: "open", errno: e)
        }
        var st = stat()
        guard fstat(d, &st) == 0 else {
            let e = Errno.current
            close(d)
            throw FileError(operation: "fstat", errno: e)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(d)
            var e = FileError(operation: "open", errno: Errno((st.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL))
            e.notRegularFile = true
            throw e
        }
        fd = d
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Fills `buffer` from `offset` on; returns the bytes read, fewer than
    /// `buffer.count` only where the file ends.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            // `buffer` is valid for the call and done < buffer.count.
            switch valueOrErrno({ pread(fd, base + done, buffer.count - done, off_t(offset + done)) }) {
            case .success(0): return done
            case .success(let n): done += n
            case .failure(let e): throw FileError(operation: "read", errno: e, offset: UInt64(offset + done))
            }
        }
        return done
    }
}
