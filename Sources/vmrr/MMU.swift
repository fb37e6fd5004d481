import ArgumentParser
import Glibc
import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRKVM
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
        let position = at ?? reader.checkpoints.last.map(\.eventIndex) ?? 0
        guard position < reader.eventCount else {
            fail("mmu: event \(position) is out of range: \(journal) has events 0 to \(reader.eventCount - 1)")
        }
        let useKVM = !noKVM && KVMSystem.isAvailable
        var keep: [AnyObject] = []
        let ctx = context(reader: reader, bundledImage: opened.bundledImage, at: position, useKVM: useKVM, keep: &keep)
        if args.first == "fault" {
            runFault(reader: reader, at: position, context: ctx, args: Array(args.dropFirst()))
            return
        }
        var other: MMUCommandContext?
        if args.first == "ptdiff" {
            guard let c = compareAt else { fail("mmu: ptdiff needs --compare-at EVENT (the earlier position)") }
            guard c < reader.eventCount else { fail("mmu: --compare-at \(c) is out of range: events 0 to \(reader.eventCount - 1)") }
            other = context(reader: reader, bundledImage: opened.bundledImage, at: c, useKVM: useKVM, keep: &keep)
        }
        do {
            let text = try MMUCommands.run(args, context: ctx, other: other, json: json)
            writeAll(STDOUT_FILENO, text.hasSuffix("\n") ? text : text + "\n")
        } catch {
            fail("mmu: \(error)")
        }
    }

    /// The MMU view of the machine at event `at`: a checkpoint's memory from
    /// the journal when the event is a checkpoint (or KVM is absent), else a
    /// replay to exactly that event.
    func context(reader: JournalReader, bundledImage: [UInt8]?, at: UInt64, useKVM: Bool, keep: inout [AnyObject]) -> MMUCommandContext {
        let model = reader.header.hostMMU.name
        let cpu = CPUIDFacts(reader.header.cpuidEffective)
        guard let cp = reader.checkpoint(atOrBefore: at) else { fail("mmu: \(journal) has no checkpoint at or before event \(at)") }
        if cp.eventIndex == at || !useKVM {
            let mem: JournalMemory
            do { mem = try JournalMemory(reader: reader, checkpoint: cp.id) } catch { fail("mmu: \(error)") }
            keep.append(mem)
            var label = "checkpoint \(cp.id) (event \(cp.eventIndex))"
            if cp.eventIndex != at {
                label += ", the nearest at or before event \(at): replaying to the exact event needs /dev/kvm"
            }
            let s = mem.checkpoint.state
            let slots = Layout.ramRanges(memorySize: reader.header.memorySize).enumerated().map { i, r in
                MemorySlot(gpa: r.lowerBound, size: UInt64(r.count), hostAddress: 0, name: "ram\(i)")
            }
            return MMUCommandContext(memory: mem, paging: paging(s.sregs, s.regs, cpu), slots: slots, hostMMUModel: model,
                                     hostFrames: NoHostFrames(reason: "journal memory has no host frames (a replay with /dev/kvm has)"),
                                     positionLabel: label)
        }
        var o = ReplayOptions()
        o.fromEvent = at
        o.until = at
        o.imageOverride = image
        o.bundledImage = bundledImage
        let session: ReplaySession
        do { session = try ReplaySession(reader: reader, options: o) } catch { fail("mmu: \(error)") }
        let result: ReplayResult
        do { result = try session.run(console: nil) } catch { fail("mmu: \(error)") }
        if let d = result.divergence { fail("mmu: replaying to event \(at) diverged:\n\(d.render(journalName: journal))") }
        keep.append(session)
        let sregs: SpecialRegisters
        do { sregs = try session.machine.vcpu.getSpecialRegisters() } catch { fail("mmu: \(error)") }
        return MMUCommandContext(memory: LiveMemory(session.machine.ram), paging: paging(sregs, session.runner.regs, cpu),
                                 slots: session.machine.memorySlots, hostMMUModel: model, hostFrames: PagemapResolver(),
                                 positionLabel: "event \(at) (replayed on KVM)")
    }

    func paging(_ s: SpecialRegisters, _ r: GPRegisters, _ cpu: CPUIDFacts) -> PagingContext {
        PagingContext(cr0: s.cr0, cr3: s.cr3, cr4: s.cr4, efer: s.efer, rflags: r.rflags,
                      maxPhysAddrBits: cpu.maxPhysAddrBits, supports1GiBPages: cpu.supports1GiBPages)
    }

    /// `fault`: the guest walk at a page_fault event's address, with the access the error code names.
    func runFault(reader: JournalReader, at: UInt64, context: MMUCommandContext, args: [String]) {
        guard args.isEmpty else { fail("mmu: fault takes no arguments: usage: vmrr mmu JOURNAL --at EVENT fault") }
        let r: EventRecord
        do { r = try reader.event(at: at) } catch { fail("mmu: \(error)") }
        var ctx = context
        let walkArgs: [String]
        // The recorded fault: a text line, or (--json) the "fault" member of one JSON object.
        let line: String
        let fault: JSONValue
        switch r.event {
        case let .pageFault(gva, errorCode, cr3, rip):
            let e = PageFaultErrorBits(errorCode)
            line = "page fault at event \(at): gva \(hex(gva)), error code \(hex(errorCode)) (\(e.words)), faulting rip \(hex(rip)), cr3 \(hex(cr3))"
            fault = .object([("event", .integer(at)), ("kind", .string("page_fault")), ("gva", .integer(gva)),
                             ("errorCode", .integer(errorCode)), ("errorBits", .string(e.words)),
                             ("faultRip", .integer(rip)), ("cr3", .integer(cr3))])
            ctx.paging.cr3 = cr3
            walkArgs = ["pt", hex(gva)] + e.options
        case let .stage2Fault(gpa, size, dir, _):
            line = "stage-2 fault at event \(at): \(dir == .read ? "read" : "write") of \(size) bytes at guest-physical \(hex(gpa)), which no memory slot backs"
            fault = .object([("event", .integer(at)), ("kind", .string("stage2_fault")), ("gpa", .integer(gpa)),
                             ("size", .integer(UInt64(size))), ("direction", .string(dir == .read ? "read" : "write"))])
            walkArgs = ["ept", hex(gpa)]
        default:
            let kind = r.event.kind.name
            let article = kind.first.map { "aeiou".contains($0) } == true ? "an" : "a"
            fail("mmu: event \(at) is \(article) \(kind) event, not a page_fault or stage2_fault: find faults with vmrr dump \(journal) --kind page_fault")
        }
        let text: String
        do { text = try MMUCommands.run(walkArgs, context: ctx, json: json) } catch { fail("mmu: \(error)") }
        if json {
            // One JSON document: {"fault": ..., "walk": <the view's JSON>}.
            let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
            let walk = body.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n  ")
            let head = fault.rendered(indent: 2)
            writeAll(STDOUT_FILENO, "{\n  \"fault\": \(head),\n  \"walk\": \(walk)\n}\n")
        } else {
            writeAll(STDOUT_FILENO, line + "\n" + (text.hasSuffix("\n") ? text : text + "\n"))
        }
    }
}

/// The page-fault error code's bits, in words and as `pt` options.
struct PageFaultErrorBits {
    let code: UInt64
    init(_ code: UInt64) { self.code = code }
    static let present: UInt64 = 1 << 0
    static let write: UInt64 = 1 << 1
    static let user: UInt64 = 1 << 2
    static let reserved: UInt64 = 1 << 3
    static let fetch: UInt64 = 1 << 4
    static let protectionKey: UInt64 = 1 << 5
    var words: String {
        var w = [code & Self.present != 0 ? "protection violation" : "not present",
                 code & Self.fetch != 0 ? "fetch" : code & Self.write != 0 ? "write" : "read",
                 code & Self.user != 0 ? "user" : "supervisor"]
        if code & Self.reserved != 0 { w.append("reserved bit") }
        if code & Self.protectionKey != 0 { w.append("protection key") }
        return w.joined(separator: ", ")
    }
    var options: [String] {
        var o: [String] = []
        if code & Self.user != 0 { o.append("--user") }
        if code & Self.fetch != 0 { o.append("--fetch") } else if code & Self.write != 0 { o.append("--write") }
        return o
    }
}
