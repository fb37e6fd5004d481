import Foundation
import Testing
import VMRRJournal
import VMRRTestSupport
@testable import VMRRTimeline

/// A journal of two vCPUs: each vCPU is its own process (JSON) and has its
/// own rows (HTML), and every event sits on its own vCPU's track.
@Suite("timelines of more than one vCPU")
struct TraceVCPUTests {
    @Test("each vCPU is a process with its own tracks; every item is in its vCPU's process")
    func everyVCPUHasItsTracks() throws {
        let path = Fixtures.journalPath("smp2")
        let reader = try JournalReader(path: path)
        let m = try TraceModel(reader: reader, name: path, axis: .events)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(TraceEventJSON.render(m))) as? [String: Any])
        let events = try #require(doc["traceEvents"] as? [[String: Any]])
        let records = try reader.events()
        var seen = 0
        for e in events where ["X", "i"].contains(e["ph"] as? String ?? "") {
            guard let i = (e["args"] as? [String: Any])?["event"] as? Int, e["name"] as? String != "journal truncated" else { continue }
            #expect(e["pid"] as? Int == Int(records[i].vcpu) + 1, "event \(i)")
            seen += 1
        }
        #expect(seen == records.count)
        let threads = events.filter { $0["name"] as? String == "thread_name" }
            .map { "\($0["pid"]!) " + (($0["args"] as? [String: Any])?["name"] as? String ?? "") }
        #expect(threads.contains("1 io exits") && threads.contains("2 io exits") && threads.contains("2 switch"), "\(threads)")
        #expect(!threads.contains("2 startup"), "only vCPU 0 starts APs here: \(threads)")
        let html = String(decoding: TraceHTML.render(m), as: UTF8.self)
        #expect(html.contains("\"track\":\"vCPU 0: io exits\"") && html.contains("\"track\":\"vCPU 1: io exits\""))
    }
}
