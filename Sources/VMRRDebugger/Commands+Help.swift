import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

// The actions of the inspection commands. Each reads the target and writes
// through `out` with `Render`'s wording.

extension DebuggerSession {
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
