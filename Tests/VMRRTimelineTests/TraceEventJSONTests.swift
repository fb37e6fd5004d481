import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRTestSupport
@testable import VMRRTimeline

/// The fixture journals these tests turn into timelines.
let timelineJournals = ["demo", "timer", "paging", "pcdev", "echo", "assist", "exits", "bug", "multiboot", "strict", "v1/demo", "smp2"]

/// Checks one trace-event document against what the format's viewers
/// (Perfetto's JSON importer, chrome://tracing) require of each phase.
/// Returns the problems found, one line each.
func traceEventProblems(_ doc: [String: Any]) -> [String] {
    guard let events = doc["traceEvents"] as? [[String: Any]] else { return ["no traceEvents array"] }
    var problems: [String] = []
    func isNumber(_ v: Any?) -> Bool {
        guard let v, type(of: v) != Bool.self else { return false }
        return v is NSNumber || v is Int || v is Double
    }
    for (n, e) in events.enumerated() {
        func bad(_ what: String) { problems.append("traceEvents[\(n)] (\(e["ph"] ?? "?")): \(what)") }
        guard let ph = e["ph"] as? String else { bad("no ph"); continue }
        guard e["name"] is String else { bad("no name"); continue }
        guard let pid = e["pid"] as? Int, pid >= 1, e["tid"] is Int else { bad("pid and tid must be integers"); continue }
        let args = e["args"] as? [String: Any]
        if ph == "M" {
            if args?["name"] == nil && args?["sort_index"] == nil { bad("metadata without args.name or args.sort_index") }
            continue
        }
        guard let ts = e["ts"] as? Double, isNumber(e["ts"]), ts >= 0 else { bad("ts must be a non-negative number of microseconds"); continue }
        switch ph {
        case "X":
            if !(isNumber(e["dur"]) && (e["dur"] as? Double ?? -1) >= 0) { bad("complete event without a non-negative dur") }
        case "i":
            if !["t", "p", "g"].contains(e["s"] as? String ?? "") { bad("instant scope must be t, p or g") }
        case "C":
            if args == nil || args!.isEmpty || !args!.values.allSatisfy(isNumber) { bad("counter args must be numbers") }
            continue
        case "b", "e":
            if e["id"] == nil || e["cat"] == nil { bad("async event without id and cat") }
        default: bad("unexpected phase")
        }
        if !(args?["event"] is Int) { bad("args.event (the event index) missing") }
    }
    return problems
}

/// Items per kind: the slices and instants that stand for one event each.
func itemCounts(_ doc: [String: Any]) -> [String: Int] {
    var counts: [String: Int] = [:]
    for e in doc["traceEvents"] as? [[String: Any]] ?? [] {
        guard let ph = e["ph"] as? String, ph == "X" || ph == "i", let args = e["args"] as? [String: Any],
              let kind = args["kind"] as? String else { continue }
        counts[kind, default: 0] += 1
    }
    return counts
}

@Suite("trace-event JSON")
struct TraceEventJSONTests {
    func model(_ name: String, axis: TraceAxis = .time) throws -> TraceModel {
        let path = Fixtures.journalPath(name)
        return try TraceModel(reader: try JournalReader(path: path), name: path, axis: axis)
    }

