import ArgumentParser
import Glibc
import VMRRJournal
import VMRRMachine

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a journal: a summary, then one line per event.",
        discussion: "With --json, prints JSON Lines: one object per event, with index, kind and rip.")

    @Argument(help: "The journal file, or a bundle (.vmrrpack).")
    var journal: String

    @Flag(help: "JSON Lines, one object per event (no summary).")
    var json = false

    @Flag(help: "Only the summary.")
    var summary = false

    @Option(help: "First event index to list.")
    var from: UInt64 = 0

    @Option(help: "Number of events to list.")
    var count: UInt64?

    @Option(help: "Only events of this kind (io, mmio, hlt, shutdown, page_fault, stage2_fault, clock, timer, interrupt, input, checkpoint, error, end). Repeatable.")
    var kind: [String] = []

    func validate() throws {
        for k in kind where EventKind(name: k) == nil {
            throw ValidationError("--kind: unknown event kind '\(k)'; expected one of \(EventKind.allCases.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        let reader = openJournal(journal).reader
        let out = StdoutBuffer()
        if !json {
            do {
                // The summary vouches for the whole file: every checkpoint is decoded (and CRC-checked) too.
                for cp in reader.checkpoints { _ = try reader.checkpoint(id: cp.id) }
                out.line(try JournalSummary(reader: reader).render())
            } catch { fail("\(error)") }
            if summary { out.flush(); return }
            out.line("")
        }
        let kinds = Set(kind.compactMap(EventKind.init(name:)))
        var listed: UInt64 = 0
        do {
            try reader.forEachEvent(from: from) { r in
                if !kinds.isEmpty && !kinds.contains(r.event.kind) { return true }
                out.line(json ? EventFormat.json(r) : EventFormat.text(r))
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
