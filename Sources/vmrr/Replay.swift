import ArgumentParser
import Glibc
import VMRRBase
import VMRRDebugger
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRReplay
import VMRRTimeline

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Re-execute a journal on KVM and prove it matches, exit by exit.",
        discussion: """
            Every exit is answered from the journal and checked against it: kind, \
            port or address, size, direction, value written, and all general \
            registers. Exit status: 0 when the journal replayed identically (the \
            recorded guest's own status is printed; --exit-with-guest-status \
            exits with it instead), 3 at the first divergence, 4 when --verify \
            finds only a memory digest that differs (every event and register \
            matched), 2 when the journal or image cannot be used (also --image \
            with another build and a start at a checkpoint other than 0: the \
            checkpoint's memory would replace that build), 130 when interrupted.
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

    @Flag(help: "Also check the memory digest at every checkpoint that has one (exit 4 when only a digest differs).")
    var verify = false

    @Flag(name: .shortAndLong, help: "Do not reproduce the console output; only report.")
    var quiet = false

    @Flag(help: "When the journal replayed identically to the guest's end, exit with the recorded guest's status instead of 0.")
    var exitWithGuestStatus = false

    @Option(help: "With --image: single-steps at most this many instructions when tracing a divergence to the instruction.")
    var traceLimit: UInt64 = Lockstep.defaultBudget

    @Flag(help: "With --image: report a divergence at the exit only, without tracing it to the instruction.")
    var noTrace = false

    @Option(help: ArgumentHelp("Also write the journal's timeline (.html, .json or .json.gz; docs/TIMELINE.md), with the divergence marked when there is one.",
                               valueName: "FILE"))
    var timeline: String?

    @Option(help: ArgumentHelp("Stop (status 3) a replay that consumes no journal event for this many seconds of host time (default 600); it also stops after 1,000,000 exits without one.",
                               valueName: "SECONDS"))
    var watchdog: Double = ReplayWatchdog.defaultSeconds

    func validate() throws {
        guard watchdog.isFinite, watchdog > 0, watchdog <= TimeLimit.maximumSeconds else {
            throw ValidationError("--watchdog must be a number of seconds above 0")
        }
        if fromCheckpoint != nil && fromEvent != nil {
            throw ValidationError("give --from-checkpoint or --from-event, not both")
        }
        if let timeline { _ = try traceFormat(explicit: nil, output: timeline) }
    }

    func run() throws {
        let opened = openJournal(journal)
        let reader = opened.reader
        if let note = reader.truncationNote { warn("vmrr: \(journal): \(note)") }
        var o = ReplayOptions()
        o.imageOverride = image
        o.watchdogSeconds = watchdog
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
        do { result = try session.run(console: console.map { c in { c.byte($0) } }) } catch let s as ReplayWatchdog.Stalled {
            console?.flush()
            fail(s.description, status: ExitStatus.divergence)
        } catch { fail("\(error)") }
        console?.flush()
        let status = result.exitStatus(passThroughGuestStatus: exitWithGuestStatus)
        if let timeline { writeReplayTimeline(timeline, reader: reader, divergence: result.divergence, symbolize: session.configuration.symbolize) }
        if let d = result.divergence {
            warn(d.render(journalName: journal))
            if let m = result.digestMismatch, result.digestMismatchCause == nil {
                warn("vmrr: \(journal): note: the memory digest already differed at event \(m.index) (--verify), before this divergence")
            }
            if let newImage = session.foreignImage, !noTrace {
                for line in traceToInstruction(reader: reader, options: o, divergence: d, newImage: newImage, newBuild: session.image) {
                    warn(line)
                }
            }
            // A TSC read on the way to the divergence explains it (this host cannot trap RDTSC).
            if let finding = try? TSCCheck.find(reader: reader, options: o, divergence: d),
               let note = TSCCheck.note(finding, symbolize: session.configuration.symbolize,
                                        sourceLine: session.image.map { SourceLines(elf: $0.bytes) }.map { lines in
                                            { lines.location(of: $0)?.description } }) {
                warn("vmrr: \(journal): note: \(note)")
            }
            Glibc.exit(status)
        }
        if let m = result.digestMismatch {
            warn(m.render(journalName: journal))
            if let cause = result.digestMismatchCause { warn("  \(cause)") }
        }
        warn(summary(result, events: reader.eventCount))
        if result.guestEnd == nil, let m = result.end.message { warn("vmrr: \(m)") }
        Glibc.exit(status)
    }

    /// Replays the recorded image and the new build side by side to the
    /// first instruction whose effect differs, and puts it in words.
    func traceToInstruction(reader: JournalReader, options o: ReplayOptions, divergence d: Divergence,
                            newImage: String, newBuild: GuestImage?) -> [String] {
        let onTerminal = isatty(STDERR_FILENO) == 1
        let traced = Lockstep.traceDivergence(reader: reader, options: o, divergence: d, budget: traceLimit, progress: { steps in
            if onTerminal { writeAll(STDERR_FILENO, "\rvmrr: tracing the divergence: \(steps) instructions stepped...") }
        })
        if onTerminal { writeAll(STDERR_FILENO, "\r\u{1B}[K") }
        let recordedPath = traced.recordedImage?.image.path ?? reader.header.imagePath
        let view = DivergenceTrace(
            journalName: journal,
            recorded: .init(title: "recorded image \(recordedPath)", short: "recorded", image: traced.recordedImage?.image,
                            debugCommand: "vmrr debug \(journal)"),
            replayed: .init(title: "new build \(newImage)", short: "new", image: newBuild,
                            debugCommand: "vmrr debug \(journal) --image \(newImage)"))
        return view.render(traced.report)
    }

    /// The line after a replay that did not diverge: what replayed, the
    /// memory digests, and the recorded guest's own end and status.
    func summary(_ result: ReplayResult, events: UInt64) -> String {
        let ms = Double(result.wallNanoseconds) / 1e6
        let last = result.lastEvent.map { "\($0)" } ?? "none"
        var line = "vmrr: replayed events \(result.startEvent)–\(last) of \(events)"
        if let m = result.digestMismatch {
            line += " in \(format1(ms)) ms: every event and register matched, but the memory digest differs (first at event \(m.index))"
        } else {
            line += " identically in \(format1(ms)) ms"
            if verify { line += result.verifiedDigest ? "; final memory digest matches" : "; no memory digest to verify" }
        }
        if let g = result.guestEnd { line += "; guest status \(g.status) (\(g.reason.name))" }
        return line
    }

    /// `--timeline FILE`: the journal's view, with the divergence's marker.
    func writeReplayTimeline(_ path: String, reader: JournalReader, divergence: Divergence?, symbolize: ((UInt64) -> String?)?) {
        var model: TraceModel
        do { model = try TraceModel(reader: reader, name: journal, axis: .time, symbolize: symbolize) } catch { fail("\(error)") }
        model.divergence = divergence.map(TraceDivergence.init)
        do { writeTrace(model, to: path, format: try traceFormat(explicit: nil, output: path)) } catch { fail("\(error)") }
    }
}
