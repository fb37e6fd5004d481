import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRReplay

public struct ReplayOptions: Sendable {
    /// Replay against this image instead of the recorded one; a hash
    /// mismatch is then a warning, not an error (but see `foreignImageAtCheckpoint`).
    public var imageOverride: String?
    /// Image bytes from a bundle (used when no override is given).
    public var bundledImage: [UInt8]?
    /// Stop after this event index.
    public var until: UInt64?
    /// Start from this checkpoint id.
    public var fromCheckpoint: UInt32?
    /// Start from the nearest checkpoint at or before this event.
    public var fromEvent: UInt64?
    /// Check memory digests at checkpoints that carry one.
    public var verify = false
    /// What to do when the start is a checkpoint other than 0 and
    /// `imageOverride` is not the recorded image.
    public var foreignImageAtCheckpoint = ForeignImageAtCheckpoint.refuse
    /// Host seconds without a new journal event before the replay watchdog stops the run.
    public var watchdogSeconds = ReplayWatchdog.defaultSeconds
    public init() {}

    /// A checkpoint's memory replaces the image (its code, its data), so
    /// another build started there would never run its own code.
    public enum ForeignImageAtCheckpoint: Sendable {
        /// Refuse with a one-line error (`vmrr replay`: no false passes).
        case refuse
        /// Start at the boot instead, where the image is loaded.
        case startFromBoot
    }
}

/// A replay of a journal on KVM, built from the journal header: the machine,
/// the run loop and the replayer. It only runs forward; a `Timeline` seeks
/// over it (restoring a state, then `restart(atEvent:)`).
public final class ReplaySession {
    public let reader: JournalReader
    public let machine: Machine
    public let runner: Runner
    /// The replayer answering the run loop now (a new one after each restart).
    public private(set) var replayer: Replayer
    /// What every replayer of this session is made from.
    public let configuration: ReplayConfiguration
    public let image: GuestImage?
    public private(set) var warnings: [String] = []
    public let startEvent: UInt64
    /// The options this session was made with.
    public let options: ReplayOptions
    /// The `--image` path when its SHA-256 differs from the recorded image's.
    public let foreignImage: String?

    /// Checks the header, builds the machine, and positions it at the start
    /// or at a checkpoint. Errors are one line, ready for the user.
    public init(reader: JournalReader, options o: ReplayOptions) throws {
        self.reader = reader
        self.options = o
        let h = reader.header
        try Self.checkHeader(reader)
        var startCheckpoint = try Self.startCheckpoint(reader, o)
        var fromBoot = startCheckpoint == nil || startCheckpoint?.id == 0
        let chosen = try Self.chooseImage(reader, o, fromBoot: fromBoot, warnings: &warnings)
        let image = chosen?.image
        self.image = image
        foreignImage = chosen.flatMap { c in
            if case .override(let p) = c.origin, !c.isRecorded(h) { return p }
            return nil
        }
        if let path = foreignImage, let cp = startCheckpoint, !fromBoot {
            switch o.foreignImageAtCheckpoint {
            case .refuse: throw VMRRError(Self.checkpointReplacesImage(reader, o, checkpoint: cp, image: path))
            case .startFromBoot: startCheckpoint = nil; fromBoot = true
            }
        }

        if let cp = startCheckpoint, !fromBoot, !reader.checkpointRestoresEveryVCPU(id: cp.id) {
            throw VMRRError(CheckpointRestorer.onlyRunningVCPU(reader, id: cp.id))
        }
        do {
            machine = try Machine(memorySize: h.memorySize, cpuid: h.cpuidSet, userspaceMSRs: reader.formatVersion >= 2,
                                  vcpuCount: Int(h.vcpuCount))
        } catch {
            throw VMRRError("creating the VM for \(reader.path): \(error)")
        }
        let start: UInt64
        if let cp = startCheckpoint, !fromBoot {
            try CheckpointRestorer(reader: reader).restore(cp.id, into: machine, verifyDigest: true)
            try machine.completePendingIO()   // refreshes the run page (registers, interrupt readiness)
            runner = Runner(machine: machine, regs: machine.vcpu.syncedRegisters)
            start = cp.eventIndex + 1
        } else {
            runner = Runner(machine: machine, regs: try Self.boot(machine, reader: reader, image: chosen?.boot))
            start = 0
        }
        startEvent = start
        if let u = o.until, u < start, start > 0 {
            throw VMRRError("\(reader.path): --until \(u) lies before the starting point (event \(start - 1)); choose an earlier checkpoint or a later --until")
        }
        configuration = ReplayConfiguration(consolePort: Layout.com1Base + Layout.uartTHR, clockAddress: Layout.clockGPA,
                                            timerAddress: Layout.timerGPA, symbolize: image.map { $0.symbols.label },
                                            verifyMemory: o.verify)
        replayer = configuration.makeReplayer(journal: reader, start: start)
        // Console output depends on COM1's LCR and MCR as they were at the start.
        if start > 1, let cp = startCheckpoint, let state = try? reader.checkpoint(id: cp.id).deviceState {
            replayer.consoleFilter = ConsoleFilter(thrPort: configuration.consolePort, deviceState: state)
        }
        replayer.setUntil(o.until)
    }

