import Glibc
import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRKVM
import VMRRMMU
import VMRRReplay

extension Lockstep {
    /// The two sessions stepped side by side, and how their memory already
    /// differed page by page (offsets within the page, sorted).
    struct Pair {
        let a: ReplaySession
        let b: ReplaySession
        let cpuid: [CPUIDEntry]
        var baseline: [UInt64: [Int]] = [:]
        static let pageSize = Int(Layout.pageSize)

        init(a: ReplaySession, b: ReplaySession, cpuid: [CPUIDEntry]) {
            self.a = a
            self.b = b
            self.cpuid = cpuid
        }

        /// The byte offsets at which page `page` (a page number) differs between the VMs.
        func differingOffsets(_ page: UInt64) -> [Int] {
            let gpa = page << 12
            let result = a.machine.ram.withBytes(gpa, count: Self.pageSize) { x in
                b.machine.ram.withBytes(gpa, count: Self.pageSize) { y -> [Int] in
                    if memcmp(x.baseAddress!, y.baseAddress!, Self.pageSize) == 0 { return [] }
                    return (0..<Self.pageSize).filter { x[$0] != y[$0] }
                }
            }
            return (result ?? nil) ?? []
        }

        /// Records how every page differs now; clears both dirty logs.
        mutating func takeBaseline() throws {
            baseline = [:]
            for r in a.machine.ram.ranges {
                var page = r.lowerBound >> 12
                while page < r.upperBound >> 12 {
                    let d = differingOffsets(page)
                    if !d.isEmpty { baseline[page] = d }
                    page += 1
                }
            }
            _ = try a.machine.dirtyPages()
            _ = try b.machine.dirtyPages()
        }

        /// Pages written in the last step on either side whose differences
        /// changed, as runs of differing bytes; updates the baseline.
        mutating func memoryEffects() throws -> [MemoryDifference] {
            // dirtyPages() answers guest-physical addresses; the baseline is by page number.
            let pages = Set(try a.machine.dirtyPages()).union(try b.machine.dirtyPages()).map { $0 >> 12 }.sorted()
            var out: [MemoryDifference] = []
            for page in pages {
                let now = differingOffsets(page), before = baseline[page] ?? []
                guard now != before else { continue }
                baseline[page] = now.isEmpty ? nil : now
                // The bytes whose sameness changed: newly different, or no longer different.
                let changed = Set(now).symmetricDifference(before).sorted()
                for run in Self.runs(changed) {
                    let gpa = page << 12 + UInt64(run.lowerBound)
                    out.append(MemoryDifference(gpa: gpa, recorded: a.machine.ram.read(gpa, count: run.count) ?? [],
                                                replayed: b.machine.ram.read(gpa, count: run.count) ?? []))
                }
            }
            return out
        }

        /// Consecutive offsets grouped into ranges.
        static func runs(_ offsets: [Int]) -> [Range<Int>] {
            var out: [Range<Int>] = []
            for o in offsets {
                if let last = out.last, last.upperBound == o { out[out.count - 1] = last.lowerBound..<(o + 1) } else { out.append(o..<(o + 1)) }
            }
            return out
        }

        /// Steps both VMs one instruction (or journal event) at a time.
        // One piece: the lockstep loop and its checks read best together.
        mutating func stepUntilDifferent(budget: UInt64, progress: ((UInt64) -> Void)?,
                                         shouldStop: (() -> Bool)?) throws -> Finding {
            try takeBaseline()
            for step in 0..<budget {
                if step > 0, step % progressInterval == 0 {
                    progress?(step)
                    if shouldStop?() == true { return .unavailable("stopped after \(step) instructions") }
                }
                let beforeA = a.runner.regs, beforeB = b.runner.regs
                let sregsA = try a.machine.vcpu.getSpecialRegisters(), sregsB = try b.machine.vcpu.getSpecialRegisters()
                if sregsA.cs.dpl == 3 || sregsB.cs.dpl == 3 {
                    return .unavailable("the guest runs at CPL 3 at rip \(hex(beforeA.rip)), \(step) instructions after the last matching event; this host cannot single-step it")
                }
                let outA: Runner.StepOutcome, outB: Runner.StepOutcome
                do {
                    outA = try a.stepOnce()
                    outB = try b.stepOnce()
                } catch { return .unavailable("single-step \(step): \(error)") }
                var exitNote: String?
                if let d = b.replayer.divergence {
                    exitNote = "the new build's exit differs from the journal: \(d.reason)"
                } else if outA != outB {
                    exitNote = "the recorded image's step was \(Self.describe(outA, a)), the new build's \(Self.describe(outB, b))"
                }
                let registers = a.runner.regs.differences(from: b.runner.regs)
                let memory = try memoryEffects()
                if exitNote != nil || !registers.isEmpty || !memory.isEmpty {
                    return .instruction(step: step,
                                        recorded: try side(a, before: beforeA, sregs: sregsA, outcome: Self.describe(outA, a)),
                                        replayed: try side(b, before: beforeB, sregs: sregsB, outcome: Self.describe(outB, b)),
                                        registers: registers, memory: memory, exitNote: exitNote)
                }
                if case .ended(let end) = outA {
                    return .noDifference(steps: step + 1, reason: "both runs ended (\(end.reason)) with equal registers and memory effects")
                }
            }
            return .budgetExhausted(steps: budget)
        }

