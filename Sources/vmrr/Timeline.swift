import ArgumentParser
import Glibc
import VMRRBase
import VMRRJournal
import VMRRMachine
import VMRRReplay
import VMRRTimeline

struct TimelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeline",
        abstract: "Write a recording as a timeline: trace-event JSON for Perfetto, or a self-contained HTML view.",
        discussion: """
            The format comes from the output's extension (.json, .json.gz, .html) or --format. \
            Every item carries its event index (args.event in the JSON; the hover card in the \
            HTML view): vmrr debug JOURNAL, then goto INDEX. A journal cut short by a killed \
            recorder gives a timeline up to its last complete record, marked truncated. \
            See docs/TIMELINE.md.
            """)

    @Argument(help: "The journal file, or a bundle (.vmrrpack).")
    var journal: String

    @Option(name: [.short, .customLong("output")], help: "The file to write (.json, .json.gz or .html).")
    var output: String

    @Option(help: ArgumentHelp("json, json.gz or html (default: from the output's extension).", valueName: "FORMAT"))
    var format: String?

    @Option(help: ArgumentHelp("time: guest time from the paravirtual clock; events: one microsecond per event index (for --clock virtual journals).",
                               valueName: "AXIS"))
    var axis: String = TraceAxis.time.rawValue

    @Option(help: "The guest image to take symbols from (default: the recorded one, when it is found).")
    var image: String?

    func validate() throws {
        _ = try traceFormat(explicit: format, output: output)
        guard TraceAxis(rawValue: axis) != nil else {
            throw ValidationError("--axis: unknown axis '\(axis)'; expected one of \(TraceAxis.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let opened = openJournal(journal)
        let reader = opened.reader
        if let note = reader.truncationNote { warn("vmrr: \(journal): \(note)") }
        let guest = (try? ReplayImage.choose(header: reader.header, override: image, bundled: opened.bundledImage, journalPath: journal)) ?? nil
        let symbols = guest?.image.symbols
        let model: TraceModel
        do {
            model = try TraceModel(reader: reader, name: journal, axis: TraceAxis(rawValue: axis) ?? .time, symbolize: symbols.map { s in { s.label($0) } })
        } catch { fail("\(error)") }
        writeTrace(model, to: output, format: try traceFormat(explicit: format, output: output))
    }
}

/// The format for `-o FILE`: `--format` when given, else the extension.
func traceFormat(explicit: String?, output: String) throws -> TraceFormat {
    let names = TraceFormat.allCases.map(\.rawValue).joined(separator: ", ")
    if let explicit {
        guard let f = TraceFormat(rawValue: explicit) else { throw ValidationError("--format: unknown format '\(explicit)'; expected one of \(names)") }
        return f
    }
    guard let f = TraceFormat(fileName: output) else {
        throw ValidationError("\(output): cannot tell the timeline format from the extension; name it .json, .json.gz or .html, or give --format (\(names))")
    }
    return f
}

/// Renders and writes a timeline, then says what was written.
func writeTrace(_ model: TraceModel, to path: String, format: TraceFormat) {
    let bytes: [UInt8]
    do { bytes = try format.render(model) } catch { fail("\(path): \(error)") }
    writeFileOrFail(path, bytes)
    var line = "vmrr: wrote the timeline of \(model.count) events (\(format.rawValue), \(bytes.count) bytes) to \(path)"
    if model.truncation != nil { line += "; marked truncated" }
    if let d = model.divergence { line += "; divergence marked at event \(d.index)" }
    warn(line)
}

extension TraceDivergence {
    /// The marker for a replay's first divergence, worded as `vmrr replay` reports it.
    init(_ d: Divergence) {
        let recorded = d.expected.map { EventFormat.text($0) + (d.expectedSymbol.map { "  (\($0))" } ?? "") }
        let replayed = "rip=\(hex(d.actualRegisters.rip, digits: 16))  \(d.actual)" + (d.actualSymbol.map { "  (\($0))" } ?? "")
        let registers = d.expected.map { e in
            e.regs.differences(from: d.actualRegisters).map { i in
                "\(GPRegisters.names[i]) recorded \(hex(e.regs[i], digits: 16)) replayed \(hex(d.actualRegisters[i], digits: 16))"
            }
        } ?? []
        self.init(index: d.index, reason: d.reason.description, recorded: recorded, replayed: replayed, registers: registers)
    }
}
