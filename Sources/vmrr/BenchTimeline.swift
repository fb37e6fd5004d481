import Glibc
import VMRRBase
import VMRRDevices
import VMRRJournal
import VMRRMachine
import VMRRTimeline

/// `vmrr bench` part 5: `vmrr timeline` on a long journal (issue 17's goals:
/// the JSON of 1,000,000 events in under 5 s; the HTML view interactive in
/// headless Chromium in under 3 s). Measured and printed, never asserted.
extension Bench {
    func timelineFigures(_ out: StdoutBuffer) throws {
        let journal = "\(scratch)/vmrr-bench-timeline-\(getpid()).vmrr"
        let json = "\(scratch)/vmrr-bench-timeline-\(getpid()).json"
        let gz = json + ".gz", html = "\(scratch)/vmrr-bench-timeline-\(getpid()).html"
        defer { for p in [journal, json, gz, html] { unlink(p) } }
        var o = RecordOptions(imagePath: guest, journalPath: journal)
        o.guestArguments = ["\(timelineEvents)"]
        o.clock = .virtual
        let r = try RecordSession.record(o, input: BufferedInput(bytes: []), output: CapturedOutput())
        let size = JournalReader.fileSize(journal)
        out.line("timeline (journal of \(r.events) events, \(size) bytes; wall time, and the process's CPU time beside it):")
        for (format, path) in [(TraceFormat.json, json), (.jsonGzip, gz), (.html, html)] {
            let (wall, cpu) = try measure {
                let reader = try JournalReader(path: journal)
                let model = try TraceModel(reader: reader, name: journal, axis: .time)
                writeFileOrFail(path, try format.render(model))
            }
            out.line(row("write \(format.rawValue)", "\(f2(wall / 1e9)) s", "(CPU \(f2(cpu / 1e9)) s; \(JournalReader.fileSize(path)) bytes\(format == .json ? "; goal < 5 s" : ""))"))
            out.flush()
        }
        if let ready = ChromiumProbe.interactiveMilliseconds(html: html) {
            out.line(row("HTML interactive", "\(f2(ready.pageMs / 1000)) s", "(headless Chromium: navigation start to first draw with handlers set; goal < 3 s)"))
            out.line(row("chromium process", "\(f2(ready.wallMs / 1000)) s", "(start, load, dump the DOM, exit)"))
        } else {
            out.line(row("HTML interactive", "-", "(chromium not found or the page did not report ready)"))
        }
        out.line("")
        out.flush()
    }

    /// Wall and process CPU nanoseconds of `body`.
    func measure(_ body: () throws -> Void) throws -> (wall: Double, cpu: Double) {
        func cpuNow() -> Double {
            var u = rusage()
            getrusage(RUSAGE_SELF.rawValue, &u)
            return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e9 + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e3
        }
        let w0 = monotonicNanoseconds(), c0 = cpuNow()
        try body()
        return (Double(monotonicNanoseconds() - w0), cpuNow() - c0)
    }
}

extension JournalReader {
    /// A file's size in bytes (0 when it cannot be read).
    static func fileSize(_ path: String) -> UInt64 {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_size) : 0
    }
}

/// Headless Chromium opening an HTML view with `--dump-dom`: the page
/// writes `data-ready-ms` (performance.now() when it is interactive) into
/// the DOM it dumps.
enum ChromiumProbe {
    static func interactiveMilliseconds(html: String) -> (pageMs: Double, wallMs: Double)? {
        guard let exe = (["/usr/bin/chromium", "/usr/bin/chromium-browser"] as [String]).first(where: { access($0, X_OK) == 0 }) else { return nil }
        let profile = "/tmp/vmrr-bench-chromium-\(getpid())"
        defer { _ = try? runCollecting(["/bin/rm", "-rf", profile]) }
        let t0 = monotonicNanoseconds()
        guard let dom = try? runCollecting([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                             "--user-data-dir=\(profile)", "--dump-dom", "file://\(html)"]) else { return nil }
        let wall = Double(monotonicNanoseconds() - t0) / 1e6
        let marker = Array("data-ready-ms=\"".utf8)
        guard let at = firstIndex(of: marker, in: dom) else { return nil }
        var digits = ""
        for b in dom[(at + marker.count)...] {
            guard b == UInt8(ascii: ".") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) else { break }
            digits.append(Character(UnicodeScalar(b)))
        }
        return Double(digits).map { ($0, wall) }
    }

    static func firstIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        outer: for i in 0...(hay.count - needle.count) {
            for j in 0..<needle.count where hay[i + j] != needle[j] { continue outer }
            return i
        }
        return nil
    }

    /// Runs a program with stderr to /dev/null and returns its stdout.
    static func runCollecting(_ args: [String]) throws -> [UInt8] {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw FileError(operation: "pipe", errno: Errno(errno)) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, args[0], &actions, nil, &argv, environ)
        close(fds[1])
        defer { close(fds[0]) }
        guard rc == 0 else { throw FileError(operation: "posix_spawn \(args[0])", errno: Errno(rc)) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try valueOrErrno(retryOnInterrupt: true) { chunk.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) } }.get()
            if n == 0 { break }
            out.append(contentsOf: chunk[..<n])
        }
        var status: Int32 = 0
        _ = try valueOrErrno(retryOnInterrupt: true) { waitpid(pid, &status, 0) }.get()
        return out
    }
}
