import VMRRBase
// Text rendering of walks and dumps. One renderer for every view, so the wording and
// column layout stay consistent. The walkers never format text.

/// Rows aligned into columns; `.text` rows are printed as they are.
struct TextTable {
    enum Row {
        case cells([String])
        case text(String)
    }
    var rows: [Row] = []
    var rightAligned: Set<Int> = []

    mutating func add(_ cells: String...) { rows.append(.cells(cells)) }
    mutating func add(cells: [String]) { rows.append(.cells(cells)) }
    mutating func text(_ line: String) { rows.append(.text(line)) }

    func render(indent: String = "  ", gap: String = "  ") -> [String] {
        var widths: [Int] = []
        for case .cells(let cells) in rows {
            for (i, c) in cells.enumerated() {
                if i >= widths.count { widths.append(0) }
                widths[i] = max(widths[i], c.count)
            }
        }
        return rows.map { row in
            switch row {
            case .text(let line):
                return line
            case .cells(let cells):
                let padded = cells.enumerated().map { i, c in
                    let fill = String(repeating: " ", count: widths[i] - c.count)
                    return rightAligned.contains(i) ? fill + c : c + fill
                }
                let line = indent + padded.joined(separator: gap)
                return String(line.reversed().drop { $0 == " " }.reversed())
            }
        }
    }
}

enum TextRender {
    static func header(_ title: String, _ context: MMUCommandContext, view: String) -> [String] {
        [title + (context.positionLabel.isEmpty ? "" : ", at \(context.positionLabel)"),
         "recording host MMU: \(context.hostMMUModel) | this view: \(view)"]
    }

    /// "4-level paging (CR3 0x1000; WP NXE SMEP)".
    static func modeDescription(_ p: PagingContext) -> String {
        guard p.mode != .none else { return "paging off" }
        var features: [String] = []
        if p.cr0Flags.contains(.writeProtect) { features.append("WP") }
        if p.mode == .legacy32 && p.cr4Flags.contains(.pageSizeExtensions) { features.append("PSE") }
        if p.mode != .legacy32 && p.eferFlags.contains(.noExecuteEnable) { features.append("NXE") }
        if p.cr4Flags.contains(.smep) { features.append("SMEP") }
        if p.cr4Flags.contains(.smap) {
            features.append(p.rflagsFlags.contains(.alignmentCheck) ? "SMAP (AC=1)" : "SMAP")
        }
        if p.mode.isIA32e && p.cr4Flags.contains(.protectionKeys) { features.append("PKE (PKRU \(hex(UInt64(p.pkru))))") }
        let digits = p.mode == .legacy32 || p.mode == .pae ? 8 : 16
        let list = features.isEmpty ? "" : "; " + features.joined(separator: " ")
        return "\(p.mode.name) (CR3 \(hex(p.cr3, digits: digits))\(list))"
    }

    static func addressDigits(_ mode: PagingMode) -> Int { mode.isIA32e ? 16 : 8 }

    static func guestFlags(_ s: WalkStep) -> String {
        var f = s.flags.x86Description
        if let k = s.protectionKey { f += " pk\(k)" }
        return f
    }

    static func eptFlags(_ s: WalkStep, format: SecondStageFormat) -> String {
        guard format == .ept else { return s.flags.x86Description }
        var names = EntryFlags.eptNames.filter { s.flags.contains($0.0) }.map(\.1)
        if let t = s.memoryType {
            names.insert(t.name, at: names.prefix { ["R", "W", "X"].contains($0) }.count)
        }
        return names.joined(separator: " ")
    }

    static func effective(_ p: Permissions) -> String {
        p.description.trimmingTrailingSpaces
    }

    // MARK: pt

    static func guestSteps(_ w: WalkResult, into table: inout TextTable) {
        let digits = w.mode == .legacy32 ? 8 : 16
        table.add("level", "table", "index", "entry at", "value", "flags", "effective")
        for s in w.steps {
            table.add(cells: [s.name, hex(s.tableAddress, digits: digits), String(s.index),
                              hex(s.entryAddress, digits: digits), hex(s.raw, digits: digits), guestFlags(s),
                              s.flags.contains(.present) ? effective(s.permissions) : "-"])
        }
    }

