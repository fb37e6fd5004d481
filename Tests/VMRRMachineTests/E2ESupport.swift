import Foundation
import Testing
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRReplay
import VMRRBase

/// One event of `vmrr dump --json`.
struct DumpEvent {
    let fields: [String: Any]
    let line: String

    var index: UInt64 { fields.int("index") ?? UInt64.max }
    var kind: String { fields.str("kind") ?? "?" }
    var rip: UInt64 { fields.int("rip") ?? 0 }
    func u(_ key: String) -> UInt64? { fields.int(key) }
    func s(_ key: String) -> String? { fields.str(key) }

    var isConsoleWrite: Bool {
        kind == "io" && u("port") == UInt64(Layout.com1Base + Layout.uartTHR) && s("dir") == "out"
    }
}

/// A journal as `vmrr dump --json` shows it.
struct Dumped {
    let events: [DumpEvent]
    let stderr: String

    var lines: [String] { events.map(\.line) }
    func of(_ kind: String) -> [DumpEvent] { events.filter { $0.kind == kind } }
    /// Bytes the guest wrote to COM1's THR as console output (not with the
    /// divisor latch selected, not in loopback: `ConsoleFilter`).
    var console: [UInt8] { consoleBytes(from: 0, through: .max) }
    var consoleText: String { String(decoding: console, as: UTF8.self) }
    /// Console output produced by events `from...through`.
    func consoleText(from first: UInt64, through last: UInt64 = .max) -> String {
        String(decoding: consoleBytes(from: first, through: last), as: UTF8.self)
    }
    func consoleBytes(from first: UInt64, through last: UInt64) -> [UInt8] {
        var filter = ConsoleFilter(thrPort: Layout.com1Base + Layout.uartTHR)
        var out: [UInt8] = []
        for e in events where e.kind == "io" && e.s("dir") == "out" {
            guard let port = e.u("port").flatMap(UInt16.init(exactly:)), let value = e.u("value") else { continue }
            let byte = filter.observe(.io(port: port, size: 1, direction: .write, value: value))
            if let byte, e.index >= first && e.index <= last { out.append(byte) }
        }
        return out
    }
    var end: DumpEvent? { events.last.flatMap { $0.kind == "end" ? $0 : nil } }
    /// (checkpoint id, event index) in journal order.
    var checkpoints: [(id: UInt64, index: UInt64)] { of("checkpoint").map { ($0.u("id") ?? .max, $0.index) } }
}

/// Reference model of `--clock virtual` (VMRRMachine.VirtualClock): the clock
/// advances by `VirtualClock.nanosecondsPerExit` at every VM exit, before the
/// exit is answered, and jumps to the armed deadline when the guest halts
/// for the timer. Checkpoints, injected interrupts and the end record are not
/// exits.
enum VirtualClockModel {
    static let exitKinds: Set<String> = ["io", "mmio", "hlt", "shutdown", "page_fault", "stage2_fault",
                                          "clock", "timer", "input", "error"]

    /// The value every `clock` event must carry, in order.
    static func expectedClockValues(_ events: [DumpEvent]) -> [UInt64] {
        var now: UInt64 = 0
        var deadline: UInt64?
        var values: [UInt64] = []
        for e in events {
            if exitKinds.contains(e.kind) { now += VirtualClock.nanosecondsPerExit }
            switch e.kind {
            case "clock": values.append(now)
            case "timer": deadline = e.u("deadline").flatMap { $0 == 0 ? nil : $0 }
            case "hlt": if let d = deadline, d > now { now = d }
            case "interrupt": deadline = nil
            default: break
            }
        }
        return values
    }
}

/// The chunk layout of a journal file (docs/JOURNAL.md), walked
/// independently of VMRRJournal so tests can aim damage at known places.
struct ChunkMap {
    struct Chunk {
        var offset: Int
        var type: UInt8
        var payloadLength: Int
        var first: UInt64
        var count: UInt32
        var end: Int { offset + 25 + payloadLength }
    }
    let size: Int
    let headerEnd: Int
    let chunks: [Chunk]

    init(path: String) throws {
        let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func u32(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
        guard b.count >= 20, Array(b[0..<8]) == Array("VMRRJRNL".utf8) else { throw TestFailure("\(path): not a journal") }
        size = b.count
        headerEnd = 16 + u32(12) + 4
        var off = headerEnd
        var chunks: [Chunk] = []
        while off + 25 <= b.count, Array(b[off..<off + 4]) == Array("CHNK".utf8) {
            let c = Chunk(offset: off, type: b[off + 4], payloadLength: u32(off + 5), first: u64(off + 9),
                          count: UInt32(u32(off + 17)))
            chunks.append(c)
            off = c.end
        }
        self.chunks = chunks
    }

    var eventChunks: [Chunk] { chunks.filter { $0.type == 1 } }
    var checkpointChunks: [Chunk] { chunks.filter { $0.type == 2 } }
    var indexChunk: Chunk? { chunks.first { $0.type == 3 } }
    /// Events in the events chunks that lie wholly before `cut`.
    func eventsReadable(cutAt cut: Int) -> UInt64 {
        eventChunks.filter { $0.end <= cut }.reduce(0) { $0 + UInt64($1.count) }
    }
}

/// Helpers that drive the vmrr executable end to end.
enum E2E {
    static var guestsDir: URL { Fixtures.root.appendingPathComponent("fixtures/guests") }
    static var journalsDir: URL { Fixtures.root.appendingPathComponent("fixtures/journals") }

