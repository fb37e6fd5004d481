import Foundation
import Testing
import VMRRTestSupport

/// Debian's kernel with two vCPUs (issue 15, docs/SMP.md "Debian's kernel
/// with --cpus 2"): it sees two CPUs in the MADT, starts its AP through
/// vmrr's local APIC model (INIT, then SIPIs, in x2APIC mode), and brings it
/// up (`smpboot: Total of 2 processors activated`), with preemption by a
/// timer signal handing the CPU over where one vCPU waits for the other
/// without exits. Both vCPUs then run the rest of the boot, with IPIs in
/// both directions, until one reaches `ldmxcsr`, which ring 0 on this host
/// cannot emulate (status 131), as the one-vCPU boot does (docs/HOST.md).
/// What its replay reaches is in `checkReplay`. Minutes of emulated ring 0,
/// so it runs only when VMRR_LONG_TESTS is set.
@Suite("Linux kernel with two vCPUs (long)", .serialized,
       .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct LinuxSMPTests {
    /// The platform test's command line (docs/GUEST.md section 13).
    static let commandLine = LinuxPlatformTests.commandLine
    static let maxExits = 200_000
    /// The run ends at `ldmxcsr` after about 57,000 exits (measured
    /// 2026-12-03: 411 s of wall time at a load average of 10); this only
    /// bounds it.
    static let maxSeconds = 2_400
    /// A 20 ms slice of CPU time: a vCPU waiting for the other without exits
    /// (the BSP in `do_boot_cpu`, the AP in `wait_for_master_cpu`) gives way
    /// after it.
    static let preemptMs = 20
    /// Before this event the replay from the boot must be identical (it
    /// diverges near event 13,150, at RDTSC entropy, as with one vCPU).
    static let identicalAtLeastTo = 10_000

    @Test("Debian's kernel with --cpus 2 starts its AP through the APIC model and brings up both CPUs; its replays stop only where RDTSC entropy shows, and say so",
          .enabled(if: LinuxPlatformTests.long, "set VMRR_LONG_TESTS=1 to run it (minutes of emulated ring 0)"),
          .enabled(if: DebianKernel.available, DebianKernel.skipReason), .timeLimit(.minutes(120)))
    func debianKernelBringsUpTwoCPUs() throws {
        let vmlinuz = try DebianKernel.fetched.get()
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("linux-smp.vmrr").path
        let r = try Fixtures.vmrr(["record", "--boot", "linux", vmlinuz, "-o", journal, "--memory", DebianKernel.memory,
                                   "--cpus", "2", "--preempt-ms", "\(Self.preemptMs)", "--clock", "virtual", "--assist",
                                   "--max-exits", "\(Self.maxExits)", "--max-time", "\(Self.maxSeconds)", "--"] + Self.commandLine,
                                  timeout: 3 * Double(Self.maxSeconds))
        #expect(r.exited && (r.status == 0 || r.status == 131), "record status \(r.status): \(r.stderr)")
        for line in ["smpboot: Allowing 2 CPUs, 0 hotplug CPUs", "rcu: Adjusting geometry for rcu_fanout_leaf=16, nr_cpu_ids=2",
                     "x2apic enabled", "smp: Bringing up secondary CPUs ...", "x86: Booting SMP configuration:",
                     ".... node  #0, CPUs:      #1", "smp: Brought up 1 node, 2 CPUs",
                     "smpboot: Total of 2 processors activated (10.00 BogoMIPS)",
                     "PCI: Using configuration type 1 for base access"] {
            #expect(r.stdout.contains(line), "no \"\(line)\" in the kernel's log:\n\(r.stdout.suffix(2000))")
        }
        let d = try E2E.dump(journal)
        try checkStartUp(d)
        try checkReplay(journal, d)
    }

    /// The AP's start-up in the journal: INIT assert, INIT deassert and a
    /// SIPI to APIC ID 1 written to the x2APIC ICR, one `startup` event of
    /// vCPU 1 at the SIPI's vector, then vCPU 1 running (switches to it,
    /// its own preemptions) and IPIs in both directions.
    func checkStartUp(_ d: Dumped) throws {
        let icr: UInt64 = 0x830
        let writes = d.of("msr").filter { $0.u("msr") == icr && $0.s("dir") == "write" }
        let toAP = writes.filter { $0.u("vcpu") == 0 && ($0.u("value") ?? 0) >> 32 == 1 }.compactMap { $0.u("value") }
        let low = toAP.map { $0 & 0xFFFF_FFFF }
        let initAssert: UInt64 = 0xC500, initDeassert: UInt64 = 0x8500, startUp: UInt64 = 0x600
        let startups = d.of("startup")
        try #require(startups.count == 1, "startup events: \(startups.map(\.line))")
        let s = startups[0]
        #expect(s.u("vcpu") == 0 && s.u("target") == 1, "\(s.line)")
        let vector = try #require(s.u("vector"))
        let sipi = startUp | vector
        let first = try #require(low.firstIndex(of: initAssert), "no INIT assert to APIC ID 1: \(low.prefix(8))")
        #expect(Array(low[first...].prefix(4)) == [initAssert, initDeassert, sipi, sipi], "the INIT/SIPI sequence: \(low.prefix(8))")
        let ap = d.events.filter { $0.u("vcpu") == 1 }
        #expect(ap.first.map { $0.index > s.index } == true, "vCPU 1 has events before its start-up")
        #expect(!d.of("switch").filter { $0.u("to") == 1 }.isEmpty, "no switch to vCPU 1")
        #expect(ap.contains { $0.kind == "preempt" }, "vCPU 1 was never preempted")
        // IPIs between the CPUs, both ways: fixed-mode ICR writes (delivery mode 0) by each vCPU to the other.
        func fixedIPIs(from: UInt64, to: UInt64) -> Int {
            writes.filter { $0.u("vcpu") == from && ($0.u("value") ?? 0) >> 32 == to && ($0.u("value") ?? 0) & 0x700 == 0 }.count
        }
        #expect(fixedIPIs(from: 0, to: 1) > 0 && fixedIPIs(from: 1, to: 0) > 0, "IPIs: \(fixedIPIs(from: 0, to: 1)) to the AP, \(fixedIPIs(from: 1, to: 0)) to the BSP")
    }

    /// From the boot, the replay is identical past event 10,000, to the
    /// first register that holds RDTSC entropy (`random_init`, as with one
    /// vCPU: LinuxPlatformTests), before the AP starts. From the checkpoints
    /// after the AP's start-up it replays both vCPUs' switches, IPIs and
    /// preemptions until a preemption point whose registers match but whose
    /// dirty-page digest does not (the kernel's RNG keeps RDTSC entropy in
    /// memory at every interrupt) or that is never reached: each is reported,
    /// and none may be the wrong APIC answer this test found (a restored
    /// sleeping vCPU that "cannot take an interrupt").
    func checkReplay(_ journal: String, _ d: Dumped) throws {
        let replay = try Fixtures.vmrr(["replay", "--quiet", journal], timeout: 3 * Double(Self.maxSeconds))
        let diverged = replay.stderr.range(of: "replay diverged at event ").map { range in
            Int(replay.stderr[range.upperBound...].prefix { $0.isNumber }) ?? 0
        }
        if let diverged {
            print("Debian kernel, 2 vCPUs: replay diverged at event \(diverged): \(replay.stderr.prefix(600))")
            #expect(diverged >= Self.identicalAtLeastTo && replay.stderr.contains("registers differ"), "diverged at event \(diverged): \(replay.stderr)")
        } else {
            #expect(replay.stderr.contains("identically"), "\(replay.stderr)")
        }
        let startup = try #require(d.of("startup").first).index
        let after = d.checkpoints.filter { $0.index > startup }.prefix(3)
        #expect(!after.isEmpty, "no checkpoint after the AP's start-up")
        for cp in after {
            let from = try Fixtures.vmrr(["replay", "--quiet", "--watchdog", "60", "--from-checkpoint", "\(cp.id)", journal],
                                         timeout: 3 * Double(Self.maxSeconds))
            print("Debian kernel, 2 vCPUs, from checkpoint \(cp.id) (event \(cp.index)): \(from.stderr.prefix(400))")
            // A preemption point not reached is reported as "the vCPU exited before it reached the recorded
            // preemption point" (with "but with another dirty-page digest" when the registers matched, or
            // "never with the recorded registers" when they did not), as "was hit N times without matching",
            // or by the watchdog ("preempt, never reached at rip ...").
            let explained = ["identically", "exited before it reached the recorded preemption point", "without matching",
                             "never reached", "registers differ"]
            #expect(from.exited && explained.contains { from.stderr.contains($0) } && !from.stderr.contains("cannot take an interrupt"),
                    "from checkpoint \(cp.id): \(from.stderr)")
        }
    }
}
