// The replay front end's properties, checked on arbitrary bytes. Shared by
// the property-based test (VMRRReplayTests' FrontEndFuzzTests) and the
// libFuzzer harness (fuzz/build.sh compiles this file as it is), so both check the
// same things. Public API of VMRRJournal and VMRRReplay only; no Testing.
import VMRRJournal
import VMRRReplay
import VMRRBase

/// How far an input got.
public enum FrontEndOutcome: String, CaseIterable, Sendable {
    /// It looked like a bundle and was refused.
    case badBundle
    /// The journal was refused when opened.
    case badJournal
    /// It opened, but reading an events chunk or a checkpoint failed.
    case badChunk
    /// Everything read, and replaying it against itself matched to the end.
    case replayed
}

/// A broken property: a crash in the fuzzer, a failed test in the suite.
public struct FrontEndViolation: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

public enum FrontEndCheck {
    public static let consolePort: UInt16 = 0x3f8
    public static let clockAddress: UInt64 = 0xfeb0_0000
    public static let timerAddress: UInt64 = 0xfeb0_1000
    /// Inputs with more events than this are read but replayed only this far.
    public static let maxReplayedEvents = 200_000

    /// Runs the front end on `input`: bundle decoding (when it starts like a
    /// bundle), header validation, chunk layout, event and checkpoint
    /// decoding, the dump and summary renderers, and a replay driven by the
    /// journal's own events, which must match to the recorded end.
    public static func check(_ input: [UInt8]) throws(FrontEndViolation) -> FrontEndOutcome {
        guard let (journalBytes, name) = try unbundle(input) else { return .badBundle }
        let reader: JournalReader
        do { reader = try JournalReader(bytes: journalBytes, name: name) } catch {
            try expectOneLineError(error, context: "open")
            return .badJournal
        }
        if let note = reader.truncationNote, note.isEmpty || note.contains("\n") {
            throw FrontEndViolation(description: "truncation note is not one line: \(note)")
        }
        guard reader.formatVersion >= 1 else { throw FrontEndViolation(description: "format version \(reader.formatVersion) accepted") }
        let ids = reader.checkpoints.map(\.id)
        guard Set(ids).count == ids.count else { throw FrontEndViolation(description: "duplicate checkpoint ids \(ids)") }
        guard let records = try readEvents(reader), let digests = try readCheckpoints(reader, records) else { return .badChunk }

        // Replays: from the start, and from the first and last checkpoints.
        let limit = min(records.count, maxReplayedEvents)
        var starts: [UInt64] = [0]
        for info in [reader.checkpoints.first, reader.checkpoints.last].compactMap({ $0 }) where info.eventIndex < UInt64(limit) {
            starts.append(info.eventIndex + 1)
        }
        for start in starts {
            try replay(reader, records, limit: limit, from: start, verify: start == 0, digests: digests)
        }
        // A perturbed run diverges exactly where the perturbation is.
        let exitIndices = records.prefix(limit).indices.filter { exit(for: records[$0].event, regs: records[$0].regs) != nil }
        if !exitIndices.isEmpty {
            let k = exitIndices[Int(checksum(input) % UInt32(exitIndices.count))]
            try replay(reader, records, limit: limit, from: 0, verify: false, digests: digests, perturbAt: k)
        }
        return .replayed
    }

    /// The journal's bytes and name: `input` itself, or the journal inside it
    /// when it starts like a bundle; nil when the bundle was refused.
    static func unbundle(_ input: [UInt8]) throws(FrontEndViolation) -> ([UInt8], String)? {
        guard VMRRBundle.looksLikeBundle(input) else { return (input, "fuzz.vmrr") }
        let name = "fuzz.vmrrpack"
        let bundle: VMRRBundle
        do { bundle = try VMRRBundle.decode(input, name: name) } catch {
            try expectOneLineError(error, context: "bundle decode")
            return nil
        }
        // Re-encoding hashes everything again: only for small bundles, to keep the fuzzer fast.
        if input.count <= 32 * 1024 {
            let again: VMRRBundle
            do { again = try VMRRBundle.decode(bundle.encode(), name: name) } catch {
                throw FrontEndViolation(description: "a decoded bundle does not decode after encoding: \(error)")
            }
            guard again == bundle else { throw FrontEndViolation(description: "bundle encode/decode is not a round trip") }
        }
        return (bundle.journal, name)
    }

