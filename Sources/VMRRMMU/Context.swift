// The inputs of a translation: the paging registers, the kind of access, and the small
// value types every view shares (page sizes, level names, permissions, decoded flags).

/// The paging mode, derived from CR0.PG, CR4.PAE, CR4.LA57 and EFER.LME/LMA.
public enum PagingMode: String, Sendable, CaseIterable {
    case none
    case legacy32
    case pae
    case level4
    case level5

    /// Number of paging-structure levels walked (0 when paging is off).
    public var levels: Int {
        switch self {
        case .none: 0
        case .legacy32: 2
        case .pae: 3
        case .level4: 4
        case .level5: 5
        }
    }

    /// Human name, e.g. "4-level paging".
    public var name: String {
        switch self {
        case .none: "paging off"
        case .legacy32: "32-bit paging"
        case .pae: "PAE paging"
        case .level4: "4-level paging"
        case .level5: "5-level paging"
        }
    }

    /// IA-32e modes: 64-bit addresses that must be canonical, protection keys.
    public var isIA32e: Bool { self == .level4 || self == .level5 }
}

/// The register state a walk depends on. Raw register values; the named bits are in Bits.swift.
public struct PagingContext: Sendable, Equatable {
    public var cr0: UInt64
    public var cr3: UInt64
    public var cr4: UInt64
    public var efer: UInt64
    public var rflags: UInt64
    public var pkru: UInt32
    /// MAXPHYADDR (CPUID 0x80000008 EAX[7:0]); clamped to 32...52 when used.
    public var maxPhysAddrBits: Int
    /// CPUID 0x80000001 EDX[26]: 1 GiB pages. Without it a PS bit in a PDPTE is reserved.
    public var supports1GiBPages: Bool

    public init(cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64, rflags: UInt64 = 0x2,
                pkru: UInt32 = 0, maxPhysAddrBits: Int = 46, supports1GiBPages: Bool = true) {
        self.cr0 = cr0
        self.cr3 = cr3
        self.cr4 = cr4
        self.efer = efer
        self.rflags = rflags
        self.pkru = pkru
        self.maxPhysAddrBits = maxPhysAddrBits
        self.supports1GiBPages = supports1GiBPages
    }

    public var cr0Flags: CR0Flags { CR0Flags(rawValue: cr0) }
    public var cr4Flags: CR4Flags { CR4Flags(rawValue: cr4) }
    public var eferFlags: EFERFlags { EFERFlags(rawValue: efer) }
    public var rflagsFlags: RFLAGSFlags { RFLAGSFlags(rawValue: rflags) }

    /// The paging mode these registers select.
    public var mode: PagingMode {
        guard cr0Flags.contains(.paging) else { return .none }
        guard cr4Flags.contains(.physicalAddressExtension) else { return .legacy32 }
        if eferFlags.contains(.longModeActive) || eferFlags.contains(.longModeEnable) {
            return cr4Flags.contains(.la57) ? .level5 : .level4
        }
        return .pae
    }

    /// MAXPHYADDR clamped to the architectural range 32...52.
    public var physicalAddressBits: Int { min(max(maxPhysAddrBits, 32), 52) }

    /// EFER.NXE in a mode with 64-bit entries (32-bit paging has no XD bit).
    var noExecuteEnabled: Bool { mode != .legacy32 && eferFlags.contains(.noExecuteEnable) }
}

/// What kind of memory access is being translated.
public struct AccessKind: Sendable, Equatable, CustomStringConvertible {
    public enum Operation: String, Sendable, CaseIterable { case read, write, fetch }
    public enum Privilege: String, Sendable, CaseIterable {
        /// CPL 3.
        case user
        /// An explicit access at CPL 0-2 (SMAP then depends on RFLAGS.AC).
        case supervisor
        /// An implicit supervisor access (descriptor tables, TSS...): SMAP ignores RFLAGS.AC.
        case implicitSupervisor
    }

    public var operation: Operation
    public var privilege: Privilege

    public init(_ operation: Operation, _ privilege: Privilege) {
        self.operation = operation
        self.privilege = privilege
    }

    public static let supervisorRead = AccessKind(.read, .supervisor)
    public static let supervisorWrite = AccessKind(.write, .supervisor)
    public static let supervisorFetch = AccessKind(.fetch, .supervisor)
    public static let userRead = AccessKind(.read, .user)
    public static let userWrite = AccessKind(.write, .user)
    public static let userFetch = AccessKind(.fetch, .user)

    public var description: String {
        let who = switch privilege {
        case .user: "user"
        case .supervisor: "supervisor"
        case .implicitSupervisor: "implicit supervisor"
        }
        return "\(who) \(operation.rawValue)"
    }
}

