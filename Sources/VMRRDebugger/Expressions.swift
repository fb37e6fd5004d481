import VMRRJournal
import VMRRReplay

// The small languages inside a command line: address expressions, positions,
// event filters and x/FMT formats. Parsing only; evaluation needs the target
// and lives in the session.

/// An address as typed: numbers, symbols and registers joined by + and -,
/// e.g. `0x100034`, `main+0x12`, `$rsp+8`, `*0x100034` (the `*` of gdb's
/// `break *ADDR` is accepted and means nothing more).
struct AddressExpression: Equatable, CustomStringConvertible {
    enum Term: Equatable {
        case number(UInt64)
        case register(String)
        case symbol(String)
    }
    struct Part: Equatable {
        var negative: Bool
        var term: Term
    }
    var parts: [Part]
    /// The text as typed, for messages.
    var description: String

    static let expected = "expected an address such as 0x100034, 4096, main, main+0x12 or $rsp+8"

    static func parse(_ text: String) throws -> AddressExpression {
        let chars = Array(text.filter { $0 != " " })
        var i = 0
        if i < chars.count, chars[i] == "*" { i += 1 }
        var parts: [Part] = []
        func bad(_ why: String) -> DebugError { DebugError("bad address '\(text)': \(why): \(expected)") }
        guard i < chars.count else { throw bad("nothing to evaluate") }
        var negative = false
        if chars[i] == "-" { negative = true; i += 1 } else if chars[i] == "+" { i += 1 }
        while true {
            guard i < chars.count else { throw bad("missing a term after '\(chars[i - 1])'") }
            let start = i
            let c = chars[i]
            let term: Term
            if c == "$" {
                i += 1
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
                let name = String(chars[(start + 1)..<i]).lowercased()
                guard !name.isEmpty else { throw bad("'$' needs a register name") }
                term = .register(name)
            } else if c.isNumber {
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
                let word = String(chars[start..<i])
                guard let v = parseNumber(word) else { throw bad("'\(word)' is not a number") }
                term = .number(v)
            } else if c.isLetter || c == "_" || c == "." {
                while i < chars.count, chars[i].isLetter || chars[i].isNumber || "_.@$".contains(chars[i]) { i += 1 }
                term = .symbol(String(chars[start..<i]))
            } else {
                throw bad("unexpected '\(c)'")
            }
            parts.append(Part(negative: negative, term: term))
            guard i < chars.count else { break }
            switch chars[i] {
            case "+": negative = false
            case "-": negative = true
            default: throw bad("unexpected '\(chars[i])'")
            }
            i += 1
        }
        return AddressExpression(parts: parts, description: text)
    }

    /// A plain number, when the expression is one.
    var constant: UInt64? {
        guard parts.count == 1, !parts[0].negative, case .number(let v) = parts[0].term else { return nil }
        return v
    }
}

/// Parses `0x1f`, `31`, with optional underscores; nil otherwise.
func parseNumber(_ text: String) -> UInt64? {
    let s = text.filter { $0 != "_" }
    if s.hasPrefix("0x") || s.hasPrefix("0X") {
        let digits = s.dropFirst(2)
        return digits.isEmpty ? nil : UInt64(digits, radix: 16)
    }
    return s.isEmpty ? nil : UInt64(s, radix: 10)
}

/// A position as typed: `1234`, `1234+17`, `start`, `end`.
enum PositionExpression: Equatable, CustomStringConvertible {
    case start
    case end
    case at(Position)

    static let expected = "expected EVENT, EVENT+INSTRUCTIONS, start or end, e.g. 155 or 155+3"

    static func parse(_ text: String) -> PositionExpression? {
        switch text {
        case "start", "begin", "beginning": return .start
        case "end": return .end
        default:
            guard let p = Position(parsing: text) else { return nil }
            return .at(p)
        }
    }

    var description: String {
        switch self {
        case .start: "start"
        case .end: "end"
        case .at(let p): p.description
        }
    }
}

/// `KIND [FILTER...]`, as `break-event` and `info events` take it.
struct EventQuery: Equatable {
    var kind: EventKind
    var filter: EventFilter

    /// The kinds a one-vCPU journal has: the debugger refuses journals of more
    /// than one vCPU until it shows threads (docs/SMP.md).
    static let kinds = EventKind.allCases.filter { $0.sinceFormatVersion < JournalFormat.smpVersion }.map(\.name)
    static let filterKeys = ["port", "gva", "gpa", "vector", "msr", "value", "dir"]
    static let filterHelp = "port=0x3f8, gva=0x4000..0x8000, gpa=ADDR[..ADDR], vector=0x20, msr=0x1b, value=N[..M], "
        + "dir=in|out|read|write"

    /// Which filters can match an event kind.
    static func applicable(_ key: String) -> [EventKind] {
        switch key {
        case "port": [.io, .input]
        case "gva": [.pageFault]
        case "gpa": [.mmio, .stage2Fault]
        case "vector": [.interrupt]
        case "msr": [.msr]
        case "value": [.io, .input, .mmio, .stage2Fault, .clock, .timer, .msr]
        default: [.io, .input, .mmio, .stage2Fault, .msr]
        }
    }

