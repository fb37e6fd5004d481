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
    }
}
