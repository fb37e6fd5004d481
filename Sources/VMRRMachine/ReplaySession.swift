import Glibc
import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRReplay

public struct ReplayOptions: Sendable {
    /// Replay against this image instead of the recorded one; a hash
    /// mismatch is then a warning, not an error.
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
    public init() {}
}

public struct ReplayResult {
    public var end: RunEnd
    public var divergence: Divergence?
    public var startEvent: UInt64
    public var matched: UInt64
    /// The last event that replayed identically (nil when none did).
    public var lastEvent: UInt64?
    public var warnings: [String]
    public var verifiedDigest: Bool
    public var wallNanoseconds: UInt64
}

/// A replay of a journal on KVM, built from the journal header.
public final class ReplaySession {
    public let reader: JournalReader
    public let machine: Machine
    public let runner: Runner
    public let replayer: Replayer
    public let image: GuestImage?
    public private(set) var warnings: [String] = []
    public let startEvent: UInt64

    /// Checks the header, builds the machine, and positions it at the start
    /// or at a checkpoint. Errors are one line, ready for the user.
    /// The options this session was made with.
    public let options: ReplayOptions

    public init(reader: JournalReader, options o: ReplayOptions) throws {
        self.reader = reader
        self.options = o
        let h = reader.header
        let name = reader.path
        guard h.memorySize >= Layout.minimumMemorySize, h.memorySize <= Layout.maximumMemorySize,
              h.memorySize % Layout.memorySizeGranularity == 0 else {
            throw VMRRError("\(name): header asks for \(h.memorySize) bytes of RAM; vmrr allows \(Layout.minimumMemorySize >> 20) MiB to \(Layout.maximumMemorySize >> 30) GiB in 2 MiB steps")
        }
        guard h.vcpuCount == 1 else { throw VMRRError("\(name): header asks for \(h.vcpuCount) vCPUs; vmrr runs 1") }
        guard !h.cpuidSet.isEmpty, h.cpuidSet.count <= 256 else {
            throw VMRRError("\(name): header holds \(h.cpuidSet.count) CPUID leaves; expected 1 to 256")
        }

        // The image: the override, the bundle's copy, or the recorded path.
        var boot: BootImage?
        var warnings: [String] = []
        let startCheckpoint: CheckpointInfo?
        if let id = o.fromCheckpoint {
            guard let cp = reader.checkpoints.first(where: { $0.id == id }) else {
                throw VMRRError("\(name): no checkpoint \(id); the journal has \(reader.checkpoints.count) (0 to \(max(0, reader.checkpoints.count - 1)))")
            }
            startCheckpoint = cp
        } else if let n = o.fromEvent {
            guard n < reader.eventCount else { throw VMRRError("\(name): event \(n) is beyond the last event (\(reader.eventCount - 1))") }
            startCheckpoint = reader.checkpoint(atOrBefore: n)
        } else {
            startCheckpoint = nil
        }
        let fromBoot = startCheckpoint == nil || startCheckpoint?.id == 0
        do {
            if let p = o.imageOverride {
                boot = try BootImage.load(path: p, bootProtocol: h.bootProtocol, linuxDecompressOnHost: h.linuxPayloadOnHost)
                if boot?.image.sha256 != h.imageSHA256 {
                    warnings.append("\(p) is not the recorded image (SHA-256 \(SHA256.hex(boot!.image.sha256).prefix(16))…, recorded \(SHA256.hex(h.imageSHA256).prefix(16))…); replaying until behaviour differs")
                }
            } else if let bytes = o.bundledImage {
                boot = try BootImage.parse(bytes: bytes, path: h.imagePath, bootProtocol: h.bootProtocol, linuxDecompressOnHost: h.linuxPayloadOnHost)
            } else if access(h.imagePath, R_OK) == 0 {
                boot = try BootImage.load(path: h.imagePath, bootProtocol: h.bootProtocol, linuxDecompressOnHost: h.linuxPayloadOnHost)
            } else if fromBoot && h.bootProtocol == .vmrr {
                throw VMRRError("\(name): the recorded image \(h.imagePath) is missing; pass --image PATH, or replay a bundle (vmrr pack)")
            } else {
                warnings.append("the recorded image \(h.imagePath) is missing: no symbols")
            }
        } catch let e as VMRRError { throw e } catch { throw VMRRError("\(error)") }
        let image = boot?.image
        if o.imageOverride == nil, let img = image, img.sha256 != h.imageSHA256 {
            throw VMRRError("\(img.path): SHA-256 \(SHA256.hex(img.sha256)) differs from the recorded \(SHA256.hex(h.imageSHA256)); pass --image \(img.path) to replay against this build anyway")
        }
        self.image = image

        do { machine = try Machine(memorySize: h.memorySize, cpuid: h.cpuidSet, userspaceMSRs: reader.formatVersion >= 2) } catch {
            throw VMRRError("creating the VM for \(name): \(error)")
        }
        let start: UInt64
        if fromBoot, h.bootProtocol == .multiboot || h.bootProtocol == .linux {
            // The boot image is checkpoint 0: it holds the multiboot
            // information and the modules, or the zero page and the initrd,
            // which the header does not.
            try Self.restore(reader: reader, upTo: 0, into: machine)
            if case .multiboot(let mb)? = boot {
                do {
                    try mb.validate(memorySize: h.memorySize)
                    if mb.image.sha256 != h.imageSHA256 { try Self.overlay(mb.image, into: machine) }
                } catch { throw VMRRError("boot state for image \(mb.image.path): \(error)") }
            }
            if case .linux(let lx)? = boot {
                do {
                    try lx.validate(memorySize: h.memorySize)
                    if lx.image.sha256 != h.imageSHA256 { try Self.overlay(lx.image, into: machine) }
                } catch { throw VMRRError("boot state for image \(lx.image.path): \(error)") }
            }
            runner = Runner(machine: machine, regs: try machine.vcpu.getRegisters())
            start = 0
        } else if fromBoot {
            guard case .vmrr(let img)? = boot else { throw VMRRError("\(name): no image to boot") }
            do {
                try img.validate(memorySize: h.memorySize)
                let plan = try BootPlan.make(image: img, memorySize: h.memorySize, commandLine: h.guestCommandLine)
                try machine.load(plan)
                runner = Runner(machine: machine, regs: plan.regs)
            } catch { throw VMRRError("boot state for image \(img.path): \(error)") }
            start = 0
        } else {
            let cp = startCheckpoint!
            try Self.restore(reader: reader, upTo: cp.id, into: machine)
            try machine.completePendingIO()   // refreshes the run page (registers, interrupt readiness)
            runner = Runner(machine: machine, regs: machine.vcpu.syncedRegisters)
            start = cp.eventIndex + 1
        }
        startEvent = start
        if let u = o.until, u < start, start > 0 {
            throw VMRRError("\(name): --until \(u) lies before the starting point (event \(start - 1)); choose an earlier checkpoint or a later --until")
        }
        replayer = Replayer(journal: reader, start: start, consolePort: Layout.com1Base + Layout.uartTHR,
                            clockAddress: Layout.clockGPA, timerAddress: Layout.timerGPA)
        // Console output depends on COM1's LCR and MCR as they were at the start.
        if start > 1, let cp = startCheckpoint, let state = try? reader.checkpoint(id: cp.id).deviceState {
            replayer.consoleFilter = ConsoleFilter(thrPort: replayer.consolePort, deviceState: state)
        }
        replayer.setUntil(o.until)
        replayer.verifyMemory = o.verify
        if let img = image {
            let symbols = img.symbols
            replayer.symbolize = { addr in
                symbols.symbolize(addr).map { $0.offset == 0 ? $0.name : "\($0.name)+\(hex($0.offset))" }
            }
        }
        self.warnings = warnings
    }

