import VMRRBase
import VMRRJournal

/// A small pure-Swift decoder for the instructions KVM's instruction emulator
/// on this kind of host cannot run at CPL 0 (docs/GUEST.md section 8):
/// int3, int n, into, icebp, x87, SSE/MMX arithmetic, VEX/EVEX (AVX, BMI1/2),
/// popcnt/lzcnt/tzcnt, crc32, movbe, adcx/adox, cmpxchg16b, xsave/xrstor,
/// xgetbv, rdtscp, monitor/mwait, sysenter/sysexit, clac/stac, vmcall and
/// friends. It is not a disassembler: it names the instruction (or its class)
/// and its length where it knows them, which is what an emulation failure
/// report needs. VMRRMachine does not depend on Capstone.
public struct FailingInstruction: Equatable, Sendable {
    /// The mnemonic (`int3`, `int 0x80`, `addss`), or a class
    /// (`x87 instruction (escape 0xdd /0)`, `SSE instruction 0f 3a 0f`).
    public let mnemonic: String
    /// The instruction's length in bytes, when the decoder knows it.
    public let length: Int?

    /// Decodes the first instruction of `bytes`. `longMode` is CS.L (64-bit
    /// code): REX prefixes exist, and C4/C5/62 are always VEX/EVEX.
    public static func decode(_ bytes: [UInt8], longMode: Bool) -> FailingInstruction {
        var d = Decoder(bytes: bytes, longMode: longMode)
        return d.decode()
    }
}

private struct Decoder {
    let bytes: [UInt8]
    let longMode: Bool
    var i = 0
    var operandSize = false, repz = false, repnz = false, rexW = false

    init(bytes: [UInt8], longMode: Bool) { self.bytes = bytes; self.longMode = longMode }

    func at(_ k: Int) -> UInt8? { k < bytes.count ? bytes[k] : nil }

    /// The result, with a length when `known` (the number of bytes consumed).
    func done(_ m: String, known: Bool = true) -> FailingInstruction { FailingInstruction(mnemonic: m, length: known ? i : nil) }

    /// ModR/M fields and the length of the addressing bytes that follow it.
    struct ModRM { let mod: UInt8, reg: UInt8, rm: UInt8, raw: UInt8 }
    func modrm() -> ModRM? {
        guard let b = at(i) else { return nil }
        return ModRM(mod: b >> 6, reg: (b >> 3) & 7, rm: b & 7, raw: b)
    }
    /// Consumes a ModR/M byte and its SIB and displacement (32/64-bit addressing).
    mutating func skipModRM() -> ModRM? {
        guard let m = modrm() else { return nil }
        i += 1
        if m.mod != 3 {
            var disp = m.mod == 1 ? 1 : m.mod == 2 ? 4 : 0
            if m.rm == 4, let sib = at(i) {
                i += 1
                if m.mod == 0 && sib & 7 == 5 { disp = 4 }
            } else if m.mod == 0 && m.rm == 5 {
                disp = 4
            }
            i += disp
        }
        return m
    }

    mutating func decode() -> FailingInstruction {
        // Legacy prefixes, then (64-bit code) one REX prefix.
        while let b = at(i) {
            switch b {
            case X86Prefix.operandSize: operandSize = true
            case X86Prefix.rep: repz = true
            case X86Prefix.repne: repnz = true
            case X86Prefix.addressSize, X86Prefix.lock: break
            case _ where X86Prefix.segmentOverrides.contains(b): break
            default:
                if longMode && X86Prefix.isREX(b) { rexW = b & X86Prefix.rexW != 0; i += 1; continue }
                return opcode(b)
            }
            i += 1
        }
        return FailingInstruction(mnemonic: "(no instruction bytes)", length: nil)
    }

    mutating func opcode(_ op: UInt8) -> FailingInstruction {
        i += 1
        switch op {
        case 0xCC: return done("int3")
        case 0xCD:
            guard let n = at(i) else { return done("int n", known: false) }
            i += 1
            return done("int \(hex(n))")
        case 0xCE: return done("into")
        case 0xF1: return done("icebp (int1)")
        case 0x9B: return done("fwait (x87)")
        case 0xD8...0xDF: return x87(op)
        case 0x0F: return twoByte()
        case 0xC4, 0xC5:
            // Outside 64-bit code these are LES/LDS unless ModR/M.mod is 3.
            if longMode || (at(i).map { $0 >> 6 == 3 } ?? false) { return vex(op) }
            return done(op == 0xC4 ? "les" : "lds", known: false)
        case 0x62 where longMode: return done("AVX-512 instruction (EVEX-encoded)", known: false)
        case 0x8F where at(i).map({ $0 & 0x1F >= 8 }) ?? false: return done("XOP instruction (AMD)", known: false)
        default:
            return done("opcode 0x\(hexByte(op)) (not one of the instructions this host is known not to emulate)", known: false)
        }
    }