    /// Every event, in order, rendered both ways; random access and the
    /// summary agree with streaming. Nil when an events chunk was refused.
    static func readEvents(_ reader: JournalReader) throws(FrontEndViolation) -> [EventRecord]? {
        var records: [EventRecord] = []
        do {
            try reader.forEachEvent { r in
                guard r.index == UInt64(records.count) else {
                    throw FrontEndViolation(description: "event \(records.count) came back with index \(r.index)")
                }
                let text = EventFormat.text(r), json = EventFormat.json(r)
                guard !text.isEmpty, !text.contains("\n"), json.hasPrefix("{"), !json.contains("\n") else {
                    throw FrontEndViolation(description: "event \(r.index) renders badly: \(text) / \(json)")
                }
                records.append(r)
                return true
            }
        } catch let v as FrontEndViolation {
            throw v
        } catch {
            try expectOneLineError(error, context: "events")
            return nil
        }
        guard UInt64(records.count) == reader.eventCount else {
            throw FrontEndViolation(description: "read \(records.count) events of \(reader.eventCount)")
        }
        // Random access agrees with streaming.
        for k in [0, records.count / 2, records.count - 1] where k >= 0 && k < records.count {
            let r: EventRecord
            do { r = try reader.event(at: UInt64(k)) } catch {
                throw FrontEndViolation(description: "event(at: \(k)) failed after streaming worked: \(error)")
            }
            guard r == records[k] else { throw FrontEndViolation(description: "event(at: \(k)) differs from streaming") }
        }
        do {
            let summary = try JournalSummary(reader: reader)
            guard summary.eventCount == reader.eventCount, !summary.render().isEmpty else {
                throw FrontEndViolation(description: "summary disagrees with the reader")
            }
        } catch let v as FrontEndViolation { throw v } catch {
            throw FrontEndViolation(description: "summary failed after every event read: \(error)")
        }
        return records
    }

    /// Every checkpoint, checked against its index entry; their memory
    /// digests by id. Nil when a checkpoint chunk was refused.
    static func readCheckpoints(_ reader: JournalReader, _ records: [EventRecord]) throws(FrontEndViolation) -> [UInt32: UInt64]? {
        var digests: [UInt32: UInt64] = [:]
        for info in reader.checkpoints {
            let c: Checkpoint
            do { c = try reader.checkpoint(id: info.id) } catch {
                try expectOneLineError(error, context: "checkpoint \(info.id)")
                return nil
            }
            guard c.id == info.id, c.eventIndex == info.eventIndex, c.full == info.full else {
                throw FrontEndViolation(description: "checkpoint \(info.id) does not match its index entry")
            }
            for p in c.pages where p.bytes.count != Int(Checkpoint.pageSize) || p.gpa % Checkpoint.pageSize != 0 {
                throw FrontEndViolation(description: "checkpoint \(c.id) page \(hex(p.gpa)) has \(p.bytes.count) bytes")
            }
            if let d = c.memoryDigest { digests[c.id] = d }
        }
        if let last = records.last, let cp = reader.checkpoint(atOrBefore: last.index), cp.eventIndex > last.index {
            throw FrontEndViolation(description: "checkpoint(atOrBefore:) returned a later checkpoint")
        }
        return digests
    }

