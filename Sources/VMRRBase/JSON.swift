/// A JSON string literal: `"`, `\` and control characters (and DEL) escaped,
/// other Unicode kept. The one JSON string encoder for `dump --json`, the MMU
/// views' JSON and every other JSON vmrr writes.
public func jsonQuoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20 || u.value == 0x7f:
            let h = String(u.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

/// The one JSON value type of vmrr: `dump --json`, the MMU views' JSON and
/// every other JSON vmrr writes are built as these trees and rendered here.
/// Object members keep their insertion order.
public indirect enum JSONValue: Sendable, Equatable {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case integer(UInt64)
    case signed(Int64)
    case bool(Bool)
    case null
    /// A fixed-point number, `units / 10^decimals`, written with exactly
    /// `decimals` digits after the point (the trace-event format's
    /// microsecond timestamps, from nanoseconds).
    case decimal(UInt64, decimals: Int)

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.compact == b.compact }

    /// Pretty-printed with two-space indentation.
    public func rendered(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent)
        let inner = String(repeating: " ", count: indent + 2)
        switch self {
        case .object(let members):
            if members.isEmpty { return "{}" }
            let body = members.map { "\(inner)\(jsonQuoted($0.0)): \($0.1.rendered(indent: indent + 2))" }
            return "{\n" + body.joined(separator: ",\n") + "\n\(pad)}"
        case .array(let items):
            if items.isEmpty { return "[]" }
            let body = items.map { inner + $0.rendered(indent: indent + 2) }
            return "[\n" + body.joined(separator: ",\n") + "\n\(pad)]"
        default: return compact
        }
    }

    /// On one line without spaces (JSON Lines).
    public var compact: String {
        switch self {
        case .object(let members): return "{" + members.map { jsonQuoted($0.0) + ":" + $0.1.compact }.joined(separator: ",") + "}"
        case .array(let items): return "[" + items.map(\.compact).joined(separator: ",") + "]"
        case .string(let s): return jsonQuoted(s)
        case .integer(let n): return String(n)
        case .signed(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case let .decimal(units, decimals):
            guard decimals > 0 else { return String(units) }
            var scale: UInt64 = 1
            for _ in 0..<decimals { scale *= 10 }
            let frac = String(units % scale)
            return "\(units / scale)." + String(repeating: "0", count: decimals - frac.count) + frac
        }
    }
}
