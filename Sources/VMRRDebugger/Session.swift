import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

/// One debugging session: parses a line (Grammar), performs it on the target
/// (one target method per command, in `perform`) and writes the result
/// through one output sink (with the wording of `Render`).
public final class DebuggerSession {
    public let target: DebugTarget
    let symbols: SymbolTable?
    let out: any DebuggerOutput
    let image: GuestImage?
    let disassembler: Disassembler?
    /// Symbol sizes by name, to tell functions from labels.
    let symbolSizes: [String: UInt64]

    /// The command an empty line repeats.
    var repeatable: Command?
    /// What x and xp remember: gdb's "last format", and where to go on.
    var examineLetter: Character = "x"
    var examineSize = 4
    var examineNext: (address: UInt64, physical: Bool)?
    /// The frame up, down and frame select (0 is the innermost); any motion selects 0 again.
    var selectedFrame = 0
    /// The ids of tbreak's breakpoints, deleted at their first hit.
    var temporaryBreakpoints: Set<Int> = []
    /// What display shows after every stop.
    var displays: [Display] = []
    var nextDisplayID = 1

    /// True when the last command failed (for the exit status of a batch run).
    public private(set) var lastCommandFailed = false

    /// `symbols` name addresses; `imagePath` is the guest image, read for code
    /// where memory is not known (and for symbols when `symbols` is nil).
    public convenience init(target: DebugTarget, symbols: SymbolTable?, imagePath: String?, output: some DebuggerOutput) {
        var image: GuestImage?
        var warning: String?
        if let imagePath {
            do {
                image = try GuestImage.load(path: imagePath)
            } catch {
                warning = "warning: \(error): code is read from guest memory only"
            }
        }
        self.init(target: target, symbols: symbols, image: image, output: output)
        if let warning { out.error(warning) }
    }

    /// As above, with the image already loaded (e.g. from a bundle).
    public init(target: DebugTarget, symbols: SymbolTable?, image: GuestImage?, output: some DebuggerOutput) {
        self.target = target
        out = output
        let expected = target.journal.header.imageSHA256
        var usable = image
        var warning: String?
        if let i = image, !expected.isEmpty, i.sha256 != expected {
            if let replayed = target.foreignImageSHA256, replayed == i.sha256 {
                warning = "note: \(i.path) is another build than the recorded image: it runs over the journal, "
                    + "with its code and symbols, up to where its history splits from the journal's"
            } else {
                warning = "warning: \(i.path) is not the image this journal recorded (its SHA-256 differs): "
                    + "its code and symbols are not used"
                usable = nil
            }
        }
        self.image = usable
        self.symbols = symbols ?? usable?.symbols
        var sizes: [String: UInt64] = [:]
        for s in self.symbols?.all ?? [] where sizes[s.name] == nil || s.size > 0 { sizes[s.name] = s.size }
        symbolSizes = sizes
        disassembler = Disassembler()
        if let warning { out.error(warning) }
    }

    /// "(vmrr 1234+17) "
    public var prompt: String { "(vmrr \(target.position)) " }

    /// Runs one line. Returns false when the session should end (quit).
    public func execute(_ line: String) -> Bool {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        let text = String(line.drop(while: blank).reversed().drop(while: blank).reversed())
        if text.isEmpty {
            guard let again = repeatable else { return true }
            return run(again)
        }
        if text.hasPrefix("#") { return true }
        let command: Command
        do {
            command = try Grammar.parse(text)
        } catch {
            fail(error)
            return true
        }
        switch command {
        case .examine(let f, _, let physical):
            // Enter goes on from where x stopped, with the same count (as gdb).
            repeatable = .examine(f?.count.map { ExamineFormat(count: $0) }, nil, physical: physical)
        default: repeatable = command.repeats ? command : nil
        }
        return run(command)
    }

    func run(_ command: Command) -> Bool {
        if command == .quit {
            lastCommandFailed = false
            return false
        }
        do {
            try perform(command)
            lastCommandFailed = false
        } catch {
            fail(error)
            target.settleAfterFailedMotion()
        }
        return true
    }

    func fail(_ error: any Error) {
        lastCommandFailed = true
        out.error("\(error)")
    }

    // MARK: the action layer: one command, one target method

