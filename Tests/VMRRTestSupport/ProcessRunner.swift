import Foundation
import VMRRBase

/// Running the vmrr executable and other programs from tests.
extension Fixtures {
    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// False when the process ended by a signal (a crash, or the timeout's SIGKILL).
        public var exited: Bool = true
        /// True when the timeout killed the process.
        public var timedOut: Bool = false
        /// stderr without trailing newlines, split into lines.
        public var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

        public init(status: Int32, stdout: String, stderr: String, exited: Bool = true, timedOut: Bool = false) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
            self.exited = exited
            self.timedOut = timedOut
        }
    }

    /// Runs the vmrr executable with arguments and optional stdin bytes. A run
    /// still going after `timeout` seconds is killed (and `timedOut` is set),
    /// so a hung guest fails its test instead of hanging the whole run.
    public static func vmrr(_ args: [String], stdin: String? = nil, timeout: Double = 180) throws -> Result {
        try run(vmrrBinary, args, stdin: stdin, timeout: timeout)
    }

    /// Runs vmrr on CPU-bound work (a kernel through this host's ring-0
    /// emulator) bounded by CPU time, not wall time: `ulimit -t cpuSeconds`
    /// in the child (SIGXCPU past it) and a wall-clock bound only against a
    /// hang. On a loaded machine the same work takes many times its idle wall
    /// time, so a wall-clock limit sized on an idle machine killed healthy
    /// runs (issue 18: the Debian decompressor test under a load of 20).
    public static func vmrrCPUBound(_ args: [String], cpuSeconds: Int, wallSeconds: Double = 6 * 3600) throws -> Result {
        try run("/bin/sh", ["-c", "ulimit -t \(cpuSeconds) && exec \"$0\" \"$@\"", vmrrBinary] + args, timeout: wallSeconds)
    }

    /// The same for any executable.
    public static func run(_ executable: String, _ args: [String], stdin: String? = nil, timeout: Double = 180) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        // stdin is a file, never a pipe the parent closes after the start:
        // the guest's UART shows whether input is pending or has ended (LSR
        // DR, the EOT byte), and with a pipe that depended on whether the
        // child read before or after the close, so two recordings of one
        // image could differ (a CI run: `pcdev` read LSR 0x60 in one, 0x61
        // in another). docs/DETERMINISM.md, "Byte-identical journals".
        p.standardInput = try stdinHandle(stdin)
        try p.run()
        let killed = KillFlag()
        let pid = p.processIdentifier
        let watchdog = DispatchWorkItem {
            killed.set()
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        // Read both pipes concurrently so neither fills up.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        watchdog.cancel()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self),
                      exited: p.terminationReason == .exit, timedOut: killed.isSet)
    }

    /// A child's stdin: /dev/null, or `text` in an unlinked file, read from its start.
    static func stdinHandle(_ text: String?) throws -> FileHandle {
        guard let text else { return FileHandle.nullDevice }
        let dir = scratch("stdin")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("stdin")
        try Data(text.utf8).write(to: file)
        return try FileHandle(forReadingFrom: file)
    }

    /// Runs a program to completion with optional stdin text (killed after `timeout` seconds)
    /// as a shell would (`Spawn`): an empty signal mask and default signal actions, so the child (and a tmux server it starts) gets Ctrl-C and SIGTERM. Output
    /// goes to files, so nothing blocks on a pipe. A child ended by signal N has status 128+N.
    public static func spawn(_ program: String, _ args: [String], stdin: String? = nil, timeout: Double = 60) throws -> Result {
        let dir = scratch("spawn")
        defer { try? FileManager.default.removeItem(at: dir) }
        let outPath = dir.appendingPathComponent("stdout").path, errPath = dir.appendingPathComponent("stderr").path
        let inPath = dir.appendingPathComponent("stdin").path
        try Data((stdin ?? "").utf8).write(to: URL(fileURLWithPath: inPath))
        let pid = try Spawn.start(program, args, stdin: .file(inPath), stdout: .file(outPath), stderr: .file(errPath))
        let ended = Spawn.wait(pid, timeout: timeout)
        return Result(status: ended.shellStatus,
                      stdout: try FileIO.readText(outPath),
                      stderr: try FileIO.readText(errPath),
                      exited: ended.exited, timedOut: ended.timedOut)
    }
}

/// A flag set from the watchdog's queue and read after the process ended.
final class KillFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
