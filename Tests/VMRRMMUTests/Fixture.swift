import VMRRMMU

/// A small 4-level guest: user text, data and stack, a 2 MiB-page direct map and a kernel
/// text 2 MiB page, on an 8 MiB RAM slot plus a read-only ROM slot.
enum Fixture {
    static let userText: X86EntryBits = [.present, .user]
    static let userData: X86EntryBits = [.present, .writable, .user, .noExecute]
    static let kernelData: X86EntryBits = [.present, .writable, .global, .noExecute]
    static let kernelText: X86EntryBits = [.present, .global]

    static func builder() -> TableBuilder {
        var b = TableBuilder(mode: .level4, memorySize: 0x20_0000)
        for i: UInt64 in 0..<3 { b.map(0x40_0000 + i * 0x1000, to: 0x10_0000 + i * 0x1000, bits: userText) }
        for i: UInt64 in 0..<2 { b.map(0x60_0000 + i * 0x1000, to: 0x12_0000 + i * 0x1000, bits: userData) }
        b.map(0x7FFF_FFFF_E000, to: 0x13_0000, bits: userData)
        for i: UInt64 in 0..<4 {
            b.map(0xFFFF_8880_0000_0000 + i * 0x20_0000, to: i * 0x20_0000, size: .size2M, bits: kernelData)
        }
        b.map(0xFFFF_FFFF_8000_0000, to: 0x60_0000, size: .size2M, bits: kernelText)
        return b
    }

    static let slots = [
        MemorySlot(gpa: 0, size: 0x80_0000, hostAddress: 0x7F00_0000_0000, name: "ram"),
        MemorySlot(gpa: 0xFFFC_0000, size: 0x4_0000, hostAddress: 0x7F10_0000_0000, readOnly: true, name: "rom"),
    ]

    static func context(_ b: TableBuilder = builder(), label: String = "event 42", slots: [MemorySlot] = slots)
        -> MMUCommandContext {
        var paging = b.context(cr4: [.smep, .smap])
        paging.cr0 |= CR0Flags.protectionEnable.rawValue
        return MMUCommandContext(memory: b.memory, paging: paging, slots: slots, hostMMUModel: "EPT",
                                 hostFrames: FixedHostFrames([0x7F00_0010_1000: 0x1_2345, 0x7F00_0040_1000: 0x2_3456]), positionLabel: label)
    }
}
