import VMRRBase
// The guest page walker: one loop driven by the number of levels (as in KVM's
// paging_tmpl.h and libvmi), recording every step, composing permissions by ANDing
// R/W and U/S and ORing XD, and turning a failed walk into the #PF error code the
// hardware would push. Guest data is never used in trapping arithmetic, and the loop is
// bounded by the level count, so hostile tables cannot hang or crash it.

/// One level of a walk.
public struct WalkStep: Sendable, Equatable {
    public var level: TableLevel
    /// Entry name as printed: "PML4E", "PTE", "EPT PDE", "NPT PML4E".
    public var name: String
    /// Address of the table (guest-physical for guest walks, synthetic host-physical for EPT/NPT).
    public var tableAddress: UInt64
    public var index: Int
    public var entryAddress: UInt64
    public var raw: UInt64
    public var flags: EntryFlags
    public var protectionKey: UInt8?
    /// EPT leaf memory type.
    public var memoryType: EPTMemoryType?
    /// Effective permissions accumulated from the top level down to this one.
    public var permissions: Permissions
    /// Set on the step that maps the page.
    public var pageSize: PageSize?
    /// Remarks, e.g. a table page reused at several levels.
    public var note: String?
}

/// A successful translation.
public struct Translation: Sendable, Equatable {
    /// The translated address (guest-physical for a guest walk).
    public var address: UInt64
    public var pageBase: UInt64
    public var pageSize: PageSize
    public var permissions: Permissions
    public var protectionKey: UInt8?
    public var global: Bool
}

/// A page fault the walk would raise.
public struct PageFault: Sendable, Equatable {
    public var errorCode: PageFaultErrorCode
    /// The level where the walk stopped (nil for faults raised before any level).
    public var level: TableLevel?
    public var reason: String
}

public enum WalkOutcome: Sendable, Equatable {
    case translated(Translation)
    case pageFault(PageFault)
    /// A non-canonical address: the CPU raises #GP(0) (#SS for stack accesses), not #PF.
    case generalProtection(reason: String)
    /// The walk could not be completed by the debugger: a table outside guest memory, or an
    /// address wider than the mode. `address` is what could not be read or translated.
    case walkFailed(level: TableLevel?, address: UInt64, reason: String)
}

/// The whole path of a guest walk.
public struct WalkResult: Sendable, Equatable {
    public var linearAddress: UInt64
    public var mode: PagingMode
    /// nil for a structural lookup that checks no access rights.
    public var access: AccessKind?
    public var steps: [WalkStep]
    public var outcome: WalkOutcome
    public var notes: [String]

    public var translation: Translation? {
        if case .translated(let t) = outcome { return t }
        return nil
    }
    public var pageFault: PageFault? {
        if case .pageFault(let f) = outcome { return f }
        return nil
    }
}

public enum PageWalker {
    /// Translates `gva` for `access` as the CPU would, returning the whole walk.
    public static func translate(_ gva: UInt64, context: PagingContext, memory: some GuestPhysicalMemory,
                                 access: AccessKind) -> WalkResult {
        walk(gva, format: GuestFormat(context), memory: memory, access: access)
    }

    /// Walks `gva` checking only the structure (present, reserved bits), not access rights.
    public static func lookup(_ gva: UInt64, context: PagingContext, memory: some GuestPhysicalMemory) -> WalkResult {
        walk(gva, format: GuestFormat(context), memory: memory, access: nil)
    }

