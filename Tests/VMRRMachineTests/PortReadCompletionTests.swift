import Testing
import VMRRJournal
@testable import VMRRMachine
import VMRRKVM
import VMRRMMU

/// What completing a plain IN does to the registers (`PortReadCompletion`),
/// on synthetic bytes: no KVM. Against KVM's own completion it is checked
/// wherever a deferred read is completed outside a run (`Machine.settle`),
/// and by replaying the committed SMP journals, recorded before reads were
/// deferred (`RegressionJournalTests`).
@Suite struct PortReadCompletionTests {
    static func regs(rip: UInt64 = 0x1000, rax: UInt64 = 0x1122_3344_5566_7788, rflags: UInt64 = 0x202) -> GPRegisters {
        var r = GPRegisters()
        r.rip = rip
        r.rax = rax
        r.rflags = rflags
        r.rdx = 0x80
        return r
    }

    @Test(arguments: [
        ([0xE4, 0x80], 64, 1, 2),            // in al, 0x80
        ([0xE5, 0x80], 64, 4, 2),            // in eax, 0x80
        ([0x66, 0xE5, 0x80], 64, 2, 3),      // in ax, 0x80
        ([0xEC], 64, 1, 1),                  // in al, dx
        ([0xED], 32, 4, 1),                  // in eax, dx
        ([0x66, 0xED], 32, 2, 2),            // in ax, dx
        ([0x48, 0xED], 64, 4, 2),            // REX.W is ignored by IN
        ([0x2E, 0x67, 0xEC], 16, 1, 3),      // segment and address-size prefixes
    ] as [([UInt8], Int, Int, Int)])
    func lengthsOfPlainIN(bytes: [UInt8], bits: Int, size: Int, length: Int) {
        #expect(PortReadCompletion.instructionLength(bytes + [0x90, 0x90], bits: bits, size: size) == length)
    }

    @Test(arguments: [
        ([0x6C], 64, 1),                     // insb: writes memory, not modelled
        ([0xF3, 0x6D], 64, 4),               // rep insd
        ([0xF3, 0xEC], 64, 1),               // a REP prefix on IN: left to KVM
        ([0xF0, 0xEC], 64, 1),               // LOCK
        ([0xEC], 64, 4),                     // a byte IN that KVM says read 4 bytes
        ([0xED], 64, 1),                     // a wide IN that KVM says read 1 byte
        ([0xE4], 64, 1),                     // truncated: the immediate is missing
        ([0x48], 32, 1),                     // dec eax outside 64-bit code, not REX
        ([0x8B, 0x00], 64, 4),               // an MMIO read's mov
        ([], 64, 1),
    ] as [([UInt8], Int, Int)])
    func anythingElseIsNotModelled(bytes: [UInt8], bits: Int, size: Int) {
        #expect(PortReadCompletion.instructionLength(bytes, bits: bits, size: size) == nil)
    }

    @Test func fifteenPrefixesAreTooLong() {
        let bytes = [UInt8](repeating: 0x66, count: 14) + [0xE5, 0x80]
        #expect(PortReadCompletion.instructionLength(bytes, bits: 64, size: 2) == nil)
        #expect(PortReadCompletion.instructionLength(Array(bytes.dropFirst(1)), bits: 64, size: 2) == 15)
    }

    @Test func aByteOrWordMergesIntoRAXAndADwordZeroExtends() throws {
        let r = Self.regs()
        let byte = try #require(PortReadCompletion.registers(after: r, instruction: [0xEC], bits: 64, size: 1, value: 0x1AB))
        #expect(byte.rax == 0x1122_3344_5566_77AB)
        #expect(byte.rip == 0x1001)
        let word = try #require(PortReadCompletion.registers(after: r, instruction: [0x66, 0xED], bits: 64, size: 2, value: 0xBEEF))
        #expect(word.rax == 0x1122_3344_5566_BEEF)
        #expect(word.rip == 0x1002)
        let dword = try #require(PortReadCompletion.registers(after: r, instruction: [0xE5, 0x71], bits: 64, size: 4, value: 0xDEAD_BEEF))
        #expect(dword.rax == 0xDEAD_BEEF)
        #expect(dword.rip == 0x1002)
        var unchanged = dword
        unchanged.rax = r.rax
        unchanged.rip = r.rip
        #expect(unchanged == r, "nothing but RAX and RIP changes")
    }

