import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRMachine

/// The pure-Swift decoder that names the instructions KVM's emulator fails on.
@Suite struct FailingInstructionTests {
    @Test(arguments: [
        ([0xCC], true, "int3", 1),
        ([0xCD, 0x80], false, "int 0x80", 2),
        ([0xF1], true, "icebp (int1)", 1),
        ([0xCE], false, "into", 1),
        ([0x0F, 0x01, 0xC1], true, "vmcall", 3),
        ([0x0F, 0x01, 0xD9], true, "vmmcall", 3),
        ([0x0F, 0x01, 0xCA], true, "clac", 3),
        ([0x0F, 0x01, 0xC8], true, "monitor", 3),
        ([0x0F, 0x01, 0xF9], true, "rdtscp", 3),
        ([0x0F, 0x01, 0xD0], true, "xgetbv", 3),
        ([0x0F, 0x34], false, "sysenter", 2),
        ([0xD9, 0xE8], true, "fld1 (x87)", 2),
        ([0xDD, 0x45, 0xF8], true, "fld (m64) (x87)", 3),
        ([0xDB, 0xE3], false, "fninit (x87)", 2),
        ([0x9B], true, "fwait (x87)", 1),
        ([0xF3, 0x0F, 0x58, 0xC1], true, "addss (SSE)", 4),
        ([0x66, 0x0F, 0x59, 0x04, 0x24], true, "mulpd (SSE)", 5),
        ([0xF2, 0x0F, 0x5E, 0x05, 0, 0, 0, 0], true, "divsd (SSE)", 8),
        ([0xF3, 0x48, 0x0F, 0xB8, 0xC0], true, "popcnt", 5),
        ([0xF3, 0x0F, 0xBD, 0xC0], true, "lzcnt", 4),
        ([0xF2, 0x0F, 0x38, 0xF1, 0xC1], true, "crc32", 5),
        ([0x48, 0x0F, 0xC7, 0x0F], true, "cmpxchg16b", 4),
        ([0x0F, 0xAE, 0x27], true, "xsave", 3),
        ([0xC4, 0xE2, 0x78, 0xF2, 0xC1], true, "andn (BMI, VEX-encoded)", 5),
        ([0xC4, 0xE2, 0xF3, 0xF6, 0xC0], true, "mulx (64-bit) (BMI, VEX-encoded)", 5),
        ([0xC5, 0xF8, 0x58, 0xC1], true, "AVX instruction (VEX 0f 58)", 4),
        ([0x62, 0xF1, 0x7C, 0x48, 0x58, 0xC1], true, "AVX-512 instruction (EVEX-encoded)", nil),
    ] as [([UInt8], Bool, String, Int?)])
    func names(bytes: [UInt8], longMode: Bool, mnemonic: String, length: Int?) {
        let d = FailingInstruction.decode(bytes + [0, 0, 0, 0], longMode: longMode)
        #expect(d.mnemonic == mnemonic)
        #expect(d.length == length)
    }

    @Test func modeMatters() {
        // 0x41 is REX.B in 64-bit code and `inc %ecx` in 32-bit code.
        #expect(FailingInstruction.decode([0x41, 0xCC], longMode: true).mnemonic == "int3")
        #expect(FailingInstruction.decode([0x41, 0xCC], longMode: false).length == nil)
        // C4 with a memory ModR/M outside 64-bit code is LES, not VEX.
        #expect(FailingInstruction.decode([0xC4, 0x06], longMode: false).mnemonic == "les")
        #expect(FailingInstruction.decode([], longMode: true).length == nil)
    }

    @Test func reportLine() {
        var regs = GPRegisters()
        regs.rip = 0x10_0013
        var sregs = BootPlan.multibootSpecialRegisters()
        var line = EmulationFailureReport.summary(bytes: [0xCC] + [UInt8](repeating: 0, count: 14), regs: regs, sregs: sregs, symbol: "crash_here")
        #expect(line == "KVM could not emulate int3 at rip 0x100013 (crash_here) in 32-bit protected mode, CPL 0, paging off (bytes: cc)")
        sregs = BootPlan.entrySpecialRegisters()
        line = EmulationFailureReport.summary(bytes: [0xD9, 0xE8], regs: regs, sregs: sregs, symbol: nil)
        #expect(line == "KVM could not emulate fld1 (x87) at rip 0x100013 in 64-bit long mode, CPL 0 (bytes: d9 e8)")
        let lines = EmulationFailureReport.registerLines(regs: regs, sregs: sregs)
        #expect(lines.count == 7 && lines[0].hasPrefix("rip    0000000000100013") && lines[5].contains("cr3    0000000000003000"))
    }
}
