import VMRRBase
import CEdit
import Glibc
import Synchronization
import VMRRGuest
import VMRRReplay

/// Reads command lines and hands them to a session: with libedit (line
/// editing, ~/.editrc, history, tab completion) when stdin is a terminal,
/// else line by line without a prompt, so scripts and tests can drive it.
public enum REPL {
    /// Runs `commandFile` first, then (unless `batch`) the lines from stdin
    /// until quit or end of input. Returns the process exit status: 1 when
    /// the command file cannot be read, or when the last command of a
    /// non-interactive run failed (as gdb's batch mode does); else 0.
    public static func run(session: DebuggerSession, commandFile: String?, batch: Bool) -> Int32 {
        Interrupts.install(session.target)
        defer { Interrupts.uninstall() }
        if let commandFile {
            let text: String
            do { text = try FileIO.readText(commandFile, regularOnly: false) } catch {
                StandardOutput.write(STDERR_FILENO, "\(commandFile): cannot read the command file: \(error.errno)\n")
                return 1
            }
            // As in gdb, an empty line in a command file does nothing (it does not repeat).
            for line in text.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
                if !session.execute(String(line)) { return session.lastCommandFailed && batch ? 1 : 0 }
            }
        }
        if batch { return session.lastCommandFailed ? 1 : 0 }
        if isatty(STDIN_FILENO) != 0 {
            interactive(session)
            return 0
        }
        var input = LineReader(fd: STDIN_FILENO)
        while let line = input.next() {
            if !session.execute(line) { break }
        }
        return session.lastCommandFailed ? 1 : 0
    }

    /// The history file: `$VMRR_HISTORY`, else `~/.vmrr_history`.
    static var historyPath: String? {
        if let p = getenv("VMRR_HISTORY"), p.pointee != 0 { return String(cString: p) }
        guard let home = getenv("HOME"), home.pointee != 0 else { return nil }
        return String(cString: home) + "/.vmrr_history"
    }

    static let historyLimit: Int32 = 1000

    static func interactive(_ session: DebuggerSession) {
        CompletionState.symbols = session.symbolNames
        // The name lives as long as the process; libedit keeps the pointer.
        vmrr_rl_set_readline_name(strdup("vmrr"))
        vmrr_rl_set_word_break_characters(strdup(" \t\n"))
        vmrr_rl_set_attempted_completion(attemptCompletion)
        vmrr_rl_set_completion_entry(nextCompletion)
        vmrr_rl_set_attempted_completion_over(1)
        // Ctrl-C at the prompt comes to our handler, which makes readline return.
        vmrr_rl_set_catch_signals(0)
        rl_initialize()
        using_history()
        stifle_history(historyLimit)
        let path = historyPath
        if let path { _ = read_history(path) }
        var last = ""
        while true {
            Interrupts.pending.store(false, ordering: .relaxed)
            guard let raw = readline(session.prompt) else {
                if Interrupts.pending.load(ordering: .relaxed) {
                    StandardOutput.write(STDOUT_FILENO, "\nQuit\n")
                    continue
                }
                StandardOutput.write(STDOUT_FILENO, "quit\n")
                break
            }
            let line = String(cString: raw)
            free(raw)
            if !line.allSatisfy({ $0 == " " || $0 == "\t" }), line != last {
                add_history(line)
                last = line
                if let path { _ = write_history(path) }
            }
            if !session.execute(line) { break }
        }
    }

    /// Lines from a file descriptor with read(2). (Swift's readLine() retries
    /// getline while errno is EINTR, and getline leaves errno alone at end of
    /// file: a stale EINTR from an interrupted KVM_RUN made it spin forever.)
    struct LineReader {
        let fd: Int32
        var buffer: [UInt8] = []
        var atEnd = false

        init(fd: Int32) { self.fd = fd }

        mutating func next() -> String? {
            while true {
                if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[..<nl], as: UTF8.self)
                    buffer.removeSubrange(...nl)
                    return line
                }
                if atEnd {
                    guard !buffer.isEmpty else { return nil }
                    defer { buffer = [] }
                    return String(decoding: buffer, as: UTF8.self)
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                // `chunk` is alive and holds chunk.count bytes for the call.
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    // Ctrl-C while waiting for piped input ends the session; other signals do not.
                    if errno == EINTR, !Interrupts.pending.load(ordering: .relaxed) { continue }
                    atEnd = true
                } else if n == 0 {
                    atEnd = true
                } else {
                    buffer += chunk[0..<n]
                }
            }
        }
    }
}

