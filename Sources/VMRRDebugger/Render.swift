import VMRRBase
import VMRRJournal
import VMRRReplay

// The output layer: every piece of text the debugger shows is built here, so
// the wording and the number formats are the same in every command.

enum Render {
    static func padded(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

    static func rightAligned(_ s: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - s.count)) + s
    }

    /// "0x100034 <main+18>", or "0x100034" without a symbol.
    static func address(_ a: UInt64, _ symbol: String?) -> String {
        hex(a) + (symbol.map { " <\($0)>" } ?? "")
    }

    /// Aligned rows: each column padded to its widest cell plus a gap; the last column is not padded.
    static func table(_ rows: [[String]], indent: String = "", gap: Int = 2, rightAligned right: Set<Int> = []) -> [String] {
        var widths: [Int] = []
        for r in rows {
            for (i, c) in r.enumerated() {
                if i >= widths.count { widths.append(0) }
                widths[i] = max(widths[i], c.count)
            }
        }
        return rows.map { r in
            var line = indent
            for (i, c) in r.enumerated() {
                let last = i == r.count - 1
                if right.contains(i) {
                    line += rightAligned(c, widths[i])
                    if !last { line += String(repeating: " ", count: gap) }
                } else {
                    line += last ? c : c + String(repeating: " ", count: widths[i] - c.count + gap)
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }

    // MARK: registers

    /// One `info registers` row as gdb prints it: name in 15 columns, hex in 19, then the natural value.
    static func registerRow(_ name: String, _ value: UInt64, _ natural: String) -> String {
        padded(name, 15) + padded(hex(value), 19) + natural
    }

    /// Names of set bits, e.g. "[ PF ZF IF ]"; `bits` lists (bit, name) in display order.
    static func flags(_ value: UInt64, _ bits: [(Int, String)], extra: [String] = []) -> String {
        let names = bits.filter { value & (1 << UInt64($0.0)) != 0 }.map(\.1) + extra
        return "[ " + names.joined(separator: " ") + (names.isEmpty ? "" : " ") + "]"
    }

    /// RFLAGS bits, low to high as gdb lists them.
    static let rflagsBits: [(Int, String)] = [
        (0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"), (9, "IF"), (10, "DF"), (11, "OF"),
        (14, "NT"), (16, "RF"), (17, "VM"), (18, "AC"), (19, "VIF"), (20, "VIP"), (21, "ID"),
    ]
    static let rflagsIOPLShift: UInt64 = 12

    static func rflags(_ v: UInt64) -> String {
        let iopl = (v >> rflagsIOPLShift) & 3
        return flags(v, rflagsBits, extra: iopl != 0 ? ["IOPL=\(iopl)"] : [])
    }

    /// CR0 bits, high to low as gdb lists them.
    static let cr0Bits: [(Int, String)] = [
        (31, "PG"), (30, "CD"), (29, "NW"), (18, "AM"), (16, "WP"), (5, "NE"), (4, "ET"), (3, "TS"), (2, "EM"),
        (1, "MP"), (0, "PE"),
    ]
    static let cr4Bits: [(Int, String)] = [
        (24, "PKS"), (23, "CET"), (22, "PKE"), (21, "SMAP"), (20, "SMEP"), (18, "OSXSAVE"), (17, "PCIDE"),
        (16, "FSGSBASE"), (14, "SMXE"), (13, "VMXE"), (12, "LA57"), (11, "UMIP"), (10, "OSXMMEXCPT"),
        (9, "OSFXSR"), (8, "PCE"), (7, "PGE"), (6, "MCE"), (5, "PAE"), (4, "PSE"), (3, "DE"), (2, "TSD"),
        (1, "PVI"), (0, "VME"),
    ]
    static let eferBits: [(Int, String)] = [
        (15, "TCE"), (14, "FFXSR"), (13, "LMSLE"), (12, "SVME"), (11, "NXE"), (10, "LMA"), (8, "LME"), (0, "SCE"),
    ]
    static let apicBaseBits: [(Int, String)] = [(11, "EN"), (10, "EXTD"), (8, "BSP")]
    static let cr4PCIDEBit: UInt64 = 1 << 17
    static let cr3PWT: UInt64 = 1 << 3
    static let cr3PCD: UInt64 = 1 << 4
    static let pcidMask: UInt64 = 0xfff
    static let pageFrameMask: UInt64 = 0x000f_ffff_ffff_f000

    static func cr3(_ v: UInt64, cr4: UInt64) -> String {
        var parts = ["PDBR=\(hex(v & pageFrameMask))"]
        if cr4 & cr4PCIDEBit != 0 {
            parts.append("PCID=\(v & pcidMask)")
        } else {
            if v & cr3PWT != 0 { parts.append("PWT") }
            if v & cr3PCD != 0 { parts.append("PCD") }
        }
        return "[ " + parts.joined(separator: " ") + " ]"
    }

    static func apicBase(_ v: UInt64) -> String {
        flags(v, apicBaseBits, extra: ["base=\(hex(v & pageFrameMask))"])
    }

    /// What a segment's type field means.
    static func segmentType(_ s: SegmentRegister) -> String {
        let t = s.type
        if s.s {
            if t & 0x8 != 0 {
                return "code" + (t & 0x4 != 0 ? ", conforming" : "") + (t & 0x2 != 0 ? ", execute/read" : ", execute-only")
                    + (t & 0x1 != 0 ? ", accessed" : "")
            }
            return "data" + (t & 0x4 != 0 ? ", expand-down" : "") + (t & 0x2 != 0 ? ", read/write" : ", read-only")
                + (t & 0x1 != 0 ? ", accessed" : "")
        }
        switch t {
        case 1: return "16-bit TSS (available)"
        case 2: return "LDT"
        case 3: return "16-bit TSS (busy)"
        case 9: return "64-bit TSS (available)"
        case 11: return "64-bit TSS (busy)"
        case 12: return "call gate"
        case 14: return "interrupt gate"
        case 15: return "trap gate"
        default: return "system type \(t)"
        }
    }

    static func segmentAttributes(_ s: SegmentRegister) -> String {
        if s.unusable { return "unusable" }
        var a: [String] = []
        if s.present { a.append("P") }
        if s.s { a.append("S") }
        if s.l { a.append("L") }
        if s.db { a.append("DB") }
        if s.g { a.append("G") }
        if s.avl { a.append("AVL") }
        return a.joined(separator: " ")
    }

    static func specialRegisters(_ s: SpecialRegisters) -> [String] {
        var lines = [
            registerRow("cr0", s.cr0, flags(s.cr0, cr0Bits)),
            registerRow("cr2", s.cr2, hex(s.cr2)),
            registerRow("cr3", s.cr3, cr3(s.cr3, cr4: s.cr4)),
            registerRow("cr4", s.cr4, flags(s.cr4, cr4Bits)),
            registerRow("cr8", s.cr8, String(s.cr8)),
            registerRow("efer", s.efer, flags(s.efer, eferBits)),
            registerRow("apic_base", s.apicBase, apicBase(s.apicBase)),
            registerRow("gdt", s.gdt.base, "limit \(hex(s.gdt.limit))"),
            registerRow("idt", s.idt.base, "limit \(hex(s.idt.limit))"),
            "",
        ]
        var rows = [["seg", "selector", "base", "limit", "type", "dpl", "attributes"]]
        let segments: [(String, SegmentRegister)] = [
            ("cs", s.cs), ("ss", s.ss), ("ds", s.ds), ("es", s.es), ("fs", s.fs), ("gs", s.gs), ("tr", s.tr),
            ("ldt", s.ldt),
        ]
        for (name, seg) in segments {
            rows.append([name, hex(seg.selector), hex(seg.base), hex(seg.limit), hex(seg.type) + " " + segmentType(seg),
                         String(seg.dpl), segmentAttributes(seg)])
        }
        lines += table(rows)
        return lines
    }

    // MARK: events and breakpoints

    static func eventLine(_ r: EventRecord) -> String { EventFormat.text(r) }

    /// "io port=0x3f8 dir=out", as break-event takes it.
    static func query(_ kind: EventKind, _ f: EventFilter) -> String {
        var parts = [kind.name]
        func range(_ key: String, _ r: ClosedRange<UInt64>?) {
            guard let r else { return }
            parts.append("\(key)=" + (r.lowerBound == r.upperBound ? hex(r.lowerBound)
                                      : "\(hex(r.lowerBound))..\(hex(r.upperBound))"))
        }
        range("port", f.port)
        range("gva", f.gva)
        range("gpa", f.gpa)
        range("vector", f.vector)
        range("msr", f.msr)
        range("value", f.value)
        if let d = f.direction {
            let io = kind == .io || kind == .input
            parts.append("dir=" + (d == .read ? (io ? "in" : "read") : (io ? "out" : "write")))
        }
        return parts.joined(separator: " ")
    }

    static func breakpointType(_ k: BreakpointKind) -> String {
        switch k {
        case .address: "breakpoint"
        case .event: "event"
        case .watch: "watchpoint"
        }
    }

    static func bytesValue(_ b: [UInt8]) -> String {
        "0x" + b.reversed().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