    static func outcomeLine(_ o: WalkOutcome) -> String {
        switch o {
        case .translated(let t):
            let offset = t.address - t.pageBase
            return "=> gpa \(hex(t.address, digits: 16)) (\(t.pageSize.name) page \(hex(t.pageBase, digits: 16)) + \(hex(offset))): "
                + effective(t.permissions) + (t.global ? ", global" : "")
        case .pageFault(let f):
            return "=> #PF, error code \(f.errorCodeText)"
                + " (\(f.errorCode.names))" + (f.level.map { " at \($0.entryName)" } ?? "") + ": \(f.reason)"
        case .generalProtection(let reason):
            return "=> #GP(0): \(reason)"
        case .walkFailed(let level, _, let reason):
            return "=> walk stopped" + (level.map { " at \($0.entryName)" } ?? "") + ": \(reason)"
        }
    }

    static func pt(_ w: WalkResult, _ context: MMUCommandContext) -> String {
        let title = "pt \(hex(w.linearAddress, digits: addressDigits(w.mode))): \(modeDescription(context.paging)), "
            + (w.access?.description ?? "no access check")
        var lines = header(title, context, view: MMUView.guest.title)
        lines.append("")
        var table = TextTable()
        table.rightAligned = [2]
        if !w.steps.isEmpty { guestSteps(w, into: &table) }
        lines += table.render()
        for note in w.notes { lines.append("  note: \(note)") }
        lines.append("  " + outcomeLine(w.outcome))
        return lines.joined(separator: "\n")
    }

    // MARK: ept

    static func pointerDescription(_ stage: SecondStage) -> String {
        switch stage.format {
        case .ept:
            "EPTP \(hex(stage.pointer, digits: 16)) (WB, walk length 4, A/D enabled)"
        case .npt:
            "nCR3 \(hex(stage.pointer, digits: 16))"
        }
    }

    static func hostFrameText(_ hva: UInt64, _ frames: any HostFrameResolver) -> String {
        switch frames.hostFrame(forHostAddress: hva) {
        case .success(let pfn):
            "host frame \(hex(pfn)) (hpa \(hex((pfn << 12) | (hva & bitRange(11, 0)), digits: 16)))"
        case .failure(let e):
            "host frame \(e)"
        }
    }

    static func slotText(_ s: MemorySlot) -> String {
        "slot \"\(s.name)\" [\(hex(s.gpa))-\(hex(s.end)))" + (s.readOnly ? " read-only" : "")
    }

    static func secondStageSteps(_ w: SecondStageWalk, into table: inout TextTable) {
        table.add("level", "table", "index", "entry at", "value", "flags", "effective")
        for s in w.steps {
            table.add(cells: [s.name, hex(s.tableAddress, digits: 16), String(s.index), hex(s.entryAddress, digits: 16), hex(s.raw, digits: 16),
                              eptFlags(s, format: w.format), s.permissions.isEmpty ? "-" : s.permissions.rwx])
        }
    }

    static func secondStageOutcome(_ w: SecondStageWalk, _ frames: any HostFrameResolver) -> String {
        switch w.outcome {
        case .mapped(let m):
            "=> \(slotText(m.slot)): hva \(hex(m.hostAddress, digits: 16)), \(hostFrameText(m.hostAddress, frames)); "
                + "\(m.pageSize.name) page, \(m.permissions.rwx)"
        case .violation(_, let reason):
            "=> \(reason)"
        }
    }

    static func ept(_ w: SecondStageWalk, _ stage: SecondStage, _ context: MMUCommandContext) -> String {
        let title = "\(w.format.rawValue) \(hex(w.guestPhysicalAddress, digits: 16)): \(w.format.name), 4 levels, "
            + pointerDescription(stage)
        let view = (w.format == .ept ? MMUView.ept : MMUView.npt).title
            + ", built from \(stage.slots.count) memory slots"
        var lines = header(title, context, view: view)
        lines.append("")
        var table = TextTable()
        table.rightAligned = [2]
        if !w.steps.isEmpty { secondStageSteps(w, into: &table) }
        lines += table.render()
        lines.append("  " + secondStageOutcome(w, context.hostFrames))
        return lines.joined(separator: "\n")
    }

    // MARK: walk2d

