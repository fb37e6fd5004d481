#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VMRRBase

/// Writes a journal: the header at once, events in chunks of up to 64 KiB or
/// 4096 records (each written with one write(2)), checkpoint chunks as they
/// come, and the index tail at `finish()`.
///
/// `append` is the recorder's hot path: it encodes straight into a buffer
/// allocated once, with no other allocation.
///
/// The write(2)s happen on the `JournalFile`'s own thread (unless
/// `writesInBackground` is false): this side encodes a chunk into a buffer
/// and hands it over, in file order. Two buffers alternate for the events
/// chunks, one holds a copy for `publish`, and at most one checkpoint is in
/// flight; a caller that needs a buffer still being written waits for it.
/// A write error is raised at the next call after it (`append` included);
/// `finish()` waits for every write.
public final class JournalWriter {
    private let path: String
    let file: JournalFile
    /// The pending events chunk: frame (filled in at flush) then records (`current`'s bytes).
    private var buffer: UnsafeMutablePointer<UInt8>
    private var current: JournalBuffer
    /// The other events buffer: the last chunk handed over, until it is written.
    private var spare: JournalBuffer
    /// A copy of the pending chunk, written by `publish`.
    private var published: JournalBuffer?
    private var capacity: Int
    /// Bytes used in `buffer`, frame included.
    private var used: Int
    private var pendingRecords: UInt32 = 0
    private var chunkFirst: UInt64 = 0
    private var codec: EventCodec
    /// Version 3 (more than one vCPU): every events chunk starts with the running vCPU.
    private let smp: Bool
    /// Bytes on disk.
    private var fileOffset: UInt64 = 0
    private var eventChunks: [(first: UInt64, count: UInt32, offset: UInt64)] = []
    private var checkpointList: [CheckpointInfo] = []
    private var checkpointIDs = Set<UInt32>()
    private var finished = false
    /// Bytes of the pending chunk (frame included) already on disk from a
    /// `publish()`; the next publish or flush rewrites the chunk in place.
    private var publishedBytes = 0
    /// Set after a failed write; the writer refuses further work.
    private var failure: JournalError?
    /// Where checkpoint chunks are encoded (see `checkpointBuffer`), and the last one handed over.
    private var cpBuffer: JournalBuffer?
    private weak var cpInFlight: JournalBuffer?

    public private(set) var eventCount: UInt64 = 0
    public private(set) var checkpointBytes: UInt64 = 0

    /// Bytes written so far, including the pending chunk as it would be written now.
    public var bytesWritten: UInt64 {
        fileOffset + (pendingRecords > 0 ? UInt64(used) : 0)
    }

    /// Creates or truncates `path` and writes the header. The file is
    /// locked (`flock`, exclusive) until the writer closes it, and truncated
    /// only once the lock is held: a second writer on the same path is
    /// refused and leaves the first one's journal alone. Only a regular file
    /// (or a new one) is written; opening never blocks (a FIFO is refused).
    ///
    /// With `writesInBackground: false` every write(2) happens in the call
    /// that causes it, on the caller's thread (`vmrr bench` compares the two).
    public init(path: String, header: JournalHeader, writesInBackground: Bool = true) throws {
        self.path = path
        file = JournalFile(fd: try Self.openLocked(path), path: path, background: writesInBackground)
        capacity = JournalFormat.chunkFrameSize + JournalFormat.eventsChunkFlushBytes + 2 * JournalFormat.maxRecordLength
        current = JournalBuffer(capacity: capacity)
        spare = JournalBuffer(capacity: capacity)
        buffer = current.base
        used = JournalFormat.chunkFrameSize
        smp = header.vcpuCount > 1
        codec = EventCodec(formatVersion: JournalFormat.version, vcpuCount: header.vcpuCount)
        startChunk()
        do {
            let bytes = HeaderCodec.encode(header)
            try file.submit(JournalBuffer(copying: bytes), count: bytes.count, at: 0)
            try file.drain()
            fileOffset = UInt64(bytes.count)
        } catch {
            try? file.close()
            throw error
        }
    }