    mutating func x87(_ op: UInt8) -> FailingInstruction {
        guard let m = skipModRM() else { return done("x87 instruction (escape 0x\(hexByte(op)))", known: false) }
        let registerForms: [UInt16: String] = [
            0xD9E8: "fld1", 0xD9EE: "fldz", 0xD9EB: "fldpi", 0xD9E0: "fchs", 0xD9E1: "fabs", 0xD9FA: "fsqrt",
            0xD9FE: "fsin", 0xD9FF: "fcos", 0xD9C9: "fxch", 0xDBE3: "fninit", 0xDBE2: "fnclex", 0xDFE0: "fnstsw %ax",
            0xDEC1: "faddp", 0xDEC9: "fmulp", 0xDEE9: "fsubp", 0xDEF9: "fdivp", 0xD9E4: "ftst", 0xDDD8: "fstp %st(0)",
        ]
        if m.mod == 3, let name = registerForms[UInt16(op) << 8 | UInt16(m.raw)] { return done("\(name) (x87)") }
        let memoryForms: [UInt16: String] = [
            0xD900: "fld (m32)", 0xDD00: "fld (m64)", 0xDB05: "fld (m80)", 0xD903: "fstp (m32)", 0xDD03: "fstp (m64)",
            0xD902: "fst (m32)", 0xDD02: "fst (m64)", 0xDB00: "fild (m32)", 0xDF05: "fild (m64)", 0xDB03: "fistp (m32)",
            0xDF07: "fistp (m64)", 0xD905: "fldcw", 0xD907: "fnstcw", 0xDD07: "fnstsw", 0xD906: "fnstenv",
            0xD904: "fldenv", 0xDD06: "fnsave", 0xDD04: "frstor", 0xD800: "fadd (m32)", 0xDC00: "fadd (m64)",
            0xD801: "fmul (m32)", 0xDC01: "fmul (m64)",
        ]
        if m.mod != 3, let name = memoryForms[UInt16(op) << 8 | UInt16(m.reg)] { return done("\(name) (x87)") }
        return done("x87 instruction (escape 0x\(hexByte(op)) /\(m.reg))")
    }

    mutating func twoByte() -> FailingInstruction {
        guard let op = at(i) else { return done("two-byte opcode 0f", known: false) }
        i += 1
        switch op {
        case 0x01:
            guard let m = modrm() else { return done("0f 01", known: false) }
            let group7: [UInt8: String] = [
                0xC1: "vmcall", 0xC2: "vmlaunch", 0xC3: "vmresume", 0xC4: "vmxoff", 0xC8: "monitor", 0xC9: "mwait",
                0xCA: "clac", 0xCB: "stac", 0xD0: "xgetbv", 0xD1: "xsetbv", 0xD4: "vmfunc", 0xD8: "vmrun",
                0xD9: "vmmcall", 0xDA: "vmload", 0xDB: "vmsave", 0xDC: "stgi", 0xDD: "clgi", 0xDF: "invlpga",
                0xE8: "serialize", 0xEE: "rdpkru", 0xEF: "wrpkru", 0xF8: "swapgs", 0xF9: "rdtscp",
                0xFA: "monitorx", 0xFB: "mwaitx",
            ]
            if m.mod == 3, let name = group7[m.raw] { i += 1; return done(name) }
            _ = skipModRM()
            return done(["sgdt", "sidt", "lgdt", "lidt", "smsw", "(0f 01 /5)", "lmsw", "invlpg"][Int(m.reg)])
        case 0x05: return done("syscall")
        case 0x07: return done("sysret")
        case 0x0B: return done("ud2")
        case 0x34: return done("sysenter")
        case 0x35: return done("sysexit")
        case 0x38: return threeByte38()
        case 0x3A:
            guard let op3 = at(i) else { return done("SSE4 instruction 0f 3a", known: false) }
            i += 1
            _ = skipModRM(); i += 1   // imm8
            return done("SSE4/SSSE3 instruction 0f 3a \(hexByte(op3))")
        case 0xAE:
            guard let m = skipModRM() else { return done("0f ae", known: false) }
            if m.mod == 3 {
                if repz && m.reg <= 3 { return done(["rdfsbase", "rdgsbase", "wrfsbase", "wrgsbase"][Int(m.reg)]) }
                return done(["(0f ae /0)", "(0f ae /1)", "(0f ae /2)", "(0f ae /3)", "(0f ae /4)", "lfence", "mfence", "sfence"][Int(m.reg)])
            }
            let names = ["fxsave", "fxrstor", "ldmxcsr", "stmxcsr", "xsave", "xrstor", "xsaveopt", "clflush"]
            let has64 = rexW && [0, 1, 4, 5, 6].contains(m.reg)
            return done(names[Int(m.reg)] + (has64 ? "64" : ""))
        case 0xC7:
            guard let m = skipModRM() else { return done("0f c7", known: false) }
            switch (m.reg, m.mod == 3) {
            case (1, false): return done(rexW ? "cmpxchg16b" : "cmpxchg8b")
            case (3, false): return done("xrstors")
            case (4, false): return done("xsavec")
            case (5, false): return done("xsaves")
            case (6, true): return done("rdrand")
            case (7, true): return done(repz ? "rdpid" : "rdseed")
            default: return done("(0f c7 /\(m.reg))")
            }
        case 0xB8 where repz: _ = skipModRM(); return done("popcnt")
        case 0xBC where repz: _ = skipModRM(); return done("tzcnt")
        case 0xBD where repz: _ = skipModRM(); return done("lzcnt")
        default:
            if let name = sse(op) { return name }
            return done("two-byte opcode 0f \(hexByte(op)) (not one of the instructions this host is known not to emulate)", known: false)
        }
    }

