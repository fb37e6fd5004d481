import VMRRBase
import VMRRJournal

/// The first point where a replay differs from its journal.
public struct Divergence: Sendable, Equatable {
    public var index: UInt64
    public var expected: EventRecord?
    public var actual: String
    public var actualRegisters: GPRegisters
    public var reason: Reason
    public var lastMatched: EventRecord?
    public var actualSymbol: String?
    public var expectedSymbol: String?
    public var lastMatchedSymbol: String?

    /// Why execution is not the recorded one. `description` is the phrase
    /// the report prints after "replay diverged at event N: ".
    public enum Reason: Equatable, Sendable, CustomStringConvertible {
        /// Execution made an exit the journal does not have (a different kind of exit).
        case differentKind
        /// A port access at another port or of another size.
        case differentPort(IODirection)
        /// An MMIO access at another address or of another size.
        case differentAddress(IODirection)
        /// A guest-physical read where the recording read the paravirtual clock.
        case notTheClock
        /// A guest-physical write where the recording armed the paravirtual timer.
        case notTheTimer
        /// The same port or address written with another value.
        case differentValue(recorded: UInt64, now: UInt64)
        /// The paravirtual timer armed with another deadline.
        case differentTimerDeadline(recorded: UInt64, now: UInt64)
        case differentPageFault
        case differentKVMError
        /// An RDMSR or WRMSR of another MSR, or in the other direction.
        case differentMSR
        case differentMSRValue(index: UInt32, recorded: UInt64, now: UInt64)
        /// An emulation failure that no assist covers where the recording assisted.
        case noAssistApplies
        /// An emulation failure that another assist covers.
        case differentAssist(now: AssistAction, recorded: AssistAction)
        /// The exit matches, the general registers do not.
        case registersDiffer
        /// The general registers differ at a checkpoint.
        case registersDifferAtCheckpoint
        /// The general registers differ where the recording injected an interrupt.
        case registersDifferAtInjection(vector: UInt8)
        /// The recording injected an interrupt where the vCPU cannot take one.
        case interruptNotAccepted(vector: UInt8)
        /// The registers differ where the recording injected an NMI.
        case registersDifferAtNMI
        /// The registers differ where the recording reset the vCPU through the CMOS shutdown byte.
        case registersDifferAtWarmReset
        /// The far pointer at 0x467 differs from the one the recording's warm reset jumped through.
        case differentWarmResetVector(recorded: WarmResetVector, now: WarmResetVector)
        /// The memory digest at a checkpoint differs (`--verify`).
        case memoryDigestDiffers(recorded: UInt64, replayed: UInt64)
        /// Execution went on past the journal's last event.
        case endOfJournal
        /// The vCPU made an exit before it reached the recorded preemption
        /// point (a `preempt` record at `rip`), after `hits` breakpoint hits
        /// there, `matchedRegisters` of them with the recorded registers (so
        /// with another dirty-page digest: memory differs).
        case preemptionNotReached(rip: UInt64, hits: UInt64 = 0, matchedRegisters: UInt64 = 0)
        /// The preemption point's breakpoint fired `hits` times without the
        /// registers and the dirty-page digest matching the record
        /// (`matchedRegisters` of them had the registers).
        case preemptionHitLimit(rip: UInt64, hits: UInt64, matchedRegisters: UInt64)

        public var description: String {
            switch self {
            case .differentKind: return "a different kind of exit"
            case .differentPort(let d): return d == .read ? "different port read" : "different port written"
            case .differentAddress(let d): return d == .read ? "different address read" : "different address written"
            case .notTheClock: return "different address read (the recording read the clock)"
            case .notTheTimer: return "different address written (the recording armed the timer)"
            case let .differentValue(recorded, now): return "different value written (recorded \(hex(recorded)), now \(hex(now)))"
            case let .differentTimerDeadline(recorded, now): return "different timer deadline (recorded \(recorded), now \(now))"
            case .differentPageFault: return "different page fault"
            case .differentKVMError: return "different KVM error"
            case .differentMSR: return "different MSR access"
            case let .differentMSRValue(index, recorded, now):
                return "different value written to MSR \(hex(index)) (recorded \(hex(recorded)), now \(hex(now)))"
            case .noAssistApplies: return "a different instruction (no assist applies)"
            case let .differentAssist(now, recorded): return "a different instruction (\(now.name), recorded \(recorded.name))"
            case .registersDiffer: return "registers differ"
            case .registersDifferAtCheckpoint: return "registers differ at the checkpoint"
            case .registersDifferAtInjection(let v): return "registers differ where the recording injected vector \(hex(v))"
            case .interruptNotAccepted(let v):
                return "the vCPU cannot take an interrupt here, but the recording injected vector \(hex(v))"
            case .registersDifferAtNMI: return "registers differ where the recording injected an NMI"
            case .registersDifferAtWarmReset: return "registers differ where the recording reset the vCPU (CMOS shutdown code, 40:67)"
            case let .differentWarmResetVector(recorded, now):
                return "the warm-reset vector at 0x467 is \(now), but the recording jumped to \(recorded)"
            case let .memoryDigestDiffers(recorded, replayed):
                return "memory digest differs (recorded \(hex(recorded)), replayed \(hex(replayed)))"
            case .endOfJournal: return "the journal has no more events, but execution went on"
            case let .preemptionNotReached(rip, hits, matched):
                let text = "the vCPU exited before it reached the recorded preemption point at rip \(hex(rip))"
                if matched > 0 {
                    return text + " (it was there with the recorded registers \(matched) of \(hits) times, but with another dirty-page digest: "
                        + "memory written since the last checkpoint differs from the recording's)"
                }
                return hits > 0 ? text + " (its breakpoint fired \(hits) times, never with the recorded registers)" : text
            case let .preemptionHitLimit(rip, hits, matched):
                return "the recorded preemption point at rip \(hex(rip)) was hit \(hits) times without matching (registers matched \(matched) times, the dirty-page digest never)"
            }
        }
    }

    /// Names of the registers that differ, in journal order.
    public var differingRegisters: [String] {
        guard let e = expected else { return [] }
        return e.regs.differences(from: actualRegisters).map { GPRegisters.names[$0] }
    }

    /// The report `vmrr replay` prints: what to look at first, then detail.
    public func render(journalName: String) -> String {
        var lines: [String] = []
        lines.append("vmrr: \(journalName): replay diverged at event \(index): \(reason)")
        if let e = expected {
            lines.append("  expected: \(EventFormat.text(e))\(expectedSymbol.map { "  (\($0))" } ?? "")")
        } else {
            lines.append("  expected: nothing (end of journal)")
        }
        lines.append("  actual:   rip=\(hex(actualRegisters.rip, digits: 16))  \(actual)\(actualSymbol.map { "  (\($0))" } ?? "")")
        if let e = expected {
            let diffs = e.regs.differences(from: actualRegisters)
            if diffs.isEmpty {
                lines.append("  registers: all 18 general registers match")
            } else {
                lines.append("  registers that differ (\(diffs.count) of 18):")
                for i in diffs {
                    let name = GPRegisters.names[i].padding(6)
                    lines.append("    \(name) expected \(hex(e.regs[i], digits: 16))  actual \(hex(actualRegisters[i], digits: 16))")
                }
            }
        }
        if let m = lastMatched {
            lines.append("  last matching event: \(EventFormat.text(m))\(lastMatchedSymbol.map { "  (\($0))" } ?? "")")
        } else {
            lines.append("  last matching event: none (the first event already differs)")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
