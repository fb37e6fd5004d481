import Foundation
import Testing
import VMRRDebugger
import VMRRGuest
import VMRRJournal
import VMRRReplay
import VMRRTestSupport

/// The committed fixture journals (recorded with --clock virtual) as debugger sessions.
extension Fixtures {
    /// A journal-only session on fixture `name`, writing into a captured sink.
    static func session(_ name: String) throws -> (DebuggerSession, CapturedOutput) {
        let reader = try JournalReader(path: journalPath(name))
        let target = try JournalTarget(reader: reader, ramRanges: Layout.ramRanges(memorySize: reader.header.memorySize))
        let out = CapturedOutput()
        // smp2 and smp4 are journals of the smp guest.
        let session = DebuggerSession(target: target, symbols: nil, imagePath: guest(name.hasPrefix("smp") ? "smp" : name), output: out)
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
