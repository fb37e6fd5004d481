import Foundation
import Testing
import VMRRTestSupport

/// Byte-identical `--clock virtual` recordings (issue 13, issue 14's host
/// CPUID): every quick fixture guest is recorded ten times, alternating the
/// host CPU with `taskset -c 0` and `-c 1`, and the journal files must be
/// `cmp`-identical. Ten recordings of nine guests take about 40 s here
/// (debug build, two at a time, one on each CPU).
extension KVMEndToEnd {
    /// A fixture recording as fixtures/journals/record-all.sh makes it.
    struct Recording: Sendable, CustomStringConvertible {
        var guest: String
        var status: Int32
        var options: [String] = []
        var guestArgs: [String] = []
        var description: String { rec.isEmpty ? guest : guest + " " + rec }
        /// `--cpus N` when given (docs/SMP.md), to tell the smp recordings apart.
        var rec: String { options.first == "--cpus" ? options.joined(separator: " ") : "" }
    }

    static let reproducibleRecordings: [Recording] = [
        Recording(guest: "demo", status: 0, guestArgs: ["hello", "from", "a", "regression", "journal"]),
        Recording(guest: "paging", status: 0),
        Recording(guest: "timer", status: 0),
        Recording(guest: "echo", status: 0, options: ["--input", Fixtures.journalsDir.appendingPathComponent("echo.input").path]),
        Recording(guest: "bug", status: 0),
        Recording(guest: "exits", status: 0, guestArgs: ["1000"]),
        Recording(guest: "multiboot", status: 1, guestArgs: ["from", "a", "regression", "journal"]),
        Recording(guest: "assist", status: 0, options: ["--assist"]),
        Recording(guest: "pcdev", status: 0),
        Recording(guest: "lockstep", status: 0),
        Recording(guest: "platform", status: 1),
        Recording(guest: "smp", status: 1, options: ["--cpus", "2"]),
        Recording(guest: "smp", status: 1, options: ["--cpus", "4"]),
    ]
    static let recordingsPerGuest = 10
    static let taskset = "/usr/bin/taskset"

    @Test("--clock virtual recordings are byte-identical on every host CPU", arguments: reproducibleRecordings)
    func reproducibleRecording(_ rec: Recording) throws {
        let dir = Fixtures.scratch("reproducible-\(rec.guest)\(rec.options.first == "--cpus" ? rec.options[1] : "")")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pinned = FileManager.default.isExecutableFile(atPath: Self.taskset)
        if !pinned {
            print("note: \(Self.taskset) is missing: the \(rec.guest) recordings run unpinned, not alternating host CPUs")
        }
        let cpus = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        // Each recording writes the same relative name in a directory of its
        // own, so the header's command line is the same; with two CPUs, two
        // run at a time, one on each (the virtual clock does not care).
        let runs = (0..<Self.recordingsPerGuest).map { dir.appendingPathComponent("run\($0)") }
        for run in runs { try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true) }
        let args = ["record", Fixtures.guest(rec.guest), "-o", "\(rec.guest).vmrr", "--clock", "virtual",
                    "--checkpoint-every", "500", "--quiet"] + rec.options + (rec.guestArgs.isEmpty ? [] : ["--"] + rec.guestArgs)
        let results = ResultBox(count: runs.count)
        let parallel = pinned ? min(cpus, 2) : 1
        for start in stride(from: 0, to: runs.count, by: parallel) {
            DispatchQueue.concurrentPerform(iterations: min(parallel, runs.count - start)) { k in
                let i = start + k
                // Without SOURCE_DATE_EPOCH, whatever the test's environment holds.
                var command = ["-C", runs[i].path, "-u", "SOURCE_DATE_EPOCH"]
                if pinned { command += [Self.taskset, "-c", "\(i % cpus)"] }
                results.set(i, Result { try Fixtures.run("/usr/bin/env", command + [Fixtures.vmrrBinary] + args) })
            }
        }
        var first: [UInt8]?
        for (i, run) in runs.enumerated() {
            let r = try results.get(i).get()
            try #require(r.exited && r.status == rec.status, "recording \(i) of \(rec.guest): status \(r.status): \(r.stderr)")
            let bytes = try E2E.read(run.appendingPathComponent("\(rec.guest).vmrr").path)
            guard let first else { first = bytes; continue }
            let at = zip(first, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(first.count, bytes.count)
            #expect(bytes == first, "recording \(i) of \(rec.guest) (cpu \(pinned ? "\(i % cpus)" : "any")) differs from the first at byte \(at) (\(bytes.count) vs \(first.count) bytes)")
        }
        let summary = try Fixtures.vmrr(["dump", "--summary", runs[0].appendingPathComponent("\(rec.guest).vmrr").path])
        #expect(summary.stdout.split(separator: "\n").contains { $0.hasPrefix("recorded at:") && $0.hasSuffix(" -") }, "\(summary.stdout)")
    }

    /// The results of recordings run side by side.
    final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [Result<Fixtures.Result, any Error>?]
        init(count: Int) { results = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ r: Result<Fixtures.Result, any Error>) { lock.lock(); results[i] = r; lock.unlock() }
        func get(_ i: Int) throws -> Result<Fixtures.Result, any Error> {
            lock.lock(); defer { lock.unlock() }
            guard let r = results[i] else { throw TestFailure("recording \(i) did not run") }
            return r
        }
    }

    @Test("the recording time comes from SOURCE_DATE_EPOCH, and --clock host keeps the real time")
    func recordingTime() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("demo.vmrr").path
        func recordedAt(_ env: [String], clock: String) throws -> String {
            let r = try Fixtures.run("/usr/bin/env", ["-u", "SOURCE_DATE_EPOCH"] + env + [Fixtures.vmrrBinary, "record",
                                     Fixtures.guest("demo"), "-o", journal, "--clock", clock, "--quiet"])
            try #require(r.exited && r.status == 0, "\(r.stderr)")
            let s = try Fixtures.vmrr(["dump", "--summary", journal])
            let line = try #require(s.stdout.split(separator: "\n").first { $0.hasPrefix("recorded at:") })
            return String(line.dropFirst("recorded at:".count)).trimmingCharacters(in: .whitespaces)
        }
        #expect(try recordedAt(["SOURCE_DATE_EPOCH=1700000000"], clock: "virtual") == "2023-11-14T22:13:20Z")
        #expect(try recordedAt(["SOURCE_DATE_EPOCH=1700000000"], clock: "host") == "2023-11-14T22:13:20Z")
        #expect(try recordedAt([], clock: "virtual") == "-")
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let year = utc.component(.year, from: Date())
        #expect(try recordedAt([], clock: "host").hasPrefix("\(year)-"))

        let bad = try Fixtures.run("/usr/bin/env", ["SOURCE_DATE_EPOCH=soon", Fixtures.vmrrBinary, "record",
                                   Fixtures.guest("demo"), "-o", journal, "--clock", "virtual", "--quiet"])
        #expect(bad.exited && bad.status == 2 && bad.stderrLines.count == 1 && bad.stderr.contains("SOURCE_DATE_EPOCH=soon"),
                "\(bad.status): \(bad.stderr)")
    }
}