    // One piece: the walker is one loop driven by the number of levels (as KVM's paging_tmpl.h),
    // with the mode checks before it and the outcome after it; splitting it would scatter the state
    // the loop carries (permissions, the tables seen, where each right was denied).
    static func walk(_ gva: UInt64, format: GuestFormat, memory: some GuestPhysicalMemory,
                     access: AccessKind?) -> WalkResult {
        let context = format.context
        var result = WalkResult(linearAddress: gva, mode: format.mode, access: access, steps: [],
                                outcome: .walkFailed(level: nil, address: gva, reason: "not walked"), notes: [])
        let base = baseErrorCode(access, context: context)

        switch format.mode {
        case .none:
            guard gva <= bitRange(31, 0) else {
                result.outcome = .walkFailed(level: nil, address: gva,
                                             reason: "paging is off: linear addresses are 32 bits wide")
                return result
            }
            result.outcome = .translated(Translation(address: gva, pageBase: gva & ~bitRange(11, 0), pageSize: .size4K,
                                                     permissions: .all, protectionKey: nil, global: false))
            return result
        case .legacy32, .pae:
            guard gva <= bitRange(31, 0) else {
                result.outcome = .walkFailed(level: nil, address: gva,
                                             reason: "\(format.mode.name) translates 32-bit linear addresses only")
                return result
            }
        case .level4, .level5:
            guard format.isCanonical(gva) else {
                let top = format.linearBits - 1
                result.outcome = .generalProtection(reason:
                    "\(hex(gva, digits: 16)) is not canonical for \(format.mode.name): bits 63:\(top) must all equal bit \(top); "
                    + "the CPU raises #GP(0) (#SS for stack accesses), not #PF")
                return result
            }
        }

        var table = format.rootTable
        var permissions: Permissions = [.read, .write, .user, .execute]
        var deniedAt: [Permissions: TableLevel] = [:]
        var tablesSeen: [(page: UInt64, level: TableLevel)] = []

        for levelNumber in stride(from: format.levels, through: 1, by: -1) {
            let level = TableLevel(rawValue: levelNumber) ?? .pte
            let index = format.index(of: gva, at: level)
            let entryAddress = table &+ index &* format.entryBytes

            var note: String?
            let page = table & ~bitRange(11, 0)
            if let earlier = tablesSeen.first(where: { $0.page == page }) {
                note = "this \(level.tableName) is the same page as the \(earlier.level.tableName) at \(hex(page, digits: 16)): "
                    + "self-referencing tables"
                result.notes.append(note!)
            }
            tablesSeen.append((page, level))

            guard let raw = format.readEntry(memory, entryAddress) else {
                result.outcome = .walkFailed(level: level, address: entryAddress, reason:
                    "\(level.tableName) at \(hex(table, digits: 16)) is outside guest memory (\(hex(memory.size, digits: 16)) bytes): "
                    + "the \(level.entryName) at \(hex(entryAddress, digits: 16)) cannot be read")
                return result
            }
            let entry = format.decode(raw, level: level)
            if entry.present && entry.reserved == nil {
                for right in [Permissions.write, .user, .execute] where !entry.grants.contains(right) {
                    if permissions.contains(right) { deniedAt[right] = level }
                }
                permissions.formIntersection(entry.grants)
            }
            result.steps.append(WalkStep(level: level, name: level.entryName, tableAddress: table, index: Int(index),
                                         entryAddress: entryAddress, raw: raw, flags: entry.flags,
                                         protectionKey: entry.protectionKey, memoryType: nil,
                                         permissions: entry.present ? permissions : [],
                                         pageSize: entry.present ? entry.pageSize : nil, note: note))

            guard entry.present else {
                result.outcome = .pageFault(PageFault(errorCode: base, level: level,
                                                      reason: "\(level.entryName) \(index) is not present"))
                return result
            }
            if let reserved = entry.reserved {
                result.outcome = .pageFault(PageFault(errorCode: base.union([.present, .reservedBit]), level: level,
                                                      reason: "reserved bits set in \(level.entryName) \(index): \(reserved)"
                                                          + (format.mode == .pae && level == .pdpte
                                                              ? " (the CPU loads PDPTEs at MOV to CR3 and raises #GP there)"
                                                              : "")))
                return result
            }
            if entry.isLeaf, let size = entry.pageSize {
                let offset = gva & (size.bytes &- 1)
                let translation = Translation(address: entry.address | offset, pageBase: entry.address, pageSize: size,
                                              permissions: permissions, protectionKey: entry.protectionKey,
                                              global: entry.flags.contains(.global))
                if let access, let fault = accessFault(translation, level: level, deniedAt: deniedAt,
                                                       access: access, format: format, base: base) {
                    result.outcome = .pageFault(fault)
                } else {
                    result.outcome = .translated(translation)
                }
                return result
            }
            table = entry.address
        }
        return result  // unreachable: level 1 is always a leaf
    }

