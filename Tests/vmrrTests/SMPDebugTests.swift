import Foundation
import Testing
import VMRRTestSupport
import VMRRBase

/// The debugger on a journal of two vCPUs (docs/DEBUGGER.md, "Threads"): the
/// REPL's threads, breakpoints and watchpoints on any vCPU, motion both ways
/// across `switch` events, and Debian's gdb seeing one thread per vCPU.
extension KVMEndToEnd {
    static var smp2: String { E2E.journalsDir.appendingPathComponent("smp2.vmrr").path }

    /// The REPL on KVM, replaying smp2.vmrr, running `lines`.
    static func smpREPL(_ lines: [String]) throws -> Fixtures.Result {
        try Fixtures.vmrr(["debug", smp2, "--batch", "-x", "/dev/stdin", "--image", Fixtures.guest("smp")],
                          stdin: lines.joined(separator: "\n") + "\n")
    }

    @Test("REPL threads on KVM: a breakpoint on the AP, thread N, stepping and reversing across a switch")
    func replThreadsAcrossSwitches() throws {
        let r = try Self.smpREPL([
            "break ap_main", "continue", "info threads", "thread 1", "info registers rip", "delete",
            "goto 130", "reverse-stepi", "info threads", "stepi", "info threads",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout
        // Event 130 switches to vCPU 1; the AP's first instructions run in real mode from its SIPI vector.
        #expect(out.contains("[Switching to thread 2 (vCPU 1)]\nBreakpoint 1, ap_main at 0x400190\n#    130  "), "\(out)")
        #expect(out.contains("* 2  vCPU 1 (running) 0x400190 <ap_main>"), "\(out)")
        #expect(out.contains("[Switching to thread 1 (vCPU 0)]\n=> 0x40053a <main+618>:"), "\(out)")
        #expect(out.contains("rip            0x40053a"), "\(out)")
        // reverse-stepi from the switch lands on the BSP's event before it; stepi takes the switch again.
        #expect(out.contains("[Switching to thread 1 (vCPU 0)]\n#    129  "), "\(out)")
        #expect(out.contains("* 1  vCPU 0 (running) 0x40053a <main+618>\n  2  vCPU 1           0x0"), "\(out)")
        #expect(out.contains("[Switching to thread 2 (vCPU 1)]\n#    130  "), "\(out)")
        #expect(out.contains("  1  vCPU 0           0x40053a <main+618>\n* 2  vCPU 1 (running) 0x0"), "\(out)")
    }

    @Test("a watchpoint on memory both vCPUs write stops on each, forward and backward")
    func watchpointOnEveryVCPU() throws {
        let r = try Self.smpREPL(["goto 600", "watch counter", "continue", "continue", "reverse-continue", "reverse-continue"])
        #expect(r.status == 0, "\(r.stderr)")
        let hits = r.stdout.components(separatedBy: "Hardware watchpoint 1: 0x446008 old ").dropFirst()
            .map { String($0.prefix { $0 != "\n" }) }
        #expect(hits == ["0x0000000000000029 new 0x000000000000002a", "0x000000000000002a new 0x000000000000002b",
                         "0x0000000000000029 new 0x000000000000002a", "0x0000000000000028 new 0x0000000000000029"],
                "\(r.stdout)")
        // The hits alternate between the vCPUs, and the selection follows each.
        let switches = r.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("[Switching to thread") }
        #expect(switches.suffix(4) == ["[Switching to thread 2 (vCPU 1)]", "[Switching to thread 1 (vCPU 0)]",
                                      "[Switching to thread 2 (vCPU 1)]", "[Switching to thread 1 (vCPU 0)]"], "\(r.stdout)")
    }

    @Test("positions are the same however they are reached: from the boot, or restoring checkpoint 1 and snapshots")
    func seekingRestoresEveryVCPU() throws {
        // goto 700 from event 0 restores checkpoint 1 (event 501, every vCPU's state); stepping event by event does not.
        let seek = try Self.smpREPL(["goto 700", "info threads", "thread 1", "info registers rsp", "thread 2", "info registers rsp"])
        let walk = try Self.smpREPL(["next-event 700", "info threads", "thread 1", "info registers rsp", "thread 2", "info registers rsp"])
        #expect(seek.status == 0 && walk.status == 0, "\(seek.stderr)\(walk.stderr)")
        func tail(_ s: String) -> String { s.components(separatedBy: "  Id Target Id").last ?? "" }
        #expect(!tail(seek.stdout).isEmpty && tail(seek.stdout) == tail(walk.stdout), "\(seek.stdout)\n---\n\(walk.stdout)")
        let replay = try Fixtures.vmrr(["replay", "--from-checkpoint", "1", "--image", Fixtures.guest("smp"), Self.smp2])
        #expect(replay.status == ExitStatus.replayedIdentically && replay.stderr.contains("identically"), "\(replay.stderr)")
    }

    @Test("Debian's gdb: one thread per vCPU, thread 2's registers, a breakpoint on the AP, reverse-continue across a switch")
    func gdbSeesThreads() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.gdb), "gdb is missing: scripts/deps installs it")
        let pipe = "| \(Fixtures.vmrrBinary) debug \(Self.smp2) --image \(Fixtures.guest("smp")) --gdb -"
        let r = try Self.gdbSession(pipe, [
            "info threads", "thread 2", "info registers rip",
            "break ap_main", "continue", "p/x $rip", "info threads",
            "delete", "break main", "reverse-continue", "p/x $rip", "info threads",
        ], loadFile: false)
        #expect(r.exited && !r.timedOut, "gdb: \(r.stderr)")
        let out = r.stdout
        #expect(out.contains("* 1    Thread 1 (vCPU 0, running)"), "\(out)")
        #expect(out.contains("  2    Thread 2 (vCPU 1)"), "\(out)")
        #expect(out.contains("[Switching to thread 2 (Thread 2)]"), "\(out)")
        // Before its SIPI the AP is where KVM's reset put it.
        #expect(out.contains("rip            0xfff0"), "\(out)")
        #expect(out.contains("Thread 2 hit Breakpoint 1, ap_main ()"), "\(out)")
        #expect(out.contains("* 2    Thread 2 (vCPU 1, running) ap_main ()"), "\(out)")
        #expect(out.contains("Thread 1 hit Breakpoint 2, main ("), "\(out)")
        #expect(out.contains("* 1    Thread 1 (vCPU 0, running) main ("), "\(out)")
        let values = Self.printed(out)
        #expect(values.count == 2 && values[0] == 0x400190, "\(out)")
        #expect(!r.stderr.contains("Remote connection closed") && !r.stderr.contains("protocol error"), "\(r.stderr)")
    }
}

