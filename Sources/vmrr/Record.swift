import VMRRBase
import ArgumentParser
import Glibc
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRMachine

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Boot a guest ELF image on KVM and record a journal.",
        discussion: """
            The guest boots with the vmrr guest protocol, multiboot v1 or \
            the Linux x86 boot protocol (docs/GUEST.md; --boot auto chooses \
            from the image). vmrr exits \
            with the guest's status: the value written to the debug-exit port \
            0x501, ((V << 1) | 1) & 0xff for V written to isa-debug-exit (0xf4), \
            0 after a final HLT or a --max-exits/--max-time stop, 130 after a \
            triple fault, 131 when KVM cannot run the guest (an emulation \
            failure is reported with the instruction and the registers), 132 \
            when --strict stopped an access, 133 when interrupted, 134 when the \
            guest reset the machine.
            """)

    @Argument(help: "The guest image (vmrr protocol: ELF64 x86-64; multiboot: ELF32, ELF64 or flat with address fields; Linux: a bzImage or a vmlinux).")
    var image: String

    @Argument(parsing: .postTerminator, help: "Arguments passed to the guest as its command line (after --).")
    var guestArguments: [String] = []

    @Option(name: [.short, .customLong("output")], help: "Journal file to write (default: IMAGE-NAME.vmrr).")
    var output: String?

    @Option(help: "Guest RAM size, e.g. 64M, 256M, 1G.")
    var memory: String = "64M"

    @Option(help: "Paravirtual clock source: host (monotonic) or virtual (deterministic).")
    var clock: String = "host"

    @Flag(help: "Stop at the first access to an unknown port or unbacked address.")
    var strict = false

    @Flag(help: "Emulate int3 (inject #BP), fwait, clac and stac when KVM cannot; each assist is journaled.")
    var assist = false

    @Option(help: "Events between checkpoints.")
    var checkpointEvery: UInt64 = RecordOptions.defaultCheckpointInterval

    @Option(help: "Console output file (default: stdout).")
    var console: String?

    @Option(help: "Console input file (default: stdin).")
    var input: String?

    @Option(help: "Stop cleanly after this many exits.")
    var maxExits: UInt64?

    @Option(help: "Stop cleanly after this many seconds (a vCPU that makes no exit is stopped by a signal).")
    var maxTime: Double?

    @Option(help: ArgumentHelp("Preempt a vCPU whose KVM_RUN has used this many milliseconds of CPU time without an exit (a timer signal stops it; the stop is journaled as a preempt event and replay reaches it with a hardware breakpoint, docs/SMP.md); 0 turns preemption off.", valueName: "MS"))
    var preemptMs: UInt64 = Preemption.defaultMilliseconds

    @Option(help: "Boot protocol: auto (linux for a bzImage or a vmlinux, multiboot when the image has a multiboot header), vmrr, multiboot or linux.")
    var boot: String = "auto"

    @Option(name: .customLong("module"), help: ArgumentHelp("A multiboot module: FILE, or FILE,ARGS (repeatable; the module's string is 'FILE ARGS').", valueName: "FILE[,ARGS]"))
    var modules: [String] = []

    @Option(help: ArgumentHelp("An initial RAM disk for a Linux kernel.", valueName: "FILE"))
    var initrd: String?

    @Option(help: "Where a 64-bit bzImage's LZ4 payload is decompressed: host (vmrr loads the vmlinux inside and enters startup_64) or guest (the kernel's own decompressor runs, through this host's slow ring-0 emulation).")
    var linuxDecompress: String = "host"

    @Option(help: "Whether CPUID offers x2APIC to the guest: on, or off (CPUID.1:ECX.x2APIC cleared; the guest stays in xAPIC mode).")
    var x2apic: String = "on"

    @Option(help: "vCPUs, 1 to 8: every one is created, exactly one runs at a time, and every switch is journaled (docs/SMP.md).")
    var cpus: Int = 1

    @Option(help: ArgumentHelp("Chaos mode, as rr's: vary slice lengths and which vCPU runs next from this seed, so races show up across recordings (needs --cpus 2 or more; every recording replays without the seed; docs/SMP.md).", valueName: "SEED"))
    var chaos: UInt64?

    @Flag(name: .shortAndLong, help: "Print nothing but the guest's console output.")
    var quiet = false

    func validate() throws {
        guard clock == "host" || clock == "virtual" else {
            throw ValidationError("--clock must be 'host' or 'virtual', not '\(clock)'")
        }
        guard checkpointEvery > 0 else { throw ValidationError("--checkpoint-every must be at least 1") }
        do { _ = try parseMemorySize(memory) } catch { throw ValidationError("--memory: \(error)") }
        guard linuxDecompress == "host" || linuxDecompress == "guest" else {
            throw ValidationError("--linux-decompress must be 'host' or 'guest', not '\(linuxDecompress)'")
        }
        guard x2apic == "on" || x2apic == "off" else {
            throw ValidationError("--x2apic must be 'on' or 'off', not '\(x2apic)'")
        }
        guard cpus >= 1, cpus <= Int(JournalFormat.maxVCPUs) else {
            throw ValidationError("--cpus must be 1 to \(JournalFormat.maxVCPUs), not \(cpus)")
        }
        guard chaos == nil || cpus > 1 else {
            throw ValidationError("--chaos varies the schedule of several vCPUs: it needs --cpus 2 or more")
        }
        guard BootSelection(rawValue: boot) != nil else {
            throw ValidationError("--boot must be 'auto', 'vmrr', 'multiboot' or 'linux', not '\(boot)'")
        }
        guard preemptMs <= Preemption.maximumMilliseconds else {
            throw ValidationError("--preempt-ms must be 0 (off) to \(Preemption.maximumMilliseconds), not \(preemptMs)")
        }
        if let maxTime {
            guard maxTime > 0, maxTime.isFinite else { throw ValidationError("--max-time must be a positive number of seconds") }
            guard maxTime <= TimeLimit.maximumSeconds else {
                throw ValidationError("--max-time \(maxTime) is longer than vmrr can count (at most \(Int(TimeLimit.maximumSeconds)) s)")
            }
        }
    }

    func run() throws {
        var o = RecordOptions(imagePath: image, journalPath: output ?? Record.defaultJournalPath(image))
        do { o.memorySize = try parseMemorySize(memory) } catch { fail("--memory: \(error)") }
        o.clock = clock == "virtual" ? .virtual : .host
        o.strict = strict
        o.assist = assist
        o.linuxDecompressOnHost = linuxDecompress == "host"
        o.x2apic = x2apic == "on"
        o.cpus = cpus
        o.chaosSeed = chaos
        o.checkpointInterval = checkpointEvery
        o.guestArguments = guestArguments
        o.consolePath = console
        o.inputPath = input
        o.maxExits = maxExits
        o.maxTime = maxTime
        o.preemptMilliseconds = preemptMs
        o.boot = BootSelection(rawValue: boot) ?? .auto
        o.modules = modules
        o.initrd = initrd
        o.commandLine = CommandLine.arguments.joined(separator: " ")
        installStopHandlers()
        let result: RecordResult
        let line = !quiet && isatty(STDERR_FILENO) == 1 ? ProgressLine() : nil
        // With the progress line on the terminal, console lines clear it first.
        let console: ConsoleOutput? = line != nil && console == nil ? ProgressConsole(line: line!) : nil
        do {
            result = try RecordSession.record(o, output: console, progress: line.map { l in { l.show($0) } })
        } catch {
            line?.clear()
            fail("\(error)")
        }
        console?.flush()
        line?.clear()
        if !quiet {
            let ms = Double(result.wallNanoseconds) / 1e6
            let end = result.end
            var how = "\(end.reason.name), status \(end.status)"
            if let m = end.message { how += ": \(m)" }
            warn("vmrr: guest ended (\(how))")
            for d in result.details { warn("vmrr: \(d)") }
            if result.preemptions > 0 { warn("vmrr: \(result.preemptions) preemptions (--preempt-ms \(preemptMs))") }
            warn("vmrr: recorded \(result.events) events (\(result.exits) exits, \(result.checkpoints) checkpoints) in \(String(format1(ms))) ms to \(o.journalPath) (\(result.journalBytes) bytes)")
            warn("vmrr: look at it with: vmrr dump \(o.journalPath)")
        }
        Glibc.exit(result.end.status)
    }

    static func defaultJournalPath(_ image: String) -> String {
        var name = image.split(separator: "/").last.map(String.init) ?? image
        if name.hasSuffix(".elf") { name.removeLast(4) }
        return name + ".vmrr"
    }
}

