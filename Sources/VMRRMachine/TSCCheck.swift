import VMRRBase
import VMRRJournal
import VMRRReplay

/// Why a replay may diverge although vmrr did everything right: this host
/// cannot trap, offset or scale RDTSC (docs/GUEST.md, "Limits of this host"),
/// so a TSC value the guest reads differs between recording and replay. After
/// a divergence, `TSCCheck` replays again to the last matching event and
/// single-steps from there towards the divergent exit, looking at every
/// instruction before it runs: the first RDTSC or RDTSCP is where a TSC value
/// first reaches a register (EDX:EAX).
public enum TSCCheck {
    /// What the re-execution found.
    public enum Finding: Equatable, Sendable {
        /// The first TSC read after the last matching event.
        case read(instruction: String, rip: UInt64, stepsAfterLastMatch: Int)
        /// No TSC read between the last matching event and the divergence.
        case none(steps: Int)
        /// The interval could not be stepped through (why).
        case unknown(String)
    }

    /// Opcode bytes (Intel SDM vol. 2): RDTSC is 0F 31, RDTSCP is 0F 01 F9.
    static let twoByteEscape: UInt8 = 0x0F
    static let rdtscOpcode: UInt8 = 0x31
    static let group7: UInt8 = 0x01
    static let rdtscpModRM: UInt8 = 0xF9

    /// The TSC-reading instruction `bytes` start with, if any.
    public static func tscInstruction(_ bytes: [UInt8]) -> String? {
        guard bytes.count >= 2, bytes[0] == twoByteEscape else { return nil }
        if bytes[1] == rdtscOpcode { return "rdtsc" }
        if bytes.count >= 3, bytes[1] == group7, bytes[2] == rdtscpModRM { return "rdtscp" }
        return nil
    }

    /// Default bound on the single-steps (about 5 s at this host's 200 k steps/s).
    public static let defaultStepLimit = 1_000_000

    /// Re-executes `reader` up to the divergence `d` and looks for the first TSC read.
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
        let replayer = session.replayer
        let runner = session.runner
        if let last = d.lastMatched, session.startEvent <= last.index {
            replayer.pauseAfter = { $0.index == last.index }
            _ = try session.runForward()
            guard replayer.paused != nil, replayer.lastMatched?.index == last.index else {
                return .unknown("the second replay did not reach event \(last.index) the same way")
            }
            replayer.pauseAfter = nil
            replayer.resume()
        }
        let vcpu = session.machine.vcpu
        try runner.completePendingRead()
        for step in 0..<stepLimit {
            let sregs = try vcpu.getSpecialRegisters()
            if sregs.cs.dpl == 3 {
                return .unknown("the guest runs at CPL 3 at rip \(hex(runner.regs.rip)), which cannot be single-stepped on this host")
            }
            let linear = sregs.cs.base &+ runner.regs.rip
            if let gpa = try vcpu.translate(linear), let bytes = session.machine.ram.read(gpa, count: 3) ?? session.machine.ram.read(gpa, count: 2),
               let name = tscInstruction(bytes) {
                return .read(instruction: name, rip: runner.regs.rip, stepsAfterLastMatch: step)
            }
            switch try session.stepOnce() {
            case .instruction: continue
            case .event, .ended: return .none(steps: step + 1)
            }
        }
        return .unknown("no exit within \(stepLimit) instructions of event \(d.lastMatched?.index ?? 0)")
    }

    /// The note `vmrr replay` prints under a divergence report, or nil when
    /// there is nothing to say about the TSC.
    public static func note(_ f: Finding, symbolize: ((UInt64) -> String?)?) -> String? {
        switch f {
        case let .read(instruction, rip, steps):
            let sym = symbolize?(rip).map { " (\($0))" } ?? ""
            return "the guest read the TSC: \(instruction) at rip \(hex(rip))\(sym), \(steps) instructions after the last matching event, is where a TSC value first reaches a register (EDX:EAX). This host cannot trap or offset RDTSC, so the value differs between recording and replay (docs/GUEST.md, \"Time\")."
        case .none, .unknown:
            return nil
        }
    }
}