    func perform(_ command: Command) throws {
        switch command {
        case .stepi(let n): try motion { try target.stepInstructions(n) }
        case .nextEvent(let n): try motion { try target.nextEvents(n) }
        case .continueForward: try motion { try target.continueForward() }
        case .reverseStepi(let n): try motion { try target.reverseStepInstructions(n) }
        case .prevEvent(let n): try motion { try target.previousEvents(n) }
        case .reverseContinue: try motion { try target.reverseContinue() }
        case .goto(let p):
            let shown = target.shownVCPU
            try target.goto(position(p))
            selectedFrame = 0
            followRunningVCPU(shown: shown)
            try showPosition()
            showDisplays()
        case .breakAddress(let e):
            let a = try evaluate(e)
            let id = try target.addBreakpoint(.address(a))
            out.line("Breakpoint \(id) at \(Render.address(a, symbolic(a)))")
        case .breakEvent(let q):
            let id = try target.addBreakpoint(.event(q.kind, q.filter))
            out.line("Event breakpoint \(id): \(Render.query(q.kind, q.filter))")
        case .watch(let e, let length, let physical):
            try watch(e, length: length, physical: physical)
        case .delete(let ids):
            try deleteBreakpoints(ids)
        case .infoBreakpoints: infoBreakpoints()
        case .infoRegisters(let names): try infoRegisters(names)
        case .infoSregs:
            for l in Render.specialRegisters(try target.specialRegisters()) { out.line(l) }
        case .examine(let f, let e, let physical): try examine(f, e, physical: physical)
        case .disassemble(let e, let n): try disassemble(e, count: n)
        case .infoSymbol(let e):
            let a = try evaluate(e)
            guard let (name, off) = symbolize(a) else {
                out.line("No symbol matches \(e.description).")
                return
            }
            out.line(off == 0 ? name : "\(name) + \(off)")
        case .print(let e):
            let v = try evaluate(e)
            out.line("= \(hex(v)) (\(v))" + (symbolic(v).map { " <\($0)>" } ?? ""))
        case .backtrace(let limit): try backtrace(limit: limit ?? 64)
        case .infoEvents(let q): try infoEvents(q)
        case .infoCheckpoints: infoCheckpoints()
        case .infoExits: try infoExits()
        case .infoClock: try infoClock()
        case .mmu(let args): try mmu(args)
        case .ptdiff(let from, let to, let view):
            let before = try target.mmuContext(at: position(from))
            let after = try to.map { try target.mmuContext(at: position($0)) } ?? target.mmuContext()
            emit(try MMUCommands.run(["ptdiff"] + view, context: after, other: before))
        case .setDisassemblyFlavor(let s):
            guard let d = disassembler else { throw DebugError("set disassembly-flavor: Capstone could not be opened") }
            d.setSyntax(s)
        case .help(let topic): try help(topic)
        case .quit: break
        case .finish: try finish()
        case .up(let n): try selectFrame(relative: n)
        case .down(let n): try selectFrame(relative: -n)
        case .frame(let n): try selectFrame(n)
        case .tbreak(let e): try tbreak(e)
        case .display(let f, let e): try display(f, e)
        case .undisplay(let ids): try undisplay(ids)
        case .infoDisplay: infoDisplay()
        case .clear(let e): try clear(e)
        case .infoAllRegisters: try infoAllRegisters()
        case .infoThreads: try infoThreads()
        case .thread(let n): try thread(n)
        }
    }

    func position(_ p: PositionExpression) -> Position {
        switch p {
        case .start: Position(event: 0)
        case .end: Position(event: target.lastEvent)
        case .at(let q): q
        }
    }

    /// Writes a block of text (from the MMU layer) line by line.
    func emit(_ text: String) {
        var t = Substring(text)
        while t.hasSuffix("\n") { t = t.dropLast() }
        for l in t.split(separator: "\n", omittingEmptySubsequences: false) { out.line(String(l)) }
    }

    // MARK: stops and the position

    /// Runs one motion and reports the stop.
    func motion(_ move: () throws -> StopReason) throws {
        let before = target.position.event
        selectedFrame = 0
        let shown = target.shownVCPU
        let reason = try move()
        followRunningVCPU(shown: shown)
        try stopped(reason, eventChanged: target.position.event != before)
        showDisplays()
    }

    /// The stop report: why it stopped (as gdb and rr say it), then where:
    /// the event (when it changed, or with a reason) and the instruction at RIP.
    func stopped(_ reason: StopReason, eventChanged: Bool = true) throws {
        switch reason {
        case .done: break
        case .breakpoint(let id, let a):
            let temporary = temporaryBreakpoints.contains(id)
            out.line((temporary ? "Temporary breakpoint" : "Breakpoint") + " \(id), "
                     + (symbolic(a).map { "\($0) at " } ?? "") + hex(a))
            if temporary {
                try? target.deleteBreakpoint(id)
                temporaryBreakpoints.remove(id)
            }
        case .eventBreakpoint(let id, _):
            let what = target.breakpoints.first { $0.id == id }.map { b -> String in
                if case .event(let k, let f) = b.kind { return ": " + Render.query(k, f) }
                return ""
            } ?? ""
            out.line("Event breakpoint \(id)\(what)")
        case .watchpoint(let id, let a, let old, let new):
            // The address the user typed: the guest-virtual one when the watch was set with one.
            var shown = a
            if let b = target.breakpoints.first(where: { $0.id == id }), case .watch(let gpa, _, let v?) = b.kind {
                shown = v &+ (a &- gpa)
            }
            out.line("Hardware watchpoint \(id): \(hex(shown)) old \(Render.bytesValue(old)) "
                     + "new \(Render.bytesValue(new))")
        case .startOfHistory: out.line("No more reverse-execution history.")
        case .endOfHistory: out.line("Reached the end of the recorded history.")
        case .interrupted: out.line("Interrupted.")
        }
        try showPosition(withEvent: eventChanged || reason != .done)
    }

