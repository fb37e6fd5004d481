import VMRRBase
import VMRRJournal

/// The replaying responder: it answers every exit from the journal instead of
/// from devices or clocks, and checks at every exit that execution is the
/// recorded one: kind, port or address, size, direction, written value, and
/// all 18 general registers. The first mismatch ends the replay with a
/// `Divergence`. No KVM here: the run loop drives it, and tests drive it with
/// scripted accesses.
public final class Replayer: ExitResponder {
    public let journal: JournalReader
    /// Index of the next journal event execution must produce.
    public private(set) var next: UInt64
    public var end: RunEnd? { final ?? paused }
    public var hasEnded: Bool { final != nil || paused != nil }
    /// How the replay ended for good: end of journal, `until`, divergence.
    public private(set) var final: RunEnd?
    /// Set when `pauseAfter` asked to stop after an event; cleared by `resume()`.
    public private(set) var paused: RunEnd?
    /// Called with every accepted event; returning true pauses the run after it
    /// (the debugger's event breakpoints).
    public var pauseAfter: ((EventRecord) -> Bool)?
    public private(set) var divergence: Divergence?
    /// The index of the last event that matched, if any.
    public private(set) var lastMatchedIndex: UInt64?
    /// The last event that matched, if any: read back from the journal when
    /// asked (reports, the debugger), so that accepting an event does not
    /// copy the record.
    public var lastMatched: EventRecord? {
        guard let i = lastMatchedIndex else { return nil }
        if peekedIndex == i, let p = peeked { return p }
        return try? journal.event(at: i)
    }
    /// Replays stop after this event index (`--until`).
    public var until: UInt64?
    /// Check the memory digest at checkpoints that carry one (`--verify`).
    public var verifyMemory = false
    /// Receives console output (THR writes) as execution reproduces it.
    public var consoleOutput: ((UInt8) -> Void)?
    /// Decides which THR writes are console output (not divisor or loopback writes).
    public var consoleFilter: ConsoleFilter
    /// The COM1 THR port, whose writes are console output.
    public let consolePort: UInt16
    /// The paravirtual clock's guest-physical address.
    public let clockAddress: UInt64
    /// The paravirtual timer's guest-physical address, when known: a `timer`
    /// event then matches only a write there.
    public let timerAddress: UInt64?
    /// Names an address for reports ("main+0x12"), when the image has symbols.
    public var symbolize: ((UInt64) -> String?)?
    /// Events matched so far.
    public private(set) var matched: UInt64 = 0
    /// Set when a checkpoint's memory digest was checked and matched.
    public private(set) var verifiedDigest = false
    /// The first checkpoint whose memory digest differs (`--verify`). It does
    /// not end the replay: only memory differs there, so the events and
    /// registers after it still tell whether execution is the recorded one.
    public private(set) var digestMismatch: Divergence?
    /// Set when the replay reached the journal's `end` record: the recorded
    /// guest's own end, with its status.
    public private(set) var reachedEndRecord = false
    /// Breakpoint hits at the next preemption point so far, and how many had the recorded registers.
    var preemptionHits: (all: UInt64, registersMatched: UInt64) = (0, 0)
    /// What reaching the preemption points has cost so far (`vmrr bench --smp-only`).
    public internal(set) var preemptionCost = PreemptionCost()


    /// Starts replaying at event `start` (1 after the boot checkpoint, or one
    /// after a restored checkpoint's event).
    public init(journal: JournalReader, start: UInt64, consolePort: UInt16, clockAddress: UInt64, timerAddress: UInt64? = nil) {
        self.journal = journal
        self.next = start
        self.consolePort = consolePort
        self.clockAddress = clockAddress
        self.timerAddress = timerAddress
        self.consoleFilter = ConsoleFilter(thrPort: consolePort)
        settle()
    }

    // MARK: ExitResponder

    /// The recording's warm reset, when the next event is one: the registers
    /// before it and the far pointer in memory must be the recorded ones.
    public func warmResetBeforeRun(regs: GPRegisters, vectorInMemory: () throws -> WarmResetVector) throws -> WarmResetVector? {
        guard !hasEnded, try nextKind() == .warmReset, let expected = try peek(), case let .warmReset(segment, offset) = expected.event else { return nil }
        let recorded = WarmResetVector(segment: segment, offset: offset)
        if expected.regs != regs {
            diverge(expected: expected, actual: "warm reset", actualRegs: regs, why: .registersDifferAtWarmReset)
            return nil
        }
        let now = try vectorInMemory()
        if now != recorded {
            diverge(expected: expected, actual: "warm reset to \(now)", actualRegs: regs,
                    why: .differentWarmResetVector(recorded: recorded, now: now))
            return nil
        }
        accept(expected)
        return recorded
    }

