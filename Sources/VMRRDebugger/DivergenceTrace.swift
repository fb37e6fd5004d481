import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

/// The words of a divergence traced to the instruction (`Lockstep.Report`,
/// made in VMRRMachine): each side's instruction with its symbol, source
/// line and disassembly in the CPU's mode, the values it wrote differently,
/// a backtrace per side, the console's last lines, and the commands that
/// open the debugger there.
public struct DivergenceTrace {
    /// What the report says about one side.
    public struct SideInfo {
        public var title: String
        /// A short name for tables ("recorded", "new").
        public var short: String
        public var image: GuestImage?
        public var lines: SourceLines?
        /// How to open the debugger on this side (`vmrr debug ...`).
        public var debugCommand: String
        public init(title: String, short: String, image: GuestImage?, debugCommand: String) {
            self.title = title
            self.short = short
            self.image = image
            self.lines = image.map { SourceLines(elf: $0.bytes) }
            self.debugCommand = debugCommand
        }
    }

    public var journalName: String
    public var recorded: SideInfo
    public var replayed: SideInfo
    /// Console lines shown at most.
    public static let consoleLines = 6

    public init(journalName: String, recorded: SideInfo, replayed: SideInfo) {
        self.journalName = journalName
        self.recorded = recorded
        self.replayed = replayed
    }

    /// The report, a line per fact, its first line naming the journal.
    // One piece: the report's sections in the order they print.
    public func render(_ report: InstructionDivergence.Report) -> [String] {
        let after = report.lastMatched.map { "event \($0)" } ?? "the boot"
        let base = report.lastMatched.map { "\($0)" } ?? "0"
        switch report.finding {
        case .unavailable(let why):
            return ["vmrr: \(journalName): note: the divergence was not traced to the instruction: \(why)"]
        case .budgetExhausted(let steps):
            return ["vmrr: \(journalName): note: no instruction's effect differed in \(steps) instructions after \(after) (the trace budget; raise it with --trace-limit)"]
        case let .noDifference(steps, reason):
            return ["vmrr: \(journalName): note: no instruction's effect differed in \(steps) instructions after \(after): \(reason)"]
        case let .instruction(step, a, b, registers, memory, exitNote):
            var out = ["vmrr: \(journalName): traced to the instruction: the \(Self.ordinal(step + 1)) instruction after \(after) (position \(base)+\(step)) has a different effect"]
            for (info, side) in [(recorded, a), (replayed, b)] {
                out.append("  \(info.title):")
                out.append("    \(place(side.rip, info))")
                out.append("      \(Self.disassembly(side.code, at: side.rip, sregs: side.sregs))")
            }
            if let note = exitNote { out.append("  \(note)") }
            if !registers.isEmpty {
                out.append("  registers written differently:")
                for i in registers {
                    let name = GPRegisters.names[i]
                    let padded = name + String(repeating: " ", count: max(0, 6 - name.count))
                    out.append("    \(padded) \(recorded.short) \(hex(a.after[i], digits: 16))  \(replayed.short) \(hex(b.after[i], digits: 16))"
                               + Self.charNote(a.after[i], b.after[i]))
                }
            }
            if !memory.isEmpty {
                out.append("  memory written differently:")
                for m in memory.prefix(8) {
                    let sym = recorded.image?.symbols.label(m.gpa).map { " <\($0)>" } ?? ""
                    out.append("    \(hex(m.gpa))\(sym)  \(recorded.short) \(hexBytes(Array(m.recorded.prefix(16))))  \(replayed.short) \(hexBytes(Array(m.replayed.prefix(16))))")
                }
                if memory.count > 8 { out.append("    ... and \(memory.count - 8) more ranges") }
            }
            for (info, side) in [(recorded, a), (replayed, b)] {
                out.append("  backtrace, \(info.short):")
                out.append("    #0  \(place(side.rip, info))")
                for (n, ret) in side.frames.enumerated() {
                    out.append("    #\(n + 1)  \(place(ret, info))")
                }
            }
            let console = Self.lastLines(report.console, count: Self.consoleLines)
            if !console.isEmpty {
                out.append("  console before the divergence (last \(console.count) lines):")
                out += console.map { "    | \($0)" }
            }
            out.append("  debug it: \(recorded.debugCommand), then: goto \(base)+\(step)")
            out.append("            \(replayed.debugCommand), then: goto \(base)+\(step)")
            return out
        }
    }

    /// "1st", "2nd", "3rd", "11th"...
    static func ordinal(_ n: UInt64) -> String {
        let suffix: String
        switch (n % 10, n % 100) {
        case (1, let t) where t != 11: suffix = "st"
        case (2, let t) where t != 12: suffix = "nd"
        case (3, let t) where t != 13: suffix = "rd"
        default: suffix = "th"
        }
        return "\(n)\(suffix)"
    }

    /// ('P' against 'S') when both values are printable ASCII characters.
    static func charNote(_ a: UInt64, _ b: UInt64) -> String {
        func ch(_ v: UInt64) -> String? { (0x20..<0x7F).contains(v) ? String(UnicodeScalar(UInt8(v))) : nil }
        guard let x = ch(a), let y = ch(b) else { return "" }
        return "  ('\(x)' against '\(y)')"
    }

    /// The last `count` complete or partial lines of console output, printable characters only.
    static func lastLines(_ bytes: [UInt8], count: Int) -> [String] {
        let text = String(decoding: bytes.map { ($0 == 0x0A || (0x20..<0x7F).contains($0)) ? $0 : 0x3F }, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return Array(lines.suffix(count))
    }

    /// Where an instruction is, in words: `0x100234 <puts+0x14> at demo.c:42`.
    func place(_ address: UInt64, _ info: SideInfo) -> String {
        var s = hex(address)
        if let l = info.image?.symbols.label(address) { s += " <\(l)>" }
        if let loc = info.lines?.location(of: address) { s += " at \(loc)" }
        return s
    }

    /// The instruction at a side's RIP, decoded in its CPU mode.
    static func disassembly(_ code: [UInt8], at rip: UInt64, sregs: SpecialRegisters) -> String {
        guard !code.isEmpty, let d = Disassembler() else { return "(code not readable)" }
        let mode = CPUMode(sregs)
        guard let i = d.disassemble(code, at: rip, count: 1, bits: mode.bits).first, i.valid else {
            return "(bad) \(hexBytes(Array(code.prefix(4))))"
        }
        return "\(i.text)   [\(hexBytes(i.bytes))] (\(mode.rawValue))"
    }

}
