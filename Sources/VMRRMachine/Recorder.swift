import Glibc
import VMRRBase
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRReplay

/// Where a recorder's events go: a journal, or nowhere (the benchmark's
/// baseline, which runs the same executor with journaling off).
public protocol EventSink: AnyObject {
    @discardableResult func append(_ event: Event, regs: GPRegisters) throws -> UInt64
    func appendCheckpoint(_ checkpoint: Checkpoint) throws
    /// A checkpoint whose pages at `gpas` are read from `source` as they are encoded.
    func appendCheckpoint(_ checkpoint: Checkpoint, pagesAt gpas: [UInt64], in source: any CheckpointPageSource) throws
    func flush() throws
    func finish() throws
    var eventCount: UInt64 { get }
    /// False for the null sink: checkpoints are not even captured.
    var keepsCheckpoints: Bool { get }
}

extension JournalWriter: EventSink {
    public var keepsCheckpoints: Bool { true }
}

/// Counts events and drops them.
public final class NullSink: EventSink {
    public private(set) var eventCount: UInt64 = 0
    public init() {}
    public func append(_ event: Event, regs: GPRegisters) throws -> UInt64 { eventCount += 1; return eventCount - 1 }
    public func appendCheckpoint(_ checkpoint: Checkpoint) throws {}
    public func appendCheckpoint(_ checkpoint: Checkpoint, pagesAt gpas: [UInt64], in source: any CheckpointPageSource) throws {}
    public func flush() throws {}
    public func finish() throws {}
    public var keepsCheckpoints: Bool { false }
}

/// The recording responder: answers every exit from the device models
/// (VMRRDevices' `PCPlatform`) and journals it, injects the timer interrupt
/// at exits, and takes checkpoints.
public final class Recorder: ExitResponder {
    public let devices: PCPlatform
    public let journal: EventSink
    public let checkpointInterval: UInt64
    public let maxExits: UInt64?
    public private(set) var end: RunEnd?
    public private(set) var exits: UInt64 = 0
    public private(set) var checkpointsTaken: UInt32 = 0
    var eventsAtLastCheckpoint: UInt64 = 0
    var lastFlush = monotonicNanoseconds()
    var eventsAtLastFlush: UInt64 = 0
    /// How pending records are bounded, so that a killed recorder leaves a
    /// journal readable to its last flushed chunk.
    public enum FlushPolicy: Sendable, Equatable {
        /// At least every `flushIntervalNanoseconds` of wall time (checked
        /// every `flushCheckEvery` events): `--clock host`.
        case wallTime
        /// Every `events` events, so that the chunk boundaries, and with them
        /// the file's bytes, are the same at every recording: `--clock virtual`.
        case eventCount(UInt64)
    }
    public var flushPolicy = FlushPolicy.wallTime
    /// Bound on what a SIGKILL can lose: pending records are written at least this often.
    static let flushIntervalNanoseconds: UInt64 = 250_000_000
    static let flushCheckEvery: UInt64 = 256
    /// `FlushPolicy.eventCount`'s interval under `--clock virtual`.
    public static let virtualClockFlushEvents: UInt64 = 256
    /// Set from a signal handler to stop the recording cleanly.
    nonisolated(unsafe) public static var stopRequested: Int32 = 0
    /// `--max-time`: the run ends at the first exit after the limit, or at
    /// the kick that follows when the vCPU makes no exit.
    public var timeLimit: TimeLimit?
    /// Called on the vCPU thread at most every `progressIntervalNanoseconds`.
    public var progress: ((RecordProgress) -> Void)?
    static let progressIntervalNanoseconds: UInt64 = 250_000_000
    var lastProgress = monotonicNanoseconds()
    let startedAt = monotonicNanoseconds()
    /// The registers and report of the KVM error exit that ended the run, if one did.
    public private(set) var failure: (regs: GPRegisters, description: String)?
    /// `--assist`: emulate int3, fwait, clac and stac when KVM cannot.
    public var assistEnabled = false
    /// The scheduling policy of a machine of more than one vCPU (nil: one vCPU).
    public var scheduler: Scheduler?
    /// SIPIs the scheduler accepted, journaled and applied one per step.
    var pendingStartups: [(UInt8, UInt8)] = []
    /// `--clock virtual` with `--preempt-ms`: guest time moves on at a
    /// preemption (`preempted`), as it does at HLT.
    public var clockAdvancesAtPreemption = false
    /// `preempt` records journaled.
    public private(set) var preemptions: UInt64 = 0
    /// How far guest time moves at a preemption under `--clock virtual`
    /// when no timer interrupt can end the wait (IF=0, or nothing armed): 1 ms.
    public static let preemptionQuantumNanoseconds: UInt64 = 1_000_000