    /// The recording's NMI injection, when the next event is one.
    public func nmiBeforeRun(regs: GPRegisters) throws -> Bool {
        guard !hasEnded, try nextKind() == .nmi, let expected = try peek(), case .nmi = expected.event else { return false }
        if expected.regs != regs {
            diverge(expected: expected, actual: "NMI injection point", actualRegs: regs, why: .registersDifferAtNMI)
            return false
        }
        accept(expected)
        return true
    }

    public func interruptBeforeRun(regs: GPRegisters, ready: Bool) throws -> UInt8? {
        guard !hasEnded, try nextKind() == .interrupt, let expected = try peek(), case let .interrupt(vector) = expected.event else { return nil }
        if expected.regs != regs {
            diverge(expected: expected, actual: "interrupt injection point", actualRegs: regs,
                    why: .registersDifferAtInjection(vector: vector))
            return nil
        }
        if !ready {
            diverge(expected: expected, actual: "interrupt injection point", actualRegs: regs,
                    why: .interruptNotAccepted(vector: vector))
            return nil
        }
        accept(expected)
        return vector
    }

    public func respondToMSR(_ access: MSRAccess, regs: GPRegisters) throws -> MSRAnswer {
        guard let expected = try check(Self.describe(access), regs: regs, { self.mismatch(access, $0) }) else {
            return MSRAnswer(value: 0, fault: false)
        }
        if case let .msr(_, _, value, fault) = expected.event { return MSRAnswer(value: value, fault: fault) }
        return MSRAnswer(value: 0, fault: false)
    }

    public func assist(_ request: AssistRequest, regs: GPRegisters) throws -> (action: AssistAction, length: UInt8)? {
        // A recording without --assist journaled the failure as an error event: report it the same way.
        guard !hasEnded, try nextKind() == .assist, let expected = try peek(), case .assist = expected.event else { return nil }
        guard let e = try check(Self.describe(request), regs: regs, { self.mismatch(request, $0) }),
              case let .assist(action, length) = e.event else { return nil }
        return (action, length)
    }

    /// Compares an exit with the next event (`mismatch` says why they differ,
    /// nil when they match); accepts and returns the event when the exit and
    /// the registers match, else diverges. `actual` describes the exit.
    func check(_ actual: @autoclosure () -> String, regs: GPRegisters,
               _ mismatch: (Event) -> Divergence.Reason?) throws -> EventRecord? {
        guard !hasEnded else { return nil }
        guard let expected = try peek() else {
            diverge(expected: nil, actual: actual(), actualRegs: regs, why: .endOfJournal)
            return nil
        }
        if let why = mismatch(expected.event) {
            let reason: Divergence.Reason
            if case .preempt = expected.event {
                reason = .preemptionNotReached(rip: expected.regs.rip, hits: preemptionHits.all, matchedRegisters: preemptionHits.registersMatched)
            } else { reason = why }
            diverge(expected: expected, actual: actual(), actualRegs: regs, why: reason)
            return nil
        }
        if expected.regs != regs {
            diverge(expected: expected, actual: actual(), actualRegs: regs, why: .registersDiffer)
            return nil
        }
        accept(expected)
        return expected
    }

    public func respond(to access: Access, regs: GPRegisters) throws -> UInt64 {
        guard !hasEnded else { return 0 }
        if case .interrupted = access {
            paused = RunEnd(reason: .interrupted, status: ExitStatus.replayInterrupted, message: "replay interrupted at event \(next)")
            return 0
        }
        guard let expected = try check(Self.describe(access), regs: regs, { self.mismatch(access, $0) }) else { return 0 }
        switch expected.event {
        case let .io(_, _, .read, value): return value
        case let .input(_, byte): return UInt64(byte)
        case let .mmio(_, _, .read, value): return value
        case let .stage2Fault(_, _, .read, value): return value
        case let .clock(ns): return ns
        case .io(_, _, .write, _):
            if let b = consoleFilter.observe(expected.event) { consoleOutput?(b) }
            return 0
        default: return 0
        }
    }

    public var wantsCheckpoint: Bool {
        guard !hasEnded else { return false }
        return (try? nextKind()) == .checkpoint
    }

