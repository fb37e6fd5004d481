import Foundation
import Testing
import VMRRDebugger
import VMRRGuest
import VMRRJournal
import VMRRReplay

/// The committed fixture journals (recorded with --clock virtual) and the guest images they ran.
enum Fixtures {
    /// The repository root, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func journalPath(_ name: String) -> String {
        if let dir = ProcessInfo.processInfo.environment["VMRR_DEBUG_JOURNALS"] { return "\(dir)/\(name).vmrr" }
        return root.appendingPathComponent("fixtures/journals/\(name).vmrr").path
    }

    static func imagePath(_ name: String) -> String {
        root.appendingPathComponent("fixtures/guests/\(name)/\(name).elf").path
    }

    /// A journal-only session on fixture `name`, writing into a captured sink.
    static func session(_ name: String) throws -> (DebuggerSession, CapturedOutput) {
        let reader = try JournalReader(path: journalPath(name))
        let target = try JournalTarget(reader: reader, ramRanges: Layout.ramRanges(memorySize: reader.header.memorySize))
        let out = CapturedOutput()
        let session = DebuggerSession(target: target, symbols: nil, imagePath: imagePath(name), output: out)
        return (session, out)
    }
}

/// Runs lines and returns the transcript: each command after "(vmrr N) ", then its output.
func transcript(_ session: DebuggerSession, _ out: CapturedOutput, _ lines: [String]) -> String {
    _ = out.take()
    var text = ""
    for line in lines {
        // An empty line shows as the bare prompt, without its trailing space.
        var echo = session.prompt + line
        while echo.hasSuffix(" ") { echo.removeLast() }
        text += echo + "\n"
        _ = session.execute(line)
        text += out.take()
    }
    return text
}
