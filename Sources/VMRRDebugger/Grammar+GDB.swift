import VMRRJournal
import VMRRReplay

// The grammar of the gdb commands a gdb user reaches for: finish, the frame
// commands, tbreak, display, clear and info all-registers. Their help sits
// here beside their argument forms; `Grammar.commands` lists them with the rest.

extension Grammar {
    static let gdbCommands: [CommandHelp] = [
        CommandHelp(name: "finish", aliases: ["fin"], synopsis: "finish",
                    summary: "Run until the selected frame's function returns, and show the value returned.",
                    details: "Stops where the caller continues after the call (the return address of the frame "
                        + "above, found by the frame-pointer walk backtrace does), with the stack pointer back "
                        + "above the frame, so a recursive call's return does not stop it; prints rax as the "
                        + "value returned. Another breakpoint or the end of the recording stops it first. Uses "
                        + "one execution breakpoint while it runs; needs execution on KVM.", section: .motion),
        CommandHelp(name: "up", synopsis: "up [N]",
                    summary: "Select the frame N levels up the stack, towards the callers (default 1).",
                    details: "info registers, print $pc/$sp/$fp, x and finish then use the selected frame's pc, "
                        + "stack pointer (the frame's canonical frame address) and frame pointer, as gdb does for "
                        + "caller frames; the other registers keep their current values. Any motion selects "
                        + "frame 0 again.", section: .state),
        CommandHelp(name: "down", synopsis: "down [N]",
                    summary: "Select the frame N levels down the stack, towards frame 0 (default 1).",
                    section: .state),
        CommandHelp(name: "frame", aliases: ["f"], synopsis: "frame [N]",
                    summary: "Select frame N (as backtrace numbers them), or show the selected frame.",
                    section: .state),
        CommandHelp(name: "info all-registers", synopsis: "info all-registers",
                    summary: "Show every register: segment bases, control registers, x87 and SSE too.",
                    details: "The x87 and SSE registers, and the kernel GS base, are shown where the target has "
                        + "the vCPU's full state (on KVM, and at checkpoints without it).", section: .state),
        CommandHelp(name: "display", synopsis: "display[/FMT] [EXPR]",
                    summary: "Show an expression after every stop, or every display now.",
                    details: "FMT as print takes it (x d u o t a c) shows the value; a format with a count, a "
                        + "size, i or s examines memory as x does: display/i $pc, display/4xg $rsp.",
                    section: .state),
        CommandHelp(name: "undisplay", synopsis: "undisplay [N...]",
                    summary: "Delete displays by number, or all of them.", section: .state),
        CommandHelp(name: "info display", synopsis: "info display",
                    summary: "List the expressions shown after every stop.", section: .state),
        CommandHelp(name: "tbreak", synopsis: "tbreak ADDR|SYMBOL[+OFF]",
                    summary: "Set a breakpoint that is deleted when it is first hit.",
                    details: "ADDR as break takes it. Needs execution on KVM.", section: .breakpoints),
        CommandHelp(name: "clear", synopsis: "clear [ADDR|SYMBOL[+OFF]]",
                    summary: "Delete the breakpoints at an address (default: the selected frame's pc).",
                    section: .breakpoints),
        CommandHelp(name: "info threads", synopsis: "info threads",
                    summary: "List the vCPUs as threads (thread N is vCPU N-1), each at its rip.",
                    details: "* marks the selected thread, whose registers, memory and MMU views (its own CR3) "
                        + "the other commands show; (running) marks the vCPU the recording runs at this position.",
                    section: .state),
        CommandHelp(name: "thread", synopsis: "thread [N]",
                    summary: "Select thread N (vCPU N-1), or show the selected thread.",
                    details: "Breakpoints and watchpoints stop on any vCPU. After a motion the selected thread "
                        + "is the vCPU that runs where it stopped, as in gdb.", section: .state),
    ]

    /// Numbers and ranges (`2`, `3-5`), as delete and undisplay take them.
    static func numbers(_ args: [String], what: String, fail: (String) -> DebugError) throws -> [Int] {
        var ids: [Int] = []
        for a in args {
            let pieces = a.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(pieces.count), let lo = Int(pieces[0]), lo > 0,
                  let hi = pieces.count == 2 ? Int(pieces[1]) : lo, hi >= lo, hi - lo < 100_000 else {
                throw fail("bad \(what) '\(a)'")
            }
            ids += Array(lo...hi)
        }
        return ids
    }

    static func parseGDB(name: String, _ args: [String]) throws -> Command {
        func fail(_ why: String) -> DebugError { DebugError("\(name): \(why): usage: \(usage(name))") }
        func level() throws -> Int? {
            guard args.count <= 1 else { throw fail("unexpected '\(args[1])'") }
            guard let word = args.first else { return nil }
            guard let n = parseNumber(word), n <= 100_000 else { throw fail("bad frame number '\(word)'") }
            return Int(n)
        }
        func expression(_ words: ArraySlice<String>) throws -> AddressExpression {
            do { return try AddressExpression.parse(words.joined(separator: " ")) } catch let e as DebugError {
                throw DebugError("\(name): \(e.description)")
            }
        }
        switch name {
        case "finish":
            if let extra = args.first { throw fail("unexpected '\(extra)'") }
            return .finish
        case "up", "down":
            let n = try level() ?? 1
            guard n > 0 else { throw fail("bad count '0': expected a number above 0") }
            return name == "up" ? .up(n) : .down(n)
        case "frame": return .frame(try level())
        case "info all-registers":
            if let extra = args.first { throw fail("unexpected '\(extra)'") }
            return .infoAllRegisters
        case "info display":
            if let extra = args.first { throw fail("unexpected '\(extra)'") }
            return .infoDisplay
        case "display":
            var rest = args[...]
            var format: ExamineFormat?
            if let f = rest.first, f.hasPrefix("/") {
                format = try ExamineFormat.parse(String(f.dropFirst()), command: name)
                rest = rest.dropFirst()
            }
            guard !rest.isEmpty else {
                if format != nil { throw fail("missing the expression after the format") }
                return .display(nil, nil)
            }
            return .display(format, try expression(rest))
        case "undisplay": return .undisplay(try numbers(args, what: "display number", fail: fail))
        case "tbreak":
            guard !args.isEmpty else { throw fail("missing address") }
            return .tbreak(try expression(args[...]))
        case "clear": return .clear(args.isEmpty ? nil : try expression(args[...]))
        case "info threads":
            if let extra = args.first { throw fail("unexpected '\(extra)'") }
            return .infoThreads
        case "thread":
            guard args.count <= 1 else { throw fail("unexpected '\(args[1])'") }
            guard let word = args.first else { return .thread(nil) }
            guard let n = parseNumber(word), n >= 1, n <= UInt64(JournalFormat.maxVCPUs) else {
                throw fail("bad thread number '\(word)': threads are numbered from 1")
            }
            return .thread(Int(n))
        default:
            // Reached only if the command table names a command no switch parses.
            throw DebugError("\(name): not implemented")
        }
    }
}