    /// Records `image` into `dir/name.vmrr`; returns the run and the journal path.
    static func record(_ image: String, in dir: URL, name: String, options: [String] = [], guestArgs: [String] = [],
                       stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> (Fixtures.Result, String) {
        let journal = dir.appendingPathComponent("\(name).vmrr").path
        var args = ["record", image, "-o", journal] + options
        if !guestArgs.isEmpty { args += ["--"] + guestArgs }
        let r = try Fixtures.vmrr(args, stdin: stdin)
        #expect(r.exited && !r.timedOut, "vmrr record \(name) ended by a signal: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(FileManager.default.fileExists(atPath: journal), "no journal written: \(r.stderr)", sourceLocation: sourceLocation)
        return (r, journal)
    }

    /// `vmrr dump --json`, which must succeed.
    static func dump(_ journal: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Dumped {
        let r = try Fixtures.vmrr(["dump", "--json", journal])
        try #require(r.status == 0 && r.exited, "vmrr dump --json \(journal): status \(r.status): \(r.stderr)",
                     sourceLocation: sourceLocation)
        return try parse(r)
    }

    static func parse(_ r: Fixtures.Result) throws -> Dumped {
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let objs = try Fixtures.jsonEvents(r.stdout)
        return Dumped(events: zip(objs, lines).map { DumpEvent(fields: $0, line: $1) }, stderr: r.stderr)
    }

    /// The invariants every complete journal has: indices 0..<n in order,
    /// checkpoint 0 first, checkpoint ids 0, 1, 2... in order, and one final
    /// `end` record carrying the guest's status.
    static func checkShape(_ d: Dumped, status: Int32, reason: String? = nil,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(d.events.map(\.index) == Array(0..<UInt64(d.events.count)), "event indices are not 0..<n",
                sourceLocation: sourceLocation)
        #expect(d.events.first?.kind == "checkpoint" && d.events.first?.u("id") == 0, "journal does not start with checkpoint 0",
                sourceLocation: sourceLocation)
        #expect(d.checkpoints.map(\.id) == Array(0..<UInt64(d.checkpoints.count)), sourceLocation: sourceLocation)
        #expect(d.of("end").count == 1, sourceLocation: sourceLocation)
        #expect(d.end.flatMap { $0.fields["status"] as? NSNumber }?.int32Value == status,
                "end record status, expected \(status): \(d.end?.line ?? "no end record")", sourceLocation: sourceLocation)
        if let reason { #expect(d.end?.s("reason") == reason, sourceLocation: sourceLocation) }
    }

    /// Replays `journal` twice, with and without --quiet, and checks the
    /// status, that the console output is the recording's, and that no
    /// divergence or warning was reported.
    static func checkReplay(_ journal: String, status: Int32, console: String, extra: [String] = [],
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let loud = try Fixtures.vmrr(["replay"] + extra + [journal])
        #expect(loud.exited && loud.status == status, "replay status \(loud.status), expected \(status): \(loud.stderr)",
                sourceLocation: sourceLocation)
        #expect(loud.stdout == console, "replay console output differs from the recording's", sourceLocation: sourceLocation)
        #expect(loud.stderr.contains("identically"), "no success line: \(loud.stderr)", sourceLocation: sourceLocation)
        #expect(!loud.stderr.contains("diverged") && !loud.stderr.contains("warning"), "\(loud.stderr)",
                sourceLocation: sourceLocation)
        let quiet = try Fixtures.vmrr(["replay", "--quiet"] + extra + [journal])
        #expect(quiet.exited && quiet.status == status, "replay --quiet status \(quiet.status): \(quiet.stderr)",
                sourceLocation: sourceLocation)
        #expect(quiet.stdout.isEmpty, "replay --quiet printed on stdout: \(quiet.stdout.prefix(200))", sourceLocation: sourceLocation)
    }

    /// Runs a shell command (for building guest variants); throws on failure.
    @discardableResult
    static func shell(_ command: String, cwd: URL, env: [String: String] = [:]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        p.currentDirectoryURL = cwd
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationReason == .exit, p.terminationStatus == 0 else {
            throw TestFailure("`\(command)` in \(cwd.path) failed (status \(p.terminationStatus)): \(text)")
        }
        return text
    }

    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// Writes `bytes` to a new file.
    static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func read(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