    /// Rebuilds memory and vCPU state as of checkpoint `id`: the full
    /// checkpoint 0, then every later checkpoint's pages in order.
    public static func restore(reader: JournalReader, upTo id: UInt32, into machine: Machine) throws {
        do {
            let infos = reader.checkpoints.filter { $0.id <= id }.sorted { $0.id < $1.id }
            guard let first = infos.first, first.full else {
                throw VMRRError("\(reader.path): checkpoint 0 is not a full memory image")
            }
            machine.ram.zeroAll()
            var state: VCPUState?
            for info in infos {
                let cp = try reader.checkpoint(id: info.id)
                try machine.restorePages(cp.pages)
                state = cp.state
            }
            if let state { try machine.restoreState(state) }
            machine.clearDirtyLog()
        } catch let e as VMRRError { throw e } catch {
            throw VMRRError("\(reader.path): restoring checkpoint \(id): \(error)")
        }
    }

    /// A rebuilt multiboot image replayed against a recording: its segments
    /// replace the recorded ones in the boot image, and RIP its entry.
    static func overlay(_ image: GuestImage, into machine: Machine) throws {
        for seg in image.segments where seg.memsz > 0 {
            var bytes = seg.fileBytes
            bytes.append(contentsOf: repeatElement(0, count: Int(seg.memsz) - seg.fileBytes.count))
            guard machine.ram.write(seg.paddr, bytes) else {
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
        let started = HostClock.monotonicNanoseconds()
        var end: RunEnd
        do { end = try runner.run(replayer) } catch {
            throw VMRRError("replaying \(reader.path) at event \(replayer.next): \(error)")
        }
        var divergence = replayer.divergence
        if let d = divergence, let note = try stoppedBetweenExits(d) {
            divergence = nil
            end = RunEnd(reason: .limit, status: 0, message: note)
        }
        return ReplayResult(end: end, divergence: divergence, startEvent: startEvent, matched: replayer.matched,
                            lastEvent: replayer.lastMatched?.index, warnings: warnings, verifiedDigest: replayer.verifiedDigest,
                            wallNanoseconds: HostClock.monotonicNanoseconds() - started)
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
