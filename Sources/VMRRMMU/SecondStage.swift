import VMRRBase
// vmrr's own second stage: the VM's memory slots, rendered as the 4-level EPT (or NPT)
// tables a hypervisor would install. Each aligned, fully backed region gets the largest
// page that fits (1 GiB, 2 MiB, 4 KiB), as KVM does when GPA and HVA are congruent.
//
// Synthetic host-physical addresses: table n (in creation order, the root is table 0)
// lives at `syntheticTableBase + n * 4 KiB`. Leaf entries hold the host *virtual* address
// of the backing in their address field, standing in for the host-physical address,
// which is only known per 4 KiB page (see HostFrameResolver).

/// One KVM memory slot of the VM.
public struct MemorySlot: Sendable, Equatable {
    public var gpa: UInt64
    public var size: UInt64
    public var hostAddress: UInt64
    public var readOnly: Bool
    public var name: String

    public init(gpa: UInt64, size: UInt64, hostAddress: UInt64, readOnly: Bool = false, name: String) {
        self.gpa = gpa
        self.size = size
        self.hostAddress = hostAddress
        self.readOnly = readOnly
        self.name = name
    }

    /// End of the slot (exclusive), saturating.
    public var end: UInt64 { gpa.addingReportingOverflow(size).overflow ? ~0 : gpa &+ size }
    public func contains(_ address: UInt64) -> Bool { address >= gpa && address - gpa < size }
}

public enum SecondStageFormat: String, Sendable, CaseIterable {
    case ept, npt
    /// "EPT" or "NPT".
    public var name: String { rawValue.uppercased() }
}

/// The result of walking a GPA through the second stage.
public struct SecondStageMapping: Sendable, Equatable {
    public var hostAddress: UInt64
    public var pageSize: PageSize
    public var permissions: Permissions
    public var slot: MemorySlot
}

public enum SecondStageOutcome: Sendable, Equatable {
    case mapped(SecondStageMapping)
    /// EPT violation / nested page fault: no slot backs the GPA (KVM exits to user space for MMIO).
    case violation(level: TableLevel?, reason: String)
}

public struct SecondStageWalk: Sendable, Equatable {
    public var guestPhysicalAddress: UInt64
    public var format: SecondStageFormat
    public var steps: [WalkStep]
    public var outcome: SecondStageOutcome

    public var mapping: SecondStageMapping? {
        if case .mapped(let m) = outcome { return m }
        return nil
    }
}

public struct SecondStage: Sendable {
    /// Table n of the synthetic EPT lives at this host-physical address + n * 4 KiB.
    public static let syntheticTableBase: UInt64 = 0x7F_0000_0000
    /// Guest-physical bits a 4-level EPT/NPT translates.
    public static let guestPhysicalBits = 48
    static let levels = 4
    static let entriesPerTable = 512

    public let slots: [MemorySlot]
    public let format: SecondStageFormat
    /// Remarks from building: unaligned, overlapping or out-of-range slots.
    public private(set) var notes: [String] = []
    var tables: [[UInt64]] = []

    public init(slots: [MemorySlot], format: SecondStageFormat = .ept, largestPage: PageSize = .size1G) {
        self.slots = slots.filter { $0.size > 0 }.sorted { $0.gpa < $1.gpa }
        self.format = format
        tables = [Self.emptyTable]
        for slot in self.slots { add(slot, largestPage: largestPage) }
    }

    static let emptyTable = [UInt64](repeating: 0, count: entriesPerTable)

    /// Pages of EPT/NPT tables needed for these slots.
    public var tablePageCount: Int { tables.count }
    public var rootAddress: UInt64 { Self.syntheticTableBase }

    /// The EPTP (EPT) or nCR3 (NPT) that points at these tables.
    public var pointer: UInt64 {
        switch format {
        case .ept:
            rootAddress | (EPTMemoryType.writeBack.rawValue << EPTPointerLayout.memoryTypeShift)
                | (UInt64(Self.levels - 1) << EPTPointerLayout.walkLengthShift) | EPTPointerLayout.accessedDirtyEnable
        case .npt:
            rootAddress
        }
    }

