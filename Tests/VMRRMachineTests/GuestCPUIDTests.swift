import Testing
import VMRRJournal
import VMRRKVM
import VMRRMachine

/// The CPUID normalizer on synthetic tables (no KVM), and what KVM keeps of
/// a normalized table (requires /dev/kvm).
@Suite struct GuestCPUIDTests {
    static func entry(_ function: UInt32, index: UInt32 = 0, flags: UInt32 = 0,
                      _ eax: UInt32, _ ebx: UInt32, _ ecx: UInt32, _ edx: UInt32) -> CPUIDEntry {
        CPUIDEntry(function: function, index: index, flags: flags, eax: eax, ebx: ebx, ecx: ecx, edx: edx)
    }

    /// An AMD table as KVM_GET_SUPPORTED_CPUID gave it on this host, on the
    /// host CPU with APIC ID `apicID` (leaf 1 EBX[31:24], leaf 0xB EDX).
    static func amdHost(apicID: UInt32) -> [CPUIDEntry] {
        [entry(0x0, 0x1c, 0x6874_7541, 0x444d_4163, 0x6974_6e65),
         entry(0x1, 0x00a1_0f11, 0x0002_0800 | apicID << 24, 0x8120_2000, 0x078b_fbff),
         entry(0x4, flags: 1, 0, 0, 0, 0),
         entry(0xb, flags: 1, 0, 0, 0, apicID),
         entry(0x8000_0008, 0x3030, 0x5002_0005, 0x7001, 0),
         entry(0x8000_001d, index: 3, flags: 1, 0x4163, 0x03c0_003f, 0x7fff, 1),
         entry(0x8000_001e, apicID, apicID, 0x100, 0),
         entry(0x4000_0001, 0x0100_7efb, 0, 0, 0)]
    }

    /// An Intel-style table: leaf 4 with host core counts, leaf 0xB and 0x1F
    /// with two threads per core and eight cores.
    static func intelHost(apicID: UInt32) -> [CPUIDEntry] {
        var t = [entry(0x0, 0x1f, 0x756e_6547, 0x6c65_746e, 0x4965_6e69),
                 entry(0x1, 0x0009_06ea, 0x0010_0800 | apicID << 24, 0x7ffa_fbff, 0xbfeb_fbff),
                 entry(0x4, index: 0, flags: 1, 0x1c00_4121, 0x01c0_003f, 0x3f, 0),
                 entry(0x4, index: 3, flags: 1, 0x1c03_c163, 0x03c0_003f, 0x2fff, 6)]
        for leaf: UInt32 in [0xb, 0x1f] {
            t += [entry(leaf, index: 0, flags: 1, 1, 2, 0x100, apicID),
                  entry(leaf, index: 1, flags: 1, 4, 16, 0x201, apicID),
                  entry(leaf, index: 2, flags: 1, 0, 0, 2, apicID)]
        }
        return t
    }

    static func find(_ t: [CPUIDEntry], _ function: UInt32, _ index: UInt32 = 0) -> CPUIDEntry? {
        t.first { $0.function == function && $0.index == index }
    }

    @Test func tablesFromHostCPUsWithDifferentAPICIDsNormalizeToTheSameTable() {
        for host in [Self.amdHost, Self.intelHost] {
            #expect(host(0) != host(1))
            #expect(GuestCPUID.normalize(host(0)) == GuestCPUID.normalize(host(1)))
            #expect(GuestCPUID.normalize(host(5), vcpuID: 2) == GuestCPUID.normalize(host(0), vcpuID: 2))
        }
    }

