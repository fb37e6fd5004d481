import VMRRBase
import VMRRJournal
import VMRRReplay

// display, undisplay, info display, clear and info all-registers.

/// An expression display shows after every stop.
struct Display: Equatable {
    var id: Int
    var format: ExamineFormat?
    var expression: AddressExpression

    /// A count, a size, i or s: memory is examined as x does; otherwise the value is printed.
    var examines: Bool {
        guard let f = format else { return false }
        return f.count != nil || f.size != nil || f.letter == "i" || f.letter == "s"
    }

    /// The format as typed: "4xg".
    var formatText: String {
        guard let f = format else { return "" }
        let size = f.size.flatMap { s in ExamineFormat.sizes.first { $0.value == s }.map { String($0.key) } } ?? ""
        return (f.count.map(String.init) ?? "") + (f.letter.map { String($0) } ?? "") + size
    }

    /// "$rax", "/x $rax", "x/i $pc", as gdb shows a display.
    var label: String {
        if examines { return "x/\(formatText) \(expression.description)" }
        return (format == nil ? "" : "/\(formatText) ") + expression.description
    }
}

extension DebuggerSession {
    // MARK: display

    func display(_ f: ExamineFormat?, _ e: AddressExpression?) throws {
        guard let e else {
            showDisplays()
            return
        }
        let d = Display(id: nextDisplayID, format: f, expression: e)
        nextDisplayID += 1
        displays.append(d)
        show(d)
    }

    func showDisplays() {
        for d in displays { show(d) }
    }

    /// One display; a failure is shown in its place, as gdb does, and never ends the command.
    func show(_ d: Display) {
        if d.examines {
            out.line("\(d.id): \(d.label)")
            // A display does not move where x goes on, nor change its remembered format.
            let saved = (examineLetter, examineSize, examineNext)
            defer { (examineLetter, examineSize, examineNext) = saved }
            do { try examine(d.format, d.expression, physical: false) } catch { out.line("<error: \(error)>") }
            return
        }
        do {
            let v = try evaluate(d.expression)
            let shown = d.format?.letter.map { printed(v, letter: $0) } ?? printed(v)
            out.line("\(d.id): \(d.label) = \(shown)")
        } catch {
            out.line("\(d.id): \(d.label) = <error: \(error)>")
        }
    }

    /// print's value: "0x100900 (1050880) <isr_page_fault>".
    func printed(_ v: UInt64) -> String {
        "\(hex(v)) (\(v))" + (symbolic(v).map { " <\($0)>" } ?? "")
    }

    /// A value in one of print's format letters, as gdb's print/FMT shows it.
    func printed(_ v: UInt64, letter: Character) -> String {
        switch letter {
        case "d": return String(Int64(bitPattern: v))
        case "u": return String(v)
        case "o": return v == 0 ? "0" : "0" + String(v, radix: 8)
        case "t": return String(v, radix: 2)
        case "a": return Render.address(v, symbolic(v))
        case "c": return format(v, letter: "c", size: 1)
        default: return hex(v)
        }
    }

    func undisplay(_ ids: [Int]) throws {
        guard !ids.isEmpty else {
            displays = []
            return
        }
        for id in ids where !displays.contains(where: { $0.id == id }) {
            throw DebugError("undisplay: no display number \(id)")
        }
        displays.removeAll { ids.contains($0.id) }
    }

    func infoDisplay() {
        guard !displays.isEmpty else {
            out.line("There are no auto-display expressions now.")
            return
        }
        out.line("Auto-display expressions now in effect:")
        out.line("Num Enb Expression")
        for d in displays { out.line("\(d.id):   y  \(d.label)") }
    }

    // MARK: clear

    func clear(_ e: AddressExpression?) throws {
        let a = try e.map(evaluate) ?? frameRegisters().rip
        let ids = target.breakpoints.filter { $0.kind == .address(a) }.map(\.id)
        guard !ids.isEmpty else { throw DebugError("No breakpoint at \(e?.description ?? Render.address(a, symbolic(a))).") }
        for id in ids {
            try target.deleteBreakpoint(id)
            temporaryBreakpoints.remove(id)
        }
        out.line("Deleted breakpoint" + (ids.count > 1 ? "s " : " ") + ids.map(String.init).joined(separator: " "))
    }

    // MARK: info all-registers

    static let kernelGSBaseMSR: UInt32 = 0xC000_0102
    static let mxcsrBits: [(Int, String)] = [
        (0, "IE"), (1, "DE"), (2, "ZE"), (3, "OE"), (4, "UE"), (5, "PE"), (6, "DAZ"), (7, "IM"), (8, "DM"),
        (9, "ZM"), (10, "OM"), (11, "UM"), (12, "PM"), (15, "FZ"),
    ]

    /// gdb's order: the general registers, the segments and their bases, the
    /// control registers and EFER, then x87 and SSE where the state is known.
    func infoAllRegisters() throws {
        try infoRegisters([])
        guard (try? target.specialRegisters()) != nil else {
            out.line("(the segment, control, x87 and SSE registers are not known at \(target.position): "
                     + "a replay on KVM or a checkpoint has them)")
            return
        }
        let state = try? target.vcpuState()
        if let k = state?.msrs.first(where: { $0.index == Self.kernelGSBaseMSR }) {
            out.line(Render.registerRow("k_gs_base", k.value, String(k.value)))
        }
        try infoRegisters(Self.specialNames)
        guard let xsave = state?.blobs["xsave"], let fp = LegacyFPState(xsave: xsave) else {
            out.line("(the x87 and SSE registers are not known here)")
            return
        }
        for (i, r) in fp.st.enumerated() {
            out.line(Render.padded("st\(i)", 15) + Render.padded(LegacyFPState.value(r), 19)
                     + "(raw \(Render.bytesValue(r)))")
        }
        let x87: [(String, UInt64)] = [
            ("fctrl", UInt64(fp.fcw)), ("fstat", UInt64(fp.fsw)), ("ftag", UInt64(fp.tagWord)), ("fiseg", 0),
            ("fioff", fp.fip & 0xffff_ffff), ("foseg", 0), ("fooff", fp.fdp & 0xffff_ffff), ("fop", UInt64(fp.fop)),
        ]
        for (name, v) in x87 { out.line(Render.registerRow(name, v, String(v))) }
        for (i, x) in fp.xmm.enumerated() {
            out.line(Render.padded("xmm\(i)", 15) + "{uint128 = \(Render.bytesValue(x))}")
        }
        out.line(Render.registerRow("mxcsr", UInt64(fp.mxcsr), Render.flags(UInt64(fp.mxcsr), Self.mxcsrBits)))
    }
}
