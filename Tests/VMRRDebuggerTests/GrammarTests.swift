import Testing
@testable import VMRRDebugger
import VMRRJournal
import VMRRReplay

/// The grammar layer alone: lines to command values, and the errors for bad ones.
struct GrammarTests {
    @Test func aliasesAndUniquePrefixes() throws {
        #expect(try Grammar.parse("si") == .stepi(1))
        #expect(try Grammar.parse("stepi 0x10") == .stepi(16))
        #expect(try Grammar.parse("ne 3") == .nextEvent(3))
        #expect(try Grammar.parse("c") == .continueForward)
        #expect(try Grammar.parse("cont") == .continueForward)
        #expect(try Grammar.parse("rsi 2") == .reverseStepi(2))
        #expect(try Grammar.parse("pe") == .prevEvent(1))
        #expect(try Grammar.parse("rc") == .reverseContinue)
        #expect(try Grammar.parse("reverse-c") == .reverseContinue)
        #expect(try Grammar.parse("i r") == .infoRegisters([]))
        #expect(try Grammar.parse("regs rip $rsp") == .infoRegisters(["rip", "rsp"]))
        #expect(try Grammar.parse("info reg") == .infoRegisters([]))
        #expect(try Grammar.parse("i b") == .infoBreakpoints)
        #expect(try Grammar.parse("info check") == .infoCheckpoints)
        #expect(try Grammar.parse("bt") == .backtrace(limit: nil))
        #expect(try Grammar.parse("where 3") == .backtrace(limit: 3))
        #expect(try Grammar.parse("q") == .quit)
        #expect(try Grammar.parse("goto end") == .goto(.end))
        #expect(try Grammar.parse("goto 155+3") == .goto(.at(Position(event: 155, instructions: 3))))
        // "br" is a prefix of break and break-event: the shorter one, as gdb.
        #expect(try Grammar.parse("br main") == .breakAddress(try AddressExpression.parse("main")))
        #expect(throws: DebugError("ambiguous command 'rev': reverse-continue, reverse-stepi")) {
            try Grammar.parse("rev")
        }
        #expect(throws: DebugError("unknown command 'contineu': did you mean 'continue'?")) {
            try Grammar.parse("contineu")
        }
    }

    @Test func gdbFrameDisplayAndBreakpointCommands() throws {
        #expect(try Grammar.parse("finish") == .finish)
        #expect(try Grammar.parse("fin") == .finish)
        #expect(try Grammar.parse("up") == .up(1))
        #expect(try Grammar.parse("up 3") == .up(3))
        #expect(try Grammar.parse("down 2") == .down(2))
        #expect(try Grammar.parse("f") == .frame(nil))
        #expect(try Grammar.parse("frame 2") == .frame(2))
        #expect(try Grammar.parse("tbreak main+4") == .tbreak(try AddressExpression.parse("main+4")))
        #expect(try Grammar.parse("display/i $pc")
                == .display(ExamineFormat(count: nil, letter: "i", size: nil), try AddressExpression.parse("$pc")))
        #expect(try Grammar.parse("display") == .display(nil, nil))
        #expect(try Grammar.parse("undisplay 1 3-4") == .undisplay([1, 3, 4]))
        #expect(try Grammar.parse("delete 2-4 7") == .delete([2, 3, 4, 7]))
        #expect(try Grammar.parse("i display") == .infoDisplay)
        #expect(try Grammar.parse("info all") == .infoAllRegisters)
        #expect(try Grammar.parse("clear") == .clear(nil))
        #expect(try Grammar.parse("clear *0x100030") == .clear(try AddressExpression.parse("*0x100030")))
        #expect(try Grammar.parse("up").repeats)
        #expect(throws: DebugError("delete: bad breakpoint number '4-2': usage: delete [N...]")) {
            try Grammar.parse("delete 4-2")
        }
        #expect(throws: DebugError("tbreak: missing address: usage: tbreak ADDR|SYMBOL[+OFF]")) {
            try Grammar.parse("tbreak")
        }
        #expect(throws: DebugError("'reverse-finish': 'reverse-finish' is not available: set a breakpoint on the "
                                   + "call before the return address backtrace shows (info symbol, disassemble), "
                                   + "then reverse-continue")) {
            try Grammar.parse("reverse-finish")
        }
    }

    @Test func subRegisters() throws {
        let v: UInt64 = 0x1122_3344_5566_7788
        #expect(SubRegister.table["eax"]?.value(of: v) == 0x5566_7788)
        #expect(SubRegister.table["ax"]?.value(of: v) == 0x7788)
        #expect(SubRegister.table["al"]?.value(of: v) == 0x88)
        #expect(SubRegister.table["ah"]?.value(of: v) == 0x77)
        #expect(SubRegister.table["r8d"]?.full == "r8")
        #expect(SubRegister.table["r15l"]?.value(of: v) == 0x88)
        #expect(SubRegister.table["sil"]?.full == "rsi")
        #expect(SubRegister.table["sp"] == nil, "$sp is the stack pointer, not a word register")
        #expect(SubRegister.table["esp"]?.signed(0xffff_fff0) == -16)
        // 16 registers x (dword, word, low byte) + ah bh ch dh + eip, less the missing sp word.
        #expect(SubRegister.names.count == 16 * 3 + 4 + 1 - 1)
        #expect(Set(SubRegister.names) == Set(SubRegister.table.keys))
    }

    @Test func examineFormats() throws {
        #expect(try Grammar.parse("x/4xg $rsp")
                == .examine(ExamineFormat(count: 4, letter: "x", size: 8), try AddressExpression.parse("$rsp"), physical: false))
        #expect(try Grammar.parse("xp/s 0x1000")
                == .examine(ExamineFormat(count: nil, letter: "s", size: nil), try AddressExpression.parse("0x1000"), physical: true))
        #expect(try Grammar.parse("x") == .examine(nil, nil, physical: false))
        #expect(throws: DebugError("x/4xgb: two size letters: " + ExamineFormat.usage)) { try Grammar.parse("x/4xgb 0") }
        #expect(throws: DebugError("x/xd: two format letters: " + ExamineFormat.usage)) { try Grammar.parse("x/xd 0") }
    }

    @Test func addressExpressions() throws {
        let e = try AddressExpression.parse("*main + 0x12 - $rsp")
        #expect(e.parts == [
            .init(negative: false, term: .symbol("main")),
            .init(negative: false, term: .number(0x12)),
            .init(negative: true, term: .register("rsp")),
        ])
        #expect(try AddressExpression.parse("0xffff_8000_0000_0000").constant == 0xffff_8000_0000_0000)
        #expect(throws: DebugError("bad address '0x': '0x' is not a number: " + AddressExpression.expected)) {
            try AddressExpression.parse("0x")
        }
        #expect(throws: DebugError("bad address 'main+': missing a term after '+': " + AddressExpression.expected)) {
            try AddressExpression.parse("main+")
        }
    }

    @Test func eventQueries() throws {
        let q = try EventQuery.parse(["io", "port=0x3f8..0x3ff", "dir=out"], command: "break-event")
        #expect(q.kind == .io)
        #expect(q.filter.port == 0x3f8...0x3ff)
        #expect(q.filter.direction == .write)
        #expect(Render.query(q.kind, q.filter) == "io port=0x3f8..0x3ff dir=out")
        #expect(try EventQuery.parse(["page-fault"], command: "break-event").kind == .pageFault)
        #expect(throws: DebugError("break-event: bad gva '0x8000..0x4000': expected a number or a range LOW..HIGH, "
                                   + "e.g. gva=0x3f8 or gva=0x4000..0x8000")) {
            try EventQuery.parse(["page_fault", "gva=0x8000..0x4000"], command: "break-event")
        }
        #expect(throws: DebugError("break-event: filter port= given twice")) {
            try EventQuery.parse(["io", "port=1", "port=2"], command: "break-event")
        }
    }

    @Test func everyCommandHasHelpAndParses() throws {
        #expect(Set(helpTopics) == Set(Grammar.commands.map(\.name)), "the help golden covers every command")
        for c in Grammar.commands {
            #expect(c.synopsis.hasPrefix(c.name.split(separator: " ")[0]), "\(c.name): \(c.synopsis)")
            #expect(c.summary.hasSuffix("."), "\(c.name)")
            #expect(try Grammar.helpEntry(c.name)?.name == c.name)
            for a in c.aliases { #expect(try Grammar.helpEntry(a)?.name == c.name, "\(a)") }
        }
    }

    @Test func completionCandidates() {
        let symbols = ["main", "memcpy", "memset", "serial_puts"]
        func complete(_ line: String) -> [String] {
            let start = line.lastIndex(of: " ").map { line.index(after: $0) } ?? line.startIndex
            return Completion.candidates(before: String(line[..<start]), word: String(line[start...]), symbols: symbols)
        }
        #expect(complete("ste") == ["stepi"])
        #expect(complete("reverse-") == ["reverse-continue", "reverse-stepi"])
        #expect(complete("info re") == ["registers"])
        #expect(complete("i r r1") == ["r10", "r11", "r12", "r13", "r14", "r15"])
        #expect(complete("break me") == ["memcpy", "memset"])
        #expect(complete("x/4xg $rs") == ["$rsi", "$rsp"])
        #expect(complete("break-event page") == ["page_fault"])
        #expect(complete("break-event io po") == ["port="])
        #expect(complete("info events int") == ["interrupt"])
        #expect(complete("disas ma") == ["main"])
        #expect(complete("goto e") == ["end"])
        #expect(complete("help info s") == ["sregs", "symbol"])
        #expect(complete("continue x").isEmpty)
        #expect(complete("p $r8") == ["$r8", "$r8d", "$r8l", "$r8w"])
        #expect(complete("p $a") == ["$ah", "$al", "$ax"])
        #expect(complete("info di") == ["display"])
        #expect(complete("tbreak ma") == ["main"])
        #expect(complete("fini") == ["finish"])
        #expect(complete("up x").isEmpty)
    }
}
