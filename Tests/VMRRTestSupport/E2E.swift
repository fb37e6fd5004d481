import Foundation
import Testing
import VMRRBase

/// Helpers that drive the vmrr executable end to end.
public enum E2E {
    public static var guestsDir: URL { Fixtures.guestsDir }
    public static var journalsDir: URL { Fixtures.journalsDir }

    /// Records `image` into `dir/name.vmrr`; returns the run and the journal path.
    public static func record(_ image: String, in dir: URL, name: String, options: [String] = [], guestArgs: [String] = [],
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
    public static func dump(_ journal: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Dumped {
        let r = try Fixtures.vmrr(["dump", "--json", journal])
        try #require(r.status == 0 && r.exited, "vmrr dump --json \(journal): status \(r.status): \(r.stderr)",
                     sourceLocation: sourceLocation)
        return try parse(r)
    }

    public static func parse(_ r: Fixtures.Result) throws -> Dumped {
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let objs = try Fixtures.jsonEvents(r.stdout)
        return Dumped(events: zip(objs, lines).map { DumpEvent(fields: $0, line: $1) }, stderr: r.stderr)
    }

    /// The invariants every complete journal has: indices 0..<n in order,
    /// checkpoint 0 first, checkpoint ids 0, 1, 2... in order, and one final
    /// `end` record carrying the guest's status.
    public static func checkShape(_ d: Dumped, status: Int32, reason: String? = nil,
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

    /// Replays `journal` twice and checks replay's exit status: without
    /// --quiet it is 0 (the journal replayed identically) and the success
    /// line names the recorded guest's `status`, and the console output is
    /// the recording's; with --quiet and --exit-with-guest-status it is the
    /// guest's `status`, and nothing reaches stdout. Neither reports a
    /// divergence or a warning.
    public static func checkReplay(_ journal: String, status: Int32, console: String, extra: [String] = [],
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let loud = try Fixtures.vmrr(["replay"] + extra + [journal])
        #expect(loud.exited && loud.status == ExitStatus.replayedIdentically,
                "replay status \(loud.status), expected 0 (identical): \(loud.stderr)", sourceLocation: sourceLocation)
        #expect(loud.stdout == console, "replay console output differs from the recording's", sourceLocation: sourceLocation)
        #expect(loud.stderr.contains("identically"), "no success line: \(loud.stderr)", sourceLocation: sourceLocation)
        #expect(loud.stderr.contains("; guest status \(status) ("), "the success line does not name guest status \(status): \(loud.stderr)",
                sourceLocation: sourceLocation)
        #expect(!loud.stderr.contains("diverged") && !loud.stderr.contains("warning"), "\(loud.stderr)",
                sourceLocation: sourceLocation)
        let quiet = try Fixtures.vmrr(["replay", "--quiet", "--exit-with-guest-status"] + extra + [journal])
        #expect(quiet.exited && quiet.status == status,
                "replay --quiet --exit-with-guest-status status \(quiet.status), expected \(status): \(quiet.stderr)",
                sourceLocation: sourceLocation)
        #expect(quiet.stdout.isEmpty, "replay --quiet printed on stdout: \(quiet.stdout.prefix(200))", sourceLocation: sourceLocation)
    }

    /// "replayed events S–L of N" from a replay's stderr: (S, L).
    public static func replayedRange(_ stderr: String) -> (start: UInt64, last: UInt64)? {
        guard let line = stderr.split(separator: "\n").first(where: { $0.contains("replayed events ") }),
              let r = line.range(of: "replayed events ") else { return nil }
        let rest = line[r.upperBound...]
        let parts = rest.split(whereSeparator: { $0 == "–" || $0 == " " })
        guard parts.count >= 2, let s = UInt64(parts[0]), let l = UInt64(parts[1]) else { return nil }
        return (s, l)
    }

    /// Runs a shell command (for building guest variants); throws on failure.
    @discardableResult
    public static func shell(_ command: String, cwd: URL, env: [String: String] = [:]) throws -> String {
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

    /// Writes `bytes` to a new file.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// The bytes of a file (VMRRBase's one file reader).
    public static func read(_ path: String) throws -> [UInt8] {
        try FileIO.read(path)
    }
}
