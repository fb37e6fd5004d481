import Testing
import VMRRJournal
@testable import VMRRMachine

/// The taint tracker and the source recognizer on synthetic instruction
/// traces, and Capstone's data flow on real instruction bytes: no KVM. RDTSCP,
/// RDSEED and RDPID cannot run in ring 0 on this host (docs/HOST.md), so
/// these traces are their tests.
struct TaintTrackingTests {
    typealias E = InstructionEffect

    @Test func recognizesEverySource() {
        func source(_ b: [UInt8], rcx: UInt64 = 0, bits: Int = 64) -> NondeterministicSource? {
            NondeterministicSource.recognize(b, rcx: rcx, bits: bits)?.0
        }
        #expect(source([0x0f, 0x31]) == .rdtsc)
        #expect(source([0x0f, 0x01, 0xf9]) == .rdtscp)
        #expect(source([0x0f, 0x32], rcx: 0x10) == .rdmsrTSC)
        #expect(source([0x0f, 0x32], rcx: 0xffff_ffff_0000_0010) == .rdmsrTSC, "ECX only")
        #expect(source([0x0f, 0x32], rcx: 0x1b) == nil, "RDMSR of another MSR")
        #expect(source([0x49, 0x0f, 0xc7, 0xf4]) == .rdrand)
        #expect(NondeterministicSource.recognize([0x49, 0x0f, 0xc7, 0xf4], rcx: 0)?.writes == ["r12", "rflags"])
        #expect(NondeterministicSource.recognize([0x0f, 0xc7, 0xf8], rcx: 0)?.0 == .rdseed)
        #expect(NondeterministicSource.recognize([0x0f, 0xc7, 0xf8], rcx: 0)?.writes == ["rax", "rflags"])
        #expect(NondeterministicSource.recognize([0xf3, 0x48, 0x0f, 0xc7, 0xf9], rcx: 0)?.0 == .rdpid)
        #expect(NondeterministicSource.recognize([0xf3, 0x48, 0x0f, 0xc7, 0xf9], rcx: 0)?.writes == ["rcx"])
        #expect(source([0x0f, 0xc7, 0x08]) == nil, "cmpxchg8b (a memory form of group 9)")
        #expect(source([0x49, 0x0f, 0x31], bits: 32) == nil, "0x49 is dec ecx in 32-bit code, not a prefix")
        #expect(source([0x0f, 0x01, 0xf8]) == nil, "swapgs")
        #expect(source([0x90, 0x0f, 0x31]) == nil)
        #expect(TSCCheck.tscInstruction([0x0f, 0x31]) == "rdtsc")
        #expect(TSCCheck.tscInstruction([0x0f, 0x32]) == nil)
    }

    @Test func rdtscpThroughRCXAndMemory() {
        var t = TaintTracker()
        t.apply(E(reads: ["rip"], writes: ["rbx"]), rip: 0x1000)                           // mov $1, %ebx
        t.apply(E(writes: ["rax", "rdx", "rcx"], source: .rdtscp), rip: 0x1005)             // rdtscp
        t.apply(E(reads: ["rcx"], memoryWrites: [.init(0x8000, 4)]), rip: 0x1008)           // mov %ecx, 0x8000
        t.apply(E(writes: ["rcx"]), rip: 0x100f)                                            // xor %ecx, %ecx
        t.apply(E(writes: ["rax"]), rip: 0x1011)                                            // xor %eax, %eax
        #expect(t.origin(ofRegister: "rcx") == nil)
        t.apply(E(writes: ["r12"], memoryReads: [.init(0x8002, 1)]), rip: 0x1013)            // movzbl 0x8002, %r12d
        let o = t.origin(ofRegister: "r12")
        #expect(o == TaintOrigin(source: .rdtscp, rip: 0x1005, step: 1, throughMemory: true))
        #expect(t.origin(ofRegister: "rdx")?.throughMemory == false)
        #expect(t.origin(ofRegister: "rbx") == nil)
        let f = TSCCheck.finding(t, divergent: ["rip", "rdx", "r12"], firstSource: nil)
        #expect(f == .reached(origin: TaintOrigin(source: .rdtscp, rip: 0x1005, step: 1), register: "rdx"))
        #expect(TSCCheck.finding(t, divergent: ["r12"], firstSource: nil) == .reached(origin: o!, register: "r12"))
    }

