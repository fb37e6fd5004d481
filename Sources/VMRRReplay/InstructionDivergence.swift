import VMRRJournal

/// What a divergence traced to the instruction found (made by VMRRMachine's
/// `Lockstep`, put in words by VMRRDebugger's `DivergenceTrace`): the first
/// instruction after the last matching event whose effect differs between
/// the recorded image and another build, as each VM saw it.
public enum InstructionDivergence {
    /// One VM's view of the instruction whose effect differs.
    public struct Side: Sendable {
        /// The instruction's address, its bytes (up to 15) and the special
        /// registers it ran under (for the CPU mode it decodes in).
        public var rip: UInt64
        public var code: [UInt8]
        public var sregs: SpecialRegisters
        /// General registers before and after it ran.
        public var before: GPRegisters
        public var after: GPRegisters
        /// Return addresses from the frame-pointer chain, innermost first.
        public var frames: [UInt64]
        /// What the step did: "an instruction", "an exit or event (journal event N)", ...
        public var outcome: String
        public init(rip: UInt64, code: [UInt8], sregs: SpecialRegisters, before: GPRegisters, after: GPRegisters,
                    frames: [UInt64], outcome: String) {
            self.rip = rip; self.code = code; self.sregs = sregs; self.before = before; self.after = after
            self.frames = frames; self.outcome = outcome
        }
    }

    /// Bytes at `gpa` that the two VMs wrote differently.
    public struct MemoryDifference: Sendable, Equatable {
        public var gpa: UInt64
        public var recorded: [UInt8]
        public var replayed: [UInt8]
        public init(gpa: UInt64, recorded: [UInt8], replayed: [UInt8]) { self.gpa = gpa; self.recorded = recorded; self.replayed = replayed }
    }

    public enum Finding: Sendable {
        /// Instruction `step` after the last matching event (it runs from position E+step) differs.
        case instruction(step: UInt64, recorded: Side, replayed: Side, registers: [Int],
                         memory: [MemoryDifference], exitNote: String?)
        /// Both VMs ran `steps` instructions to the end without a difference.
        case noDifference(steps: UInt64, reason: String)
        /// The budget of single-steps ran out first.
        case budgetExhausted(steps: UInt64)
        /// The trace could not be made (why).
        case unavailable(String)
    }

    public struct Report: Sendable {
        /// The last event both VMs reached identically (nil: the first event already differed).
        public var lastMatched: UInt64?
        public var finding: Finding
        /// The recorded side's console output up to the last matching event (its last bytes).
        public var console: [UInt8]
        public init(lastMatched: UInt64?, finding: Finding, console: [UInt8]) {
            self.lastMatched = lastMatched; self.finding = finding; self.console = console
        }
    }
}
