import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// The platform fixture guest (fixtures/guests/platform) with the host
/// clock: the same console as the committed virtual-clock recording (it
/// prints no counter values), with its warm reset through 40:67 and its two
/// NMIs, and an identical replay. The virtual-clock
/// journal is a regression journal (RegressionJournalTests).
extension KVMEndToEnd {
    @Test("the platform fixture, linked below 1 MiB, finds its devices through the ACPI tables with either clock and replays identically")
    func platformFixtureWithTheHostClock() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("platform-host.vmrr").path
        let r = try Fixtures.vmrr(["record", Fixtures.guest("platform"), "-o", journal, "--clock", "host", "--quiet"])
        #expect(r.exited && r.status == 1, "record status \(r.status): \(r.stderr)")
        let committed = try FileIO.readText(E2E.journalsDir.appendingPathComponent("platform.console").path)
        #expect(r.stdout == committed, "host-clock console differs from the virtual-clock one")
        for line in ["platform: multiboot information at 0x1020, clear of the image", "acpi: XSDT FACP APIC HPET",
                     "madt: override irq 0 -> gsi 2 flags 0x0",
                     "reset: back in long mode, warm resets 1, shutdown code 0x0, apic svr 0xff",
                     "nmi: 1 after the IPI to apic id 0, 2 after the broadcast", "platform: all checks passed"] {
            #expect(r.stdout.contains(line + "\n"), "\(line)")
        }
        try E2E.checkReplay(journal, status: 1, console: r.stdout)
        let summary = try Fixtures.vmrr(["dump", "--summary", journal])
        #expect(summary.stdout.contains("cpuid hidden:   kvmclock (KVM 0x40000001:EAX[0])"), "\(summary.stdout)")
        // The warm reset and both NMIs are journal events, replayed above.
        #expect(summary.stdout.contains("nmi 2, warm_reset 1"), "\(summary.stdout)")
    }
}
