import Glibc
import VMRRBase
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRKVM
import VMRRReplay

public struct RecordOptions: Sendable {
    public var imagePath: String
    public var journalPath: String
    public var memorySize: UInt64 = Layout.defaultMemorySize
    public var clock: ClockSource = .host
    public var strict = false
    /// `--assist`: emulate int3, fwait, clac and stac (docs/GUEST.md, "Assists").
    public var assist = false
    /// `--linux-decompress host|guest`: decompress a 64-bit bzImage's LZ4
    /// payload on the host (true) or let the kernel's decompressor run.
    public var linuxDecompressOnHost = true
    /// `--x2apic on|off`: whether CPUID.1:ECX offers x2APIC (off clears the
    /// bit, which takes effect on this host; the guest then stays in xAPIC mode).
    public var x2apic = true
    /// `--cpus N`: the vCPUs (1 to 8), one running at a time (docs/SMP.md).
    public var cpus = 1
    /// `--chaos SEED`: vary slices and switch choices from SEED (docs/SMP.md, "Chaos mode"); nil for the fixed policy.
    public var chaosSeed: UInt64?
    public var checkpointInterval: UInt64 = RecordOptions.defaultCheckpointInterval
    public var guestArguments: [String] = []
    /// Console output file; nil means stdout.
    public var consolePath: String?
    /// Console input file; nil means stdin (polled, never blocking).
    public var inputPath: String?
    public var maxExits: UInt64?
    /// `--max-time`: stop cleanly after this many seconds of wall time.
    public var maxTime: Double?
    /// `--preempt-ms`: a KVM_RUN that uses this many milliseconds of the
    /// vCPU thread's CPU time without an exit is preempted (docs/SMP.md); 0: never.
    public var preemptMilliseconds: UInt64 = Preemption.defaultMilliseconds
    /// `--boot`: the boot protocol, or `auto` to choose from the image.
    public var boot: BootSelection = .auto
    /// `--module FILE[,ARGS]` (multiboot only), in order.
    public var modules: [String] = []
    /// `--initrd FILE` (Linux only).
    public var initrd: String?
    /// The vmrr command line, for the header.
    public var commandLine: String = ""

    public static let defaultCheckpointInterval: UInt64 = 2000

    public init(imagePath: String, journalPath: String) {
        self.imagePath = imagePath
        self.journalPath = journalPath
    }
}

public struct RecordResult: Sendable {
    public var end: RunEnd
    public var events: UInt64
    public var exits: UInt64
    public var checkpoints: UInt32
    public var journalBytes: UInt64
    public var checkpointBytes: UInt64
    public var wallNanoseconds: UInt64
    /// The run loop alone (from the first KVM_RUN to the end), without the
    /// boot and final checkpoints: what `vmrr bench` compares with a C VMM.
    public var loopNanoseconds: UInt64 = 0
    /// The vCPU thread's CPU time in the run loop (`threadCPUNanoseconds`).
    public var loopCPUNanoseconds: UInt64 = 0
    /// `preempt` records journaled (`--preempt-ms`).
    public var preemptions: UInt64 = 0
    /// Switches that left the leaving vCPU's plain IN pending in KVM (docs/SMP.md, "A switch makes no system call").
    public var deferredReads: UInt64 = 0
    /// The boot protocol the guest was started with.
    public var bootProtocol: BootProtocol = .vmrr
    /// More lines for the report: after a KVM error exit, the guest's registers.
    public var details: [String] = []
}

