import VMRRBase
import VMRRJournal

/// A CPUID feature vmrr does not offer although KVM's supported table does,
/// and why. The journal header keeps these (`JournalHeader.cpuidHidden`), and
/// `vmrr dump --summary` lists them.
public struct HiddenCPUIDFeature: Sendable, Equatable {
    /// A short name, as Linux's /proc/cpuinfo or KVM's headers spell it.
    public let name: String
    /// Where it lives: "CPUID.1:ECX[24]", "KVM 0x40000001:EAX[0]".
    public let location: String
    public let reason: String

    /// "kvmclock (KVM 0x40000001:EAX[0]): reason", the header's line.
    public var line: String { "\(name) (\(location)): \(reason)" }
}

/// KVM's paravirtual interface (Documentation/virt/kvm/x86/cpuid.rst) and
/// what vmrr offers of it.
///
/// The hypervisor range at 0x40000000 names vmrr ("vmrrvmrrvmrr"), so a
/// guest that checks for a hypervisor learns that it runs on vmrr. KVM's own
/// signature and feature leaves move to the next range, 0x40000100, where
/// Linux and other guests that look for KVM search (in steps of 0x100, as
/// they do under Hyper-V): there the feature leaf keeps only what vmrr can
/// record and replay with its user-space local APIC and no hypercalls
/// (docs/HOST.md: `vmcall` hangs here), that is the "no I/O delay" hint.
/// Every other bit, including any KVM adds later, is hidden.
public enum KVMParavirt {
    /// The hypervisor range vmrr answers: signature and the highest leaf of the range.
    public static let vmrrBase: UInt32 = 0x4000_0000
    /// "vmrrvmrrvmrr" in EBX, ECX, EDX (little-endian ASCII).
    public static let vmrrSignature: (ebx: UInt32, ecx: UInt32, edx: UInt32) = (0x7272_6D76, 0x7272_6D76, 0x7272_6D76)
    /// KVM's feature leaf as KVM_GET_SUPPORTED_CPUID lists it.
    public static let kvmFeaturesLeaf: UInt32 = 0x4000_0001
    /// Where the guest finds KVM's signature and features instead.
    public static let kvmBase: UInt32 = 0x4000_0100
    /// "KVMKVMKVM\0\0\0" in EBX, ECX, EDX.
    public static let kvmSignature: (ebx: UInt32, ecx: UInt32, edx: UInt32) = (0x4B4D_564B, 0x564B_4D56, 0x0000_004D)

    /// KVM_FEATURE_NOP_IO_DELAY: the guest may skip port-0x80 delays; nothing to replay.
    public static let nopIODelay: UInt32 = 1 << 1
    /// The EAX bits of the feature leaf vmrr offers.
    public static let offeredFeatures: UInt32 = nopIODelay

    /// The named EAX bits of KVM's feature leaf and why vmrr hides each.
    public static let featureReasons: [(bit: Int, name: String, reason: String)] = [
        (0, "kvmclock", "reads the host TSC, which vmrr cannot trap or replay; guest time comes from vmrr's devices"),
        (2, "kvm-mmu-op", "obsolete paravirtual MMU hypercalls; hypercalls hang on this host"),
        (3, "kvmclock2", "reads the host TSC, which vmrr cannot trap or replay; guest time comes from vmrr's devices"),
        (4, "async-pf", "asynchronous page faults need an in-kernel local APIC (MSR 0x4b564d02/0x4b564d06 #GP)"),
        (5, "steal-time", "steal time is host scheduling, not replayable"),
        (6, "pv-eoi", "paravirtual EOI bypasses vmrr's user-space local APIC"),
        (7, "pv-unhalt", "paravirtual spinlock kicks are hypercalls, which hang on this host"),
        (9, "pv-tlb-flush", "needs steal time, which is hidden"),
        (10, "async-pf-vmexit", "asynchronous page faults are hidden"),
        (11, "pv-send-ipi", "paravirtual IPIs are hypercalls and bypass vmrr's local APIC"),
        (12, "poll-control", "host-side halt polling is not part of the recorded machine"),
        (13, "pv-sched-yield", "a hypercall, which hangs on this host"),
        (14, "async-pf-int", "asynchronous page faults need an in-kernel local APIC"),
        (15, "msi-ext-dest-id", "vmrr has one vCPU and no MSI"),
        (16, "hc-map-gpa-range", "a hypercall, which hangs on this host"),
        (17, "migration-control", "vmrr machines do not migrate"),
        (24, "clocksource-stable", "only meaningful with kvmclock, which is hidden"),
    ]

    /// The named EDX hint bits.
    public static let hintReasons: [(bit: Int, name: String, reason: String)] = [
        (0, "kvm-hint-realtime", "vCPUs are not pinned to dedicated host CPUs"),
    ]

    /// The hypervisor leaves the guest sees, given KVM's feature entry (nil:
    /// KVM offers no paravirtual leaves), and the bits hidden.
    static func leaves(features: CPUIDEntry?) -> ([CPUIDEntry], [HiddenCPUIDFeature]) {
        var out = [CPUIDEntry(function: vmrrBase, index: 0, flags: 0, eax: vmrrBase,
                              ebx: vmrrSignature.ebx, ecx: vmrrSignature.ecx, edx: vmrrSignature.edx)]
        guard let f = features else { return (out, []) }
        out.append(CPUIDEntry(function: kvmBase, index: 0, flags: 0, eax: kvmBase + 1,
                              ebx: kvmSignature.ebx, ecx: kvmSignature.ecx, edx: kvmSignature.edx))
        out.append(CPUIDEntry(function: kvmBase + 1, index: 0, flags: 0, eax: f.eax & offeredFeatures, ebx: 0, ecx: 0, edx: 0))
        let leaf = "KVM \(hex(UInt64(kvmFeaturesLeaf)))"
        return (out, hidden(f.eax & ~offeredFeatures, register: "\(leaf):EAX", named: featureReasons)
                    + hidden(f.edx, register: "\(leaf):EDX", named: hintReasons))
    }

    static func hidden(_ bits: UInt32, register: String, named: [(bit: Int, name: String, reason: String)]) -> [HiddenCPUIDFeature] {
        (0..<32).filter { bits & (1 << UInt32($0)) != 0 }.map { bit in
            let known = named.first { $0.bit == bit }
            return HiddenCPUIDFeature(name: known?.name ?? "bit \(bit)", location: "\(register)[\(bit)]",
                                      reason: known?.reason ?? "a KVM feature vmrr does not know, so cannot replay")
        }
    }
}
