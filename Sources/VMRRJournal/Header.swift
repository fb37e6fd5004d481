/// The journal header: what a replay needs to rebuild the machine, and the
/// facts a bug report reader wants about the recording host.

/// How the recording host virtualized the guest's MMU (read from the kvm
/// modules' parameters at record time).
public enum HostMMUModel: UInt8, Sendable, Equatable, Hashable {
    case unknown = 0
    /// Intel VMX with EPT (kvm_intel ept=Y, and tdp enabled).
    case ept = 1
    /// AMD SVM with nested paging (kvm_amd npt=1).
    case npt = 2
    /// Shadow page tables kept by KVM (ept/npt off).
    case shadow = 3
    /// A paravirtualized host such as kvm_pvm, which itself uses shadow paging.
    case paravirtual = 4

    public var name: String {
        switch self {
        case .unknown: return "unknown"
        case .ept: return "EPT"
        case .npt: return "NPT"
        case .shadow: return "shadow paging"
        case .paravirtual: return "paravirtual (shadow paging)"
        }
    }
}

public enum ClockSource: UInt8, Sendable, Equatable, Hashable {
    case host = 0
    case virtual = 1
    public var name: String { self == .host ? "host" : "virtual" }
}

public enum BootProtocol: UInt8, Sendable, Equatable, Hashable {
    case vmrr = 0
    case multiboot = 1
    case linux = 2
    public var name: String {
        switch self {
        case .vmrr: return "vmrr"
        case .multiboot: return "multiboot"
        case .linux: return "linux"
        }
    }
}

/// One CPUID leaf as given to KVM_SET_CPUID2.
public struct CPUIDEntry: Sendable, Equatable, Hashable {
    public var function: UInt32
    public var index: UInt32
    public var flags: UInt32
    public var eax: UInt32
    public var ebx: UInt32
    public var ecx: UInt32
    public var edx: UInt32
    public init(function: UInt32, index: UInt32, flags: UInt32, eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        self.function = function; self.index = index; self.flags = flags
        self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
    }
}

public struct JournalHeader: Sendable, Equatable {
    /// SHA-256 of the guest image file, 32 bytes.
    public var imageSHA256: [UInt8] = []
    /// The image path as given to `vmrr record` (made absolute).
    public var imagePath: String = ""
    /// Guest RAM size in bytes (RAM sits at guest-physical 0).
    public var memorySize: UInt64 = 0
    public var vcpuCount: UInt32 = 1
    public var clock: ClockSource = .host
    public var bootProtocol: BootProtocol = .vmrr
    /// `--strict`: unknown ports and addresses stop the run.
    public var strict: Bool = false
    /// Events between checkpoints.
    public var checkpointInterval: UInt32 = 0
    /// The guest's command line (what RSI points at), possibly empty.
    public var guestCommandLine: String = ""
    /// The CPUID table vmrr set with KVM_SET_CPUID2.
    public var cpuidSet: [CPUIDEntry] = []
    /// The CPUID table KVM_GET_CPUID2 returned afterwards (KVM may adjust leaves).
    public var cpuidEffective: [CPUIDEntry] = []
    /// `uname -srvm` of the recording host.
    public var hostKernel: String = ""
    /// The host CPU's model name.
    public var hostCPU: String = ""
    public var hostMMU: HostMMUModel = .unknown
    /// Free text describing where `hostMMU` came from (module parameters).
    public var hostMMUDetail: String = ""
    /// Seconds since the Unix epoch when recording started (or
    /// `SOURCE_DATE_EPOCH`); 0 when the journal holds no recording time,
    /// as under `--clock virtual` (the field is then omitted from the file).
    public var recordedAt: UInt64 = 0
    /// The vmrr command line that made the journal.
    public var commandLine: String = ""
    /// vmrr's version string.
    public var vmrrVersion: String = ""
    /// A Linux bzImage whose LZ4 payload vmrr decompressed on the host (the
    /// vmlinux inside was loaded); false when the kernel's own decompressor ran.
    public var linuxPayloadOnHost: Bool = false
    /// CPUID features KVM offered that vmrr hid from the guest, one line
    /// each: "name (where): why" (`vmrr dump --summary` lists them).
    public var cpuidHidden: [String] = []
    /// `vmrr record --chaos SEED`: the seed the scheduler drew its slices
    /// and switch choices from (docs/SMP.md); nil without `--chaos`. Replay
    /// does not need it: the journal records every switch.
    public var chaosSeed: UInt64?

    public init() {}
}

