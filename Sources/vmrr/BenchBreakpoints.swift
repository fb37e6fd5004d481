import VMRRBase
import Glibc
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRReplay

/// The debugger's software breakpoints (issue 12): `continue` over the
/// exit-heavy guest with ten breakpoints that never hit against none, and
/// what one hit costs in vCPU runs.
extension Bench {
    /// Functions of the exits guest that its run never calls.
    static let neverCalled = ["serial_getc", "timer_arm", "memset", "memcpy"]
    /// A function it calls twice, at the end.
    static let calledTwice = "serial_puts"

    func breakpointFigures(_ out: StdoutBuffer) throws {
        let journal = "\(scratch)/vmrr-bench-bp-\(getpid()).vmrr"
        defer { unlink(journal) }
        var o = RecordOptions(imagePath: guest, journalPath: journal)
        o.guestArguments = ["\(exits)"]
        o.clock = .virtual
        let recorded = try RecordSession.record(o, input: BufferedInput(bytes: []), output: CapturedOutput())
        let symbols = try GuestImage.load(path: guest).symbols
        // Ten addresses in functions never called: each function's entry and a few bytes in.
        var never: [UInt64] = []
        for name in Self.neverCalled {
            guard let a = symbols.lookup(name) else { fail("bench: \(guest) has no symbol \(name)") }
            never += [a, a + 4, a + 8].prefix(10 - never.count)
            if never.count == 10 { break }
        }
        guard never.count == 10, let twice = symbols.lookup(Self.calledTwice) else { fail("bench: too few symbols in \(guest)") }
        let target = try KVMTarget(reader: try JournalReader(path: journal))
        /// Continues from event 0 to the end; the time and the vCPU runs it
        /// took. `askPosition`: the exact position is asked at every hit (as
        /// the REPL's prompt and `monitor when` do), which counts its instructions.
        func continueToEnd(askPosition: Bool = false) throws -> (ns: Double, runs: UInt64, hits: Int) {
            try target.goto(Position(event: 0))
            let runs0 = target.vcpuRuns
            let t0 = monotonicNanoseconds()
            var hits = 0
            while true {
                let r = try target.continueForward()
                if case .breakpoint = r {
                    hits += 1
                    if askPosition { _ = target.position }
                    continue
                }
                guard r == .endOfHistory else { fail("bench: continue stopped with \(r)") }
                break
            }
            return (Double(monotonicNanoseconds() - t0), target.vcpuRuns - runs0, hits)
        }
        var none: [Double] = [], ten: [Double] = []
        var runsNone: UInt64 = 0, runsTen: UInt64 = 0
        for _ in 0..<rounds {
            let a = try continueToEnd()
            none.append(a.ns)
            runsNone = a.runs
            let ids = try never.map { try target.addBreakpoint(.address($0), mechanism: .software) }
            let b = try continueToEnd()
            for id in ids { try target.deleteBreakpoint(id) }
            guard b.hits == 0 else { fail("bench: a breakpoint in a function never called was hit") }
            ten.append(b.ns)
            runsTen = b.runs
        }
        let id = try target.addBreakpoint(.address(twice), mechanism: .software)
        let hit = try continueToEnd()
        let counted = try continueToEnd(askPosition: true)
        // From the end, reverse-continue to each hit: a backward search runs
        // forward from snapshots and checkpoints and single-steps the last window.
        var runsBack: [UInt64] = []
        while true {
            let runs0 = target.vcpuRuns
            let r = try target.reverseContinue()
            runsBack.append(target.vcpuRuns - runs0)
            guard case .breakpoint = r else { break }
        }
        try target.deleteBreakpoint(id)
        let extraRuns = Double(hit.runs) - Double(runsNone)
        let extraCounted = Double(counted.runs) - Double(runsNone)
        out.line("debugger breakpoints (\(recorded.events) events, median of \(rounds)):")
        out.line(row("continue, none", "\(f2(median(none) / 1e6)) ms", "(\(runsNone) vCPU runs)"))
        out.line(row("continue, 10 never hit", "\(f2(median(ten) / 1e6)) ms", "(\(runsTen) vCPU runs; software breakpoints)"))
        out.line(row("speed with 10 / none", "\(f3(median(none) / median(ten)))x", "(same run; goal >= 0.9x)"))
        out.line(row("vCPU runs per hit", f2(extraRuns / Double(max(1, hit.hits))),
                     "(\(hit.hits) hits of \(Self.calledTwice); the stop and the step over it; goal <= 2)"))
        out.line(row("... position asked", f2(extraCounted / Double(max(1, counted.hits))),
                     "(the instruction count counted at every hit: a snapshot restored, single-steps)"))
        out.line(row("reverse-continue", runsBack.map(String.init).joined(separator: ", "),
                     "(vCPU runs of each, from the end: \(runsBack.count - 1) hits, then the start)"))
        out.line("")
        out.flush()
    }
}
