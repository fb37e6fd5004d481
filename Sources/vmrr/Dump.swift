import ArgumentParser
import Glibc
import VMRRJournal
import VMRRMachine

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a journal: a summary, then one line per event.",
        discussion: """
            With --json, prints JSON Lines: one object per event, with index, kind and rip \
            (and, with --registers, a regs object holding the 18 registers every event carries). \
            With --summary --json, prints the summary as one JSON object. See docs/JOURNAL.md.
            """)

    @Argument(help: "The journal file, or a bundle (.vmrrpack).")
    var journal: String

    @Flag(help: "JSON Lines, one object per event (no summary); with --summary, the summary as one JSON object.")
    var json = false

    @Flag(help: "Only the summary.")
    var summary = false

    @Flag(help: "With --json: each event's 18 registers in a regs object.")
    var registers = false

    @Option(help: "First event index to list.")
    var from: UInt64 = 0

    @Option(help: "Number of events to list.")
    var count: UInt64?

    @Option(help: ArgumentHelp("Only events of this kind (\(EventKind.allCases.map(\.name).joined(separator: ", "))). Repeatable.", valueName: "KIND"))
    var kind: [String] = []

    func validate() throws {
        if registers && !json { throw ValidationError("--registers needs --json (the text lines show rip only; use vmrr debug for every register)") }
        for k in kind where EventKind(name: k) == nil {
            throw ValidationError("--kind: unknown event kind '\(k)'; expected one of \(EventKind.allCases.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        let reader = openJournal(journal).reader
        let out = StdoutBuffer()
        if !json || summary {
            do {
                // The summary vouches for the whole file: every checkpoint is decoded (and CRC-checked) too.
                for cp in reader.checkpoints { _ = try reader.checkpoint(id: cp.id) }
                let s = try JournalSummary(reader: reader)
                out.line(json ? s.json() : s.render())
            } catch { fail("\(error)") }
            if summary { out.flush(); return }
            out.line("")
        }
        let kinds = Set(kind.compactMap(EventKind.init(name:)))
        var listed: UInt64 = 0
        let vcpu = reader.header.vcpuCount > 1
        do {
            try reader.forEachEvent(from: from) { r in
                if !kinds.isEmpty && !kinds.contains(r.event.kind) { return true }
                out.line(json ? EventFormat.json(r, registers: registers, vcpu: vcpu) : EventFormat.text(r, vcpu: vcpu))
                listed += 1
                if let count, listed >= count { return false }
                return true
            }
        } catch {
            out.flush()
            fail("\(error)")
        }
        out.flush()
        if let note = reader.truncationNote { warn("vmrr: \(journal): \(note)") }
    }
}