    /// The current event and the instruction at RIP (when its code can be read).
    /// Steps inside one event show only the instruction, as gdb's stepi does.
    func showPosition(withEvent: Bool = true) throws {
        let p = target.position
        if withEvent {
            out.line(Render.eventLine(try target.currentEvent()))
            if p.instructions > 0 { out.line("  +\(p.instructions) instructions after event \(p.event)") }
        }
        guard let rip = try? frameRegisters().rip, let (insns, _) = try? code(rip, count: 1), let i = insns.first else {
            return
        }
        out.line(instructionLine(i, marked: true))
    }

    // MARK: addresses and symbols

    func evaluate(_ e: AddressExpression) throws -> UInt64 {
        var v: UInt64 = 0
        for p in e.parts {
            let t: UInt64
            switch p.term {
            case .number(let n): t = n
            case .register(let name): t = try register(name)
            case .symbol(let name): t = try symbol(name)
            }
            v = p.negative ? v &- t : v &+ t
        }
        return v
    }

    static let registerAliases = ["pc": "rip", "sp": "rsp", "fp": "rbp", "eflags": "rflags"]
    static let specialNames = ["cr0", "cr2", "cr3", "cr4", "cr8", "efer"]

    func register(_ typed: String) throws -> UInt64 {
        let name = Self.registerAliases[typed] ?? typed
        if let i = GPRegisters.index(named: name) { return try frameRegisters()[i] }
        if let sub = SubRegister.table[name] { return sub.value(of: try frameRegisters()[GPRegisters.index(named: sub.full)!]) }
        if Self.specialNames.contains(name) {
            let s = try target.specialRegisters()
            switch name {
            case "cr0": return s.cr0
            case "cr2": return s.cr2
            case "cr3": return s.cr3
            case "cr4": return s.cr4
            case "cr8": return s.cr8
            default: return s.efer
            }
        }
        var message = "unknown register '$\(typed)'"
        if let near = nearest(typed, in: Completion.registerNames + SubRegister.names) {
            message += ": did you mean '$\(near)'?"
        }
        throw DebugError(message + " (registers: rax rbx rcx rdx rsi rdi rbp rsp r8-r15 rip eflags pc sp fp "
                         + "cr0-cr4 cr8 efer, and parts such as eax ax al ah r8d r8w r8l)")
    }

    func symbol(_ name: String) throws -> UInt64 {
        guard let symbols else {
            throw DebugError("no symbol '\(name)': no guest image symbols are loaded (give the address as a number)")
        }
        if let v = symbols.lookup(name) { return v }
        var message = "no symbol '\(name)' in the guest image"
        if let near = nearest(name, in: symbolNames) { message += ": did you mean '\(near)'?" }
        throw DebugError(message)
    }

    var symbolNames: [String] {
        (symbols?.all ?? []).filter { $0.kind == .function || $0.kind == .object || $0.kind == .notype }.map(\.name)
    }

    /// Labels without a size are trusted this far past them.
    static let unsizedSymbolReach: UInt64 = 0x1000

    /// The symbol and offset of an address, leaving out far-fetched ones
    /// (far past a label without a size).
    func symbolize(_ a: UInt64) -> (String, UInt64)? {
        guard let (name, off) = symbols?.symbolize(a) else { return nil }
        if symbolSizes[name] ?? 0 == 0, off >= Self.unsizedSymbolReach { return nil }
        return (name, off)
    }

    /// "main+18" or "main".
    func symbolic(_ a: UInt64) -> String? {
        symbolize(a).map { $0.1 == 0 ? $0.0 : "\($0.0)+\($0.1)" }
    }

    /// The sized symbol containing `a`: its start and size.
    func function(containing a: UInt64) -> (name: String, start: UInt64, size: UInt64)? {
        guard let (name, off) = symbols?.symbolize(a), let size = symbolSizes[name], size > 0, off < size else {
            return nil
        }
        return (name, a - off, size)
    }
}
