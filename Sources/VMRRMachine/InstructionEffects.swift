import CCapstone
import VMRRBase
import VMRRJournal

/// One instruction's data flow (`InstructionEffect`) from Capstone's detail
/// mode: the registers it reads and writes, explicitly or implicitly
/// (`cs_regs_access`), and its memory operands with their linear addresses
/// computed from the registers before it runs. The stack accesses that
/// Capstone leaves implicit (push, pop, call, ret) are added here. Owned:
/// the handle is closed in deinit.
final class InstructionEffects {
    private var handle: csh = 0
    private var bits = 64

    init?() {
        guard cs_open(CS_ARCH_X86, CS_MODE_64, &handle) == CS_ERR_OK else { return nil }
        cs_option(handle, CS_OPT_DETAIL, Int(CS_OPT_ON.rawValue))
    }

    deinit { cs_close(&handle) }

    /// The canonical 64-bit register each name Capstone uses stands for.
    static let canonical: [String: String] = {
        var t: [String: String] = ["rip": "rip", "eip": "rip", "ip": "rip", "rflags": "rflags", "eflags": "rflags",
                                   "flags": "rflags"]
        for l in ["a", "b", "c", "d"] {
            for n in ["r\(l)x", "e\(l)x", "\(l)x", "\(l)l", "\(l)h"] { t[n] = "r\(l)x" }
        }
        for s in ["si", "di", "bp", "sp"] {
            for n in ["r\(s)", "e\(s)", s, "\(s)l"] { t[n] = "r\(s)" }
        }
        for k in 8...15 {
            for n in ["r\(k)", "r\(k)d", "r\(k)w", "r\(k)b", "r\(k)l"] { t[n] = "r\(k)" }
        }
        return t
    }()

    func name(_ reg: UInt32) -> String? {
        guard reg != 0, let c = cs_reg_name(handle, reg) else { return nil }
        let n = String(cString: c)
        return Self.canonical[n] ?? n
    }

    /// `cs_regs`: Capstone's fixed array of register ids.
    static let regsCapacity = 64

    /// Instructions that clear their destination whatever it held (`xor %eax, %eax`).
    static let zeroingIdioms: Set<String> = ["xor", "sub", "pxor", "xorps", "xorpd", "sbb"]

    /// The effect of the instruction `bytes` start with, at `rip`, in a
    /// `bits`-bit code segment; `fsBase`/`gsBase` for FS/GS-relative operands.
    /// Nil when Capstone cannot decode the bytes.
    func effect(of bytes: [UInt8], rip: UInt64, regs: GPRegisters, fsBase: UInt64, gsBase: UInt64,
                bits: Int = 64) -> (InstructionEffect, mnemonic: String, length: Int)? {
        if bits != self.bits {
            let mode = bits == 16 ? CS_MODE_16 : bits == 32 ? CS_MODE_32 : CS_MODE_64
            if cs_option(handle, CS_OPT_MODE, Int(mode.rawValue)) == CS_ERR_OK { self.bits = bits }
        }
        var insn: UnsafeMutablePointer<cs_insn>?
        // The array is alive for the whole call, so the base pointer is valid.
        let n = bytes.withUnsafeBufferPointer { cs_disasm(handle, $0.baseAddress, $0.count, rip, 1, &insn) }
        guard n == 1, let insn else { return nil }
        defer { cs_free(insn, n) }
        // `insn` holds one entry that Capstone allocated, with its detail (CS_OPT_DETAIL is on).
        let i = insn[0]
        let length = Int(i.size)
        let mnemonic = withUnsafeBytes(of: i.mnemonic) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var e = InstructionEffect()
        var readRegs = [UInt16](repeating: 0, count: Self.regsCapacity)
        var writeRegs = [UInt16](repeating: 0, count: Self.regsCapacity)
        var readCount: UInt8 = 0, writeCount: UInt8 = 0
        if cs_regs_access(handle, insn, &readRegs, &readCount, &writeRegs, &writeCount) == CS_ERR_OK {
            for r in readRegs.prefix(Int(readCount)) { if let n = name(UInt32(r)) { e.reads.insert(n) } }
            for r in writeRegs.prefix(Int(writeCount)) { if let n = name(UInt32(r)) { e.writes.insert(n) } }
        }
        let x86 = i.detail.pointee.x86
        func value(_ reg: x86_reg) -> UInt64 {
            guard let r = name(reg.rawValue) else { return 0 }
            if r == "rip" { return rip &+ UInt64(length) }
            return GPRegisters.index(named: r).map { regs[$0] } ?? 0
        }
        var registerOperands: [x86_reg] = []
        withUnsafeBytes(of: x86.operands) { raw in
            for k in 0..<Int(x86.op_count) {
                let op = raw.load(fromByteOffset: k * MemoryLayout<cs_x86_op>.stride, as: cs_x86_op.self)
                if op.type == X86_OP_REG { registerOperands.append(op.reg) }
                guard op.type == X86_OP_MEM, mnemonic != "lea", !mnemonic.hasPrefix("nop") else { continue }
                let m = op.mem
                var a = value(m.base) &+ value(m.index) &* UInt64(bitPattern: Int64(m.scale)) &+ UInt64(bitPattern: m.disp)
                if m.segment == X86_REG_FS { a &+= fsBase } else if m.segment == X86_REG_GS { a &+= gsBase }
                if bits == 32 { a &= 0xffff_ffff }
                let range = InstructionEffect.MemoryRange(a, Int(op.size))
                if op.access & UInt8(CS_AC_READ.rawValue) != 0 { e.memoryReads.append(range) }
                if op.access & UInt8(CS_AC_WRITE.rawValue) != 0 { e.memoryWrites.append(range) }
            }
        }
        if Self.zeroingIdioms.contains(mnemonic), registerOperands.count == 2, registerOperands[0] == registerOperands[1] {
            e.reads = []
        }
        addStack(&e, mnemonic: mnemonic, rsp: regs.rsp, width: bits == 64 ? 8 : 4)
        return (e, mnemonic, length)
    }

    /// The stack slots push, pop, call and ret use, which Capstone's operands leave out.
    func addStack(_ e: inout InstructionEffect, mnemonic: String, rsp: UInt64, width: Int) {
        let w = UInt64(width)
        switch mnemonic {
        case "push", "pushq", "pushfq", "pushf", "call", "callq":
            e.memoryWrites.append(.init(rsp &- w, width))
        case "pop", "popq", "popfq", "popf", "ret", "retq", "leave", "leaveq":
            e.memoryReads.append(.init(rsp, width))
        default: break
        }
    }
}