/// A guest-physical page of memory in a checkpoint.
public struct PageRecord: Sendable, Equatable {
    /// Guest-physical address, page-aligned.
    public var gpa: UInt64
    /// Exactly `Checkpoint.pageSize` bytes; an all-zero page is stored compactly.
    public var bytes: [UInt8]
    public init(gpa: UInt64, bytes: [UInt8]) { self.gpa = gpa; self.bytes = bytes }
}

/// A run of all-zero guest-physical pages in a checkpoint, kept as a range:
/// `count` pages from `gpa` on. A journal's zero runs cost two bytes each in
/// the file however many pages they name, so readers never expand them into
/// pages (a 25 KB file can name 50 times 64 GiB).
public struct ZeroRun: Sendable, Equatable {
    /// Guest-physical address of the first page, page-aligned.
    public var gpa: UInt64
    /// Pages in the run, at least 1.
    public var count: UInt64
    public init(gpa: UInt64, count: UInt64) { self.gpa = gpa; self.count = count }
    /// The guest-physical bytes the run covers (its end clamped at 2^64).
    public var bytes: Range<UInt64> {
        let (size, o1) = count.multipliedReportingOverflow(by: Checkpoint.pageSize)
        let (end, o2) = gpa.addingReportingOverflow(size)
        return gpa..<((o1 || o2) ? UInt64.max : end)
    }
}

/// A checkpoint: full vCPU state plus the memory written since the previous one.
/// Checkpoint 0 is the full boot image (all non-zero pages; pages not listed are zero).
public struct Checkpoint: Sendable, Equatable {
    public static let pageSize: UInt64 = 4096
    public var id: UInt32
    /// The checkpoint describes the state right after event `eventIndex`
    /// (the `checkpoint` event itself); execution resumes with event `eventIndex + 1`.
    public var eventIndex: UInt64
    /// True when `pages` is the full memory image (pages absent are zero).
    public var full: Bool
    public var state: VCPUState
    /// Pages with their bytes. A checkpoint read from a journal holds only the
    /// pages stored raw here; its zero pages are in `zeroRuns`.
    public var pages: [PageRecord]
    /// Runs of zero pages, never expanded (a writer may also give zero pages
    /// in `pages`; the encoder coalesces those into runs). Readers apply
    /// `zeroRuns` first, then `pages`.
    public var zeroRuns: [ZeroRun]
    /// The device state (timer deadline, EOT flag, clock, COM1's LCR and
    /// MCR) encoded by `DeviceState` (DeviceStateCodec.swift), so that a
    /// replay restored here filters console output as the recording did.
    public var deviceState: [UInt8]
    /// A digest of all of guest memory at this point (FNV-1a 64 over RAM),
    /// or nil when not computed.
    public var memoryDigest: UInt64?
    /// With more than one vCPU (format 3, flag `allVCPUs`): every vCPU's
    /// state and scheduling state, and which one runs (whose state is
    /// `state`). Nil for one vCPU, and in format-3 journals written before
    /// 2026-12-02, whose checkpoints hold the running vCPU only.
    public var allVCPUs: CheckpointVCPUs?

    public init(id: UInt32, eventIndex: UInt64, full: Bool, state: VCPUState, pages: [PageRecord],
                deviceState: [UInt8] = [], memoryDigest: UInt64? = nil, zeroRuns: [ZeroRun] = [],
                allVCPUs: CheckpointVCPUs? = nil) {
        self.id = id; self.eventIndex = eventIndex; self.full = full; self.state = state
        self.pages = pages; self.deviceState = deviceState; self.memoryDigest = memoryDigest
        self.zeroRuns = zeroRuns; self.allVCPUs = allVCPUs
    }

    /// The pages the checkpoint lists, raw and in zero runs (saturating).
    public var pageCount: UInt64 {
        zeroRuns.reduce(UInt64(pages.count)) { $0.addingReportingOverflow($1.count).overflow ? .max : $0 + $1.count }
    }

    /// The same checkpoint as a reader gets it back from the journal: the
    /// all-zero pages of `pages` moved into `zeroRuns`, adjacent ones (in
    /// the order given, at consecutive addresses) coalesced as the encoder does.
    public var compacted: Checkpoint {
        var c = self
        c.pages = []
        var runs: [ZeroRun] = []
        var lastWasZero = false
        for p in pages {
            if p.bytes.count == Int(Self.pageSize), CheckpointCodec.isZero(p.bytes) {
                if lastWasZero, let last = runs.last, last.bytes.upperBound == p.gpa {
                    runs[runs.count - 1].count += 1
                } else {
                    runs.append(ZeroRun(gpa: p.gpa, count: 1))
                }
                lastWasZero = true
            } else {
                c.pages.append(p)
                lastWasZero = false
            }
        }
        c.zeroRuns = zeroRuns + runs
        return c
    }
}
