import VMRRJournal
import VMRRMMU
import VMRRReplay

// The grammar layer: a line becomes tokens, the tokens become one `Command`
// value, or a one-line error naming what was wrong and the expected form.
// Nothing here touches the target.

/// One parsed command line.
enum Command: Equatable {
    case stepi(UInt64)
    case nextEvent(UInt64)
    case continueForward
    case reverseStepi(UInt64)
    case prevEvent(UInt64)
    case reverseContinue
    case goto(PositionExpression)
    case breakAddress(AddressExpression)
    case breakEvent(EventQuery)
    case watch(AddressExpression, length: UInt64, physical: Bool)
    /// Empty: delete all.
    case delete([Int])
    case infoBreakpoints
    case infoRegisters([String])
    case infoSregs
    case examine(ExamineFormat?, AddressExpression?, physical: Bool)
    case disassemble(AddressExpression?, count: Int?)
    case infoSymbol(AddressExpression)
    case infoEvents(EventQuery?)
    case infoCheckpoints
    case infoExits
    case infoClock
    case backtrace(limit: Int?)
    /// pt, ept, walk2d, shadow, ptdump: the MMU command layer's arguments, addresses still as typed.
    case mmu([String])
    case ptdiff(from: PositionExpression, to: PositionExpression?, view: [String])
    case print(AddressExpression)
    case setDisassemblyFlavor(Disassembler.Syntax)
    case help(String?)
    case quit
    // gdb's frame, display and breakpoint commands (Grammar+GDB.swift).
    case finish
    case up(Int)
    case down(Int)
    /// Nil: show the selected frame.
    case frame(Int?)
    case tbreak(AddressExpression)
    /// Nil expression: show every display now.
    case display(ExamineFormat?, AddressExpression?)
    /// Empty: delete all.
    case undisplay([Int])
    case infoDisplay
    /// Nil: the selected frame's pc.
    case clear(AddressExpression?)
    case infoAllRegisters
    // Threads, one per vCPU (Commands+Threads.swift).
    case infoThreads
    /// Nil: show the selected thread.
    case thread(Int?)

    /// Commands an empty line repeats, as gdb does.
    var repeats: Bool {
        switch self {
        case .stepi, .nextEvent, .continueForward, .reverseStepi, .prevEvent, .reverseContinue, .examine, .up, .down:
            true
        default: false
        }
    }
}

/// Help for one command: the synopsis, a one-line summary and a description.
struct CommandHelp: Sendable {
    enum Section: String, Sendable, CaseIterable {
        case motion = "Moving through the recording (forward and backward)"
        case breakpoints = "Breakpoints and watchpoints"
        case state = "Registers, memory and code"
        case journal = "The journal"
        case mmu = "Address translation (the MMU views)"
        case session = "The session"
    }
    /// The canonical name: "stepi", "info registers".
    var name: String
    /// Other words for it: "si", "i r".
    var aliases: [String] = []
    var synopsis: String
    var summary: String
    var details: String = ""
    /// The details say it all (the MMU layer's own help): `help NAME` leaves the summary out.
    var detailsRepeatSummary = false
    var section: Section
}

enum Grammar {
    static let mmuNames = ["pt", "ept", "walk2d", "shadow", "ptdump"]

    /// Every command, in the order `help` lists them.
    static let commands: [CommandHelp] = baseCommands + gdbCommands

