import VMRRBase
// The command layer the CLI and the REPL call: parse a token list, run one view, render
// it as text or JSON. Parsing, meaning and output stay apart: `Command.parse` validates,
// the views compute, TextRender/JSONEncoding format.

/// Everything a view needs about one position in a recording (or the live VM).
public struct MMUCommandContext {
    public var memory: any GuestPhysicalMemory
    public var paging: PagingContext
    public var slots: [MemorySlot]
    /// How the recording host virtualised the MMU: "EPT", "NPT", "shadow paging", ...
    public var hostMMUModel: String
    public var hostFrames: any HostFrameResolver
    /// Where in the recording this is, e.g. "event 1234"; empty for none.
    public var positionLabel: String
    /// The address of a symbol of the guest image, so that a view takes
    /// `main` or `main+0x10` wherever it takes an address; nil without symbols.
    public var symbolAddress: (@Sendable (String) -> UInt64?)?

    public init(memory: any GuestPhysicalMemory, paging: PagingContext, slots: [MemorySlot], hostMMUModel: String,
                hostFrames: any HostFrameResolver = NoHostFrames(), positionLabel: String = "") {
        self.memory = memory
        self.paging = paging
        self.slots = slots
        self.hostMMUModel = hostMMUModel
        self.hostFrames = hostFrames
        self.positionLabel = positionLabel
    }
}

/// A one-line error naming what was wrong and the expected form.
public struct MMUCommandError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum MMUCommands {
    public static let usage: [String: String] = [
        "pt": "pt GVA [--user|--implicit] [--write|--fetch]",
        "ept": "ept GPA [--npt]",
        "walk2d": "walk2d GVA [--npt] [--user|--implicit] [--write|--fetch]",
        "shadow": "shadow GVA | shadow dump",
        "ptdump": "ptdump [guest|ept|npt|shadow]",
        "ptdiff": "ptdiff [guest|ept|npt|shadow]",
    ]

    public static let help: [String: String] = [
        "pt": "pt GVA: walk the guest page tables for GVA, showing every level (table, index, entry, flags, "
            + "effective rights) and the GPA or the #PF error code. Default access: supervisor read; "
            + "--user, --implicit, --write, --fetch choose another.",
        "ept": "ept GPA [--npt]: walk GPA through the EPT (or NPT) that vmrr's memory slots amount to, "
            + "ending at the host virtual address and host frame.",
        "walk2d": "walk2d GVA [--npt]: the two-dimensional walk a TLB miss costs: every guest table reference "
            + "translated through the EPT, memory references numbered 1..N.",
        "shadow": "shadow GVA: the shadow page-table entry a shadow-paging hypervisor would install for GVA. "
            + "shadow dump: the whole shadow table as ranges, with the pages it needs.",
        "ptdump": "ptdump [guest|ept|npt|shadow]: the mappings of one view as merged ranges "
            + "(start-end size flags level target).",
        "ptdiff": "ptdiff [guest|ept|npt|shadow]: mappings added, removed or changed since the earlier position.",
    ]

    enum Command {
        case pt(UInt64, AccessKind)
        case ept(UInt64, SecondStageFormat)
        case walk2d(UInt64, SecondStageFormat, AccessKind)
        case shadow(UInt64)
        case ptdump(MMUView)
        case ptdiff(MMUView)

