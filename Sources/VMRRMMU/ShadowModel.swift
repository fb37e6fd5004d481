import VMRRBase
// The shadow page tables a shadow-paging hypervisor would install: guest-virtual straight
// to host, with permissions composed from the guest walk and the second stage, and every
// guest frame that holds a guest page table write-protected (so the hypervisor sees the
// guest's page-table writes).
//
// Page-size rule: a shadow entry uses the guest's page size, except that it is split
// (1 GiB -> 2 MiB -> 4 KiB; 4 MiB -> 2 MiB -> 4 KiB, as 64-bit shadow tables have no
// 4 MiB pages) wherever the piece contains a write-protected page-table frame, or is not
// backed by one memory slot whose host address is congruent to the piece's size.
// Shadow tables are 4-level (5-level for a 5-level guest), whatever the guest's mode.

/// The shadow entry for one page.
public struct ShadowMapping: Sendable, Equatable {
    /// Linear address of the shadow page (aligned to `pageSize`).
    public var linearBase: UInt64
    public var pageSize: PageSize
    public var guestPageSize: PageSize
    public var guestPhysicalBase: UInt64
    /// Host virtual address of the shadow page (the synthetic host-physical address).
    public var hostBase: UInt64
    public var permissions: Permissions
    /// True if W was removed because the page holds guest page tables.
    public var writeProtected: Bool
    public var slot: MemorySlot
    /// Why the shadow page is smaller than the guest page, if it is.
    public var splitReason: String?
    /// The shadow entry's value in x86-64 format.
    public var raw: UInt64
    public var level: TableLevel
}

public enum ShadowOutcome: Sendable, Equatable {
    case mapped(ShadowMapping)
    /// No shadow entry: the guest walk fails, or the GPA has no memory slot.
    case notMapped(reason: String)
}

public struct ShadowEntry: Sendable, Equatable {
    public var linearAddress: UInt64
    public var guest: WalkResult
    public var outcome: ShadowOutcome
}

/// Counts of a shadow dump.
public struct ShadowSummary: Sendable, Equatable {
    public var shadowTablePages: Int
    /// Pages per level, top first (PML4/PML5 ... PT).
    public var pagesPerLevel: [(name: String, count: Int)]
    public var eptTablePages: Int
    public var writeProtectedFrames: [UInt64]
    public var mmioPages: Int

    public static func == (a: ShadowSummary, b: ShadowSummary) -> Bool {
        a.shadowTablePages == b.shadowTablePages && a.eptTablePages == b.eptTablePages
            && a.writeProtectedFrames == b.writeProtectedFrames && a.mmioPages == b.mmioPages
            && a.pagesPerLevel.map(\.count) == b.pagesPerLevel.map(\.count)
    }
}

public struct ShadowModel {
    public let context: PagingContext
    public let secondStage: SecondStage
    public let scan: GuestScan
    let memory: any GuestPhysicalMemory

    public init(context: PagingContext, memory: any GuestPhysicalMemory, secondStage: SecondStage,
                limits: ScanLimits = ScanLimits()) {
        self.context = context
        self.memory = memory
        self.secondStage = secondStage
        scan = GuestScan.scan(context: context, memory: memory, limits: limits)
    }

    /// Guest frames holding guest paging structures: write-protected in the shadow.
    public var pageTableFrames: [UInt64] { scan.tableFrames }

