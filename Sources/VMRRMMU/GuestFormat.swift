// The guest paging format selected by the registers: how to index each level, where the
// root table is, and how to decode one entry (present, reserved bits, leaf or table).
// The walker and the dumper share this one decoder, so they cannot disagree.

/// One entry, decoded for its format and level.
struct EntryDecode {
    var present: Bool
    /// Why the entry has reserved bits set, or nil.
    var reserved: String?
    var isLeaf: Bool
    /// Next table (non-leaf) or page frame base (leaf).
    var address: UInt64
    var pageSize: PageSize?
    var flags: EntryFlags
    var protectionKey: UInt8?
    /// The rights this entry grants (read is always granted by a present entry).
    var grants: Permissions
}

struct GuestFormat {
    let mode: PagingMode
    let context: PagingContext
    let physBits: Int
    let noExecuteEnabled: Bool
    let pse: Bool
    let protectionKeys: Bool

    init(_ context: PagingContext) {
        self.context = context
        mode = context.mode
        physBits = context.physicalAddressBits
        noExecuteEnabled = context.noExecuteEnabled
        pse = context.cr4Flags.contains(.pageSizeExtensions)
        protectionKeys = mode.isIA32e && context.cr4Flags.contains(.protectionKeys)
    }

    var levels: Int { mode.levels }
    var entryBytes: UInt64 { mode == .legacy32 ? 4 : 8 }

    /// Linear-address bits translated by this mode (32, 48 or 57).
    var linearBits: Int {
        switch mode {
        case .none, .legacy32, .pae: 32
        case .level4: 48
        case .level5: 57
        }
    }

    func shift(_ level: TableLevel) -> UInt64 {
        mode == .legacy32 ? UInt64(12 + 10 * (level.rawValue - 1)) : UInt64(12 + 9 * (level.rawValue - 1))
    }

    func indexMask(_ level: TableLevel) -> UInt64 {
        if mode == .legacy32 { return bitRange(9, 0) }
        if mode == .pae && level == .pdpte { return bitRange(1, 0) }
        return bitRange(8, 0)
    }

    func index(of va: UInt64, at level: TableLevel) -> UInt64 {
        (va >> shift(level)) & indexMask(level)
    }

    /// The top-level table from CR3 (PCID and flag bits masked off).
    var rootTable: UInt64 {
        switch mode {
        case .none: 0
        case .legacy32: context.cr3 & bitRange(31, 12)
        case .pae: context.cr3 & bitRange(31, 5)
        case .level4, .level5: context.cr3 & bitRange(physBits - 1, 12)
        }
    }

    var topLevel: TableLevel { TableLevel(rawValue: max(levels, 1)) ?? .pte }

    /// Sign-extends a linear address of this mode to its canonical 64-bit form.
    func canonical(_ va: UInt64) -> UInt64 {
        guard mode.isIA32e else { return va & bitRange(31, 0) }
        let bits = UInt64(linearBits)
        let sign = (va >> (bits - 1)) & 1
        return sign == 1 ? va | bitRange(63, linearBits) : va & bitRange(linearBits - 1, 0)
    }

    func isCanonical(_ va: UInt64) -> Bool { canonical(va) == va }

    /// Page size a leaf at `level` maps.
    func leafSize(_ level: TableLevel) -> PageSize {
        switch (mode, level) {
        case (_, .pte): .size4K
        case (.legacy32, _): .size4M
        case (_, .pde): .size2M
        default: .size1G
        }
    }