    static func walk2d(_ w: TwoDimensionalWalk, _ stage: SecondStage, _ context: MMUCommandContext) -> String {
        let title = "walk2d \(hex(w.linearAddress, digits: addressDigits(w.guest.mode))): "
            + "\(modeDescription(context.paging)) over \(stage.format.name) (4 levels), "
            + (w.guest.access?.description ?? "")
        var lines = header(title, context, view: "two-dimensional walk (each guest-physical reference "
                           + "translated through \(stage.format.name))")
        lines.append("")
        var table = TextTable()
        table.rightAligned = [0]
        table.add("#", "reference", "entry at", "value", "flags", "effective")
        var refs = w.references[...]
        let digits = w.guest.mode == .legacy32 ? 8 : 16
        for n in w.nested {
            table.text("  \(n.purpose) at gpa \(hex(n.guestPhysicalAddress, digits: 16))")
            for s in n.walk.steps {
                guard let r = refs.first else { break }
                refs = refs.dropFirst()
                table.add(cells: [String(r.number), "\(s.name)[\(s.index)]", hex(s.entryAddress, digits: 16), hex(s.raw, digits: 16),
                                  eptFlags(s, format: stage.format), s.permissions.isEmpty ? "-" : s.permissions.rwx])
            }
            if case .mapped(let m) = n.walk.outcome {
                table.text("        -> hva \(hex(m.hostAddress, digits: 16)) (\(m.pageSize.name) page of slot \"\(m.slot.name)\")")
            } else if case .violation(_, let reason) = n.walk.outcome {
                table.text("        -> \(reason)")
            }
            if let r = refs.first, r.stage == .guest {
                refs = refs.dropFirst()
                let s = r.step
                table.add(cells: [String(r.number), "\(s.name)[\(s.index)]", hex(s.entryAddress, digits: digits),
                                  hex(s.raw, digits: digits), guestFlags(s),
                                  s.flags.contains(.present) ? effective(s.permissions) : "-"])
            }
        }
        lines += table.render()
        for note in w.notes + w.guest.notes { lines.append("  note: \(note)") }
        switch w.outcome {
        case .translated(let gpa, let host, let perms, let g, let n):
            lines.append("  => gpa \(hex(gpa, digits: 16)), hva \(hex(host, digits: 16)): guest \(g.name) page over "
                         + "\(stage.format.name) \(n.name) page, \(effective(perms))")
        case .guestFailure(let o):
            lines.append("  " + outcomeLine(o))
        case .nestedFailure(let purpose, let gpa, let reason):
            lines.append("  => \(purpose) at gpa \(hex(gpa, digits: 16)): \(reason)")
        }
        let verb = if case .translated = w.outcome { "a TLB miss costs" } else { "the walk made" }
        lines.append("  \(verb) \(w.referenceCount) memory references = \(w.formula)")
        return lines.joined(separator: "\n")
    }

    // MARK: shadow

    static func shadow(_ e: ShadowEntry, _ model: ShadowModel, _ context: MMUCommandContext) -> String {
        let digits = addressDigits(e.guest.mode)
        let title = "shadow \(hex(e.linearAddress, digits: digits)): shadow paging of "
            + modeDescription(context.paging)
        var lines = header(title, context, view: MMUView.shadow.title)
        lines.append("")
        var table = TextTable()
        table.rightAligned = [2]
        if !e.guest.steps.isEmpty { guestSteps(e.guest, into: &table) }
        lines += table.render()
        lines.append("  guest: " + outcomeLine(e.guest.outcome).dropFirst(3))
        switch e.outcome {
        case .notMapped(let reason):
            lines.append("  => no shadow entry: \(reason)")
        case .mapped(let m):
            var t = TextTable()
            t.add("shadow", "gva \(hex(m.linearBase, digits: 16)) -> hva \(hex(m.hostBase, digits: 16))", m.pageSize.name,
                  "\(m.level.entryName) \(hex(m.raw, digits: 16))", X86EntryBits(rawValue: m.raw).shadowFlags)
            lines += t.render()
            lines.append("  => hva \(hex(m.hostBase &+ (e.linearAddress & (m.pageSize.bytes - 1)), digits: 16)), "
                         + "\(hostFrameText(m.hostBase, context.hostFrames)); \(effective(m.permissions)), "
                         + slotText(m.slot))
            if m.writeProtected {
                lines.append("  => write-protected: the page holds guest page tables, so the shadow entry is "
                             + "read-only and guest writes to it exit to the hypervisor")
            }
            if let why = m.splitReason {
                lines.append("  => \(m.pageSize.name) instead of the guest's \(m.guestPageSize.name): \(why)")
            }
        }
        return lines.joined(separator: "\n")
    }

