import VMRRJournal

/// The CPUID table vmrr gives a guest, built from KVM's supported table
/// (`KVM_GET_SUPPORTED_CPUID`) and never passed through raw.
///
/// KVM's table carries facts about the host CPU the calling thread happened
/// to run on: leaf 1 EBX[31:24] and leaf 0xB EDX hold that CPU's APIC ID, so
/// the same image recorded under `taskset -c 0` and `taskset -c 1` saw
/// different registers after CPUID, and the journals differed. `normalize`
/// makes every field that identifies or counts logical processors describe
/// the guest's one vCPU instead: the APIC IDs are the vCPU's own ID (what the
/// local APIC model reports), and the topology leaves describe one logical
/// processor (one thread of one core). `table` adds vmrr's feature rules.
///
/// It lives in VMRRMachine, beside the `Machine` that sets it: it is part of
/// the virtual machine vmrr composes on KVM (neither the guest protocol of
/// VMRRGuest nor a device model), and it is a pure function, so
/// VMRRMachineTests test it on synthetic tables without `/dev/kvm`.
///
/// The hypervisor leaves are vmrr's own (`KVMParavirt`): 0x40000000 names
/// vmrr, and KVM's leaves, moved to 0x40000100, offer only what vmrr
/// replays. TSC-deadline mode is hidden: the local APIC model has no
/// TSC-deadline timer, and the TSC cannot be trapped here (docs/HOST.md).
public enum GuestCPUID {
    /// The logical processors of a machine of one vCPU; `--cpus N` passes N
    /// (one thread per core, N cores in the package, docs/SMP.md).
    public static let logicalProcessors: UInt32 = 1

    /// The table a recording sets and what it hides from KVM's supported table.
    public struct Table: Sendable, Equatable {
        public let entries: [CPUIDEntry]
        public let hidden: [HiddenCPUIDFeature]
    }

    /// The table a recording sets (`build(...).entries`).
    public static func table(supported: [CPUIDEntry], boot: BootProtocol, x2apic: Bool, vcpuID: UInt32 = 0) -> [CPUIDEntry] {
        build(supported: supported, boot: boot, x2apic: x2apic, vcpuID: vcpuID).entries
    }

    /// The table a recording sets: `normalize`d; the hypervisor leaves
    /// replaced by vmrr's (`KVMParavirt`); without TSC-deadline
    /// (CPUID.1:ECX[24]); without x2APIC (CPUID.1:ECX[21]) when `x2apic` is
    /// false; Linux guests also lose CMPXCHG16B (CPUID.1:ECX[13]), which this
    /// host cannot emulate at CPL 0 and which SLUB uses when it is
    /// advertised. (XSAVE cannot be hidden that way here: the kernel still
    /// sees it; the command line's `noxsave` does it, docs/GUEST.md section 13.)
    /// `hidden` names every bit KVM offered that the table does not, with the reason.
    public static func build(supported: [CPUIDEntry], boot: BootProtocol, x2apic: Bool, vcpuID: UInt32 = 0,
                             processors: UInt32 = logicalProcessors) -> Table {
        var hidden: [HiddenCPUIDFeature] = []
        var rules: [(bit: UInt32, name: String, reason: String)] = [
            (CPUIDBits.tscDeadline, "tsc-deadline", "the local APIC timer has no TSC-deadline mode: the TSC cannot be trapped or replayed on this host"),
        ]
        if !x2apic { rules.append((CPUIDBits.x2apic, "x2apic", "vmrr record --x2apic off")) }
        if boot == .linux {
            rules.append((CPUIDBits.cmpxchg16b, "cx16", "ring 0 on this host cannot emulate CMPXCHG16B, and Linux's SLUB uses it when offered"))
        }
        var out: [CPUIDEntry] = []
        var hypervisorDone = false
        let normalized = normalize(supported, vcpuID: vcpuID, processors: processors)
        for e in normalized {
            switch e.function {
            case CPUIDLeaf.features:
                var e = e
                for r in rules where e.ecx & r.bit != 0 {
                    e.ecx &= ~r.bit
                    hidden.append(HiddenCPUIDFeature(name: r.name, location: "CPUID.1:ECX[\(r.bit.trailingZeroBitCount)]", reason: r.reason))
                }
                out.append(e)
            case KVMParavirt.vmrrBase..<KVMParavirt.vmrrBase + 0x1_0000:
                // KVM's hypervisor leaves, replaced where the first of them stood.
                guard !hypervisorDone else { continue }
                hypervisorDone = true
                let (leaves, kvmHidden) = KVMParavirt.leaves(features: normalized.first { $0.function == KVMParavirt.kvmFeaturesLeaf })
                out += leaves
                hidden += kvmHidden
            default:
                out.append(e)
            }
        }
        if !hypervisorDone { out += KVMParavirt.leaves(features: nil).0 }
        return Table(entries: out, hidden: hidden)
    }

