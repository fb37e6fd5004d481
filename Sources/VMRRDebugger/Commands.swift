import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

// The actions of the inspection commands. Each reads the target and writes
// through `out` with `Render`'s wording.

extension DebuggerSession {
    // MARK: breakpoints

    func watch(_ e: AddressExpression, length: UInt64, physical: Bool) throws {
        let a = try evaluate(e)
        var gpa = a
        if !physical {
            gpa = try Self.watchedPhysical(a, length: length, context: try target.mmuContext(), at: target.position)
        }
        let id = try target.addBreakpoint(.watch(gpa: gpa, length: length, virtual: physical ? nil : a))
        out.line("Hardware watchpoint \(id): " + Self.watched(gpa: gpa, length: length, virtual: physical ? nil : a))
    }

    /// The guest-physical address a watchpoint on `length` bytes at virtual
    /// `a` watches (the REPL's `watch` and gdb's `Z2`); they must lie in one page.
    static func watchedPhysical(_ a: UInt64, length: UInt64, context ctx: MMUCommandContext, at position: Position) throws -> UInt64 {
        let w = PageWalker.lookup(a, context: ctx.paging, memory: ctx.memory)
        guard let t = w.translation else {
            throw DebugError("watch: cannot translate \(hex(a)) at \(position): " + w.outcome.summary)
        }
        guard t.address - t.pageBase + length <= t.pageSize.bytes else {
            throw DebugError("watch: \(length) bytes at \(hex(a)) cross a page boundary: watch each page separately")
        }
        return t.address
    }

    static func watched(gpa: UInt64, length: UInt64, virtual: UInt64?) -> String {
        "\(length) bytes at " + (virtual.map { "\(hex($0)) (guest-physical \(hex(gpa)))" }
                                 ?? "guest-physical \(hex(gpa))")
    }

    func infoBreakpoints() {
        let bps = target.breakpoints
        guard !bps.isEmpty else {
            out.line("No breakpoints or watchpoints.")
            return
        }
        var rows = [["Num", "Type", "Hits", "What"]]
        for b in bps {
            let what: String
            switch b.kind {
            case .address(let a): what = Render.address(a, symbolic(a))
            case .event(let k, let f): what = Render.query(k, f)
            case .watch(let gpa, let length, let v): what = Self.watched(gpa: gpa, length: length, virtual: v)
            }
            rows.append([String(b.id), Render.breakpointType(b.kind), String(b.hits), what])
        }
        for l in Render.table(rows) { out.line(l) }
    }

    // MARK: registers