    /// True if [gpa, gpa + size) contains a guest page-table frame.
    func containsTableFrame(_ gpa: UInt64, _ size: UInt64) -> Bool {
        let frames = scan.tableFrames
        var lo = 0, hi = frames.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if frames[mid] < gpa { lo = mid + 1 } else { hi = mid }
        }
        return lo < frames.count && frames[lo] - gpa < size
    }

    /// Why a piece of `size` at `gpa` cannot be one shadow entry, or nil if it can.
    func obstacle(_ gpa: UInt64, _ size: PageSize) -> String? {
        if size == .size4K { return nil }
        if size == .size4M { return "64-bit shadow tables have no 4 MiB pages" }
        guard let slot = secondStage.slot(containing: gpa), size.bytes <= slot.end - gpa,
              (slot.hostAddress &- slot.gpa) & (size.bytes - 1) == 0
        else { return "the guest \(size.name) page is not backed by one congruent memory slot" }
        if containsTableFrame(gpa, size.bytes) {
            return "the guest \(size.name) page holds write-protected guest page tables"
        }
        return nil
    }

    static func smaller(_ size: PageSize) -> PageSize {
        switch size {
        case .size1G, .size4M: .size2M
        case .size2M, .size4K: .size4K
        }
    }

    static func level(_ size: PageSize) -> TableLevel {
        switch size {
        case .size4K: .pte
        case .size2M, .size4M: .pde
        case .size1G: .pdpte
        }
    }

    /// Builds the shadow mapping for the shadow page at (gva, gpa) of `size`.
    func mapping(_ gva: UInt64, _ gpa: UInt64, _ size: PageSize, guestSize: PageSize, guestPermissions: Permissions,
                 splitReason: String?) -> ShadowMapping? {
        guard let slot = secondStage.slot(containing: gpa) else { return nil }
        var permissions = guestPermissions.union(.read)
        if slot.readOnly { permissions.remove(.write) }
        let protected = permissions.contains(.write) && containsTableFrame(gpa, size.bytes)
        if protected { permissions.remove(.write) }
        let host = slot.hostAddress &+ (gpa - slot.gpa)
        var bits: X86EntryBits = [.present, .accessed]
        if permissions.contains(.write) { bits.insert(.writable) }
        if permissions.contains(.user) { bits.insert(.user) }
        if !permissions.contains(.execute) { bits.insert(.noExecute) }
        if size != .size4K { bits.insert(.pageSize) }
        return ShadowMapping(linearBase: gva, pageSize: size, guestPageSize: guestSize, guestPhysicalBase: gpa,
                             hostBase: host, permissions: permissions, writeProtected: protected, slot: slot,
                             splitReason: splitReason, raw: bits.rawValue | (host & bitRange(51, 12)),
                             level: Self.level(size))
    }

    /// The shadow entry that would map `gva`.
    public func entry(for gva: UInt64) -> ShadowEntry {
        let guest = PageWalker.lookup(gva, context: context, memory: memory)
        var result = ShadowEntry(linearAddress: gva, guest: guest, outcome: .notMapped(reason: ""))
        guard let t = guest.translation else {
            result.outcome = .notMapped(reason: "the guest walk fails, so the shadow entry stays not present "
                                        + "and the hypervisor reflects the fault to the guest")
            return result
        }
        var size = t.pageSize
        var reason: String?
        while let why = obstacle(t.address & ~(size.bytes - 1), size) {
            reason = reason ?? why
            size = Self.smaller(size)
        }
        let gpaBase = t.address & ~(size.bytes - 1)
        let gvaBase = gva & ~(size.bytes - 1)
        guard let m = mapping(gvaBase, gpaBase, size, guestSize: t.pageSize, guestPermissions: t.permissions,
                              splitReason: reason) else {
            result.outcome = .notMapped(reason: "GPA \(hex(t.address, digits: 16)) has no memory slot (MMIO): "
                                        + "the hypervisor installs an MMIO marker and emulates the access")
            return result
        }
        result.outcome = .mapped(m)
        return result
    }

    /// Every shadow entry of the current address space, in linear-address order.
    public func forEachMapping(_ body: (ShadowMapping) -> Void) -> (mmioPages: Int, count: Int) {
        var mmio = 0, count = 0
        func emit(_ gva: UInt64, _ gpa: UInt64, _ size: PageSize, _ leaf: GuestLeaf, _ reason: String?) {
            if let why = obstacle(gpa, size) {
                let piece = Self.smaller(size)
                var offset: UInt64 = 0
                while offset < size.bytes {
                    emit(gva &+ offset, gpa &+ offset, piece, leaf, reason ?? why)
                    offset += piece.bytes
                }
                return
            }
            if let m = mapping(gva, gpa, size, guestSize: leaf.pageSize, guestPermissions: leaf.permissions,
                               splitReason: reason) {
                count += 1
                body(m)
            } else {
                mmio += 1
            }
        }
        for leaf in scan.leaves {
            emit(leaf.linearAddress, leaf.guestPhysical, leaf.pageSize, leaf, nil)
        }
        return (mmio, count)
    }

    /// The whole shadow table as merged ranges, with the page counts.
    public func dump() -> (dump: PageTableDump, summary: ShadowSummary) {
        var acc = RangeAccumulator()
        let topLevels = context.mode == .level5 ? 5 : 4
        // Regions needing a table at each level: a PT per 2 MiB region with 4 KiB entries, a PD per
        // 1 GiB region with 2 MiB or smaller entries, and so on up to the root.
        var regions: [Set<UInt64>] = Array(repeating: [], count: topLevels)   // index = level - 1 of the table
        let (mmio, _) = forEachMapping { m in
            var attributes: [String] = []
            if m.writeProtected { attributes.append("wp") }
            acc.note(MappingRange(start: m.linearBase, size: m.pageSize.bytes, target: m.hostBase,
                                  permissions: m.permissions, attributes: attributes,
                                  level: m.level.entryName, label: m.slot.name))
            for tableLevel in m.level.rawValue..<topLevels {
                regions[tableLevel - 1].insert(m.linearBase >> (12 + 9 * UInt64(tableLevel)))
            }
        }
        let ranges = acc.finish()
        var perLevel: [(name: String, count: Int)] = [(TableLevel(rawValue: topLevels)!.tableName, 1)]
        for tableLevel in stride(from: topLevels - 1, through: 1, by: -1) {
            perLevel.append((TableLevel(rawValue: tableLevel)!.tableName, regions[tableLevel - 1].count))
        }
        let total = perLevel.reduce(0) { $0 + $1.count }
        let summary = ShadowSummary(shadowTablePages: total, pagesPerLevel: perLevel,
                                    eptTablePages: secondStage.tablePageCount,
                                    writeProtectedFrames: scan.tableFrames, mmioPages: mmio)
        var notes = scan.notes
        if mmio > 0 { notes.append("\(mmio) guest pages map GPAs without a memory slot (MMIO markers, not listed)") }
        let frames = scan.tableFrames
        let shown = frames.prefix(8).map { hex($0) }.joined(separator: " ")
        let lines = [
            "\(counted(ranges.count, "range")); shadow tables need \(counted(total, "page")) ("
                + perLevel.map { "\($0.count) \($0.name)" }.joined(separator: ", ")
                + ") vs \(secondStage.tablePageCount) EPT table pages for the same VM",
            "\(counted(frames.count, "write-protected guest page-table frame")): \(shown)"
                + (frames.count > 8 ? " ... (+\(frames.count - 8) more)" : ""),
        ]
        let dump = PageTableDump(view: .shadow, ranges: ranges, notes: notes,
                                 truncated: scan.truncated || acc.truncated, summary: lines)
        return (dump, summary)
    }
}
