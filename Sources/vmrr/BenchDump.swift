import Glibc
import VMRRBase
import VMRRJournal
import VMRRMachine

/// `vmrr bench` part 8 (`--dump-only`): `vmrr dump` and `vmrr dump --summary`
/// of synthetic journals written through `JournalWriter` (issue 16: a dump of
/// 10 million events in constant memory, its time linear in the events).
/// Peak RSS, wall and CPU come from GNU time -v around a child `vmrr dump`
/// whose output goes to /dev/null. Measured and printed, never asserted.
extension Bench {
    func dumpFigures(_ out: StdoutBuffer) throws {
        let counts = dumpEvents.split(separator: ",").compactMap { UInt64($0) }.filter { $0 > 0 }
        guard !counts.isEmpty else { return }
        guard access("/usr/bin/time", X_OK) == 0 else {
            out.line("dump: skipped (/usr/bin/time, GNU time, is not installed)")
            return
        }
        let vmrr = Self.selfExecutable()
        out.line("dump (synthetic journals through JournalWriter; GNU time -v; median of \(rounds) rounds [lowest-highest]):")
        var perEvent: [String: [Double]] = [:]
        for n in counts {
            let journal = "\(scratch)/vmrr-bench-dump-\(getpid())-\(n).vmrr"
            defer { unlink(journal) }
            try Self.writeSyntheticJournal(journal, events: n)
            let size = JournalReader.fileSize(journal)
            out.line("  \(n) events, \(size) bytes (\(f2(Double(size) / Double(n))) bytes/event):")
            try readerSeekFigures(out, journal: journal, events: n)
            for mode in [["dump"], ["dump", "--summary"]] {
                var samples: [TimedRun] = []
                for _ in 0..<rounds { samples.append(try Self.timed([vmrr] + mode + [journal])) }
                let wall = samples.map(\.wallSeconds), cpu = samples.map(\.cpuSeconds), rss = samples.map { Double($0.maxRSSKiB) / 1024 }
                let name = mode.joined(separator: " ")
                perEvent[name, default: []].append(median(cpu) * 1e9 / Double(n))
                out.line(row("    " + name, "\(f2(median(wall))) s wall", "CPU \(f2(median(cpu))) s [\(f2(cpu.min()!))-\(f2(cpu.max()!))], "
                    + "\(f2(median(cpu) * 1e9 / Double(n))) ns/event; peak RSS \(f2(median(rss))) MiB [\(f2(rss.min()!))-\(f2(rss.max()!))]"))
                out.flush()
            }
        }
        if counts.count > 1 {
            for (name, xs) in perEvent.sorted(by: { $0.key < $1.key }) {
                out.line(row("    \(name) linearity", "\(f2(xs.last! / xs.first!))x", "(CPU per event at \(counts.last!) events / at \(counts.first!))"))
            }
        }
        out.line("")
        out.flush()
    }

    /// The reader's part of a seek, read at offsets (now; and without the
    /// open's read-ahead window) against loaded whole (before): opening the
    /// journal, then 1,000 events at random indices (each decodes its chunk),
    /// alternating, median of the rounds.
    func readerSeekFigures(_ out: StdoutBuffer, journal: String, events: UInt64) throws {
        var opened: [String: [Double]] = [:], looked: [String: [Double]] = [:]
        let ways = ["loaded", "pread", "pread-nowindow"]
        let names = ["loaded": "loaded whole (before)", "pread": "read at offsets", "pread-nowindow": "read at offsets, no window"]
        for _ in 0..<rounds {
            for way in ways {
                var g = SystemRandomNumberGenerator()
                let t0 = monotonicNanoseconds()
                let reader = way == "loaded" ? try JournalReader(bytes: try FileIO.read(journal), name: journal)
                    : try JournalReader(path: journal, readAhead: way == "pread")
                let t1 = monotonicNanoseconds()
                for _ in 0..<1000 { _ = try reader.event(at: UInt64.random(in: 0..<events, using: &g)) }
                let t2 = monotonicNanoseconds()
                opened[way, default: []].append(Double(t1 - t0))
                looked[way, default: []].append(Double(t2 - t1) / 1000)
            }
        }
        for way in ways {
            let o = opened[way]!, l = looked[way]!
            out.line(row("    open, \(names[way]!)", "\(f2(median(o) / 1e6)) ms",
                         "[\(f2(o.min()! / 1e6))-\(f2(o.max()! / 1e6))]; event at a random index \(f2(median(l) / 1000)) µs [\(f2(l.min()! / 1000))-\(f2(l.max()! / 1000))]"))
        }
        for way in ["pread", "pread-nowindow"] {
            out.line(row("    open, \(names[way]!) / loaded whole", Spread(zip(opened[way]!, opened["loaded"]!).map { $0 / $1 }).text, "(per-round ratios)"))
        }
    }

