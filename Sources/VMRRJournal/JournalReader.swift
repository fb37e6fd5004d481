#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VMRRBase

/// Where a checkpoint is and what it covers.
public struct CheckpointInfo: Sendable, Equatable {
    public var id: UInt32
    public var eventIndex: UInt64
    /// File offset of the checkpoint's chunk frame.
    public var offset: UInt64
    public var full: Bool
    public init(id: UInt32, eventIndex: UInt64, offset: UInt64, full: Bool) {
        self.id = id; self.eventIndex = eventIndex; self.offset = offset; self.full = full
    }
}

/// Reads a journal. Opening checks the header and every chunk frame (through
/// the index tail when it is present and valid, else by scanning) and every
/// chunk's CRC; chunk payloads are decoded when first used.
///
/// A journal opened from a path is read at offsets (`JournalSource`), never
/// loaded whole: memory stays bounded by the chunk map (one entry per chunk)
/// and the largest chunk, whatever the number of events.
///
/// A journal whose recorder died reads up to its last complete chunk, with
/// `truncationNote` saying so. Anything else that is wrong throws a
/// `JournalError` naming the file, the offset and the reason.
public final class JournalReader {
    public let header: JournalHeader
    public let formatVersion: UInt16
    /// The name used in errors (the path, or the name given with the bytes).
    public let path: String
    public var eventCount: UInt64 { layout.eventCount }
    /// Checkpoints in file order.
    public var checkpoints: [CheckpointInfo] { layout.checkpoints }
    /// Set when the journal has no valid index tail: it says where it ends and how much is readable.
    public var truncationNote: String? { layout.note }
    public var fileSize: UInt64 { UInt64(source.size) }
    /// True when the index tail was used (false: the chunks were scanned).
    public var usedIndexTail: Bool { layout.usedTail }
    /// Bytes of checkpoint chunks (frames included).
    public var checkpointBytes: UInt64 { layout.checkpointBytes }
    /// Bytes of events chunks (frames included).
    public var eventBytes: UInt64 { layout.eventBytes }

    private let source: JournalSource
    private let layout: ChunkMap
    private var cachedChunk = -1
    private var cachedRecords: [EventRecord] = []
    /// The index of `cachedRecords[0]`.
    private var cachedFirst: UInt64 = 0

    /// Opens the regular file at `path`, read at offsets as it is used.
    /// `readAhead: false` makes the open's reads one pread each, without the
    /// 1 MiB window (`vmrr bench` compares the two).
    public convenience init(path: String, readAhead: Bool = true) throws {
        let file: PositionalFile
        do { file = try PositionalFile(path: path) } catch {
            throw JournalError(path: path, offset: error.offset,
                               reason: error.operation == "open" && !error.notRegularFile ? "cannot open: \(error.errno)" : error.description)
        }
        let source = JournalSource(file: file, name: path)
        source.readAhead = readAhead
        try self.init(source: source)
    }

    public convenience init(bytes: [UInt8], name: String) throws {
        try self.init(source: JournalSource(bytes: bytes, name: name))
    }

    init(source: JournalSource) throws {
        self.source = source
        let name = source.name
        self.path = name
        let (h, v, headerEnd) = try HeaderCodec.decode(try JournalReader.headerBytes(source), name: name, fileSize: source.size)
        header = h
        formatVersion = v
        var pageLimit = JournalFormat.maxCheckpointPages
        if h.memorySize > 0 { pageLimit = min(pageLimit, h.memorySize / Checkpoint.pageSize) }
        let loader = ChunkMapLoader(source: source, name: name, headerEnd: headerEnd, pageLimit: pageLimit)
        if let fromTail = try loader.fromTail() {
            layout = fromTail
        } else {
            layout = try loader.scan()
        }
        // Every chunk's CRC is checked here, once, so that a damaged journal fails every
        // command the same way at open: before, a checkpoint chunk failing its CRC was
        // refused by `dump` but replayed "identically" by `replay`, which never read it.
        for f in layout.eventChunks { try f.verifyCRC(source) }
        for f in layout.checkpointFrames { try f.verifyCRC(source) }
        source.readAhead = false
    }