    @Test func trapOrResumeFlagsAndWrappingRIPAreLeftToKVM() {
        let tf = Self.regs(rflags: 0x202 | RFlags.trap)
        #expect(PortReadCompletion.registers(after: tf, instruction: [0xEC], bits: 64, size: 1, value: 1) == nil)
        let rf = Self.regs(rflags: 0x202 | RFlags.resume)
        #expect(PortReadCompletion.registers(after: rf, instruction: [0xEC], bits: 64, size: 1, value: 1) == nil)
        let top16 = Self.regs(rip: 0xFFFF)
        #expect(PortReadCompletion.registers(after: top16, instruction: [0xEC], bits: 16, size: 1, value: 1) == nil)
        let top32 = Self.regs(rip: 0xFFFF_FFFF)
        #expect(PortReadCompletion.registers(after: top32, instruction: [0xEC], bits: 32, size: 1, value: 1) == nil)
        let fine32 = Self.regs(rip: 0xFFFF_FFFD)
        #expect(PortReadCompletion.registers(after: fine32, instruction: [0xE4, 0x80], bits: 32, size: 1, value: 1)?.rip == 0xFFFF_FFFF)
    }
}

/// The deferred IN's instruction fetch keeps its last walk and reuses it
/// only while the paging registers and every entry it read are unchanged
/// (`InstructionFetch`), on page tables built in guest RAM: no KVM.
@Suite struct InstructionFetchTests {
    static let entry = (X86EntryBits.present.rawValue | X86EntryBits.writable.rawValue)
    static let pml4: UInt64 = 0x1000, pdpt: UInt64 = 0x2000, pd: UInt64 = 0x3000, pt: UInt64 = 0x4000
    static let code: UInt64 = 0x5000, other: UInt64 = 0x6000
    static let linear: UInt64 = 0x40_0000 + 0x123
    static let control = (cr0: CR0Flags([.protectionEnable, .paging]).rawValue, cr3: pml4,
                          cr4: CR4Flags.physicalAddressExtension.rawValue,
                          efer: EFERFlags([.longModeEnable, .longModeActive]).rawValue)

    /// 0x400000 maps to `code` through one entry per level; `other` holds different bytes.
    static func ram() throws -> GuestRAM {
        let ram = try GuestRAM(ranges: [0..<0x10_0000])
        func put(_ gpa: UInt64, _ v: UInt64) { _ = ram.write(gpa, (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }) }
        put(pml4, pdpt | entry)
        put(pdpt, pd | entry)
        put(pd + 2 * 8, pt | entry)           // 0x400000 is PD index 2
        put(pt, code | entry)
        _ = ram.write(code + 0x123, [0xE4, 0x80])
        _ = ram.write(other + 0x123, [0xEC, 0x90])
        return ram
    }

    @Test func aSecondFetchReusesTheWalkUntilAnEntryOrRegisterChanges() throws {
        let ram = try Self.ram(), fetch = InstructionFetch()
        let facts = CPUIDFacts([])
        #expect(fetch.bytes(at: Self.linear, count: 2, control: Self.control, facts: facts, ram: ram) == [0xE4, 0x80])
        #expect(fetch.bytes(at: Self.linear, count: 2, control: Self.control, facts: facts, ram: ram) == [0xE4, 0x80])
        #expect(fetch.walks == 1 && fetch.reused == 1)
        // The guest remaps the page: the entry differs, so it walks again and reads the new page.
        _ = ram.write(Self.pt, (0..<8).map { UInt8(truncatingIfNeeded: (Self.other | Self.entry) >> (8 * $0)) })
        #expect(fetch.bytes(at: Self.linear, count: 2, control: Self.control, facts: facts, ram: ram) == [0xEC, 0x90])
        #expect(fetch.walks == 2)
        // Another CR3 walks again (and here finds nothing mapped).
        var c = Self.control
        c.cr3 = 0x8000
        #expect(fetch.bytes(at: Self.linear, count: 2, control: c, facts: facts, ram: ram) == nil)
        #expect(fetch.walks == 3)
        // Back to the first CR3: the failed walk kept nothing, so this walks too.
        #expect(fetch.bytes(at: Self.linear, count: 2, control: Self.control, facts: facts, ram: ram) == [0xEC, 0x90])
        #expect(fetch.walks == 4 && fetch.reused == 1)
    }
}