    /// A journal of `events` port, MMIO and clock events with drifting
    /// registers, a chunk per 256 events (as `--clock virtual` records) and a
    /// small checkpoint per million.
    static func writeSyntheticJournal(_ path: String, events: UInt64) throws {
        var h = JournalHeader()
        h.imagePath = "/synthetic/bench.elf"
        h.imageSHA256 = [UInt8](repeating: 0x5a, count: 32)
        h.memorySize = 64 << 20
        h.vcpuCount = 1
        h.clock = .virtual
        h.checkpointInterval = 1_000_000
        let w = try JournalWriter(path: path, header: h)
        var r = GPRegisters()
        r.rip = 0x10_0000
        r.rsp = 0x8_0000
        var clock: UInt64 = 0
        let page = [UInt8](repeating: 0xc3, count: Int(Checkpoint.pageSize))
        for i in 0..<events {
            r.rip = 0x10_0000 + (i % 7) * 5
            r.rax = i & 0xff
            r.rcx = events - i
            let e: Event
            switch i % 4 {
            case 0: e = .io(port: 0x3f8, size: 1, direction: .write, value: i & 0x7f)
            case 1: e = .io(port: 0x3fd, size: 1, direction: .read, value: 0x60)
            case 2: e = .mmio(gpa: 0xfee0_0030, size: 4, direction: .read, value: 0x50014)
            default: clock += 1000; e = .clock(ns: clock)
            }
            let index = try w.append(e, regs: r)
            // Chunks as the recorder cuts them under --clock virtual.
            if w.eventCount % Recorder.virtualClockFlushEvents == 0 { try w.flush(waiting: false) }
            if (index + 1) % 1_000_000 == 0 {
                try w.appendCheckpoint(Checkpoint(id: UInt32((index + 1) / 1_000_000), eventIndex: index + 1, full: false,
                                                  state: VCPUState(), pages: [PageRecord(gpa: 0x1000, bytes: page)], deviceState: []))
            }
        }
        try w.finish()
    }

    struct TimedRun { var wallSeconds: Double; var cpuSeconds: Double; var maxRSSKiB: Int }

    /// Runs `args` under GNU time -v, output to /dev/null, and reads its report.
    static func timed(_ args: [String]) throws -> TimedRun {
        let report = "/tmp/vmrr-bench-time-\(getpid()).txt"
        defer { unlink(report) }
        let command = (["/usr/bin/time", "-v", "-o", report] + args).map { "'\($0)'" }.joined(separator: " ")
        let status = system(command + " >/dev/null 2>/dev/null")
        let text = (try? FileIO.readText(report)) ?? ""
        func field(_ label: String) -> String? {
            text.split(separator: "\n").first { $0.contains(label) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { String($0).trimmingCharacters(in: " \t") }
        }
        guard status == 0, let user = field("User time (seconds)").flatMap(Double.init),
              let sys = field("System time (seconds)").flatMap(Double.init),
              let rss = field("Maximum resident set size (kbytes)").flatMap(Int.init),
              let wall = field("Elapsed (wall clock) time").map(parseElapsed) else {
            fail("bench: \(args.joined(separator: " ")) under /usr/bin/time -v failed (status \(status))")
        }
        return TimedRun(wallSeconds: wall, cpuSeconds: user + sys, maxRSSKiB: rss)
    }

    /// GNU time's elapsed time, `h:mm:ss` or `m:ss.ss`, in seconds.
    static func parseElapsed(_ s: String) -> Double {
        // The label itself holds a colon: keep what follows "m:ss or h:mm:ss): " when present.
        let value = s.split(separator: " ").last.map(String.init) ?? s
        return value.split(separator: ":").reduce(0.0) { $0 * 60 + (Double($1) ?? 0) }
    }

    /// This program's path (/proc/self/exe).
    static func selfExecutable() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        return n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