    /// Starts a new replayer at event `start`, after the machine was put in
    /// the state right after event `start - 1` (a snapshot or a checkpoint restored).
    public func restart(atEvent start: UInt64) {
        runner.didRestore(regs: machine.vcpu.syncedRegisters)
        replayer = configuration.makeReplayer(journal: reader, start: start)
    }

    // MARK: running forward (all a timeline asks of the session)

    /// Runs until the replayer ends the run (end of journal, `until`, a
    /// divergence) or pauses it.
    public func runForward() throws -> RunEnd {
        try ReplayWatchdog(seconds: options.watchdogSeconds).run(runner, replayer, journal: reader.path)
    }

    /// Runs until the run ends, a debugger breakpoint fires, or `watch`
    /// (called after each handled exit) says stop.
    public func runUntilStop(watch: (() -> Bool)? = nil) throws -> Runner.Stop {
        try runner.runUntilStop(replayer, watch: watch)
    }

    /// Runs until event `e` has been handled and stays there, ready to run or
    /// step on (a pending IN or MMIO read is completed by the next run or
    /// step); false if the run ended, diverged or passed `e` first.
    public func run(toEvent e: UInt64) throws -> Bool {
        replayer.pauseAfter = { $0.index == e }
        defer { replayer.pauseAfter = nil }
        _ = try runForward()
        guard replayer.paused != nil, replayer.divergence == nil, replayer.lastMatchedIndex == e else { return false }
        replayer.resume()
        return true
    }

    /// Executes at most one guest instruction, or the journal event that comes first.
    public func stepOnce() throws -> Runner.StepOutcome { try runner.stepOnce(replayer) }

    /// Refuses headers vmrr cannot replay.
    static func checkHeader(_ reader: JournalReader) throws {
        let h = reader.header, name = reader.path
        guard Layout.isValidMemorySize(h.memorySize) else {
            throw VMRRError(Layout.memorySizeRefusal(h.memorySize, journal: name))
        }
        guard h.vcpuCount >= 1, h.vcpuCount <= JournalFormat.maxVCPUs else {
            throw VMRRError("\(name): header asks for \(h.vcpuCount) vCPUs; vmrr runs 1 to \(JournalFormat.maxVCPUs)")
        }
        guard !h.cpuidSet.isEmpty, h.cpuidSet.count <= 256 else {
            throw VMRRError("\(name): header holds \(h.cpuidSet.count) CPUID leaves; expected 1 to 256")
        }
    }