    mutating func threeByte38() -> FailingInstruction {
        guard let op3 = at(i) else { return done("0f 38", known: false) }
        i += 1
        _ = skipModRM()
        switch op3 {
        case 0xF0, 0xF1: return done(repnz ? "crc32" : "movbe")
        case 0xF6 where operandSize: return done("adcx")
        case 0xF6 where repz: return done("adox")
        default: return done("SSSE3/SSE4 instruction 0f 38 \(hexByte(op3))")
        }
    }

    /// SSE and MMX opcodes in the 0F map; nil for other opcodes.
    mutating func sse(_ op: UInt8) -> FailingInstruction? {
        let isSSE = (0x10...0x17).contains(op) || (0x28...0x2F).contains(op) || (0x50...0x7F).contains(op)
            || op == 0xC2 || (0xC4...0xC6).contains(op) || (0xD0...0xFF).contains(op)
        guard isSSE else { return nil }
        // Packed/scalar suffix by prefix: none ps, 66 pd, F3 ss, F2 sd.
        let suffix = repz ? "ss" : repnz ? "sd" : operandSize ? "pd" : "ps"
        let arithmetic: [UInt8: String] = [
            0x51: "sqrt", 0x52: "rsqrt", 0x53: "rcp", 0x54: "and", 0x55: "andn", 0x56: "or", 0x57: "xor",
            0x58: "add", 0x59: "mul", 0x5C: "sub", 0x5D: "min", 0x5E: "div", 0x5F: "max", 0xC2: "cmp",
        ]
        let named: [UInt8: String] = [
            0x10: repz ? "movss" : repnz ? "movsd" : operandSize ? "movupd" : "movups",
            0x11: repz ? "movss" : repnz ? "movsd" : operandSize ? "movupd" : "movups",
            0x28: operandSize ? "movapd" : "movaps", 0x29: operandSize ? "movapd" : "movaps",
            0x2E: operandSize ? "ucomisd" : "ucomiss", 0x2F: operandSize ? "comisd" : "comiss",
            0x2A: "cvt (int to float)", 0x2C: "cvtt (float to int)", 0x2D: "cvt (float to int)", 0x5A: "cvt (float to float)",
            0x5B: "cvt (int/float)", 0x6E: "movd", 0x7E: "movd/movq",
            0x6F: repz ? "movdqu" : operandSize ? "movdqa" : "movq (mmx)", 0x7F: repz ? "movdqu" : operandSize ? "movdqa" : "movq (mmx)",
            0xEF: "pxor", 0xD4: "paddq", 0xFE: "paddd", 0xFA: "psubd", 0xD6: "movq", 0x77: "emms",
        ]
        let isImm = op == 0xC2 || (0xC4...0xC6).contains(op) || (0x70...0x73).contains(op)
        if op != 0x77 { _ = skipModRM() }
        if isImm { i += 1 }
        if let a = arithmetic[op] { return done("\(a)\(op == 0x54 || op == 0x55 || op == 0x56 || op == 0x57 ? (operandSize ? "pd" : "ps") : suffix) (SSE)") }
        if let n = named[op] { return done("\(n) (\(operandSize || repz || repnz ? "SSE" : op >= 0x60 ? "MMX" : "SSE"))") }
        return done("SSE/MMX instruction 0f \(hexByte(op))")
    }