func format1(_ v: Double) -> String {
    let scaled = (v * 10).rounded() / 10
    return "\(scaled)"
}

/// SIGINT, SIGTERM, SIGQUIT, SIGHUP (the terminal went away) and SIGPIPE (stdout's
/// reader went away: `vmrr record ... | grep -m1 hello`) stop a recording
/// cleanly: KVM_RUN returns EINTR (the journal's publishing thread kicks the
/// vCPU thread when the signal landed elsewhere), the recorder writes its
/// final checkpoint and the `end` event, and the exit status is 133. After
/// SIGPIPE, console writes fail with EPIPE and are dropped. SIGXFSZ (a file
/// size limit, `ulimit -f`) is ignored, so a write past it fails with EFBIG
/// and the recording ends with a one-line error instead of dying silently.
/// SIGQUIT is handled too because a shell starts background jobs with it
/// ignored (and it would otherwise dump core, losing the end record).
func installStopHandlers() {
    for sig in [SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGPIPE] {
        signal(sig) { _ in Recorder.stopRequested = 1 }
    }
    signal(SIGXFSZ, SIG_IGN)
}

/// The progress line on a terminal: exits, events, journal size and time,
/// redrawn in place on stderr at most a few times per second (the recorder
/// rate-limits the calls).
final class ProgressLine {
    private(set) var shown: String?

