// Named bits of the x86 control registers and of the paging-structure entries.
// Every flag the MMU library tests is named here; nothing else uses bare hex flags.

/// CR0 bits that matter to paging.
public struct CR0Flags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// CR0.PE (bit 0): protected mode.
    public static let protectionEnable = CR0Flags(rawValue: 1 << 0)
    /// CR0.WP (bit 16): supervisor writes honour R/W=0.
    public static let writeProtect = CR0Flags(rawValue: 1 << 16)
    /// CR0.PG (bit 31): paging.
    public static let paging = CR0Flags(rawValue: 1 << 31)
}

/// CR4 bits that matter to paging.
public struct CR4Flags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// CR4.PSE (bit 4): 4 MiB pages in 32-bit paging.
    public static let pageSizeExtensions = CR4Flags(rawValue: 1 << 4)
    /// CR4.PAE (bit 5): 64-bit entries.
    public static let physicalAddressExtension = CR4Flags(rawValue: 1 << 5)
    /// CR4.LA57 (bit 12): 5-level paging.
    public static let la57 = CR4Flags(rawValue: 1 << 12)
    /// CR4.PCIDE (bit 17): CR3 bits 11:0 hold a PCID.
    public static let pcidEnable = CR4Flags(rawValue: 1 << 17)
    /// CR4.SMEP (bit 20): no supervisor fetches from user pages.
    public static let smep = CR4Flags(rawValue: 1 << 20)
    /// CR4.SMAP (bit 21): no supervisor data accesses to user pages unless RFLAGS.AC.
    public static let smap = CR4Flags(rawValue: 1 << 21)
    /// CR4.PKE (bit 22): protection keys for user pages.
    public static let protectionKeys = CR4Flags(rawValue: 1 << 22)
}

/// IA32_EFER bits that matter to paging.
public struct EFERFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// EFER.LME (bit 8): long mode enable.
    public static let longModeEnable = EFERFlags(rawValue: 1 << 8)
    /// EFER.LMA (bit 10): long mode active.
    public static let longModeActive = EFERFlags(rawValue: 1 << 10)
    /// EFER.NXE (bit 11): the execute-disable bit (63) is honoured.
    public static let noExecuteEnable = EFERFlags(rawValue: 1 << 11)
}

/// RFLAGS bits that matter to paging.
public struct RFLAGSFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// RFLAGS.AC (bit 18): with CR4.SMAP, explicit supervisor accesses to user pages are allowed.
    public static let alignmentCheck = RFLAGSFlags(rawValue: 1 << 18)
}

/// Bits of an x86 paging-structure entry (32-bit, PAE, 4-level and 5-level; also the NPT form).
public struct X86EntryBits: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let present = X86EntryBits(rawValue: 1 << 0)
    public static let writable = X86EntryBits(rawValue: 1 << 1)
    public static let user = X86EntryBits(rawValue: 1 << 2)
    public static let writeThrough = X86EntryBits(rawValue: 1 << 3)
    public static let cacheDisable = X86EntryBits(rawValue: 1 << 4)
    public static let accessed = X86EntryBits(rawValue: 1 << 5)
    public static let dirty = X86EntryBits(rawValue: 1 << 6)
    /// PS (bit 7) in a PDE/PDPTE: this entry maps a large page.
    public static let pageSize = X86EntryBits(rawValue: 1 << 7)
    /// PAT (bit 7) in a PTE, where bit 7 is not PS.
    public static let pat4K = X86EntryBits(rawValue: 1 << 7)
    public static let global = X86EntryBits(rawValue: 1 << 8)
    /// PAT (bit 12) in an entry that maps a large page.
    public static let patLarge = X86EntryBits(rawValue: 1 << 12)
    /// XD/NX (bit 63), honoured when EFER.NXE = 1.
    public static let noExecute = X86EntryBits(rawValue: 1 << 63)

    /// Bits 62:59 hold the protection key in leaf entries (IA-32e paging with CR4.PKE).
    public static let protectionKeyShift: UInt64 = 59
    public static let protectionKeyMask: UInt64 = 0b1111
    /// In a 32-bit 4 MiB PDE, bits 20:13 hold physical-address bits 39:32 (PSE-36/PSE-40).
    public static let pse36Shift: UInt64 = 13
}