    static func parseKind(_ word: String, command: String) throws -> EventKind {
        let name = word.lowercased().replacing("-", with: "_")
        if let k = EventKind(name: name) { return k }
        var message = "\(command): unknown event kind '\(word)'"
        if let near = nearest(word, in: kinds) { message += ": did you mean '\(near)'?" }
        throw DebugError(message + " (kinds: \(kinds.joined(separator: ", ")))")
    }

    static func parse(_ args: [String], command: String) throws -> EventQuery {
        guard let first = args.first else {
            throw DebugError("\(command): missing event kind: usage: \(command) KIND [FILTER...], "
                             + "KIND one of \(kinds.joined(separator: ", "))")
        }
        let kind = try parseKind(first, command: command)
        var filter = EventFilter()
        var seen: Set<String> = []
        for arg in args.dropFirst() {
            let pieces = arg.split(separator: "=", maxSplits: 1).map(String.init)
            guard pieces.count == 2, filterKeys.contains(pieces[0].lowercased()) else {
                throw DebugError("\(command): bad filter '\(arg)': expected KEY=VALUE such as \(filterHelp)")
            }
            let key = pieces[0].lowercased(), value = pieces[1]
            guard seen.insert(key).inserted else { throw DebugError("\(command): filter \(key)= given twice") }
            let fits = applicable(key)
            guard fits.contains(kind) else {
                throw DebugError("\(command): \(key)= does not apply to \(kind.name) events: it filters "
                                 + fits.map(\.name).joined(separator: ", ") + " events")
            }
            if key == "dir" {
                switch value.lowercased() {
                case "in", "read", "r": filter.direction = .read
                case "out", "write", "w": filter.direction = .write
                default: throw DebugError("\(command): bad direction '\(value)': expected in, out, read or write")
                }
                continue
            }
            guard let range = parseRange(value) else {
                throw DebugError("\(command): bad \(key) '\(value)': expected a number or a range LOW..HIGH, "
                                 + "e.g. \(key)=0x3f8 or \(key)=0x4000..0x8000")
            }
            switch key {
            case "port": filter.port = range
            case "gva": filter.gva = range
            case "gpa": filter.gpa = range
            case "vector": filter.vector = range
            case "msr": filter.msr = range
            default: filter.value = range
            }
        }
        return EventQuery(kind: kind, filter: filter)
    }

    /// `N` or `LOW..HIGH` (inclusive).
    static func parseRange(_ text: String) -> ClosedRange<UInt64>? {
        if let r = text.firstRange(of: "..") {
            guard let lo = parseNumber(String(text[..<r.lowerBound])),
                  let hi = parseNumber(String(text[r.upperBound...])), lo <= hi else { return nil }
            return lo...hi
        }
        return parseNumber(text).map { $0...$0 }
    }

    func matches(_ r: EventRecord) -> Bool { r.event.kind == kind && filter.matches(r.event) }
}

/// The `/FMT` of x, xp and print: a count, a format letter, a size letter.
struct ExamineFormat: Equatable {
    var count: Int?
    var letter: Character?
    var size: Int?

    static let letters: [Character] = ["x", "d", "u", "o", "t", "a", "c", "s", "i"]
    static let sizes: [Character: Int] = ["b": 1, "h": 2, "w": 4, "g": 8]
    static let usage = "expected /[COUNT][FORMAT][SIZE] with FORMAT one of x d u o t a c s i and SIZE one of "
        + "b h w g, e.g. x/4xg $rsp"

    /// Parses what follows the `/`.
    static func parse(_ text: String, command: String) throws -> ExamineFormat {
        var f = ExamineFormat()
        var chars = Substring(text)
        let digits = chars.prefix { $0.isNumber }
        if !digits.isEmpty {
            guard let n = Int(digits), n > 0, n <= 100_000 else {
                throw DebugError("\(command)/\(text): bad count '\(digits)': \(usage)")
            }
            f.count = n
            chars = chars.dropFirst(digits.count)
        }
        for c in chars {
            if letters.contains(c) {
                guard f.letter == nil else { throw DebugError("\(command)/\(text): two format letters: \(usage)") }
                f.letter = c
            } else if let s = sizes[c] {
                guard f.size == nil else { throw DebugError("\(command)/\(text): two size letters: \(usage)") }
                f.size = s
            } else {
                throw DebugError("\(command)/\(text): unknown format letter '\(c)': \(usage)")
            }
        }
        return f
    }
}

/// The closest of `candidates` to `word` by edit distance, when close enough to suggest.
func nearest(_ word: String, in candidates: [String]) -> String? {
    let w = Array(word.lowercased())
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(w, Array(c))
        if d <= max(1, min(3, w.count / 2)), best == nil || d < best!.1 { best = (c, d) }
    }
    return best?.0
}

/// Levenshtein distance, with a transposition counted as one edit.
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev2 = [Int](repeating: 0, count: b.count + 1)
    var prev = Array(0...b.count)
    for i in 1...a.count {
        var cur = [Int](repeating: 0, count: b.count + 1)
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { cur[j] = min(cur[j], prev2[j - 2] + 1) }
        }
        prev2 = prev
        prev = cur
    }
    return prev[b.count]
}