    func parse(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("every fixture journal gives a document the viewers accept, one item per event", arguments: timelineJournals)
    func schema(_ name: String) throws {
        let m = try model(name)
        let doc = try parse(TraceEventJSON.render(m))
        let problems = traceEventProblems(doc)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        let summary = try JournalSummary(reader: try JournalReader(path: Fixtures.journalPath(name)))
        var expected: [String: Int] = [:]
        for (k, c) in summary.countsByKind { expected[k.name] = Int(c) }
        #expect(itemCounts(doc) == expected)
        // Each event index appears on exactly one item.
        var seen = Set<Int>()
        for e in doc["traceEvents"] as? [[String: Any]] ?? [] where ["X", "i"].contains(e["ph"] as? String ?? "") {
            if let i = (e["args"] as? [String: Any])?["event"] as? Int, e["name"] as? String != "journal truncated" { #expect(seen.insert(i).inserted) }
        }
        #expect(seen.count == m.count)
    }

    @Test("slices on one track never overlap and end where the guest runs again")
    func slicesDoNotOverlap() throws {
        let doc = try parse(TraceEventJSON.render(try model("timer")))
        var lastEnd: [Int: Double] = [:]
        for e in doc["traceEvents"] as? [[String: Any]] ?? [] where e["ph"] as? String == "X" {
            let tid = e["tid"] as! Int, ts = e["ts"] as! Double, dur = e["dur"] as! Double
            #expect(ts + 1e-9 >= lastEnd[tid] ?? 0, "slice at \(ts) overlaps the one before on tid \(tid)")
            lastEnd[tid] = ts + dur
        }
        let m = try model("timer")
        for i in 0..<(m.count - 1) { #expect(m.ends[i] == m.starts[i + 1]) }
    }

    @Test("the clock counter follows the journal's clock reads, and each timer arming is an async span to its deadline")
    func counterAndTimers() throws {
        let m = try model("timer")
        let doc = try parse(TraceEventJSON.render(m))
        let events = doc["traceEvents"] as? [[String: Any]] ?? []
        let counters = events.filter { $0["ph"] as? String == "C" }.map { ($0["args"] as! [String: Any])["ns"] as! Int }
        let clocks = (0..<m.count).filter { m.kinds[$0] == .clock }
        #expect(counters == clocks.map { Int(m.values[$0]) })
        // On the time axis a clock read sits at its own value.
        for i in clocks { #expect(m.starts[i] == m.values[i]) }
        let begins = events.filter { $0["ph"] as? String == "b" }, ends = events.filter { $0["ph"] as? String == "e" }
        #expect(begins.count == (m.countsByKind[.timer] ?? 0) && ends.count == begins.count)
        for (b, e) in zip(begins, ends) {
            #expect(b["id"] as? Int == e["id"] as? Int)
            let deadline = (b["args"] as! [String: Any])["deadline"] as! Int
            #expect(abs((e["ts"] as! Double) - Double(deadline) / 1000) < 0.0015)
        }
    }

    @Test("--axis events puts event N at N microseconds")
    func eventsAxis() throws {
        let doc = try parse(TraceEventJSON.render(try model("pcdev", axis: .events)))
        for e in doc["traceEvents"] as? [[String: Any]] ?? [] where ["X", "i"].contains(e["ph"] as? String ?? "") {
            let i = (e["args"] as! [String: Any])["event"] as! Int
            #expect(e["ts"] as? Double == Double(i))
        }
    }

    @Test("a journal cut short gives the events up to its last complete record, marked truncated")
    func truncated() throws {
        let bytes = try E2E.read(Fixtures.journalPath("exits"))
        let cut = Array(bytes[..<(bytes.count * 2 / 3)])
        let reader = try JournalReader(bytes: cut, name: "cut.vmrr")
        let note = try #require(reader.truncationNote)
        let m = try TraceModel(reader: reader, name: "cut.vmrr", axis: .time)
        #expect(m.count == Int(reader.eventCount) && m.count > 0 && m.truncation == note)
        let doc = try parse(TraceEventJSON.render(m))
        #expect(traceEventProblems(doc).isEmpty)
        #expect((doc["otherData"] as? [String: Any])?["truncated"] as? String == note)
        #expect((doc["traceEvents"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == "journal truncated" })
        let html = String(decoding: TraceHTML.render(m), as: UTF8.self)
        #expect(html.contains("recorder was probably killed"))
    }

    @Test("gzip output is one gzip member that Debian's gzip expands to the JSON")
    func gzipRoundTrip() throws {
        let m = try model("paging")
        let json = TraceEventJSON.render(m)
        let gz = try TraceFormat.jsonGzip.render(m)
        #expect(gz.count < json.count / 4 && gz.starts(with: [0x1F, 0x8B]))
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.json.gz").path
        try E2E.write(gz, to: path)
        let r = try Fixtures.run("/bin/gzip", ["-dc", path])
        #expect(r.status == 0 && Array(r.stdout.utf8) == json)
    }

    @Test("formats from file names")
    func formats() {
        #expect(TraceFormat(fileName: "a.JSON") == .json)
        #expect(TraceFormat(fileName: "a.json.gz") == .jsonGzip)
        #expect(TraceFormat(fileName: "dir/a.html") == .html)
        #expect(TraceFormat(fileName: "a.txt") == nil)
    }

    @Test("time placement: exact at anchors, even between them, never backwards")
    func placement() {
        let t = TimePlacement.interpolate(count: 8, anchors: [(2, 1000), (6, 3000)], fallbackStep: 7)
        #expect(t == [0, 500, 1000, 1500, 2000, 2500, 3000, 3500])
        #expect(TimePlacement.interpolate(count: 3, anchors: [], fallbackStep: 7) == [0, 7, 14])
        // A HLT between two reads: the events around it keep the pace of the busy stretch (10 ns per event), the HLT takes the rest.
        let halted = TimePlacement.interpolate(count: 8, anchors: [(0, 0), (2, 20), (7, 1000)],
                                               halts: [false, false, false, true, false, false, false, false], fallbackStep: 1)
        #expect(halted == [0, 10, 20, 30, 970, 980, 990, 1000])
        #expect(TimePlacement.interpolate(count: 3, anchors: [(0, 5_000_000_000_000_000_000), (2, 6_000_000_000_000_000_000)], fallbackStep: 1)
                == [5_000_000_000_000_000_000, 5_500_000_000_000_000_000, 6_000_000_000_000_000_000])
    }

    @Test("JSON decimals: microseconds with three digits")
    func decimals() {
        #expect(JSONValue.decimal(1_234_567, decimals: 3).compact == "1234.567")
        #expect(JSONValue.decimal(5, decimals: 3).compact == "0.005")
        #expect(JSONValue.decimal(0, decimals: 3).compact == "0.000")
    }

    @Test("no string in the HTML data can close its script element")
    func scriptSafe() throws {
        var out: [UInt8] = []
        TraceHTML.appendScriptSafe(&out, "{\"a\":\"</script><b>\"}".utf8)
        let s = String(decoding: out, as: UTF8.self)
        #expect(!s.contains("</"))
        let back = try JSONSerialization.jsonObject(with: Data(out)) as? [String: String]
        #expect(back?["a"] == "</script><b>")
    }
}
