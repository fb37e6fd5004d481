#if canImport(Glibc)
import Glibc
#endif
import VMRRBase

/// Where a journal's bytes come from: memory (a bundle's entry, a test's
/// bytes) or a file read at offsets with pread(2), so that a journal of any
/// length is read a chunk at a time in constant memory.
///
/// The size is the one seen at open. A file cut short afterwards gives a
/// one-line error naming the offset (no mapping, so no SIGBUS); a file whose
/// bytes change under the reader fails its chunks' CRCs.
///
/// Opening walks every chunk frame and CRC in file order: while `readAhead`
/// is on, small reads are served from a window of `windowSize` bytes read
/// ahead with one pread, so that a journal of thousands of chunks opens with
/// one system call per MiB, not several per chunk. After open it is off:
/// each chunk decoded is one pread of the file as it is then.
final class JournalSource {
    let name: String
    let size: Int
    private let memory: [UInt8]?
    private let file: PositionalFile?
    static let windowSize = 1 << 20
    private var window: [UInt8] = []
    private var windowStart = 0
    /// Read ahead in `windowSize` blocks (turned off once the journal is open; that frees the window).
    var readAhead = true {
        didSet { if !readAhead { window = [] } }
    }

    init(bytes: [UInt8], name: String) {
        self.name = name; size = bytes.count; memory = bytes; file = nil
    }

    init(file: PositionalFile, name: String) {
        self.name = name; size = file.size; memory = nil; self.file = file
    }

    /// The bytes `offset ..< offset + count`, cut at the end of the file
    /// (fewer than `count` only there).
    func read(_ offset: Int, _ count: Int) throws -> [UInt8] {
        let start = min(max(0, offset), size)
        let n = max(0, min(count, size - start))
        if let memory { return Array(memory[start..<(start + n)]) }
        if readAhead && n < Self.windowSize {
            if start < windowStart || start + n > windowStart + window.count {
                let m = min(Self.windowSize, size - start)
                window = [UInt8](repeating: 0, count: m)
                try window.withUnsafeMutableBytes { try fill($0, at: start) }
                windowStart = start
            }
            return Array(window[(start - windowStart)..<(start - windowStart + n)])
        }
        var out = [UInt8](repeating: 0, count: n)
        try out.withUnsafeMutableBytes { try fill($0, at: start) }
        return out
    }

    /// The CRC32C of `range` (which lies inside the file), read in blocks.
    func crc(_ range: Range<Int>, initial: UInt32) throws -> UInt32 {
        if let memory { return CRC32C.checksum(memory, range: range, initial: initial) }
        if readAhead && range.count < Self.windowSize {
            return CRC32C.checksum(try read(range.lowerBound, range.count), initial: initial)
        }
        let block = 1 << 20
        var buffer = [UInt8](repeating: 0, count: min(block, range.count))
        var crc = initial
        var at = range.lowerBound
        while at < range.upperBound {
            let n = min(block, range.upperBound - at)
            try buffer.withUnsafeMutableBytes { b in
                let part = UnsafeMutableRawBufferPointer(rebasing: b[0..<n])
                try fill(part, at: at)
                crc = CRC32C.checksum(UnsafeRawBufferPointer(part), initial: crc)
            }
            at += n
        }
        return crc
    }

    /// Fills `buffer` from the file at `offset`; the file must still hold those bytes.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws {
        guard let file else { return }
        let got: Int
        do { got = try file.read(at: offset, into: buffer) } catch {
            throw JournalError(path: name, offset: error.offset ?? UInt64(offset), reason: "cannot read: \(error.errno)")
        }
        guard got == buffer.count else {
            throw JournalError(path: name, offset: UInt64(offset + got),
                               reason: "the file ends at offset \(offset + got), but it had \(size) bytes when it was opened: it was truncated while being read")
        }
    }
}
