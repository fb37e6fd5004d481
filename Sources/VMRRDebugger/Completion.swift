import VMRRJournal

/// What tab completion offers, from the line typed so far. Pure, so it is
/// tested without a terminal; the REPL hands it to libedit.
enum Completion {
    static let registerNames = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
                                "r12", "r13", "r14", "r15", "rip", "eflags", "rflags", "pc", "sp", "fp",
                                "cr0", "cr2", "cr3", "cr4", "cr8", "efer", "cs", "ss", "ds", "es", "fs", "gs",
                                "fs_base", "gs_base"]

    /// Candidates for the word being typed. `before` is the line up to the
    /// start of that word; `word` is what has been typed of it.
    static func candidates(before: String, word: String, symbols: [String]) -> [String] {
        var words = Grammar.tokenize(before)
        guard let first = words.first else {
            let names = Grammar.topLevelNames + Grammar.topLevelAliases.keys.filter { $0.count > 2 }
            return matches(names, word)
        }
        words.removeFirst()
        let command = (try? Grammar.resolve(first, names: Grammar.topLevelNames, aliases: Grammar.topLevelAliases,
                                            what: "command")) ?? first
        if word.hasPrefix("$") {
            return matches(registerNames + SubRegister.names, String(word.dropFirst())).map { "$" + $0 }
        }
        switch command {
        case "info":
            guard let sub = words.first else { return matches(Grammar.infoNames, word) }
            let resolved = (try? Grammar.resolve(sub, names: Grammar.infoNames, aliases: Grammar.infoAliases,
                                                 what: "info command")) ?? sub
            switch resolved {
            case "registers": return matches(registerNames, word)
            case "events": return words.count == 1 ? matches(EventQuery.kinds, word) : matches(filterWords, word)
            case "symbol": return matches(symbols, word)
            default: return []
            }
        case "info registers": return matches(registerNames, word)
        case "break-event": return words.isEmpty ? matches(EventQuery.kinds, word) : matches(filterWords, word)
        case "help":
            return words.isEmpty ? matches(Grammar.topLevelNames, word)
                : words.first == "info" ? matches(Grammar.infoNames, word) : []
        case "goto": return matches(["start", "end"], word)
        case "ptdump", "ptdiff": return matches(["guest", "ept", "npt", "shadow", "start", "end"], word)
        case "set": return words.isEmpty ? matches(["disassembly-flavor"], word) : matches(["att", "intel"], word)
        case "quit", "continue", "reverse-continue", "stepi", "reverse-stepi", "next-event", "prev-event", "delete",
             "finish", "up", "down", "frame", "undisplay":
            return []
        default:
            // Addresses: break, x, disassemble, pt, watch, print, info symbol...
            return matches(symbols, word)
        }
    }

    static let filterWords = EventQuery.filterKeys.map { $0 + "=" }

    static func matches(_ names: [String], _ prefix: String) -> [String] {
        var seen: Set<String> = []
        return names.filter { $0.hasPrefix(prefix) && seen.insert($0).inserted }.sorted()
    }
}
