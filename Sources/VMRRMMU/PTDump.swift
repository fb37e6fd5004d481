import VMRRBase
// Dumps of the three address spaces as merged ranges, in the manner of Linux's
// dump_pagetables.c: walkers produce leaves, the accumulator merges runs, and a range is
// emitted when something (flags, level, target contiguity) breaks the run.

/// Which address space a dump or walk shows.
public enum MMUView: String, Sendable, CaseIterable {
    case guest, ept, npt, shadow
    /// What the view shows, for headers.
    public var title: String {
        switch self {
        case .guest: "guest page tables (first stage, guest-virtual -> guest-physical)"
        case .ept: "EPT (second stage, guest-physical -> host)"
        case .npt: "NPT (second stage, guest-physical -> host)"
        case .shadow: "shadow page tables (guest-virtual -> host)"
        }
    }
}

/// One merged range of a dump.
public struct MappingRange: Sendable, Equatable {
    public var start: UInt64
    public var size: UInt64
    /// Where `start` maps to: a GPA (guest view) or host virtual address (EPT, shadow).
    public var target: UInt64?
    public var permissions: Permissions
    /// Extra attributes shown after the permissions: "G", "PCD", "WB", "IPAT", "pk3", "wp".
    public var attributes: [String]
    /// Entry level that maps the pages, e.g. "PTE" or "EPT PDE".
    public var level: String
    /// Memory slot name (EPT and shadow views).
    public var label: String?

    public init(start: UInt64, size: UInt64, target: UInt64?, permissions: Permissions, attributes: [String],
                level: String, label: String? = nil) {
        self.start = start
        self.size = size
        self.target = target
        self.permissions = permissions
        self.attributes = attributes
        self.level = level
        self.label = label
    }

    /// Exclusive end; wraps to 0 at the top of the address space.
    public var end: UInt64 { start &+ size }

    func sameKind(_ other: MappingRange) -> Bool {
        permissions == other.permissions && attributes == other.attributes && level == other.level
            && label == other.label
    }

    /// True if `next` continues this range: adjacent, same kind, contiguous target.
    func isContinued(by next: MappingRange) -> Bool {
        guard sameKind(next), end == next.start, end != 0 else { return false }
        switch (target, next.target) {
        case (nil, nil): return true
        case (let a?, let b?): return a &+ size == b
        default: return false
        }
    }
}

/// Merges adjacent ranges of the same kind, as note_page() does in dump_pagetables.c.
struct RangeAccumulator {
    private(set) var ranges: [MappingRange] = []
    private var current: MappingRange?
    let limit: Int
    private(set) var truncated = false

    init(limit: Int = 100_000) { self.limit = limit }

    mutating func note(_ range: MappingRange) {
        if var run = current, run.isContinued(by: range) {
            run.size &+= range.size
            current = run
            return
        }
        flush()
        current = range
    }

    private mutating func flush() {
        guard let run = current else { return }
        current = nil
        if ranges.count < limit { ranges.append(run) } else { truncated = true }
    }

    mutating func finish() -> [MappingRange] {
        flush()
        return ranges
    }
}

/// A dump of one address space.
public struct PageTableDump: Sendable {
    public var view: MMUView
    public var ranges: [MappingRange]
    public var notes: [String]
    public var truncated: Bool
    /// Summary lines printed after the ranges.
    public var summary: [String]

    /// Total bytes mapped.
    public var mappedBytes: UInt64 { ranges.reduce(0) { $0 &+ $1.size } }
}

public enum PTDump {
    static func guestAttributes(_ leaf: GuestLeaf) -> [String] {
        var a: [String] = []
        if leaf.flags.contains(.global) { a.append("G") }
        if leaf.flags.contains(.writeThrough) { a.append("PWT") }
        if leaf.flags.contains(.cacheDisable) { a.append("PCD") }
        if leaf.flags.contains(.pat) { a.append("PAT") }
        if let key = leaf.protectionKey, key != 0 { a.append("pk\(key)") }
        return a
    }

    /// The guest's own mappings, in canonical linear addresses.
    public static func guest(context: PagingContext, memory: some GuestPhysicalMemory,
                             limits: ScanLimits = ScanLimits()) -> PageTableDump {
        let scan = GuestScan.scan(context: context, memory: memory, limits: limits)
        return guest(scan: scan, context: context)
    }

