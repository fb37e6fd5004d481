/// The journal's event model: everything nondeterministic that crossed an exit.

public enum IODirection: UInt8, Sendable, Equatable, Hashable {
    /// Port IN, or an MMIO read: data flows into the guest and is journaled input.
    case read = 0
    /// Port OUT, or an MMIO write: data flows out of the guest.
    case write = 1
}

/// The kinds of event, with the stable names used by `vmrr dump --json`.
/// The raw values are the on-disk kind codes; never renumber them.
public enum EventKind: UInt8, Sendable, CaseIterable, Equatable, Hashable {
    case io = 1
    case mmio = 2
    case hlt = 3
    case shutdown = 4
    case pageFault = 5
    case stage2Fault = 6
    case clock = 7
    case timer = 8
    case interrupt = 9
    case input = 10
    case checkpoint = 11
    case error = 12
    case end = 13
    /// Format version 2.
    case msr = 14
    /// Format version 2.
    case assist = 15
    /// Format version 3: the running vCPU changes (docs/SMP.md).
    case switchVCPU = 17
    /// Format version 3: a SIPI started an AP.
    case startup = 18
    /// Format version 2, added later (docs/JOURNAL.md, "Versioning"): an NMI injected.
    case nmi = 16
    /// Format version 2, added later: a warm reset through the CMOS shutdown byte.
    case warmReset = 19
    /// Formats 2 and 3, added later: a timer signal stopped the running vCPU
    /// between exits (docs/SMP.md, "Preemption by a timer signal").
    case preempt = 20

    /// The first journal format version that has this kind.
    public var sinceFormatVersion: UInt16 {
        switch self {
        case .switchVCPU, .startup: return 3
        case .msr, .assist, .nmi, .warmReset, .preempt: return 2
        default: return 1
        }
    }

    /// Kinds only a journal of more than one vCPU may hold.
    public var needsMoreThanOneVCPU: Bool { self == .switchVCPU || self == .startup }

    public var name: String {
        switch self {
        case .io: return "io"
        case .mmio: return "mmio"
        case .hlt: return "hlt"
        case .shutdown: return "shutdown"
        case .pageFault: return "page_fault"
        case .stage2Fault: return "stage2_fault"
        case .clock: return "clock"
        case .timer: return "timer"
        case .interrupt: return "interrupt"
        case .input: return "input"
        case .checkpoint: return "checkpoint"
        case .error: return "error"
        case .end: return "end"
        case .msr: return "msr"
        case .assist: return "assist"
        case .switchVCPU: return "switch"
        case .startup: return "startup"
        case .nmi: return "nmi"
        case .warmReset: return "warm_reset"
        case .preempt: return "preempt"
        }
    }

    public init?(name: String) {
        guard let k = EventKind.allCases.first(where: { $0.name == name }) else { return nil }
        self = k
    }
}

/// Why a run ended; carried by the `end` event.
public enum EndReason: UInt8, Sendable, Equatable, Hashable {
    /// The guest wrote to the debug-exit port.
    case debugExit = 1
    /// HLT with interrupts disabled and no timer armed.
    case halted = 2
    /// Triple fault (KVM_EXIT_SHUTDOWN).
    case shutdown = 3
    /// KVM could not run the guest (internal error, entry failure, unknown exit).
    case error = 4
    /// `--strict` stopped an access to an unknown port or address.
    case strict = 5
    /// A limit such as `--max-exits` or `--max-time` was reached.
    case limit = 6
    /// The recorder was interrupted (SIGINT/SIGTERM).
    case interrupted = 7

    public var name: String {
        switch self {
        case .debugExit: return "debug-exit"
        case .halted: return "halted"
        case .shutdown: return "shutdown"
        case .error: return "error"
        case .strict: return "strict"
        case .limit: return "limit"
        case .interrupted: return "interrupted"
        }
    }
}

/// What `--assist` did at an instruction KVM could not emulate
/// (docs/GUEST.md, "Assists"). The raw values are on-disk codes.
public enum AssistAction: UInt8, Sendable, Equatable, Hashable, CaseIterable {
    /// `int3`: RIP moves past it and #BP is injected, as the CPU would deliver it.
    case breakpoint = 1
    /// `fwait`: skipped (no x87 exception is ever pending here).
    case skip = 2
    /// `clac`: RFLAGS.AC cleared, then skipped.
    case clearAC = 3
    /// `stac`: RFLAGS.AC set, then skipped.
    case setAC = 4

    public var name: String {
        switch self {
        case .breakpoint: return "int3"
        case .skip: return "fwait"
        case .clearAC: return "clac"
        case .setAC: return "stac"
        }
    }

    /// The action for an instruction, by its bytes; nil for anything else.
    public static func decode(_ bytes: [UInt8]) -> (action: AssistAction, length: UInt8)? {
        guard let first = bytes.first else { return nil }
        if first == Opcode.int3 { return (.breakpoint, 1) }
        if first == Opcode.fwait { return (.skip, 1) }
        if bytes.count >= 3 && bytes[0] == Opcode.twoByteEscape && bytes[1] == Opcode.group7 {
            if bytes[2] == Opcode.clacModRM { return (.clearAC, 3) }
            if bytes[2] == Opcode.stacModRM { return (.setAC, 3) }
        }
        return nil
    }

    /// The opcode bytes the decoder recognises (Intel SDM vol. 2).
    public enum Opcode {
        public static let int3: UInt8 = 0xCC
        public static let fwait: UInt8 = 0x9B
        public static let twoByteEscape: UInt8 = 0x0F
        public static let group7: UInt8 = 0x01
        public static let clacModRM: UInt8 = 0xCA
        public static let stacModRM: UInt8 = 0xCB
    }
}

