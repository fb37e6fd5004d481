/// Where a checkpoint's pages can be read without copying them first: guest
/// RAM. `JournalWriter.appendCheckpoint(_:pagesAt:in:)` encodes each page
/// straight from it into the chunk it writes, one copy per page, instead of
/// copying every page into a `PageRecord` and then again into the chunk.
public protocol CheckpointPageSource {
    /// Calls `body` with the bytes of the page at `gpa` (a whole page); nil
    /// when `gpa` is not in the source.
    func withPage<R>(at gpa: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R?
}

/// The pages a checkpoint encoder writes, by index: the checkpoint's own
/// records, or addresses in a `CheckpointPageSource`. The record layout is
/// the same either way.
enum PageList {
    case records([PageRecord])
    case source([UInt64], any CheckpointPageSource)

    var count: Int {
        switch self {
        case let .records(r): return r.count
        case let .source(gpas, _): return gpas.count
        }
    }

    func gpa(_ i: Int) -> UInt64 {
        switch self {
        case let .records(r): return r[i].gpa
        case let .source(gpas, _): return gpas[i]
        }
    }

    /// `body` over page `i`'s bytes; nil when the source does not have it.
    func withBytes<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        switch self {
        case let .records(r): return r[i].bytes.withUnsafeBytes(body)
        case let .source(gpas, source): return source.withPage(at: gpas[i], body)
        }
    }

    /// True when page `i` is there, one page long and all zero.
    func isZeroPage(_ i: Int) -> Bool {
        withBytes(i) { $0.count == Int(Checkpoint.pageSize) && Self.isZero($0) } ?? false
    }

    static func isZero(_ raw: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let n = raw.count
        while i + 8 <= n {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        while i < n {
            if raw[i] != 0 { return false }
            i += 1
        }
        return true
    }
}
