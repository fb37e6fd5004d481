import Foundation
import VMRRBase

/// One run of a program under a budget, as the whole-CLI fuzz run needs:
/// address space and CPU seconds limited in the child (`ulimit -v`, `ulimit
/// -t`, set by /bin/sh before it execs the program, so the limits hold from
/// the first instruction), a wall-clock limit for hangs (a process blocked
/// in `open` uses no CPU), CPU time from wait4's rusage, and the program's
/// own peak resident memory from GNU time (/usr/bin/time, package `time`):
/// wait4's ru_maxrss is not the program's, because posix_spawn shares the
/// test process's memory until exec and Linux carries that high-water mark
/// across exec (every run reported the test process's size).
public struct BudgetedRun {
    public var status: Int32
    /// The signal that ended it, if one did (a trap, SIGXCPU, the hang SIGKILL).
    public var signal: Int32?
    public var hung: Bool
    public var stderr: String
    public var wallSeconds: Double
    public var cpuSeconds: Double
    public var maxRSSKiB: Int

    /// GNU time, which measures the program's own peak resident memory (scripts/deps installs it).
    static let timeProgram = "/usr/bin/time"

    /// Runs `program args` with stdin from /dev/null (or `stdinPath`), stdout discarded.
    public static func run(_ program: String, _ args: [String], memoryMiB: Int, cpuSeconds: Int, wallSeconds: Double,
                           stdinPath: String = "/dev/null", scratch: URL) throws -> BudgetedRun {
        let errPath = scratch.appendingPathComponent("stderr").path
        let rssPath = scratch.appendingPathComponent("maxrss").path
        try? FileManager.default.removeItem(atPath: rssPath)
        let script = "ulimit -v \(memoryMiB * 1024) && ulimit -t \(cpuSeconds) && exec \(timeProgram) -f 'maxrss %M' -o '\(rssPath)' \"$0\" \"$@\""
        let started = Date()
        // Its own process group, so that a hang's SIGKILL reaches the program under time(1).
        let pid = try Spawn.start("/bin/sh", ["-c", script, program] + args, stdin: .file(stdinPath),
                                  stdout: .file("/dev/null"), stderr: .file(errPath), ownGroup: true)
        let ended = Spawn.wait(pid, timeout: wallSeconds, group: true, poll: 0.002)
        let raw = ended.raw, usage = ended.usage, hung = ended.timedOut
        let wall = Date().timeIntervalSince(started)
        var exited = raw & 0x7f == 0
        var status = exited ? (raw >> 8) & 0xff : -1
        var signal: Int32? = exited ? nil : raw & 0x7f
        // time(1) exits 128+N when the program died of signal N, and says so.
        let report = (try? FileIO.readText(rssPath)) ?? ""
        try? FileManager.default.removeItem(atPath: rssPath)
        let maxRSS = report.split(separator: "\n").compactMap { $0.hasPrefix("maxrss ") ? Int($0.dropFirst(7)) : nil }.last
        if exited, let line = report.split(separator: "\n").first(where: { $0.hasPrefix("Command terminated by signal ") }),
           let n = Int32(line.dropFirst("Command terminated by signal ".count)) {
            exited = false; status = -1; signal = n
        }
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return BudgetedRun(status: status, signal: signal, hung: hung,
                           stderr: (try? FileIO.readText(errPath)) ?? "", wallSeconds: wall, cpuSeconds: cpu,
                           maxRSSKiB: maxRSS ?? Int(usage.ru_maxrss))
    }
}
