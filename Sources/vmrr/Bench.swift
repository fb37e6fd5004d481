import VMRRBase
import ArgumentParser
import Glibc
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRMMU
import VMRRReplay

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the executor, the journal, replay and seeks (docs/PERFORMANCE.md).",
        discussion: """
            Runs the exit-heavy fixture guest (fixtures/guests/exits) with journaling \
            off and on in the same run, alternating, and reports the median of the \
            rounds. Ratios compare figures measured in this same run.
            """)

    @Option(help: "Exits the guest makes per round.")
    var exits: UInt64 = 100_000

    @Option(help: "Rounds of each measurement (the median is reported).")
    var rounds: Int = 3

    @Option(help: "Events in the journal used for the seek benchmark (0 skips it).")
    var seekEvents: UInt64 = 1_000_000

    @Option(help: "Events in the journal used for the timeline benchmark (0 skips it).")
    var timelineEvents: UInt64 = 1_000_000

    @Flag(help: "Only the timeline figures (vmrr timeline on a long journal; docs/TIMELINE.md).")
    var timelineOnly = false

    @Option(help: "The exit-heavy guest image.")
    var guest: String = "fixtures/guests/exits/exits.elf"

    @Flag(help: "Only the exit path against the reference C VMM (bench/refvmm.c), one figure per exit kind.")
    var exitKindsOnly = false

    @Option(help: "Loop iterations of the bench guest per run, for the exit-kind figures.")
    var kindIterations: UInt64 = 20_000

    @Option(help: "Exit kinds to measure, comma-separated (default: out,in,mmio-read,mmio-write,clock,msr,hlt).")
    var kinds: String = ""

    @Option(help: "The exit-kind guest image (fixtures/guests/bench).")
    var benchGuest: String = "fixtures/guests/bench/bench.elf"

    @Option(help: "The reference C VMM's source, compiled with the system C compiler (cc, or $CC).")
    var referenceSource: String = "bench/refvmm.c"

    @Flag(help: "Only the SMP figures: the same work on 2 vCPUs and on 1, recorded and replayed (docs/PERFORMANCE.md).")
    var smpOnly = false

    @Option(help: "Increments per vCPU of the 2-vCPU unlocked SMP run (the 1-vCPU run makes twice as many; the locked runs a tenth).")
    var smpIncrements: UInt64 = 3_000

    @Option(help: "The SMP benchmark's guest image (fixtures/guests/race).")
    var smpGuest: String = "fixtures/guests/race/race.elf"

    @Option(help: "The preemption figures' 2-vCPU guest (fixtures/guests/smp/smpspin.elf: a lock waited for without exits).")
    var smpSpinGuest: String = "fixtures/guests/smp/smpspin.elf"

    @Option(help: "The preemption figures' 1-vCPU guest (fixtures/guests/timer/poll.elf: memory polled for timer ticks).")
    var pollGuest: String = "fixtures/guests/timer/poll.elf"

    @Option(help: "--preempt-ms of the preemption figures' recordings.")
    var smpPreemptMs: UInt64 = 5

    @Flag(help: "Only the checkpoint figures: vmrr's cost per MiB, and the dirty bitmap against the dirty ring (refvmm).")
    var checkpointsOnly = false

    @Option(help: "Loop iterations of the bench guest's dirty mode per run, for the dirty-tracking figures.")
    var dirtyIterations: UInt64 = 20

    @Flag(help: "Only the dump figures (vmrr dump of synthetic journals of --dump-events events: peak memory and time).")
    var dumpOnly = false

    @Option(help: "Events in the synthetic journals vmrr dump is measured on, comma-separated (empty skips it).")
    var dumpEvents: String = "1000000,10000000"

    @Option(help: "Directory for scratch journals.")
    var scratch: String = "/tmp"

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard exits >= 1000 else { throw ValidationError("--exits must be at least 1000") }
        guard smpIncrements >= 1, smpIncrements <= 500_000 else { throw ValidationError("--smp-increments must be 1 to 500000") }
        guard smpPreemptMs >= 1, smpPreemptMs <= Preemption.maximumMilliseconds else {
            throw ValidationError("--smp-preempt-ms must be 1 to \(Preemption.maximumMilliseconds)")
        }
        guard kindIterations >= 1 else { throw ValidationError("--kind-iterations must be at least 1") }
        for k in selectedKinds where !Self.exitKinds.contains(k) {
            throw ValidationError("--kinds: unknown exit kind '\(k)' (known: \(Self.exitKinds.joined(separator: ", ")))")
        }
    }

    func run() throws {
        let out = StdoutBuffer()
        out.line("vmrr bench: \(HostFacts.cpuModel()), \(HostFacts.kernel())")
        out.line("date: \(isoNow()); host MMU: \(HostFacts.mmuModel().model.name); build: \(buildKind)")
        out.line("")
        out.flush()
        if timelineOnly { try timelineFigures(out); return }
        if exitKindsOnly { try exitKindFigures(out); return }
        if smpOnly { try smpFigures(out); try preemptionFigures(out); return }
        if dumpOnly { try dumpFigures(out); return }
        if checkpointsOnly { try checkpointFigures(out); try dirtyTrackingFigures(out); return }
        try executorFigures(out)
        try exitKindFigures(out)
        try checkpointFigures(out)
        try dirtyTrackingFigures(out)
        mmuFigures(out)
        try breakpointFigures(out)
        try smpFigures(out)
        try preemptionFigures(out)
        if seekEvents > 0 { try seekFigures(out) }
        try traceFigures(out)
        if timelineEvents > 0 { try timelineFigures(out) }
        try dumpFigures(out)
        out.flush()
    }

    /// 1. Record overhead: the same executor with journaling off and on, and replay.
    func executorFigures(_ out: StdoutBuffer) throws {
        let journal = "\(scratch)/vmrr-bench-\(getpid()).vmrr"
        defer { unlink(journal) }
        var off: [Double] = [], on: [Double] = [], replay: [Double] = []
        var events: UInt64 = 0
        var exitCount: UInt64 = 0
        for _ in 0..<rounds {
            let a = try recordOnce(journal: journal, journaling: false)
            let b = try recordOnce(journal: journal, journaling: true)
            off.append(Double(a.wallNanoseconds))
            on.append(Double(b.wallNanoseconds))
            events = b.events
            exitCount = b.exits
            replay.append(try replayOnce(journal))
        }
        let reader = try JournalReader(path: journal)
        let offNs = median(off), onNs = median(on), replayNs = median(replay)
        let perExitOff = offNs / Double(exitCount) / 1000, perExitOn = onNs / Double(exitCount) / 1000
        out.line("executor (\(exitCount) exits, median of \(rounds)):")
        out.line(row("journaling off", "\(Int(Double(exitCount) / (offNs / 1e9))) exits/s", "\(f2(perExitOff)) µs/exit"))
        out.line(row("journaling on", "\(Int(Double(exitCount) / (onNs / 1e9))) exits/s", "\(f2(perExitOn)) µs/exit"))
        out.line(row("record overhead", "\(f3(onNs / offNs))x", "(on / off, same run; goal <= 1.05x)"))
        out.line(row("journal bytes/event", f2(Double(reader.eventBytes) / Double(max(1, reader.eventCount))),
                     "(\(reader.eventCount) events, checkpoints excluded; goal <= 12)"))
        out.line(row("replay", "\(Int(Double(events) / (replayNs / 1e9))) events/s", "\(f2(replayNs / Double(exitCount) / 1000)) µs/exit"))
        out.line(row("replay / record", "\(f3(replayNs / onNs))x", "(time ratio, same run; goal <= 1.0x)"))
        out.line("")
        out.flush()
    }

    /// 3. The MMU library: translations and dumps of 1 GiB mapped in 4 KiB pages.
    func mmuFigures(_ out: StdoutBuffer) {
        out.line("MMU views (synthetic guest, 1 GiB mapped in 4 KiB pages; goal: each dump < 100 ms):")
        for m in MMUBench.run() {
            out.line(row(m.name, "\(f2(m.value)) \(m.unit)", ""))
        }
        out.line("")
        out.flush()
    }

    /// 4. Seek time on a long journal, and the debugger's latencies on it.
    func seekFigures(_ out: StdoutBuffer) throws {
        let long = "\(scratch)/vmrr-bench-seek-\(getpid()).vmrr"
        defer { unlink(long) }
        var o = RecordOptions(imagePath: guest, journalPath: long)
        o.guestArguments = ["\(seekEvents)"]
        o.clock = .virtual
        let r = try RecordSession.record(o, input: BufferedInput(bytes: []), output: CapturedOutput())
        let lr = try JournalReader(path: long)
        // Targets spread over the journal and over the checkpoint interval.
        let interval = UInt64(RecordOptions.defaultCheckpointInterval)
        var targets: [UInt64] = []
        for i in 1...5 { targets.append(min(lr.eventCount - 2, lr.eventCount * UInt64(i) / 6 + interval * UInt64(i) / 6)) }
        var seeks: [Double] = []
        for _ in 0..<rounds { for t in targets { seeks.append(try seekOnce(long, to: t)) } }
        out.line("seeks (journal of \(r.events) events, checkpoint every \(interval) events, \(targets.count) targets x \(rounds)):")
        out.line(row("seek, median", "\(f2(median(seeks) / 1e6)) ms", "(open, restore nearest checkpoint, replay forward)"))
        out.line(row("seek, worst", "\(f2((seeks.max() ?? 0) / 1e6)) ms", "(targets \(targets.map(String.init).joined(separator: ", ")))"))
        out.line(row("open journal", "\(f2(try timeOpen(long) / 1e6)) ms", "(\(lr.usedIndexTail ? "index tail" : "scan"), \(lr.fileSize) bytes)"))
        out.line("")
        out.flush()

        // Debugger latencies on the same journal (issue 5's goals: < 100 ms each).
        let target = try KVMTarget(reader: lr)
        var gotos: [Double] = []
        var reverse: [Double] = []
        for t in targets {
            let t0 = monotonicNanoseconds()
            try target.goto(Position(event: t))
            gotos.append(Double(monotonicNanoseconds() - t0))
            _ = try target.stepInstructions(5)
            let t1 = monotonicNanoseconds()
            _ = try target.reverseStepInstructions(1)
            reverse.append(Double(monotonicNanoseconds() - t1))
        }
        out.line("debugger (same journal, \(targets.count) targets):")
        out.line(row("goto, median", "\(f2(median(gotos) / 1e6)) ms", "(worst \(f2((gotos.max() ?? 0) / 1e6)) ms; goal < 100 ms)"))
        out.line(row("reverse-stepi, median", "\(f2(median(reverse) / 1e6)) ms", "(worst \(f2((reverse.max() ?? 0) / 1e6)) ms; goal < 100 ms)"))
        out.line("")
    }

    var buildKind: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    func recordOnce(journal: String, journaling: Bool) throws -> RecordResult {
        var o = RecordOptions(imagePath: guest, journalPath: journal)
        o.guestArguments = ["\(exits)"]
        o.clock = .virtual
        do {
            return try RecordSession.record(o, input: BufferedInput(bytes: []), output: CapturedOutput(), journaling: journaling)
        } catch { fail("bench: \(error)") }
    }

    func replayOnce(_ journal: String) throws -> Double { try replayKind(journal).wall }

    func seekOnce(_ journal: String, to target: UInt64) throws -> Double {
        let t0 = monotonicNanoseconds()
        let reader = try JournalReader(path: journal)
        var o = ReplayOptions()
        o.fromEvent = target
        o.until = target
        let s = try ReplaySession(reader: reader, options: o)
        let r = try s.run(console: nil)
        if let d = r.divergence { warn(d.render(journalName: journal)); fail("bench: seek diverged") }
        return Double(monotonicNanoseconds() - t0)
    }

    func timeOpen(_ journal: String) throws -> Double {
        let t0 = monotonicNanoseconds()
        _ = try JournalReader(path: journal)
        return Double(monotonicNanoseconds() - t0)
    }
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[s.count / 2]
}

func f2(_ v: Double) -> String { fixed(v, 2) }
func f3(_ v: Double) -> String { fixed(v, 3) }

func fixed(_ v: Double, _ digits: Int) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    var s = "\(r)"
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    }
    return s
}

func row(_ a: String, _ b: String, _ c: String) -> String {
    "  " + a.padding(26) + b.padding(22) + c
}

func isoNow() -> String {
    var t = time(nil)
    var tm = tm()
    gmtime_r(&t, &tm)
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))Z"
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