    static let baseCommands: [CommandHelp] = [
        CommandHelp(name: "stepi", aliases: ["si"], synopsis: "stepi [N]",
                    summary: "Step N guest instructions forward (default 1).",
                    details: "Single-steps the vCPU on KVM and stops early at a breakpoint or a watchpoint, or at "
                        + "the end of the recording. Needs execution on KVM.", section: .motion),
        CommandHelp(name: "next-event", aliases: ["ne"], synopsis: "next-event [N]",
                    summary: "Go forward N journal events (default 1).",
                    details: "Moves to the state right after the N-th next event: a VM exit, an injected interrupt, "
                        + "a page fault, a checkpoint. Stops early at an event breakpoint. Works without KVM.",
                    section: .motion),
        CommandHelp(name: "continue", aliases: ["c", "cont"], synopsis: "continue",
                    summary: "Run forward to the next breakpoint or watchpoint, or to the end.",
                    details: "Ctrl-C stops it at a consistent position. Without KVM only event breakpoints "
                        + "(break-event) can stop it.", section: .motion),
        CommandHelp(name: "reverse-stepi", aliases: ["rsi"], synopsis: "reverse-stepi [N]",
                    summary: "Step N guest instructions backward (default 1).",
                    details: "Restores the nearest checkpoint before the target position and executes forward to "
                        + "it, so the result is exact. Needs execution on KVM.", section: .motion),
        CommandHelp(name: "prev-event", aliases: ["pe"], synopsis: "prev-event [N]",
                    summary: "Go back N journal events (default 1).",
                    details: "Stops early at an event breakpoint. Works without KVM.", section: .motion),
        CommandHelp(name: "reverse-continue", aliases: ["rc"], synopsis: "reverse-continue",
                    summary: "Run backward to the most recent breakpoint or watchpoint hit, or to the start.",
                    details: "Ctrl-C stops it at a consistent position. Without KVM only event breakpoints "
                        + "(break-event) can stop it.", section: .motion),
        CommandHelp(name: "goto", synopsis: "goto EVENT[+INSN]|start|end",
                    summary: "Jump to a position in the recording.",
                    details: "EVENT is an event index as info events and vmrr dump show it; +INSN counts guest "
                        + "instructions single-stepped after that event (needs KVM). start is event 0, end the "
                        + "last event. Example: goto 155", section: .motion),

        CommandHelp(name: "break", aliases: ["b", "br"], synopsis: "break ADDR|SYMBOL[+OFF]",
                    summary: "Stop where the guest executes the instruction at an address.",
                    details: "ADDR is an expression: 0x100034, main, main+0x12, *0x100034, $rip+4. Uses one of "
                        + "KVM's four hardware execution breakpoints; needs execution on KVM.",
                    section: .breakpoints),
        CommandHelp(name: "break-event", synopsis: "break-event KIND [FILTER...]",
                    summary: "Stop at journal events of a kind, narrowed by filters.",
                    details: "KIND: " + EventQuery.kinds.joined(separator: ", ") + ". FILTER: "
                        + EventQuery.filterHelp + ". Stops forward (continue, next-event) and backward "
                        + "(reverse-continue, prev-event), without KVM too. Example: break-event io port=0x3f8 dir=out",
                    section: .breakpoints),
        CommandHelp(name: "watch", synopsis: "watch [-p] ADDR [LEN]",
                    summary: "Stop where memory is written, forward or backward.",
                    details: "Watches LEN bytes (default 8, within one page) at a guest-virtual address, translated "
                        + "to guest-physical at the current position; -p takes a guest-physical address. Needs "
                        + "execution on KVM.", section: .breakpoints),
        CommandHelp(name: "info breakpoints", aliases: ["i b"], synopsis: "info breakpoints",
                    summary: "List the breakpoints and watchpoints with their hit counts.", section: .breakpoints),
        CommandHelp(name: "delete", aliases: ["d"], synopsis: "delete [N...]",
                    summary: "Delete breakpoints by number, or all of them.", section: .breakpoints),

        CommandHelp(name: "info registers", aliases: ["regs", "i r"], synopsis: "info registers [NAME...]",
                    summary: "Show the general registers, or the named ones.",
                    details: "NAME: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags (also rflags, pc, sp, fp), "
                        + "and cr0 cr2 cr3 cr4 cr8 efer where the special registers are known. The general "
                        + "registers are known at every event.", section: .state),
        CommandHelp(name: "info sregs", synopsis: "info sregs",
                    summary: "Show CR0, CR2, CR3, CR4, EFER, the segments, GDT and IDT, with decoded flags.",
                    details: "Without KVM they are known at checkpoints only (info checkpoints).", section: .state),
        CommandHelp(name: "x", synopsis: "x/FMT ADDR",
                    summary: "Examine guest-virtual memory, as gdb's x does.",
                    details: "FMT is a count, a format letter (x hex, d signed, u unsigned, o octal, t binary, "
                        + "a address, c char, s string, i instruction) and a size letter (b byte, h 2 bytes, "
                        + "w 4 bytes, g 8 bytes): x/4xg $rsp, x/s 0x1021a0, x/5i $pc. The format and size are "
                        + "remembered; x without an address goes on after the last one shown. Without KVM memory "
                        + "is known at checkpoints only.", section: .state),
        CommandHelp(name: "xp", synopsis: "xp/FMT GPA",
                    summary: "Examine guest-physical memory (the formats of x).", section: .state),
        CommandHelp(name: "disassemble", aliases: ["disas"], synopsis: "disassemble [ADDR [N]]",
                    summary: "Disassemble guest code with symbols; => marks RIP.",
                    details: "Without ADDR: the function around RIP. With ADDR: the function that contains it, "
                        + "or N instructions from ADDR. AT&T syntax (set disassembly-flavor intel switches). "
                        + "Where memory is not known, code is read from the guest image file.", section: .state),
        CommandHelp(name: "info symbol", synopsis: "info symbol ADDR",
                    summary: "Name the symbol an address belongs to.", section: .state),
        CommandHelp(name: "print", aliases: ["p"], synopsis: "print EXPR",
                    summary: "Evaluate an address expression (numbers, symbols, $registers, + and -).",
                    section: .state),
        CommandHelp(name: "backtrace", aliases: ["bt", "where"], synopsis: "backtrace [N]",
                    summary: "Walk the frame-pointer chain from the current position (at most N frames).",
                    details: "Follows RBP: the saved RBP at [rbp], the return address at [rbp+8], each return "
                        + "address symbolized. Needs memory (a checkpoint, without KVM) and a guest built with "
                        + "frame pointers; says where and why the walk stops.", section: .state),

        CommandHelp(name: "info events", synopsis: "info events [KIND [FILTER...]]",
                    summary: "List the journal events around the current position.",
                    details: "With KIND and filters (as break-event takes them): the matching events nearest to "
                        + "the position, and how many match in all. => marks the current event.",
                    section: .journal),
        CommandHelp(name: "info checkpoints", synopsis: "info checkpoints",
                    summary: "List the positions where memory and special registers are known.", section: .journal),
        CommandHelp(name: "info exits", synopsis: "info exits",
                    summary: "Histogram of the VM exits by kind, port and address over the whole journal.",
                    section: .journal),
        CommandHelp(name: "info clock", synopsis: "info clock",
                    summary: "List the paravirtual clock reads with the time between them.", section: .journal),

        CommandHelp(name: "pt", synopsis: MMUCommands.usage["pt"]!, summary: "Walk the guest page tables for an address.",
                    details: mmuDetails("pt"), detailsRepeatSummary: true, section: .mmu),
        CommandHelp(name: "ept", synopsis: MMUCommands.usage["ept"]!,
                    summary: "Walk a guest-physical address through the EPT (or NPT).",
                    details: mmuDetails("ept"), detailsRepeatSummary: true, section: .mmu),
        CommandHelp(name: "walk2d", synopsis: MMUCommands.usage["walk2d"]!,
                    summary: "The two-dimensional walk a TLB miss costs.", details: mmuDetails("walk2d"),
                    detailsRepeatSummary: true,
                    section: .mmu),
        CommandHelp(name: "shadow", synopsis: MMUCommands.usage["shadow"]!,
                    summary: "The shadow page-table entry a shadow-paging host would install.",
                    details: mmuDetails("shadow"), detailsRepeatSummary: true, section: .mmu),
        CommandHelp(name: "ptdump", synopsis: MMUCommands.usage["ptdump"]!,
                    summary: "The mappings of one view as merged ranges.", details: mmuDetails("ptdump"),
                    detailsRepeatSummary: true,
                    section: .mmu),
        CommandHelp(name: "ptdiff", synopsis: "ptdiff A [B] [guest|ept|npt|shadow]",
                    summary: "Mappings added, removed or changed between positions A and B (default: here).",
                    details: "A and B are positions as goto takes them. Example: ptdiff start end", section: .mmu),

        CommandHelp(name: "set disassembly-flavor", synopsis: "set disassembly-flavor att|intel",
                    summary: "Choose the disassembly syntax (AT&T by default, as gdb).", section: .session),
        CommandHelp(name: "help", aliases: ["h"], synopsis: "help [COMMAND]",
                    summary: "List the commands, or describe one.", section: .session),
        CommandHelp(name: "quit", aliases: ["q", "exit"], synopsis: "quit",
                    summary: "Leave the debugger (Ctrl-D too).", section: .session),
    ]

