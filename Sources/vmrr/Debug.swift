import ArgumentParser
import Glibc
import VMRRDebugger
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRReplay

struct Debug: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Debug a journal: step forward and backward by event and by instruction (gdb-like REPL).",
        discussion: """
            With /dev/kvm the journal is replayed on KVM and every position can be reached \
            exactly, forward or backward. Without it (or with --no-kvm) the journal is read \
            alone: registers at every event, memory and MMU views at checkpoints. \
            Type 'help' at the prompt. See docs/DEBUGGER.md.
            """)

    @Argument(help: "The journal file, or a bundle (.vmrrpack).")
    var journal: String

    @Option(name: .customShort("x"), help: "Run the commands in FILE first.")
    var commandFile: String?

    @Flag(help: "Exit when the commands run out (do not read more from the terminal).")
    var batch = false

    @Flag(help: "Do not use KVM: read the journal only.")
    var noKVM = false

    @Option(help: "Replay against this build of the guest (as vmrr replay --image).")
    var image: String?

    @Option(help: ArgumentHelp("Serve gdb's remote protocol instead of the REPL: PORT or HOST:PORT (TCP; port 0 picks one), or - for standard input and output (gdb: target remote | vmrr debug JOURNAL --gdb -).", valueName: "ENDPOINT"))
    var gdb: String?

    func validate() throws {
        if let g = gdb, GDBEndpoint.parse(g) == nil {
            throw ValidationError("--gdb must be PORT, HOST:PORT or -, not '\(g)'")
        }
        if gdb != nil && (commandFile != nil || batch) {
            throw ValidationError("--gdb serves gdb; -x and --batch are for the REPL")
        }
    }

    func run() throws {
        let opened = openJournal(journal)
        let reader = opened.reader
        // Symbols: from --image, the bundle, or the recorded path (ReplayImage,
        // as the replay chooses it). Only a bad --image is an error here.
        let guest: GuestImage?
        if image != nil {
            do { guest = try ReplayImage.choose(header: reader.header, override: image, bundled: nil)?.image } catch { fail("\(error)") }
        } else {
            guest = (try? ReplayImage.choose(header: reader.header, override: nil, bundled: opened.bundledImage, journalPath: journal))??.image
        }
        var o = ReplayOptions()
        o.imageOverride = image
        o.bundledImage = opened.bundledImage
        let target: DebugTarget
        do { target = try DebugTargets.open(reader: reader, options: o, useKVM: !noKVM) } catch { fail("\(error)") }
        if let g = gdb, let endpoint = GDBEndpoint.parse(g) {
            Glibc.exit(runGDBServer(target: target, symbols: guest?.symbols, image: guest, endpoint: endpoint))
        }
        let status = runDebugger(target: target, symbols: guest?.symbols, image: guest,
                                 commandFile: commandFile, batch: batch)
        Glibc.exit(status)
    }
}
