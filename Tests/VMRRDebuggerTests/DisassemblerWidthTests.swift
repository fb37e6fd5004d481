import Testing
@testable import VMRRDebugger

/// The disassembler decodes at the width of the CPU's mode (`CPUMode`, VMRRMMU).
struct DisassemblerWidthTests {
    @Test func theSameBytesDecodeByWidth() throws {
        let d = try #require(Disassembler())
        // 89 1d 04 20 40 00: mov %ebx, 0x402004 in 32-bit mode; RIP-relative in 64-bit mode.
        let bytes: [UInt8] = [0x89, 0x1d, 0x04, 0x20, 0x40, 0x00]
        let i32 = d.disassemble(bytes, at: 0x400011, count: 1, bits: 32)
        let i64 = d.disassemble(bytes, at: 0x400011, count: 1, bits: 64)
        #expect(i32.first?.operands == "%ebx, 0x402004", "\(i32)")
        #expect(i64.first?.operands.contains("%rip") == true, "\(i64)")
        // 16-bit: b8 34 12 is mov $0x1234, %ax.
        #expect(d.disassemble([0xb8, 0x34, 0x12], at: 0x7c00, count: 1, bits: 16).first?.operands == "$0x1234, %ax")
    }
}
