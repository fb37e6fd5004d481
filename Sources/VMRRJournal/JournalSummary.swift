import VMRRBase
/// The summary `vmrr dump --summary` (and `vmrr info`) prints: what was
/// recorded, where, and what the journal holds. Reads every event once.
public struct JournalSummary {
    public let header: JournalHeader
    public let path: String
    public let formatVersion: UInt16
    public let fileSize: UInt64
    public let eventCount: UInt64
    /// Events per kind.
    public let countsByKind: [EventKind: UInt64]
    /// The last clock value, when there were clock events.
    public let lastClockNS: UInt64?
    /// The end event's reason and status, when the run ended with one.
    public let end: (reason: EndReason, status: Int32)?
    public let checkpointCount: Int
    public let checkpointBytes: UInt64
    public let eventBytes: UInt64
    public let truncationNote: String?

    public init(reader: JournalReader) throws {
        header = reader.header
        path = reader.path
        formatVersion = reader.formatVersion
        fileSize = reader.fileSize
        eventCount = reader.eventCount
        checkpointCount = reader.checkpoints.count
        checkpointBytes = reader.checkpointBytes
        eventBytes = reader.eventBytes
        truncationNote = reader.truncationNote
        var counts: [EventKind: UInt64] = [:]
        var clock: UInt64?
        var end: (EndReason, Int32)?
        try reader.forEachEvent { r in
            counts[r.event.kind, default: 0] += 1
            switch r.event {
            case let .clock(ns): clock = ns
            case let .end(reason, status): end = (reason, status)
            default: break
            }
            return true
        }
        countsByKind = counts
        lastClockNS = clock
        self.end = end
    }

    public func render() -> String {
        let h = header
        var lines: [(String, String)] = []
        lines.append(("journal", "\(path) (\(fileSize) bytes, format version \(formatVersion))"))
        lines.append(("guest", "\(h.imagePath.isEmpty ? "-" : safe(h.imagePath)) sha256 \(h.imageSHA256.isEmpty ? "-" : hexBytes(h.imageSHA256))"))
        var config = "memory \(Self.byteSize(h.memorySize)), \(h.vcpuCount) vCPU, clock \(h.clock.name), boot \(h.bootProtocol.name)"
        if h.linuxPayloadOnHost { config += " (payload decompressed on the host)" }
        config += ", strict \(h.strict ? "yes" : "no"), cpuid \(h.cpuidSet.count) leaves (\(h.cpuidEffective.count) effective)"
        config += ", checkpoint every \(h.checkpointInterval) events"
        lines.append(("config", config))
        if let seed = h.chaosSeed { lines.append(("chaos seed", "\(seed)")) }
        for line in h.cpuidHidden { lines.append(("cpuid hidden", safe(line))) }
        lines.append(("guest cmdline", h.guestCommandLine.isEmpty ? "-" : safe(h.guestCommandLine)))
        var host = "\(h.hostKernel.isEmpty ? "-" : safe(h.hostKernel)); cpu \(h.hostCPU.isEmpty ? "-" : safe(h.hostCPU)); MMU \(h.hostMMU.name)"
        if !h.hostMMUDetail.isEmpty { host += " (\(safe(h.hostMMUDetail)))" }
        lines.append(("host", host))
        lines.append(("recorded at", h.recordedAt == 0 ? "-" : Self.iso8601(h.recordedAt)))
        lines.append(("command", h.commandLine.isEmpty ? "-" : safe(h.commandLine)))
        lines.append(("vmrr version", h.vmrrVersion.isEmpty ? "-" : safe(h.vmrrVersion)))
        let kinds = EventKind.allCases.compactMap { k in countsByKind[k].map { "\(k.name) \($0)" } }
        lines.append(("events", "\(eventCount)" + (kinds.isEmpty ? "" : ": " + kinds.joined(separator: ", "))))
        if let ns = lastClockNS { lines.append(("duration", "\(ns) ns of guest clock (\(Self.seconds(ns)))")) }
        if let end { lines.append(("end", "\(end.reason.name), status \(end.status)")) } else { lines.append(("end", "no end event")) }
        let perEvent = eventCount > 0 ? Self.fixed2(Double(eventBytes) / Double(eventCount)) : "-"
        lines.append(("event bytes", "\(eventBytes) (\(perEvent) bytes/event, excluding checkpoints)"))
        lines.append(("checkpoints", "\(checkpointCount), \(checkpointBytes) bytes"))
        if let truncationNote { lines.append(("note", truncationNote)) }
        let width = (lines.map { $0.0.count }.max() ?? 0) + 2
        return lines.map { k, v in
            let label = k + ":"
            return label + String(repeating: " ", count: max(1, width - label.count + 1)) + v
        }.joined(separator: "\n")
    }