/// What `vmrr debug` calls: a session on `target`, with a short banner when
/// a person is at the terminal, then the REPL. `imagePath` is the guest image
/// (for symbols when `symbols` is nil, and for code where memory is not
/// known). Returns the exit status.
public func runDebugger(target: DebugTarget, symbols: SymbolTable?, imagePath: String?, commandFile: String?,
                        batch: Bool) -> Int32 {
    let out = StandardOutput()
    let session = DebuggerSession(target: target, symbols: symbols, imagePath: imagePath, output: out)
    return runDebugger(session, output: out, commandFile: commandFile, batch: batch)
}

/// The same with the image already loaded (e.g. from a bundle: `GuestImage.parse(bytes:path:)`).
public func runDebugger(target: DebugTarget, symbols: SymbolTable?, image: GuestImage?, commandFile: String?,
                        batch: Bool) -> Int32 {
    let out = StandardOutput()
    let session = DebuggerSession(target: target, symbols: symbols, image: image, output: out)
    return runDebugger(session, output: out, commandFile: commandFile, batch: batch)
}

func runDebugger(_ session: DebuggerSession, output out: StandardOutput, commandFile: String?, batch: Bool) -> Int32 {
    let target = session.target
    if let note = target.journal.truncationNote { out.error("warning: \(note)") }
    if !batch, isatty(STDIN_FILENO) != 0 {
        let j = target.journal
        out.line("vmrr debug: \(j.path): events 0 to \(target.lastEvent), \(j.checkpoints.count) checkpoints.")
        if let why = target.executionUnavailableReason {
            out.line("No execution: \(why).")
            out.line("Registers are known at every event; memory, special registers and the MMU views at checkpoints.")
        }
        out.line("Type help for the commands, quit or Ctrl-D to leave.")
        try? session.showPosition()
    }
    return REPL.run(session: session, commandFile: commandFile, batch: batch)
}

// MARK: Ctrl-C

/// SIGINT while a command runs asks the target to stop (it returns at a
/// consistent position); at the prompt it abandons the line.
enum Interrupts {
    static let pending = Atomic<Bool>(false)
    nonisolated(unsafe) static var target: (any DebugTarget)?

    static func install(_ t: any DebugTarget) {
        target = t
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            Interrupts.pending.store(true, ordering: .relaxed)
            Interrupts.target?.requestInterrupt()
        }
        sigemptyset(&action.sa_mask)
        // No SA_RESTART: a read at the prompt returns, so readline gives the prompt back.
        action.sa_flags = 0
        sigaction(SIGINT, &action, nil)
    }

    static func uninstall() {
        signal(SIGINT, SIG_DFL)
        target = nil
    }
}

// MARK: tab completion through libedit

/// The candidates of the completion in progress; libedit calls on one thread.
enum CompletionState {
    nonisolated(unsafe) static var symbols: [String] = []
    nonisolated(unsafe) static var candidates: [String] = []
    nonisolated(unsafe) static var next = 0
}

/// rl_attempted_completion_function: works out what the word is (a command,
/// a register, a symbol, an event kind) from the line before it.
private func attemptCompletion(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32)
    -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    let word = text.map { String(cString: $0) } ?? ""
    var before = ""
    if let buffer = vmrr_rl_line_buffer() {
        let bytes = Array(String(cString: buffer).utf8.prefix(Int(max(start, 0))))
        before = String(decoding: bytes, as: UTF8.self)
    }
    CompletionState.candidates = Completion.candidates(before: before, word: word, symbols: CompletionState.symbols)
    CompletionState.next = 0
    guard !CompletionState.candidates.isEmpty else { return nil }
    return rl_completion_matches(text, nextCompletion)
}

/// The generator: each call returns the next candidate (malloc'd, libedit frees it).
private func nextCompletion(_ text: UnsafePointer<CChar>?, _ state: Int32) -> UnsafeMutablePointer<CChar>? {
    if state == 0 { CompletionState.next = 0 }
    guard CompletionState.next < CompletionState.candidates.count else { return nil }
    let s = CompletionState.candidates[CompletionState.next]
    CompletionState.next += 1
    return strdup(s)
}
