#if canImport(Glibc)
import Glibc
#endif
import VMRRBase

/// Where a debugger session writes. Every command writes through one sink, so
/// output and errors keep their order and their wording in one place.
public protocol DebuggerOutput: AnyObject {
    /// One line of normal output, without its newline.
    func line(_ text: String)
    /// One line naming what went wrong, without its newline.
    func error(_ text: String)
}

/// Output to the process's stdout, errors to stderr.
public final class StandardOutput: DebuggerOutput {
    public init() {}
    public func line(_ text: String) { Self.write(STDOUT_FILENO, text + "\n") }
    public func error(_ text: String) { Self.write(STDERR_FILENO, text + "\n") }

    static func write(_ fd: Int32, _ text: String) {
        try? FileIO.writeAll(fd: fd, text.utf8)
    }
}

/// Output kept in memory, for tests and for callers that post-process it.
/// Errors are kept in order with the rest.
public final class CapturedOutput: DebuggerOutput {
    public private(set) var text = ""
    public private(set) var errors: [String] = []
    public init() {}
    public func line(_ s: String) { text += s + "\n" }
    public func error(_ s: String) { text += s + "\n"; errors.append(s) }
    /// Returns what was written since the last call and forgets it.
    public func take() -> String {
        defer { text = ""; errors = [] }
        return text
    }
}
