import VMRRBase
/// Journal format constants (version 4 written; versions 1 to 3 are still read). The layout is drawn in
/// docs/JOURNAL.md; keep the two in step.
public enum JournalFormat {
    /// The format version this vmrr writes, for any number of vCPUs.
    /// Version 2 added the `msr` and `assist` event kinds, version 3 the
    /// multi-vCPU records, version 4 predicted register deltas.
    public static let version: UInt16 = 4
    /// The oldest reader that can read what this vmrr writes: a v3 reader
    /// would misread a predicted register delta.
    public static let minReaderVersion: UInt16 = 4
    /// The first format version with more than one vCPU: version 3 added the
    /// `switch` and `startup` kinds, per-vCPU register deltas and the events
    /// chunk's leading vCPU byte (docs/SMP.md). Before version 4 only such
    /// recordings were written as version 3; one-vCPU journals were version 2.
    public static let smpVersion: UInt16 = 3
    /// The first format version whose register deltas may be predicted from
    /// the previous record of the same kind (docs/JOURNAL.md, "Event records").
    public static let predictedRegistersVersion: UInt16 = 4
    /// The newest format version this vmrr reads (it reads every version from 1).
    public static let readableVersion: UInt16 = 4
    /// The most vCPUs a journal may have: the `switch` record holds the vCPU in three bits.
    public static let maxVCPUs: UInt32 = 8

    static let fileMagic: [UInt8] = Array("VMRRJRNL".utf8)
    static let chunkMagic: [UInt8] = Array("CHNK".utf8)
    static let trailerMagic: [UInt8] = Array("VMRRIDX1".utf8)

    /// magic(8) u16 version, u16 min reader version, u32 TLV length.
    static let headerPrefixSize = 16
    /// The u32 CRC after the TLV block.
    static let headerCRCSize = 4
    /// Upper bound on the header's TLV block.
    static let maxHeaderTLVLength = 1 << 20

    /// magic(4) u8 type, u32 payload length, u64 first, u32 count, u32 CRC.
    static let chunkFrameSize = 25
    /// The frame fields the chunk CRC covers (type through count).
    static let chunkCRCFieldsRange = 4..<21
    static let chunkCRCOffset = 21

    /// u64 index chunk offset, then the trailer magic.
    static let trailerSize = 16

    /// The writer ends an events chunk once its payload reaches this size...
    static let eventsChunkFlushBytes = 64 * 1024
    /// ...or it holds this many records. Readers reject larger counts.
    public static let maxRecordsPerChunk: UInt32 = 4096
    /// Longest event record (after its length varint).
    static let maxRecordLength = 8192
    /// Longest `data` an error event may carry.
    public static let maxErrorDataLength = 4096
    /// Readers reject events chunks with a larger payload.
    static let maxEventsChunkPayload = 128 * 1024

    /// Readers reject checkpoints that expand to more pages than this.
    static let maxCheckpointPages: UInt64 = 1 << 24

    static let eventsIndexEntrySize = 20   // u64 first, u32 count, u64 offset
    static let checkpointIndexEntrySize = 21  // u32 id, u64 event index, u64 offset, u8 flags
}

/// The chunk types of format v1.
enum ChunkType: UInt8 {
    case events = 1
    case checkpoint = 2
    case index = 3
}

/// A parsed chunk frame.
struct ChunkFrame {
    var offset: Int          // where the frame starts in the file
    var type: ChunkType
    var payloadLength: Int
    var first: UInt64
    var count: UInt32
    var crc: UInt32
    var payloadStart: Int { offset + JournalFormat.chunkFrameSize }
    var end: Int { payloadStart + payloadLength }

    /// The frame bytes for a chunk whose payload is `payload`.
    static func encode(type: ChunkType, payload: UnsafeRawBufferPointer, first: UInt64, count: UInt32) -> [UInt8] {
        var s = ByteSink()
        s.bytes.reserveCapacity(JournalFormat.chunkFrameSize)
        s.raw(JournalFormat.chunkMagic)
        s.u8(type.rawValue)
        s.u32(UInt32(payload.count))
        s.u64(first)
        s.u32(count)
        let fieldsCRC = CRC32C.checksum(s.bytes, range: JournalFormat.chunkCRCFieldsRange)
        s.u32(CRC32C.checksum(payload, initial: fieldsCRC))
        return s.bytes
    }

    /// Parses the frame at `offset`. Checks the magic and type only; the
    /// caller decides what a payload running past the end means.
    static func parse(_ source: JournalSource, at offset: Int) throws -> ChunkFrame {
        try parse(try source.read(offset, JournalFormat.chunkFrameSize), name: source.name, at: offset)
    }

    /// Parses a frame from `bytes`, the file's bytes from `offset` on.
    static func parse(_ bytes: [UInt8], name: String, at offset: Int) throws -> ChunkFrame {
        var r = ByteReader(bytes, name: name, base: offset)
        try r.need(JournalFormat.chunkFrameSize, "chunk frame")
        let magic = try r.bytes(4, "chunk magic")
        guard magic == JournalFormat.chunkMagic else {
            throw r.error("bad chunk magic \(hexBytes(magic)) (expected \"CHNK\")", at: 0)
        }
        let typeCode = try r.u8("chunk type")
        guard let type = ChunkType(rawValue: typeCode) else {
            throw r.error("unknown chunk type \(typeCode)", at: 4)
        }
        let length = try r.u32("chunk payload length")
        let first = try r.u64("chunk first index")
        let count = try r.u32("chunk record count")
        let crc = try r.u32("chunk CRC")
        return ChunkFrame(offset: offset, type: type, payloadLength: Int(length), first: first, count: count, crc: crc)
    }

    /// Checks the stored CRC against the frame fields and payload, read from `source`.
    func verifyCRC(_ source: JournalSource) throws {
        guard end <= source.size else {
            throw JournalError(path: source.name, offset: UInt64(offset), reason: "chunk runs past the end of the file")
        }
        let fields = try source.read(offset, JournalFormat.chunkFrameSize)
        let fieldsCRC = CRC32C.checksum(fields, range: JournalFormat.chunkCRCFieldsRange)
        try check(try source.crc(payloadStart..<end, initial: fieldsCRC), name: source.name)
    }

    /// Checks the stored CRC against `chunk`, the frame and payload read whole.
    func verifyCRC(chunk: [UInt8], name: String) throws {
        guard chunk.count == JournalFormat.chunkFrameSize + payloadLength else {
            throw JournalError(path: name, offset: UInt64(offset), reason: "chunk runs past the end of the file")
        }
        let fieldsCRC = CRC32C.checksum(chunk, range: JournalFormat.chunkCRCFieldsRange)
        try check(CRC32C.checksum(chunk, range: JournalFormat.chunkFrameSize..<chunk.count, initial: fieldsCRC), name: name)
    }

    private func check(_ computed: UInt32, name: String) throws {
        guard computed == crc else {
            throw JournalError(path: name, offset: UInt64(offset),
                               reason: "chunk CRC mismatch (stored \(hex(crc, digits: 8)), computed \(hex(computed, digits: 8)))")
        }
    }
}