    /// The header's bytes: its fixed prefix, then the TLV and CRC it announces
    /// (as much of them as the file holds; only the prefix when the length is over the limit).
    static func headerBytes(_ source: JournalSource) throws -> [UInt8] {
        let prefix = try source.read(0, JournalFormat.headerPrefixSize)
        guard prefix.count == JournalFormat.headerPrefixSize else { return prefix }
        var r = ByteReader(prefix, name: source.name, from: JournalFormat.headerPrefixSize - 4)
        let tlvLength = Int(try r.u32("header length"))
        guard tlvLength <= JournalFormat.maxHeaderTLVLength else { return prefix }
        return try source.read(0, JournalFormat.headerPrefixSize + tlvLength + JournalFormat.headerCRCSize)
    }

    /// A chunk's frame and payload, read whole and CRC-checked.
    private func chunkBytes(_ f: ChunkFrame) throws -> [UInt8] {
        let chunk = try source.read(f.offset, JournalFormat.chunkFrameSize + f.payloadLength)
        try f.verifyCRC(chunk: chunk, name: path)
        return chunk
    }

    // MARK: events

    /// The event at `index`; decodes only its chunk (the last decoded chunk is cached).
    public func event(at index: UInt64) throws -> EventRecord {
        guard index < eventCount else {
            throw JournalError(path: path, offset: nil, reason: "event \(index) is out of range (the journal has \(eventCount) events)")
        }
        // A replay reads the events in order: most are in the chunk decoded last.
        if cachedChunk >= 0, index >= cachedFirst, index - cachedFirst < UInt64(cachedRecords.count) {
            return cachedRecords[Int(index - cachedFirst)]
        }
        let c = chunkIndex(containing: index)
        let records = try decodeChunk(c)
        let k = Int(index - layout.eventChunks[c].first)
        return records[k]
    }

    /// Events `from ..< from + count` (to the end when `count` is nil).
    public func events(from: UInt64 = 0, count: UInt64? = nil) throws -> [EventRecord] {
        guard from <= eventCount else {
            throw JournalError(path: path, offset: nil, reason: "event \(from) is out of range (the journal has \(eventCount) events)")
        }
        let available = eventCount - from
        let n = min(count ?? available, available)
        var out: [EventRecord] = []
        out.reserveCapacity(Int(min(n, 1 << 20)))
        guard n > 0 else { return out }
        try forEachEvent(from: from) { r in
            out.append(r)
            return UInt64(out.count) < n
        }
        return out
    }

    /// Calls `body` with each event from `from` on, one chunk decoded at a time,
    /// until it returns false.
    public func forEachEvent(from: UInt64 = 0, _ body: (EventRecord) throws -> Bool) throws {
        guard from < eventCount else { return }
        var c = chunkIndex(containing: from)
        while c < layout.eventChunks.count {
            let records = try decodeChunk(c)
            let first = layout.eventChunks[c].first
            let skip = from > first ? Int(from - first) : 0
            for k in skip..<records.count {
                if try !body(records[k]) { return }
            }
            c += 1
        }
    }