    /// gdb's order for `info registers`.
    static let generalOrder = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
                               "r12", "r13", "r14", "r15", "rip", "eflags"]
    static let segmentNames = ["cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base"]

    func infoRegisters(_ typed: [String]) throws {
        let names = typed.map { $0.lowercased() }
        for n in names {
            let canonical = Self.registerAliases[n] ?? n
            guard GPRegisters.index(named: canonical) != nil || Self.specialNames.contains(n)
                    || Self.segmentNames.contains(n) else {
                var message = "info registers: unknown register '\(n)'"
                if let near = nearest(n, in: Completion.registerNames) { message += ": did you mean '\(near)'?" }
                throw DebugError(message + ": expected names such as rax, rip, eflags, cr3 or cs")
            }
        }
        let regs = try target.registers()
        if names.isEmpty {
            for n in Self.generalOrder { out.line(generalRow(n, regs)) }
            if let s = try? target.specialRegisters() {
                for n in Self.segmentNames { out.line(segmentRow(n, s)) }
            }
            return
        }
        var sregs: SpecialRegisters?
        for n in names {
            if GPRegisters.index(named: Self.registerAliases[n] ?? n) != nil {
                out.line(generalRow(n, regs))
                continue
            }
            if sregs == nil { sregs = try target.specialRegisters() }
            let s = sregs!
            if Self.segmentNames.contains(n) {
                out.line(segmentRow(n, s))
                continue
            }
            switch n {
            case "cr0": out.line(Render.registerRow(n, s.cr0, Render.flags(s.cr0, Render.cr0Bits)))
            case "cr2": out.line(Render.registerRow(n, s.cr2, hex(s.cr2)))
            case "cr3": out.line(Render.registerRow(n, s.cr3, Render.cr3(s.cr3, cr4: s.cr4)))
            case "cr4": out.line(Render.registerRow(n, s.cr4, Render.flags(s.cr4, Render.cr4Bits)))
            case "cr8": out.line(Render.registerRow(n, s.cr8, String(s.cr8)))
            default: out.line(Render.registerRow(n, s.efer, Render.flags(s.efer, Render.eferBits)))
            }
        }
    }

    func generalRow(_ typed: String, _ r: GPRegisters) -> String {
        let name = Self.registerAliases[typed] ?? typed
        let v = r[GPRegisters.index(named: name)!]
        let shown = name == "rflags" ? "eflags" : name
        switch name {
        case "rip": return Render.registerRow(shown, v, Render.address(v, symbolic(v)))
        case "rflags": return Render.registerRow(shown, v, Render.rflags(v))
        case "rsp", "rbp": return Render.registerRow(shown, v, hex(v))
        default: return Render.registerRow(shown, v, String(Int64(bitPattern: v)))
        }
    }

    func segmentRow(_ name: String, _ s: SpecialRegisters) -> String {
        let v: UInt64
        switch name {
        case "cs": v = UInt64(s.cs.selector)
        case "ss": v = UInt64(s.ss.selector)
        case "ds": v = UInt64(s.ds.selector)
        case "es": v = UInt64(s.es.selector)
        case "fs": v = UInt64(s.fs.selector)
        case "gs": v = UInt64(s.gs.selector)
        case "fs_base": v = s.fs.base
        default: v = s.gs.base
        }
        return Render.registerRow(name, v, String(v))
    }

    // MARK: memory

    func examine(_ f: ExamineFormat?, _ e: AddressExpression?, physical: Bool) throws {
        let command = physical ? "xp" : "x"
        let letter = f?.letter ?? examineLetter
        var size = examineSize
        if let s = f?.size { size = s } else if f?.letter == "a" { size = 8 } else if f?.letter == "c" { size = 1 }
        if letter == "a" { size = 8 }
        let count = f?.count ?? 1
        let start: UInt64
        if let e {
            start = try evaluate(e)
        } else if let next = examineNext, next.physical == physical {
            start = next.address
        } else {
            throw DebugError("\(command): missing address: usage: \(command)/FMT \(physical ? "GPA" : "ADDR"), "
                             + "e.g. \(command)/4xg 0x1000")
        }
        examineLetter = letter
        if letter != "s", letter != "i" { examineSize = size }

        func read(_ a: UInt64, _ n: Int) throws -> [UInt8] {
            physical ? try target.readPhysical(a, count: n) : try target.readVirtual(a, count: n)
        }
        func label(_ a: UInt64) -> String {
            physical ? hex(a) + ":" : Render.address(a, symbolic(a)) + ":"
        }

        switch letter {
        case "i":
            let (insns, fromImage) = try physical ? physicalCode(start, count: count) : code(start, count: count)
            if fromImage { out.line(imageNote()) }
            let rip = try? target.registers().rip
            for i in insns { out.line(instructionLine(i, marked: !physical && i.address == rip)) }
            examineNext = ((insns.last.map { $0.address &+ UInt64($0.length) }) ?? start, physical)
        case "s":
            var a = start
            for _ in 0..<count {
                var bytes: [UInt8] = []
                var cut = false
                var failure: (any Error)?
                while true {
                    let b: UInt8
                    do { b = try read(a &+ UInt64(bytes.count), 1)[0] } catch { failure = error; break }
                    if b == 0 { break }
                    bytes.append(b)
                    if bytes.count == Self.stringLimit { cut = true; break }
                }
                if let failure, bytes.isEmpty { throw failure }
                out.line(label(a) + "  " + Self.quoted(bytes) + (cut ? "..." : ""))
                if let failure { throw failure }
                a = a &+ UInt64(bytes.count) &+ (cut ? 0 : 1)
            }
            examineNext = (a, physical)
        default:
            let perLine = letter == "a" ? 2 : size >= 8 ? 2 : size == 4 ? 4 : 8
            var a = start
            var left = count
            while left > 0 {
                let n = min(left, perLine)
                let bytes = try read(a, n * size)
                var cells: [String] = []
                for k in 0..<n {
                    var v: UInt64 = 0
                    for j in (0..<size).reversed() { v = v << 8 | UInt64(bytes[k * size + j]) }
                    cells.append(format(v, letter: letter, size: size))
                }
                out.line(label(a) + "  " + cells.joined(separator: "  "))
                a = a &+ UInt64(n * size)
                left -= n
            }
            examineNext = (a, physical)
        }
    }

    static let stringLimit = 200

    func format(_ v: UInt64, letter: Character, size: Int) -> String {
        let bits = size * 8
        switch letter {
        case "d":
            let shift = UInt64(64 - bits)
            return String(Int64(bitPattern: v << shift) >> Int64(shift))
        case "u": return String(v)
        case "o": return v == 0 ? "0" : "0" + String(v, radix: 8)
        case "t":
            let b = String(v, radix: 2)
            return String(repeating: "0", count: max(0, bits - b.count)) + b
        case "a": return Render.address(v, symbolic(v))
        case "c":
            let byte = UInt8(truncatingIfNeeded: v)
            return "\(Int8(bitPattern: byte)) " + Self.quotedChar(byte)
        default:
            let h = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, size * 2 - h.count)) + h
        }
    }

    static func escaped(_ b: UInt8, quote: Character) -> String {
        switch b {
        case 0x0a: return "\\n"
        case 0x09: return "\\t"
        case 0x0d: return "\\r"
        case 0x5c: return "\\\\"
        case UInt8(ascii: "\"") where quote == "\"": return "\\\""
        case UInt8(ascii: "'") where quote == "'": return "\\'"
        case 0x20..<0x7f: return String(Character(Unicode.Scalar(b)))
        default:
            let o = String(b, radix: 8)
            return "\\" + String(repeating: "0", count: max(0, 3 - o.count)) + o
        }
    }

    static func quoted(_ bytes: [UInt8]) -> String {
        "\"" + bytes.map { escaped($0, quote: "\"") }.joined() + "\""
    }

    static func quotedChar(_ b: UInt8) -> String { "'" + escaped(b, quote: "'") + "'" }

    // MARK: code

    func imageNote() -> String {
        "(code from the guest image file: guest memory is not known at \(target.position))"
    }

    /// Code at a guest-virtual address: from guest memory, else from the image file.
    func code(_ a: UInt64, count: Int) throws -> ([Instruction], Bool) {
        guard let d = disassembler else { throw DebugError("the Capstone disassembler could not be opened") }
        let want = min(count * Self.maxInstructionLength, 1 << 20)
        var bytes: [UInt8]
        var fromImage = false
        do {
            bytes = try target.readVirtual(a, count: want)
        } catch {
            let toPageEnd = Int(Self.pageSize - (a & (Self.pageSize - 1)))
            if toPageEnd < want, let b = try? target.readVirtual(a, count: toPageEnd) {
                bytes = b
            } else if let b = imageCode(a, count: want) {
                bytes = b
                fromImage = true
            } else {
                throw error
            }
        }
        return (d.disassemble(bytes, at: a, count: count), fromImage)
    }

    func physicalCode(_ a: UInt64, count: Int) throws -> ([Instruction], Bool) {
        guard let d = disassembler else { throw DebugError("the Capstone disassembler could not be opened") }
        let want = count * Self.maxInstructionLength
        var bytes: [UInt8]
        do { bytes = try target.readPhysical(a, count: want) } catch {
            let toPageEnd = Int(Self.pageSize - (a & (Self.pageSize - 1)))
            bytes = try target.readPhysical(a, count: toPageEnd)
        }
        return (d.disassemble(bytes, at: a, count: count), false)
    }

    static let maxInstructionLength = 15
    static let pageSize: UInt64 = 0x1000

    /// Up to `count` bytes of the image's loaded segments at a (link) address.
    func imageCode(_ a: UInt64, count: Int) -> [UInt8]? {
        guard let image else { return nil }
        for s in image.segments where a >= s.vaddr && a - s.vaddr < s.memsz {
            let off = Int(a - s.vaddr)
            let n = min(count, Int(s.memsz) - off)
            return (off..<(off + n)).map { $0 < s.fileBytes.count ? s.fileBytes[$0] : 0 }
        }
        return nil
    }

    /// "=> 0x100034 <main+18>:  mov    %rsp, %rbp", with call and jump targets symbolized.
    func instructionLine(_ i: Instruction, marked: Bool) -> String {
        (marked ? "=> " : "   ") + Render.address(i.address, symbolic(i.address)) + ":  " + annotated(i)
    }

    func annotated(_ i: Instruction) -> String {
        var text = i.text
        if let t = i.branchTarget, let s = symbolic(t) { text += " <\(s)>" }
        return text
    }

    func disassemble(_ e: AddressExpression?, count: Int?) throws {
        let rip = try? target.registers().rip
        let a: UInt64
        if let e { a = try evaluate(e) } else {
            guard let rip else { throw DebugError("disassemble: RIP is not known here: give an address") }
            a = rip
        }
        if count == nil, let f = function(containing: a), f.size <= Self.maxFunctionDump {
            let (insns, fromImage) = try code(f.start, count: Int(f.size))
            if fromImage { out.line(imageNote()) }
            out.line("Dump of assembler code for function \(f.name):")
            for i in insns where i.address < f.start + f.size {
                out.line((i.address == rip ? "=> " : "   ") + hex(i.address, digits: 16) + " <+\(i.address - f.start)>:  "
                         + annotated(i))
            }
            out.line("End of assembler dump.")
            return
        }
        let (insns, fromImage) = try code(a, count: count ?? Self.defaultDisassemblyCount)
        if fromImage { out.line(imageNote()) }
        for i in insns { out.line(instructionLine(i, marked: i.address == rip)) }
    }

    static let maxFunctionDump: UInt64 = 0x4000
    static let defaultDisassemblyCount = 10

    // MARK: backtrace

    func backtrace(limit: Int) throws {
        let r = try target.registers()
        var frames: [UInt64] = [r.rip]
        var fp = r.rbp
        var stop: String?
        func word(_ a: UInt64) throws -> UInt64 {
            try target.readVirtual(a, count: 8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        // Until a function has run `mov %rsp, %rbp` (and again at its `ret`),
        // RBP still belongs to its caller: the return address is on the stack,
        // at [rsp], or at [rsp+8] after `push %rbp`.
        var note: String?
        if limit > 1, let f = function(containing: r.rip), let slot = returnSlot(f, rip: r.rip, rsp: r.rsp) {
            if let ret = try? word(slot), symbolize(ret) != nil {
                frames.append(ret)
                note = "frame 1 is the return address at \(hex(slot)): \(f.name) has not set up its frame at "
                    + "\(hex(r.rip))"
            }
        }
        while frames.count < limit {
            if fp == 0 {
                stop = "rbp is 0 (the outermost frame, or code built without frame pointers)"
                break
            }
            let saved: UInt64, ret: UInt64
            do {
                saved = try word(fp)
                ret = try word(fp &+ 8)
            } catch {
                stop = "cannot read the frame at rbp \(hex(fp)): \(error)"
                break
            }
            if ret == 0 {
                stop = "the return address at \(hex(fp &+ 8)) is 0"
                break
            }
            frames.append(ret)
            if saved != 0, saved <= fp {
                stop = "the saved rbp \(hex(saved)) at \(hex(fp)) does not go up the stack "
                    + "(a loop or a corrupt frame)"
                break
            }
            fp = saved
        }
        for (n, pc) in frames.enumerated() {
            // A return address can lie just past its function (a call to a
            // function that does not return): name the call's function.
            let name = n == 0 ? symbolic(pc) : symbolize(pc &- 1).map { "\($0.0)+\($0.1 + 1)" }
            out.line("#\(n)  " + hex(pc, digits: 16) + (name.map { " in \($0)" } ?? ""))
        }
        if let note { out.line("(\(note))") }
        if let stop {
            out.line("Backtrace stopped: \(stop)")
        } else if frames.count >= limit {
            out.line("(More stack frames follow...)")
        }
    }

    static let pushRBP: [UInt8] = [0x55]
    static let movRSPToRBP: [[UInt8]] = [[0x48, 0x89, 0xe5], [0x48, 0x8b, 0xec]]
    static let ret: [UInt8] = [0xc3]
    static let prologueLimit = 64

    /// Where the return address is when `rip` is in `f` before its frame is
    /// set up (or at its ret); nil when RBP is the frame pointer of `f`.
    /// Decodes `f` from its start to `rip`, as far as its prologue goes.
    func returnSlot(_ f: (name: String, start: UInt64, size: UInt64), rip: UInt64, rsp: UInt64) -> UInt64? {
        guard let (insns, _) = try? code(f.start, count: Self.prologueLimit) else { return nil }
        if insns.first(where: { $0.address == rip })?.bytes == Self.ret { return rsp }
        var pushed = false
        for i in insns {
            if i.address >= rip { break }
            if i.bytes == Self.pushRBP { pushed = true }
            if Self.movRSPToRBP.contains(i.bytes) { return nil }
        }
        return pushed ? rsp &+ 8 : rsp
    }

    // MARK: the journal

    static let eventWindow: UInt64 = 5

    func infoEvents(_ q: EventQuery?) throws {
        let here = target.position.event
        let journal = target.journal
        guard let q else {
            // Five events either side; near an end, more on the other side.
            let span = 2 * Self.eventWindow
            var from = here >= Self.eventWindow ? here - Self.eventWindow : 0
            let to = min(target.lastEvent, from + span)
            if to - from < span { from = to >= span ? to - span : 0 }
            for r in try journal.events(from: from, count: to - from + 1) {
                out.line((r.index == here ? "=> " : "   ") + Render.eventLine(r))
            }
            return
        }
        var before: [EventRecord] = [], after: [EventRecord] = []
        var total: UInt64 = 0
        try journal.forEachEvent { r in
            guard q.matches(r) else { return true }
            total += 1
            if r.index <= here {
                before.append(r)
                if before.count > Int(Self.eventWindow) { before.removeFirst() }
            } else if after.count < Int(Self.eventWindow) {
                after.append(r)
            }
            return true
        }
        let what = Render.query(q.kind, q.filter)
        guard total > 0 else {
            out.line("No events match \(what).")
            return
        }
        let shown = before.count + after.count
        out.line("\(total) event\(total == 1 ? " matches" : "s match") \(what)"
                 + (UInt64(shown) < total ? "; the \(shown) nearest to event \(here):" : ":"))
        for r in before { out.line((r.index == here ? "=> " : "   ") + Render.eventLine(r)) }
        if before.last?.index != here { out.line("=> (event \(here))") }
        for r in after { out.line("   " + Render.eventLine(r)) }
    }

    func infoCheckpoints() {
        let here = target.position
        let checkpoints = target.journal.checkpoints.sorted { $0.eventIndex < $1.eventIndex }
        var rows = [["", "id", "event", "memory"]]
        var previous: UInt32?
        for c in checkpoints {
            let memory = c.full ? "full image" : "pages written since checkpoint \(previous.map(String.init) ?? "?")"
            rows.append([here == Position(event: c.eventIndex) ? "=>" : "", String(c.id), String(c.eventIndex), memory])
            previous = c.id
        }
        if checkpoints.isEmpty {
            out.line("The journal has no checkpoints.")
        } else {
            out.line("Checkpoints in the journal:")
            for l in Render.table(rows, rightAligned: [1, 2]) { out.line(l) }
        }
        let journalPositions = Set(checkpoints.map { Position(event: $0.eventIndex) })
        let snapshots = target.snapshotPositions.filter { !journalPositions.contains($0) }
        if !snapshots.isEmpty {
            out.line("Debugger snapshots: " + snapshots.map(\.description).joined(separator: ", "))
        }
        if target.executionUnavailableReason != nil {
            out.line("Without KVM, memory, special registers and the MMU views are known at these events only.")
        }
    }

    func infoExits() throws {
        struct Key: Hashable { var kind: EventKind; var label: String; var address: UInt64 }
        func key(_ kind: EventKind, _ label: String, _ address: UInt64) -> Key {
            Key(kind: kind, label: label + hex(address), address: address)
        }
        var byKind: [EventKind: UInt64] = [:]
        var byAddress: [Key: UInt64] = [:]
        var others: [EventKind: UInt64] = [:]
        var exits: UInt64 = 0
        try target.journal.forEachEvent { r in
            let e = r.event
            guard e.isExit else { others[e.kind, default: 0] += 1; return true }
            exits += 1
            byKind[e.kind, default: 0] += 1
            switch e {
            case let .io(port, _, dir, _):
                byAddress[key(.io, dir == .read ? "in  port " : "out port ", UInt64(port)), default: 0] += 1
            case let .input(port, _):
                byAddress[key(.input, "in  port ", UInt64(port)), default: 0] += 1
            case let .mmio(gpa, _, dir, _), let .stage2Fault(gpa, _, dir, _):
                byAddress[key(e.kind, dir == .read ? "read  gpa " : "write gpa ", gpa), default: 0] += 1
            default: break
            }
            return true
        }
        let total = target.journal.eventCount
        out.line("\(exits) exits in \(total) events:")
        func percent(_ n: UInt64) -> String {
            guard exits > 0 else { return "" }
            let tenths = (n * 1000 + exits / 2) / exits
            return "\(tenths / 10).\(tenths % 10)%"
        }
        var rows: [[String]] = []
        let kinds = byKind.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.rawValue < $1.key.rawValue }
        for (kind, n) in kinds {
            rows.append([kind.name, String(n), percent(n)])
            let subs = byAddress.filter { $0.key.kind == kind }
                .sorted { a, b in
                    a.value != b.value ? a.value > b.value : (a.key.address, a.key.label) < (b.key.address, b.key.label)
                }
            for (key, m) in subs { rows.append(["  " + key.label, String(m), percent(m)]) }
        }
        for l in Render.table(rows, indent: "  ", rightAligned: [1, 2]) { out.line(l) }
        if !others.isEmpty {
            let list = others.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.name) \($0.value)" }
            out.line("Other events: " + list.joined(separator: ", "))
        }
    }

    static let clockListLimit = 1000

    func infoClock() throws {
        var rows = [["event", "rip", "ns", "delta"]]
        var previous: UInt64?
        var count = 0
        try target.journal.forEachEvent { r in
            guard case .clock(let ns) = r.event else { return true }
            count += 1
            if count <= Self.clockListLimit {
                var delta = ""
                if let p = previous { delta = ns >= p ? "+\(ns - p)" : "-\(p - ns)" }
                rows.append([String(r.index), hex(r.rip), String(ns), delta])
            }
            previous = ns
            return true
        }
        let clock = target.journal.header.clock.name
        guard count > 0 else {
            out.line("No clock reads in this journal (\(clock) clock).")
            return
        }
        out.line("\(count) clock read\(count == 1 ? "" : "s") (\(clock) clock):")
        for l in Render.table(rows, indent: "  ", rightAligned: [0, 2, 3]) { out.line(l) }
        if count > Self.clockListLimit {
            out.line("... \(count - Self.clockListLimit) more: info events clock lists them around the position")
        }
    }

    // MARK: MMU views

    func mmu(_ typed: [String]) throws {
        var args = typed
        let name = args[0]
        var context = try target.mmuContext()
        let positional = args.indices.dropFirst().filter { !args[$0].hasPrefix("--") }
        if name != "ptdump", let k = positional.first, !(name == "shadow" && args[k] == "dump") {
            if MMUCommands.parseAddress(args[k]) == nil {
                let e: AddressExpression
                do { e = try AddressExpression.parse(args[k]) } catch { throw DebugError("\(name): \(error)") }
                args[k] = hex(try evaluate(e))
            }
        } else if name == "pt", positional.isEmpty,
                  case let .pageFault(gva, code, cr3, _) = try target.currentEvent().event {
            // pt at a page_fault event: the walk of the faulting access.
            out.line("page fault at event \(target.position.event): gva \(hex(gva)), error code \(hex(code))")
            context.paging.cr3 = cr3
            args.append(hex(gva))
            if code & Self.pfUser != 0 { args.append("--user") }
            if code & Self.pfFetch != 0 {
                args.append("--fetch")
            } else if code & Self.pfWrite != 0 {
                args.append("--write")
            }
        }
        do {
            emit(try MMUCommands.run(args, context: context))
        } catch let e as MMUCommandError {
            throw DebugError(e.message)
        }
    }

    static let pfWrite: UInt64 = 1 << 1
    static let pfUser: UInt64 = 1 << 2
    static let pfFetch: UInt64 = 1 << 4

    // MARK: help

    static let helpWidth = 100

    func help(_ topic: String?) throws {
        guard let topic else {
            out.line("vmrr debug: gdb-like commands over a recorded execution. A position is EVENT+INSTRUCTIONS,")
            out.line("shown in the prompt: (vmrr 155) is right after event 155.")
            for section in CommandHelp.Section.allCases {
                out.line("")
                out.line(section.rawValue + ":")
                let rows = Grammar.commands.filter { $0.section == section }.map { c in
                    [([c.name] + c.aliases).joined(separator: ", "), c.summary]
                }
                for l in Render.table(rows, indent: "  ") { out.line(l) }
            }
            out.line("")
            out.line("help COMMAND describes one. Unique prefixes work (cont, disas). An empty line repeats the last")
            out.line("stepping command. Ctrl-C stops a running command; Ctrl-D or quit leaves.")
            return
        }
        if topic == "info" || topic == "i" {
            out.line("info: show something about the recording or the current position:")
            let rows = Grammar.commands.filter { $0.name.hasPrefix("info ") }.map { [$0.synopsis, $0.summary] }
            for l in Render.table(rows, indent: "  ") { out.line(l) }
            return
        }
        let entry: CommandHelp?
        do { entry = try Grammar.helpEntry(topic) } catch { throw DebugError("help: \(error)") }
        guard let h = entry else { throw DebugError("help: no command '\(topic)': help lists them") }
        out.line(h.synopsis + (h.aliases.isEmpty ? "" : "  (alias: \(h.aliases.joined(separator: ", ")))"))
        let text = h.detailsRepeatSummary ? h.details : h.summary + (h.details.isEmpty ? "" : " " + h.details)
        for l in Self.wrap(text, width: Self.helpWidth) {
            out.line("  " + l)
        }
    }

    /// Word-wraps a paragraph.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
