import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRTestSupport
@testable import VMRRTimeline

/// Where the browser tests leave their screenshots (kept after the run).
let browserArtifacts: URL = {
    let dir = Fixtures.root.appendingPathComponent(".build/test-artifacts/timeline")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}()

/// The HTML view in Debian's headless Chromium, driven over the DevTools
/// protocol: real rendering, real mouse events. Skips only when the
/// `chromium` package is not installed (scripts/deps installs it).
@Suite("the HTML view in headless Chromium", .serialized,
       .enabled(if: Chromium.executable != nil, "requires Debian's chromium package (scripts/deps installs it)"))
struct BrowserTests {
    static let width = 1000, height = 700

    /// The summary's per-kind counts, from `vmrr dump --summary --json`.
    func summaryCounts(_ journal: String) throws -> [String: Int] {
        let r = try Fixtures.vmrr(["dump", "--summary", "--json", journal])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let byKind = try #require(doc["eventsByKind"] as? [String: Int])
        return byKind.filter { $0.value > 0 }
    }

    /// Opens a page and checks what every view must show: it got ready,
    /// no console errors, one track per kind (plus the clock counter), and
    /// the per-kind counts of `expected`.
    func openAndCheck(_ browser: Chromium, _ html: URL, expected: [String: Int]) throws {
        try browser.attachPage(width: Self.width, height: Self.height)
        try browser.open(html)
        #expect(try browser.evaluate("document.body.dataset.ready") as? String == "1")
        #expect(browser.errors.isEmpty, "\(browser.errors)")
        let tracks = try browser.evaluate("vmrrTimeline.tracks") as? Int
        #expect(tracks == expected.count + (expected["clock"] != nil ? 1 : 0))
        let shown = try browser.evaluate(
            "Object.fromEntries([...document.querySelectorAll('#counts tbody tr')].map(r => [r.dataset.kind, Number(r.cells[1].textContent)]))")
        #expect(shown as? [String: Int] == expected)
    }

    /// Hovers event `index` with a real mouse move and returns the card's text.
    func hover(_ browser: Chromium, _ index: Int) throws -> String? {
        let p = try #require(try browser.evaluate("vmrrTimeline.itemPoint(\(index))") as? [String: Double], "event \(index) is not in view")
        try browser.mouse("mouseMoved", x: p["x"]!, y: p["y"]!)
        #expect(try browser.evaluate("document.getElementById('card').dataset.index") as? String == String(index))
        return try browser.evaluate("document.getElementById('card').hidden ? null : document.getElementById('card').textContent") as? String
    }

    @Test("a fixture journal: counts, zoom from aggregates to single events, a hover card, a screenshot")
    func fixtureView() throws {
        let journal = Fixtures.journalPath("pcdev")
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let html = dir.appendingPathComponent("pcdev.html")
        let r = try Fixtures.vmrr(["timeline", journal, "-o", html.path])
        #expect(r.status == 0, "\(r.stderr)")
        let expected = try summaryCounts(journal)
        let browser = try Chromium(width: Self.width, height: Self.height)
        try openAndCheck(browser, html, expected: expected)

        // The whole recording: too many io exits for the width, so counts per pixel.
        let before = try #require(try browser.evaluate("vmrrTimeline.view()") as? [String: Any])
        #expect(before["mode"] as? String != "items")
        // The io exit in the middle of the io track, where it sits in the whole view.
        let index = try #require(try browser.evaluate("""
            (() => { const io = []; for (let i = 0; i < vmrrTimeline.events; i++) if (vmrrTimeline.kind(i) === 'io') io.push(i);
                     return io[io.length >> 1]; })()
            """) as? Int)
        let p = try #require(try browser.evaluate("vmrrTimeline.itemPoint(\(index))") as? [String: Double])
        // Zoom with the mouse wheel there until single events show: the point under the wheel stays put.
        var mode = before["mode"] as? String
        for _ in 0..<40 where mode != "items" {
            try browser.mouse("mouseWheel", x: p["x"]!, y: p["y"]!, deltaY: -400)
            mode = (try browser.evaluate("vmrrTimeline.view()") as? [String: Any])?["mode"] as? String
        }
        #expect(mode == "items")
        let after = try #require(try browser.evaluate("vmrrTimeline.view()") as? [String: Any])
        #expect((after["end"] as! Double) - (after["start"] as! Double) < (before["end"] as! Double) - (before["start"] as! Double))
        #expect(try browser.evaluate("document.getElementById('status').textContent.includes('single events')") as? Bool == true)

        // Hover that io exit, zoomed in further so that its slice is many pixels wide: the card names it as vmrr dump does.
        for _ in 0..<4 { try browser.mouse("mouseWheel", x: p["x"]!, y: p["y"]!, deltaY: -400) }
        let card = try #require(try hover(browser, index))
        let dumped = try E2E.dump(journal).events[index]
        #expect(card.contains("event \(index)  io exit"))
        #expect(card.contains("rip   \(hex(dumped.u("rip") ?? 0))"))
        #expect(card.contains("port  \(hex(dumped.u("port") ?? 0))"))
        if let value = dumped.u("value") { #expect(card.contains("value  \(hex(value))")) }
        #expect(browser.errors.isEmpty, "\(browser.errors)")
        let shot = browserArtifacts.appendingPathComponent("pcdev-zoomed.png")
        try browser.screenshot(to: shot)
        print("timeline screenshot: \(shot.path)")
        #expect(((try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0) > 1000)
    }

    @Test("the divergence view: the marker, both sides' exits, the card at the divergence, a screenshot",
          .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
    func divergenceView() throws {
        let journal = Fixtures.journalPath("demo")
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let html = dir.appendingPathComponent("diverged.html")
        // Another build of the guest diverges from the demo's journal.
        let r = try Fixtures.vmrr(["replay", "--quiet", "--image", Fixtures.guest("timer"), journal, "--timeline", html.path])
        #expect(r.status == ExitStatus.divergence, "\(r.stderr)")
        let reported = try #require(r.stderrLines.first { $0.contains("replay diverged at event") })
        let index = try #require(Int(reported.split(separator: "at event ")[1].split(separator: ":")[0]))
        let expected = try summaryCounts(journal)
        let browser = try Chromium(width: Self.width, height: Self.height)
        try openAndCheck(browser, html, expected: expected)

        let banner = try #require(try browser.evaluate("document.getElementById('divergence').hidden ? null : document.getElementById('divergence').textContent") as? String)
        #expect(banner.contains("Replay diverged at event \(index): "))
        #expect(banner.contains("recorded: ") && banner.contains("replayed: rip="))
        let expectedLine = try #require(r.stderrLines.first { $0.hasPrefix("  expected: ") })
        #expect(banner.contains(String(expectedLine.dropFirst("  expected: ".count))))
        try browser.evaluate("document.getElementById('zoom-divergence').click()")
        let t = try #require(try browser.evaluate("vmrrTimeline.divergenceTime()") as? Double)
        let view = try #require(try browser.evaluate("vmrrTimeline.view()") as? [String: Any])
        #expect((view["start"] as! Double) <= t && t <= (view["end"] as! Double))
        let card = try #require(try hover(browser, index))
        #expect(card.contains("replay diverged here: ") && card.contains("replayed: rip="))
        #expect(browser.errors.isEmpty, "\(browser.errors)")
        let shot = browserArtifacts.appendingPathComponent("demo-divergence.png")
        try browser.screenshot(to: shot)
        print("timeline screenshot: \(shot.path)")
    }
}
