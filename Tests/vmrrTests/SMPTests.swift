import Foundation
import Testing
import VMRRTestSupport
import VMRRBase

/// `vmrr record --cpus N` end to end (issue 15, docs/SMP.md): the smp
/// fixture guest recorded under both clocks replays identically, every
/// event names its vCPU, and the debugger refuses such journals in one line.
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

    @Test("vmrr debug refuses a journal of more than one vCPU in one line, and replay from a later checkpoint too")
    func smpDebugIsRefused() throws {
        let journal = E2E.journalsDir.appendingPathComponent("smp2.vmrr").path
        let r = try Fixtures.vmrr(["debug", "--batch", "--image", Fixtures.guest("smp"), journal], stdin: "")
        #expect(r.status != 0 && r.stderr.contains("2 vCPUs") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        let from = try Fixtures.vmrr(["replay", "--from-checkpoint", "1", "--image", Fixtures.guest("smp"), journal])
        #expect(from.status != 0 && from.stderr.contains("starts at the boot"), "\(from.stderr)")
        let text = try Fixtures.vmrr(["dump", "--count", "3", journal])
        #expect(text.stdout.contains("#      0  vcpu=0  rip="), "\(text.stdout)")
    }
}
