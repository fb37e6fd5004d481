import ArgumentParser
import Glibc
import VMRRGuest
import VMRRJournal
import VMRRMachine

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Boot a guest ELF image on KVM and record a journal.",
        discussion: """
            The guest follows the vmrr guest protocol (docs/GUEST.md). vmrr exits \
            with the guest's status: the value written to the debug-exit port, 0 \
            after a final HLT, 130 after a triple fault, 131 when KVM cannot run \
            the guest, 132 when --strict stopped an access, 133 when interrupted.
            """)

    @Argument(help: "The guest image (ELF64 x86-64 executable).")
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

    @Option(help: "Events between checkpoints.")
    var checkpointEvery: UInt64 = RecordOptions.defaultCheckpointInterval

    @Option(help: "Console output file (default: stdout).")
    var console: String?

    @Option(help: "Console input file (default: stdin).")
    var input: String?

    @Option(help: "Stop cleanly after this many exits.")
    var maxExits: UInt64?

    @Flag(name: .shortAndLong, help: "Print nothing but the guest's console output.")
    var quiet = false

    func validate() throws {
        guard clock == "host" || clock == "virtual" else {
            throw ValidationError("--clock must be 'host' or 'virtual', not '\(clock)'")
        }
        guard checkpointEvery > 0 else { throw ValidationError("--checkpoint-every must be at least 1") }
        do { _ = try parseMemorySize(memory) } catch { throw ValidationError("--memory: \(error)") }
    }

    func run() throws {
        var o = RecordOptions(imagePath: image, journalPath: output ?? Record.defaultJournalPath(image))
        do { o.memorySize = try parseMemorySize(memory) } catch { fail("--memory: \(error)") }
        o.clock = clock == "virtual" ? .virtual : .host
        o.strict = strict
        o.checkpointInterval = checkpointEvery
        o.guestArguments = guestArguments
        o.consolePath = console
        o.inputPath = input
        o.maxExits = maxExits
        o.commandLine = CommandLine.arguments.joined(separator: " ")
        installStopHandlers()
        let result: RecordResult
        do { result = try RecordSession.record(o) } catch { fail("\(error)") }
        if !quiet {
            let ms = Double(result.wallNanoseconds) / 1e6
            let end = result.end
            var how = "\(end.reason.name), status \(end.status)"
            if let m = end.message { how += ": \(m)" }
            warn("vmrr: guest ended (\(how))")
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

/// SIGINT and SIGTERM stop a recording cleanly: KVM_RUN returns EINTR, the
/// recorder writes its final checkpoint and the `end` event.
func installStopHandlers() {
    signal(SIGINT) { _ in Recorder.stopRequested = 1 }
    signal(SIGTERM) { _ in Recorder.stopRequested = 1 }
}