    @Test func aCleanOverwriteEndsTheTaintAndTheExitsInputCounts() {
        var t = TaintTracker()
        t.apply(E(writes: ["rax", "rflags"], source: .rdseed), rip: 0x2000)
        t.apply(E(reads: ["rax"], writes: ["rbx"]), rip: 0x2003)                            // mov %rax, %rbx
        t.apply(E(writes: ["rax"]), rip: 0x2006)                                            // mov $0, %eax
        #expect(t.origin(ofRegister: "rax") == nil)
        #expect(t.origin(ofRegister: "rbx")?.source == .rdseed)
        // A store of a clean value over a tainted slot cleans it.
        t.apply(E(reads: ["rbx"], memoryWrites: [.init(0x10, 8)]), rip: 0x2009)
        t.apply(E(reads: ["rax"], memoryWrites: [.init(0x10, 8)]), rip: 0x200c)
        t.apply(E(writes: ["rcx"], memoryReads: [.init(0x10, 8)]), rip: 0x200f)
        #expect(t.origin(ofRegister: "rcx") == nil)
        // out %bl, (%dx): the exiting instruction's input is tainted although no register differs.
        t.apply(E(reads: ["rbx", "rdx"]), rip: 0x2012)
        #expect(TSCCheck.finding(t, divergent: ["rcx"], firstSource: nil)
                == .reached(origin: TaintOrigin(source: .rdseed, rip: 0x2000, step: 0), register: nil))
    }

    @Test func rdpidAndTheFallbacks() {
        var t = TaintTracker()
        t.apply(E(writes: ["rcx"], source: .rdpid), rip: 0x3000)
        t.apply(E(reads: ["rcx"], writes: ["r9"]), rip: 0x3004)
        #expect(TSCCheck.finding(t, divergent: ["r9"], firstSource: nil)
                == .reached(origin: TaintOrigin(source: .rdpid, rip: 0x3000, step: 0), register: "r9"))
        let clean = TaintTracker()
        let first = TaintOrigin(source: .rdtsc, rip: 0x10, step: 3)
        #expect(TSCCheck.finding(clean, divergent: ["rax"], firstSource: first)
                == .read(instruction: "rdtsc", rip: 0x10, stepsAfterLastMatch: 3))
        #expect(TSCCheck.finding(clean, divergent: ["rax"], firstSource: nil) == .none(steps: 0))
    }

    @Test func notesNameTheInstructionAndWhy() {
        let o = TaintOrigin(source: .rdmsrTSC, rip: 0x1002ab, step: 75, throughMemory: true)
        let n = TSCCheck.note(.reached(origin: o, register: "r12"), symbolize: { _ in "via_rdmsr+0xb" })
        #expect(n == "the guest read the TSC: rdmsr of IA32_TSC (0x10) at rip 0x1002ab (via_rdmsr+0xb), 75 "
                + "instructions after the last matching event, produced the value in the divergent register r12, "
                + "through memory (a store, then a load). This host cannot trap or offset the TSC, so the value "
                + "differs between recording and replay (docs/GUEST.md, \"Time\").")
        let r = TSCCheck.note(.reached(origin: TaintOrigin(source: .rdrand, rip: 0x10, step: 0), register: nil),
                              symbolize: nil)
        #expect(r?.hasPrefix("the guest read the hardware random number generator: rdrand at rip 0x10, 0 "
                             + "instructions after the last matching event, produced the value the divergent exit wrote.")
                == true, "\(r ?? "nil")")
        #expect(TSCCheck.note(.none(steps: 3), symbolize: nil) == nil)
        let lined = TSCCheck.note(.read(instruction: "rdtsc", rip: 0x20, stepsAfterLastMatch: 2),
                                  symbolize: { _ in "f+0x4" }, sourceLine: { _ in "guests/x/x.c:12" })
        #expect(lined?.hasPrefix("the guest read the TSC: rdtsc at rip 0x20 (f+0x4, at guests/x/x.c:12), 2 instructions")
                == true, "\(lined ?? "nil")")
    }

    /// Capstone's data flow on real bytes, with addresses from the registers before the instruction.
    @Test func capstoneEffects() throws {
        let d = try #require(InstructionEffects())
        var regs = GPRegisters()
        regs.rsp = 0x7000
        regs.rbx = 0x100
        regs.rcx = 2
        func effect(_ b: [UInt8], fs: UInt64 = 0) throws -> InstructionEffect {
            try #require(d.effect(of: b, rip: 0x1000, regs: regs, fsBase: fs, gsBase: 0)).0
        }
        // mov %eax, 0x10(%rip): a 4-byte store at the next instruction + 0x10.
        let store = try effect([0x89, 0x05, 0x10, 0, 0, 0])
        #expect(store.memoryWrites == [.init(0x1006 + 0x10, 4)])
        #expect(store.reads.contains("rax"))
        // mov (%rbx,%rcx,4), %edx
        let load = try effect([0x8b, 0x14, 0x8b])
        #expect(load.memoryReads == [.init(0x108, 4)])
        #expect(load.writes.contains("rdx"))
        // push %rax; pop %r12
        #expect(try effect([0x50]).memoryWrites == [.init(0x6ff8, 8)])
        let pop = try effect([0x41, 0x5c])
        #expect(pop.memoryReads == [.init(0x7000, 8)])
        #expect(pop.writes.contains("r12"))
        // xor %eax, %eax reads nothing that matters; add %eax, %eax does.
        #expect(try effect([0x31, 0xc0]).reads.isEmpty)
        #expect(try effect([0x01, 0xc0]).reads.contains("rax"))
        // mov %fs:0x8, %rax
        #expect(try effect([0x64, 0x48, 0x8b, 0x04, 0x25, 0x08, 0, 0, 0], fs: 0x5000).memoryReads == [.init(0x5008, 8)])
        // cmp %rax, %rbx writes only the flags.
        #expect(try effect([0x48, 0x39, 0xc3]).writes == ["rflags"])
    }
}