extension KVMEndToEnd {
    @Test("INIT of an AP that has run, then a second SIPI: it starts again in real mode, recorded and replayed identically, from a checkpoint too")
    func anAPStartedAgain() throws {
        let dir = Fixtures.scratch("smpinit")
        defer { try? FileManager.default.removeItem(at: dir) }
        let guest = E2E.guestsDir.appendingPathComponent("smp/smpinit.elf").path
        let (r, journal) = try E2E.record(guest, in: dir, name: "smpinit",
                                          options: ["--cpus", "2", "--clock", "virtual", "--quiet", "--checkpoint-every", "500"])
        #expect(r.status == 1, "status \(r.status): \(r.stderr)")
        #expect(r.stdout.components(separatedBy: "cpu 1: up, own page tables, per-cpu page ok\n").count - 1 == 2, "\(r.stdout)")
        #expect(r.stdout.hasSuffix("smpinit: AP 1 started again, counter 120\nsmpinit: all checks passed\n"), "\(r.stdout)")
        let d = try E2E.dump(journal)
        #expect(d.of("startup").compactMap { $0.u("target") } == [1, 1], "AP 1 started twice")
        try E2E.checkReplay(journal, status: 1, console: r.stdout)
        // Each checkpoint after the boot holds every vCPU: a replay from any of them is identical.
        let ids = d.of("checkpoint").compactMap { $0.u("id") }.filter { $0 > 0 }
        #expect(ids.count >= 2, "\(ids)")
        for id in ids {
            let from = try Fixtures.vmrr(["replay", "--from-checkpoint", "\(id)", journal])
            #expect(from.status == ExitStatus.replayedIdentically, "checkpoint \(id): \(from.stderr)")
        }
    }
}

extension KVMEndToEnd {
    @Test("a breakpoint right after an exit: reverse-continue stops where continue did, across a switch, and not where a switch comes first")
    func reverseHitsAgreeWithForwardHits() throws {
        let r = try Self.smpREPL(["goto 518", "break 0x400152"] + Array(repeating: "continue", count: 5)
                                 + Array(repeating: "reverse-continue", count: 5))
        #expect(r.status == 0, "\(r.stderr)")
        let stops = r.stdout.split(separator: "\n").filter { $0.hasPrefix("#") || $0.hasPrefix("  +") }
            .map { $0.hasPrefix("#") ? String($0.dropFirst().prefix { $0 != "r" }).trimmingCharacters(in: .whitespaces) : String($0) }
        // Event 520 is vCPU 0's exit right before the switch to vCPU 1 (521): vCPU 0 does not execute the breakpoint there.
        #expect(stops == ["518", "519", "521", "522", "  +10 instructions after event 522", "523", "524",
                          "523", "522", "  +10 instructions after event 522", "521", "519", "518"], "\(r.stdout)")
    }
}

extension KVMEndToEnd {
    /// A checkpoint taken while a vCPU is halted, restored, then that vCPU
    /// switched in and woken by an interrupt before it runs: its run page
    /// must say it can take the interrupt, as it did when recording (before
    /// the fix, a restored vCPU that had not run since the restore had a run
    /// page saying nothing, and the replay diverged with "the vCPU cannot
    /// take an interrupt here"; Debian's kernel with 2 vCPUs showed it).
    @Test("a replay from a checkpoint where another vCPU sleeps wakes it with its interrupt at its switch, identically")
    func restoredSleepingVCPUTakesItsInterrupt() throws {
        let dir = Fixtures.scratch("smp-wake")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(Fixtures.guest("smp"), in: dir, name: "smp",
                                          options: ["--cpus", "2", "--clock", "virtual", "--quiet", "--checkpoint-every", "1"])
        #expect(r.status == 1, "status \(r.status): \(r.stderr)")
        let d = try E2E.dump(journal)
        // Each switch whose vCPU's next event is an interrupt, and the last checkpoint before it.
        var cases: [(checkpoint: UInt64, switchIndex: UInt64)] = []
        var last: DumpEvent?
        for (i, e) in d.events.enumerated() {
            if e.kind == "checkpoint" { last = e }
            guard e.kind == "switch", let cp = last, let id = cp.u("id"), id > 0, cp.u("vcpu") != e.u("to"),
                  let next = d.events[(i + 1)...].first(where: { $0.kind != "checkpoint" }), next.kind == "interrupt" else { continue }
            cases.append((id, e.index))
        }
        #expect(!cases.isEmpty, "no switch to a sleeping vCPU woken by an interrupt after a checkpoint of another vCPU")
        for c in cases {
            let from = try Fixtures.vmrr(["replay", "--quiet", "--from-checkpoint", "\(c.checkpoint)", journal])
            #expect(from.status == ExitStatus.replayedIdentically, "checkpoint \(c.checkpoint), switch \(c.switchIndex): \(from.stderr)")
        }
    }
}