public enum RecordSession {
    /// Boots the image on KVM and records it until it ends.
    /// With `journaling: false` the same executor runs with a `NullSink`:
    /// no journal file, no checkpoints (the benchmark's baseline).
    /// `progress` is called on the recording thread a few times per second.
    public static func record(_ o: RecordOptions, input: ConsoleInput? = nil, output: ConsoleOutput? = nil,
                              journaling: Bool = true, progress: ((RecordProgress) -> Void)? = nil) throws -> RecordResult {
        if journaling { try Self.checkOutputIsNotAnInput(o) }
        let recordedAt = try Self.recordedAt(clock: o.clock, sourceDateEpoch: Self.environment(Self.sourceDateEpochVariable),
                                             now: UInt64(max(0, time(nil))))
        let (boot, plan) = try Self.bootPlan(o)
        let image = boot.image
        let cmdline = boot.guestCommandLine(arguments: o.guestArguments)
        let (machine, cpuid) = try Self.machine(o, boot: boot)
        do { try machine.load(plan) } catch { throw VMRRError("boot state for image \(o.imagePath): \(error)") }

        var header = Self.header(o, boot: boot, commandLine: cmdline, machine: machine, recordedAt: recordedAt)
        header.vcpuCount = UInt32(o.cpus)
        header.chaosSeed = o.chaosSeed
        header.cpuidHidden = cpuid.hidden.map(\.line)

        // Inputs are read before the journal is created, so a refused one leaves no file behind.
        let consoleIn = try input ?? Self.consoleInput(o)
        let writer = try journaling ? Self.openJournal(o, header: header) : nil
        let journal: EventSink = writer ?? NullSink()

        let clock: GuestClock = o.clock == .virtual ? VirtualClock() : HostClock()
        let consoleOut = try output ?? Self.consoleOutput(o)
        let devices = Self.platform(o, machine: machine, clock: clock, input: consoleIn, output: consoleOut)
        let recorder = Recorder(devices: devices, journal: journal, checkpointInterval: o.checkpointInterval, maxExits: o.maxExits)
        recorder.assistEnabled = o.assist
        if o.cpus > 1 { recorder.scheduler = Scheduler(vcpus: o.cpus, chaos: o.chaosSeed.map(ChaosSchedule.init(seed:))) }
        if o.clock == .virtual { recorder.flushPolicy = .eventCount(Recorder.virtualClockFlushEvents) }
        if let progress {
            recorder.progress = { p in
                var p = p
                p.journalBytes = writer?.bytesWritten ?? 0
                progress(p)
            }
        }
        let limit = o.maxTime.map(TimeLimit.init(seconds:))
        recorder.timeLimit = limit
        let preemption = o.preemptMilliseconds > 0 ? Preemption(milliseconds: o.preemptMilliseconds) : nil
        recorder.clockAdvancesAtPreemption = o.clock == .virtual
        let symbols = image.symbols
        let started = monotonicNanoseconds()
        let end: RunEnd
        var details: [String] = []
        var loopStarted: UInt64 = 0, loopNanoseconds: UInt64 = 0, loopCPUNanoseconds: UInt64 = 0
        var deferredReads: UInt64 = 0
        do {
            let state = try machine.captureState()
            try recorder.bootCheckpoint(machine: machine, state: state)
            let runner = Runner(machine: machine, regs: plan.regs)
            runner.symbolize = symbols.label
            runner.preemption = preemption
            clock.begin()
            loopStarted = monotonicNanoseconds()
            let cpuStarted = threadCPUNanoseconds()
            // Events reach the disk on a timer from here on, whatever the guest does.
            writer?.start()
            end = try Self.runLoop(runner, recorder, limit: limit, preemption: preemption)
            loopNanoseconds = monotonicNanoseconds() - loopStarted
            loopCPUNanoseconds = threadCPUNanoseconds() - cpuStarted
            deferredReads = runner.deferredReads
            writer?.stop()
            if end.reason == .error, let failure = recorder.failure {
                let sregs = try machine.vcpu.getSpecialRegisters()
                details = ["guest registers at the failing instruction:"]
                    + EmulationFailureReport.registerLines(regs: failure.regs, sregs: sregs).map { "  " + $0 }
            }
            try recorder.finalize(machine: machine, end: end)
        } catch {
            consoleOut.flush()
            try? journal.finish()
            throw VMRRError("recording \(o.imagePath): \(error)")
        }
        return RecordResult(end: end, events: journal.eventCount, exits: recorder.exits,
                            checkpoints: recorder.checkpointsTaken, journalBytes: writer?.bytesWritten ?? 0,
                            checkpointBytes: writer?.checkpointBytes ?? 0,
                            wallNanoseconds: monotonicNanoseconds() - started, loopNanoseconds: loopNanoseconds,
                            loopCPUNanoseconds: loopCPUNanoseconds, preemptions: recorder.preemptions,
                            deferredReads: deferredReads, bootProtocol: boot.bootProtocol, details: details)
    }

    /// The run loop, under the `--max-time` watcher and the `--preempt-ms` one when they are on.
    static func runLoop(_ runner: Runner, _ recorder: Recorder, limit: TimeLimit?, preemption: Preemption?) throws -> RunEnd {
        let preempting = { try preemption.map { p in try p.run { try runner.run(recorder) } } ?? runner.run(recorder) }
        return try limit.map { try $0.run(preempting) } ?? preempting()
    }