    /// The MMU layer's own description, without its leading "SYNOPSIS: ".
    static func mmuDetails(_ name: String) -> String {
        let text = MMUCommands.help[name] ?? ""
        guard let colon = text.firstRange(of: ": ") else { return text }
        let rest = text[colon.upperBound...]
        return rest.prefix(1).uppercased() + rest.dropFirst()
    }

    /// gdb commands vmrr does not have, with what to use instead.
    static let hints: [String: String] = {
        let steps = "vmrr steps by instruction and by event, not by source line: use stepi (si) or next-event (ne)"
        let reverseSteps = "vmrr steps by instruction and by event: use reverse-stepi (rsi) or prev-event (pe)"
        let run = "the recording has already run: use goto start, continue or next-event"
        var h: [String: String] = [:]
        for w in ["next", "n", "step", "s", "until", "u", "advance", "nexti", "ni"] { h[w] = steps }
        for w in ["reverse-next", "rn", "reverse-step", "rs", "reverse-nexti", "rni"] { h[w] = reverseSteps }
        for w in ["run", "r", "start", "starti", "kill", "k", "attach"] { h[w] = run }
        h["reverse-finish"] = "'reverse-finish' is not available: set a breakpoint on the call before the return "
            + "address backtrace shows (info symbol, disassemble), then reverse-continue"
        for w in ["list", "l"] { h[w] = "vmrr has no source view: use disassemble" }
        return h
    }()