    public init(devices: PCPlatform, journal: EventSink, checkpointInterval: UInt64, maxExits: UInt64? = nil) {
        self.devices = devices
        self.journal = journal
        self.checkpointInterval = max(1, checkpointInterval)
        self.maxExits = maxExits
    }

    func append(_ event: Event, _ regs: GPRegisters) throws {
        try journal.append(event, regs: regs)
        if scheduler != nil {
            repeatsPrevious = lastJournaled.map { $0.event == event && $0.regs == regs } ?? false
            lastJournaled = (event, regs)
            lastSite = Scheduler.SpinSite(rip: regs.rip, event: event)
        }
    }

    /// With more than one vCPU: the last event journaled and its registers,
    /// and whether it repeated the one before (`Scheduler.exited(repeating:)`).
    var lastJournaled: (event: Event, regs: GPRegisters)?
    var repeatsPrevious = false
    /// The last event journaled since the last exit, as a spin site.
    var lastSite: Scheduler.SpinSite?

    func finish(_ reason: EndReason, _ status: Int32, _ message: String? = nil) {
        if end == nil { end = RunEnd(reason: reason, status: status, message: message) }
    }

    func apply(_ outcome: DeviceOutcome, _ regs: GPRegisters) {
        switch outcome {
        case .proceed: break
        case let .end(reason, status, message):
            finish(reason, status, reason == .strict ? message.map { "--strict: \($0) at rip \(hex(regs.rip))" } : message)
        case .warmReset: warmResetPending = true
        }
    }

    /// Set by a reset with CMOS shutdown code 0x05 or 0x0A; done before the next run.
    var warmResetPending = false

    /// The warm reset a device asked for: the far pointer at 0x467, journaled.
    public func warmResetBeforeRun(regs: GPRegisters, vectorInMemory: () throws -> WarmResetVector) throws -> WarmResetVector? {
        guard warmResetPending, end == nil else { return nil }
        warmResetPending = false
        let v = try vectorInMemory()
        try append(.warmReset(segment: v.segment, offset: v.offset), regs)
        return v
    }

    /// A pending NMI (an NMI IPI, an I/O APIC entry in NMI mode), injected at
    /// this exit whatever the guest's state: KVM holds it while NMIs are blocked.
    public func nmiBeforeRun(regs: GPRegisters) throws -> Bool {
        guard end == nil, devices.pendingNMI else { return false }
        devices.acknowledgeNMI()
        try append(.nmi, regs)
        return true
    }

    public func interruptBeforeRun(regs: GPRegisters, ready: Bool) throws -> UInt8? {
        guard regs.rflags & RFlags.interruptEnable != 0, ready, let vector = devices.pendingInterrupt() else { return nil }
        devices.acknowledgeInterrupt(vector)
        try append(.interrupt(vector: vector), regs)
        return vector
    }

    /// A timer signal stopped the vCPU between exits. When the stop can
    /// change what happens next (`preemptionMatters`) it is journaled
    /// (`preempt`), the slice ends (more than one vCPU), and under `--clock
    /// virtual` guest time moves on: to the next timer deadline when the
    /// guest can take its interrupt (IF=1), as at HLT, else by a quantum.
    /// So a guest that polls memory for a tick gets it, injected at this
    /// exit like any other interrupt (docs/DETERMINISM.md). Otherwise nothing
    /// is journaled and the vCPU runs on: replay would pay for reaching a
    /// stop that changes nothing (a decompressor's loop with IF=0).
    public func preempted(regs: GPRegisters, digest: () throws -> UInt64) throws -> Bool {
        guard end == nil, preemptionMatters(regs) else { return false }
        try append(.preempt(digest: try digest()), regs)
        preemptions &+= 1
        scheduler?.endSlice()
        guard clockAdvancesAtPreemption else { return true }
        let now = devices.clock.now()
        if regs.rflags & RFlags.interruptEnable != 0, let deadline = devices.nextInterruptTime() {
            devices.clock.waitUntil(deadline)
        } else {
            devices.clock.waitUntil(now &+ Self.preemptionQuantumNanoseconds)
        }
        return true
    }