    /// W/R, U/S and I/D bits from the access alone (present for every fault of that access).
    static func baseErrorCode(_ access: AccessKind?, context: PagingContext) -> PageFaultErrorCode {
        guard let access else { return [] }
        var code: PageFaultErrorCode = []
        if access.operation == .write { code.insert(.write) }
        if access.privilege == .user { code.insert(.user) }
        let reportsFetch = context.cr4Flags.contains(.smep)
            || (context.cr4Flags.contains(.physicalAddressExtension) && context.eferFlags.contains(.noExecuteEnable))
        if access.operation == .fetch && reportsFetch { code.insert(.instructionFetch) }
        return code
    }

    /// The SDM 4.6 access-rights check on a completed translation.
    static func accessFault(_ t: Translation, level: TableLevel, deniedAt: [Permissions: TableLevel],
                            access: AccessKind, format: GuestFormat, base: PageFaultErrorCode) -> PageFault? {
        let context = format.context
        let perms = t.permissions
        let userAccess = access.privilege == .user
        let userPage = perms.contains(.user)
        let write = access.operation == .write
        let wp = context.cr0Flags.contains(.writeProtect)
        func at(_ right: Permissions, _ bit: String) -> String {
            deniedAt[right].map { " (\(bit) at \($0.entryName))" } ?? ""
        }
        var reasons: [String] = []
        var code = base.union(.present)

        switch access.operation {
        case .fetch:
            if userAccess && !userPage {
                reasons.append("user fetch from a supervisor page" + at(.user, "U/S=0"))
            } else if !userAccess && userPage && context.cr4Flags.contains(.smep) {
                reasons.append("supervisor fetch from a user page with CR4.SMEP=1")
            } else if !perms.contains(.execute) {
                reasons.append("fetch from a no-execute page" + at(.execute, "XD=1"))
            }
        case .read, .write:
            if userAccess {
                if !userPage {
                    reasons.append("user \(access.operation.rawValue) of a supervisor page" + at(.user, "U/S=0"))
                } else if write && !perms.contains(.write) {
                    reasons.append("user write to a read-only page" + at(.write, "R/W=0"))
                }
            } else {
                let implicit = access.privilege == .implicitSupervisor
                let ac = context.rflagsFlags.contains(.alignmentCheck)
                if userPage && context.cr4Flags.contains(.smap) && (implicit || !ac) {
                    reasons.append("supervisor \(access.operation.rawValue) of a user page with CR4.SMAP=1 and "
                                   + (implicit ? "an implicit access (RFLAGS.AC is not consulted)" : "RFLAGS.AC=0"))
                } else if write && !perms.contains(.write) && wp {
                    reasons.append("supervisor write to a read-only page with CR0.WP=1" + at(.write, "R/W=0"))
                }
            }
            if format.protectionKeys && userPage, let key = t.protectionKey {
                let shift = UInt32(key) &* 2
                let accessDisable = (context.pkru >> shift) & 1 == 1
                let writeDisable = (context.pkru >> (shift &+ 1)) & 1 == 1
                if accessDisable {
                    code.insert(.protectionKey)
                    reasons.append("protection key \(key) has PKRU.AD\(key)=1")
                } else if write && writeDisable && (userAccess || wp) {
                    code.insert(.protectionKey)
                    reasons.append("protection key \(key) has PKRU.WD\(key)=1"
                                   + (userAccess ? "" : " and CR0.WP=1"))
                }
            }
        }
        guard !reasons.isEmpty else { return nil }
        return PageFault(errorCode: code, level: level, reason: reasons.joined(separator: "; "))
    }
}