    @Test func theAPICIDsAreTheVCPUsOwn() throws {
        let t = GuestCPUID.normalize(Self.intelHost(apicID: 7), vcpuID: 3)
        let leaf1 = try #require(Self.find(t, 1))
        #expect(CPUIDTopology.initialAPICID.get(leaf1.ebx) == 3)
        #expect(CPUIDTopology.logicalProcessorCount.get(leaf1.ebx) == 1)
        #expect(leaf1.ebx & 0xffff == 0x0800, "CLFLUSH size and brand index are kept")
        #expect(t.filter { $0.function == 0xb || $0.function == 0x1f }.allSatisfy { $0.edx == 3 })
        let amd = GuestCPUID.normalize(Self.amdHost(apicID: 1), vcpuID: 3)
        #expect(Self.find(amd, 0x8000_001e)?.eax == 3)
    }

    @Test func theTopologyLeavesDescribeOneLogicalProcessor() throws {
        let t = GuestCPUID.normalize(Self.intelHost(apicID: 1))
        for leaf: UInt32 in [0xb, 0x1f] {
            let levels = t.filter { $0.function == leaf }
            #expect(levels.map(\.index) == [0, 1, 2])
            #expect(levels.allSatisfy { $0.flags & CPUIDBits.significantIndexFlag != 0 })
            let types = levels.map { CPUIDTopology.levelType.get($0.ecx) }
            #expect(types == [CPUIDTopology.LevelType.smt, .core, .invalid].map(\.rawValue))
            #expect(levels.map { CPUIDTopology.levelNumber.get($0.ecx) } == [0, 1, 2])
            #expect(levels.map { CPUIDTopology.levelProcessors.get($0.ebx) } == [1, 1, 0])
            #expect(levels.map { CPUIDTopology.levelShift.get($0.eax) } == [0, 0, 0])
        }
        for cache in t.filter({ $0.function == 4 }) {
            #expect(CPUIDTopology.coresPerPackageMinusOne.get(cache.eax) == 0)
            #expect(CPUIDTopology.cacheSharingMinusOne.get(cache.eax) == 0)
            #expect(cache.eax & 0x3fff == Self.find(Self.intelHost(apicID: 1), 4, cache.index)!.eax & 0x3fff,
                    "cache type and level are kept")
        }
        let amd = GuestCPUID.normalize(Self.amdHost(apicID: 1))
        let sizes = try #require(Self.find(amd, 0x8000_0008))
        #expect(CPUIDTopology.amdThreadsMinusOne.get(sizes.ecx) == 0 && CPUIDTopology.amdAPICIDSize.get(sizes.ecx) == 0)
        #expect(CPUIDTopology.cacheSharingMinusOne.get(try #require(Self.find(amd, 0x8000_001d, 3)).eax) == 0)
    }

    @Test func everythingElseIsKeptInOrder() {
        let host = Self.amdHost(apicID: 1)
        let t = GuestCPUID.normalize(host)
        // Leaf 0xB grows from one subleaf to three; the rest keep their places.
        #expect(t.count == host.count + 2)
        #expect(t.filter { $0.function != 0xb }.map(\.function) == host.filter { $0.function != 0xb }.map(\.function))
        #expect(Self.find(t, 0) == Self.find(host, 0))
        #expect(Self.find(t, 0x4000_0001) == Self.find(host, 0x4000_0001), "the KVM leaf is not changed here")
        #expect(Self.find(t, 1)?.ecx == Self.find(host, 1)?.ecx && Self.find(t, 1)?.edx == Self.find(host, 1)?.edx)
    }

    @Test func theFeatureRulesApplyForEveryBootProtocol() throws {
        let host = Self.amdHost(apicID: 1)
        let hostECX = try #require(Self.find(host, 1)).ecx
        #expect(hostECX & CPUIDBits.x2apic != 0 && hostECX & CPUIDBits.cmpxchg16b != 0)
        for boot in [BootProtocol.vmrr, .multiboot, .linux] {
            for x2apic in [true, false] {
                let t = GuestCPUID.table(supported: host, boot: boot, x2apic: x2apic)
                let leaf1 = try #require(Self.find(t, 1))
                #expect((leaf1.ecx & CPUIDBits.x2apic != 0) == x2apic)
                #expect((leaf1.ecx & CPUIDBits.cmpxchg16b != 0) == (boot != .linux))
                #expect(CPUIDTopology.initialAPICID.get(leaf1.ebx) == 0)
                #expect(t == GuestCPUID.table(supported: Self.amdHost(apicID: 0), boot: boot, x2apic: x2apic))
            }
        }
    }

    @Test func aFieldSetsOnlyItsBits() {
        let f = CPUIDField(bits: 24...31)
        #expect(f.mask == 0xff00_0000)
        #expect(f.set(0x1234_5678, 0xab) == 0xab34_5678)
        #expect(f.set(0, 0x1ff) == 0xff00_0000, "truncated to the field")
        #expect(f.get(0xab34_5678) == 0xab)
        #expect(CPUIDField(bits: 0...31).mask == UInt32.max)
    }

    /// Probe: KVM_SET_CPUID2 then KVM_GET_CPUID2 on this host. Leaves 1 and 7
    /// come back with near-host ECX/EDX feature bits (docs/HOST.md), but the
    /// APIC ID in leaf 1 EBX[31:24] and the topology leaf survive as set.
    @Test(.enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
    func kvmKeepsTheNormalizedAPICIDAndTopology() throws {
        let set = GuestCPUID.normalize(try KVMSystem().supportedCPUID(), vcpuID: 3)
        let machine = try Machine(memorySize: 16 << 20, cpuid: set)
        let leaf1 = try #require(Self.find(machine.cpuidEffective, 1))
        #expect(leaf1.ebx == Self.find(set, 1)?.ebx)
        #expect(CPUIDTopology.initialAPICID.get(leaf1.ebx) == 3)
        #expect(machine.cpuidEffective.filter { $0.function == 0xb } == set.filter { $0.function == 0xb })
    }

    @Test func theHypervisorLeavesNameVmrrAndOfferOnlyWhatReplays() throws {
        let built = GuestCPUID.build(supported: Self.amdHost(apicID: 1), boot: .linux, x2apic: true)
        let t = built.entries
        let base = try #require(Self.find(t, 0x4000_0000))
        let signature = [base.ebx, base.ecx, base.edx].flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        #expect(String(decoding: signature, as: UTF8.self) == "vmrrvmrrvmrr")
        #expect(Self.find(t, 0x4000_0001) == nil, "KVM's raw feature leaf is gone")
        let kvm = try #require(Self.find(t, 0x4000_0100))
        #expect(kvm.eax == 0x4000_0101)
        let kvmSignature = [kvm.ebx, kvm.ecx, kvm.edx].flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        #expect(kvmSignature == Array("KVMKVMKVM".utf8) + [0, 0, 0])
        let features = try #require(Self.find(t, 0x4000_0101))
        #expect(features.eax == KVMParavirt.nopIODelay, "host eax 0x01007efb: only NOP_IO_DELAY stays")
        #expect(features.edx == 0)
        let names = Set(built.hidden.map(\.name))
        for n in ["kvmclock", "kvmclock2", "async-pf", "async-pf-int", "steal-time", "pv-eoi", "pv-send-ipi",
                  "pv-sched-yield", "poll-control", "clocksource-stable", "tsc-deadline", "cx16"] {
            #expect(names.contains(n), "\(n) is listed as hidden")
        }
        #expect(!names.contains("x2apic"))
        #expect(built.hidden.allSatisfy { !$0.reason.isEmpty && $0.line.contains($0.location) })
        let leaf1 = try #require(Self.find(t, 1))
        #expect(leaf1.ecx & CPUIDBits.tscDeadline == 0)
        #expect(leaf1.ecx & (1 << 31) != 0, "the hypervisor-present bit stays")
    }

    @Test func anUnknownKVMFeatureBitIsHiddenByName() {
        var host = Self.amdHost(apicID: 0)
        host.insert(Self.entry(0x4000_0000, 0x4000_0001, 0x4b4d_564b, 0x564b_4d56, 0x4d), at: 0)
        host[host.count - 1].eax |= 1 << 20
        host[host.count - 1].edx = 1
        let hidden = GuestCPUID.build(supported: host, boot: .vmrr, x2apic: false).hidden
        #expect(hidden.contains { $0.name == "bit 20" && $0.location == "KVM 0x40000001:EAX[20]" })
        #expect(hidden.contains { $0.name == "kvm-hint-realtime" })
        #expect(hidden.contains { $0.name == "x2apic" && $0.reason.contains("--x2apic off") })
    }

    /// Probe: the built table set on this host's KVM: the hidden bits stay
    /// hidden in what KVM_GET_CPUID2 returns, and the hypervisor leaves are vmrr's.
    @Test(.enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
    func kvmKeepsTheHiddenBitsHidden() throws {
        let built = GuestCPUID.build(supported: try KVMSystem().supportedCPUID(), boot: .linux, x2apic: true)
        let machine = try Machine(memorySize: 16 << 20, cpuid: built.entries)
        let leaf1 = try #require(Self.find(machine.cpuidEffective, 1))
        #expect(leaf1.ecx & CPUIDBits.tscDeadline == 0)
        #expect(Self.find(machine.cpuidEffective, 0x4000_0000)?.ebx == KVMParavirt.vmrrSignature.ebx)
        #expect((Self.find(machine.cpuidEffective, 0x4000_0101)?.eax ?? 0) & ~KVMParavirt.offeredFeatures == 0)
        #expect(Self.find(machine.cpuidEffective, 0x4000_0001) == nil)
        #expect(built.hidden.contains { $0.name == "kvmclock" }, "this host's KVM offers kvmclock (docs/HOST.md)")
    }
}

/// `--cpus N` (docs/SMP.md): N cores of one thread, each vCPU with its own APIC ID.
@Suite struct GuestCPUIDSMPTests {
    @Test func fourProcessorsAreFourCoresAndEachAPHasItsOwnID() throws {
        let bsp = GuestCPUID.normalize(GuestCPUIDTests.intelHost(apicID: 5), processors: 4)
        let leaf1 = try #require(GuestCPUIDTests.find(bsp, 1))
        #expect(CPUIDTopology.initialAPICID.get(leaf1.ebx) == 0 && CPUIDTopology.logicalProcessorCount.get(leaf1.ebx) == 4)
        let levels = bsp.filter { $0.function == 0xb }
        #expect(levels.map { CPUIDTopology.levelProcessors.get($0.ebx) } == [1, 4, 0])
        #expect(levels.map { CPUIDTopology.levelShift.get($0.eax) } == [0, 2, 0], "two bits name four cores")
        #expect(bsp.filter { $0.function == 4 }.allSatisfy { CPUIDTopology.coresPerPackageMinusOne.get($0.eax) == 3 })
        // An AP's table is the BSP's normalized again with its ID: only the ID fields differ.
        let ap = GuestCPUID.normalize(bsp, vcpuID: 3, processors: 4)
        #expect(CPUIDTopology.initialAPICID.get(try #require(GuestCPUIDTests.find(ap, 1)).ebx) == 3)
        #expect(ap.filter { $0.function == 0xb || $0.function == 0x1f }.allSatisfy { $0.edx == 3 })
        #expect(GuestCPUID.normalize(ap, vcpuID: 0, processors: 4) == bsp, "normalizing is idempotent")
        let idLeaves: Set<UInt32> = [1, 0xb, 0x1f]
        let differing: [CPUIDEntry] = zip(ap, bsp).filter { pair in pair.0 != pair.1 }.map { pair in pair.0 }
        #expect(differing.allSatisfy { idLeaves.contains($0.function) })
        // One processor is what it always was.
        #expect(GuestCPUID.normalize(GuestCPUIDTests.intelHost(apicID: 5), processors: 1) == GuestCPUID.normalize(GuestCPUIDTests.intelHost(apicID: 5)))
    }
}