    /// Whether a stop here changes what happens next: another vCPU can run,
    /// or the vCPU takes interrupts (IF=1) and one is due, or, under `--clock
    /// virtual` (where time moves on at the stop), a timer is armed.
    func preemptionMatters(_ regs: GPRegisters) -> Bool {
        if let scheduler, scheduler.anotherCanRun(interruptWaits: devices.interruptWaits(cpu:)) { return true }
        guard regs.rflags & RFlags.interruptEnable != 0 else { return false }
        if devices.pendingInterrupt() != nil { return true }
        return clockAdvancesAtPreemption && devices.nextInterruptTime() != nil
    }

    public func respondToMSR(_ access: MSRAccess, regs: GPRegisters) throws -> MSRAnswer {
        let (index, direction, value) = (access.index, access.direction, access.value)
        exits &+= 1
        devices.clock.exitTick()
        let result = devices.answerMSR(index: index, direction: direction, value: value)
        let answer = MSRAnswer(value: result.value, fault: result.fault)
        try append(.msr(index: index, direction: direction, value: direction == .read ? answer.value : value, fault: answer.fault), regs)
        apply(result.outcome, regs)   // an x2APIC INIT IPI to itself is a reset (warm through 40:67, or the end)
        try afterAccess(regs)
        return answer
    }

    public func assist(_ request: AssistRequest, regs: GPRegisters) throws -> (action: AssistAction, length: UInt8)? {
        guard assistEnabled, let a = AssistAction.decode(request.bytes) else { return nil }
        exits &+= 1
        devices.clock.exitTick()
        try append(.assist(action: a.action, length: a.length), regs)
        try afterAccess(regs)
        return a
    }

    public func respond(to access: Access, regs: GPRegisters) throws -> UInt64 {
        exits &+= 1
        devices.clock.exitTick()
        var value: UInt64 = 0
        switch access {
        case let .portRead(port, size):
            let (ev, v, outcome) = devices.portRead(port: port, size: size)
            try append(ev, regs); value = v; apply(outcome, regs)
        case let .portWrite(port, size, v):
            let (ev, outcome) = devices.portWrite(port: port, size: size, value: v)
            try append(ev, regs); apply(outcome, regs)
        case let .mmioRead(gpa, size):
            let (ev, v, outcome) = devices.mmioRead(gpa: gpa, size: size)
            try append(ev, regs); value = v; apply(outcome, regs)
        case let .mmioWrite(gpa, size, v):
            let (ev, outcome) = devices.mmioWrite(gpa: gpa, size: size, value: v)
            try append(ev, regs); apply(outcome, regs)
        case let .halt(interruptsEnabled):
            try append(.hlt, regs)
            if let scheduler {
                // Another vCPU may run: the scheduler decides at the switch point that follows.
                scheduler.halted(interruptsEnabled: interruptsEnabled)
            } else if interruptsEnabled && devices.pendingInterrupt() != nil {
                // An interrupt is already due: it is injected before the guest runs on.
            } else if interruptsEnabled, let deadline = devices.nextInterruptTime() {
                devices.clock.waitUntil(deadline)
            } else {
                let why = interruptsEnabled ? "HLT with no timer armed and no interrupt pending: nothing can wake the guest"
                                            : "HLT with interrupts disabled"
                finish(.halted, ExitStatus.halted, why)
            }
        case .shutdown:
            try append(.shutdown, regs)
            finish(.shutdown, ExitStatus.shutdown, "triple fault (KVM_EXIT_SHUTDOWN) at rip \(hex(regs.rip))")
        case let .pageFault(ev):
            try append(ev, regs)
        case let .kvmError(reason, suberror, data, description):
            try append(.error(reason: reason, suberror: suberror, data: data), regs)
            if failure == nil { failure = (regs, description) }
            finish(.error, ExitStatus.kvmError, description)
        case .interrupted:
            exits &-= 1
            scheduler?.notAnExit()   // a kick comes from host time: it must not move a switch
            if Self.stopRequested != 0 { finish(.interrupted, ExitStatus.interrupted, "recording interrupted by a signal") }
            if let timeLimit, timeLimit.isReached {
                finish(.limit, 0, "stopped after \(timeLimit.text) (--max-time); the vCPU made no exit, so a signal stopped it between exits at rip \(hex(regs.rip))")
            }
        }
        try afterAccess(regs)
        return value
    }

