import VMRRBase
/// How `vmrr dump` shows events: aligned text for people, JSON for tools.
public enum EventFormat {
    /// Kind names are padded to the longest one so the details line up.
    static let kindWidth = EventKind.allCases.map { $0.name.count }.max() ?? 0

    /// One aligned line, e.g.
    /// `#     12  rip=0x0000000000100034  io           out port=0x3f8 size=1 value=0x48 'H'`;
    /// with `vcpu` (journals of more than one vCPU) the event's vCPU follows the index: `#     12  vcpu=1  rip=...`.
    public static func text(_ r: EventRecord, vcpu: Bool = false) -> String {
        let index = String(r.index)
        let name = r.event.kind.name
        var line = "#" + String(repeating: " ", count: max(0, 7 - index.count)) + index
        if vcpu { line += "  vcpu=\(r.vcpu)" }
        line += "  rip=" + hex(r.rip, digits: 16) + "  "
        line += name
        let d = details(r.event)
        if !d.isEmpty { line += String(repeating: " ", count: max(0, kindWidth - name.count)) + " " + d }
        return line
    }

    static func details(_ e: Event) -> String {
        switch e {
        case let .io(port, size, direction, value):
            // Only bytes the guest writes are shown as characters (console
            // output); a read's value is a device register, not text.
            return (direction == .write ? "out" : "in ") + " port=\(hex(port)) size=\(size) value=\(hex(value))"
                + (direction == .write ? charSuffix(value, size: size) : "")
        case let .mmio(gpa, size, direction, value), let .stage2Fault(gpa, size, direction, value):
            return (direction == .write ? "write" : "read ") + " gpa=\(hex(gpa)) size=\(size) value=\(hex(value))"
        case .hlt, .shutdown:
            return ""
        case let .pageFault(gva, errorCode, cr3, faultingRIP):
            return "gva=\(hex(gva)) error_code=\(hex(errorCode)) cr3=\(hex(cr3)) fault_rip=\(hex(faultingRIP))"
        case let .clock(ns):
            return "ns=\(ns)"
        case let .timer(deadline):
            return deadline == 0 ? "deadline=0 (disarm)" : "deadline=\(deadline)"
        case let .interrupt(vector):
            return "vector=\(hex(vector))"
        case let .input(port, byte):
            return "port=\(hex(port)) byte=\(hex(byte))" + charSuffix(UInt64(byte), size: 1)
        case let .checkpoint(id):
            return "id=\(id)"
        case let .error(reason, suberror, data):
            return "reason=\(reason) suberror=\(suberror) data=\(data.isEmpty ? "-" : hexBytes(data))"
        case let .end(reason, status):
            return "reason=\(reason.name) status=\(status)"
        case let .msr(index, direction, value, fault):
            let op = direction == .write ? "wrmsr" : "rdmsr"
            if fault { return op + " msr=\(hex(index))" + (direction == .write ? " value=\(hex(value))" : "") + " #GP" }
            return op + " msr=\(hex(index)) value=\(hex(value))"
        case let .assist(action, length):
            return "\(action.name) length=\(length)" + (action == .breakpoint ? " (#BP injected)" : " (skipped)")
        case let .switchVCPU(k):
            return "to vcpu=\(k)"
        case let .startup(k, vector):
            return "vcpu=\(k) vector=\(hex(vector)) (real mode, cs=\(hex(UInt16(vector) << 8)) ip=0)"
        case .nmi:
            return ""
        case let .warmReset(segment, offset):
            return "vector=\(hex(segment)):\(hex(offset)) (real mode)"
        case let .preempt(digest):
            return "digest=\(hex(digest, digits: 16))"
        }
    }

    /// ` 'H'` for a printable ASCII byte, ` '\n'` style for common controls, else nothing.
    static func charSuffix(_ value: UInt64, size: UInt8) -> String {
        guard size == 1, value < 0x80 else { return "" }
        switch value {
        case 0x0a: return " '\\n'"
        case 0x0d: return " '\\r'"
        case 0x09: return " '\\t'"
        case 0x20..<0x7f: return " '\(Character(Unicode.Scalar(UInt8(value))))'"
        default: return ""
        }
    }

    /// One JSON object, no newline. See the field list in docs/JOURNAL.md.
    /// With `registers`, a "regs" object holds the 18 registers the event carries.
    /// With `vcpu` (journals of more than one vCPU) a "vcpu" field names the event's vCPU.
    public static func json(_ r: EventRecord, registers: Bool = false, vcpu: Bool = false) -> String {
        var f: [(String, JSONValue)] = [("index", .integer(r.index))]
        if vcpu { f.append(("vcpu", .integer(UInt64(r.vcpu)))) }
        f += [
            ("kind", .string(r.event.kind.name)),
            ("rip", .integer(r.rip)),
        ]
        switch r.event {
        case let .io(port, size, direction, value):
            f += [("port", .integer(UInt64(port))), ("size", .integer(UInt64(size))),
                  ("dir", .string(direction == .write ? "out" : "in")), ("value", .integer(value))]
        case let .mmio(gpa, size, direction, value), let .stage2Fault(gpa, size, direction, value):
            f += [("gpa", .integer(gpa)), ("size", .integer(UInt64(size))),
                  ("dir", .string(direction == .write ? "write" : "read")), ("value", .integer(value))]
        case .hlt, .shutdown:
            break
        case let .pageFault(gva, errorCode, cr3, faultingRIP):
            f += [("gva", .integer(gva)), ("error_code", .integer(errorCode)), ("cr3", .integer(cr3)), ("fault_rip", .integer(faultingRIP))]
        case let .clock(ns):
            f.append(("ns", .integer(ns)))
        case let .timer(deadline):
            f.append(("deadline", .integer(deadline)))
        case let .interrupt(vector):
            f.append(("vector", .integer(UInt64(vector))))
        case let .input(port, byte):
            f += [("byte", .integer(UInt64(byte))), ("port", .integer(UInt64(port)))]
        case let .checkpoint(id):
            f.append(("id", .integer(UInt64(id))))
        case let .error(reason, suberror, data):
            f += [("reason", .integer(UInt64(reason))), ("suberror", .integer(UInt64(suberror))), ("data", .string(hexBytes(data)))]
        case let .end(reason, status):
            f += [("status", .signed(Int64(status))), ("reason", .string(reason.name))]
        case let .msr(index, direction, value, fault):
            f += [("msr", .integer(UInt64(index))), ("dir", .string(direction == .write ? "write" : "read")),
                  ("value", .integer(value)), ("fault", .bool(fault))]
        case let .assist(action, length):
            f += [("action", .string(action.name)), ("length", .integer(UInt64(length)))]
        case let .switchVCPU(k):
            f.append(("to", .integer(UInt64(k))))
        case let .startup(k, vector):
            f += [("target", .integer(UInt64(k))), ("vector", .integer(UInt64(vector)))]
        case .nmi:
            break
        case let .warmReset(segment, offset):
            f += [("segment", .integer(UInt64(segment))), ("offset", .integer(UInt64(offset)))]
        case let .preempt(digest):
            f.append(("digest", .integer(digest)))
        }
        if registers {
            f.append(("regs", .object(GPRegisters.names.indices.map { (GPRegisters.names[$0], .integer(r.regs[$0])) })))
        }
        return JSONValue.object(f).compact
    }

    /// A JSON string literal with `"`, `\` and control characters escaped.
    public static func jsonString(_ s: String) -> String { jsonQuoted(s) }
}
