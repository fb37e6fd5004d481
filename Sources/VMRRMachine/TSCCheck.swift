import VMRRBase
import VMRRJournal
import VMRRMMU
import VMRRReplay

/// Why a replay may diverge although vmrr did everything right: this host
/// cannot trap, offset or scale RDTSC (docs/GUEST.md, "Limits of this host"),
/// nor trap RDRAND, RDSEED or RDPID, so a value the guest reads with them
/// (or with RDMSR of IA32_TSC, which KVM answers itself) differs between
/// recording and replay. After a divergence, `TSCCheck` replays again to the
/// last matching event and single-steps from there to the divergent exit,
/// tracking where each such value goes (`TaintTracker`, with each
/// instruction's data flow from `InstructionEffects`), through registers and
/// through memory. When a divergent register (or the value the exit wrote)
/// holds such a value, the note names the instruction that produced it.
public enum TSCCheck {
    /// What the re-execution found.
    public enum Finding: Equatable, Sendable {
        /// A value from `origin` is in the divergent register `register` (nil:
        /// in the value the divergent exit wrote).
        case reached(origin: TaintOrigin, register: String?)
        /// The first nondeterministic read after the last matching event, whose
        /// value was not seen to reach the divergence.
        case read(instruction: String, rip: UInt64, stepsAfterLastMatch: Int)
        /// No such read between the last matching event and the divergence.
        case none(steps: Int)
        /// The interval could not be stepped through (why).
        case unknown(String)
    }

    /// The TSC-reading instruction `bytes` start with, if any (rdtsc or rdtscp).
    public static func tscInstruction(_ bytes: [UInt8]) -> String? {
        guard let (s, _) = NondeterministicSource.recognize(bytes, rcx: 0), s == .rdtsc || s == .rdtscp else { return nil }
        return s.rawValue
    }

    /// Default bound on the single-steps (about 5 s at this host's 200 k steps/s).
    public static let defaultStepLimit = 1_000_000
    static let maxInstructionLength = 15
    static let pageSize: UInt64 = 0x1000

    /// The registers that differ at the divergence, in journal order.
    static func divergentRegisters(_ d: Divergence) -> [String] {
        guard let e = d.expected?.regs else { return [] }
        return GPRegisters.names.indices.filter { e[$0] != d.actualRegisters[$0] }.map { GPRegisters.names[$0] }
    }

    /// The finding for a divergence, from the tracker after the last step:
    /// the first divergent register that holds a tainted value, else the
    /// value the exiting instruction read (an OUT's AL, an MMIO store's
    /// source), else the first source that ran.
    static func finding(_ t: TaintTracker, divergent: [String], firstSource: TaintOrigin?) -> Finding {
        for r in divergent where r != "rip" {
            if let o = t.origin(ofRegister: r) { return .reached(origin: o, register: r) }
        }
        if let o = t.lastInput { return .reached(origin: o, register: nil) }
        if let f = firstSource {
            return .read(instruction: f.source.rawValue, rip: f.rip, stepsAfterLastMatch: f.step)
        }
        return .none(steps: t.steps)
    }

