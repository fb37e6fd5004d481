import VMRRBase
import VMRRJournal

/// A `TraceModel` as one self-contained HTML file: the page's styles and
/// script inline (`TraceHTMLPage`), the events as columns of one JSON
/// object in a `<script type="application/json">` element, nothing fetched.
/// docs/TIMELINE.md describes the view.
public enum TraceHTML {
    /// How many RIPs the summary lists.
    public static let hottestCount = 10

    public static func render(_ m: TraceModel) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(m.count * 40 + 65536)
        out.append(contentsOf: TraceHTMLPage.head(title: "vmrr timeline: \(m.journalName)").utf8)
        out.append(contentsOf: "<script id=\"vmrr-data\" type=\"application/json\">".utf8)
        var json: [UInt8] = []
        data(m).write(to: &json)
        appendScriptSafe(&out, json)
        out.append(contentsOf: "</script>\n<script>\n".utf8)
        out.append(contentsOf: TraceHTMLPage.script.utf8)
        out.append(contentsOf: "</script>\n</body>\n</html>\n".utf8)
        return out
    }

    /// JSON text inside a script element: `</` is written `<\/` (the same
    /// string to JSON), so no string in it can close the element.
    static func appendScriptSafe(_ out: inout [UInt8], _ json: some Sequence<UInt8>) {
        var previous: UInt8 = 0
        for b in json {
            if previous == UInt8(ascii: "<") && b == UInt8(ascii: "/") { out.append(UInt8(ascii: "\\")) }
            out.append(b)
            previous = b
        }
    }

    /// The page's data: per-track kind descriptions, then one column per
    /// field with one entry per event.
    static func data(_ m: TraceModel) -> JSONValue {
        let tracks = TraceEventJSON.vcpuTracks(m)
        var trackOf: [TraceTrack: Int] = [:]
        for (t, k) in tracks.enumerated() { trackOf[k] = t }
        var ripIndex: [UInt64: Int] = [:]
        var ripTable: [JSONValue] = [], symbolTable: [JSONValue] = []
        let labels = SymbolCache(m.symbolize)
        var t: [JSONValue] = [], k: [JSONValue] = [], r: [JSONValue] = [], a: [JSONValue] = [], v: [JSONValue] = [], f: [JSONValue] = []
        t.reserveCapacity(m.count); k.reserveCapacity(m.count); r.reserveCapacity(m.count)
        a.reserveCapacity(m.count); v.reserveCapacity(m.count); f.reserveCapacity(m.count)
        var previous: UInt64 = 0
        for i in 0..<m.count {
            t.append(.integer(m.starts[i] - previous))
            previous = m.starts[i]
            k.append(.integer(UInt64(trackOf[TraceTrack(vcpu: Int(m.vcpus[i]), kind: m.kinds[i])] ?? 0)))
            let rip = m.rips[i]
            if let x = ripIndex[rip] {
                r.append(.integer(UInt64(x)))
            } else {
                ripIndex[rip] = ripTable.count
                r.append(.integer(UInt64(ripTable.count)))
                ripTable.append(.string(hex(rip)))
                symbolTable.append(.string(labels.label(rip) ?? ""))
            }
            a.append(number(m.addresses[i]))
            v.append(number(m.values[i]))
            f.append(.integer(flags(m.details[i])))
        }
        let lastDuration = m.count > 0 ? m.ends[m.count - 1] - m.starts[m.count - 1] : 0
        return .object([
            ("journal", .string(m.journalName)), ("axis", .string(m.axis.rawValue)), ("placement", .string(m.placement)),
            ("clock", .string(m.clockName)), ("vcpus", .integer(UInt64(m.vcpuCount))),
            ("truncated", m.truncation.map { .string($0) } ?? .null),
            ("kinds", .array(tracks.map { kindInfo(m, $0) })),
            ("exitsPerSecond", m.exitsPerSecond.map { .decimal(UInt64(($0 * 100).rounded()), decimals: 2) } ?? .null),
            ("hottest", .array(m.hottestRIPs(hottestCount).map { h in
                .array([.string(hex(h.rip)), .string(labels.label(h.rip) ?? ""), .integer(UInt64(h.exits))])
            })),
            ("divergence", m.divergence.map(divergence) ?? .null),
            ("lastDur", .integer(lastDuration)), ("rips", .array(ripTable)), ("syms", .array(symbolTable)),
            ("t", .array(t)), ("k", .array(k)), ("r", .array(r)), ("a", .array(a)), ("v", .array(v)), ("f", .array(f)),
        ])
    }

    /// JavaScript numbers are exact to 2^53; larger ones travel as hex strings.
    static func number(_ x: UInt64) -> JSONValue { x < (1 << 53) ? .integer(x) : .string(hex(x)) }

    /// size | direction << 4 (1 read, 2 write) | fault << 6.
    static func flags(_ d: TraceDetail) -> UInt64 {
        var x = UInt64(d.size & 0xF)
        if let dir = d.direction { x |= (dir == .write ? 2 : 1) << 4 }
        if d.fault { x |= 1 << 6 }
        return x
    }

    /// A track's description; with more than one vCPU its name says whose (`vCPU 1: io exits`).
    static func kindInfo(_ m: TraceModel, _ t: TraceTrack) -> JSONValue {
        let k = t.kind, l = TraceFields.layout(k)
        let name = (m.vcpuCount > 1 ? "vCPU \(t.vcpu): " : "") + TraceEventJSON.trackName(m, k)
        return .object([("code", .integer(UInt64(k.rawValue))), ("name", .string(k.name)), ("vcpu", .integer(UInt64(t.vcpu))),
                        ("track", .string(name)), ("slice", .bool(m.isSlice(k))),
                        ("exit", .bool(m.exitKinds.contains(k))),
                        ("addr", .string(l.address)), ("addrFmt", .string(l.addressFormat.rawValue)),
                        ("value", .string(l.value)), ("valueFmt", .string(l.valueFormat.rawValue))])
    }

    static func divergence(_ d: TraceDivergence) -> JSONValue {
        .object([("index", .integer(d.index)), ("reason", .string(d.reason)), ("recorded", d.recorded.map { .string($0) } ?? .null),
                 ("replayed", .string(d.replayed)), ("registers", .array(d.registers.map { .string($0) }))])
    }
}