    static var topLevelNames: [String] {
        var names: [String] = []
        for c in commands {
            let first = String(c.name.split(separator: " ")[0])
            if !names.contains(first) { names.append(first) }
        }
        return names
    }

    static var topLevelAliases: [String: String] {
        var a: [String: String] = ["i": "info", "inf": "info", "f": "frame"]
        for c in commands {
            for alias in c.aliases where !alias.contains(" ") { a[alias] = c.name }
        }
        return a
    }

    static var infoNames: [String] {
        commands.filter { $0.name.hasPrefix("info ") }.map { String($0.name.dropFirst(5)) }
    }

    static let infoAliases: [String: String] = ["r": "registers", "reg": "registers", "b": "breakpoints",
                                                "break": "breakpoints", "sym": "symbol"]

    /// Resolves a command word: exact names and aliases first, then a unique
    /// prefix (a name that is a prefix of all the others wins, so "br" is
    /// break, not break-event), else an error that suggests the nearest name.
    static func resolve(_ word: String, names: [String], aliases: [String: String], what: String) throws -> String {
        if names.contains(word) { return word }
        if let a = aliases[word] { return a }
        let matches = names.filter { $0.hasPrefix(word) }
        if matches.count == 1 { return matches[0] }
        if let shortest = matches.min(by: { $0.count < $1.count }), matches.allSatisfy({ $0.hasPrefix(shortest) }) {
            return shortest
        }
        if !matches.isEmpty {
            throw DebugError("ambiguous \(what) '\(word)': \(matches.sorted().joined(separator: ", "))")
        }
        var message = "unknown \(what) '\(word)'"
        if let near = nearest(word, in: names + aliases.keys.sorted()) {
            message += ": did you mean '\(near)'?"
        } else if what == "command" {
            message += ": help lists the commands"
        } else {
            message += ": expected one of \(names.joined(separator: ", "))"
        }
        throw DebugError(message)
    }

