import Testing
import VMRRDebugger
import VMRRReplay
import VMRRTestSupport

/// Bad input never ends or corrupts a session.
struct RobustnessTests {
    /// Each bad line of the golden case answers with exactly one line, and the position does not move.
    @Test func badInputIsOneLineAndTheSessionGoesOn() throws {
        let bad = try #require(goldenCases.first { $0.name == "badInput" })
        let (session, out) = try Fixtures.session(bad.journal)
        let moving: Set<String> = ["ne", "x/4xg $rsp"]
        for line in bad.lines where !moving.contains(line) {
            _ = out.take()
            #expect(session.execute(line), "\(line) must not end the session")
            let errors = out.errors.count
            let text = out.take()
            #expect(text.split(separator: "\n").count == 1, "\(line) answered:\n\(text)")
            #expect(errors == 1 && session.lastCommandFailed, "\(line) is reported as a failure")
            #expect(session.prompt == "(vmrr 0) ", "\(line) moved the position")
        }
    }

    /// Random lines built from the debugger's own words, numbers and junk: every one answers, none crashes.
    @Test func randomLines() throws {
        let words = ["stepi", "si", "ne", "next-event", "pe", "prev-event", "c", "rc", "goto", "start", "end", "break",
                     "b", "break-event", "io", "page_fault", "clock", "port=0x3f8", "gva=1..0", "dir=up", "watch", "-p",
                     "delete", "info", "i", "r", "registers", "sregs", "events", "exits", "clock", "checkpoints",
                     "symbol", "x/4xg", "x/s", "x/9i", "xp/2xb", "x/q", "disas", "bt", "pt", "ept", "walk2d", "shadow",
                     "dump", "ptdump", "ptdiff", "npt", "help", "print", "set", "disassembly-flavor", "intel", "$rsp",
                     "$rip+8", "main", "main+0x1", "*0x100000", "0x600000", "0", "1", "155", "501", "501+1", "802",
                     "99999", "18446744073709551615", "0xffffffffffffffff", "-1", "--user", "--write", "..", "=", "#",
                     "$", "/", "x/", "\t", "é", "\u{0}"]
        var rng = SystemRandomNumberGenerator()
        let (session, out) = try Fixtures.session("paging")
        for _ in 0..<3000 {
            let n = Int.random(in: 1...4, using: &rng)
            let line = (0..<n).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            guard session.execute(line) else { continue }
            _ = out.take()
            #expect(session.prompt.hasPrefix("(vmrr "), "after \(line)")
        }
    }
}
