import ArgumentParser
import Glibc
import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRMMU
import VMRRReplay

struct MMU: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmu",
        abstract: "Show the guest's address translation at a journal position: guest walk, EPT/NPT, shadow.",
        discussion: """
            Commands: pt GVA, ept GPA [--npt], walk2d GVA [--npt], shadow GVA, shadow dump, \
            ptdump [guest|ept|npt|shadow], ptdiff [guest|ept|npt|shadow] (against --compare-at), \
            fault (at a page_fault event: the guest walk at the faulting address). \
            Memory comes from the journal's checkpoints, or, with KVM, from a replay to the exact event. \
            Example: vmrr mmu trace.vmrr --at 120 pt 0xffff800000001000
            """)

    @Argument(help: "The journal file, or a bundle.")
    var journal: String

    @Option(help: "The event index to look at (default: the final checkpoint).")
    var at: UInt64?

    @Option(help: "The earlier position for ptdiff.")
    var compareAt: UInt64?

    @Flag(help: "Machine-readable JSON output.")
    var json = false

    @Flag(help: "Never use KVM: show the nearest checkpoint at or before the event.")
    var noKVM = false

    @Option(help: "Replay against this build of the guest instead of the recorded image (for KVM replays).")
    var image: String?

    @Argument(parsing: .allUnrecognized, help: "The MMU command and its arguments.")
    var command: [String] = []

    func run() throws {
        let opened = openJournal(journal)
        let reader = opened.reader
        guard !command.isEmpty else {
            fail("mmu: missing command: expected one of fault, pt, ept, walk2d, shadow, ptdump, ptdiff")
        }
        var args = command
        if args.first == "--" { args.removeFirst() }
        guard reader.eventCount > 0 else { fail("mmu: \(journal) has no events") }
        let position = at ?? reader.checkpoints.last.map(\.eventIndex) ?? 0
        guard position < reader.eventCount else {
            fail("mmu: event \(position) is out of range: \(journal) has events 0 to \(reader.eventCount - 1)")
        }
        var compare: UInt64?
        if args.first == "ptdiff" {
            guard let c = compareAt else { fail("mmu: ptdiff needs --compare-at EVENT (the earlier position)") }
            guard c < reader.eventCount else { fail("mmu: --compare-at \(c) is out of range: events 0 to \(reader.eventCount - 1)") }
            compare = c
        }
        var o = ReplayOptions()
        o.imageOverride = image
        o.bundledImage = opened.bundledImage
        let targets = Targets(reader: reader, options: o, useKVM: !noKVM && DebugTargets.kvmUsable)
        do {
            // The earlier side first: a KVM target then moves on to `position`.
            // Symbols wherever an address is taken, from the image a replay would use.
            let symbols = (try? ReplayImage.choose(header: reader.header, override: image, bundled: opened.bundledImage, journalPath: journal))?.image.symbols
            var other = try compare.map { try targets.context(at: $0, copyingMemory: true) }
            var ctx = try targets.context(at: position, copyingMemory: false)
            if let symbols {
                ctx.symbolAddress = { symbols.lookup($0) }
                other?.symbolAddress = ctx.symbolAddress
            }
            let text: String
            if args.first == "fault" {
                guard args.count == 1 else { fail("mmu: fault takes no arguments: usage: vmrr mmu JOURNAL --at EVENT fault") }
                text = try FaultView.render(try reader.event(at: position), context: ctx, json: json, journalName: journal)
            } else {
                text = try MMUCommands.run(args, context: ctx, other: other, json: json)
            }
            writeAll(STDOUT_FILENO, text.hasSuffix("\n") ? text : text + "\n")
        } catch {
            fail("mmu: \(error)")
        }
    }
}

/// The debug targets `vmrr mmu` asks for contexts: the journal alone for a
/// checkpoint's event (or without KVM), a replay on KVM for any other event,
/// opened only when needed.
final class Targets {
    let reader: JournalReader
    let options: ReplayOptions
    let useKVM: Bool
    private var journalTarget: JournalTarget?
    private var kvmTarget: DebugTarget?

    init(reader: JournalReader, options: ReplayOptions, useKVM: Bool) {
        self.reader = reader; self.options = options; self.useKVM = useKVM
    }

    func context(at e: UInt64, copyingMemory: Bool) throws -> MMUCommandContext {
        if useKVM && !reader.checkpoints.contains(where: { $0.eventIndex == e }) {
            if kvmTarget == nil { kvmTarget = try DebugTargets.open(reader: reader, options: options, useKVM: true) }
            return try kvmTarget!.mmuContext(atEvent: e, copyingMemory: copyingMemory)
        }
        if journalTarget == nil { journalTarget = try DebugTargets.journalOnly(reader: reader, kvmRefused: !useKVM) }
        return try journalTarget!.mmuContext(atEvent: e, copyingMemory: copyingMemory)
    }
}