    /// Splits a line into words; `x/4xg` becomes `x`, `/4xg`.
    static func tokenize(_ line: String) -> [String] {
        var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if let first = words.first, let slash = first.firstIndex(of: "/"), slash != first.startIndex {
            words[0] = String(first[..<slash])
            words.insert(String(first[slash...]), at: 1)
        }
        return words
    }

    /// Parses one non-empty line.
    static func parse(_ line: String) throws -> Command {
        var words = tokenize(line)
        guard let first = words.first else { throw DebugError("empty command") }
        if let hint = hints[first] { throw DebugError("'\(first)': \(hint)") }
        var name = try resolve(first, names: topLevelNames, aliases: topLevelAliases, what: "command")
        words.removeFirst()
        if name == "info" {
            guard let sub = words.first else {
                throw DebugError("info: missing what to show: expected one of \(infoNames.joined(separator: ", "))")
            }
            name = "info " + (try resolve(sub, names: infoNames, aliases: infoAliases, what: "info command"))
            words.removeFirst()
        } else if name.hasPrefix("info ") {
            // An alias such as regs.
        }
        return try parse(name: name, words)
    }

    static func usage(_ name: String) -> String {
        commands.first { $0.name == name }?.synopsis ?? name
    }

// One piece: the grammar of every command, one case each, so that the argument forms read as
// one table beside `commands` (the synopses) above.
    static func parse(name: String, _ args: [String]) throws -> Command {
        func fail(_ why: String) -> DebugError { DebugError("\(name): \(why): usage: \(usage(name))") }
        func noArguments() throws {
            if let extra = args.first { throw fail("unexpected '\(extra)'") }
        }
        func count() throws -> UInt64 {
            guard args.count <= 1 else { throw fail("unexpected '\(args[1])'") }
            guard let word = args.first else { return 1 }
            guard let n = parseNumber(word), n > 0 else { throw fail("bad count '\(word)': expected a number above 0") }
            return n
        }
        func expression(_ words: ArraySlice<String>) throws -> AddressExpression {
            guard !words.isEmpty else { throw fail("missing address") }
            do { return try AddressExpression.parse(words.joined(separator: " ")) } catch let e as DebugError {
                throw DebugError("\(name): \(e.description)")
            }
        }
        func position(_ word: String) throws -> PositionExpression {
            guard let p = PositionExpression.parse(word) else {
                throw DebugError("\(name): bad position '\(word)': \(PositionExpression.expected)")
            }
            return p
        }

        switch name {
        case "stepi": return .stepi(try count())
        case "next-event": return .nextEvent(try count())
        case "reverse-stepi": return .reverseStepi(try count())
        case "prev-event": return .prevEvent(try count())
        case "continue":
            // gdb's "continue N" ignores the breakpoint N-1 times; vmrr has no ignore counts.
            try noArguments(); return .continueForward
        case "reverse-continue": try noArguments(); return .reverseContinue
        case "goto":
            guard let word = args.first else { throw fail("missing position") }
            guard args.count == 1 else { throw fail("unexpected '\(args[1])'") }
            return .goto(try position(word))
        case "break": return .breakAddress(try expression(args[...]))
        case "break-event": return .breakEvent(try EventQuery.parse(args, command: name))
        case "watch":
            var rest = args[...]
            let physical = rest.first == "-p"
            if physical { rest = rest.dropFirst() }
            guard let addr = rest.first else { throw fail("missing address") }
            var length: UInt64 = 8
            if rest.count >= 2 {
                guard let n = parseNumber(rest[rest.startIndex + 1]), (1...4096).contains(n) else {
                    throw fail("bad length '\(rest[rest.startIndex + 1])': expected 1 to 4096 bytes")
                }
                length = n
            }
            if rest.count > 2 { throw fail("unexpected '\(rest[rest.startIndex + 2])'") }
            return .watch(try expression([addr]), length: length, physical: physical)
        case "delete":
            return .delete(try numbers(args, what: "breakpoint number", fail: fail))
        case "info breakpoints": try noArguments(); return .infoBreakpoints
        case "info registers": return .infoRegisters(args.map { $0.hasPrefix("$") ? String($0.dropFirst()) : $0 })
        case "info sregs": try noArguments(); return .infoSregs
        case "x", "xp":
            var rest = args[...]
            var format: ExamineFormat?
            if let f = rest.first, f.hasPrefix("/") {
                format = try ExamineFormat.parse(String(f.dropFirst()), command: name)
                rest = rest.dropFirst()
            }
            let address = rest.isEmpty ? nil : try expression(rest)
            return .examine(format, address, physical: name == "xp")
        case "disassemble":
            guard let first = args.first else { return .disassemble(nil, count: nil) }
            var n: Int?
            if args.count >= 2 {
                guard let c = parseNumber(args[1]), (1...10_000).contains(c) else {
                    throw fail("bad instruction count '\(args[1])': expected 1 to 10000")
                }
                n = Int(c)
            }
            if args.count > 2 { throw fail("unexpected '\(args[2])'") }
            return .disassemble(try expression([first]), count: n)
        case "info symbol": return .infoSymbol(try expression(args[...]))
        case "print":
            var rest = args[...]
            if rest.first?.hasPrefix("/") == true { rest = rest.dropFirst() }
            return .print(try expression(rest))
        case "backtrace":
            guard args.count <= 1 else { throw fail("unexpected '\(args[1])'") }
            guard let word = args.first else { return .backtrace(limit: nil) }
            guard let n = parseNumber(word), n > 0, n <= 100_000 else { throw fail("bad frame count '\(word)'") }
            return .backtrace(limit: Int(n))
        case "info events": return .infoEvents(args.isEmpty ? nil : try EventQuery.parse(args, command: name))
        case "info checkpoints": try noArguments(); return .infoCheckpoints
        case "info exits": try noArguments(); return .infoExits
        case "info clock": try noArguments(); return .infoClock
        case "pt", "ept", "walk2d", "shadow", "ptdump": return .mmu([name] + args)
        case "ptdiff":
            guard let a = args.first else { throw fail("missing the earlier position") }
            let from = try position(a)
            var rest = args.dropFirst()
            var to: PositionExpression?
            if let b = rest.first, let p = PositionExpression.parse(b) { to = p; rest = rest.dropFirst() }
            if rest.count > 1 { throw fail("unexpected '\(rest[rest.startIndex + 1])'") }
            if let v = rest.first, MMUView(rawValue: v) == nil {
                throw fail("bad position or view '\(v)': expected a position, or guest, ept, npt or shadow")
            }
            return .ptdiff(from: from, to: to, view: Array(rest))
        case "set":
            guard args.first.map({ "disassembly-flavor".hasPrefix($0) && $0.count >= 3 }) == true else {
                throw DebugError("set: unknown setting '\(args.first ?? "")': usage: set disassembly-flavor att|intel")
            }
            guard args.count == 2, let s = Disassembler.Syntax(rawValue: args[1]) else {
                throw DebugError("set disassembly-flavor: expected att or intel")
            }
            return .setDisassemblyFlavor(s)
        case "help": return .help(args.isEmpty ? nil : args.joined(separator: " "))
        case "quit": return .quit
        default: return try parseGDB(name: name, args)
        }
    }

    /// The help entry a `help WORDS` argument names, resolving aliases and prefixes.
    static func helpEntry(_ words: String) throws -> CommandHelp? {
        let parts = tokenize(words)
        guard let first = parts.first else { return nil }
        var name = try resolve(first, names: topLevelNames, aliases: topLevelAliases, what: "command")
        if name == "info" {
            guard parts.count > 1 else { return nil }
            name = "info " + (try resolve(parts[1], names: infoNames, aliases: infoAliases, what: "info command"))
        } else if name == "set" {
            name = "set disassembly-flavor"
        }
        return commands.first { $0.name == name }
    }
}