/// Page sizes the walkers can produce.
public enum PageSize: UInt64, Sendable, CaseIterable, Comparable {
    case size4K = 0x1000
    case size2M = 0x20_0000
    case size4M = 0x40_0000
    case size1G = 0x4000_0000

    public var bytes: UInt64 { rawValue }
    public var name: String {
        switch self {
        case .size4K: "4K"
        case .size2M: "2M"
        case .size4M: "4M"
        case .size1G: "1G"
        }
    }
    public static func < (a: PageSize, b: PageSize) -> Bool { a.rawValue < b.rawValue }
}

/// A paging-structure level, numbered as the SDM does: 1 = PTE ... 5 = PML5E.
public enum TableLevel: Int, Sendable, CaseIterable, Comparable {
    case pte = 1, pde, pdpte, pml4e, pml5e

    /// Entry name: PTE, PDE, PDPTE, PML4E, PML5E.
    public var entryName: String {
        switch self {
        case .pte: "PTE"
        case .pde: "PDE"
        case .pdpte: "PDPTE"
        case .pml4e: "PML4E"
        case .pml5e: "PML5E"
        }
    }
    /// Table name: PT, PD, PDPT, PML4, PML5.
    public var tableName: String {
        switch self {
        case .pte: "PT"
        case .pde: "PD"
        case .pdpte: "PDPT"
        case .pml4e: "PML4"
        case .pml5e: "PML5"
        }
    }
    public static func < (a: TableLevel, b: TableLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Effective access rights. Guest walks use write/user/execute (read is implied by a
/// present translation); EPT walks use read/write/execute.
public struct Permissions: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = Permissions(rawValue: 1 << 0)
    public static let write = Permissions(rawValue: 1 << 1)
    public static let execute = Permissions(rawValue: 1 << 2)
    public static let user = Permissions(rawValue: 1 << 3)
    public static let all: Permissions = [.read, .write, .execute, .user]

    /// "RW  user X" style: R or -, W or -, then user/kern, then X or NX.
    public var description: String {
        (contains(.write) ? "RW" : "ro") + " " + (contains(.user) ? "user" : "kern") + " "
            + (contains(.execute) ? "x " : "NX")
    }

    /// EPT style: "RWX" with dashes.
    public var rwx: String {
        (contains(.read) ? "R" : "-") + (contains(.write) ? "W" : "-") + (contains(.execute) ? "X" : "-")
    }
}

/// Decoded flags of one entry, independent of bit positions (which differ by format and level).
public struct EntryFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let present = EntryFlags(rawValue: 1 << 0)
    public static let writable = EntryFlags(rawValue: 1 << 1)
    public static let user = EntryFlags(rawValue: 1 << 2)
    public static let writeThrough = EntryFlags(rawValue: 1 << 3)
    public static let cacheDisable = EntryFlags(rawValue: 1 << 4)
    public static let accessed = EntryFlags(rawValue: 1 << 5)
    public static let dirty = EntryFlags(rawValue: 1 << 6)
    public static let pageSize = EntryFlags(rawValue: 1 << 7)
    public static let global = EntryFlags(rawValue: 1 << 8)
    public static let pat = EntryFlags(rawValue: 1 << 9)
    public static let noExecute = EntryFlags(rawValue: 1 << 10)
    // EPT-only flags.
    public static let readable = EntryFlags(rawValue: 1 << 11)
    public static let executable = EntryFlags(rawValue: 1 << 12)
    public static let ignorePAT = EntryFlags(rawValue: 1 << 13)
    public static let userExecute = EntryFlags(rawValue: 1 << 14)

    static let x86Names: [(EntryFlags, String)] = [
        (.present, "P"), (.writable, "RW"), (.user, "US"), (.writeThrough, "PWT"), (.cacheDisable, "PCD"),
        (.accessed, "A"), (.dirty, "D"), (.pageSize, "PS"), (.global, "G"), (.pat, "PAT"), (.noExecute, "NX"),
    ]
    static let eptNames: [(EntryFlags, String)] = [
        (.readable, "R"), (.writable, "W"), (.executable, "X"), (.ignorePAT, "IPAT"), (.pageSize, "L"),
        (.accessed, "A"), (.dirty, "D"), (.userExecute, "UX"),
    ]

    /// Names of the set flags in SDM order, e.g. "P RW US A D".
    public var x86Description: String {
        Self.x86Names.filter { contains($0.0) }.map(\.1).joined(separator: " ")
    }
    /// Names of the set EPT flags, e.g. "R W X IPAT L".
    public var eptDescription: String {
        Self.eptNames.filter { contains($0.0) }.map(\.1).joined(separator: " ")
    }
}

