import VMRRJournal

/// What KVM does to a vCPU when it completes a plain IN (not INS) that
/// exited to user space, at the vCPU's next KVM_RUN: it puts the data in
/// AL, AX or EAX (a 4-byte read zero-extends into RAX, a shorter one merges,
/// as the SDM's IN and KVM's `complete_fast_pio_in` do) and moves RIP past
/// the instruction. Nothing else changes: no memory, no flag, no special
/// register. So a switch may leave such a read pending and report the
/// registers this computes as the vCPU's (docs/SMP.md, "A switch makes no
/// system call"). Pure logic: tested on synthetic bytes, and against KVM's
/// own completion wherever a deferred read is completed outside a run
/// (`Machine.settle`).
public enum PortReadCompletion {
    /// The longest x86 instruction.
    public static let maxInstructionLength = 15

    /// IN AL, imm8 / IN eAX, imm8 / IN AL, DX / IN eAX, DX (SDM vol. 2A, "IN").
    enum Opcode {
        static let inByteImmediate: UInt8 = 0xE4
        static let inWordImmediate: UInt8 = 0xE5
        static let inByteDX: UInt8 = 0xEC
        static let inWordDX: UInt8 = 0xED
    }

    /// Prefixes a plain IN may carry without changing what completing it
    /// does: operand size (already in the exit's size), address size, and
    /// segment overrides (IN has no memory operand). LOCK and REP are left
    /// out: with them the instruction is not one this models.
    static let harmlessPrefixes: Set<UInt8> = X86Prefix.segmentOverrides.union([X86Prefix.operandSize, X86Prefix.addressSize])

    /// The length of the plain IN that `bytes` start with, in code of `bits`
    /// (16, 32 or 64), when its width agrees with the exit's `size`; nil for
    /// anything else (INS, an unknown or truncated instruction).
    public static func instructionLength(_ bytes: [UInt8], bits: Int, size: Int) -> Int? {
        var i = 0
        while i < min(bytes.count, maxInstructionLength) {
            let b = bytes[i]
            if harmlessPrefixes.contains(b) { i += 1; continue }
            // REX (64-bit code) is a prefix too; IN ignores its bits.
            if bits == 64 && X86Prefix.isREX(b) { i += 1; continue }
            let length: Int
            switch b {
            case Opcode.inByteImmediate, Opcode.inWordImmediate: length = i + 2
            case Opcode.inByteDX, Opcode.inWordDX: length = i + 1
            default: return nil
            }
            let byteForm = b == Opcode.inByteImmediate || b == Opcode.inByteDX
            guard byteForm == (size == 1), length <= min(bytes.count, maxInstructionLength) else { return nil }
            return length
        }
        return nil
    }

    /// The registers after KVM completes the IN at `regs.rip` with `value`,
    /// or nil when this cannot say for certain: not a plain IN of `size`
    /// bytes, RFLAGS.TF or RF set (a single-step trap or a resumed
    /// breakpoint would follow), or a RIP that wraps outside 64-bit code.
    public static func registers(after regs: GPRegisters, instruction bytes: [UInt8], bits: Int, size: Int,
                                 value: UInt64) -> GPRegisters? {
        guard regs.rflags & (RFlags.trap | RFlags.resume) == 0,
              let length = instructionLength(bytes, bits: bits, size: size) else { return nil }
        var r = regs
        switch size {
        case 1: r.rax = (regs.rax & ~0xFF) | (value & 0xFF)
        case 2: r.rax = (regs.rax & ~0xFFFF) | (value & 0xFFFF)
        case 4: r.rax = value & 0xFFFF_FFFF
        default: return nil
        }
        let next = regs.rip &+ UInt64(length)
        if bits != 64 {
            let limit: UInt64 = bits == 16 ? 0xFFFF : 0xFFFF_FFFF
            guard regs.rip <= limit, next <= limit else { return nil }
        } else if next < regs.rip {
            return nil
        }
        r.rip = next
        return r
    }
}