    /// Opens `path` for writing, locked and truncated, as `init` describes.
    static func openLocked(_ path: String) throws -> Int32 {
        func fail(_ why: String) -> JournalError { JournalError(path: path, offset: nil, reason: why) }
        func errnoText() -> String { String(cString: strerror(errno)) }
        let fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot create journal: \(errnoText())") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw fail("cannot create journal: not a regular file")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let why = busy ? "another vmrr is writing this journal (it is locked); choose another -o" : "cannot lock journal: \(errnoText())"
            close(fd)
            throw fail(why)
        }
        // Blocking writes from here on (O_NONBLOCK was for the open only).
        _ = fcntl(fd, F_SETFL, O_WRONLY)
        guard ftruncate(fd, 0) == 0 else {
            let why = "cannot truncate journal: \(errnoText())"
            close(fd)
            throw fail(why)
        }
        return fd
    }

    deinit {
        if !finished && failure == nil {
            try? flush()
        }
        try? file.close()
    }

    private func check() throws {
        if failure == nil, file.failed.load(ordering: .acquiring) { failure = file.error }
        if let failure { throw failure }
        if finished { throw JournalError(path: path, offset: fileOffset, reason: "journal is already finished") }
    }

    /// Appends an event with the registers at that moment; returns its index (0-based).
    @discardableResult
    public func append(_ event: Event, regs: GPRegisters) throws -> UInt64 {
        if failure != nil || finished || file.failed.load(ordering: .relaxed) { try check() }
        if case let .error(_, _, data) = event, data.count > JournalFormat.maxErrorDataLength {
            throw JournalError(path: path, offset: nil,
                               reason: "error event data of \(data.count) bytes exceeds the limit \(JournalFormat.maxErrorDataLength)")
        }
        if !smp, event.kind.needsMoreThanOneVCPU {
            throw JournalError(path: path, offset: nil, reason: "a \(event.kind.name) event needs a journal of more than one vCPU")
        }
        let maxSize = EventCodec.maxRecordSize(event)
        if capacity - used < maxSize { try endChunk() }
        // The body goes one byte in, leaving room for a one-byte length.
        let start = buffer + used
        var e = RawEncoder(p: start + 1)
        codec.encode(event, regs: regs, into: &e)
        let body = e.p - (start + 1)
        // Format 4: the length's low bit says whether the registers were predicted.
        let lengthField = codec.predicts ? UInt64(body) << 1 | (codec.lastRecordPredicted ? 1 : 0) : UInt64(body)
        let lengthSize = varintSize(lengthField)
        if lengthSize > 1 {
            // Rare (records of 64 bytes or more): shift the body to fit the length.
            (start + lengthSize).update(from: start + 1, count: body)
        }
        var l = RawEncoder(p: start)
        l.varint(lengthField)
        used += lengthSize + body
        pendingRecords += 1
        let index = eventCount
        eventCount += 1
        if used - JournalFormat.chunkFrameSize >= JournalFormat.eventsChunkFlushBytes
            || pendingRecords >= JournalFormat.maxRecordsPerChunk {
            try endChunk()
        }
        return index
    }

    /// Writes the pending events chunk, if any, with one write(2), and
    /// starts a new one.
    ///
    /// With `waiting` (the default) it returns once the chunk is in the
    /// file, as a reader in the same process expects; the recorder's
    /// periodic flush passes false and leaves the write to the writer thread.
    public func flush(waiting: Bool) throws {
        try endChunk()
        if waiting { try waitForWrites() }
    }

    public func flush() throws { try flush(waiting: true) }

    /// Ends the pending events chunk, if any, and hands it to the writer.
    private func endChunk() throws {
        if failure == nil, file.failed.load(ordering: .relaxed) { try check() }
        if let failure { throw failure }
        guard pendingRecords > 0 else { return }
        // A chunk published whole is already handed over (a copy, in `published`).
        if publishedBytes != used {
            try writePendingChunk()
            // The chunk is the writer's now; the next one goes in the other buffer, once it is written.
            swap(&current, &spare)
            file.waitUntilFree(current)
            buffer = current.base
        }
        eventChunks.append((chunkFirst, pendingRecords, fileOffset))
        fileOffset += UInt64(used)
        pendingRecords = 0
        publishedBytes = 0
        chunkFirst = eventCount
        codec.reset()
        startChunk()
    }

    /// An empty pending chunk: its frame, then (version 3) the running vCPU.
    private func startChunk() {
        used = JournalFormat.chunkFrameSize
        if smp {
            buffer[used] = codec.vcpu
            used += 1
        }
    }

    /// Puts the pending events on disk as a complete, checksummed events
    /// chunk without ending it: the chunk stays open, and the next `publish`
    /// or `flush` rewrites it in place, grown (a chunk's payload only grows at
    /// its end, so the earlier bytes are rewritten unchanged). The finished
    /// file is therefore the same however often, and whenever, this was
    /// called: a recorder publishes on a wall-clock timer to bound what a
    /// SIGKILL loses, and `--clock virtual` recordings stay byte-identical.
    /// Every write names its offset (pwrite), so nothing else moves.
    ///
    /// The chunk is copied into a buffer of its own and handed to the
    /// writer thread, which writes it promptly (`waitForWrites()` waits for it).
    public func publish() throws {
        if failure == nil, file.failed.load(ordering: .relaxed) { try check() }
        if let failure { throw failure }
        guard !finished, pendingRecords > 0, used > publishedBytes else { return }
        frameBufferedChunk()
        let copy = published ?? JournalBuffer(capacity: capacity)
        published = copy
        file.waitUntilFree(copy)
        copy.base.update(from: buffer, count: used)
        try submit(copy, count: used, at: fileOffset)
        publishedBytes = used
    }

    /// Fills in the pending chunk's frame at the buffer's start.
    private func frameBufferedChunk() {
        let payload = UnsafeRawBufferPointer(start: buffer + JournalFormat.chunkFrameSize, count: used - JournalFormat.chunkFrameSize)
        let frame = ChunkFrame.encode(type: .events, payload: payload, first: chunkFirst, count: pendingRecords)
        frame.withUnsafeBufferPointer { f in
            // The frame is exactly chunkFrameSize bytes, the space reserved at the buffer's start.
            buffer.update(from: f.baseAddress!, count: JournalFormat.chunkFrameSize)
        }
    }

    /// Frames the pending chunk and hands it over for one write(2) at
    /// `fileOffset` (over the part an earlier `publish` wrote, if any).
    private func writePendingChunk() throws {
        frameBufferedChunk()
        try submit(current, count: used, at: fileOffset)
    }

    /// Hands `count` bytes of `b` to the writer for `offset`; a failure is kept.
    private func submit(_ b: JournalBuffer, count: Int, at offset: UInt64) throws {
        do { try file.submit(b, count: count, at: offset) } catch {
            failure = error as? JournalError ?? JournalError(path: path, offset: offset, reason: "\(error)")
            throw failure!
        }
    }

    /// Waits until everything handed over so far is on disk (in the page
    /// cache); throws the first write error.
    public func waitForWrites() throws {
        do { try file.drain() } catch {
            if failure == nil { failure = error as? JournalError }
            throw error
        }
    }

    /// The write(2)s so far, wherever they ran (`vmrr bench`).
    public var writeStats: JournalWriteStats { file.writeStats }

    /// Whether the write(2)s run on the writer's own thread.
    public var writesInBackground: Bool { file.background }

    /// Flushes pending events, then writes the checkpoint as its own chunk:
    /// encoded straight into a buffer the writer keeps (frame, then payload,
    /// each page copied once), checksummed, and written with one write(2).
    public func appendCheckpoint(_ checkpoint: Checkpoint) throws {
        try appendCheckpoint(checkpoint, pages: .records(checkpoint.pages))
    }

    /// The same, with the pages at `gpas` taken from `source` (guest RAM) as
    /// they are encoded, in place of `checkpoint.pages` (which must be empty):
    /// no page is copied before the one copy into the chunk.
    public func appendCheckpoint(_ checkpoint: Checkpoint, pagesAt gpas: [UInt64], in source: any CheckpointPageSource) throws {
        guard checkpoint.pages.isEmpty else {
            throw JournalError(path: path, offset: nil, reason: "checkpoint \(checkpoint.id) has pages both in records and in a source")
        }
        var c = checkpoint
        c.pages = []
        try appendCheckpoint(c, pages: .source(gpas, source))
    }

    private func appendCheckpoint(_ checkpoint: Checkpoint, pages: PageList) throws {
        try check()
        guard !checkpointIDs.contains(checkpoint.id) else {
            throw JournalError(path: path, offset: nil, reason: "checkpoint \(checkpoint.id) was already written")
        }
        let pageCount = checkpoint.pageCount.addingReportingOverflow(UInt64(pages.count))
        guard !pageCount.overflow, pageCount.partialValue <= UInt64(UInt32.max) else {
            throw JournalError(path: path, offset: nil, reason: "checkpoint \(checkpoint.id) has too many pages")
        }
        // checkpoint.pageCount counts checkpoint.pages, which `pages` replaces.
        let count = pageCount.partialValue - UInt64(checkpoint.pages.count)
        let plan = try CheckpointCodec.plan(checkpoint, pages: pages, path: path)
        guard plan.size <= Int(UInt32.max) else {
            throw JournalError(path: path, offset: nil, reason: "checkpoint \(checkpoint.id) is larger than 4 GiB")
        }
        try endChunk()
        let offset = fileOffset
        let total = JournalFormat.chunkFrameSize + plan.size
        let buffer = checkpointBuffer(total)
        let chunk = buffer.base
        let payload = chunk + JournalFormat.chunkFrameSize
        _ = CheckpointCodec.encode(checkpoint, pages: pages, plan: plan, into: payload)
        let frame = ChunkFrame.encode(type: .checkpoint, payload: UnsafeRawBufferPointer(start: payload, count: plan.size),
                                      first: UInt64(checkpoint.id), count: UInt32(count))
        frame.withUnsafeBufferPointer { f in
            // The frame is exactly chunkFrameSize bytes, the space reserved at the buffer's start.
            chunk.update(from: f.baseAddress!, count: JournalFormat.chunkFrameSize)
        }
        try submit(buffer, count: total, at: offset)
        fileOffset += UInt64(total)
        checkpointIDs.insert(checkpoint.id)
        checkpointList.append(CheckpointInfo(id: checkpoint.id, eventIndex: checkpoint.eventIndex, offset: offset, full: checkpoint.full))
        checkpointBytes += UInt64(total)
    }

    /// The checkpoint buffer, with room for at least `bytes`, once the
    /// previous checkpoint is written (at most one is in flight). It is kept
    /// between checkpoints (fresh memory costs page faults on every use; the
    /// recorder's checkpoints are all about the same size) unless it is
    /// larger than `keptCheckpointBufferLimit`: such a buffer is used once,
    /// and freed when the writer is done with it.
    private func checkpointBuffer(_ bytes: Int) -> JournalBuffer {
        if let last = cpInFlight { file.waitUntilFree(last) }
        let b: JournalBuffer
        if bytes > Self.keptCheckpointBufferLimit {
            b = JournalBuffer(capacity: bytes)
        } else {
            let kept = cpBuffer ?? JournalBuffer(capacity: bytes)
            // Grow by half again, so a slowly growing dirty set does not reallocate every time.
            if kept.capacity < bytes { kept.reserve(max(bytes, min(kept.capacity + kept.capacity / 2, Self.keptCheckpointBufferLimit))) }
            cpBuffer = kept
            b = kept
        }
        cpInFlight = b
        return b
    }

    /// Checkpoint buffers up to this size are kept for the next checkpoint.
    static let keptCheckpointBufferLimit = 64 << 20

    /// Flushes, writes the index tail, and closes the file. Idempotent.
    public func finish() throws {
        if finished { return }
        try endChunk()
        var p = ByteSink()
        p.u32(UInt32(eventChunks.count))
        p.u32(UInt32(checkpointList.count))
        for c in eventChunks { p.u64(c.first); p.u32(c.count); p.u64(c.offset) }
        for c in checkpointList {
            p.u32(c.id); p.u64(c.eventIndex); p.u64(c.offset)
            p.u8(c.full ? CheckpointFlags.full.rawValue : 0)
        }
        let indexOffset = fileOffset
        let frame = p.bytes.withUnsafeBytes {
            ChunkFrame.encode(type: .index, payload: $0, first: eventCount,
                              count: UInt32(truncatingIfNeeded: eventChunks.count + checkpointList.count))
        }
        var tail = ByteSink()
        tail.raw(frame)
        tail.raw(p.bytes)
        tail.u64(indexOffset)
        tail.raw(JournalFormat.trailerMagic)
        try submit(JournalBuffer(copying: tail.bytes), count: tail.bytes.count, at: indexOffset)
        fileOffset += UInt64(tail.bytes.count)
        // Every write done, the thread joined and the file closed; the first error, if any, is thrown here.
        do { try file.close() } catch {
            if failure == nil { failure = error as? JournalError }
            throw error
        }
        finished = true
        cpBuffer = nil
        cpInFlight = nil
        published = nil
    }
}
