import VMRRBase

// Which values came from a nondeterministic instruction: a small taint
// tracker over the instructions single-stepped between the last matching
// event and a divergence. Pure logic, no KVM and no disassembler: an
// instruction is given as its `InstructionEffect` (the registers and memory
// it reads and writes), built by `InstructionEffects` from Capstone's detail
// mode, or by hand in the tests.

/// An instruction whose result this host cannot make the same at replay.
public enum NondeterministicSource: String, Equatable, Sendable, CaseIterable {
    case rdtsc, rdtscp, rdrand, rdseed, rdpid
    /// RDMSR of IA32_TSC (0x10).
    case rdmsrTSC = "rdmsr"

    /// What it reads, for the note.
    public var what: String {
        switch self {
        case .rdtsc, .rdtscp, .rdmsrTSC: "the TSC"
        case .rdrand, .rdseed: "the hardware random number generator"
        case .rdpid: "the processor ID"
        }
    }

    /// Opcode bytes (Intel SDM vol. 2): RDTSC 0F 31, RDTSCP 0F 01 F9, RDMSR 0F 32,
    /// RDRAND 0F C7 /6 and RDSEED 0F C7 /7 (register forms), RDPID F3 0F C7 /7.
    static let escape: UInt8 = 0x0F
    static let rdtscOpcode: UInt8 = 0x31
    static let rdmsrOpcode: UInt8 = 0x32
    static let group7: UInt8 = 0x01
    static let rdtscpModRM: UInt8 = 0xF9
    static let group9: UInt8 = 0xC7
    static let repPrefix: UInt8 = 0xF3
    static let operandSizePrefix: UInt8 = 0x66
    static let rexRange: ClosedRange<UInt8> = 0x40...0x4F
    static let rexB: UInt8 = 0x01
    static let ia32TSC: UInt64 = 0x10
    static let modRegister: UInt8 = 0b11

    /// The canonical 64-bit names of the general registers, by their encoding number.
    static let registerNumbers = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                  "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]

    /// The source `bytes` (at the instruction pointer) start with, and the
    /// registers it writes; `rcx` is ECX's value, which RDMSR reads. Prefixes
    /// before the opcode: 66, F3 and one REX (in 64-bit code).
    public static func recognize(_ bytes: [UInt8], rcx: UInt64, bits: Int = 64) -> (NondeterministicSource, writes: [String])? {
        var i = 0
        var rep = false
        var rex: UInt8 = 0
        while i < bytes.count, i < 4 {
            let b = bytes[i]
            if b == repPrefix { rep = true } else if b == operandSizePrefix {
            } else if bits == 64, rexRange.contains(b) { rex = b } else { break }
            i += 1
        }
        guard i + 1 < bytes.count, bytes[i] == escape else { return nil }
        let op = bytes[i + 1]
        switch op {
        case rdtscOpcode where !rep: return (.rdtsc, ["rax", "rdx"])
        case rdmsrOpcode where !rep:
            return rcx & 0xffff_ffff == ia32TSC ? (.rdmsrTSC, ["rax", "rdx"]) : nil
        case group7 where i + 2 < bytes.count && bytes[i + 2] == rdtscpModRM: return (.rdtscp, ["rax", "rdx", "rcx"])
        case group9 where i + 2 < bytes.count:
            let modrm = bytes[i + 2]
            guard modrm >> 6 == modRegister else { return nil }
            let reg = (modrm >> 3) & 7
            let dst = registerNumbers[Int((modrm & 7) | (rex & rexB) << 3)]
            switch (reg, rep) {
            case (6, false): return (.rdrand, [dst, "rflags"])
            case (7, false): return (.rdseed, [dst, "rflags"])
            case (7, true): return (.rdpid, [dst])
            default: return nil
            }
        default: return nil
        }
    }
}

/// Where a tainted value came from: the instruction, its address, and how
/// many instructions after the last matching event it ran.
public struct TaintOrigin: Equatable, Sendable {
    public var source: NondeterministicSource
    public var rip: UInt64
    public var step: Int
    /// True once the value went through guest memory (a store, then a load).
    public var throughMemory = false
    public init(source: NondeterministicSource, rip: UInt64, step: Int, throughMemory: Bool = false) {
        self.source = source; self.rip = rip; self.step = step; self.throughMemory = throughMemory
    }
}

/// One instruction's data flow. Registers by canonical 64-bit name (`rax`
/// for `al`, `rflags` for the flags); memory as linear address and length.
public struct InstructionEffect: Equatable, Sendable {
    public var reads: Set<String> = []
    public var writes: Set<String> = []
    public var memoryReads: [MemoryRange] = []
    public var memoryWrites: [MemoryRange] = []
    /// Set when the instruction is itself a nondeterministic source: its writes get a fresh origin.
    public var source: NondeterministicSource?

    public struct MemoryRange: Equatable, Sendable {
        public var address: UInt64
        public var length: Int
        public init(_ address: UInt64, _ length: Int) { self.address = address; self.length = length }
    }

    public init(reads: Set<String> = [], writes: Set<String> = [], memoryReads: [MemoryRange] = [],
                memoryWrites: [MemoryRange] = [], source: NondeterministicSource? = nil) {
        self.reads = reads; self.writes = writes; self.memoryReads = memoryReads
        self.memoryWrites = memoryWrites; self.source = source
    }
}

/// The tracker: every register and memory byte that holds a value derived
/// from a source carries the origin of that source. An instruction's
/// outputs carry the origin of its first tainted input (registers first,
/// then memory) or none: an output computed from clean inputs is clean.
public struct TaintTracker: Sendable {
    public private(set) var registers: [String: TaintOrigin] = [:]
    public private(set) var memory: [UInt64: TaintOrigin] = [:]
    /// The origin of what the last instruction read (for a value written by an exit: OUT, an MMIO store).
    public private(set) var lastInput: TaintOrigin?
    public private(set) var steps = 0
    /// Bound on the tainted memory bytes tracked (a guest copying a TSC value around forever).
    static let memoryLimit = 1 << 20

    public init() {}

    public mutating func apply(_ e: InstructionEffect, rip: UInt64) {
        defer { steps += 1 }
        var input: TaintOrigin?
        for r in e.reads.sorted() where input == nil { input = registers[r] }
        for m in e.memoryReads where input == nil {
            for k in 0..<m.length where input == nil {
                if var o = memory[m.address &+ UInt64(k)] {
                    o.throughMemory = true
                    input = o
                }
            }
        }
        lastInput = input
        let output = e.source.map { TaintOrigin(source: $0, rip: rip, step: steps) } ?? input
        for r in e.writes { registers[r] = output }
        for m in e.memoryWrites {
            for k in 0..<m.length {
                let a = m.address &+ UInt64(k)
                if let output, memory.count < Self.memoryLimit { memory[a] = output } else { memory[a] = nil }
            }
        }
    }

    /// The origin of the value in register `name` (a canonical 64-bit name, or `rflags`).
    public func origin(ofRegister name: String) -> TaintOrigin? { registers[name] }
}
