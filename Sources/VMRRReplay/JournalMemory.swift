import VMRRJournal
import VMRRMMU

/// Guest-physical memory as of a checkpoint, rebuilt from the journal alone:
/// the full boot image of checkpoint 0, then every later checkpoint's pages
/// in order. Pages never written are zero. No KVM is needed, so this is how
/// memory is read where there is no /dev/kvm.
public final class JournalMemory: GuestPhysicalMemory {
    public let size: UInt64
    public let checkpoint: Checkpoint
    var pages: [UInt64: [UInt8]] = [:]
    static let pageSize = Checkpoint.pageSize
    static let zeroPage = [UInt8](repeating: 0, count: Int(Checkpoint.pageSize))

    /// Memory and vCPU state as of checkpoint `id`.
    public init(reader: JournalReader, checkpoint id: UInt32) throws {
        size = reader.header.memorySize
        let infos = reader.checkpoints.filter { $0.id <= id }.sorted { $0.id < $1.id }
        guard let last = infos.last, last.id == id else {
            throw JournalError(path: reader.path, offset: nil, reason: "no checkpoint \(id) (the journal has \(reader.checkpoints.count))")
        }
        guard let first = infos.first, first.full else {
            throw JournalError(path: reader.path, offset: nil, reason: "checkpoint 0 is not a full memory image")
        }
        var cp: Checkpoint?
        for info in infos {
            let c = try reader.checkpoint(id: info.id)
            for run in c.zeroRuns { Self.forget(run, in: &pages) }
            for p in c.pages { pages[p.gpa] = p.bytes }
            cp = c
        }
        checkpoint = cp!
    }

    /// Zeroes a run's pages: only the pages held are visited, so a run of
    /// 2^24 pages costs what the journal's raw pages cost, never its length.
    static func forget(_ run: ZeroRun, in pages: inout [UInt64: [UInt8]]) {
        let range = run.bytes
        if run.count > UInt64(pages.count) {
            for gpa in pages.keys where range.contains(gpa) { pages[gpa] = nil }
        } else {
            var gpa = run.gpa
            for _ in 0..<run.count {
                pages[gpa] = nil
                gpa &+= pageSize
            }
        }
    }

    public func readBytes(_ gpa: UInt64, count: Int) -> [UInt8]? {
        guard count >= 0, contains(gpa, count: UInt64(count)) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var a = gpa
        var left = count
        while left > 0 {
            let base = a & ~(Self.pageSize - 1)
            let off = Int(a - base)
            let n = min(left, Int(Self.pageSize) - off)
            let page = pages[base] ?? Self.zeroPage
            out.append(contentsOf: page[off..<(off + n)])
            a += UInt64(n)
            left -= n
        }
        return out
    }

    public func read64(_ gpa: UInt64) -> UInt64? {
        guard contains(gpa, count: 8) else { return nil }
        let base = gpa & ~(Self.pageSize - 1)
        let off = Int(gpa - base)
        if off <= Int(Self.pageSize) - 8 {
            guard let page = pages[base] else { return 0 }
            return page.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: off, as: UInt64.self)) }
        }
        guard let b = readBytes(gpa, count: 8) else { return nil }
        return b.reversed().reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
    }
}
