import VMRRBase
import VMRRJournal

/// The `fault` view: a recorded page_fault or stage2_fault event, then the
/// walk that explains it (the guest walk at the faulting address with the
/// access its error code names, or the EPT/NPT walk of the unbacked address).
public enum FaultView {
    /// Renders the fault at `record` over `context` (the machine at that
    /// event). `journalName` goes into the hint when the event is not a fault.
    public static func render(_ record: EventRecord, context: MMUCommandContext, json: Bool,
                              journalName: String) throws -> String {
        let at = record.index
        var ctx = context
        let walkArgs: [String]
        // The recorded fault: a text line, or (--json) the "fault" member of one JSON object.
        let line: String
        let fault: JSONValue
        switch record.event {
        case let .pageFault(gva, errorCode, cr3, rip):
            let e = PageFaultErrorCode(recorded: errorCode)
            line = "page fault at event \(at): gva \(hex(gva)), error code \(hex(errorCode)) (\(e.words)), faulting rip \(hex(rip)), cr3 \(hex(cr3))"
            fault = .object([("event", .integer(at)), ("kind", .string("page_fault")), ("gva", .integer(gva)),
                             ("errorCode", .integer(errorCode)), ("errorBits", .string(e.words)),
                             ("faultRip", .integer(rip)), ("cr3", .integer(cr3))])
            ctx.paging.cr3 = cr3
            walkArgs = ["pt", hex(gva)] + e.accessOptions
        case let .stage2Fault(gpa, size, dir, _):
            line = "stage-2 fault at event \(at): \(dir == .read ? "read" : "write") of \(size) bytes at guest-physical \(hex(gpa)), which no memory slot backs"
            fault = .object([("event", .integer(at)), ("kind", .string("stage2_fault")), ("gpa", .integer(gpa)),
                             ("size", .integer(UInt64(size))), ("direction", .string(dir == .read ? "read" : "write"))])
            walkArgs = ["ept", hex(gpa)]
        default:
            let kind = record.event.kind.name
            let article = kind.first.map { "aeiou".contains($0) } == true ? "an" : "a"
            throw MMUCommandError("event \(at) is \(article) \(kind) event, not a page_fault or stage2_fault: find faults with vmrr dump \(journalName) --kind page_fault")
        }
        let text = try MMUCommands.run(walkArgs, context: ctx, json: json)
        guard json else { return line + "\n" + (text.hasSuffix("\n") ? text : text + "\n") }
        // One JSON document: {"fault": ..., "walk": <the view's JSON>}.
        let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
        let walk = body.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n  ")
        return "{\n  \"fault\": \(fault.rendered(indent: 2)),\n  \"walk\": \(walk)\n}\n"
    }
}