    // MARK: dumps

    static func rangeCells(_ r: MappingRange, view: MMUView, digits: Int) -> [String] {
        let end = r.end == 0 && r.size != 0 ? "0x1" + String(repeating: "0", count: 16) : hex(r.end, digits: digits)
        let perms = view == .ept || view == .npt ? r.permissions.rwx : effective(r.permissions)
        let target = r.target.map { (view == .guest ? "-> gpa " : "-> hva ") + hex($0, digits: 16) } ?? ""
        var cells = ["\(hex(r.start, digits: digits))-\(end)", formatSize(r.size), perms,
                     r.attributes.joined(separator: " "), r.level, target]
        if let label = r.label { cells.append(label) }
        return cells
    }

    static func dump(_ d: PageTableDump, _ context: MMUCommandContext, title: String) -> String {
        var lines = header(title, context, view: d.view.title)
        lines.append("")
        var table = TextTable()
        table.rightAligned = [1]
        let mode = context.paging.mode
        let digits = d.view == .guest || d.view == .shadow ? addressDigits(mode) : 16
        var inUpperHalf = false
        let halves = mode.isIA32e && (d.view == .guest || d.view == .shadow)
        if halves { table.text("  ---[ lower half ]---") }
        for r in d.ranges {
            if halves && !inUpperHalf && r.start >> 63 == 1 {
                inUpperHalf = true
                table.text("  ---[ upper half ]---")
            }
            table.add(cells: rangeCells(r, view: d.view, digits: digits))
        }
        if d.ranges.isEmpty { table.text("  (no present mappings)") }
        lines += table.render()
        lines.append("")
        lines += d.summary
        lines += d.notes.map { "note: \($0)" }
        return lines.joined(separator: "\n")
    }

    static func diff(_ changes: [MappingChange], view: MMUView, before: MMUCommandContext,
                     after: MMUCommandContext) -> String {
        let digits = view == .guest || view == .shadow ? addressDigits(after.paging.mode) : 16
        var lines = ["ptdiff \(view.rawValue): \(before.positionLabel.isEmpty ? "earlier" : before.positionLabel) -> "
                     + (after.positionLabel.isEmpty ? "now" : after.positionLabel),
                     "recording host MMU: \(after.hostMMUModel) | this view: \(view.title)", ""]
        var table = TextTable()
        table.rightAligned = [2]
        for c in changes {
            switch c.kind {
            case .added: table.add(cells: ["+"] + rangeCells(c.new!, view: view, digits: digits))
            case .removed: table.add(cells: ["-"] + rangeCells(c.old!, view: view, digits: digits))
            case .changed:
                table.add(cells: ["~"] + rangeCells(c.new!, view: view, digits: digits))
                var was = rangeCells(c.old!, view: view, digits: digits)
                was[0] = "was"
                table.add(cells: [""] + was)
            }
        }
        if changes.isEmpty { table.text("  (no differences)") }
        lines += table.render()
        let count = { (k: MappingChange.Kind) in changes.filter { $0.kind == k }.count }
        lines.append("")
        lines.append("\(count(.added)) added, \(count(.removed)) removed, \(count(.changed)) changed")
        return lines.joined(separator: "\n")
    }
}

extension X86EntryBits {
    /// "P RW US A PS NX" for a shadow entry.
    var shadowFlags: String {
        let names: [(X86EntryBits, String)] = [(.present, "P"), (.writable, "RW"), (.user, "US"), (.accessed, "A"),
                                                (.pageSize, "PS"), (.noExecute, "NX")]
        return names.filter { contains($0.0) }.map(\.1).joined(separator: " ")
    }
}

extension String {
    var trimmingTrailingSpaces: String { String(reversed().drop { $0 == " " }.reversed()) }
}