    private func chunkIndex(containing index: UInt64) -> Int {
        let chunks = layout.eventChunks
        var lo = 0, hi = chunks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if chunks[mid].first <= index { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    private func decodeChunk(_ c: Int) throws -> [EventRecord] {
        if c == cachedChunk { return cachedRecords }
        let f = layout.eventChunks[c]
        var r = ByteReader(try chunkBytes(f), name: path, from: JournalFormat.chunkFrameSize, base: f.offset)
        var codec = EventCodec(formatVersion: formatVersion, vcpuCount: header.vcpuCount)
        if header.vcpuCount > 1 {
            let at = r.pos
            let running = try r.u8("events chunk's running vCPU")
            guard UInt32(running) < header.vcpuCount else {
                throw r.error("events chunk at offset \(f.offset) starts on vCPU \(running), but the journal has \(header.vcpuCount)", at: at)
            }
            codec.vcpu = running
        }
        var out: [EventRecord] = []
        out.reserveCapacity(Int(f.count))
        for k in 0..<UInt64(f.count) {
            out.append(try codec.decode(&r, index: f.first + k))
        }
        guard r.atEnd else {
            throw r.error("events chunk at offset \(f.offset): \(r.remaining) bytes after its \(f.count) records")
        }
        cachedChunk = c
        cachedFirst = f.first
        cachedRecords = out
        return out
    }

    // MARK: checkpoints

    public func checkpoint(id: UInt32) throws -> Checkpoint {
        guard let k = layout.checkpoints.firstIndex(where: { $0.id == id }) else {
            throw JournalError(path: path, offset: nil, reason: "no checkpoint \(id) (the journal has \(layout.checkpoints.count) checkpoints)")
        }
        let info = layout.checkpoints[k]
        let f = layout.checkpointFrames[k]
        var r = ByteReader(try chunkBytes(f), name: path, from: JournalFormat.chunkFrameSize, base: f.offset)
        let c = try CheckpointCodec.decode(&r, pageLimit: UInt64(f.count))
        guard c.id == info.id, c.eventIndex == info.eventIndex, c.full == info.full else {
            throw JournalError(path: path, offset: UInt64(f.offset),
                               reason: "checkpoint \(c.id) at event \(c.eventIndex) does not match the index entry (checkpoint \(info.id) at event \(info.eventIndex))")
        }
        if let all = c.allVCPUs, all.vcpus.count != Int(header.vcpuCount) {
            throw JournalError(path: path, offset: UInt64(f.offset),
                               reason: "checkpoint \(c.id) holds \(all.vcpus.count) vCPUs, but the header says \(header.vcpuCount)")
        }
        return c
    }

    /// Whether checkpoint `id` holds every vCPU's state (`Checkpoint.allVCPUs`):
    /// always for one vCPU; for more, only in journals written since
    /// 2026-12-02 (the flags byte says; the payload is not decoded).
    public func checkpointRestoresEveryVCPU(id: UInt32) -> Bool {
        guard header.vcpuCount > 1 else { return true }
        guard let k = layout.checkpoints.firstIndex(where: { $0.id == id }) else { return false }
        let f = layout.checkpointFrames[k]
        let flagsAt = f.payloadStart + checkpointPeekSize - 1
        guard flagsAt < f.end, let byte = (try? source.read(flagsAt, 1))?.first else { return false }
        return CheckpointFlags(rawValue: byte).contains(.allVCPUs)
    }

    /// The last checkpoint taken at or before `eventIndex`.
    public func checkpoint(atOrBefore eventIndex: UInt64) -> CheckpointInfo? {
        layout.checkpoints.reduce(nil as CheckpointInfo?) { best, c in
            guard c.eventIndex <= eventIndex else { return best }
            guard let b = best else { return c }
            return c.eventIndex >= b.eventIndex ? c : b
        }
    }
}

/// The journal's chunk map: where its events and checkpoint chunks are,
/// what opening the journal found.
struct ChunkMap {
    var eventChunks: [ChunkFrame] = []
    var checkpoints: [CheckpointInfo] = []
    var checkpointFrames: [ChunkFrame] = []
    var eventCount: UInt64 = 0
    var note: String?
    var usedTail = false
    var checkpointBytes: UInt64 = 0
    var eventBytes: UInt64 = 0

    mutating func addEvents(_ f: ChunkFrame) {
        eventChunks.append(f)
        eventCount += UInt64(f.count)
        eventBytes += UInt64(JournalFormat.chunkFrameSize + f.payloadLength)
    }

    mutating func addCheckpoint(_ f: ChunkFrame, _ info: CheckpointInfo) {
        checkpoints.append(info)
        checkpointFrames.append(f)
        checkpointBytes += UInt64(JournalFormat.chunkFrameSize + f.payloadLength)
    }
}

/// Finds the chunks: from the index tail, or by scanning.
struct ChunkMapLoader {
    let source: JournalSource
    let name: String
    let headerEnd: Int
    let pageLimit: UInt64

    func error(_ reason: String, at offset: Int) -> JournalError {
        JournalError(path: name, offset: UInt64(max(0, offset)), reason: reason)
    }

    /// Checks an events frame against the running event count. The payload may be incomplete.
    func checkEvents(_ f: ChunkFrame, expectedFirst: UInt64) throws {
        guard f.first == expectedFirst else {
            let what = f.first > expectedFirst ? "gap in event indices" : "event indices go backwards"
            throw error("\(what): events chunk starts at event \(f.first), expected \(expectedFirst)", at: f.offset)
        }
        guard f.count >= 1, f.count <= JournalFormat.maxRecordsPerChunk else {
            throw error("events chunk claims \(f.count) records (allowed 1 to \(JournalFormat.maxRecordsPerChunk))", at: f.offset)
        }
        guard f.payloadLength <= JournalFormat.maxEventsChunkPayload else {
            throw error("events chunk length \(f.payloadLength) exceeds the limit \(JournalFormat.maxEventsChunkPayload)", at: f.offset)
        }
        guard Int(f.count) * 2 <= f.payloadLength else {
            throw error("events chunk claims \(f.count) records in \(f.payloadLength) bytes", at: f.offset)
        }
    }

    /// Checks a complete checkpoint frame and peeks at its payload.
    func checkCheckpoint(_ f: ChunkFrame, seen: [CheckpointInfo]) throws -> CheckpointInfo {
        guard UInt64(f.count) <= pageLimit else {
            throw error("checkpoint chunk claims \(f.count) pages; the guest has at most \(pageLimit)", at: f.offset)
        }
        guard f.payloadLength >= checkpointPeekSize else {
            throw error("checkpoint chunk of \(f.payloadLength) bytes is too short", at: f.offset)
        }
        var r = ByteReader(try source.read(f.payloadStart, checkpointPeekSize), name: name, base: f.payloadStart)
        let p = try CheckpointCodec.peek(&r)
        guard UInt64(p.id) == f.first else {
            throw error("checkpoint chunk frame says id \(f.first) but its payload says \(p.id)", at: f.offset)
        }
        guard !seen.contains(where: { $0.id == p.id }) else {
            throw error("checkpoint \(p.id) appears twice", at: f.offset)
        }
        return CheckpointInfo(id: p.id, eventIndex: p.eventIndex, offset: UInt64(f.offset), full: p.full)
    }

    /// The layout from the index tail; nil when there is no trailer magic.
    /// A trailer that is present but wrong is corruption and throws.
    func fromTail() throws -> ChunkMap? {
        let size = source.size
        let trailerAt = size - JournalFormat.trailerSize
        guard trailerAt >= headerEnd else { return nil }
        let trailer = try source.read(trailerAt, JournalFormat.trailerSize)
        guard Array(trailer[(JournalFormat.trailerSize - JournalFormat.trailerMagic.count)...]) == JournalFormat.trailerMagic else { return nil }
        var t = ByteReader(trailer, name: name, base: trailerAt)
        let rawIndexOffset = try t.u64("index offset")
        guard rawIndexOffset >= UInt64(headerEnd),
              rawIndexOffset <= UInt64(trailerAt - JournalFormat.chunkFrameSize) else {
            throw error("index trailer points at offset \(rawIndexOffset), outside the chunks", at: trailerAt)
        }
        let indexOffset = Int(rawIndexOffset)
        let frame = try ChunkFrame.parse(source, at: indexOffset)
        guard frame.type == .index else {
            throw error("index trailer points at a \(frame.type) chunk", at: trailerAt)
        }
        guard frame.end == trailerAt else {
            throw error("index chunk of \(frame.payloadLength) bytes does not end at the trailer", at: indexOffset)
        }
        let chunk = try source.read(indexOffset, JournalFormat.chunkFrameSize + frame.payloadLength)
        try frame.verifyCRC(chunk: chunk, name: name)
        let entries = try indexEntries(frame, chunk, at: indexOffset)
        let layout = try tile(entries, indexOffset: indexOffset)
        guard frame.first == layout.eventCount else {
            throw error("index says \(frame.first) events but its chunks hold \(layout.eventCount)", at: indexOffset)
        }
        return layout
    }

    /// A chunk the index lists.
    enum IndexEntry { case events(first: UInt64, count: UInt32), checkpoint(CheckpointInfo) }

    /// The index chunk's entries, sorted by file offset.
    func indexEntries(_ frame: ChunkFrame, _ chunk: [UInt8], at indexOffset: Int) throws -> [(offset: UInt64, entry: IndexEntry)] {
        var r = ByteReader(chunk, name: name, from: JournalFormat.chunkFrameSize, base: indexOffset)
        let nEv = Int(try r.u32("index events chunk count"))
        let nCk = Int(try r.u32("index checkpoint count"))
        let expected = 8 + nEv * JournalFormat.eventsIndexEntrySize + nCk * JournalFormat.checkpointIndexEntrySize
        guard expected == frame.payloadLength else {
            throw error("index lists \(nEv) events chunks and \(nCk) checkpoints, which need \(expected) bytes, not \(frame.payloadLength)", at: indexOffset)
        }
        guard frame.count == UInt32(truncatingIfNeeded: nEv + nCk) else {
            throw error("index frame count \(frame.count) does not match its \(nEv + nCk) entries", at: indexOffset)
        }

        // Every chunk the index lists, by offset, to check that they tile the file.
        var entries: [(offset: UInt64, entry: IndexEntry)] = []
        entries.reserveCapacity(nEv + nCk)
        var lastOffset: UInt64 = 0
        for _ in 0..<nEv {
            let at = r.offset
            let first = try r.u64("index entry first event")
            let count = try r.u32("index entry count")
            let offset = try r.u64("index entry offset")
            guard offset >= lastOffset else { throw error("index entries are not in file order", at: at) }
            lastOffset = offset
            entries.append((offset, .events(first: first, count: count)))
        }
        for _ in 0..<nCk {
            let id = try r.u32("index checkpoint id")
            let ev = try r.u64("index checkpoint event index")
            let offset = try r.u64("index checkpoint offset")
            let flagsAt = r.offset
            let flags = CheckpointFlags(rawValue: try r.u8("index checkpoint flags"))
            guard CheckpointFlags([.full]).isSuperset(of: flags) else {
                throw error("index checkpoint entry has unknown flags \(hex(flags.rawValue))", at: flagsAt)
            }
            entries.append((offset, .checkpoint(CheckpointInfo(id: id, eventIndex: ev, offset: offset, full: flags.contains(.full)))))
        }
        entries.sort { $0.offset < $1.offset }
        return entries
    }

    /// Checks that the listed chunks tile the file from the header to the
    /// index, each matching its entry, and maps them.
    func tile(_ entries: [(offset: UInt64, entry: IndexEntry)], indexOffset: Int) throws -> ChunkMap {
        var layout = ChunkMap()
        layout.usedTail = true
        var pos = headerEnd
        for (offset, entry) in entries {
            guard offset == UInt64(pos) else {
                throw error("index lists a chunk at offset \(offset), but the chunk before it ends at \(pos)", at: indexOffset)
            }
            let f = try ChunkFrame.parse(source, at: pos)
            guard f.end <= indexOffset else {
                throw error("chunk of \(f.payloadLength) bytes runs into the index at \(indexOffset)", at: pos)
            }
            switch entry {
            case let .events(first, count):
                guard f.type == .events, f.count == count, f.first == first else {
                    throw error("chunk does not match its index entry (events \(first), \(count) records)", at: pos)
                }
                try checkEvents(f, expectedFirst: layout.eventCount)
                layout.addEvents(f)
            case let .checkpoint(info):
                guard f.type == .checkpoint else {
                    throw error("chunk does not match its index entry (checkpoint \(info.id))", at: pos)
                }
                let found = try checkCheckpoint(f, seen: layout.checkpoints)
                guard found == info else {
                    throw error("checkpoint chunk does not match its index entry (checkpoint \(info.id) at event \(info.eventIndex))", at: pos)
                }
                layout.addCheckpoint(f, info)
            }
            pos = f.end
        }
        guard pos == indexOffset else {
            throw error("\(indexOffset - pos) bytes between the last indexed chunk and the index", at: pos)
        }
        return layout
    }

    /// The layout from walking the chunks; for journals without a valid index
    /// tail (the recorder was killed, or the file was cut short).
    func scan() throws -> ChunkMap {
        var layout = ChunkMap()
        let size = source.size
        var pos = headerEnd
        func cut(_ inside: String) -> String {
            "journal ends at offset \(size) inside \(inside): the recorder was probably killed; \(layout.eventCount) events readable"
        }
        while pos < size {
            let remaining = size - pos
            if remaining < JournalFormat.chunkFrameSize {
                let k = min(remaining, JournalFormat.chunkMagic.count)
                let start = try source.read(pos, k)
                guard start == Array(JournalFormat.chunkMagic[0..<k]) else {
                    throw error("bad chunk magic \(hexBytes(start)) (expected \"CHNK\")", at: pos)
                }
                layout.note = cut("a chunk")
                return layout
            }
            let f = try ChunkFrame.parse(source, at: pos)
            if f.type == .events { try checkEvents(f, expectedFirst: layout.eventCount) }
            if f.end > size {
                layout.note = cut(f.type == .index ? "the index" : "a chunk")
                return layout
            }
            switch f.type {
            case .events:
                layout.addEvents(f)
            case .checkpoint:
                layout.addCheckpoint(f, try checkCheckpoint(f, seen: layout.checkpoints))
            case .index:
                let after = size - f.end
                if after < JournalFormat.trailerSize {
                    layout.note = cut("the index trailer")
                    return layout
                }
                if after == JournalFormat.trailerSize {
                    throw error("bad index trailer magic (expected \"VMRRIDX1\")", at: f.end)
                }
                throw error("unexpected index chunk in the middle of the journal", at: pos)
            }
            pos = f.end
        }
        layout.note = "journal has no index tail (it ends at offset \(size), after a complete chunk): the recorder was probably killed; \(layout.eventCount) events readable"
        return layout
    }
}
