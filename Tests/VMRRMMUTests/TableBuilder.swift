import VMRRMMU

/// Builds synthetic guest page tables in a byte-array memory, for any paging mode.
struct TableBuilder {
    var memory: ByteArrayMemory
    let mode: PagingMode
    let root: UInt64
    var nextPage: UInt64
    /// Table entries get these bits (P RW US unless a test says otherwise).
    var tableBits: X86EntryBits = [.present, .writable, .user]

    init(mode: PagingMode, memorySize: Int = 1 << 20, root: UInt64 = 0x1000) {
        self.mode = mode
        self.root = root
        memory = ByteArrayMemory(size: memorySize)
        nextPage = root + 0x1000
    }

    mutating func allocPage() -> UInt64 {
        defer { nextPage += 0x1000 }
        return nextPage
    }

    var wide: Bool { mode != .legacy32 }

    func shift(_ level: Int) -> UInt64 { wide ? UInt64(12 + 9 * (level - 1)) : UInt64(12 + 10 * (level - 1)) }
    func index(_ va: UInt64, _ level: Int) -> UInt64 {
        let mask: UInt64 = !wide ? 0x3ff : (mode == .pae && level == 3 ? 0x3 : 0x1ff)
        return (va >> shift(level)) & mask
    }
    func entrySize() -> UInt64 { wide ? 8 : 4 }

    func read(_ address: UInt64) -> UInt64 {
        wide ? memory.read64(address)! : UInt64(memory.read32(address)!)
    }
    mutating func write(_ address: UInt64, _ value: UInt64) {
        if wide { memory.write64(address, value) } else { memory.write32(address, UInt32(truncatingIfNeeded: value)) }
    }

    /// Address of the entry for `va` at `level`, creating tables above it as needed.
    mutating func entryAddress(_ va: UInt64, level: Int) -> UInt64 {
        var table = root
        var l = mode.levels
        while l > level {
            let address = table + index(va, l) * entrySize()
            var entry = read(address)
            if entry & X86EntryBits.present.rawValue == 0 {
                let page = allocPage()
                let bits: X86EntryBits = (mode == .pae && l == 3) ? .present : tableBits
                entry = page | bits.rawValue
                write(address, entry)
            }
            table = wide ? entry & 0x000F_FFFF_FFFF_F000 : entry & 0xFFFF_F000
            l -= 1
        }
        return table + index(va, level) * entrySize()
    }

    /// Maps `va` to `pa` with a leaf of `size` carrying `bits` (PS is added for large pages).
    mutating func map(_ va: UInt64, to pa: UInt64, size: PageSize = .size4K,
                      bits: X86EntryBits = [.present, .writable, .user], extra: UInt64 = 0) {
        let level: Int = switch size {
        case .size4K: 1
        case .size2M, .size4M: 2
        case .size1G: 3
        }
        let address = entryAddress(va, level: level)
        var value = bits.rawValue | extra
        if level > 1 { value |= X86EntryBits.pageSize.rawValue }
        if size == .size4M {
            value |= (pa & 0xFFC0_0000) | (((pa >> 32) & 0xFF) << X86EntryBits.pse36Shift)
        } else {
            value |= pa
        }
        write(address, value)
    }

    /// A context that selects this builder's mode with its root in CR3.
    func context(cr0: CR0Flags = [.protectionEnable, .paging, .writeProtect], cr4: CR4Flags = [],
                 efer: EFERFlags = [.noExecuteEnable], maxPhysAddrBits: Int = 46) -> PagingContext {
        var cr4 = cr4
        var efer = efer
        switch mode {
        case .none, .legacy32: break
        case .pae: cr4.insert(.physicalAddressExtension)
        case .level4:
            cr4.insert(.physicalAddressExtension)
            efer.formUnion([.longModeEnable, .longModeActive])
        case .level5:
            cr4.formUnion([.physicalAddressExtension, .la57])
            efer.formUnion([.longModeEnable, .longModeActive])
        }
        let cr0 = mode == .none ? cr0.subtracting(.paging) : cr0
        return PagingContext(cr0: cr0.rawValue, cr3: root, cr4: cr4.rawValue, efer: efer.rawValue,
                             maxPhysAddrBits: maxPhysAddrBits)
    }
}