    /// The bookkeeping after every access: limits, progress, periodic flushes.
    func afterAccess(_ regs: GPRegisters) throws {
        scheduler?.exited(repeating: repeatsPrevious, site: lastSite)
        repeatsPrevious = false
        lastSite = nil
        if let maxExits, exits >= maxExits, end == nil {
            finish(.limit, 0, "stopped after \(exits) exits (--max-exits)")
        }
        if let timeLimit, end == nil, timeLimit.isReached {
            finish(.limit, 0, "stopped after \(timeLimit.text) (--max-time), at exit \(exits)")
        }
        if let progress {
            let now = monotonicNanoseconds()
            if now &- lastProgress >= Self.progressIntervalNanoseconds {
                lastProgress = now
                progress(RecordProgress(exits: exits, events: journal.eventCount, elapsedNanoseconds: now &- startedAt))
            }
        }
        if Self.stopRequested != 0, end == nil { finish(.interrupted, ExitStatus.interrupted, "recording interrupted by a signal") }
        try flushIfDue()
    }

    /// Writes the pending records when the flush policy says so.
    func flushIfDue() throws {
        switch flushPolicy {
        case .wallTime:
            guard journal.eventCount % Self.flushCheckEvery == 0 else { return }
            let now = monotonicNanoseconds()
            if now &- lastFlush > Self.flushIntervalNanoseconds { try journal.flush(); lastFlush = now }
        case .eventCount(let every):
            guard journal.eventCount &- eventsAtLastFlush >= every else { return }
            try journal.flush()
            eventsAtLastFlush = journal.eventCount
        }
    }

    public var wantsCheckpoint: Bool {
        journal.keepsCheckpoints && journal.eventCount - eventsAtLastCheckpoint >= checkpointInterval
    }

    /// Checkpoint 0: the boot image, before the first instruction.
    public func bootCheckpoint(machine: Machine, state: VCPUState) throws {
        guard journal.keepsCheckpoints else { return }
        let cp = Checkpoint(id: 0, eventIndex: 0, full: true, state: state, pages: machine.nonZeroPages(),
                            deviceState: devices.encodeState(), memoryDigest: machine.memoryDigest(),
                            allVCPUs: try allVCPUs(machine, running: state))
        try writeCheckpoint(cp, regs: state.regs)
    }

    public func checkpoint(state source: MachineStateSource, regs: GPRegisters) throws {
        let state = try source.captureState()
        // A KVM machine's dirty pages go from guest RAM straight into the chunk.
        let machine = source as? Machine
        let gpas = try machine?.dirtyPages()
        let pages = machine == nil ? try source.dirtyPageRecords() : []
        try source.markClean()
        let cp = Checkpoint(id: checkpointsTaken, eventIndex: journal.eventCount, full: false, state: state,
                            pages: pages, deviceState: devices.encodeState(), allVCPUs: try allVCPUs(source, running: state))
        try writeCheckpoint(cp, regs: state.regs, pagesAt: gpas, in: machine)
    }

    /// The checkpoint event is appended first, so `eventIndex` is its index.
    /// With `gpas`, the pages at those addresses are read from `machine`'s RAM as they are written.
    func writeCheckpoint(_ cp: Checkpoint, regs: GPRegisters, pagesAt gpas: [UInt64]? = nil, in machine: Machine? = nil) throws {
        var c = cp
        c.eventIndex = journal.eventCount
        try append(.checkpoint(id: c.id), regs)
        if let gpas, let machine {
            try journal.appendCheckpoint(c, pagesAt: gpas, in: machine)
        } else {
            try journal.appendCheckpoint(c)
        }
        checkpointsTaken += 1
        eventsAtLastCheckpoint = journal.eventCount
    }

    /// The final checkpoint (with the memory digest) and the `end` event.
    public func finalize(machine: Machine, end: RunEnd) throws {
        guard journal.keepsCheckpoints else {
            try append(.end(reason: end.reason, status: end.status), GPRegisters())
            devices.output.flush()
            try journal.finish()
            return
        }
        try machine.completePendingIO()
        let state = try machine.captureState()
        let gpas = try machine.dirtyPages()
        let cp = Checkpoint(id: checkpointsTaken, eventIndex: journal.eventCount, full: false, state: state,
                            pages: [], deviceState: devices.encodeState(), memoryDigest: machine.memoryDigest(),
                            allVCPUs: try allVCPUs(machine, running: state))
        try writeCheckpoint(cp, regs: state.regs, pagesAt: gpas, in: machine)
        try append(.end(reason: end.reason, status: end.status), state.regs)
        devices.output.flush()
        try journal.finish()
    }
}

/// What the progress line shows while recording.
public struct RecordProgress: Sendable {
    public var exits: UInt64
    public var events: UInt64
    public var elapsedNanoseconds: UInt64
    /// Journal bytes written so far (filled in by the session).
    public var journalBytes: UInt64 = 0
}
