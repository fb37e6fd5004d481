import Foundation
import Testing
import VMRRTestSupport

/// Debian's kernel on vmrr's PC platform, far past its banner: it must find
/// the ACPI tables, the MADT's I/O APIC, the HPET and the PM timer, switch
/// to the HPET clocksource, find the PCI host bridge, and use no kvm-clock.
/// The command line keeps the TSC out of the kernel (docs/DETERMINISM.md,
/// "Linux's TSC calibration under --clock virtual"): without it the kernel
/// calibrates its TSC against the virtual-clock PIT and its replay diverges
/// at event 2,022, in `quick_pit_calibrate`. With it the replay stays
/// identical to about event 12,700, where entropy the kernel's RNG took from
/// RDTSC at `random_init` (RDTSC whatever X86_FEATURE_TSC says, with
/// CONFIG_X86_TSC) first reaches the registers of a preemption point; the
/// test requires any divergence to come after event 10,000 and to be about
/// registers or a preemption point, not a device answer. The kernel's waits
/// for jiffies without exits are preempted (`--preempt-ms 20`, docs/SMP.md),
/// so it goes on to the PCI host bridge, PnP and the RTC, then stops at
/// `ldmxcsr`, which this host's ring-0 emulator cannot run (status 131). It
/// records tens of thousands of exits of emulated ring-0 code (about 25 CPU
/// minutes here), so it runs only when VMRR_LONG_TESTS is set.
@Suite("Linux kernel on the PC platform (long)", .serialized,
       .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct LinuxPlatformTests {
    static let long = ProcessInfo.processInfo.environment["VMRR_LONG_TESTS"] != nil
    /// docs/GUEST.md section 13: the command line this host needs to get past
    /// the early boot, and what keeps the TSC, RDRAND, RDSEED and the
    /// timer checks that wait for ticks without exits out of the kernel
    /// (X86_FEATURE_TSC is bit 4, RDRAND 158, RDSEED 306, POPCNT 151).
    static let commandLine = DebianKernel.commandLine + ["noxsave", "clearcpuid=151,4,158,306", "lpj=10000",
                                                         "noapictimer", "no_timer_check"]
    /// It stops at `ldmxcsr` after about 85,000 events (2026-12-02); the
    /// limit only bounds a run that goes further.
    static let maxExits = 150_000
    /// A 20 ms slice of CPU time: each tick the kernel waits for without
    /// exits costs that much.
    static let preemptMilliseconds = 20
    /// Each run's CPU budget (`Fixtures.vmrrCPUBound`), the bound for
    /// runaway work; wall time is no bound on a loaded host.
    static let cpuSeconds = 5_400
    /// Before this event the replay must be identical: the old divergence,
    /// in the PIT calibration at event 2,022, is gone.
    static let identicalAtLeastTo = 10_000

    @Test("Debian's kernel finds the ACPI tables, the I/O APIC, the HPET, the PM timer and the PCI host bridge, uses neither kvm-clock nor the TSC, and replays identically past event 10,000",
          .enabled(if: long, "set VMRR_LONG_TESTS=1 to run it (minutes of emulated ring 0)"),
          .enabled(if: DebianKernel.available, DebianKernel.skipReason), .timeLimit(.minutes(360)))
    func debianKernelOnThePCPlatform() throws {
        let vmlinuz = try DebianKernel.fetched.get()
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("linux.vmrr").path
        let r = try Fixtures.vmrrCPUBound(["record", "--boot", "linux", vmlinuz, "-o", journal, "--memory", DebianKernel.memory,
                                           "--clock", "virtual", "--assist", "--preempt-ms", "\(Self.preemptMilliseconds)",
                                           "--max-exits", "\(Self.maxExits)", "--"] + Self.commandLine,
                                          cpuSeconds: Self.cpuSeconds)
        #expect(r.exited && (r.status == 0 || r.status == 131), "record status \(r.status): \(r.stderr)")
        print("Debian kernel on the PC platform: \(r.stderr.split(separator: "\n").suffix(3).joined(separator: " | "))")
        for line in ["Clearing CPUID bits: popcnt tsc rdrand rdseed",
                     "ACPI: RSDP 0x00000000000E0000 000024 (v02 VMRR  )", "ACPI: APIC 0x", "ACPI: HPET 0x",
                     "ACPI: PM-Timer IO Port: 0x608", "IOAPIC[0]: apic_id 0, version 32, address 0xfec00000, GSI 0-23",
                     "ACPI: INT_SRC_OVR (bus 0 bus_irq 0 global_irq 2 dfl dfl)", "clocksource: hpet:", "..TIMER: vector=0x30 apic1=0 pin1=2",
                     "Calibrating delay loop (skipped) preset value.. 5.00 BogoMIPS (lpj=10000)", "Disabling APIC timer",
                     "PCI: Using configuration type 1 for base access",
                     "clocksource: Switched to clocksource hpet", "PCI host bridge to bus 0000:00"] {
            #expect(r.stdout.contains(line), "no \"\(line)\" in the kernel's log:\n\(r.stdout.suffix(2000))")
        }
        #expect(!r.stdout.contains("kvm-clock"), "kvm-clock is hidden")
        #expect(!r.stdout.contains("tsc: Detected"), "the TSC is not calibrated")
        #expect(!r.stdout.contains("unchecked MSR"), "no unchecked-MSR traces")
        let replay = try Fixtures.vmrrCPUBound(["replay", journal], cpuSeconds: Self.cpuSeconds)
        let diverged = replay.stderr.range(of: "replay diverged at event ").map { range in
            Int(replay.stderr[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }
        if let diverged {
            print("Debian kernel: replay diverged at event \(diverged): \(replay.stderr.prefix(600))")
            let aboutRegisters = replay.stderr.contains("registers differ") || replay.stderr.contains("preemption point")
            #expect(diverged >= Self.identicalAtLeastTo && aboutRegisters, "diverged at event \(diverged): \(replay.stderr)")
        } else {
            #expect(replay.stderr.contains("identically"), "\(replay.stderr)")
        }
    }
}
