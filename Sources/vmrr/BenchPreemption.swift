import Glibc
import VMRRBase
import VMRRDevices
import VMRRJournal
import VMRRMachine
import VMRRReplay

/// `vmrr bench --smp-only`, last part (issue 15): preemption by a timer
/// signal (docs/SMP.md). Guests that progress only because they are
/// preempted, recorded under `--clock virtual` with `--preempt-ms` and
/// replayed: `smpspin` (2 vCPUs, a ticket lock waited for without exits)
/// and `poll` (1 vCPU polling memory for timer ticks). Reported: the
/// preemption rate (per second of the recording's run loop, per second of
/// its vCPU thread's CPU time, per 1,000 events) and what reaching the
/// points costs the replay (breakpoint hits, steps over the breakpoint and
/// digests per point, the digests' time, and the replay's time against the
/// same run's recording). Medians and ranges of the rounds.
extension Bench {
    struct PreemptionRun {
        var record: Double, recordCPU: Double, replay: Double
        var events: UInt64, preemptions: UInt64
        var cost: PreemptionCost
    }

    func preemptionFigures(_ out: StdoutBuffer) throws {
        try preemptionFigures(out, name: "smpspin", guest: smpSpinGuest, cpus: 2, expect: "smp: all checks passed")
        try preemptionFigures(out, name: "poll", guest: pollGuest, cpus: 1, expect: "poll: 5 ticks")
    }

    func preemptionFigures(_ out: StdoutBuffer, name: String, guest: String, cpus: Int, expect: String) throws {
        let journal = "\(scratch)/vmrr-bench-preempt-\(getpid()).vmrr"
        defer { unlink(journal) }
        var runs: [PreemptionRun] = []
        for _ in 0..<rounds { runs.append(try preemptionRun(journal: journal, guest: guest, cpus: cpus, expect: expect)) }
        func spread(_ xs: [Double]) -> String { "\(f2(median(xs))) [\(f2(xs.min() ?? 0))-\(f2(xs.max() ?? 0))]" }
        func counts(_ xs: [UInt64]) -> String { "\(xs.sorted()[xs.count / 2]) [\(xs.min() ?? 0)-\(xs.max() ?? 0)]" }
        func per(_ a: UInt64, _ b: UInt64) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        out.line("preemption, \(name) fixture, \(cpus) vCPU\(cpus == 1 ? "" : "s"), --preempt-ms \(smpPreemptMs), --clock virtual (\(rounds) rounds, median [range]):")
        out.line(row("record", "\(spread(runs.map { $0.record / 1e6 })) ms", "(run loop; vCPU thread CPU \(spread(runs.map { $0.recordCPU / 1e6 })) ms)"))
        out.line(row("preempt events", counts(runs.map(\.preemptions)), "(of \(counts(runs.map(\.events))) events)"))
        out.line(row("preempts per s", spread(runs.map { per($0.preemptions, 1) / ($0.record / 1e9) }), "(of the run loop's wall time)"))
        out.line(row("preempts per CPU s", spread(runs.map { per($0.preemptions, 1) / ($0.recordCPU / 1e9) }), "(of the vCPU thread's CPU time)"))
        out.line(row("preempts per 1000 events", spread(runs.map { 1000 * per($0.preemptions, $0.events) }), ""))
        out.line(row("replay", "\(spread(runs.map { $0.replay / 1e6 })) ms", ""))
        out.line(row("replay / record", "\(spread(runs.map { $0.replay / $0.record }))x", "(same round)"))
        out.line(row("hits per point", spread(runs.map { per($0.cost.hits, $0.cost.reached) }), "(breakpoint hits at the point's RIP)"))
        out.line(row("steps over per point", spread(runs.map { per($0.cost.stepsOver, $0.cost.reached) }), "(hits that did not match: disarm, single-step, re-arm)"))
        out.line(row("digests per point", spread(runs.map { per($0.cost.digests, $0.cost.reached) }), "(hits whose registers matched)"))
        out.line(row("digest time", "\(spread(runs.map { per($0.cost.digestNanoseconds, $0.cost.digests) / 1e3 })) us", "(per digest, replay)"))
        out.line("")
        out.flush()
    }

    /// One recording (the run loop's wall and CPU time) and its replay (wall time, and what the points cost).
    func preemptionRun(journal: String, guest: String, cpus: Int, expect: String) throws -> PreemptionRun {
        var o = RecordOptions(imagePath: guest, journalPath: journal)
        o.clock = .virtual
        o.cpus = cpus
        o.preemptMilliseconds = smpPreemptMs
        let console = CapturedOutput()
        let r: RecordResult
        do { r = try RecordSession.record(o, input: BufferedInput(bytes: []), output: console) } catch { fail("bench: \(error)") }
        guard console.text.contains(expect) else { fail("bench: \(guest) did not print \"\(expect)\": \(console.text)") }
        let s = try ReplaySession(reader: try JournalReader(path: journal), options: ReplayOptions())
        let result = try s.run(console: nil)
        if let d = result.divergence { warn(d.render(journalName: journal)); fail("bench: replay of \(guest) diverged") }
        let cost = s.replayer.preemptionCost
        guard cost.reached == r.preemptions else {
            fail("bench: the replay of \(guest) reached \(cost.reached) preemption points of \(r.preemptions)")
        }
        return PreemptionRun(record: Double(r.loopNanoseconds), recordCPU: Double(r.loopCPUNanoseconds),
                             replay: Double(result.wallNanoseconds), events: r.events, preemptions: r.preemptions, cost: cost)
    }
}
