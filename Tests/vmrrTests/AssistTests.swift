import Foundation
import Testing
import VMRRJournal
import VMRRTestSupport

/// `--assist` and MSR exits on real KVM, with the fixture guest
/// fixtures/guests/assist (docs/GUEST.md, "MSRs" and "Assists").
extension KVMEndToEnd {
    @Test("MSR accesses KVM refuses exit to vmrr, are answered with #GP and journaled")
    func msrAccessesAreJournaled() throws {
        let dir = Fixtures.scratch()
        let (run, journal) = try E2E.record(Fixtures.guest("assist"), in: dir, name: "assist",
                                            options: ["--clock", "virtual", "--assist", "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0)
        let msrs = d.of("msr")
        // The guest's own count of #GP faults equals the journal's faulting accesses.
        let faults = msrs.filter { $0.fields["fault"] as? Bool == true }.count
        #expect(run.stdout.contains("assist: #GP count \(faults)\n"), "\(run.stdout)")
        #expect(msrs.map { $0.u("msr") } == [0x1b, 0x802, 0x12345, 0x1b, 0x1b, 0x1b, 0x802, 0x803])
        #expect(msrs.map { $0.s("dir") } == ["read", "read", "read", "read", "write", "read", "read", "read"])
        // The MSR events are exits with the guest's RCX as the index.
        for m in msrs { #expect(m.u("msr") != nil && m.rip != 0) }
    }

    @Test("--assist injects #BP for int3 and skips stac, clac and fwait; each is an event")
    func assistsAreJournaledAndReplayed() throws {
        let dir = Fixtures.scratch()
        let (run, journal) = try E2E.record(Fixtures.guest("assist"), in: dir, name: "assist",
                                            options: ["--clock", "virtual", "--assist", "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let d = try E2E.dump(journal)
        let assists = d.of("assist")
        #expect(assists.map { $0.s("action") } == ["int3", "stac", "clac", "fwait"])
        #expect(assists.map { $0.u("length") } == [1, 3, 3, 1])
        // #BP is a trap: the handler sees the address after int3.
        let int3 = try #require(assists.first)
        #expect(run.stdout.contains("assist: #BP at 0x\(String(int3.rip + 1, radix: 16)) count 1\n"), "\(run.stdout)")
        #expect(run.stdout.contains("assist: stac AC=1\nassist: clac AC=0\nassist: fwait skipped\n"))
        // Interrupts enter only at exits: none between sti and cli without one.
        #expect(run.stdout.contains("assist: ticks after sti;nop;nop 0\nassist: ticks after an exit with IF set 1\n"))
        try E2E.checkReplay(journal, status: 0, console: run.stdout)
    }

    @Test("without --assist, int3 ends the run with an emulation-failure report and replays as such")
    func withoutAssistInt3IsReported() throws {
        let dir = Fixtures.scratch()
        let (run, journal) = try E2E.record(Fixtures.guest("assist"), in: dir, name: "noassist",
                                            options: ["--clock", "virtual", "--console", dir.appendingPathComponent("console").path])
        #expect(run.status == 131, "\(run.stderr)")
        #expect(run.stderr.contains("KVM could not emulate int3 at rip 0x"), "\(run.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 131)
        #expect(d.of("assist").isEmpty)
        #expect(d.of("error").count == 1)
        let console = try String(contentsOf: dir.appendingPathComponent("console"), encoding: .utf8)
        // The guest got as far as the int3 and no further.
        #expect(console.contains("assist: #GP count") && !console.contains("#BP"), "\(console)")
        try E2E.checkReplay(journal, status: 131, console: console)
    }
}
