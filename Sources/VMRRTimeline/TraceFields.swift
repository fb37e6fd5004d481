import VMRRBase
import VMRRJournal

/// What each kind's address-like and value columns mean, and how they are
/// written: the one place both the JSON's `args` and the HTML view's hover
/// card take their wording from.
public enum TraceFields {
    public enum Format: String, Sendable { case hex, decimal, none }

    /// The labels and formats of a kind's address and value columns.
    public struct Layout: Sendable, Equatable {
        public var address: String
        public var addressFormat: Format
        public var value: String
        public var valueFormat: Format
    }

    public static func layout(_ k: EventKind) -> Layout {
        switch k {
        case .io, .input: return Layout(address: "port", addressFormat: .hex, value: "value", valueFormat: .hex)
        case .mmio, .stage2Fault: return Layout(address: "address", addressFormat: .hex, value: "value", valueFormat: .hex)
        case .pageFault: return Layout(address: "address", addressFormat: .hex, value: "error code", valueFormat: .hex)
        case .clock: return Layout(address: "", addressFormat: .none, value: "ns", valueFormat: .decimal)
        case .timer: return Layout(address: "", addressFormat: .none, value: "deadline ns", valueFormat: .decimal)
        case .interrupt: return Layout(address: "vector", addressFormat: .hex, value: "", valueFormat: .none)
        case .checkpoint: return Layout(address: "checkpoint", addressFormat: .decimal, value: "", valueFormat: .none)
        case .error: return Layout(address: "exit reason", addressFormat: .decimal, value: "suberror", valueFormat: .decimal)
        case .end: return Layout(address: "reason", addressFormat: .decimal, value: "status", valueFormat: .decimal)
        case .msr: return Layout(address: "msr", addressFormat: .hex, value: "value", valueFormat: .hex)
        case .assist: return Layout(address: "action", addressFormat: .decimal, value: "length", valueFormat: .decimal)
        case .switchVCPU: return Layout(address: "vcpu", addressFormat: .decimal, value: "", valueFormat: .none)
        case .startup: return Layout(address: "vcpu", addressFormat: .decimal, value: "vector", valueFormat: .hex)
        case .warmReset: return Layout(address: "segment", addressFormat: .hex, value: "offset", valueFormat: .hex)
        case .preempt: return Layout(address: "", addressFormat: .none, value: "digest", valueFormat: .hex)
        case .hlt, .shutdown, .nmi: return Layout(address: "", addressFormat: .none, value: "", valueFormat: .none)
        }
    }

    static func format(_ v: UInt64, _ f: Format) -> JSONValue { f == .hex ? .string(hex(v)) : .integer(v) }

    /// The item's name on its track: `out 0x3f8`, `mmio read 0xfee000b0`, `page_fault`.
    public static func title(_ m: TraceModel, _ i: Int) -> String {
        let k = m.kinds[i], a = m.addresses[i], d = m.details[i]
        let write = d.direction == .write
        switch k {
        case .io: return "\(write ? "out" : "in") \(hex(a))"
        case .mmio, .stage2Fault: return "\(k.name) \(write ? "write" : "read") \(hex(a))"
        case .msr: return "\(write ? "wrmsr" : "rdmsr") \(hex(a))\(d.fault ? " #GP" : "")"
        case .interrupt: return "interrupt \(hex(a))"
        case .input: return "input \(hex(a))"
        case .checkpoint: return "checkpoint \(a)"
        case .assist: return "assist \(AssistAction(rawValue: UInt8(truncatingIfNeeded: a))?.name ?? String(a))"
        case .end: return "end \(EndReason(rawValue: UInt8(truncatingIfNeeded: a))?.name ?? String(a))"
        case .timer: return m.values[i] == 0 ? "timer disarm" : "timer"
        default: return k.name
        }
    }

    /// The kind's fields as `args` members, after `event`, `kind`, `rip` and `symbol`.
    public static func fields(_ m: TraceModel, _ i: Int) -> [(String, JSONValue)] {
        let k = m.kinds[i], l = layout(k), d = m.details[i]
        var out: [(String, JSONValue)] = []
        if l.addressFormat != .none { out.append((l.address, format(m.addresses[i], l.addressFormat))) }
        if d.size > 0 && k != .msr { out.append(("size", .integer(UInt64(d.size)))) }
        if let dir = d.direction { out.append(("direction", .string(dir == .write ? "write" : "read"))) }
        if l.valueFormat != .none && !(k == .msr && d.fault && d.direction == .read) {
            out.append((l.value, format(m.values[i], l.valueFormat)))
        }
        if d.fault { out.append(("fault", .string("#GP"))) }
        return out
    }
}