    /// Drives a `Replayer` with the accesses that reproduce the journal's own
    /// events, the way the run loop would, and checks that it matches to the
    /// journal's end (or, with `perturbAt`, diverges exactly there).
    public static func replay(_ reader: JournalReader, _ records: [EventRecord], limit: Int, from start: UInt64, verify: Bool,
                       digests: [UInt32: UInt64], perturbAt: Int? = nil) throws(FrontEndViolation) {
        let r = Replayer(journal: reader, start: start, consolePort: consolePort, clockAddress: clockAddress)
        r.verifyMemory = verify
        var console: [UInt8] = []
        r.consoleOutput = { console.append($0) }
        let machine = ScriptedMachine()
        var expectedConsole: [UInt8] = []
        let firstEnd = records.firstIndex { if case .end = $0.event { return $0.index >= start } else { return false } }
        var i = Int(start)
        do {
            while r.end == nil && i < limit {
                let rec = records[i]
                var regs = rec.regs
                if i == perturbAt { regs.rip ^= 1 }
                switch rec.event {
                case let .interrupt(vector):
                    let got = try r.interruptBeforeRun(regs: regs, ready: true)
                    guard got == vector else { throw FrontEndViolation(description: "event \(i): injected \(String(describing: got)), recorded \(vector)") }
                case .nmi:
                    guard try r.nmiBeforeRun(regs: regs) else {
                        throw FrontEndViolation(description: "event \(i): no NMI injected where the journal has one")
                    }
                case let .warmReset(segment, offset):
                    let vector = WarmResetVector(segment: segment, offset: offset)
                    let got = try r.warmResetBeforeRun(regs: regs, vectorInMemory: { vector })
                    guard got == vector else {
                        throw FrontEndViolation(description: "event \(i): warm reset to \(String(describing: got)), recorded \(vector)")
                    }
                case let .checkpoint(id):
                    guard r.wantsCheckpoint else { throw FrontEndViolation(description: "event \(i): checkpoint \(id) not wanted") }
                    machine.state.regs = regs
                    machine.digest = digests[id] ?? 0
                    try r.checkpoint(state: machine, regs: regs)
                case .end:
                    throw FrontEndViolation(description: "event \(i): the end record was not the end of the replay")
                default:
                    guard let x = exit(for: rec.event, regs: regs) else { throw FrontEndViolation(description: "event \(i): no access") }
                    let got = try x.present(to: r, regs: regs)
                    if i == perturbAt { break }
                    if case let .io(port, _, .write, value) = rec.event, port == consolePort {
                        expectedConsole.append(UInt8(truncatingIfNeeded: value))
                    }
                    guard got == readValue(rec.event) else {
                        throw FrontEndViolation(description: "event \(i): the guest got \(got), the journal says \(readValue(rec.event))")
                    }
                }
                if let k = perturbAt, i == k { break }
                guard r.divergence == nil else {
                    throw FrontEndViolation(description: "self-replay from \(start) diverged:\n\(r.divergence!.render(journalName: reader.path))")
                }
                i += 1
            }
        } catch let v as FrontEndViolation {
            throw v
        } catch {
            // Only a checkpoint read can fail here, and only when verifying memory.
            try expectOneLineError(error, context: "replay")
            return
        }
        if let k = perturbAt {
            guard let d = r.divergence else { throw FrontEndViolation(description: "a perturbed rip at event \(k) did not diverge") }
            guard d.index == UInt64(k), d.differingRegisters == ["rip"] else {
                throw FrontEndViolation(description: "perturbed event \(k) diverged at \(d.index) with \(d.differingRegisters)")
            }
            let text = d.render(journalName: reader.path)
            guard text.hasPrefix("vmrr: \(reader.path): replay diverged at event \(k): "), text.contains("    rip    expected 0x") else {
                throw FrontEndViolation(description: "divergence report for event \(k) is wrong:\n\(text)")
            }
            guard r.end?.status == ExitStatus.divergence else { throw FrontEndViolation(description: "divergence without status 3") }
            return
        }
        guard console == expectedConsole else { throw FrontEndViolation(description: "console bytes differ from the THR writes") }
        if limit < records.count { return }
        guard let end = r.end else { throw FrontEndViolation(description: "replay from \(start) did not end") }
        if let e = firstEnd, case let .end(reason, status) = records[e].event {
            guard end == RunEnd(reason: reason, status: status, message: nil), r.next == UInt64(e) else {
                throw FrontEndViolation(description: "replay from \(start) ended with \(end), the journal with \(reason) \(status) at \(e)")
            }
        } else {
            guard end.reason == .limit, end.status == 0, end.message?.contains("cut short") == true else {
                throw FrontEndViolation(description: "replay of a journal without an end record ended with \(end)")
            }
        }
    }

    /// What the guest does at an exit, as the run loop hands it to a responder.
    public enum ScriptedExit {
        case access(Access)
        case msr(MSRAccess)
        case assist(AssistRequest)