    /// The checkpoint `--from-checkpoint` or `--from-event` names; nil to start at the boot.
    static func startCheckpoint(_ reader: JournalReader, _ o: ReplayOptions) throws -> CheckpointInfo? {
        let name = reader.path
        if let id = o.fromCheckpoint {
            guard let cp = reader.checkpoints.first(where: { $0.id == id }) else {
                throw VMRRError("\(name): no checkpoint \(id); the journal has \(reader.checkpoints.count) (0 to \(max(0, reader.checkpoints.count - 1)))")
            }
            return cp
        }
        if let n = o.fromEvent {
            guard reader.eventCount > 0 else { throw VMRRError("\(name): the journal has no events, so there is no event \(n) to start from") }
            guard n < reader.eventCount else { throw VMRRError("\(name): event \(n) is beyond the last event (\(reader.eventCount - 1))") }
            return reader.checkpoint(atOrBefore: n)
        }
        return nil
    }

    /// Why a replay of another build cannot start at checkpoint `cp`: one line.
    static func checkpointReplacesImage(_ reader: JournalReader, _ o: ReplayOptions, checkpoint cp: CheckpointInfo,
                                        image path: String) -> String {
        let option = o.fromEvent.map { "--from-event \($0)" } ?? "--from-checkpoint \(cp.id)"
        return "\(reader.path): \(option) restores checkpoint \(cp.id), whose memory replaces the image: the code of \(path) "
            + "(not the recorded image) would never run; replay from the start, or without --image"
    }

    /// The image to replay (`ReplayImage`), with this command's policy: a
    /// missing image is an error only when a vmrr-protocol guest must boot
    /// from it; `--image` may differ from the recording (a warning), any
    /// other image may not.
    static func chooseImage(_ reader: JournalReader, _ o: ReplayOptions, fromBoot: Bool,
                            warnings: inout [String]) throws -> ReplayImage? {
        let h = reader.header
        let chosen: ReplayImage?
        do {
            chosen = try ReplayImage.choose(header: h, override: o.imageOverride, bundled: o.bundledImage, journalPath: reader.path)
            if chosen == nil {
                if fromBoot && h.bootProtocol == .vmrr {
                    throw VMRRError("\(reader.path): the recorded image \(h.imagePath) is missing, and is not beside the journal either; pass --image PATH, or replay a bundle (vmrr pack)")
                }
                warnings.append("the recorded image \(h.imagePath) is missing: no symbols")
            }
        } catch let e as VMRRError { throw e } catch { throw VMRRError("\(error)") }
        guard let c = chosen, !c.isRecorded(h) else { return chosen }
        if case .override(let p) = c.origin {
            warnings.append("\(p) is not the recorded image (SHA-256 \(SHA256.hex(c.image.sha256).prefix(16))…, recorded \(SHA256.hex(h.imageSHA256).prefix(16))…); replaying until behaviour differs")
            return c
        }
        throw VMRRError("\(c.image.path): SHA-256 \(SHA256.hex(c.image.sha256)) differs from the recorded \(SHA256.hex(h.imageSHA256)); pass --image \(c.image.path) to replay against this build anyway")
    }

    /// Puts `machine` in its boot state and returns the entry registers. A
    /// multiboot or Linux boot image is checkpoint 0: it holds the multiboot
    /// information and the modules, or the zero page and the initrd, which
    /// the header does not; a rebuilt image is overlaid on it. A
    /// vmrr-protocol image is loaded from its boot plan.
    static func boot(_ machine: Machine, reader: JournalReader, image boot: BootImage?) throws -> GPRegisters {
        let h = reader.header
        if h.bootProtocol == .multiboot || h.bootProtocol == .linux {
            try CheckpointRestorer(reader: reader).restore(0, into: machine, verifyDigest: true)
            if case .multiboot(let mb)? = boot {
                do {
                    try mb.validate(memorySize: h.memorySize)
                    if mb.image.sha256 != h.imageSHA256 { try overlay(mb.image, into: machine) }
                } catch { throw VMRRError("boot state for image \(mb.image.path): \(error)") }
            }
            if case .linux(let lx)? = boot {
                do {
                    try lx.validate(memorySize: h.memorySize)
                    if lx.image.sha256 != h.imageSHA256 { try overlay(lx.image, into: machine) }
                } catch { throw VMRRError("boot state for image \(lx.image.path): \(error)") }
            }
            return try machine.vcpu.getRegisters()
        }
        guard case .vmrr(let img)? = boot else { throw VMRRError("\(reader.path): no image to boot") }
        do {
            try img.validate(memorySize: h.memorySize)
            let plan = try BootPlan.make(image: img, memorySize: h.memorySize, commandLine: h.guestCommandLine)
            try machine.load(plan)
            return plan.regs
        } catch { throw VMRRError("boot state for image \(img.path): \(error)") }
    }

