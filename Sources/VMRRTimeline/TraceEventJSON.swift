import VMRRBase
import VMRRJournal

/// A `TraceModel` as Chrome's trace-event JSON (the object form), which
/// Perfetto and chrome://tracing open. docs/TIMELINE.md describes the tracks:
///
/// - one process per vCPU (`pid` = vCPU + 1), each event in its vCPU's;
/// - in each, one thread per event kind (`tid` = the kind's journal code), exits as
///   complete slices (`X`) lasting until the guest runs again, the other
///   kinds as thread instants (`i`);
/// - the paravirtual clock as a counter (`C`);
/// - each armed timer as an async span (`b`/`e`) from the write to its
///   deadline: a re-arm before the deadline overlaps the earlier span;
/// - the divergence (replay) and the truncation as global instants.
///
/// Every item's `args.event` is its event index (`vmrr debug J`, `goto N`).
/// `ts` and `dur` are microseconds with three decimals (nanoseconds).
public enum TraceEventJSON {
    /// The whole document, as UTF-8 bytes.
    public static func render(_ m: TraceModel) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(m.count * 200 + 4096)
        out.append(contentsOf: "{\"displayTimeUnit\":\"ns\",\"otherData\":".utf8)
        otherData(m).write(to: &out)
        out.append(contentsOf: ",\"traceEvents\":[\n".utf8)
        var first = true
        func emit(_ v: JSONValue) {
            if !first { out.append(contentsOf: ",\n".utf8) }
            first = false
            v.write(to: &out)
        }
        for v in metadata(m) { emit(v) }
        let labels = SymbolCache(m.symbolize)
        var timerSpan: UInt64 = 0
        for i in 0..<m.count {
            emit(item(m, i, labels))
            switch m.kinds[i] {
            case .clock:
                emit(.object([("ph", .string("C")), ("pid", pid(m, i)), ("tid", .integer(0)), ("name", .string("paravirtual clock")),
                              ("ts", ts(m.starts[i])), ("args", .object([("ns", .integer(m.values[i]))]))]))
            case .timer where m.values[i] != 0 && m.axis == .time:
                timerSpan += 1
                for (ph, at) in [("b", m.starts[i]), ("e", max(m.starts[i], m.values[i]))] {
                    emit(.object([("ph", .string(ph)), ("cat", .string("timer")), ("id", .integer(timerSpan)), ("pid", pid(m, i)),
                                  ("tid", .integer(UInt64(EventKind.timer.rawValue))), ("name", .string("timer armed")), ("ts", ts(at)),
                                  ("args", .object([("event", .integer(UInt64(i))), ("deadline", .integer(m.values[i]))]))]))
                }
            default: break
            }
        }
        if let d = m.divergence { emit(divergenceMark(m, d)) }
        if let t = m.truncation {
            emit(.object([("ph", .string("i")), ("s", .string("g")), ("pid", .integer(1)), ("tid", .integer(0)),
                          ("name", .string("journal truncated")), ("ts", ts(m.ends.last ?? 0)),
                          ("args", .object([("event", .integer(UInt64(m.count))), ("note", .string(t))]))]))
        }
        out.append(contentsOf: "\n]}\n".utf8)
        return out
    }

    static func ts(_ ns: UInt64) -> JSONValue { .decimal(ns, decimals: 3) }

    static func otherData(_ m: TraceModel) -> JSONValue {
        .object([("journal", .string(m.journalName)), ("axis", .string(m.axis.rawValue)), ("placement", .string(m.placement)),
                 ("clock", .string(m.clockName)), ("events", .integer(UInt64(m.count))), ("vcpus", .integer(UInt64(m.vcpuCount))),
                 ("truncated", m.truncation.map { .string($0) } ?? .null),
                 ("divergence", m.divergence.map { .integer($0.index) } ?? .null)])
    }

    /// Process and thread names and their order.
    static func metadata(_ m: TraceModel) -> [JSONValue] {
        var out: [JSONValue] = []
        for cpu in 0..<m.vcpuCount {
            let pid = JSONValue.integer(UInt64(cpu + 1))
            out.append(.object([("ph", .string("M")), ("pid", pid), ("tid", .integer(0)), ("name", .string("process_name")),
                                ("args", .object([("name", .string("vCPU \(cpu)"))]))]))
            out.append(.object([("ph", .string("M")), ("pid", pid), ("tid", .integer(0)), ("name", .string("process_sort_index")),
                                ("args", .object([("sort_index", .integer(UInt64(cpu)))]))]))
        }
        for (order, t) in vcpuTracks(m).enumerated() {
            let tid = JSONValue.integer(UInt64(t.kind.rawValue)), pid = JSONValue.integer(UInt64(t.vcpu + 1))
            out.append(.object([("ph", .string("M")), ("pid", pid), ("tid", tid), ("name", .string("thread_name")),
                                ("args", .object([("name", .string(trackName(m, t.kind)))]))]))
            out.append(.object([("ph", .string("M")), ("pid", pid), ("tid", tid), ("name", .string("thread_sort_index")),
                                ("args", .object([("sort_index", .integer(UInt64(order)))]))]))
        }
        return out
    }

    /// The kinds the journal has, in journal-code order: one track each.
    public static func tracks(_ m: TraceModel) -> [EventKind] {
        EventKind.allCases.filter { (m.countsByKind[$0] ?? 0) > 0 }
    }

    /// The (vCPU, kind) tracks the journal has, by vCPU, then in journal-code order.
    public static func vcpuTracks(_ m: TraceModel) -> [TraceTrack] {
        m.trackSet.sorted { ($0.vcpu, $0.kind.rawValue) < ($1.vcpu, $1.kind.rawValue) }
    }

    /// The process of event `i`: its vCPU's.
    static func pid(_ m: TraceModel, _ i: Int) -> JSONValue { .integer(UInt64(m.vcpus[i]) + 1) }

    public static func trackName(_ m: TraceModel, _ k: EventKind) -> String {
        m.isSlice(k) ? "\(k.name) exits" : k.name
    }

    /// One event as a slice or an instant.
    static func item(_ m: TraceModel, _ i: Int, _ labels: SymbolCache) -> JSONValue {
        let k = m.kinds[i]
        var members: [(String, JSONValue)] = [("name", .string(TraceFields.title(m, i))), ("cat", .string(category(m, k))),
                                              ("pid", pid(m, i)), ("tid", .integer(UInt64(k.rawValue))), ("ts", ts(m.starts[i]))]
        if m.isSlice(k) {
            members.insert(("ph", .string("X")), at: 0)
            members.append(("dur", ts(m.ends[i] - m.starts[i])))
        } else {
            members.insert(("ph", .string("i")), at: 0)
            members.append(("s", .string("t")))
        }
        var args: [(String, JSONValue)] = [("event", .integer(UInt64(i))), ("kind", .string(k.name)), ("rip", .string(hex(m.rips[i])))]
        if let s = labels.label(m.rips[i]) { args.append(("symbol", .string(s))) }
        args.append(contentsOf: TraceFields.fields(m, i))
        members.append(("args", .object(args)))
        return .object(members)
    }

    static func category(_ m: TraceModel, _ k: EventKind) -> String {
        switch k {
        case .pageFault, .stage2Fault: return "fault"
        case .interrupt, .nmi: return "interrupt"
        case .preempt: return "preempt"
        case .checkpoint: return "checkpoint"
        case .assist: return "assist"
        default: return m.exitKinds.contains(k) ? "exit" : "run"
        }
    }

    static func divergenceMark(_ m: TraceModel, _ d: TraceDivergence) -> JSONValue {
        let at = d.index < UInt64(m.count) ? m.starts[Int(d.index)] : (m.ends.last ?? 0)
        var args: [(String, JSONValue)] = [("event", .integer(d.index)), ("reason", .string(d.reason)),
                                           ("recorded", d.recorded.map { .string($0) } ?? .null), ("replayed", .string(d.replayed))]
        if !d.registers.isEmpty { args.append(("registers", .array(d.registers.map { .string($0) }))) }
        return .object([("ph", .string("i")), ("s", .string("g")), ("pid", .integer(1)), ("tid", .integer(0)),
                        ("name", .string("replay diverged")), ("ts", ts(at)), ("args", .object(args))])
    }
}

/// Symbol labels, looked up once per RIP.
final class SymbolCache {
    let symbolize: ((UInt64) -> String?)?
    var cache: [UInt64: String?] = [:]
    init(_ symbolize: ((UInt64) -> String?)?) { self.symbolize = symbolize }
    func label(_ rip: UInt64) -> String? {
        guard let symbolize else { return nil }
        if let hit = cache[rip] { return hit }
        let s = symbolize(rip)
        cache[rip] = s
        return s
    }
}
