import VMRRJournal

/// x86-64's partial registers as gdb names them in expressions: the low 32,
/// 16 and 8 bits of each general register (`$eax`, `$ax`, `$al`, `$r8d`,
/// `$r8w`, `$r8l`, `$sil`), bits 15:8 of the first four (`$ah`), and `$eip`.
/// gdb has no `$sp` word register: `$sp` is the stack pointer.
struct SubRegister: Equatable {
    /// The full register, as `GPRegisters.index(named:)` knows it.
    var full: String
    var shift: UInt64
    var bits: Int

    func value(of v: UInt64) -> UInt64 {
        let mask: UInt64 = bits == 64 ? ~0 : (1 << UInt64(bits)) - 1
        return (v >> shift) & mask
    }

    /// The value as a signed number of this width (info registers' natural column).
    func signed(_ v: UInt64) -> Int64 {
        let s = UInt64(64 - bits)
        return Int64(bitPattern: v << s) >> Int64(s)
    }

    static let legacy = ["a", "b", "c", "d"]
    static let indexNames = [("si", "rsi"), ("di", "rdi"), ("bp", "rbp"), ("sp", "rsp")]

    /// Every partial register by name.
    static let table: [String: SubRegister] = {
        var t: [String: SubRegister] = [:]
        for l in legacy {
            let full = "r\(l)x"
            t["e\(l)x"] = SubRegister(full: full, shift: 0, bits: 32)
            t["\(l)x"] = SubRegister(full: full, shift: 0, bits: 16)
            t["\(l)l"] = SubRegister(full: full, shift: 0, bits: 8)
            t["\(l)h"] = SubRegister(full: full, shift: 8, bits: 8)
        }
        for (short, full) in indexNames {
            t["e\(short)"] = SubRegister(full: full, shift: 0, bits: 32)
            if short != "sp" { t[short] = SubRegister(full: full, shift: 0, bits: 16) }
            t["\(short)l"] = SubRegister(full: full, shift: 0, bits: 8)
        }
        for n in 8...15 {
            t["r\(n)d"] = SubRegister(full: "r\(n)", shift: 0, bits: 32)
            t["r\(n)w"] = SubRegister(full: "r\(n)", shift: 0, bits: 16)
            t["r\(n)l"] = SubRegister(full: "r\(n)", shift: 0, bits: 8)
        }
        t["eip"] = SubRegister(full: "rip", shift: 0, bits: 32)
        return t
    }()

    /// The names in gdb's order (al..r15l, ax..r15w, eax..r15d, eip), for completion.
    static let names: [String] = {
        let order = ["a", "b", "c", "d", "si", "di", "bp", "sp"] + (8...15).map { "r\($0)" }
        func name(_ base: String, _ bits: Int) -> String? {
            let candidates: [String]
            if legacy.contains(base) {
                candidates = bits == 32 ? ["e\(base)x"] : bits == 16 ? ["\(base)x"] : ["\(base)l", "\(base)h"]
                return candidates.joined(separator: " ")
            }
            if base.hasPrefix("r") { return base + (bits == 32 ? "d" : bits == 16 ? "w" : "l") }
            return bits == 32 ? "e" + base : bits == 16 ? (base == "sp" ? nil : base) : base + "l"
        }
        var all: [String] = []
        for bits in [8, 16, 32] {
            for b in order { if let n = name(b, bits) { all += n.split(separator: " ").map(String.init) } }
        }
        return all + ["eip"]
    }()
}