    public func checkpoint(state source: MachineStateSource, regs: GPRegisters) throws {
        guard let expected = try peek(), case let .checkpoint(id) = expected.event else { return }
        let state = try source.captureState()
        if expected.regs != state.regs {
            diverge(expected: expected, actual: "checkpoint \(id)", actualRegs: state.regs, why: .registersDifferAtCheckpoint)
            return
        }
        if verifyMemory, let info = journal.checkpoints.first(where: { $0.id == id }) {
            let cp = try journal.checkpoint(id: info.id)
            if let want = cp.memoryDigest {
                _ = try source.dirtyPageRecords()
                let got = source.memoryDigest()
                if got == want {
                    verifiedDigest = true
                } else if digestMismatch == nil {
                    // Not the end: the events and registers after it still tell whether behaviour changed.
                    digestMismatch = makeDivergence(expected: expected, actual: "checkpoint \(id)", actualRegs: state.regs,
                                                    why: .memoryDigestDiffers(recorded: want, replayed: got))
                }
            }
        }
        try source.markClean()   // as the recorder did here: the preemption digests cover the same pages
        accept(expected)
    }

    // MARK: position

    var peeked: EventRecord?
    /// `peeked`'s index and kind, kept beside it so that `nextKind()` need not
    /// copy the record.
    var peekedIndex: UInt64 = .max
    var peekedKind: EventKind = .end

    /// The next expected event (cached: the run loop asks several times per exit).
    public func peek() throws -> EventRecord? {
        if peekedIndex == next, let p = peeked { return p }
        guard next < journal.eventCount else { return nil }
        let r = try journal.event(at: next)
        peeked = r
        peekedIndex = r.index
        peekedKind = r.event.kind
        return r
    }

    /// The next expected event's kind. The run loop asks before every
    /// KVM_RUN whether the next event is a warm reset, an NMI, an interrupt,
    /// a preemption point or a checkpoint; on most exits it is none of them,
    /// and answering from the kind alone saves copying the record each time
    /// (copies of `EventRecord` were most of replay's own CPU time in
    /// `perf`, docs/PERFORMANCE.md).
    public func nextKind() throws -> EventKind? {
        if peekedIndex == next { return peekedKind }
        return try peek()?.event.kind
    }

    func accept(_ r: EventRecord) {
        preemptionHits = (0, 0)
        lastMatchedIndex = r.index
        matched += 1
        next = r.index + 1
        settle()
        if final == nil, let p = pauseAfter, p(r) {
            paused = RunEnd(reason: .limit, status: 0, message: "paused after event \(r.index)")
        }
    }

    /// Clears a pause so that the run can go on.
    public func resume() { paused = nil }

    /// Changes where the replay stops (the debugger moves this between commands).
    public func setUntil(_ u: UInt64?) {
        until = u
        if let f = final, f.reason == .limit, f.message?.hasSuffix("(--until)") == true { final = nil }
        settle()
    }

    /// Ends the replay when the journal says so: at its `end` event, at
    /// `until`, or when a truncated journal runs out.
    func settle() {
        guard final == nil else { return }
        if let until, next > until {
            final = RunEnd(reason: .limit, status: 0, message: "stopped after event \(until) (--until)")
            return
        }
        guard next < journal.eventCount else {
            final = RunEnd(reason: .limit, status: 0,
                         message: "the journal ends after event \(next == 0 ? 0 : next - 1) without an end record (it was cut short); everything up to there replayed identically")
            return
        }
        if (try? nextKind()) == .end, let r = try? peek(), case let .end(reason, status) = r.event {
            lastMatchedIndex = r.index
            reachedEndRecord = true
            final = RunEnd(reason: reason, status: status, message: nil)
        }
    }

    /// The report of a difference here (`why`), at `expected`.
    func makeDivergence(expected: EventRecord?, actual: String, actualRegs: GPRegisters, why: Divergence.Reason) -> Divergence {
        Divergence(index: expected?.index ?? next, expected: expected, actual: actual,
                   actualRegisters: actualRegs, reason: why, lastMatched: lastMatched,
                   actualSymbol: symbolize?(actualRegs.rip),
                   expectedSymbol: expected.flatMap { symbolize?($0.regs.rip) },
                   lastMatchedSymbol: lastMatched.flatMap { symbolize?($0.regs.rip) })
    }

