import Glibc
import VMRRBase
import VMRRDevices
import VMRRJournal
import VMRRMachine

/// `vmrr bench --smp-only` (issue 15's benchmark): the same total work on
/// two vCPUs and on one, recorded and replayed in alternating rounds, 2
/// vCPUs x N increments against 1 vCPU x 2N, with the race fixture in two
/// modes: unlocked (a read, an exit, a write: the cost of scheduling
/// itself) and locked (the smp fixture's loop, a ticket lock around the
/// same: a vCPU switched out while it holds the lock makes the other spin,
/// with an exit per try, for its whole slice). The smp fixture itself has a
/// fixed amount of work and needs two vCPUs, and its committed journals pin
/// its ELF. Figures are ratios within one round; the median and the range of
/// the rounds are printed (docs/PERFORMANCE.md). Goal: 2 vCPUs at most 1.3x.
extension Bench {
    struct SMPRun {
        var record: Double, replay: Double, exits: UInt64, switches: UInt64, deferred: UInt64
    }

    func smpFigures(_ out: StdoutBuffer) throws {
        // Locked, a switched-out lock holder makes the other vCPU spin for a whole slice: a tenth of the work keeps it short.
        for locked in [false, true] { try smpFigures(out, locked: locked, increments: locked ? max(1, smpIncrements / 10) : smpIncrements) }
    }

    func smpFigures(_ out: StdoutBuffer, locked: Bool, increments n: UInt64) throws {
        let journal = "\(scratch)/vmrr-bench-smp-\(getpid()).vmrr"
        defer { unlink(journal) }
        var recordRatios: [Double] = [], replayRatios: [Double] = [], perExitRatios: [Double] = []
        var one: [SMPRun] = [], two: [SMPRun] = []
        for _ in 0..<rounds {
            let a = try smpRun(journal: journal, cpus: 1, increments: 2 * n, locked: locked)
            let b = try smpRun(journal: journal, cpus: 2, increments: n, locked: locked)
            one.append(a)
            two.append(b)
            recordRatios.append(b.record / a.record)
            replayRatios.append(b.replay / a.replay)
            perExitRatios.append((b.record / Double(b.exits)) / (a.record / Double(a.exits)))
        }
        out.line("smp, race fixture \(locked ? "locked" : "unlocked"): 2 vCPUs x \(n) increments against 1 vCPU x \(2 * n) (\(rounds) alternating rounds, median [range]):")
        for (name, runs) in [("1 vCPU", one), ("2 vCPUs", two)] {
            out.line(row("\(name) record", "\(f2(median(runs.map(\.record)) / 1e6)) ms",
                         "(\(runs.last?.exits ?? 0) exits, \(runs.last?.switches ?? 0) switches, \(runs.last?.deferred ?? 0) left an IN pending)"))
            out.line(row("\(name) replay", "\(f2(median(runs.map(\.replay)) / 1e6)) ms", ""))
        }
        out.line(row("record 2 / 1 vCPU", Spread(recordRatios).text, "(same round; goal <= 1.3x)"))
        out.line(row("replay 2 / 1 vCPU", Spread(replayRatios).text, "(same round; goal <= 1.3x)"))
        out.line(row("record per exit 2 / 1", Spread(perExitRatios).text, "(the cost of an exit with switches, same round)"))
        out.line("")
        out.flush()
    }

    /// One recording (the run loop's wall time) and its replay (the replay's wall time).
    func smpRun(journal: String, cpus: Int, increments: UInt64, locked: Bool) throws -> SMPRun {
        var o = RecordOptions(imagePath: smpGuest, journalPath: journal)
        o.guestArguments = ["iterations=\(increments)"] + (locked ? ["locked"] : [])
        o.clock = .virtual
        o.cpus = cpus
        let console = CapturedOutput()
        let r: RecordResult
        do { r = try RecordSession.record(o, input: BufferedInput(bytes: []), output: console) } catch { fail("bench: \(error)") }
        guard console.text.contains("race: \(cpus) cpus x \(increments) increments"),
              !locked || console.text.contains("counter \(UInt64(cpus) * increments) ") else {
            fail("bench: the race fixture with \(cpus) vCPUs did not count to \(UInt64(cpus) * increments): \(console.text)")
        }
        let reader = try JournalReader(path: journal)
        var switches: UInt64 = 0
        try reader.forEachEvent { rec in
            if case .switchVCPU = rec.event { switches += 1 }
            return true
        }
        return SMPRun(record: Double(r.loopNanoseconds), replay: try replayOnce(journal), exits: r.exits, switches: switches, deferred: r.deferredReads)
    }
}