    /// The same facts as one JSON object (`vmrr dump --summary --json`), for
    /// tools: numbers as numbers, every event kind in `eventsByKind`.
    public func json() -> String {
        let h = header
        var members: [(String, JSONValue)] = [
            ("journal", .string(path)), ("fileSize", .integer(fileSize)), ("formatVersion", .integer(UInt64(formatVersion))),
            ("image", .string(h.imagePath)), ("imageSHA256", .string(hexBytes(h.imageSHA256))),
            ("memorySize", .integer(h.memorySize)), ("vcpus", .integer(UInt64(h.vcpuCount))),
            ("clock", .string(h.clock.name)), ("boot", .string(h.bootProtocol.name)),
            ("linuxPayloadOnHost", .bool(h.linuxPayloadOnHost)), ("strict", .bool(h.strict)),
            ("cpuidLeaves", .integer(UInt64(h.cpuidSet.count))), ("cpuidEffectiveLeaves", .integer(UInt64(h.cpuidEffective.count))),
            ("cpuidHidden", .array(h.cpuidHidden.map { .string($0) })),
            ("chaosSeed", h.chaosSeed.map { .integer($0) } ?? .null),
            ("checkpointInterval", .integer(UInt64(h.checkpointInterval))), ("guestCommandLine", .string(h.guestCommandLine)),
            ("hostKernel", .string(h.hostKernel)), ("hostCPU", .string(h.hostCPU)), ("hostMMU", .string(h.hostMMU.name)),
            ("hostMMUDetail", .string(h.hostMMUDetail)), ("recordedAt", h.recordedAt == 0 ? .null : .integer(h.recordedAt)),
            ("command", .string(h.commandLine)), ("vmrrVersion", .string(h.vmrrVersion)),
            ("events", .integer(eventCount)),
            ("eventsByKind", .object(EventKind.allCases.map { ($0.name, .integer(countsByKind[$0] ?? 0)) })),
            ("lastClockNs", lastClockNS.map { .integer($0) } ?? .null),
            ("end", end.map { .object([("reason", .string($0.reason.name)), ("status", .signed(Int64($0.status)))]) } ?? .null),
            ("eventBytes", .integer(eventBytes)), ("checkpoints", .integer(UInt64(checkpointCount))),
            ("checkpointBytes", .integer(checkpointBytes)),
        ]
        members.append(("truncated", truncationNote.map { .string($0) } ?? .null))
        return JSONValue.object(members).rendered()
    }

    /// `64 MiB` when the size is a whole number of MiB or GiB, else bytes.
    static func byteSize(_ n: UInt64) -> String {
        let mib: UInt64 = 1 << 20, gib: UInt64 = 1 << 30
        if n > 0 && n % gib == 0 { return "\(n / gib) GiB" }
        if n > 0 && n % mib == 0 { return "\(n / mib) MiB" }
        return "\(n) bytes"
    }

    static func fixed2(_ x: Double) -> String {
        let hundredths = Int((x * 100).rounded())
        let frac = hundredths % 100
        return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
    }

    static func seconds(_ ns: UInt64) -> String {
        let ms = ns / 1_000_000
        let frac = ms % 1000
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - String(frac).count))\(frac) s"
    }

    /// Seconds since the epoch as UTC ISO 8601, e.g. `2026-11-24T09:05:00Z`.
    public static func iso8601(_ epochSeconds: UInt64) -> String { CivilTime(unixSeconds: epochSeconds).iso8601 }
}

/// Header strings come from the file: control characters (terminal
/// escapes, newlines) are shown escaped, other Unicode text is kept, and a
/// string is cut at `displaySafeLimit` characters.
private func safe(_ s: String) -> String { displaySafe(s) }