        static func parse(_ args: [String], symbols: (@Sendable (String) -> UInt64?)? = nil) throws -> Command {
            guard let name = args.first else {
                throw MMUCommandError("missing MMU command: expected one of \(MMUCommands.names)")
            }
            guard let usage = MMUCommands.usage[name] else {
                throw MMUCommandError("unknown MMU command '\(name)': expected one of \(MMUCommands.names)")
            }
            var positional: [String] = []
            var options: Set<String> = []
            for arg in args.dropFirst() {
                if arg.hasPrefix("--") { options.insert(arg) } else { positional.append(arg) }
            }
            let allowed: Set<String> = switch name {
            case "pt": ["--user", "--implicit", "--write", "--fetch"]
            case "walk2d": ["--npt", "--user", "--implicit", "--write", "--fetch"]
            case "ept": ["--npt"]
            default: []
            }
            if let bad = options.subtracting(allowed).sorted().first {
                throw MMUCommandError("\(name): unknown option '\(bad)': usage: \(usage)")
            }
            func one(_ what: String) throws -> String {
                guard let value = positional.first else {
                    throw MMUCommandError("\(name): missing \(what): usage: \(usage)")
                }
                guard positional.count == 1 else {
                    throw MMUCommandError("\(name): unexpected '\(positional[1])': usage: \(usage)")
                }
                return value
            }
            func address(_ text: String) throws -> UInt64 {
                if let value = MMUCommands.parseAddress(text) { return value }
                if let symbols, let value = MMUCommands.symbolic(text, symbols) { return value }
                throw MMUCommandError("\(name): bad address '\(text)': expected a number such as 0x1000 or 4096"
                                      + (symbols == nil ? "" : ", or a symbol of the guest image such as main+0x10"))
            }
            func access() throws -> AccessKind {
                if options.isSuperset(of: ["--user", "--implicit"]) {
                    throw MMUCommandError("\(name): --user and --implicit exclude each other: usage: \(usage)")
                }
                if options.isSuperset(of: ["--write", "--fetch"]) {
                    throw MMUCommandError("\(name): --write and --fetch exclude each other: usage: \(usage)")
                }
                let op: AccessKind.Operation = options.contains("--write") ? .write
                    : options.contains("--fetch") ? .fetch : .read
                let who: AccessKind.Privilege = options.contains("--user") ? .user
                    : options.contains("--implicit") ? .implicitSupervisor : .supervisor
                return AccessKind(op, who)
            }
            func view() throws -> MMUView {
                guard positional.count <= 1 else {
                    throw MMUCommandError("\(name): unexpected '\(positional[1])': usage: \(usage)")
                }
                guard let word = positional.first else { return .guest }
                guard let v = MMUView(rawValue: word) else {
                    throw MMUCommandError("\(name): unknown view '\(word)': expected guest, ept, npt or shadow")
                }
                return v
            }
            let format: SecondStageFormat = options.contains("--npt") ? .npt : .ept
            switch name {
            case "pt": return .pt(try address(one("address")), try access())
            case "ept": return .ept(try address(one("address")), format)
            case "walk2d": return .walk2d(try address(one("address")), format, try access())
            case "shadow":
                let arg = try one("address or 'dump'")
                return arg == "dump" ? .ptdump(.shadow) : .shadow(try address(arg))
            case "ptdump": return .ptdump(try view())
            default: return .ptdiff(try view())
            }
        }
    }

    static var names: String { usage.keys.sorted().joined(separator: ", ") }

    /// Parses 0x hex, decimal, with optional underscores: "0xffff_8000_0000_0000", "4096".
    public static func parseAddress(_ text: String) -> UInt64? {
        let s = text.replacingUnderscores
        if s.hasPrefix("0x") || s.hasPrefix("0X") {
            let digits = s.dropFirst(2)
            return digits.isEmpty ? nil : UInt64(digits, radix: 16)
        }
        return s.isEmpty ? nil : UInt64(s, radix: 10)
    }