    /// A rebuilt multiboot image replayed against a recording: its segments
    /// replace the recorded ones in the boot image, and RIP its entry.
    static func overlay(_ image: GuestImage, into machine: Machine) throws {
        for seg in image.segments where seg.memsz > 0 {
            guard machine.ram.zero(seg.paddr, count: seg.memsz), machine.ram.write(seg.paddr, seg.fileBytes) else {
                throw VMRRError("segment \(seg.index) at \(hex(seg.paddr)) lies outside this machine's RAM")
            }
        }
        var regs = try machine.vcpu.getRegisters()
        regs.rip = image.entry
        try machine.vcpu.setRegisters(regs)
        machine.clearDirtyLog()
    }

    /// Runs to the end of the journal, `until`, or the first divergence.
    public func run(console: ((UInt8) -> Void)?) throws -> ReplayResult {
        replayer.consoleOutput = console
        let started = monotonicNanoseconds()
        var end: RunEnd
        do { end = try runForward() } catch let stalled as ReplayWatchdog.Stalled { throw stalled } catch {
            throw VMRRError("replaying \(reader.path) at event \(replayer.next): \(error)")
        }
        var divergence = replayer.divergence
        if let d = divergence, let note = try stoppedBetweenExits(d) {
            divergence = nil
            end = RunEnd(reason: .limit, status: 0, message: note)
        }
        let ended = divergence == nil && replayer.reachedEndRecord && replayer.final == end
        let interrupted = replayer.final == nil && replayer.paused?.reason == .interrupted
        return ReplayResult(end: end, divergence: divergence, digestMismatch: replayer.digestMismatch,
                            guestEnd: ended ? end : nil, interrupted: interrupted, foreignImage: foreignImage,
                            startEvent: startEvent, matched: replayer.matched, lastEvent: replayer.lastMatchedIndex,
                            warnings: warnings, verifiedDigest: replayer.verifiedDigest,
                            wallNanoseconds: monotonicNanoseconds() - started)
    }

    /// A recording stopped between exits (`--max-time` kicking a vCPU that
    /// made no exit, or a signal) took its final checkpoint where the vCPU
    /// happened to be, past the last exit. A replay cannot stop there: it can
    /// only compare at exits. So when the one mismatch is the registers at
    /// that final checkpoint, right before the journal's `limit` or
    /// `interrupted` end, everything that can be replayed did replay: that is
    /// reported as the end, not as a divergence. Nil otherwise.
    func stoppedBetweenExits(_ d: Divergence) throws -> String? {
        guard let expected = d.expected, case let .checkpoint(id) = expected.event,
              d.reason == .registersDifferAtCheckpoint,
              expected.index + 2 == reader.eventCount,
              case let .end(reason, _) = try reader.event(at: expected.index + 1).event,
              reason == .limit || reason == .interrupted else { return nil }
        let last = d.lastMatched.map { "event \($0.index)" } ?? "the start"
        return "the recording was stopped between exits (by --max-time or a signal), so its final checkpoint \(id) (event \(expected.index)) lies past the last exit; everything up to \(last) replayed identically"
    }
}