    func tableAddress(_ n: Int) -> UInt64 { Self.syntheticTableBase &+ UInt64(n) &* 0x1000 }
    func tableNumber(_ address: UInt64) -> Int? {
        guard address >= Self.syntheticTableBase else { return nil }
        let n = (address - Self.syntheticTableBase) >> 12
        return n < UInt64(tables.count) ? Int(n) : nil
    }

    static func shift(_ level: Int) -> UInt64 { UInt64(12 + 9 * (level - 1)) }
    static func index(_ gpa: UInt64, _ level: Int) -> Int { Int((gpa >> shift(level)) & bitRange(8, 0)) }

    /// The slot that backs `gpa` (binary search over the sorted slots).
    public func slot(containing gpa: UInt64) -> MemorySlot? {
        var lo = 0, hi = slots.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if slots[mid].gpa <= gpa { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, slots[lo - 1].contains(gpa) else { return nil }
        return slots[lo - 1]
    }

    /// Host virtual address of `gpa` without walking the tables.
    public func hostAddress(of gpa: UInt64) -> UInt64? {
        guard let slot = slot(containing: gpa) else { return nil }
        return slot.hostAddress &+ (gpa - slot.gpa)
    }

    // MARK: Building

    func tableEntry(_ child: Int) -> UInt64 {
        switch format {
        case .ept: EPTEntryBits([.read, .write, .execute]).rawValue | tableAddress(child)
        case .npt: X86EntryBits([.present, .writable, .user]).rawValue | tableAddress(child)
        }
    }

    func leafEntry(hostAddress: UInt64, level: Int, readOnly: Bool) -> UInt64 {
        let address = hostAddress & bitRange(51, 12)
        switch format {
        case .ept:
            var bits: EPTEntryBits = [.read, .execute, .ignorePAT]
            if !readOnly { bits.insert(.write) }
            if level > 1 { bits.insert(.largePage) }
            return bits.rawValue | (EPTMemoryType.writeBack.rawValue << EPTEntryBits.memoryTypeShift) | address
        case .npt:
            var bits: X86EntryBits = [.present, .user]
            if !readOnly { bits.insert(.writable) }
            if level > 1 { bits.insert(.pageSize) }
            return bits.rawValue | address
        }
    }

    func isPresent(_ raw: UInt64) -> Bool {
        switch format {
        case .ept: raw & EPTEntryBits([.read, .write, .execute]).rawValue != 0
        case .npt: raw & X86EntryBits.present.rawValue != 0
        }
    }

    func isLarge(_ raw: UInt64) -> Bool {
        switch format {
        case .ept: raw & EPTEntryBits.largePage.rawValue != 0
        case .npt: raw & X86EntryBits.pageSize.rawValue != 0
        }
    }

    mutating func add(_ slot: MemorySlot, largestPage: PageSize) {
        let limit = UInt64(1) << UInt64(Self.guestPhysicalBits)
        let pageMask = bitRange(11, 0)
        var start = slot.gpa
        var end = min(slot.end, limit)
        if start & pageMask != 0 || end & pageMask != 0 {
            notes.append("slot \(slot.name) is not 4 KiB aligned: only its whole pages are mapped")
            start = (start &+ pageMask) & ~pageMask
            end &= ~pageMask
        }
        if slot.end > limit {
            notes.append("slot \(slot.name) reaches beyond the \(Self.guestPhysicalBits)-bit guest-physical space")
        }
        let delta = slot.hostAddress &- slot.gpa
        let sizes: [(PageSize, Int)] = [(.size1G, 3), (.size2M, 2), (.size4K, 1)].filter { $0.0 <= largestPage }
        var cursor = start
        while cursor < end {
            for (size, level) in sizes {
                let mask = size.bytes - 1
                if cursor & mask == 0 && end - cursor >= size.bytes && delta & mask == 0 {
                    if !insert(gpa: cursor, level: level, value: leafEntry(hostAddress: cursor &+ delta, level: level,
                                                                          readOnly: slot.readOnly)) {
                        notes.append("slot \(slot.name) overlaps another slot at \(hex(cursor, digits: 16)): overlap not mapped")
                    }
                    cursor += size.bytes
                    break
                }
            }
        }
    }

    /// Installs a leaf; false if something already maps that address.
    mutating func insert(gpa: UInt64, level: Int, value: UInt64) -> Bool {
        var table = 0
        var l = Self.levels
        while l > level {
            let i = Self.index(gpa, l)
            let entry = tables[table][i]
            if !isPresent(entry) {
                tables.append(Self.emptyTable)
                tables[table][i] = tableEntry(tables.count - 1)
                table = tables.count - 1
            } else if isLarge(entry) {
                return false
            } else {
                guard let next = tableNumber(entry & bitRange(51, 12)) else { return false }
                table = next
            }
            l -= 1
        }
        let i = Self.index(gpa, level)
        guard !isPresent(tables[table][i]) else { return false }
        tables[table][i] = value
        return true
    }

    // MARK: Walking

    /// Level names: "EPT PML4E" or "NPT PDE".
    func entryName(_ level: TableLevel) -> String { "\(format.name) \(level.entryName)" }

    struct Decoded {
        var flags: EntryFlags
        var grants: Permissions
        var memoryType: EPTMemoryType?
    }

    func decode(_ raw: UInt64, leaf: Bool) -> Decoded {
        var flags: EntryFlags = []
        var grants: Permissions = []
        var memoryType: EPTMemoryType?
        switch format {
        case .ept:
            let bits = EPTEntryBits(rawValue: raw)
            let table: [(EPTEntryBits, EntryFlags)] = [
                (.read, .readable), (.write, .writable), (.execute, .executable), (.accessed, .accessed),
                (.userExecute, .userExecute),
            ]
            for (bit, flag) in table where bits.contains(bit) { flags.insert(flag) }
            if bits.contains(.read) { grants.insert(.read) }
            if bits.contains(.write) { grants.insert(.write) }
            if bits.contains(.execute) { grants.insert(.execute) }
            if leaf {
                if bits.contains(.ignorePAT) { flags.insert(.ignorePAT) }
                if bits.contains(.largePage) { flags.insert(.pageSize) }
                if bits.contains(.dirty) { flags.insert(.dirty) }
                memoryType = EPTMemoryType(rawValue: (raw >> EPTEntryBits.memoryTypeShift) & EPTEntryBits.memoryTypeMask)
            }
        case .npt:
            let bits = X86EntryBits(rawValue: raw)
            let table: [(X86EntryBits, EntryFlags)] = [
                (.present, .present), (.writable, .writable), (.user, .user), (.writeThrough, .writeThrough),
                (.cacheDisable, .cacheDisable), (.accessed, .accessed), (.noExecute, .noExecute),
            ]
            for (bit, flag) in table where bits.contains(bit) { flags.insert(flag) }
            if leaf {
                if bits.contains(.dirty) { flags.insert(.dirty) }
                if bits.contains(.pageSize) { flags.insert(.pageSize) }
            }
            if bits.contains(.present) { grants.insert(.read) }
            if bits.contains(.writable) { grants.insert(.write) }
            if !bits.contains(.noExecute) { grants.insert(.execute) }
        }
        return Decoded(flags: flags, grants: grants, memoryType: memoryType)
    }

    /// Walks `gpa` through the tables, recording each step.
    public func walk(_ gpa: UInt64) -> SecondStageWalk {
        var result = SecondStageWalk(guestPhysicalAddress: gpa, format: format, steps: [],
                                     outcome: .violation(level: nil, reason: "not walked"))
        let violation = format == .ept ? "EPT violation" : "nested page fault (#NPF)"
        guard gpa >> UInt64(Self.guestPhysicalBits) == 0 else {
            result.outcome = .violation(level: nil, reason:
                "\(violation): \(hex(gpa, digits: 16)) is beyond the \(Self.guestPhysicalBits)-bit guest-physical space")
            return result
        }
        var table = 0
        var permissions: Permissions = [.read, .write, .execute]
        for l in stride(from: Self.levels, through: 1, by: -1) {
            let level = TableLevel(rawValue: l) ?? .pte
            let i = Self.index(gpa, l)
            let raw = tables[table][i]
            let present = isPresent(raw)
            let leaf = present && (l == 1 || ((l == 2 || l == 3) && isLarge(raw)))
            let d = decode(raw, leaf: leaf)
            if present { permissions.formIntersection(d.grants) }
            let size: PageSize? = leaf ? (l == 3 ? .size1G : l == 2 ? .size2M : .size4K) : nil
            result.steps.append(WalkStep(level: level, name: entryName(level), tableAddress: tableAddress(table),
                                         index: i, entryAddress: tableAddress(table) &+ UInt64(i) &* 8, raw: raw,
                                         flags: d.flags, protectionKey: nil, memoryType: d.memoryType,
                                         permissions: present ? permissions : [], pageSize: size, note: nil))
            guard present else {
                result.outcome = .violation(level: level, reason:
                    "\(violation): \(entryName(level)) \(i) is not present (no memory slot: KVM exits for MMIO)")
                return result
            }
            if let size {
                let base = raw & bitRange(51, 12) & ~(size.bytes &- 1)
                let host = base | (gpa & (size.bytes &- 1))
                // The slot whose backing this leaf was built from (the first one, if slots overlap).
                guard let slot = slots.first(where: { $0.contains(gpa) && $0.hostAddress &+ (gpa - $0.gpa) == host })
                else {
                    result.outcome = .violation(level: level, reason: "no slot for \(hex(gpa, digits: 16))")
                    return result
                }
                result.outcome = .mapped(SecondStageMapping(hostAddress: host,
                                                            pageSize: size, permissions: permissions, slot: slot))
                return result
            }
            guard let next = tableNumber(raw & bitRange(51, 12)) else {
                result.outcome = .violation(level: level, reason: "table pointer outside the synthetic tables")
                return result
            }
            table = next
        }
        return result
    }

    /// Every leaf in GPA order: (gpa, page size, host address, permissions, raw entry, level).
    func leaves() -> [(gpa: UInt64, size: PageSize, host: UInt64, permissions: Permissions, raw: UInt64,
                       level: TableLevel)] {
        var out: [(gpa: UInt64, size: PageSize, host: UInt64, permissions: Permissions, raw: UInt64,
                   level: TableLevel)] = []
        func visit(_ table: Int, _ l: Int, _ base: UInt64, _ inherited: Permissions) {
            for i in 0..<Self.entriesPerTable {
                let raw = tables[table][i]
                guard isPresent(raw) else { continue }
                let gpa = base | (UInt64(i) << Self.shift(l))
                let leaf = l == 1 || ((l == 2 || l == 3) && isLarge(raw))
                let perms = inherited.intersection(decode(raw, leaf: leaf).grants)
                if leaf {
                    let size: PageSize = l == 3 ? .size1G : l == 2 ? .size2M : .size4K
                    out.append((gpa, size, raw & bitRange(51, 12) & ~(size.bytes &- 1), perms, raw,
                                TableLevel(rawValue: l) ?? .pte))
                } else if let next = tableNumber(raw & bitRange(51, 12)) {
                    visit(next, l - 1, gpa, perms)
                }
            }
        }
        visit(0, Self.levels, 0, [.read, .write, .execute])
        return out
    }
}
