import Foundation
import Testing
import VMRRTestSupport

/// Debian's kernel on vmrr's PC platform, far past its banner: it must find
/// the ACPI tables, the MADT's I/O APIC, the HPET and the PM timer, and use
/// no kvm-clock. Its replay still diverges near exit 2,000, where the
/// kernel's PIT-based TSC calibration (`quick_pit_calibrate`) brings RDTSC
/// values into registers: the TSC cannot be trapped here (docs/HOST.md).
/// The test requires that divergence to be a register difference at or
/// after that point, not a device answer. It records tens of thousands of
/// exits of emulated ring-0 code (tens of minutes on a loaded host), so it
/// runs only when VMRR_LONG_TESTS is set.
@Suite("Linux kernel on the PC platform (long)", .serialized,
       .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct LinuxPlatformTests {
    static let long = ProcessInfo.processInfo.environment["VMRR_LONG_TESTS"] != nil
    /// docs/GUEST.md section 13: the command line this host needs to get past the early boot.
    static let commandLine = DebianKernel.commandLine + ["noxsave", "clearcpuid=151"]
    static let maxExits = 40_000
    /// The kernel spins without exits after about 27,000 (its TSC, calibrated
    /// against the virtual-clock PIT, runs hundreds of times too fast for its
    /// delay loops): the time limit ends the recording.
    static let maxSeconds = 1_500
    /// The first event whose registers hold a TSC value (the PIT calibration).
    static let firstTSCEvent = 2_000

    @Test("Debian's kernel finds the ACPI tables, the I/O APIC, the HPET and the PM timer, uses no kvm-clock, and replays identically far past exit 2,100",
          .enabled(if: long, "set VMRR_LONG_TESTS=1 to run it (minutes of emulated ring 0)"),
          .enabled(if: DebianKernel.available, DebianKernel.skipReason), .timeLimit(.minutes(60)))
    func debianKernelOnThePCPlatform() throws {
        let vmlinuz = try DebianKernel.fetched.get()
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("linux.vmrr").path
        let r = try Fixtures.vmrr(["record", "--boot", "linux", vmlinuz, "-o", journal, "--memory", DebianKernel.memory,
                                   "--clock", "virtual", "--assist", "--max-exits", "\(Self.maxExits)", "--max-time", "\(Self.maxSeconds)", "--"] + Self.commandLine,
                                  timeout: 3000)
        #expect(r.exited && (r.status == 0 || r.status == 131), "record status \(r.status): \(r.stderr)")
        for line in ["ACPI: RSDP 0x00000000000E0000 000024 (v02 VMRR  )", "ACPI: APIC 0x", "ACPI: HPET 0x",
                     "ACPI: PM-Timer IO Port: 0x608", "IOAPIC[0]: apic_id 0, version 32, address 0xfec00000, GSI 0-23",
                     "ACPI: INT_SRC_OVR (bus 0 bus_irq 0 global_irq 2 dfl dfl)", "clocksource: hpet:", "..TIMER: vector=0x30 apic1=0 pin1=2"] {
            #expect(r.stdout.contains(line), "no \"\(line)\" in the kernel's log:\n\(r.stdout.suffix(2000))")
        }
        #expect(!r.stdout.contains("kvm-clock"), "kvm-clock is hidden")
        #expect(!r.stdout.contains("unchecked MSR"), "no unchecked-MSR traces")
        let replay = try Fixtures.vmrr(["replay", journal], timeout: 3000)
        let diverged = replay.stderr.range(of: "replay diverged at event ").map { range in
            Int(replay.stderr[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }
        if let diverged {
            print("Debian kernel: replay diverged at event \(diverged): \(replay.stderr.prefix(600))")
            #expect(diverged >= Self.firstTSCEvent && replay.stderr.contains("registers differ"), "diverged at event \(diverged): \(replay.stderr)")
        } else {
            #expect(replay.stderr.contains("identically"), "\(replay.stderr)")
        }
    }
}
