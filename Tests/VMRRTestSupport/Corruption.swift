// Damage and checksum repair for the property tests and the fuzzer. Shared by
// VMRRJournalTests, VMRRReplayTests and the libFuzzer harness (fuzz/build.sh
// compiles this file as it is). Public API of VMRRJournal only; no Testing.
import VMRRJournal

/// Recomputes the checksums of (possibly mutated) journals and bundles, so
/// that mutations reach the decoders behind the CRC and hash checks: the
/// header CRC, every chunk CRC that can be found, and every bundle entry's
/// hash (after repairing the journal inside it).
public enum ChecksumRepair {
    public static let journalMagic = Array("VMRRJRNL".utf8)
    public static let chunkMagic = Array("CHNK".utf8)
    public static let bundleMagic = Array("VMRRPACK".utf8)
    public static let chunkFrameSize = 25

    public static func repair(_ b: inout [UInt8]) {
        if starts(b, with: bundleMagic, at: 0) { repairBundle(&b) } else { repairJournal(&b, 0..<b.count) }
    }

    public static func starts(_ b: [UInt8], with m: [UInt8], at i: Int) -> Bool {
        i >= 0 && i + m.count <= b.count && (0..<m.count).allSatisfy { b[i + $0] == m[$0] }
    }

    public static func le(_ b: [UInt8], _ at: Int, _ n: Int) -> UInt64 {
        (0..<n).reduce(UInt64(0)) { $0 | UInt64(b[at + $1]) << (8 * UInt64($1)) }
    }

    public static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
        for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
    }

    /// Repairs the journal occupying `range` of `b`.
    public static func repairJournal(_ b: inout [UInt8], _ range: Range<Int>) {
        let base = range.lowerBound, end = range.upperBound
        var pos = base
        if starts(b, with: journalMagic, at: base), base + 16 <= end {
            let l = Int(le(b, base + 12, 4))
            if l <= end - base - 20 {
                put32(&b, base + 16 + l, CRC32C.checksum(b, range: base..<(base + 16 + l)))
                pos = base + 20 + l
            }
        }
        // Chunks, found by their magic (so insertions and deletions are followed).
        while pos + chunkFrameSize <= end {
            guard starts(b, with: chunkMagic, at: pos) else { pos += 1; continue }
            let payload = Int(le(b, pos + 5, 4))
            let chunkEnd = pos + chunkFrameSize + payload
            guard payload <= end - pos - chunkFrameSize else { return }
            let fields = CRC32C.checksum(b, range: (pos + 4)..<(pos + 21))
            put32(&b, pos + 21, CRC32C.checksum(b, range: (pos + chunkFrameSize)..<chunkEnd, initial: fields))
            pos = chunkEnd
        }
    }

    public static func repairBundle(_ b: inout [UInt8]) {
        guard b.count >= 16 else { return }
        let count = min(Int(le(b, 10, 2)), 16)
        for i in 0..<count {
            let e = 16 + i * 64
            guard e + 64 <= b.count else { return }
            let off = le(b, e + 32, 8), size = le(b, e + 40, 8)
            guard off <= UInt64(b.count), size <= UInt64(b.count) - off else { continue }
            let r = Int(off)..<Int(off + size)
            let name = String(decoding: b[e..<(e + 32)].prefix { $0 != 0 }, as: UTF8.self)
            if name == "journal.vmrr" { repairJournal(&b, r) }
            let h = SHA256.hash(Array(b[r]))
            for k in 0..<16 { b[e + 48 + k] = h[k] }
        }
    }
}

/// Random damage to journals and bundles, for the property tests: byte-level
/// (flips, overwrites, insertions, deletions, truncation, plausible large
/// numbers) and chunk-level (a chunk dropped, duplicated, swapped with its
/// neighbour, its frame fields rewritten), splices from another seed, and,
/// most of the time, checksums repaired afterwards so the damage reaches the
/// decoders behind them.
public enum Corruptor {
    /// Offsets of everything that looks like a chunk frame.
    public static func chunkOffsets(_ b: [UInt8]) -> [Int] {
        var out: [Int] = []
        var i = 0
        while i + 4 <= b.count {
            if ChecksumRepair.starts(b, with: ChecksumRepair.chunkMagic, at: i) { out.append(i); i += 4 } else { i += 1 }
        }
        return out
    }

    /// The chunk at `offset`, as a range clipped to the file.
    public static func chunkRange(_ b: [UInt8], _ offset: Int) -> Range<Int> {
        guard offset + ChecksumRepair.chunkFrameSize <= b.count else { return offset..<b.count }
        let payload = Int(ChecksumRepair.le(b, offset + 5, 4))
        return offset..<min(b.count, offset + ChecksumRepair.chunkFrameSize + payload)
    }

    public static func mutate<G: RandomNumberGenerator>(_ input: [UInt8], other: [UInt8], using g: inout G) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + Int(g.next() % 3)) where !b.isEmpty {
            let at = Int(g.next() % UInt64(b.count))
            switch g.next() % 12 {
            case 0: b[at] ^= UInt8(1) << UInt8(g.next() % 8)
            case 1: b[at] = UInt8(truncatingIfNeeded: g.next())
            case 2: b.removeSubrange(at...)
            case 3: b.insert(UInt8(truncatingIfNeeded: g.next()), at: at)
            case 4: b.remove(at: at)
            case 5:
                for k in 0..<min(b.count - at, 1 + Int(g.next() % 16)) { b[at + k] = UInt8(truncatingIfNeeded: g.next()) }
            case 6:
                // A plausible-looking large value, little-endian, in 4 or 8 bytes.
                let v = g.next() | (UInt64(1) << 31)
                for k in 0..<min(b.count - at, g.next() % 2 == 0 ? 4 : 8) { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            case 7:
                // A splice from another seed.
                guard !other.isEmpty else { continue }
                let from = Int(g.next() % UInt64(other.count))
                let n = min(other.count - from, 1 + Int(g.next() % 512))
                b.insert(contentsOf: other[from..<(from + n)], at: at)
            default:
                let chunks = chunkOffsets(b)
                guard !chunks.isEmpty else { continue }
                let k = Int(g.next() % UInt64(chunks.count))
                let r = chunkRange(b, chunks[k])
                switch g.next() % 4 {
                case 0: b.removeSubrange(r)
                case 1: b.insert(contentsOf: Array(b[r]), at: r.upperBound)
                case 2:
                    guard k + 1 < chunks.count else { continue }
                    let r2 = chunkRange(b, chunks[k + 1])
                    guard r2.lowerBound >= r.upperBound else { continue }
                    let first = Array(b[r]), second = Array(b[r2])
                    b.replaceSubrange(r.lowerBound..<r2.upperBound, with: second + Array(b[r.upperBound..<r2.lowerBound]) + first)
                default:
                    // Rewrite the frame's type, length, first or count with a nearby or extreme value.
                    guard r.lowerBound + ChecksumRepair.chunkFrameSize <= b.count else { continue }
                    let fields: [(Int, Int)] = [(4, 1), (5, 4), (9, 8), (17, 4)]
                    let (off, size) = fields[Int(g.next() % 4)]
                    let old = ChecksumRepair.le(b, r.lowerBound + off, size)
                    let choices: [UInt64] = [old &+ 1, old &- 1, 0, UInt64.max, old << 1, g.next()]
                    let v = choices[Int(g.next() % UInt64(choices.count))]
                    for j in 0..<size { b[r.lowerBound + off + j] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(j))) }
                }
            }
        }
        if g.next() % 4 != 0 { ChecksumRepair.repair(&b) }
        return b
    }
}
