import Foundation
import VMRRBase

/// A process started in the background (`Spawn.start`: default signal
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
        pid = try Spawn.start(program, args, stdin: .file("/dev/null"),
                              stdout: stdoutFD.map { .descriptor($0) } ?? .file(dir.appendingPathComponent("stdout").path),
                              stderr: .file(dir.appendingPathComponent("stderr").path))
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
        let s = Spawn.wait(pid, timeout: timeout).shellStatus
        status = s
        return s
    }
}
