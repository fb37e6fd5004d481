import Foundation
import Testing
import VMRRTestSupport
import VMRRBase

/// The REPL as users run it: `vmrr debug` with a pipe for stdin (scripts),
/// with -x and --batch, and in a real terminal (tmux) for line editing,
/// completion and history. These need the vmrr executable with its debug
/// subcommand, and tmux for the terminal test; they skip visibly otherwise.
enum DebugBinary {
    /// Probed once: `vmrr debug --help`, or nil when there is no debug subcommand.
    static let help: String? = {
        guard FileManager.default.isExecutableFile(atPath: Fixtures.vmrrBinary),
              let r = try? Fixtures.spawn(Fixtures.vmrrBinary, ["debug", "--help"]), r.status == 0 else { return nil }
        return r.stdout
    }()
    static var available: Bool { help != nil }
    /// Whether `vmrr debug` takes the command file as gdb does, with -x.
    static var hasDashX: Bool { help?.contains("-x ") ?? false }

    static let tmux: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite(.enabled(if: DebugBinary.available, "needs the vmrr executable with the debug subcommand"))
struct REPLTests {
    let journal = Fixtures.journalPath("paging")

    /// stdin not a terminal: no prompt, no banner, line by line; quit ends it with status 0.
    @Test func pipedCommands() throws {
        let r = try Fixtures.spawn(Fixtures.vmrrBinary, ["debug", journal, "--no-kvm"],
                                    stdin: "goto 501\ninfo registers rip\n\nbogus\nquit\nne\n")
        #expect(r.stdout == """
            #    501  rip=0x000000000010005d  checkpoint   id=1
            => 0x10005d <serial_puts+45>:  movzbl (%rdi), %esi
            rip            0x10005d           0x10005d <serial_puts+45>

            """)
        #expect(r.stderr == "unknown command 'bogus': help lists the commands\n")
        #expect(r.status == 0)
    }

    /// -x runs a command file first; --batch exits after it with the last command's status, as gdb.
    @Test(.enabled(if: DebugBinary.hasDashX, "vmrr debug has no -x FILE option"))
    func commandFileAndBatch() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("cmds").path
        try "# a comment\nbreak-event page_fault\nc\nc\n".write(toFile: file, atomically: true, encoding: .utf8)
        let r = try Fixtures.spawn(Fixtures.vmrrBinary, ["debug", journal, "--no-kvm", "-x", file, "--batch"],
                                    stdin: "info events\n")
        #expect(r.stdout == """
            Event breakpoint 1: page_fault
            Event breakpoint 1: page_fault
            #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
            => 0x100900 <isr_page_fault>:  pushq  $0xe
            Event breakpoint 1: page_fault
            #    266  rip=0x0000000000100900  page_fault   gva=0x40000000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
            => 0x100900 <isr_page_fault>:  pushq  $0xe

            """)
        #expect(r.status == 0)

        try "goto 1\nx/xg 0\n".write(toFile: file, atomically: true, encoding: .utf8)
        let failed = try Fixtures.spawn(Fixtures.vmrrBinary, ["debug", journal, "--no-kvm", "-x", file, "--batch"])
        #expect(failed.status == 1)
        #expect(failed.stderr.hasPrefix("memory at event 1 needs a replay on KVM"))
    }

    /// The real interactive REPL in a terminal: completion of a command, a
    /// register and a symbol; Up recalls history; Ctrl-C at the prompt; Ctrl-D quits.
    @Test(.enabled(if: DebugBinary.tmux != nil, "tmux is not installed"))
    func terminal() throws {
        let term = try Terminal(journal: journal, options: ["--no-kvm"])
        defer { term.close() }
        // capture-pane drops trailing spaces: a completion's appended space shows once the next key is typed.
        try term.wait(for: "(vmrr 0)", "the prompt")
        try term.keys("next-ev", "Tab", "2")
        try term.wait(for: "(vmrr 0) next-event 2", "command name completion")
        try term.keys("Enter")
        try term.wait(for: "(vmrr 2)", "next-event 2 ran")
        try term.keys("info symbol isr_pag", "Tab", "Enter")
        try term.wait(for: "(vmrr 2) info symbol isr_page_fault\nisr_page_fault\n", "symbol completion")
        try term.keys("info registers ri", "Tab", "Enter")
        try term.wait(for: "(vmrr 2) info registers rip\nrip            0x10005d", "register completion")
        try term.keys("break-event page", "Tab", "x")
        try term.wait(for: "(vmrr 2) break-event page_fault x", "event kind completion")
        try term.keys("C-u", "Up", "Up", "Up")
        try term.wait(for: "(vmrr 2) next-event 2", "Up recalls the history")
        try term.keys("Enter")
        try term.wait(for: "(vmrr 4)", "the recalled command ran")
        try term.keys("C-c")
        try term.wait(for: "Quit\n(vmrr 4)", "Ctrl-C at the prompt gives a new prompt")
        try term.keys("C-d")
        try term.wait(for: "EXITED 0", "Ctrl-D quits with status 0")
        let saved = try FileIO.readText(term.history)
        #expect(saved.contains("next-event"), "history saved in $VMRR_HISTORY: \(saved)")
        #expect(saved.contains("isr_page_fault"))
    }

    /// Ctrl-C during a long motion on KVM stops it at a consistent position and the session goes on.
    @Test(.enabled(if: DebugBinary.tmux != nil, "tmux is not installed"),
          .enabled(if: access("/dev/kvm", R_OK | W_OK) == 0, "/dev/kvm is not available"))
    func interruptALongMotion() throws {
        let term = try Terminal(journal: journal, options: [])
        defer { term.close() }
        try term.wait(for: "(vmrr 0)", "the prompt")
        try term.keys("stepi 100000000", "Enter")
        // A Ctrl-C that arrives before the motion has begun is not for it: press it until the motion stops.
        for _ in 0..<15 where !(try term.screen().contains("Interrupted.")) {
            usleep(1_000_000)
            try term.keys("C-c")
        }
        try term.wait(for: "Interrupted.\n#", "the stop report", timeout: 30)
        try term.wait(for: "instructions after event", "a position inside an event")
        try term.keys("info registers rip", "Enter")
        try term.wait(for: "\nrip            0x", "the session goes on")
        try term.keys("quit", "Enter")
        try term.wait(for: "EXITED 0", "quit")
    }
}

/// The REPL over the KVM target (`vmrr debug` with /dev/kvm): reverse
/// commands land exactly where forward execution had been.
@Suite("KVM REPL sessions", .enabled(if: DebugBinary.available, "needs the vmrr executable with the debug subcommand"),
       .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct KVMSessionTests {
    let journal = Fixtures.journalPath("paging")

    func debug(_ lines: [String]) throws -> Fixtures.Result {
        let r = try Fixtures.spawn(Fixtures.vmrrBinary, ["debug", journal], stdin: lines.joined(separator: "\n") + "\n",
                                    timeout: 300)
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        return r
    }

    /// The RIP of each "=> 0x..." line.
    static func rips(_ text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix("=> 0x") }.map { String($0.split(separator: " ")[1]) }
    }

    /// stepi N times recording each RIP, then reverse-stepi N times: the RIPs come back in reverse order,
    /// across the page fault injected at event 496.
    @Test func reverseStepiRetracesStepi() throws {
        let n = 12
        let r = try debug(["goto 495"] + Array(repeating: "stepi", count: n) + Array(repeating: "rsi", count: n))
        let all = Self.rips(r.stdout)
        try #require(all.count == 2 * n + 1, "\(r.stdout)")
        let forward = Array(all[0...n])
        let backward = Array(all[n...])
        #expect(backward == forward.reversed(), "\(r.stdout)")
        #expect(r.stdout.contains("#    496  rip=0x0000000000100900  page_fault"), "the steps cross event 496")
    }

    /// reverse-continue stops at the most recent breakpoint hit before the position.
    @Test func reverseContinueFindsTheLastHit() throws {
        let r = try debug(["break serial_puts", "continue", "continue", "continue", "reverse-continue", "rc"])
        let stops = r.stdout.components(separatedBy: "Breakpoint 1, serial_puts at 0x100030\n").dropFirst()
        try #require(stops.count == 5, "\(r.stdout)")
        #expect(stops[stops.startIndex + 3] == stops[stops.startIndex + 1])
        #expect(stops[stops.startIndex + 4] == stops[stops.startIndex])
    }

    /// A watch backward finds the last write (the guest's write after fault 1 at event 155).
    @Test func watchBackwardFindsTheLastWriter() throws {
        let r = try debug(["goto 501", "watch 0x600000", "reverse-continue"])
        #expect(r.stdout.contains("""
            Hardware watchpoint 1: 8 bytes at 0x600000 (guest-physical 0x401000)
            Hardware watchpoint 1: 0x600000 old 0x0000000000000000 new 0x5ca1ab1e00000001
            #    155  rip=0x0000000000100900  page_fault   gva=0x600000 error_code=0x2 cr3=0x10a000 fault_rip=0x10068b
            """), "\(r.stdout)")
    }
}

/// `vmrr debug` in a tmux session of its own (socket in a scratch directory).
final class Terminal {
    let tmux: String
    let dir: URL
    let socket: String
    let history: String

    init(journal: String, options: [String]) throws {
        tmux = try #require(DebugBinary.tmux)
        dir = Fixtures.scratch("terminal")
        socket = dir.appendingPathComponent("tmux.sock").path
        history = dir.appendingPathComponent("history").path
        // HOME points at an empty directory, so no ~/.editrc changes the keys.
        let command = "env HOME=\(dir.path) VMRR_HISTORY=\(history) \(Fixtures.vmrrBinary) debug \(journal) "
            + options.joined(separator: " ") + "; echo EXITED $?; sleep 60"
        let started = try Fixtures.spawn(tmux, ["-S", socket, "new-session", "-d", "-x", "160", "-y", "50", command],
                                          timeout: 10)
        try #require(started.status == 0, "tmux new-session: \(started.stderr)")
    }

    func close() {
        _ = try? Fixtures.spawn(tmux, ["-S", socket, "kill-server"], timeout: 10)
        try? FileManager.default.removeItem(at: dir)
    }

    func screen() throws -> String {
        let r = try Fixtures.spawn(tmux, ["-S", socket, "capture-pane", "-p", "-S", "-200"], timeout: 10)
        return r.status == 0 ? r.stdout : "(capture-pane failed: status \(r.status): \(r.stderr))"
    }

    func keys(_ k: String...) throws {
        _ = try Fixtures.spawn(tmux, ["-S", socket, "send-keys"] + k, timeout: 10)
    }

    /// Waits until the screen shows `text`; records an issue with the screen and throws when it never does.
    func wait(for text: String, _ comment: Comment, timeout: Double = 15) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try screen().contains(text) { return }
            usleep(50_000)
        }
        Issue.record("\(comment): '\(text)' never appeared; the screen was:\n\(try screen())")
        throw CancellationError()
    }
}