    /// `name` or `name+OFFSET` (a number as `parseAddress` reads it) through `symbols`.
    static func symbolic(_ text: String, _ symbols: (String) -> UInt64?) -> UInt64? {
        let parts = text.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false)
        guard let base = symbols(String(parts[0])) else { return nil }
        guard parts.count == 2 else { return base }
        return parseAddress(String(parts[1])).map { base &+ $0 }
    }

    /// Runs one MMU command. `other` is the earlier position for `ptdiff`.
    public static func run(_ args: [String], context: MMUCommandContext, other: MMUCommandContext? = nil,
                           json: Bool = false) throws -> String {
        let command = try Command.parse(args, symbols: context.symbolAddress)
        let memory = context.memory
        switch command {
        case .pt(let gva, let access):
            let w = PageWalker.translate(gva, context: context.paging, memory: memory, access: access)
            return json ? envelope("pt", context, .guest, JSONEncoding.walk(w)) : TextRender.pt(w, context)

        case .ept(let gpa, let format):
            let stage = SecondStage(slots: context.slots, format: format)
            let w = stage.walk(gpa)
            if json {
                return envelope("ept", context, format == .ept ? .ept : .npt, .object([
                    ("pointer", .integer(stage.pointer)),
                    ("walk", JSONEncoding.secondStage(w, frames: context.hostFrames)),
                ]))
            }
            return TextRender.ept(w, stage, context)

        case .walk2d(let gva, let format, let access):
            let stage = SecondStage(slots: context.slots, format: format)
            let w = TwoDimensionalWalker.walk(gva, context: context.paging, memory: memory, secondStage: stage,
                                              access: access)
            if json { return envelope("walk2d", context, format == .ept ? .ept : .npt, walk2dJSON(w, context)) }
            return TextRender.walk2d(w, stage, context)

        case .shadow(let gva):
            let model = ShadowModel(context: context.paging, memory: memory,
                                    secondStage: SecondStage(slots: context.slots))
            let e = model.entry(for: gva)
            if json { return envelope("shadow", context, .shadow, shadowJSON(e, context)) }
            return TextRender.shadow(e, model, context)

        case .ptdump(let view):
            let d = dump(view, context)
            if json {
                return envelope("ptdump", context, view, .object([
                    ("ranges", .array(d.ranges.map(JSONEncoding.range))), ("truncated", .bool(d.truncated)),
                    ("summary", .array(d.summary.map { .string($0) })), ("notes", .array(d.notes.map { .string($0) })),
                ]))
            }
            let what = view == .guest ? modeDescription(context) : view == .shadow
                ? "shadow paging of " + modeDescription(context)
                : TextRender.pointerDescription(SecondStage(slots: context.slots, format: view == .npt ? .npt : .ept))
            return TextRender.dump(d, context, title: (view == .shadow ? "shadow dump" : "ptdump \(view.rawValue)")
                                   + ": " + what)

        case .ptdiff(let view):
            guard let other else {
                throw MMUCommandError("ptdiff: no earlier position to compare with: usage: \(usage["ptdiff"]!)")
            }
            let changes = PTDiff.diff(dump(view, other).ranges, dump(view, context).ranges)
            if json {
                return envelope("ptdiff", context, view, .object([
                    ("from", .string(other.positionLabel)),
                    ("changes", .array(changes.map { c in
                        .object([("kind", .string(c.kind.rawValue)),
                                 ("old", c.old.map(JSONEncoding.range) ?? .null),
                                 ("new", c.new.map(JSONEncoding.range) ?? .null)])
                    })),
                ]))
            }
            return TextRender.diff(changes, view: view, before: other, after: context)
        }
    }

    static func modeDescription(_ context: MMUCommandContext) -> String {
        TextRender.modeDescription(context.paging)
    }

    static func dump(_ view: MMUView, _ context: MMUCommandContext) -> PageTableDump {
        switch view {
        case .guest: PTDump.guest(context: context.paging, memory: context.memory)
        case .ept: PTDump.secondStage(SecondStage(slots: context.slots, format: .ept))
        case .npt: PTDump.secondStage(SecondStage(slots: context.slots, format: .npt))
        case .shadow: ShadowModel(context: context.paging, memory: context.memory,
                                  secondStage: SecondStage(slots: context.slots)).dump().dump
        }
    }

    static func envelope(_ command: String, _ context: MMUCommandContext, _ view: MMUView,
                         _ body: JSONValue) -> String {
        JSONValue.object([
            ("command", .string(command)), ("position", .string(context.positionLabel)),
            ("hostMMU", .string(context.hostMMUModel)), ("view", .string(view.rawValue)), ("result", body),
        ]).rendered()
    }

    static func walk2dJSON(_ w: TwoDimensionalWalk, _ context: MMUCommandContext) -> JSONValue {
        var outcome: JSONValue
        switch w.outcome {
        case .translated(let gpa, let host, let perms, let g, let n):
            outcome = .object([("result", .string("translated")), ("gpa", .integer(gpa)), ("hva", .integer(host)),
                               ("permissions", JSONEncoding.permissions(perms)),
                               ("guestPageSize", .integer(g.bytes)), ("nestedPageSize", .integer(n.bytes))])
        case .guestFailure(let o):
            outcome = JSONEncoding.outcome(o)
        case .nestedFailure(let purpose, let gpa, let reason):
            outcome = .object([("result", .string("nestedFailure")), ("purpose", .string(purpose)),
                               ("gpa", .integer(gpa)), ("reason", .string(reason))])
        }
        return .object([
            ("gva", .integer(w.linearAddress)),
            ("references", .array(w.references.map { r in
                .object([("number", .integer(UInt64(r.number))), ("stage", .string(r.stage.rawValue)),
                         ("step", JSONEncoding.step(r.step, ept: r.stage == .nested))])
            })),
            ("nested", .array(w.nested.map { n in
                .object([("purpose", .string(n.purpose)), ("gpa", .integer(n.guestPhysicalAddress)),
                         ("references", .integer(UInt64(n.walk.steps.count)))])
            })),
            ("referenceCount", .integer(UInt64(w.referenceCount))),
            ("outcome", outcome),
        ])
    }

    static func shadowJSON(_ e: ShadowEntry, _ context: MMUCommandContext) -> JSONValue {
        var members: [(String, JSONValue)] = [("gva", .integer(e.linearAddress)), ("guest", JSONEncoding.walk(e.guest))]
        switch e.outcome {
        case .mapped(let m):
            members.append(("shadow", .object([
                ("gvaBase", .integer(m.linearBase)), ("hvaBase", .integer(m.hostBase)),
                ("pageSize", .integer(m.pageSize.bytes)), ("guestPageSize", .integer(m.guestPageSize.bytes)),
                ("level", .string(m.level.entryName)), ("value", .integer(m.raw)),
                ("permissions", JSONEncoding.permissions(m.permissions)), ("writeProtected", .bool(m.writeProtected)),
                ("slot", .string(m.slot.name)), ("splitReason", .optional(m.splitReason)),
                ("hostFrame", JSONEncoding.hostFrame(context.hostFrames.hostFrame(forHostAddress: m.hostBase))),
            ])))
        case .notMapped(let reason):
            members.append(("shadow", .object([("result", .string("notMapped")), ("reason", .string(reason))])))
        }
        return .object(members)
    }
}

extension String {
    var replacingUnderscores: String { String(filter { $0 != "_" }) }
}