    func show(_ p: RecordProgress) {
        let mib = Double(p.journalBytes) / 1_048_576
        let text = "vmrr: recording: \(p.exits) exits, \(p.events) events, \(format1(mib)) MiB journal, \(format1(Double(p.elapsedNanoseconds) / 1e9)) s"
        shown = text
        writeAll(STDERR_FILENO, "\r\u{1B}[K" + text)
    }

    /// Erases the line (before other output, and at the end).
    func clear() {
        guard shown != nil else { return }
        writeAll(STDERR_FILENO, "\r\u{1B}[K")
        shown = nil
    }

    /// Erases the line but keeps it for `redraw()`.
    func erase() {
        if shown != nil { writeAll(STDERR_FILENO, "\r\u{1B}[K") }
    }

    /// Draws the last line again after other output.
    func redraw() {
        if let shown { writeAll(STDERR_FILENO, "\r\u{1B}[K" + shown) }
    }
}

/// Guest console output on stdout that keeps the progress line intact:
/// each line is written after erasing the progress line, which is then redrawn.
final class ProgressConsole: ConsoleOutput {
    let line: ProgressLine
    var buffer: [UInt8] = []
    init(line: ProgressLine) { self.line = line }
    func write(_ byte: UInt8) {
        buffer.append(byte)
        if byte == UInt8(ascii: "\n") || buffer.count >= 4096 { flush() }
    }
    func flush() {
        guard !buffer.isEmpty else { return }
        line.erase()
        try? FileIO.writeAll(fd: STDOUT_FILENO, buffer)
        buffer.removeAll(keepingCapacity: true)
        line.redraw()
    }
}
