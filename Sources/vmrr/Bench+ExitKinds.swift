import Glibc
import VMRRBase
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRReplay

/// One run loop's time: wall clock, and the vCPU thread's CPU time (guest
/// included), which does not count waits for a core on a loaded machine.
struct LoopTime {
    var wall: Double
    var cpu: Double
}

/// One exit kind's figures from one round: the reference C VMM, vmrr record
/// and vmrr replay, each the run loop's time for the same guest run.
struct ExitKindRound {
    var reference: LoopTime
    /// The reference with vmrr's KVM set-up (`refvmm --like-vmrr`).
    var likeVMRR: LoopTime
    var record: LoopTime
    var replay: LoopTime
}

extension Bench {
    /// The bench guest's modes (fixtures/guests/bench/bench.c), one per exit kind.
    static let exitKinds = ["out", "in", "mmio-read", "mmio-write", "clock", "msr", "hlt"]

    /// 6. The exit path against the floor: for every exit kind, the reference
    /// C VMM (bench/refvmm.c: the same guest, the same answers, no journal),
    /// the same with vmrr's KVM set-up (sync regs, dirty logging, the #PF
    /// trap's breakpoint), vmrr record and vmrr replay, measured alternately in the same run,
    /// `rounds` times; ratios are per round, reported as the median and the
    /// spread (lowest-highest). Wall time and the vCPU thread's CPU time
    /// are both shown: on a shared machine the wall time includes waits for
    /// a core, the CPU time does not.
    func exitKindFigures(_ out: StdoutBuffer) throws {
        let reference = try buildReference()
        defer { unlink(reference) }
        let journal = "\(scratch)/vmrr-bench-kind-\(getpid()).vmrr"
        defer { unlink(journal) }
        out.line("exit path against the reference C VMM (\(referenceSource); \(kindIterations) iterations per run, \(rounds) alternating rounds):")
        out.line("  µs/exit of the C VMM (C), of the C VMM with vmrr's KVM set-up (C'), of record and replay; ratios per round:")
        out.line("  " + "kind".padding(11) + "time".padding(5) + "C".padding(7) + "C'".padding(7) + "record".padding(7)
                 + "replay".padding(7) + "record/C [spread]".padding(22) + "record/C' [spread]".padding(22)
                 + "replay/record [spread]".padding(22) + "bytes/event")
        out.flush()
        for kind in selectedKinds {
            var rounds: [ExitKindRound] = []
            var exits: UInt64 = 0
            for _ in 0..<self.rounds {
                let ref = try referenceOnce(reference, kind: kind)
                let like = try referenceOnce(reference, kind: kind, likeVMRR: true)
                let rec = try recordKind(kind, journal: journal)
                let rep = try replayKind(journal)
                guard ref.exits == rec.exits else {
                    fail("bench: \(kind): the C VMM took \(ref.exits) exits and vmrr \(rec.exits); they must answer the same exits")
                }
                exits = rec.exits
                rounds.append(ExitKindRound(reference: ref.time, likeVMRR: like.time,
                                            record: LoopTime(wall: Double(rec.loopNanoseconds), cpu: Double(rec.loopCPUNanoseconds)),
                                            replay: rep))
            }
            let reader = try JournalReader(path: journal)
            let bytes = f2(Double(reader.eventBytes) / Double(max(1, reader.eventCount)))
            out.line(exitKindRow(kind, "wall", rounds.map { ($0.reference.wall, $0.likeVMRR.wall, $0.record.wall, $0.replay.wall) },
                                 exits: exits, bytes))
            out.line(exitKindRow("", "cpu", rounds.map { ($0.reference.cpu, $0.likeVMRR.cpu, $0.record.cpu, $0.replay.cpu) },
                                 exits: exits, ""))
            out.flush()
        }
        out.line("  (goals: record/C <= 1.10x, replay/record <= 1.0x, <= 10 bytes per I/O event)")
        if selectedKinds.contains("hlt") { try pageFaultTrapFigures(out, reference) }
        let append = try journalAppendCost(events: Self.appendCostEvents)
        out.line(row("journal append, per event", "\(f2(append)) ns CPU", "(encode + registers + CRC32C + write(2) per chunk, on the vCPU thread)"))
        out.line("")
        out.flush()
    }