        /// Hands the exit to the responder method for its kind; returns what the guest reads.
        public func present(to r: Replayer, regs: GPRegisters) throws -> UInt64 {
            switch self {
            case .access(let a): return try r.respond(to: a, regs: regs)
            case .msr(let m): return try r.respondToMSR(m, regs: regs).value
            case .assist(let a): _ = try r.assist(a, regs: regs); return 0
            }
        }
    }

    /// The exit the guest makes to produce `event`; nil for what the run
    /// loop does itself (injections, checkpoints, the end).
    public static func exit(for event: Event, regs: GPRegisters) -> ScriptedExit? {
        switch event {
        case let .msr(index, direction, value, _):
            return .msr(MSRAccess(index: index, direction: direction, value: direction == .write ? value : 0))
        case let .assist(action, _):
            return .assist(AssistRequest(bytes: instructionBytes(action)))
        default:
            return access(for: event, regs: regs).map { .access($0) }
        }
    }

    /// The device access (or ending exit) the guest makes to produce `event`;
    /// nil for MSR accesses, assists, and what the run loop does itself.
    public static func access(for event: Event, regs: GPRegisters) -> Access? {
        switch event {
        case let .io(port, size, .read, _): return .portRead(port: port, size: size)
        case let .io(port, size, .write, value): return .portWrite(port: port, size: size, value: value)
        case let .input(port, _): return .portRead(port: port, size: 1)
        case let .mmio(gpa, size, .read, _), let .stage2Fault(gpa, size, .read, _): return .mmioRead(gpa: gpa, size: size)
        case let .mmio(gpa, size, .write, value), let .stage2Fault(gpa, size, .write, value):
            return .mmioWrite(gpa: gpa, size: size, value: value)
        case .hlt: return .halt(interruptsEnabled: regs.rflags & RFlags.interruptEnable != 0)
        case .shutdown: return .shutdown
        case .pageFault: return .pageFault(event)
        case .clock: return .mmioRead(gpa: clockAddress, size: 8)
        case let .timer(deadline): return .mmioWrite(gpa: timerAddress, size: 8, value: deadline)
        case let .error(reason, suberror, data):
            return .kvmError(reason: reason, suberror: suberror, data: data, description: "KVM error \(reason)")
        case .msr, .assist, .interrupt, .checkpoint, .end, .switchVCPU, .startup, .nmi, .warmReset, .preempt: return nil
        }
    }

    /// The instruction an assist event stands for.
    public static func instructionBytes(_ action: AssistAction) -> [UInt8] {
        typealias Op = AssistAction.Opcode
        switch action {
        case .breakpoint: return [Op.int3]
        case .skip: return [Op.fwait]
        case .clearAC: return [Op.twoByteEscape, Op.group7, Op.clacModRM]
        case .setAC: return [Op.twoByteEscape, Op.group7, Op.stacModRM]
        }
    }

    /// What a read returns to the guest (0 for everything else).
    public static func readValue(_ e: Event) -> UInt64 {
        switch e {
        case let .io(_, _, .read, v), let .mmio(_, _, .read, v), let .stage2Fault(_, _, .read, v): return v
        case let .input(_, byte): return UInt64(byte)
        case let .clock(ns): return ns
        case let .msr(_, .read, v, _): return v
        default: return 0
        }
    }

    public static func expectOneLineError(_ error: Error, context: String) throws(FrontEndViolation) {
        guard let e = error as? JournalError else {
            throw FrontEndViolation(description: "\(context): not a JournalError: \(error)")
        }
        guard !e.description.isEmpty, !e.description.contains("\n"), !e.reason.isEmpty else {
            throw FrontEndViolation(description: "\(context): error is not one line: \(e.description)")
        }
        if e.offset == nil {
            throw FrontEndViolation(description: "\(context): error without an offset: \(e.description)")
        }
    }

    public static func checksum(_ b: [UInt8]) -> UInt32 { CRC32C.checksum(b) }
}

/// A `MachineStateSource` that reports whatever the script sets.
final class ScriptedMachine: MachineStateSource {
    var state = VCPUState()
    var digest: UInt64 = 0
    func captureState() throws -> VCPUState { state }
    func dirtyPageRecords() throws -> [PageRecord] { [] }
    func memoryDigest() -> UInt64 { digest }
}