    /// Re-executes `reader` up to the divergence `d`, tracking nondeterministic values.
    public static func find(reader: JournalReader, options: ReplayOptions, divergence d: Divergence,
                            stepLimit: Int = defaultStepLimit) throws -> Finding {
        var o = options
        o.until = nil
        o.verify = false
        o.fromCheckpoint = nil
        o.fromEvent = d.lastMatched?.index
        // Another build's code is in memory only when replayed from the boot.
        o.foreignImageAtCheckpoint = .startFromBoot
        let session = try ReplaySession(reader: reader, options: o)
        let runner = session.runner
        if let last = d.lastMatched, session.startEvent <= last.index {
            guard try session.run(toEvent: last.index) else {
                return .unknown("the second replay did not reach event \(last.index) the same way")
            }
        }
        guard let decoder = InstructionEffects() else { return .unknown("the Capstone disassembler could not be opened") }
        let vcpu = session.machine.vcpu
        try runner.completePendingRead()
        var tracker = TaintTracker()
        var firstSource: TaintOrigin?
        for step in 0..<stepLimit {
            let sregs = try vcpu.getSpecialRegisters()
            let regs = runner.regs
            if sregs.cs.dpl == 3 {
                return .unknown("the guest runs at CPL 3 at rip \(hex(regs.rip)), which cannot be single-stepped on this host")
            }
            let bits = CPUMode(sregs).bits
            let linear = sregs.cs.base &+ regs.rip
            let toPageEnd = Int(pageSize - (linear & (pageSize - 1)))
            var bytes: [UInt8] = []
            if let gpa = try vcpu.translate(linear) {
                bytes = session.machine.ram.read(gpa, count: min(maxInstructionLength, toPageEnd)) ?? []
                if toPageEnd < maxInstructionLength, let next = try vcpu.translate(linear &+ UInt64(toPageEnd)) {
                    bytes += session.machine.ram.read(next, count: maxInstructionLength - toPageEnd) ?? []
                }
            }
            var effect = decoder.effect(of: bytes, rip: regs.rip, regs: regs, fsBase: sregs.fs.base,
                                        gsBase: sregs.gs.base, bits: bits)?.0 ?? InstructionEffect()
            if let (source, writes) = NondeterministicSource.recognize(bytes, rcx: regs.rcx, bits: bits) {
                effect.source = source
                effect.writes.formUnion(writes)
                if firstSource == nil { firstSource = TaintOrigin(source: source, rip: regs.rip, step: step) }
            }
            tracker.apply(effect, rip: regs.rip)
            switch try session.stepOnce() {
            case .instruction: continue
            case .event, .ended:
                return finding(tracker, divergent: divergentRegisters(d), firstSource: firstSource)
            }
        }
        return .unknown("no exit within \(stepLimit) instructions of event \(d.lastMatched?.index ?? 0)")
    }

    /// Why the value cannot be the same at replay, by source.
    static func why(_ s: NondeterministicSource) -> String {
        switch s {
        case .rdtsc, .rdtscp, .rdmsrTSC:
            "This host cannot trap or offset the TSC, so the value differs between recording and replay "
                + "(docs/GUEST.md, \"Time\")."
        case .rdrand, .rdseed:
            "This host cannot trap \(s.rawValue.uppercased()), so the value differs between recording and replay "
                + "(docs/DETERMINISM.md)."
        case .rdpid:
            "RDPID reads IA32_TSC_AUX, which this host does not journal, so the value can differ between "
                + "recording and replay (docs/DETERMINISM.md)."
        }
    }

    static func instructionName(_ s: NondeterministicSource) -> String {
        s == .rdmsrTSC ? "rdmsr of IA32_TSC (0x10)" : s.rawValue
    }

    /// The note `vmrr replay` prints under a divergence report, or nil when
    /// there is nothing to say about a nondeterministic instruction.
    /// `sourceLine` gives "file:line" from the image's DWARF, where it has some.
    public static func note(_ f: Finding, symbolize: ((UInt64) -> String?)?,
                            sourceLine: ((UInt64) -> String?)? = nil) -> String? {
        func place(_ rip: UInt64) -> String {
            let parts = [symbolize?(rip), sourceLine?(rip).map { "at \($0)" }].compactMap { $0 }
            return parts.isEmpty ? "" : " (" + parts.joined(separator: ", ") + ")"
        }
        switch f {
        case let .reached(o, register):
            let sym = place(o.rip)
            let into = register.map { "the value in the divergent register \($0)" } ?? "the value the divergent exit wrote"
            return "the guest read \(o.source.what): \(instructionName(o.source)) at rip \(hex(o.rip))\(sym), "
                + "\(o.step) instructions after the last matching event, produced \(into)"
                + (o.throughMemory ? ", through memory (a store, then a load)" : "") + ". " + why(o.source)
        case let .read(instruction, rip, steps):
            let sym = place(rip)
            let source = NondeterministicSource(rawValue: instruction) ?? .rdtsc
            return "the guest read \(source.what): \(instructionName(source)) at rip \(hex(rip))\(sym), \(steps) "
                + "instructions after the last matching event, is where such a value first reaches a register. "
                + why(source)
        case .none, .unknown:
            return nil
        }
    }
}
