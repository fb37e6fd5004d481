import VMRRJournal

/// vmrr's decoding of `struct kvm_run` after KVM_RUN returns. `VCPU.run()`
/// decodes the run page exactly once into this enum; nothing downstream reads
/// the union.
public enum VMExit: Sendable, Equatable {
    /// Port I/O. For writes, `values` holds the `count` elements the guest wrote
    /// (more than one for `rep outs`). For reads, the handler must answer with
    /// `VCPU.completeIORead(_:)` before the next run.
    case io(port: UInt16, size: UInt8, direction: IODirection, count: UInt32, values: IOValues)
    /// An access to guest-physical memory with no memory slot.
    /// For reads, answer with `VCPU.completeMMIORead(_:)`.
    case mmio(gpa: UInt64, size: UInt8, direction: IODirection, value: UInt64)
    case hlt
    /// Triple fault.
    case shutdown
    /// A debug exception (single-step or hardware breakpoint).
    case debug(exception: UInt32, pc: UInt64, dr6: UInt64, dr7: UInt64)
    /// KVM could not emulate or run: suberror and the data words KVM gave
    /// (for emulation failures, the instruction bytes).
    case internalError(suberror: UInt32, data: [UInt64])
    case failEntry(reason: UInt64)
    case irqWindowOpen
    /// RDMSR or WRMSR that KVM sent to userspace (KVM_CAP_X86_USER_SPACE_MSR).
    /// For reads `value` is 0; answer with `VCPU.completeMSR(value:fault:)`.
    /// `reason` is KVM's KVM_MSR_EXIT_REASON_* bit.
    case msr(index: UInt32, direction: IODirection, value: UInt64, reason: UInt32)
    /// KVM_RUN returned EINTR, or KVM_EXIT_INTR: a signal or `immediate_exit`.
    case interrupted
    case systemEvent(type: UInt32)
    case unsupported(reason: UInt32)

    public var name: String {
        switch self {
        case .io: return "io"
        case .mmio: return "mmio"
        case .hlt: return "hlt"
        case .shutdown: return "shutdown"
        case .debug: return "debug"
        case .internalError: return "internal-error"
        case .failEntry: return "fail-entry"
        case .irqWindowOpen: return "irq-window-open"
        case .msr(_, let d, _, _): return d == .read ? "rdmsr" : "wrmsr"
        case .interrupted: return "interrupted"
        case .systemEvent: return "system-event"
        case .unsupported(let r): return "unsupported exit reason \(r)"
        }
    }

    /// Internal-error suberror codes (KVM_INTERNAL_ERROR_*).
    public enum InternalError {
        public static let emulation: UInt32 = 1
        public static let simulEx: UInt32 = 2
        public static let deliveryEv: UInt32 = 3
        public static let unexpectedExitReason: UInt32 = 4
    }

    /// For an emulation failure, the instruction bytes KVM reported (flags
    /// word bit 0 says they are valid: insn_size then up to 15 bytes).
    public static func emulationFailureBytes(_ data: [UInt64]) -> [UInt8] {
        // Layout (struct emulation_failure): data[0] = flags, then insn_size (u8)
        // and insn_bytes[15] in data[1...2].
        let instructionBytesValid: UInt64 = 1
        guard data.count >= 3, data[0] & instructionBytesValid != 0 else { return [] }
        var bytes: [UInt8] = []
        for w in data[1...2] { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: w >> (8 * UInt64(i)))) } }
        let n = Int(bytes[0])
        return Array(bytes[1..<min(16, 1 + n)])
    }
}

/// The values of a port I/O exit, or the answers to an IN: one value held
/// inline (a plain IN or OUT, so the exit path allocates nothing), or
/// several for `rep ins`/`rep outs`.
public struct IOValues: RandomAccessCollection, ExpressibleByArrayLiteral, Equatable, Sendable {
    enum Storage: Equatable, Sendable {
        case none
        case one(UInt64)
        case many([UInt64])
    }
    let storage: Storage

    public init(_ values: [UInt64]) {
        switch values.count {
        case 0: storage = .none
        case 1: storage = .one(values[0])
        default: storage = .many(values)
        }
    }

    public init(single value: UInt64) { storage = .one(value) }
    public init(arrayLiteral elements: UInt64...) { self.init(elements) }

    public var startIndex: Int { 0 }
    public var endIndex: Int {
        switch storage {
        case .none: return 0
        case .one: return 1
        case .many(let a): return a.count
        }
    }

    public subscript(i: Int) -> UInt64 {
        switch storage {
        case .none: preconditionFailure("IOValues: index \(i) of an empty list")
        case .one(let v):
            precondition(i == 0, "IOValues: index \(i) of one value")
            return v
        case .many(let a): return a[i]
        }
    }
}