        static func describe(_ o: Runner.StepOutcome, _ s: ReplaySession) -> String {
            switch o {
            case .instruction: return "an instruction"
            case .event: return "an exit or event (journal event \(s.replayer.lastMatchedIndex?.description ?? "?"))"
            case .ended(let end): return "the end of the run (\(end.reason))"
            }
        }

        /// One side's instruction: its bytes, and the frame chain from before it ran.
        func side(_ s: ReplaySession, before: GPRegisters, sregs: SpecialRegisters, outcome: String) throws -> Side {
            let context = PagingContext(sregs: sregs, rflags: before.rflags, cpuid: cpuid)
            let memory = LiveMemory(s.machine.ram)
            let linear = sregs.cs.base &+ before.rip
            let code = (try? VirtualReader.read(linear, count: 15, context: context, memory: memory))
                ?? (try? VirtualReader.read(linear, count: 1, context: context, memory: memory)) ?? []
            return Side(rip: before.rip, code: code, sregs: sregs, before: before, after: s.runner.regs,
                        frames: Lockstep.frames(before, longMode: sregs.cs.l, read: { try VirtualReader.read($0, count: $1, context: context, memory: memory) }),
                        outcome: outcome)
        }
    }

    /// Return addresses along the frame-pointer chain (RBP, or EBP in
    /// 32-bit code), innermost first; stops at a zero, unreadable,
    /// misaligned or non-increasing frame pointer. A function that has not
    /// pushed a frame (a leaf compiled without one, or one just entered)
    /// still has its caller: the word at RSP comes first when the bytes
    /// before it are a call instruction.
    public static func frames(_ regs: GPRegisters, longMode: Bool, read: (UInt64, Int) throws -> [UInt8]) -> [UInt64] {
        let width = longMode ? 8 : 4
        func word(_ at: UInt64) -> UInt64? {
            guard let bytes = try? read(at, width), bytes.count == width else { return nil }
            return bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        var out: [UInt64] = []
        var fp = longMode ? regs.rbp : regs.rbp & 0xFFFF_FFFF
        while out.count < maximumFrames, fp != 0, fp % UInt64(width) == 0,
              let ret = word(fp &+ UInt64(width)), let next = word(fp) {
            guard ret != 0 else { break }
            out.append(ret)
            guard next > fp else { break }
            fp = next
        }
        let sp = longMode ? regs.rsp : regs.rsp & 0xFFFF_FFFF
        if let top = word(sp), top != out.first, sp < fp || fp == 0,
           let before = try? read(top &- 7, 7), before.count == 7, followsCall(before) {
            out.insert(top, at: 0)
        }
        return Array(out.prefix(maximumFrames))
    }

    /// Whether the 7 bytes before an address end with a call instruction
    /// (Intel SDM vol. 2, CALL): E8 rel32, FF /2 with a register or a
    /// RIP-relative operand, with or without a REX prefix.
    static func followsCall(_ b: [UInt8]) -> Bool {
        let callRel32: UInt8 = 0xE8, groupFF: UInt8 = 0xFF, rexB: UInt8 = 0x41
        let modRMCallRegister: ClosedRange<UInt8> = 0xD0...0xD7, modRMCallRIPRelative: UInt8 = 0x15
        if b[2] == callRel32 { return true }                                            // E8 rel32
        if b[5] == groupFF, modRMCallRegister.contains(b[6]) { return true }            // FF D0+r
        if b[4] == rexB, b[5] == groupFF, modRMCallRegister.contains(b[6]) { return true }  // 41 FF D0+r
        if b[1] == groupFF, b[2] == modRMCallRIPRelative { return true }                // FF 15 disp32
        return false
    }
}
