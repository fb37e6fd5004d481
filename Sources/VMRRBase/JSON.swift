/// A JSON string literal: `"`, `\` and control characters (and DEL) escaped,
/// other Unicode kept. The one JSON string encoder for `dump --json`, the MMU
/// views' JSON and every other JSON vmrr writes.
public func jsonQuoted(_ s: String) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count + 2)
    appendJSONQuoted(s, to: &out)
    return String(decoding: out, as: UTF8.self)
}

/// `jsonQuoted(s)`'s UTF-8 bytes, appended (byte by byte: every byte that
/// needs an escape is ASCII, and the others are kept as they are).
public func appendJSONQuoted(_ s: String, to out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
        case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
        case UInt8(ascii: "\n"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
        case 0..<0x20, 0x7f:
            let digits = Array("0123456789abcdef".utf8)
            out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                    digits[Int(b >> 4)], digits[Int(b & 0xF)]])
        default: out.append(b)
        }
    }
    out.append(UInt8(ascii: "\""))
}

/// The one JSON value type of vmrr: `dump --json`, the MMU views' JSON and
/// every other JSON vmrr writes are built as these trees and rendered here.
/// Object members keep their insertion order.
public enum JSONValue: Sendable, Equatable {
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
        var out: [UInt8] = []
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `compact`'s UTF-8 bytes, appended: for documents too large to build as one string.
    public func write(to out: inout [UInt8]) {
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONQuoted(k, to: &out)
                out.append(UInt8(ascii: ":"))
                v.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, v) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .string(let s): appendJSONQuoted(s, to: &out)
        case .integer(let n): Self.appendDecimal(n, to: &out)
        case .signed(let n):
            if n < 0 { out.append(UInt8(ascii: "-")) }
            Self.appendDecimal(n.magnitude, to: &out)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case let .decimal(units, decimals):
            guard decimals > 0 else { Self.appendDecimal(units, to: &out); return }
            var scale: UInt64 = 1
            for _ in 0..<decimals { scale *= 10 }
            Self.appendDecimal(units / scale, to: &out)
            out.append(UInt8(ascii: "."))
            let frac = units % scale
            var width: UInt64 = 10
            for _ in 1..<decimals { if frac < scale / width { out.append(UInt8(ascii: "0")) }; width *= 10 }
            Self.appendDecimal(frac, to: &out)
        }
    }

    static func appendDecimal(_ n: UInt64, to out: inout [UInt8]) {
        guard n >= 10 else { out.append(UInt8(ascii: "0") + UInt8(n)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = n
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 { d[count] = UInt8(ascii: "0") + UInt8(v % 10); v /= 10; count += 1 }
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }
}
