import ArgumentParser
import Glibc
import VMRRBase
import VMRRJournal
import VMRRMachine
import VMRRReplay

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-execute a journal on KVM and prove it matches, exit by exit.",
        discussion: """
            Every exit is answered from the journal and checked against it: kind, \
            port or address, size, direction, value written, and all general \
            registers. Exit status: the recorded guest's status when the whole \
            journal replayed identically (0 after --until), 3 at the first \
            divergence, 2 when the journal or image cannot be used.
            """)

    @Argument(help: "The journal file, or a bundle (.vmrrpack).")
    var journal: String

    @Option(help: "Replay against this build of the guest instead of the recorded image.")
    var image: String?

    @Option(help: "Stop after this event index.")
    var until: UInt64?

    @Option(help: "Start from this checkpoint (restoring its vCPU state and memory).")
    var fromCheckpoint: UInt32?

    @Option(help: "Start from the nearest checkpoint at or before this event.")
    var fromEvent: UInt64?

    @Flag(help: "Also check the final memory digest against the journal's.")
    var verify = false

    @Flag(name: .shortAndLong, help: "Do not reproduce the console output; only report.")
    var quiet = false

    func validate() throws {
        if fromCheckpoint != nil && fromEvent != nil {
            throw ValidationError("give --from-checkpoint or --from-event, not both")
        }
    }

    func run() throws {
        let opened = openJournal(journal)
        let reader = opened.reader
        if let note = reader.truncationNote { warn("vmrr: \(journal): \(note)") }
        var o = ReplayOptions()
        o.imageOverride = image
        o.bundledImage = opened.bundledImage
        o.until = until
        o.fromCheckpoint = fromCheckpoint
        o.fromEvent = fromEvent
        o.verify = verify
        let session: ReplaySession
        do { session = try ReplaySession(reader: reader, options: o) } catch { fail("\(error)") }
        for w in session.warnings { warn("vmrr: warning: \(w)") }
        let console = quiet ? nil : StdoutBuffer()
        let result: ReplayResult
        do { result = try session.run(console: console.map { c in { c.byte($0) } }) } catch { fail("\(error)") }
        console?.flush()
        if let d = result.divergence {
            warn(d.render(journalName: journal))
            // A TSC read on the way to the divergence explains it (this host cannot trap RDTSC).
            if let finding = try? TSCCheck.find(reader: reader, options: o, divergence: d),
               let note = TSCCheck.note(finding, symbolize: session.configuration.symbolize) {
                warn("vmrr: \(journal): note: \(note)")
            }
            Glibc.exit(ExitStatus.divergence)
        }
        let end = result.end
        let ms = Double(result.wallNanoseconds) / 1e6
        let last = result.lastEvent.map { "\($0)" } ?? "none"
        var line = "vmrr: replayed events \(result.startEvent)–\(last) of \(reader.eventCount) identically in \(format1(ms)) ms"
        if verify { line += result.verifiedDigest ? "; final memory digest matches" : "; no memory digest to verify" }
        warn(line)
        switch end.reason {
        case .limit:
            if let m = end.message { warn("vmrr: \(m)") }
            Glibc.exit(EXIT_SUCCESS)
        default:
            warn("vmrr: recorded guest ended: \(end.reason.name), status \(end.status)")
            Glibc.exit(end.status)
        }
    }
}