    /// The devices the guest sees: N local APICs, the RTC's epoch, x2APIC as CPUID offers it.
    static func platform(_ o: RecordOptions, machine: Machine, clock: GuestClock,
                         input: ConsoleInput, output: ConsoleOutput) -> PCPlatform {
        // The RTC shows the host's time when recording starts, or a fixed epoch with the virtual clock.
        let rtcEpoch = o.clock == .virtual ? Layout.virtualClockEpoch : UInt64(max(0, time(nil)))
        var pc = PCDeviceConfig(memorySize: o.memorySize, commandLine: o.guestArguments.joined(separator: " "), rtcEpoch: rtcEpoch)
        pc.vcpuCount = UInt16(o.cpus)
        // x2APIC mode can be entered only when the CPUID the guest sees offers it.
        pc.x2apicAvailable = machine.cpuidEffective.contains { $0.function == 1 && $0.ecx & CPUIDBits.x2apic != 0 }
        return PCPlatform(clock: clock, input: input, output: output, strict: o.strict, pc: pc)
    }

    /// The VM, with the CPUID table vmrr builds for `boot` (and what it hides).
    static func machine(_ o: RecordOptions, boot: BootImage) throws -> (Machine, GuestCPUID.Table) {
        do {
            let cpuid = try cpuidTable(for: boot.bootProtocol, x2apic: o.x2apic, processors: o.cpus)
            return (try Machine(memorySize: o.memorySize, cpuid: cpuid.entries, vcpuCount: o.cpus), cpuid)
        } catch {
            throw VMRRError("creating the VM: \(error)")
        }
    }

    /// The journal file, locked and with its header, published on a timer once started.
    static func openJournal(_ o: RecordOptions, header: JournalHeader) throws -> PublishedJournal {
        do { return PublishedJournal(try JournalWriter(path: o.journalPath, header: header)) } catch { throw VMRRError("\(error)") }
    }

    /// Refuses a journal path that names one of the recording's inputs or
    /// its console file (the same file by device and inode, so another
    /// spelling or a link is caught too): recording would replace it.
    public static func checkOutputIsNotAnInput(_ o: RecordOptions) throws {
        var out = stat()
        let outExists = stat(o.journalPath, &out) == 0
        let outName = outExists ? "" : Self.canonicalName(o.journalPath)
        var named: [(String, String)] = [("the guest image", o.imagePath)]
        named += o.modules.map { ("a --module", MultibootModule.parseSpec($0).path) }
        if let p = o.initrd { named.append(("the --initrd", p)) }
        if let p = o.inputPath { named.append(("the --input file", p)) }
        if let p = o.consolePath { named.append(("the --console file", p)) }
        for (what, path) in named {
            var st = stat()
            let same = outExists ? stat(path, &st) == 0 && st.st_dev == out.st_dev && st.st_ino == out.st_ino
                                 : Self.canonicalName(path) == outName
            if same {
                throw VMRRError("\(o.journalPath): the journal would overwrite \(what) (\(path)); choose another -o")
            }
        }
    }

    /// A path that may not exist yet, made absolute with its directory's
    /// links resolved (`realpath` of the directory, then the last name).
    static func canonicalName(_ path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard let resolved = realpath(dir, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved) + "/" + name
    }

    /// Loads and checks the image, its modules or initrd, and plans its boot.
    static func bootPlan(_ o: RecordOptions) throws -> (BootImage, BootPlan) {
        let boot: BootImage
        do { boot = try BootImage.load(path: o.imagePath, selection: o.boot, linuxDecompressOnHost: o.linuxDecompressOnHost) } catch { throw VMRRError("\(error)") }
        switch boot {
        case .vmrr(let g): do { try g.validate(memorySize: o.memorySize) } catch { throw VMRRError("\(error)") }
        case .multiboot(let m): do { try m.validate(memorySize: o.memorySize) } catch { throw VMRRError("\(error)") }
        case .linux(let l): do { try l.validate(memorySize: o.memorySize) } catch { throw VMRRError("\(error)") }
        }
        let modules: [MultibootModule]
        do { modules = try o.modules.map(MultibootModule.load(spec:)) } catch { throw VMRRError("boot plan for \(o.imagePath): \(error)") }
        let initrd: LinuxInitrd?
        do { initrd = try o.initrd.map(LinuxInitrd.load(path:)) } catch { throw VMRRError("boot plan for \(o.imagePath): \(error)") }
        let plan: BootPlan
        do { plan = try boot.plan(memorySize: o.memorySize, arguments: o.guestArguments, modules: modules, initrd: initrd, acpi: acpiPlatform(cpus: o.cpus)) } catch {
            throw VMRRError("boot plan for \(o.imagePath): \(error)")
        }
        return (boot, plan)
    }

