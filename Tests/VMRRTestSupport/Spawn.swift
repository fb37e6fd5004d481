import Foundation

/// The one way tests start a child process as a shell starts it: posix_spawn
/// with an empty signal mask and default actions for every signal a test
/// sends or a limit raises, stdin, stdout and stderr from files or a
/// descriptor, optionally in a process group of its own; and the one way
/// they wait for it, bounded. `Fixtures.spawn`, `BackgroundProcess` and
/// `BudgetedRun` all go through here.
public enum Spawn {
    /// Where a standard stream of the child comes from or goes to.
    public enum Stream {
        /// A file opened for reading (stdin) or created and truncated (stdout, stderr).
        case file(String)
        /// A descriptor of the test process, duplicated into the child.
        case descriptor(Int32)
    }

    /// The signals the child gets with their default actions, whatever the
    /// test process does with them (a runner started under nohup ignores
    /// SIGHUP; a handler is reset by exec anyway): the ones the fault tests
    /// send (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1), SIGCHLD, and
    /// the ones `ulimit -t` and `ulimit -f` raise (SIGXCPU, SIGXFSZ).
    public static let defaultSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGXCPU, SIGXFSZ]

    /// Starts `program` with `args` (argv[0] is `program`); with `ownGroup`,
    /// in a new process group whose id is the child's pid, so that
    /// `kill(-pid, …)` reaches everything it starts.
    public static func start(_ program: String, _ args: [String], stdin: Stream, stdout: Stream, stderr: Stream,
                             ownGroup: Bool = false) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, stream) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            switch stream {
            case let .file(path):
                if fd == 0 {
                    posix_spawn_file_actions_addopen(&actions, fd, path, O_RDONLY, 0)
                } else {
                    posix_spawn_file_actions_addopen(&actions, fd, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                }
            case let .descriptor(d): posix_spawn_file_actions_adddup2(&actions, d, fd)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s in defaultSignals { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let argv = ([program] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        return pid
    }

    /// How a child ended.
    public struct Ended {
        /// The raw wait status.
        public var raw: Int32
        /// True when the timeout's SIGKILL ended it.
        public var timedOut: Bool
        /// Its resource usage (wait4).
        public var usage: rusage
        public var exited: Bool { raw & 0x7f == 0 }
        /// The exit status, or 128 + N after signal N (as a shell reports it).
        public var shellStatus: Int32 { exited ? (raw >> 8) & 0xff : 128 + (raw & 0x7f) }
        /// The signal that ended it, if one did.
        public var signal: Int32? { exited ? nil : raw & 0x7f }
    }

    /// Waits for `pid`, polling every `poll` seconds; after `timeout` seconds
    /// it is killed with SIGKILL (its whole group with `group`), so a hung
    /// child fails its test instead of hanging the run.
    public static func wait(_ pid: pid_t, timeout: Double, group: Bool = false, poll: Double = 0.01) -> Ended {
        var raw: Int32 = 0
        var usage = rusage()
        var timedOut = false
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let r = wait4(pid, &raw, WNOHANG, &usage)
            if r == -1 && errno == EINTR { continue }
            if r != 0 { break }
            if Date() > deadline {
                timedOut = true
                kill(group ? -pid : pid, SIGKILL)
                wait4(pid, &raw, 0, &usage)
                break
            }
            usleep(useconds_t(poll * 1e6))
        }
        return Ended(raw: raw, timedOut: timedOut, usage: usage)
    }
}