    static let appendCostEvents = 200_000

    /// What the #PF trap's hardware breakpoint alone costs (the HLT mode is the
    /// one whose guest has an IDT): the C VMM with vmrr's KVM set-up (C'), and
    /// the same without the breakpoint, alternating; CPU per exit and ratio.
    func pageFaultTrapFigures(_ out: StdoutBuffer, _ reference: String) throws {
        var with: [Double] = [], without: [Double] = []
        var exits: UInt64 = 1
        for _ in 0..<rounds {
            let a = try referenceOnce(reference, kind: "hlt", likeVMRR: true)
            let b = try referenceOnce(reference, kind: "hlt", likeVMRR: true, pfTrap: false)
            with.append(a.time.cpu)
            without.append(b.time.cpu)
            exits = max(1, a.exits)
        }
        let us = { (xs: [Double]) in f2(median(xs) / Double(exits) / 1000) }
        out.line(row("hlt: C' / C' without the #PF breakpoint", Spread(zip(with, without).map { $0 / $1 }).text,
                     "(CPU \(us(with)) against \(us(without)) µs/exit: the breakpoint's share of an exit)"))
    }

    /// The journal's share of an exit: appending `n` port-write events with
    /// their registers to a `JournalWriter` (encoding, the chunk's CRC32C, one
    /// write(2) per chunk of 256 as under `--clock virtual`), as the calling
    /// thread's CPU time per event. Handing events to another thread instead
    /// would cost at least a copy of the same bytes and a cache-line transfer
    /// per event, and on this 2-core machine that thread competes with the vCPU.
    /// The writes stay inline here (`writesInBackground: false`), so the
    /// figure is comparable with the earlier ones; the recorder now hands its
    /// chunks to the journal's writer thread.
    func journalAppendCost(events n: Int) throws -> Double {
        let path = "\(scratch)/vmrr-bench-append-\(getpid()).vmrr"
        defer { unlink(path) }
        var header = JournalHeader()
        header.memorySize = Layout.defaultMemorySize
        let w = try JournalWriter(path: path, header: header, writesInBackground: false)
        var regs = GPRegisters()
        let cpu0 = threadCPUNanoseconds()
        for i in 0..<n {
            regs.rip = Layout.imageMinimumAddress &+ UInt64(i & 0xF)
            regs.rax = UInt64(i)
            try w.append(.io(port: 0x80, size: 1, direction: .write, value: UInt64(i & 0xFF)), regs: regs)
            if w.eventCount % Recorder.virtualClockFlushEvents == 0 { try w.flush() }
        }
        try w.finish()
        return Double(threadCPUNanoseconds() - cpu0) / Double(n)
    }

    /// One row: per-exit medians of the four, and the per-round ratios.
    func exitKindRow(_ kind: String, _ measure: String,
                     _ rounds: [(reference: Double, likeVMRR: Double, record: Double, replay: Double)],
                     exits: UInt64, _ bytes: String) -> String {
        let perExit = { (xs: [Double]) in f2(median(xs) / Double(max(1, exits)) / 1000) }
        let recordRatio = Spread(rounds.map { $0.record / $0.reference })
        let likeRatio = Spread(rounds.map { $0.record / $0.likeVMRR })
        let replayRatio = Spread(rounds.map { $0.replay / $0.record })
        return "  " + kind.padding(11) + measure.padding(5) + perExit(rounds.map(\.reference)).padding(7)
            + perExit(rounds.map(\.likeVMRR)).padding(7) + perExit(rounds.map(\.record)).padding(7)
            + perExit(rounds.map(\.replay)).padding(7) + recordRatio.text.padding(22) + likeRatio.text.padding(22)
            + replayRatio.text.padding(22) + bytes
    }