    /// What the ACPI tables of multiboot and Linux guests describe: every
    /// device of the PC platform `PCPlatform` models (I/O APIC, HPET, ACPI
    /// PM block and timer, PCI host bridge).
    static func acpiPlatform(cpus: Int) -> ACPIPlatform {
        var p = ACPIPlatform.pc
        p.cpus = UInt8(cpus)
        return p
    }

    /// The journal header of a recording of `boot` on `machine`.
    static func header(_ o: RecordOptions, boot: BootImage, commandLine cmdline: String, machine: Machine,
                       recordedAt: UInt64) -> JournalHeader {
        let image = boot.image
        var header = JournalHeader()
        header.imageSHA256 = image.sha256
        header.imagePath = HostFacts.absolutePath(o.imagePath)
        header.memorySize = o.memorySize
        header.clock = o.clock
        header.bootProtocol = boot.bootProtocol
        if case .linux(let l) = boot { header.linuxPayloadOnHost = l.decompressedOnHost }
        header.strict = o.strict
        header.checkpointInterval = UInt32(clamping: o.checkpointInterval)
        header.guestCommandLine = cmdline
        header.cpuidSet = machine.cpuidSet
        header.cpuidEffective = machine.cpuidEffective
        header.hostKernel = HostFacts.kernel()
        header.hostCPU = HostFacts.cpuModel()
        let mmu = HostFacts.mmuModel()
        header.hostMMU = mmu.model
        header.hostMMUDetail = mmu.detail
        header.recordedAt = recordedAt
        header.commandLine = o.commandLine
        header.vmrrVersion = VMRRVersion.string
        return header
    }

    /// The environment variable reproducible-build tools set to the time a
    /// build (here, a recording) should claim.
    public static let sourceDateEpochVariable = "SOURCE_DATE_EPOCH"

    /// The header's recording time, in seconds since the Unix epoch:
    /// `SOURCE_DATE_EPOCH` when set (a decimal number of seconds, as
    /// reproducible-build tools set it), else 0 (the field is omitted) under
    /// `--clock virtual`, whose journals hold no wall-clock time, else `now`.
    public static func recordedAt(clock: ClockSource, sourceDateEpoch: String?, now: UInt64) throws -> UInt64 {
        if let text = sourceDateEpoch {
            guard let seconds = UInt64(text) else {
                throw VMRRError("\(sourceDateEpochVariable)=\(text): expected a whole number of seconds since the Unix epoch")
            }
            return seconds
        }
        return clock == .virtual ? 0 : now
    }

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Console input: the `--input` file, else standard input (polled, never blocking).
    static func consoleInput(_ o: RecordOptions) throws -> ConsoleInput {
        guard let p = o.inputPath else { return DescriptorInput(fd: STDIN_FILENO) }
        let bytes: [UInt8]
        do { bytes = try FileIO.read(p, regularOnly: false, maxBytes: Self.maxConsoleInput) } catch {
            let why = error.errno == Errno(EFBIG) ? "longer than \(Self.maxConsoleInput >> 20) MiB (a device that never ends?)" : "\(error.errno)"
            throw VMRRError("\(p): cannot read console input file: \(why)")
        }
        return BufferedInput(bytes: bytes)
    }

    /// The most console input read from `--input` (it is read whole before the run).
    public static let maxConsoleInput = 64 << 20

    /// Console output: the `--console` file, else standard output.
    static func consoleOutput(_ o: RecordOptions) throws -> ConsoleOutput {
        guard let p = o.consolePath else { return DescriptorOutput(fd: STDOUT_FILENO) }
        // O_NONBLOCK: a FIFO without a reader is refused (ENXIO) instead of blocking open(2).
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0o644)
        guard fd >= 0 else { throw VMRRError("\(p): cannot open console file: \(String(cString: strerror(errno)))") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return DescriptorOutput(fd: fd, ownsDescriptor: true, name: p)
    }

    /// The CPUID table to give the guest: KVM's supported set, normalized
    /// and with vmrr's feature rules (`GuestCPUID.table`), for every boot protocol.
    static func cpuidTable(for boot: BootProtocol, x2apic: Bool, processors: Int = 1) throws -> GuestCPUID.Table {
        GuestCPUID.build(supported: try KVMSystem().supportedCPUID(), boot: boot, x2apic: x2apic, processors: UInt32(processors))
    }
}