/// One journaled event. Exits that return data to the guest carry that data.
public enum Event: Sendable, Equatable, Hashable {
    /// A port I/O exit. For reads, `value` is what the guest received.
    case io(port: UInt16, size: UInt8, direction: IODirection, value: UInt64)
    /// An MMIO exit to a device vmrr emulates (other than the clock and timer).
    case mmio(gpa: UInt64, size: UInt8, direction: IODirection, value: UInt64)
    /// HLT exit.
    case hlt
    /// Triple fault.
    case shutdown
    /// A guest page fault (vector 14), captured at the guest's #PF handler.
    /// `rip` is the faulting instruction, `errorCode` the pushed error code.
    case pageFault(gva: UInt64, errorCode: UInt64, cr3: UInt64, faultingRIP: UInt64)
    /// An access to guest-physical memory that no memory slot and no device backs.
    /// Reads return all ones; writes are dropped.
    case stage2Fault(gpa: UInt64, size: UInt8, direction: IODirection, value: UInt64)
    /// A read of the paravirtual clock: nanoseconds since boot.
    case clock(ns: UInt64)
    /// A write to the paravirtual timer: deadline in clock ns, 0 = disarm.
    case timer(deadline: UInt64)
    /// An interrupt injected before the next guest instruction.
    case interrupt(vector: UInt8)
    /// A console input byte returned by a read of the serial RBR at `port`.
    case input(port: UInt16, byte: UInt8)
    /// A checkpoint was taken here; `id` indexes the journal's checkpoints.
    case checkpoint(id: UInt32)
    /// KVM reported an error exit. `reason` is KVM's exit reason, `suberror`
    /// its suberror where it has one, `data` the bytes it reported (for
    /// emulation failures, the instruction bytes).
    case error(reason: UInt32, suberror: UInt32, data: [UInt8])
    /// The run ended, with the process exit status vmrr reports.
    case end(reason: EndReason, status: Int32)
    /// An RDMSR or WRMSR that KVM refused or that vmrr models (the APIC base
    /// and x2APIC MSRs), answered by vmrr. For reads `value` is what the guest
    /// received; `fault` means the access raised #GP(0) instead. (Format v2.)
    case msr(index: UInt32, direction: IODirection, value: UInt64, fault: Bool)
    /// `--assist` emulated an instruction KVM could not: `length` bytes at
    /// the record's RIP. (Format v2.)
    case assist(action: AssistAction, length: UInt8)
    /// From here on events belong to `vcpu`; the record's registers are
    /// that vCPU's as it resumes. (Format v3.)
    case switchVCPU(vcpu: UInt8)
    /// The running vCPU's local APIC started `vcpu` with a SIPI: real mode at
    /// CS = vector << 8, IP = 0. (Format v3.)
    case startup(vcpu: UInt8, vector: UInt8)
    /// An NMI injected (KVM_NMI) before the next guest instruction: an NMI
    /// IPI or an I/O APIC entry in NMI mode made one pending. (Format v2,
    /// added later: docs/JOURNAL.md, "Versioning".)
    case nmi
    /// A reset with CMOS shutdown code 0x05 or 0x0A: the vCPU re-entered
    /// real mode at `segment:offset`, the far pointer at 0x467 (as a BIOS
    /// does). The record's registers are the ones before the reset.
    /// (Format v2, added later.)
    case warmReset(segment: UInt16, offset: UInt16)
    /// A timer signal stopped the running vCPU between exits (`record
    /// --preempt-ms`); the record's registers are where it stopped and
    /// `digest` is FNV-1a over the pages dirtied since the last clean mark
    /// (docs/SMP.md). Replay reaches the point with a hardware breakpoint at
    /// RIP. (Formats 2 and 3, added later.)
    case preempt(digest: UInt64)

    public var kind: EventKind {
        switch self {
        case .io: return .io
        case .mmio: return .mmio
        case .hlt: return .hlt
        case .shutdown: return .shutdown
        case .pageFault: return .pageFault
        case .stage2Fault: return .stage2Fault
        case .clock: return .clock
        case .timer: return .timer
        case .interrupt: return .interrupt
        case .input: return .input
        case .checkpoint: return .checkpoint
        case .error: return .error
        case .end: return .end
        case .msr: return .msr
        case .assist: return .assist
        case .switchVCPU: return .switchVCPU
        case .startup: return .startup
        case .nmi: return .nmi
        case .warmReset: return .warmReset
        case .preempt: return .preempt
        }
    }

    /// True for events that are VM exits (as opposed to things vmrr did:
    /// injections, checkpoints, page-fault captures, the end marker).
    public var isExit: Bool {
        switch self {
        case .io, .mmio, .hlt, .shutdown, .stage2Fault, .clock, .timer, .input, .error, .msr, .assist: return true
        case .pageFault, .interrupt, .checkpoint, .end, .switchVCPU, .startup, .nmi, .warmReset, .preempt: return false
        }
    }
}

/// An event with its position and the guest's general registers when it happened.
/// For exits the registers are read right after KVM_RUN returned (before any
/// emulation completes an IN or MMIO read).
public struct EventRecord: Sendable, Equatable {
    public var index: UInt64
    public var regs: GPRegisters
    public var event: Event
    /// The vCPU the event belongs to (0 in journals of one vCPU).
    public var vcpu: UInt8
    public init(index: UInt64, regs: GPRegisters, event: Event, vcpu: UInt8 = 0) {
        self.index = index; self.regs = regs; self.event = event; self.vcpu = vcpu
    }
    public var rip: UInt64 { regs.rip }
}
