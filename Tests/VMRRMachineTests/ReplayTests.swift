import Foundation
import Testing
import VMRRGuest
import VMRRJournal
import VMRRBase

/// `vmrr replay` beyond a plain replay from boot (which every record test
/// checks): starting at checkpoints, stopping early, memory verification,
/// and replaying a crash.
extension KVMEndToEnd {
    @Test("--from-checkpoint, --from-event, --until and --verify")
    func replaySeeking() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(Fixtures.guest("timer"), in: dir, name: "timer",
                                          options: ["--clock", "virtual", "--checkpoint-every", "50"])
        #expect(r.status == 0)
        let d = try E2E.dump(journal)
        let cps = d.checkpoints
        try #require(cps.count >= 6, "expected several checkpoints, got \(cps.count)")
        let lastIndex = try #require(d.events.last?.index)

        let full = try Fixtures.vmrr(["replay", journal])
        #expect(full.status == 0 && full.stdout == r.stdout)
        let finalLine = try #require(full.stderrLines.last)
        #expect(finalLine.contains("guest status 0 (debug-exit)"), "\(finalLine)")

        // From a checkpoint: the same end, and the console output after it.
        for cp in [cps[1], cps[cps.count / 2], cps[cps.count - 1]] {
            let rr = try Fixtures.vmrr(["replay", "--from-checkpoint", "\(cp.id)", journal])
            #expect(rr.exited && rr.status == 0, "from checkpoint \(cp.id): \(rr.stderr)")
            #expect(rr.stdout == d.consoleText(from: cp.index + 1), "console from checkpoint \(cp.id)")
            #expect(rr.stdout.isEmpty || r.stdout.hasSuffix(rr.stdout))
            #expect(E2E.replayedRange(rr.stderr)?.start == cp.index + 1 && E2E.replayedRange(rr.stderr)?.last == lastIndex,
                    "\(rr.stderr)")
            #expect(rr.stderrLines.last?.hasSuffix("; guest status 0 (debug-exit)") == true, "\(rr.stderr)")
        }

        // From an event: the nearest checkpoint at or before it.
        for n in [cps[2].index + 7, cps[cps.count / 2].index, lastIndex - 1] {
            let start = try #require(cps.last { $0.index <= n }).index + 1
            let rr = try Fixtures.vmrr(["replay", "--from-event", "\(n)", journal])
            #expect(rr.exited && rr.status == 0, "from event \(n): \(rr.stderr)")
            #expect(rr.stdout == d.consoleText(from: start), "console from event \(n)")
            #expect(E2E.replayedRange(rr.stderr)?.start == start, "from event \(n): \(rr.stderr)")
            #expect(rr.stderrLines.last?.hasSuffix("; guest status 0 (debug-exit)") == true, "\(rr.stderr)")
        }

        // --until stops after that event, with status 0, and says so.
        let until = cps[3].index + 5
        let u = try Fixtures.vmrr(["replay", "--until", "\(until)", journal])
        #expect(u.exited && u.status == 0, "\(u.stderr)")
        #expect(u.stdout == d.consoleText(from: 0, through: until))
        #expect(u.stderr.contains("stopped after event \(until)"), "\(u.stderr)")
        #expect(E2E.replayedRange(u.stderr)?.last == until)

        // --verify checks the memory digest.
        let v = try Fixtures.vmrr(["replay", "--verify", "--quiet", journal])
        #expect(v.status == 0 && v.stderr.contains("final memory digest matches"), "\(v.stderr)")
        let v2 = try Fixtures.vmrr(["replay", "--verify", "--quiet", "--from-checkpoint", "\(cps[2].id)", journal])
        #expect(v2.status == 0 && v2.stderr.contains("final memory digest matches"), "\(v2.stderr)")

        // Out of range: one line, status 2.
        for args in [["--from-checkpoint", "9999"], ["--from-event", "\(lastIndex + 1000)"]] {
            let bad = try Fixtures.vmrr(["replay"] + args + [journal])
            #expect(bad.exited && bad.status == 2, "\(args): \(bad.stderr)")
            #expect(bad.stderrLines.count == 1 && bad.stderr.contains(journal), "\(args): \(bad.stderr)")
        }
    }

    @Test("bug with the host clock: a crashing recording replays its crash every time")
    func bugCrashReplays() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        var crash: (Fixtures.Result, String)?
        var survivorReplayed = false
        for attempt in 0..<24 {
            let (r, journal) = try E2E.record(Fixtures.guest("bug"), in: dir, name: "bug\(attempt)", options: ["--quiet"])
            if r.status == ExitStatus.shutdown { crash = (r, journal); break }
            #expect(r.status == 0 && r.stdout.hasSuffix("bug: survived\n"), "status \(r.status): \(r.stdout) \(r.stderr)")
            if !survivorReplayed {
                try E2E.checkReplay(journal, status: 0, console: r.stdout)
                survivorReplayed = true
            }
        }
        let (r, journal) = try #require(crash, "no crashing recording in 24 tries (bug crashes about half the time)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 130, reason: "shutdown")
        #expect(d.of("shutdown").count == 1)
        let t = d.of("clock").compactMap { $0.u("ns") }
        try #require(t.count == 5)
        #expect((t[4] - t[0]) & (1 << 6) != 0, "crashed although bit 6 of elapsed is clear")
        #expect(r.stdout.hasSuffix("bug: elapsed \(t[4] - t[0])\n"), "\(r.stdout)")
        #expect(!r.stdout.contains("survived"))

        var runs: [Fixtures.Result] = []
        for _ in 0..<3 {
            let rr = try Fixtures.vmrr(["replay", journal])
            #expect(rr.exited && rr.status == 0, "\(rr.stderr)")
            #expect(rr.stdout == r.stdout)
            #expect(rr.stderr.contains("guest status 130 (shutdown)") && !rr.stderr.contains("diverged"), "\(rr.stderr)")
            runs.append(rr)
        }
        #expect(Set(runs.map(\.stdout)).count == 1)
        // The same end every time (the success line's time aside).
        #expect(Set(runs.map { $0.stderrLines.last?.split(separator: ";").last ?? "" }).count == 1)
    }
}