    mutating func vex(_ op: UInt8) -> FailingInstruction {
        var map: UInt8 = 1, pp: UInt8 = 0, w = false, vvvv: UInt8 = 0
        if op == 0xC5 {
            guard let b1 = at(i) else { return done("AVX instruction (VEX)", known: false) }
            pp = b1 & 3; vvvv = (~b1 >> 3) & 0xF; i += 1
        } else {
            guard let b1 = at(i), let b2 = at(i + 1) else { return done("AVX instruction (VEX)", known: false) }
            map = b1 & 0x1F; w = b2 & 0x80 != 0; pp = b2 & 3; vvvv = (~b2 >> 3) & 0xF; i += 2
        }
        _ = vvvv
        guard let opcode = at(i) else { return done("AVX instruction (VEX)", known: false) }
        i += 1
        let m = modrm()
        _ = skipModRM()
        let bmi: String?
        switch (map, opcode, pp) {
        case (2, 0xF2, 0): bmi = "andn"
        case (2, 0xF3, 0): bmi = m.map { [1: "blsr", 2: "blsmsk", 3: "blsi"][$0.reg] } ?? nil
        case (2, 0xF5, 0): bmi = "bzhi"
        case (2, 0xF5, 2): bmi = "pext"
        case (2, 0xF5, 3): bmi = "pdep"
        case (2, 0xF6, 3): bmi = "mulx"
        case (2, 0xF7, 0): bmi = "bextr"
        case (2, 0xF7, 1): bmi = "shlx"
        case (2, 0xF7, 2): bmi = "sarx"
        case (2, 0xF7, 3): bmi = "shrx"
        case (3, 0xF0, 3): i += 1; bmi = "rorx"
        default: bmi = nil
        }
        if let bmi { return done("\(bmi)\(w ? " (64-bit)" : "") (BMI, VEX-encoded)") }
        let mapName = [1: "0f", 2: "0f 38", 3: "0f 3a"][Int(map)] ?? "map \(map)"
        return done("AVX instruction (VEX \(mapName) \(hexByte(opcode)))", known: map != 3 ? true : false)
    }
}


/// The report of a KVM emulation failure: one line for the run's end
/// message, and the guest's registers for the record report.
public enum EmulationFailureReport {
    /// "int3 at rip 0x100010 (crash_here+0x2) in 32-bit protected mode (bytes: cc)".
    public static func summary(bytes: [UInt8], regs: GPRegisters, sregs: SpecialRegisters,
                               symbol: String?) -> String {
        let mode = executionMode(sregs)
        let decoded = FailingInstruction.decode(bytes, longMode: sregs.cs.l)
        let shown = decoded.length.map { Array(bytes.prefix($0)) } ?? bytes
        let where_ = "rip \(hex(regs.rip))\(symbol.map { " (\($0))" } ?? "")"
        let b = shown.isEmpty ? "no instruction bytes from KVM" : "bytes: " + shown.map { hexByte($0) }.joined(separator: " ")
        return "KVM could not emulate \(decoded.mnemonic) at \(where_) in \(mode) (\(b))"
    }

    /// "64-bit long mode, CPL 0" and the like.
    public static func executionMode(_ s: SpecialRegisters) -> String {
        let cpl = s.cs.dpl
        let mode: String
        if s.cr0 & 1 == 0 { mode = "real mode" }
        else if s.efer & (1 << 10) != 0 { mode = s.cs.l ? "64-bit long mode" : "compatibility mode" }
        else { mode = s.cs.db ? "32-bit protected mode" : "16-bit protected mode" }
        return "\(mode), CPL \(cpl)\(s.cr0 & (1 << 31) != 0 ? "" : ", paging off")"
    }

    /// The guest registers, four to a line, then the control registers.
    public static func registerLines(regs: GPRegisters, sregs: SpecialRegisters) -> [String] {
        func h(_ v: UInt64) -> String { let s = String(v, radix: 16); return String(repeating: "0", count: max(0, 16 - s.count)) + s }
        var lines: [String] = []
        let names = GPRegisters.names
        var line = ""
        for k in 0..<names.count {
            let n = names[k].padded(6)
            line += "\(n) \(h(regs[k]))  "
            if k % 4 == 3 || k == names.count - 1 { lines.append(String(line.dropLast(2))); line = "" }
        }
        lines.append("cr0    \(h(sregs.cr0))  cr2    \(h(sregs.cr2))  cr3    \(h(sregs.cr3))  cr4    \(h(sregs.cr4))")
        lines.append("efer   \(h(sregs.efer))  cs     \(String(sregs.cs.selector, radix: 16)) (base \(hex(sregs.cs.base)), \(sregs.cs.l ? "L" : sregs.cs.db ? "D" : "16-bit"), dpl \(sregs.cs.dpl))  gdt \(hex(sregs.gdt.base))/\(hex(sregs.gdt.limit))  idt \(hex(sregs.idt.base))/\(hex(sregs.idt.limit))")
        return lines
    }
}

extension String {
    func padded(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
