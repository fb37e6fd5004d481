import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

// The actions of the inspection commands. Each reads the target and writes
// through `out` with `Render`'s wording.

extension DebuggerSession {
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
}