    /// `supported` with the APIC IDs set to `vcpuID` and the topology fields
    /// describing one logical processor:
    /// - leaf 1: EBX[31:24] (initial APIC ID) = `vcpuID`, EBX[23:16] (logical processors) = 1;
    /// - leaf 4, every subleaf: EAX[31:26] (cores per package - 1) = 0, EAX[25:14] (sharing - 1) = 0;
    /// - leaves 0xB and 0x1F, when present: an SMT level and a core level of
    ///   one processor each, then an invalid level; EDX (x2APIC ID) = `vcpuID` in each;
    /// - AMD 0x8000_0008: ECX[7:0] (threads - 1) = 0, ECX[15:12] (APIC ID size) = 0;
    /// - AMD 0x8000_001D, every subleaf: EAX[25:14] (sharing - 1) = 0;
    /// - AMD 0x8000_001E: EAX (extended APIC ID) = `vcpuID`, EBX = `vcpuID` as
    ///   the compute unit of one thread, ECX = node 0 of one.
    /// Other leaves and every feature bit are kept; the order of leaves is kept.
    /// With `processors` above 1 the package has that many cores of one
    /// thread each; normalizing the BSP's table again with another `vcpuID`
    /// gives an AP's (the function is idempotent).
    public static func normalize(_ supported: [CPUIDEntry], vcpuID: UInt32 = 0, processors: UInt32 = logicalProcessors) -> [CPUIDEntry] {
        var out: [CPUIDEntry] = []
        var topologyWritten = Set<UInt32>()
        for e in supported {
            switch e.function {
            case CPUIDLeaf.extendedTopology, CPUIDLeaf.extendedTopologyV2:
                // All of a topology leaf's subleaves are replaced at its first entry.
                if topologyWritten.insert(e.function).inserted {
                    out += topologyLevels(leaf: e.function, flags: e.flags, vcpuID: vcpuID, processors: processors)
                }
            default:
                out.append(normalized(e, vcpuID: vcpuID, processors: processors))
            }
        }
        return out
    }

    static func normalized(_ entry: CPUIDEntry, vcpuID: UInt32, processors: UInt32 = logicalProcessors) -> CPUIDEntry {
        typealias T = CPUIDTopology
        let minusOne = processors - 1
        var e = entry
        switch e.function {
        case CPUIDLeaf.features:
            e.ebx = T.initialAPICID.set(e.ebx, vcpuID)
            e.ebx = T.logicalProcessorCount.set(e.ebx, processors)
        case CPUIDLeaf.cacheParameters:
            e.eax = T.coresPerPackageMinusOne.set(e.eax, minusOne)
            // Caches are per core: no thread shares one with another.
            e.eax = T.cacheSharingMinusOne.set(e.eax, 0)
        case CPUIDLeaf.amdSizes:
            e.ecx = T.amdThreadsMinusOne.set(e.ecx, minusOne)
            e.ecx = T.amdAPICIDSize.set(e.ecx, 0)
        case CPUIDLeaf.amdCacheTopology:
            e.eax = T.cacheSharingMinusOne.set(e.eax, 0)
        case CPUIDLeaf.amdExtendedAPIC:
            e.eax = vcpuID
            e.ebx = T.amdComputeUnitID.set(0, vcpuID)
            e.ecx = 0
        default:
            break
        }
        return e
    }

    /// Leaf 0xB or 0x1F for one logical processor: subleaf 0 is the SMT
    /// level (one thread), subleaf 1 the core level (one core's worth of
    /// threads, the package), subleaf 2 the first invalid level. The x2APIC
    /// ID shifts by 0 at both levels, since no bits are needed for one.
    /// With N processors the core level's shift is the bits N - 1 needs.
    static func topologyLevels(leaf: UInt32, flags: UInt32, vcpuID: UInt32, processors count: UInt32 = logicalProcessors) -> [CPUIDEntry] {
        typealias T = CPUIDTopology
        let coreShift = count > 1 ? UInt32(32 - (count - 1).leadingZeroBitCount) : 0
        let levels: [(T.LevelType, UInt32, UInt32)] = [(.smt, 1, 0), (.core, count, coreShift), (.invalid, 0, 0)]
        return levels.enumerated().map { number, level in
            let (type, processors, shift) = level
            let ecx = T.levelType.set(T.levelNumber.set(0, UInt32(number)), type.rawValue)
            return CPUIDEntry(function: leaf, index: UInt32(number), flags: flags | CPUIDBits.significantIndexFlag,
                              eax: T.levelShift.set(0, shift), ebx: T.levelProcessors.set(0, processors), ecx: ecx, edx: vcpuID)
        }
    }
}
