import VMRRBase
// Enumerates every present leaf of the guest page tables, in linear-address order, with
// the same decoder as the walker. Bounded: a budget of table visits, so self-referencing
// or hostile tables always terminate.

/// One leaf mapping of the guest tables.
public struct GuestLeaf: Sendable, Equatable {
    /// Canonical (sign-extended) linear address of the page.
    public var linearAddress: UInt64
    public var guestPhysical: UInt64
    public var pageSize: PageSize
    public var level: TableLevel
    public var permissions: Permissions
    public var flags: EntryFlags
    public var protectionKey: UInt8?
}

/// Limits on how much of the guest tables a scan reads.
public struct ScanLimits: Sendable, Equatable {
    /// Table pages visited (a table reached twice counts twice).
    public var maxTableVisits: Int
    public init(maxTableVisits: Int = 32_768) { self.maxTableVisits = maxTableVisits }
}

/// The result of scanning the guest tables.
public struct GuestScan: Sendable {
    public var leaves: [GuestLeaf] = []
    /// Guest frames (4 KiB aligned) that hold paging structures, sorted.
    public var tableFrames: [UInt64] = []
    public var tableVisits = 0
    public var truncated = false
    public var reservedEntries = 0
    public var notes: [String] = []

    /// Scans the tables reachable from CR3.
    public static func scan(context: PagingContext, memory: some GuestPhysicalMemory,
                            limits: ScanLimits = ScanLimits()) -> GuestScan {
        var scan = GuestScan()
        let format = GuestFormat(context)
        guard format.levels > 0 else {
            scan.notes.append("paging is off: linear addresses are guest-physical addresses")
            return scan
        }
        var frames = Set<UInt64>()
        var path: [UInt64] = []
        var recursionNotes = 0
        let pageMask = bitRange(11, 0)

        func visit(_ table: UInt64, _ level: TableLevel, _ base: UInt64, _ inherited: Permissions) {
            guard scan.tableVisits < limits.maxTableVisits else {
                if !scan.truncated {
                    scan.truncated = true
                    scan.notes.append("stopped after \(limits.maxTableVisits) table visits: the dump is truncated")
                }
                return
            }
            scan.tableVisits += 1
            frames.insert(table & ~pageMask)
            path.append(table)
            defer { path.removeLast() }
            let count = format.indexMask(level) + 1
            for index in 0..<count {
                let entryAddress = table &+ index &* format.entryBytes
                guard let raw = format.readEntry(memory, entryAddress) else {
                    scan.notes.append("\(level.tableName) at \(hex(table, digits: 16)) lies outside guest memory: not dumped")
                    return
                }
                let entry = format.decode(raw, level: level)
                guard entry.present else { continue }
                guard entry.reserved == nil else {
                    scan.reservedEntries += 1
                    continue
                }
                let va = base | (index << format.shift(level))
                let perms = inherited.intersection(entry.grants)
                if entry.isLeaf, let size = entry.pageSize {
                    scan.leaves.append(GuestLeaf(linearAddress: format.canonical(va), guestPhysical: entry.address,
                                                 pageSize: size, level: level, permissions: perms,
                                                 flags: entry.flags, protectionKey: entry.protectionKey))
                } else if let below = TableLevel(rawValue: level.rawValue - 1) {
                    if let depth = path.firstIndex(of: entry.address), recursionNotes < 4 {
                        recursionNotes += 1
                        let name = TableLevel(rawValue: format.levels - depth)?.tableName ?? "table"
                        scan.notes.append("\(level.entryName) \(index) of the \(level.tableName) at \(hex(table, digits: 16)) "
                                          + "points back at the \(name) at \(hex(entry.address, digits: 16)) (self-reference)")
                    }
                    visit(entry.address, below, va, perms)
                }
            }
        }
        visit(format.rootTable, format.topLevel, 0, [.read, .write, .user, .execute])
        scan.tableFrames = frames.sorted()
        return scan
    }
}
