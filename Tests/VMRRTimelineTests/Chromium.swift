import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Debian's headless Chromium driven over the DevTools protocol on a pipe
/// (`--remote-debugging-pipe`: commands go in on the browser's fd 3,
/// replies and events come out of its fd 4, each a JSON text ended by NUL).
final class Chromium {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ s: String) { description = s }
    }

    /// The browser, when Debian's package is installed (scripts/deps installs it).
    static var executable: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    let pid: pid_t
    private let toBrowser: Int32
    private let fromBrowser: Int32
    private var nextID = 1
    private var pending: [UInt8] = []
    /// Every event received so far (method and params), in order.
    private(set) var events: [(method: String, params: [String: Any])] = []
    private var session: String?
    private let profile: URL

    init(width: Int, height: Int) throws {
        guard let exe = Chromium.executable else { throw Failure("chromium is not installed") }
        profile = FileManager.default.temporaryDirectory.appendingPathComponent("vmrr-chromium-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        var commands: [Int32] = [0, 0], replies: [Int32] = [0, 0]
        guard pipe(&commands) == 0, pipe(&replies) == 0 else { throw Failure("pipe: errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, commands[0], 3)
        posix_spawn_file_actions_adddup2(&actions, replies[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--no-first-run",
                    "--no-default-browser-check", "--disable-extensions", "--user-data-dir=\(profile.path)",
                    "--window-size=\(width),\(height)", "about:blank"]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, exe, &actions, nil, &argv, environ)
        close(commands[0]); close(replies[1])
        guard rc == 0 else { close(commands[1]); close(replies[0]); throw Failure("posix_spawn \(exe): \(rc)") }
        pid = child
        toBrowser = commands[1]
        fromBrowser = replies[0]
    }

    deinit {
        close(toBrowser); close(fromBrowser)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        try? FileManager.default.removeItem(at: profile)
    }

    /// Sends a command (to the attached page unless `browser`) and returns its result.
    @discardableResult
    func send(_ method: String, _ params: [String: Any] = [:], browser: Bool = false, timeout: Double = 60) throws -> [String: Any] {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if !browser, let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(toBrowser, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure("write to chromium: errno \(errno)") }
            off += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let m = try receive(until: deadline, waitingFor: method)
            if let rid = m["id"] as? Int, rid == id {
                if let error = m["error"] as? [String: Any] { throw Failure("\(method): \(error)") }
                return m["result"] as? [String: Any] ?? [:]
            }
        }
    }

    /// Waits for an event named `method` (one already received counts), and returns its params.
    func waitFor(_ method: String, timeout: Double = 60) throws -> [String: Any] {
        if let e = events.first(where: { $0.method == method }) { return e.params }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let m = try receive(until: deadline, waitingFor: method)
            if m["method"] as? String == method { return m["params"] as? [String: Any] ?? [:] }
        }
    }

    private func receive(until deadline: Date, waitingFor what: String) throws -> [String: Any] {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let text = Array(pending[..<end])
                pending.removeSubrange(...end)
                guard let m = try JSONSerialization.jsonObject(with: Data(text)) as? [String: Any] else { continue }
                if let method = m["method"] as? String { events.append((method, m["params"] as? [String: Any] ?? [:])) }
                return m
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure("chromium: no answer to \(what)") }
            var p = pollfd(fd: fromBrowser, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(left, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            guard ready >= 0 else { throw Failure("poll: errno \(errno)") }
            if ready == 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(fromBrowser, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure("chromium closed its pipe while waiting for \(what)") }
            pending.append(contentsOf: chunk[..<n])
        }
    }

    /// Attaches to the first page and enables what the tests watch.
    func attachPage(width: Int, height: Int) throws {
        let targets = try send("Target.getTargets", browser: true)["targetInfos"] as? [[String: Any]] ?? []
        guard let page = targets.first(where: { $0["type"] as? String == "page" }), let id = page["targetId"] as? String else {
            throw Failure("chromium has no page target")
        }
        let attached = try send("Target.attachToTarget", ["targetId": id, "flatten": true], browser: true)
        session = attached["sessionId"] as? String
        try send("Runtime.enable")
        try send("Log.enable")
        try send("Page.enable")
        try send("Emulation.setDeviceMetricsOverride", ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": false])
    }

    /// Opens a URL and waits for its load event.
    func open(_ url: URL) throws {
        events.removeAll { $0.method == "Page.loadEventFired" }
        try send("Page.navigate", ["url": url.absoluteString])
        _ = try waitFor("Page.loadEventFired")
    }

    /// The value of a JavaScript expression in the page (JSON-compatible values).
    func evaluate(_ expression: String) throws -> Any? {
        let r = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let ex = r["exceptionDetails"] { throw Failure("evaluate \(expression): \(ex)") }
        return (r["result"] as? [String: Any])?["value"]
    }

    func mouse(_ type: String, x: Double, y: Double, deltaY: Double = 0) throws {
        var p: [String: Any] = ["type": type, "x": x, "y": y]
        if type == "mouseWheel" { p["deltaX"] = 0; p["deltaY"] = deltaY }
        try send("Input.dispatchMouseEvent", p)
    }

    func screenshot(to url: URL) throws {
        let r = try send("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let b64 = r["data"] as? String, let data = Data(base64Encoded: b64) else { throw Failure("no screenshot data") }
        try data.write(to: url)
    }

    /// Console errors, uncaught exceptions and error log entries so far.
    var errors: [String] {
        events.compactMap { e in
            switch e.method {
            case "Runtime.exceptionThrown": return "exception: \(e.params)"
            case "Runtime.consoleAPICalled" where e.params["type"] as? String == "error": return "console.error: \(e.params)"
            case "Log.entryAdded":
                let entry = e.params["entry"] as? [String: Any]
                return entry?["level"] as? String == "error" ? "log: \(entry ?? [:])" : nil
            default: return nil
            }
        }
    }
}