    static func guest(scan: GuestScan, context: PagingContext) -> PageTableDump {
        var acc = RangeAccumulator()
        // Leaves in a run share flags: reuse the attribute array (no allocation per page).
        var cachedKey: (EntryFlags, UInt8?)?
        var cachedAttributes: [String] = []
        for leaf in scan.leaves {
            if cachedKey == nil || cachedKey!.0 != leaf.flags || cachedKey!.1 != leaf.protectionKey {
                cachedKey = (leaf.flags, leaf.protectionKey)
                cachedAttributes = guestAttributes(leaf)
            }
            acc.note(MappingRange(start: leaf.linearAddress, size: leaf.pageSize.bytes, target: leaf.guestPhysical,
                                  permissions: leaf.permissions, attributes: cachedAttributes,
                                  level: leaf.level.entryName))
        }
        let ranges = acc.finish()
        var notes = scan.notes
        if scan.reservedEntries > 0 {
            notes.append("\(scan.reservedEntries) present entries with reserved bits set were skipped (they fault)")
        }
        if acc.truncated { notes.append("more than \(acc.limit) ranges: the list is truncated") }
        let mapped = ranges.reduce(UInt64(0)) { $0 &+ $1.size }
        let summary = ["\(counted(ranges.count, "range")), \(formatSize(mapped)) mapped by \(counted(scan.leaves.count, "leaf entry", "leaf entries")) "
                       + "in \(counted(scan.tableFrames.count, "table page"))"]
        return PageTableDump(view: .guest, ranges: ranges, notes: notes, truncated: scan.truncated || acc.truncated,
                             summary: summary)
    }

    /// The second stage built from the memory slots.
    public static func secondStage(_ stage: SecondStage) -> PageTableDump {
        var acc = RangeAccumulator()
        var leafCount = 0
        let names = [""] + TableLevel.allCases.map { stage.entryName($0) }
        var cachedType: UInt64?
        var attributes: [String] = []
        for leaf in stage.leaves() {
            leafCount += 1
            let typeBits = leaf.raw & (EPTEntryBits.ignorePAT.rawValue
                                       | (EPTEntryBits.memoryTypeMask << EPTEntryBits.memoryTypeShift))
            if stage.format == .ept && typeBits != cachedType {
                cachedType = typeBits
                let type = EPTMemoryType(rawValue: (leaf.raw >> EPTEntryBits.memoryTypeShift)
                                         & EPTEntryBits.memoryTypeMask)
                attributes = [type?.name ?? "type?"]
                if leaf.raw & EPTEntryBits.ignorePAT.rawValue != 0 { attributes.append("IPAT") }
            }
            acc.note(MappingRange(start: leaf.gpa, size: leaf.size.bytes, target: leaf.host,
                                  permissions: leaf.permissions, attributes: attributes,
                                  level: names[leaf.level.rawValue], label: stage.slot(containing: leaf.gpa)?.name))
        }
        let ranges = acc.finish()
        let view: MMUView = stage.format == .ept ? .ept : .npt
        let pointer = stage.format == .ept ? "EPTP" : "nCR3"
        let summary = [
            "\(counted(ranges.count, "range")), \(formatSize(ranges.reduce(0) { $0 &+ $1.size })) mapped by "
                + "\(counted(leafCount, "leaf entry", "leaf entries")) in \(counted(stage.tablePageCount, "table page")); \(pointer) \(hex(stage.pointer, digits: 16))",
        ]
        return PageTableDump(view: view, ranges: ranges, notes: stage.notes, truncated: false, summary: summary)
    }
}

/// "1 range", "2 ranges": a count with its noun in the right number.
func counted(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
    "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
}

/// "4K", "2M", "1G", "12K", "1020K": the largest unit that divides the size exactly (like ptdump).
public func formatSize(_ bytes: UInt64) -> String {
    let units: [(UInt64, String)] = [(1 << 60, "E"), (1 << 50, "P"), (1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"),
                                     (1 << 10, "K")]
    for (unit, name) in units where bytes >= unit && bytes % unit == 0 {
        return "\(bytes / unit)\(name)"
    }
    return "\(bytes)B"
}