    func diverge(expected: EventRecord?, actual: String, actualRegs: GPRegisters, why: Divergence.Reason) {
        divergence = makeDivergence(expected: expected, actual: actual, actualRegs: actualRegs, why: why)
        final = RunEnd(reason: .error, status: ExitStatus.divergence, message: "replay diverged at event \(expected?.index ?? next)")
    }

    // MARK: comparing

    /// Why an access does not match the recorded event, or nil when it does.
    public func mismatch(_ a: Access, _ e: Event) -> Divergence.Reason? {
        switch (a, e) {
        case let (.portRead(p, s), .io(ep, es, .read, _)):
            return p == ep && s == es ? nil : .differentPort(.read)
        case let (.portRead(p, _), .input(ep, _)):
            return p == ep ? nil : .differentPort(.read)
        case let (.portWrite(p, s, v), .io(ep, es, .write, ev)):
            if p != ep || s != es { return .differentPort(.write) }
            return v == ev ? nil : .differentValue(recorded: ev, now: v)
        case let (.mmioRead(g, s), .mmio(eg, es, .read, _)), let (.mmioRead(g, s), .stage2Fault(eg, es, .read, _)):
            return g == eg && s == es ? nil : .differentAddress(.read)
        case let (.mmioRead(g, _), .clock):
            return g == clockAddress ? nil : .notTheClock
        case let (.mmioWrite(g, s, v), .mmio(eg, es, .write, ev)), let (.mmioWrite(g, s, v), .stage2Fault(eg, es, .write, ev)):
            if g != eg || s != es { return .differentAddress(.write) }
            return v == ev ? nil : .differentValue(recorded: ev, now: v)
        case let (.mmioWrite(g, _, v), .timer(deadline)):
            if let t = timerAddress, g != t { return .notTheTimer }
            return v == deadline ? nil : .differentTimerDeadline(recorded: deadline, now: v)
        case (.halt, .hlt), (.shutdown, .shutdown):
            return nil
        case let (.pageFault(pf), .pageFault):
            return pf == e ? nil : .differentPageFault
        case let (.kvmError(reason, sub, data, _), .error(er, es, ed)):
            return reason == er && sub == es && data == ed ? nil : .differentKVMError
        default:
            return .differentKind
        }
    }

    /// Why an MSR access does not match the recorded event, or nil when it does.
    public func mismatch(_ m: MSRAccess, _ e: Event) -> Divergence.Reason? {
        guard case let .msr(ei, ed, ev, _) = e else { return .differentKind }
        if m.index != ei || m.direction != ed { return .differentMSR }
        return m.direction == .read || m.value == ev ? nil : .differentMSRValue(index: m.index, recorded: ev, now: m.value)
    }

    /// Why an emulation failure does not match the recorded assist, or nil when it does.
    public func mismatch(_ a: AssistRequest, _ e: Event) -> Divergence.Reason? {
        guard case let .assist(action, length) = e else { return .differentKind }
        guard let got = AssistAction.decode(a.bytes) else { return .noAssistApplies }
        return got.action == action && got.length == length ? nil : .differentAssist(now: got.action, recorded: action)
    }

    /// One line describing an access, in the journal's words.
    public static func describe(_ a: Access) -> String {
        switch a {
        case let .portRead(p, s): return "io in port=\(hex(p)) size=\(s)"
        case let .portWrite(p, s, v): return "io out port=\(hex(p)) size=\(s) value=\(hex(v))"
        case let .mmioRead(g, s): return "mmio read gpa=\(hex(g)) size=\(s)"
        case let .mmioWrite(g, s, v): return "mmio write gpa=\(hex(g)) size=\(s) value=\(hex(v))"
        case let .halt(ie): return "hlt (interrupts \(ie ? "enabled" : "disabled"))"
        case .shutdown: return "shutdown (triple fault)"
        case let .pageFault(e):
            if case let .pageFault(gva, ec, cr3, rip) = e {
                return "page_fault gva=\(hex(gva)) error_code=\(hex(ec)) cr3=\(hex(cr3)) fault_rip=\(hex(rip))"
            }
            return "page_fault"
        case let .kvmError(_, _, _, d): return "error: \(d)"
        case .interrupted: return "interrupted"
        }
    }

    public static func describe(_ m: MSRAccess) -> String {
        m.direction == .read ? "rdmsr msr=\(hex(m.index))" : "wrmsr msr=\(hex(m.index)) value=\(hex(m.value))"
    }

    public static func describe(_ a: AssistRequest) -> String {
        "emulation failure, instruction bytes \(a.bytes.map { String($0, radix: 16) }.joined(separator: " "))"
    }
}
