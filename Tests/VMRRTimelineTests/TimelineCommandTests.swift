import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// `vmrr timeline` end to end: the file it writes against `vmrr dump
/// --summary`, its formats and axes, and its errors. No KVM needed.
@Suite("vmrr timeline")
struct TimelineCommandTests {
    func json(_ path: String) throws -> [String: Any] {
        let bytes = try E2E.read(path)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("items per kind equal vmrr dump --summary's counts", arguments: timelineJournals)
    func countsMatchSummary(_ name: String) throws {
        let journal = Fixtures.journalPath(name)
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("t.json").path
        let r = try Fixtures.vmrr(["timeline", journal, "-o", out])
        #expect(r.status == 0 && r.stderrLines.count == 1 && r.stderr.contains("wrote the timeline of"), "\(r.stderr)")
        let summary = try Fixtures.vmrr(["dump", "--summary", "--json", journal])
        let s = try #require(try JSONSerialization.jsonObject(with: Data(summary.stdout.utf8)) as? [String: Any])
        let expected = (s["eventsByKind"] as? [String: Int] ?? [:]).filter { $0.value > 0 }
        let doc = try json(out)
        #expect(itemCounts(doc) == expected)
        #expect(traceEventProblems(doc).isEmpty)
        #expect((doc["otherData"] as? [String: Any])?["events"] as? Int == s["events"] as? Int)
    }

    @Test("symbols from the image, --format and --axis")
    func symbolsFormatAxis() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("trace.data").path
        let r = try Fixtures.vmrr(["timeline", Fixtures.journalPath("demo"), "-o", out, "--format", "json", "--axis", "events",
                                   "--image", Fixtures.guest("demo")])
        #expect(r.status == 0, "\(r.stderr)")
        let events = try json(out)["traceEvents"] as? [[String: Any]] ?? []
        let symbols = events.compactMap { ($0["args"] as? [String: Any])?["symbol"] as? String }
        #expect(symbols.contains { $0.hasPrefix("serial_puts") })
        let gz = dir.appendingPathComponent("t.json.gz").path
        #expect(try Fixtures.vmrr(["timeline", Fixtures.journalPath("demo"), "-o", gz]).status == 0)
        #expect(try E2E.read(gz).starts(with: [0x1F, 0x8B]))
        let html = dir.appendingPathComponent("t.html").path
        #expect(try Fixtures.vmrr(["timeline", Fixtures.journalPath("demo"), "-o", html]).status == 0)
        let page = String(decoding: try E2E.read(html), as: UTF8.self)
        #expect(page.hasPrefix("<!DOCTYPE html>") && !page.contains("http://") && !page.contains("https://") && !page.contains(" src="))
    }

    @Test("a journal cut short: a timeline up to the last complete record, marked truncated")
    func truncated() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try E2E.read(Fixtures.journalPath("exits"))
        let cut = dir.appendingPathComponent("cut.vmrr").path
        try E2E.write(Array(bytes[..<(bytes.count / 2)]), to: cut)
        let out = dir.appendingPathComponent("cut.json").path
        let r = try Fixtures.vmrr(["timeline", cut, "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("recorder was probably killed") && r.stderr.contains("marked truncated"))
        let doc = try json(out)
        let readable = try Fixtures.vmrr(["dump", "--summary", "--json", cut])
        let s = try #require(try JSONSerialization.jsonObject(with: Data(readable.stdout.utf8)) as? [String: Any])
        #expect((doc["otherData"] as? [String: Any])?["events"] as? Int == s["events"] as? Int)
        #expect((doc["otherData"] as? [String: Any])?["truncated"] is String)
    }

    @Test("bad input: one line naming the file and the reason, status 2; a bad output name is refused before reading")
    func badInput() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("x.json").path
        let missing = try Fixtures.vmrr(["timeline", dir.appendingPathComponent("none.vmrr").path, "-o", out])
        #expect(missing.status == ExitStatus.unusableInput && missing.stderrLines.count == 1 && missing.stderr.contains("none.vmrr"))
        let junk = dir.appendingPathComponent("junk.vmrr").path
        try E2E.write(Array("not a journal at all, just text".utf8), to: junk)
        let bad = try Fixtures.vmrr(["timeline", junk, "-o", out])
        #expect(bad.status == ExitStatus.unusableInput && bad.stderrLines.count == 1 && bad.stderr.contains("junk.vmrr"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let name = try Fixtures.vmrr(["timeline", Fixtures.journalPath("demo"), "-o", dir.appendingPathComponent("x.txt").path])
        #expect(name.status != 0 && name.stderr.contains("cannot tell the timeline format"))
        let axis = try Fixtures.vmrr(["timeline", Fixtures.journalPath("demo"), "-o", out, "--axis", "cycles"])
        #expect(axis.status != 0 && axis.stderr.contains("--axis"))
    }
}
