import Glibc
import VMRRGuest
import VMRRJournal
import VMRRReplay

/// vmrr's version, written into every journal header.
public enum VMRRVersion {
    public static let string = "0.1.0"
}

public struct RecordOptions: Sendable {
    public var imagePath: String
    public var journalPath: String
    public var memorySize: UInt64 = Layout.defaultMemorySize
    public var clock: ClockSource = .host
    public var strict = false
    public var checkpointInterval: UInt64 = RecordOptions.defaultCheckpointInterval
    public var guestArguments: [String] = []
    /// Console output file; nil means stdout.
    public var consolePath: String?
    /// Console input file; nil means stdin (polled, never blocking).
    public var inputPath: String?
    public var maxExits: UInt64?
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
}

/// A failure with a message ready for the user (one line).
public struct VMRRError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum RecordSession {
    /// Boots the image on KVM and records it until it ends.
    /// With `journaling: false` the same executor runs with a `NullSink`:
    /// no journal file, no checkpoints (the benchmark's baseline).
    public static func record(_ o: RecordOptions, input: ConsoleInput? = nil, output: ConsoleOutput? = nil,
                              journaling: Bool = true) throws -> RecordResult {
        let image: GuestImage
        do { image = try GuestImage.load(path: o.imagePath) } catch { throw VMRRError("\(error)") }
        do { try image.validate(memorySize: o.memorySize) } catch { throw VMRRError("\(error)") }
        let cmdline = o.guestArguments.joined(separator: " ")
        let plan: BootPlan
        do { plan = try BootPlan.make(image: image, memorySize: o.memorySize, commandLine: cmdline) } catch {
            throw VMRRError("boot plan for \(o.imagePath): \(error)")
        }
        let machine: Machine
        do { machine = try Machine(memorySize: o.memorySize) } catch { throw VMRRError("creating the VM: \(error)") }
        do { try machine.load(plan) } catch { throw VMRRError("boot state for image \(o.imagePath): \(error)") }

        var header = JournalHeader()
        header.imageSHA256 = image.sha256
        header.imagePath = HostFacts.absolutePath(o.imagePath)
        header.memorySize = o.memorySize
        header.clock = o.clock
        header.bootProtocol = .vmrr
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
        header.recordedAt = UInt64(time(nil))
        header.commandLine = o.commandLine
        header.vmrrVersion = VMRRVersion.string

        let journal: EventSink
        var writer: JournalWriter?
        if journaling {
            do { writer = try JournalWriter(path: o.journalPath, header: header) } catch { throw VMRRError("\(error)") }
            journal = writer!
        } else {
            journal = NullSink()
        }

        let clock: GuestClock = o.clock == .virtual ? VirtualClock() : HostClock()
        let consoleIn: ConsoleInput
        if let input { consoleIn = input } else if let p = o.inputPath {
            guard let bytes = HostFacts.readFile(p) else { throw VMRRError("\(p): cannot read console input file: \(String(cString: strerror(errno)))") }
            consoleIn = BufferedInput(bytes: bytes)
        } else {
            consoleIn = DescriptorInput(fd: STDIN_FILENO)
        }
        let consoleOut: ConsoleOutput
        if let output { consoleOut = output } else if let p = o.consolePath {
            let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw VMRRError("\(p): cannot open console file: \(String(cString: strerror(errno)))") }
            consoleOut = DescriptorOutput(fd: fd, ownsDescriptor: true)
        } else {
            consoleOut = DescriptorOutput(fd: STDOUT_FILENO)
        }
        let devices = DeviceModel(clock: clock, input: consoleIn, output: consoleOut, strict: o.strict)
        let recorder = Recorder(devices: devices, journal: journal, checkpointInterval: o.checkpointInterval, maxExits: o.maxExits)
        let started = HostClock.monotonicNanoseconds()
        let end: RunEnd
        do {
            let state = try machine.captureState()
            try recorder.bootCheckpoint(machine: machine, state: state)
            let runner = Runner(machine: machine, regs: plan.regs)
            clock.begin()
            end = try runner.run(recorder)
            try recorder.finalize(machine: machine, end: end)
        } catch {
            consoleOut.flush()
            try? journal.finish()
            throw VMRRError("recording \(o.imagePath): \(error)")
        }
        return RecordResult(end: end, events: journal.eventCount, exits: recorder.exits,
                            checkpoints: recorder.checkpointsTaken, journalBytes: writer?.bytesWritten ?? 0,
                            checkpointBytes: writer?.checkpointBytes ?? 0,
                            wallNanoseconds: HostClock.monotonicNanoseconds() - started)
    }
}

/// Facts about the recording host, for the journal header.
public enum HostFacts {
    public static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return out
    }

    static func readText(_ path: String) -> String? {
        readFile(path).map { String(decoding: $0, as: UTF8.self).trimmingTrailingWhitespace() }
    }

    public static func absolutePath(_ p: String) -> String {
        if p.hasPrefix("/") { return p }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buf, buf.count) != nil else { return p }
        let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd + "/" + p
    }

    public static func kernel() -> String {
        var u = utsname()
        uname(&u)
        func field<T>(_ t: T) -> String {
            withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(field(u.sysname)) \(field(u.release)) \(field(u.version)) \(field(u.machine))"
    }

    public static func cpuModel() -> String {
        guard let info = readText("/proc/cpuinfo") else { return "unknown" }
        for line in info.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return String(line[line.index(after: colon)...]).trimmingLeadingWhitespace()
            }
        }
        return "unknown"
    }

    /// How the host's KVM virtualizes the guest MMU, from the kvm modules' parameters.
    public static func mmuModel() -> (model: HostMMUModel, detail: String) {
        let sys = "/sys/module"
        var notes: [String] = []
        if let tdp = readText("\(sys)/kvm/parameters/tdp_mmu") { notes.append("kvm.tdp_mmu=\(tdp)") }
        if access("\(sys)/kvm_pvm", F_OK) == 0 {
            notes.insert("kvm_pvm loaded", at: 0)
            return (.paravirtual, notes.joined(separator: ", "))
        }
        if let ept = readText("\(sys)/kvm_intel/parameters/ept") {
            notes.insert("kvm_intel.ept=\(ept)", at: 0)
            return (ept == "Y" ? .ept : .shadow, notes.joined(separator: ", "))
        }
        if let npt = readText("\(sys)/kvm_amd/parameters/npt") {
            notes.insert("kvm_amd.npt=\(npt)", at: 0)
            return (npt == "1" || npt == "Y" ? .npt : .shadow, notes.joined(separator: ", "))
        }
        return (.unknown, notes.isEmpty ? "no kvm vendor module parameters found" : notes.joined(separator: ", "))
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace { s = s.dropLast() }
        return String(s)
    }
    func trimmingLeadingWhitespace() -> String {
        String(drop { $0.isWhitespace })
    }
}
