import ArgumentParser
import Glibc
import VMRRBase
import VMRRJournal
import VMRRMachine

@main
struct VMRR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmrr",
        abstract: "Deterministic record/replay debugger for KVM virtual machines.",
        discussion: """
            Record a guest on KVM into a journal of everything nondeterministic, \
            then inspect the journal. See README.md and docs/.

            Exit statuses:
            """ + "\n" + ExitStatus.helpText,
        version: VMRRVersion.string,
        subcommands: [Record.self, Replay.self, Debug.self, Dump.self, MMU.self, Pack.self, Unpack.self, TimelineCommand.self, Bench.self]
    )
}

/// Prints a message to stderr: control characters escaped and lines capped
/// (`displaySafe`), as messages quote file names and strings from files.
func warn(_ s: String) {
    writeAll(STDERR_FILENO, displaySafe(s, keepNewlines: true) + "\n")
}

/// Ends the process with a one-line error naming what went wrong: any
/// newline or control character in it is escaped, and its length capped.
func fail(_ s: String, status: Int32 = ExitStatus.unusableInput) -> Never {
    writeAll(STDERR_FILENO, "vmrr: " + displaySafe(s) + "\n")
    exit(status)
}

/// A path or string from outside, for a message (escaped and capped).
func shown(_ s: String) -> String { displaySafe(s, limit: 300) }

/// Writes a whole string to a file descriptor.
func writeAll(_ fd: Int32, _ s: String) {
    try? FileIO.writeAll(fd: fd, s.utf8)
}

/// Buffered stdout for listings and replayed console output.
final class StdoutBuffer {
    var buffer: [UInt8] = []
    init() { buffer.reserveCapacity(1 << 16) }
    /// One byte of console output; flushed at each newline.
    func byte(_ b: UInt8) {
        buffer.append(b)
        if b == 10 || buffer.count >= 1 << 16 { flush() }
    }
    func line(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        buffer.append(10)
        if buffer.count >= 1 << 16 { flush() }
    }
    func flush() {
        try? FileIO.writeAll(fd: STDOUT_FILENO, buffer)
        buffer.removeAll(keepingCapacity: true)
    }
    deinit { flush() }
}