    // One piece: every bit of an x86 paging entry at every level is decoded here, in the SDM's
    // table order, so that the reserved-bit rules for each level can be read side by side.
    func decode(_ raw: UInt64, level: TableLevel) -> EntryDecode {
        let bits = X86EntryBits(rawValue: raw)
        let present = bits.contains(.present)
        let wide = mode != .legacy32
        let paePDPTE = mode == .pae && level == .pdpte
        var flags: EntryFlags = []
        if present { flags.insert(.present) }
        if bits.contains(.writeThrough) { flags.insert(.writeThrough) }
        if bits.contains(.cacheDisable) { flags.insert(.cacheDisable) }
        if !paePDPTE {
            if bits.contains(.writable) { flags.insert(.writable) }
            if bits.contains(.user) { flags.insert(.user) }
            if bits.contains(.accessed) { flags.insert(.accessed) }
            if wide && bits.contains(.noExecute) { flags.insert(.noExecute) }
        }
        // Bit 7 is PS where a large page may be mapped, reserved at PML4E/PML5E, PAT in a PTE.
        let psMeaningful: Bool = switch (mode, level) {
        case (.legacy32, .pde): pse
        case (.legacy32, _), (.pae, .pdpte), (_, .pte): false
        default: true
        }
        let largeAllowedLevel = level == .pde || (mode.isIA32e && level == .pdpte)
        let psSet = psMeaningful && bits.contains(.pageSize)
        let isLeaf = level == .pte || (psSet && largeAllowedLevel)
        if psSet { flags.insert(.pageSize) }
        if isLeaf {
            if bits.contains(.dirty) { flags.insert(.dirty) }
            if bits.contains(.global) { flags.insert(.global) }
            let patBit: X86EntryBits = level == .pte ? .pat4K : .patLarge
            if bits.contains(patBit) { flags.insert(.pat) }
        }

        var grants: Permissions = [.read, .write, .user, .execute]
        if !paePDPTE {
            if !bits.contains(.writable) { grants.remove(.write) }
            if !bits.contains(.user) { grants.remove(.user) }
            if wide && bits.contains(.noExecute) { grants.remove(.execute) }
        }

        var reasons: [String] = []
        func check(_ mask: UInt64, _ why: @autoclosure () -> String) {
            if raw & mask != 0 { reasons.append(why()) }
        }
        let m = physBits
        switch mode {
        case .none:
            break
        case .legacy32:
            if isLeaf && level == .pde {
                // PSE-36: bits 20:13 carry address bits 39:32, up to MAXPHYADDR (at most 40).
                let used = min(m, 40) - 32
                check(bitRange(21, 13 + used), "bits 21:\(13 + used) of a 4 MiB PDE (MAXPHYADDR \(m))")
            }
        case .pae:
            if level == .pdpte {
                check(bitRange(63, m), "bits 63:\(m) above MAXPHYADDR \(m)")
                check(bitRange(8, 5) | bitRange(2, 1), "bits 8:5 or 2:1 of a PAE PDPTE")
            } else {
                check(bitRange(62, m), "bits 62:\(m) above MAXPHYADDR \(m)")
            }
        case .level4, .level5:
            check(bitRange(51, m), "bits 51:\(m) above MAXPHYADDR \(m)")
        }
        if wide && !paePDPTE && !noExecuteEnabled {
            check(X86EntryBits.noExecute.rawValue, "bit 63 (XD) while EFER.NXE=0")
        }
        if mode.isIA32e && level >= .pml4e {
            check(X86EntryBits.pageSize.rawValue, "PS at \(level.entryName)")
        }
        if mode.isIA32e && level == .pdpte && psSet {
            if context.supports1GiBPages {
                check(bitRange(29, 13), "bits 29:13 of a 1 GiB page")
            } else {
                check(X86EntryBits.pageSize.rawValue, "PS at PDPTE: this CPU has no 1 GiB pages")
            }
        }
        if wide && level == .pde && psSet {
            check(bitRange(20, 13), "bits 20:13 of a 2 MiB page")
        }

        let size: PageSize? = isLeaf ? leafSize(level) : nil
        var address: UInt64
        if mode == .legacy32 {
            address = raw & bitRange(31, 12)
            if let size, size == .size4M {
                let used = min(m, 40) - 32
                let high = (raw >> X86EntryBits.pse36Shift) & bitRange(used - 1, 0)
                address = (raw & bitRange(31, 22)) | (high << 32)
            }
        } else {
            address = raw & bitRange(m - 1, 12)
            if let size { address &= ~(size.bytes &- 1) }
        }

        var key: UInt8?
        if isLeaf && protectionKeys {
            key = UInt8(truncatingIfNeeded: (raw >> X86EntryBits.protectionKeyShift) & X86EntryBits.protectionKeyMask)
        }
        return EntryDecode(present: present, reserved: reasons.isEmpty ? nil : reasons.joined(separator: "; "),
                           isLeaf: isLeaf, address: address, pageSize: size, flags: flags,
                           protectionKey: key, grants: grants)
    }

    func readEntry(_ memory: some GuestPhysicalMemory, _ address: UInt64) -> UInt64? {
        if mode == .legacy32 { return memory.read32(address).map(UInt64.init) }
        return memory.read64(address)
    }
}
