import Foundation
import VMRRBase

/// A process started in the background (posix_spawn, default signal
/// actions, empty mask, as a shell starts it), to be signalled while it
/// runs: the recorder fault tests. stdout and stderr go to files in a
/// scratch directory, or stdout to a descriptor the test gives.
public final class BackgroundProcess {
    public let pid: pid_t
    let dir: URL
    public var stdoutPath: String { dir.appendingPathComponent("stdout").path }
    public var stderrPath: String { dir.appendingPathComponent("stderr").path }
    private var status: Int32?

    /// Starts `program` with `args`; with `stdoutFD`, the child's stdout is that descriptor.
    public init(_ program: String, _ args: [String], stdoutFD: Int32? = nil) throws {
        dir = Fixtures.scratch("background")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let fd = stdoutFD {
            posix_spawn_file_actions_adddup2(&actions, fd, 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, dir.appendingPathComponent("stdout").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        posix_spawn_file_actions_addopen(&actions, 2, dir.appendingPathComponent("stderr").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([program] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        self.pid = pid
    }

    deinit {
        if status == nil { kill(pid, SIGKILL); _ = wait(timeout: 60) }
        try? FileManager.default.removeItem(at: dir)
    }

    public func signal(_ sig: Int32) { if status == nil { kill(pid, sig) } }

    public var stdout: String { (try? FileIO.readText(stdoutPath)) ?? "" }
    public var stderr: String { (try? FileIO.readText(stderrPath)) ?? "" }

    /// Polls `condition` every 50 ms until it holds (true) or `timeout` seconds pass (false).
    /// Waiting is bounded so a broken build fails the test instead of hanging it.
    public static func poll(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    /// Waits for the process to end (killing it after `timeout` seconds):
    /// its exit status, or 128 + N after signal N.
    @discardableResult
    public func wait(timeout: Double) -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        let deadline = Date().addingTimeInterval(timeout)
        while waitpid(pid, &raw, WNOHANG) == 0 {
            if Date() > deadline { kill(pid, SIGKILL); waitpid(pid, &raw, 0); break }
            usleep(10_000)
        }
        let s = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        status = s
        return s
    }
}
