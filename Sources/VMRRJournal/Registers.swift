/// vmrr's own register model. It is independent of KVM's structs so that the
/// journal, the MMU and the replay engine can be used where there is no KVM.

/// The 18 general registers vmrr records at every event, in journal order.
/// The order puts the registers that change most often first, so that the
/// varint change-mask of a typical event fits in one byte (see docs/JOURNAL.md).
public struct GPRegisters: Equatable, Hashable, Sendable {
    public var rip: UInt64 = 0
    public var rflags: UInt64 = 0
    public var rax: UInt64 = 0
    public var rcx: UInt64 = 0
    public var rdx: UInt64 = 0
    public var rsi: UInt64 = 0
    public var rdi: UInt64 = 0
    public var rsp: UInt64 = 0
    public var rbx: UInt64 = 0
    public var rbp: UInt64 = 0
    public var r8: UInt64 = 0
    public var r9: UInt64 = 0
    public var r10: UInt64 = 0
    public var r11: UInt64 = 0
    public var r12: UInt64 = 0
    public var r13: UInt64 = 0
    public var r14: UInt64 = 0
    public var r15: UInt64 = 0

    public init() {}

    /// Register names in journal order; `self[i]` is the register named `names[i]`.
    public static let names: [String] = [
        "rip", "rflags", "rax", "rcx", "rdx", "rsi", "rdi", "rsp", "rbx", "rbp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    ]
    public static let count = 18

    public subscript(index: Int) -> UInt64 {
        get {
            switch index {
            case 0: return rip
            case 1: return rflags
            case 2: return rax
            case 3: return rcx
            case 4: return rdx
            case 5: return rsi
            case 6: return rdi
            case 7: return rsp
            case 8: return rbx
            case 9: return rbp
            case 10: return r8
            case 11: return r9
            case 12: return r10
            case 13: return r11
            case 14: return r12
            case 15: return r13
            case 16: return r14
            case 17: return r15
            default: preconditionFailure("GPRegisters index \(index) out of range")
            }
        }
        set {
            switch index {
            case 0: rip = newValue
            case 1: rflags = newValue
            case 2: rax = newValue
            case 3: rcx = newValue
            case 4: rdx = newValue
            case 5: rsi = newValue
            case 6: rdi = newValue
            case 7: rsp = newValue
            case 8: rbx = newValue
            case 9: rbp = newValue
            case 10: r8 = newValue
            case 11: r9 = newValue
            case 12: r10 = newValue
            case 13: r11 = newValue
            case 14: r12 = newValue
            case 15: r13 = newValue
            case 16: r14 = newValue
            case 17: r15 = newValue
            default: preconditionFailure("GPRegisters index \(index) out of range")
            }
        }
    }

    /// Register by register, `self &- other` (wrapping).
    @inline(__always)
    public func wrappingDifference(_ o: GPRegisters) -> GPRegisters {
        var d = GPRegisters()
        d.rip = rip &- o.rip; d.rflags = rflags &- o.rflags; d.rax = rax &- o.rax; d.rcx = rcx &- o.rcx
        d.rdx = rdx &- o.rdx; d.rsi = rsi &- o.rsi; d.rdi = rdi &- o.rdi; d.rsp = rsp &- o.rsp
        d.rbx = rbx &- o.rbx; d.rbp = rbp &- o.rbp; d.r8 = r8 &- o.r8; d.r9 = r9 &- o.r9
        d.r10 = r10 &- o.r10; d.r11 = r11 &- o.r11; d.r12 = r12 &- o.r12; d.r13 = r13 &- o.r13
        d.r14 = r14 &- o.r14; d.r15 = r15 &- o.r15
        return d
    }

    /// Register by register, `self &+ other` (wrapping).
    @inline(__always)
    public func wrappingSum(_ o: GPRegisters) -> GPRegisters {
        var d = GPRegisters()
        d.rip = rip &+ o.rip; d.rflags = rflags &+ o.rflags; d.rax = rax &+ o.rax; d.rcx = rcx &+ o.rcx
        d.rdx = rdx &+ o.rdx; d.rsi = rsi &+ o.rsi; d.rdi = rdi &+ o.rdi; d.rsp = rsp &+ o.rsp
        d.rbx = rbx &+ o.rbx; d.rbp = rbp &+ o.rbp; d.r8 = r8 &+ o.r8; d.r9 = r9 &+ o.r9
        d.r10 = r10 &+ o.r10; d.r11 = r11 &+ o.r11; d.r12 = r12 &+ o.r12; d.r13 = r13 &+ o.r13
        d.r14 = r14 &+ o.r14; d.r15 = r15 &+ o.r15
        return d
    }

    /// Looks a register up by name (case-insensitive); nil when unknown.
    public static func index(named name: String) -> Int? {
        names.firstIndex(of: name.lowercased())
    }

    /// Names of the registers whose values differ, in journal order.
    public func differences(from other: GPRegisters) -> [Int] {
        (0..<Self.count).filter { self[$0] != other[$0] }
    }
}

/// A segment register as the CPU holds it (selector plus the hidden part).
public struct SegmentRegister: Equatable, Hashable, Sendable {
    public var base: UInt64 = 0
    public var limit: UInt32 = 0
    public var selector: UInt16 = 0
    public var type: UInt8 = 0
    public var present: Bool = false
    public var dpl: UInt8 = 0
    public var db: Bool = false
    public var s: Bool = false
    public var l: Bool = false
    public var g: Bool = false
    public var avl: Bool = false
    public var unusable: Bool = false
    public init() {}
    public init(base: UInt64, limit: UInt32, selector: UInt16, type: UInt8, present: Bool,
                dpl: UInt8, db: Bool, s: Bool, l: Bool, g: Bool, avl: Bool = false, unusable: Bool = false) {
        self.base = base; self.limit = limit; self.selector = selector; self.type = type
        self.present = present; self.dpl = dpl; self.db = db; self.s = s; self.l = l; self.g = g
        self.avl = avl; self.unusable = unusable
    }
}

/// GDTR or IDTR.
public struct DescriptorTableRegister: Equatable, Hashable, Sendable {
    public var base: UInt64 = 0
    public var limit: UInt16 = 0
    public init() {}
    public init(base: UInt64, limit: UInt16) { self.base = base; self.limit = limit }
}

/// Control registers, segments and descriptor tables.
public struct SpecialRegisters: Equatable, Hashable, Sendable {
    public var cs = SegmentRegister(), ds = SegmentRegister(), es = SegmentRegister()
    public var fs = SegmentRegister(), gs = SegmentRegister(), ss = SegmentRegister()
    public var tr = SegmentRegister(), ldt = SegmentRegister()
    public var gdt = DescriptorTableRegister(), idt = DescriptorTableRegister()
    public var cr0: UInt64 = 0
    public var cr2: UInt64 = 0
    public var cr3: UInt64 = 0
    public var cr4: UInt64 = 0
    public var cr8: UInt64 = 0
    public var efer: UInt64 = 0
    public var apicBase: UInt64 = 0
    public init() {}
}

/// The complete vCPU state of a checkpoint. The named parts are decoded so that
/// tools can show them without KVM; the `blobs` carry the rest of KVM's vCPU
/// state (FPU/XSAVE, XCRs, pending events, debug registers, MP state) as the
/// raw bytes of the corresponding `struct kvm_*`, keyed by a stable name such
/// as "xsave", so a replay can restore it exactly.
public struct VCPUState: Equatable, Sendable {
    public var regs = GPRegisters()
    public var sregs = SpecialRegisters()
    /// MSR index and value pairs, in the order they were read.
    public var msrs: [MSREntry] = []
    public var blobs: [String: [UInt8]] = [:]
    public init() {}
    public init(regs: GPRegisters, sregs: SpecialRegisters, msrs: [MSREntry] = [], blobs: [String: [UInt8]] = [:]) {
        self.regs = regs; self.sregs = sregs; self.msrs = msrs; self.blobs = blobs
    }
}

public struct MSREntry: Equatable, Hashable, Sendable {
    public var index: UInt32
    public var value: UInt64
    public init(index: UInt32, value: UInt64) { self.index = index; self.value = value }
}