    /// One replay of `journal` to its end: the run loop's wall and CPU time.
    func replayKind(_ journal: String) throws -> LoopTime {
        let reader = try JournalReader(path: journal)
        let s = try ReplaySession(reader: reader, options: ReplayOptions())
        let cpu0 = threadCPUNanoseconds()
        let r = try s.run(console: nil)
        let cpu = threadCPUNanoseconds() - cpu0
        if let d = r.divergence { warn(d.render(journalName: journal)); fail("bench: replay diverged") }
        return LoopTime(wall: Double(r.wallNanoseconds), cpu: Double(cpu))
    }

    var selectedKinds: [String] {
        kinds.isEmpty ? Self.exitKinds : kinds.split(separator: ",").map(String.init)
    }

    /// Compiles bench/refvmm.c with the system C compiler into the scratch directory.
    func buildReference() throws -> String {
        let binary = "\(scratch)/vmrr-refvmm-\(getpid())"
        guard !referenceSource.contains("'"), !binary.contains("'") else { fail("bench: quote in \(referenceSource) or \(binary)") }
        let cc = environmentValue("CC") ?? "cc"
        let status = system("\(cc) -O2 -o '\(binary)' '\(referenceSource)'")
        guard status == 0 else { fail("bench: building the reference VMM (\(cc) -O2 \(referenceSource)) failed with status \(status)") }
        return binary
    }

    /// One run of the reference VMM: its exit count and its run loop's times,
    /// from the line it prints ("refvmm: exits N loop_ns T cpu_ns C status S").
    /// With `likeVMRR`, the reference runs with vmrr's KVM set-up (`--like-vmrr`).
    func referenceOnce(_ binary: String, kind: String, likeVMRR: Bool = false, pfTrap: Bool = true) throws -> (exits: UInt64, time: LoopTime) {
        let report = "\(scratch)/vmrr-refvmm-\(getpid()).out"
        defer { unlink(report) }
        let flag = likeVMRR ? (pfTrap ? "--like-vmrr " : "--like-vmrr --no-pf-trap ") : ""
        let status = system("'\(binary)' \(flag)'\(benchGuest)' \(kind) \(kindIterations) >/dev/null 2>'\(report)'")
        let text = (try? FileIO.readText(report)) ?? ""
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard status == 0, words.count >= 9, words[0] == "refvmm:", let exits = UInt64(words[2]),
              let wall = Double(words[4]), let cpu = Double(words[6]) else {
            fail("bench: the reference VMM on \(benchGuest) \(kind) failed (status \(status)): \(text)")
        }
        return (exits, LoopTime(wall: wall, cpu: cpu))
    }

    func recordKind(_ kind: String, journal: String) throws -> RecordResult {
        var o = RecordOptions(imagePath: benchGuest, journalPath: journal)
        o.guestArguments = [kind, "\(kindIterations)"]
        o.clock = .virtual
        let r: RecordResult
        do {
            r = try RecordSession.record(o, input: BufferedInput(bytes: []), output: CapturedOutput(), journaling: true)
        } catch { fail("bench: recording \(benchGuest) \(kind): \(error)") }
        guard r.end.reason == .debugExit, r.end.status == 0 else {
            fail("bench: \(benchGuest) \(kind) ended with reason \(r.end.reason.rawValue), status \(r.end.status)")
        }
        return r
    }

    func environmentValue(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// The median of per-round ratios and their range.
struct Spread {
    let middle: Double, low: Double, high: Double
    init(_ xs: [Double]) {
        middle = median(xs)
        low = xs.min() ?? 0
        high = xs.max() ?? 0
    }
    var text: String { "\(f2(middle))x [\(f2(low))-\(f2(high))]" }
}
