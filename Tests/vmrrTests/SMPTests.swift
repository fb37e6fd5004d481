import Foundation
import Testing
import VMRRTestSupport
import VMRRBase

/// `vmrr record --cpus N` end to end (issue 15, docs/SMP.md): the smp
/// fixture guest recorded under both clocks replays identically, every
/// event names its vCPU; the debugger's threads are in SMPDebugTests.swift.
extension KVMEndToEnd {
    @Test("the smp guest records and replays identically with 2 and 4 vCPUs under both clocks",
          arguments: [("2", "virtual"), ("4", "virtual"), ("2", "host"), ("4", "host")])
    func smpRecordsAndReplays(_ setup: (cpus: String, clock: String)) throws {
        let dir = Fixtures.scratch("smp-\(setup.cpus)-\(setup.clock)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cpus = Int(setup.cpus)!
        for run in 0..<2 {
            let (r, journal) = try E2E.record(Fixtures.guest("smp"), in: dir, name: "smp\(run)",
                                              options: ["--cpus", setup.cpus, "--clock", setup.clock, "--quiet"])
            #expect(r.status == 1, "status \(r.status): \(r.stderr)")
            #expect(r.stdout.contains("smp: fw_cfg says \(cpus) cpus, the MADT \(cpus)\n"), "\(r.stdout)")
            #expect(r.stdout.contains("smp: counter \(cpus * 40) (expected \(cpus * 40)), ipis to the bsp \(cpus - 1)\n"), "\(r.stdout)")
            #expect(r.stdout.hasSuffix("smp: all checks passed\n"), "\(r.stdout)")
            let d = try E2E.dump(journal)
            E2E.checkShape(d, status: 1)
            // Every event names its vCPU; each AP was started once and ran.
            #expect(d.events.allSatisfy { $0.fields["vcpu"] != nil })
            #expect(Set(d.of("startup").compactMap { $0.u("target") }) == Set((1..<cpus).map(UInt64.init)))
            #expect(Set(d.of("switch").compactMap { $0.u("to") }) == Set((0..<cpus).map(UInt64.init)))
            #expect(Set(d.events.compactMap { $0.u("vcpu") }) == Set((0..<cpus).map(UInt64.init)))
            try E2E.checkReplay(journal, status: 1, console: r.stdout)
        }
    }

    @Test("a format-3 journal whose checkpoints hold one vCPU replays from the start; a later checkpoint is refused in one line")
    func oldSMPCheckpointsAreRefused() throws {
        let journal = E2E.journalsDir.appendingPathComponent("smp4.vmrr").path
        let from = try Fixtures.vmrr(["replay", "--from-checkpoint", "1", "--image", Fixtures.guest("smp"), journal])
        #expect(from.status != 0 && from.stderr.contains("checkpoint 1 holds only the running vCPU's state of 4")
                && from.stderr.split(separator: "\n").count == 1, "\(from.stderr)")
        // The debugger seeks through its own snapshots there.
        let r = try Fixtures.vmrr(["debug", journal, "--batch", "-x", "/dev/stdin", "--image", Fixtures.guest("smp")],
                                  stdin: "goto 1000\ninfo threads\ngoto 10\ngoto 1000\ninfo threads\n")
        #expect(r.status == 0, "\(r.stderr)")
        // The threads' rows (after each table's heading), the same both times.
        let rows = r.stdout.split(separator: "\n").filter { $0.hasPrefix("* ") || $0.hasPrefix("  ") && $0.dropFirst(2).first?.isNumber == true }
        #expect(rows.count == 8 && Array(rows.prefix(4)) == Array(rows.suffix(4)), "the same four threads both times: \(r.stdout)")
        #expect(rows.contains { $0.hasPrefix("  4  vCPU 3") }, "\(r.stdout)")
        let text = try Fixtures.vmrr(["dump", "--count", "3", journal])
        #expect(text.stdout.contains("#      0  vcpu=0  rip="), "\(text.stdout)")
    }
}