/// Bits of an EPT entry (Intel SDM Vol. 3C, 29.3.2).
public struct EPTEntryBits: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let read = EPTEntryBits(rawValue: 1 << 0)
    public static let write = EPTEntryBits(rawValue: 1 << 1)
    public static let execute = EPTEntryBits(rawValue: 1 << 2)
    /// Bit 6 in a leaf: ignore the guest PAT memory type.
    public static let ignorePAT = EPTEntryBits(rawValue: 1 << 6)
    /// Bit 7 in an EPT PDE/PDPTE: this entry maps a 2 MiB / 1 GiB page.
    public static let largePage = EPTEntryBits(rawValue: 1 << 7)
    public static let accessed = EPTEntryBits(rawValue: 1 << 8)
    public static let dirty = EPTEntryBits(rawValue: 1 << 9)
    /// Bit 10: execute for user-mode linear addresses (mode-based execute control).
    public static let userExecute = EPTEntryBits(rawValue: 1 << 10)
    public static let suppressVE = EPTEntryBits(rawValue: 1 << 63)

    /// Bits 5:3 of a leaf hold the EPT memory type.
    public static let memoryTypeShift: UInt64 = 3
    public static let memoryTypeMask: UInt64 = 0b111
}

/// EPT memory types (bits 5:3 of an EPT leaf, bits 2:0 of the EPTP).
public enum EPTMemoryType: UInt64, Sendable {
    case uncacheable = 0
    case writeCombining = 1
    case writeThrough = 4
    case writeProtected = 5
    case writeBack = 6

    public var name: String {
        switch self {
        case .uncacheable: "UC"
        case .writeCombining: "WC"
        case .writeThrough: "WT"
        case .writeProtected: "WP"
        case .writeBack: "WB"
        }
    }
}

/// Fields of the EPT pointer (VMCS EPTP).
public enum EPTPointerLayout {
    /// Bits 2:0: memory type used to read the EPT tables.
    public static let memoryTypeShift: UInt64 = 0
    /// Bits 5:3: walk length minus one (3 for 4-level EPT).
    public static let walkLengthShift: UInt64 = 3
    /// Bit 6: enable accessed and dirty flags.
    public static let accessedDirtyEnable: UInt64 = 1 << 6
}

/// The page-fault error code pushed by #PF (Intel SDM Vol. 3A, 4.7).
public struct PageFaultErrorCode: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// P (bit 0): 0 = non-present page, 1 = protection violation.
    public static let present = PageFaultErrorCode(rawValue: 1 << 0)
    /// W/R (bit 1): the access was a write.
    public static let write = PageFaultErrorCode(rawValue: 1 << 1)
    /// U/S (bit 2): the access was a user-mode access.
    public static let user = PageFaultErrorCode(rawValue: 1 << 2)
    /// RSVD (bit 3): a reserved bit was set in some paging-structure entry.
    public static let reservedBit = PageFaultErrorCode(rawValue: 1 << 3)
    /// I/D (bit 4): instruction fetch (reported only with SMEP or PAE+NXE).
    public static let instructionFetch = PageFaultErrorCode(rawValue: 1 << 4)
    /// PK (bit 5): protection-key violation.
    public static let protectionKey = PageFaultErrorCode(rawValue: 1 << 5)

    /// "P W U RSVD I/D PK" style list of the bits that are set.
    public var names: String {
        let table: [(PageFaultErrorCode, String)] = [
            (.present, "P"), (.write, "W"), (.user, "U"), (.reservedBit, "RSVD"),
            (.instructionFetch, "I/D"), (.protectionKey, "PK"),
        ]
        let set = table.filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "none" : set.joined(separator: " ")
    }
}

/// A mask of bits hi...lo inclusive; empty when hi < lo. Never traps.
@inline(__always)
func bitRange(_ hi: Int, _ lo: Int) -> UInt64 {
    guard hi >= lo, lo >= 0, lo < 64 else { return 0 }
    let top = min(hi, 63)
    let width = top - lo + 1
    let ones: UInt64 = width >= 64 ? ~0 : (UInt64(1) << UInt64(width)) &- 1
    return ones << UInt64(lo)
}

extension PageFaultErrorCode {
    /// A recorded error code (the journal keeps it as 64 bits; the CPU defines the low 32).
    public init(recorded code: UInt64) { self.init(rawValue: UInt32(truncatingIfNeeded: code)) }

    /// The code in words, e.g. "not present, write, supervisor".
    public var words: String {
        var w = [contains(.present) ? "protection violation" : "not present",
                 contains(.instructionFetch) ? "fetch" : contains(.write) ? "write" : "read",
                 contains(.user) ? "user" : "supervisor"]
        if contains(.reservedBit) { w.append("reserved bit") }
        if contains(.protectionKey) { w.append("protection key") }
        return w.joined(separator: ", ")
    }

    /// The access the code names, as options of the `pt` view (`--user`, `--fetch`, `--write`).
    public var accessOptions: [String] {
        var o: [String] = []
        if contains(.user) { o.append("--user") }
        if contains(.instructionFetch) { o.append("--fetch") } else if contains(.write) { o.append("--write") }
        return o
    }
}
