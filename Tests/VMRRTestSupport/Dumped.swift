import Foundation
import VMRRGuest
import VMRRJournal
import VMRRReplay

/// One event of `vmrr dump --json`.
public struct DumpEvent {
    public let fields: [String: Any]
    public let line: String

    public init(fields: [String: Any], line: String) {
        self.fields = fields
        self.line = line
    }

    public var index: UInt64 { fields.int("index") ?? UInt64.max }
    public var kind: String { fields.str("kind") ?? "?" }
    public var rip: UInt64 { fields.int("rip") ?? 0 }
    public func u(_ key: String) -> UInt64? { fields.int(key) }
    public func s(_ key: String) -> String? { fields.str(key) }

    public var isConsoleWrite: Bool {
        kind == "io" && u("port") == UInt64(Layout.com1Base + Layout.uartTHR) && s("dir") == "out"
    }
}

/// A journal as `vmrr dump --json` shows it.
public struct Dumped {
    public let events: [DumpEvent]
    public let stderr: String

    public init(events: [DumpEvent], stderr: String) {
        self.events = events
        self.stderr = stderr
    }

    public var lines: [String] { events.map(\.line) }
    public func of(_ kind: String) -> [DumpEvent] { events.filter { $0.kind == kind } }
    /// Bytes the guest wrote to COM1's THR as console output (not with the
    /// divisor latch selected, not in loopback: `ConsoleFilter`).
    public var console: [UInt8] { consoleBytes(from: 0, through: .max) }
    public var consoleText: String { String(decoding: console, as: UTF8.self) }
    /// Console output produced by events `from...through`.
    public func consoleText(from first: UInt64, through last: UInt64 = .max) -> String {
        String(decoding: consoleBytes(from: first, through: last), as: UTF8.self)
    }
    public func consoleBytes(from first: UInt64, through last: UInt64) -> [UInt8] {
        var filter = ConsoleFilter(thrPort: Layout.com1Base + Layout.uartTHR)
        var out: [UInt8] = []
        for e in events where e.kind == "io" && e.s("dir") == "out" {
            guard let port = e.u("port").flatMap(UInt16.init(exactly:)), let value = e.u("value") else { continue }
            let byte = filter.observe(.io(port: port, size: 1, direction: .write, value: value))
            if let byte, e.index >= first && e.index <= last { out.append(byte) }
        }
        return out
    }
    public var end: DumpEvent? { events.last.flatMap { $0.kind == "end" ? $0 : nil } }
    /// (checkpoint id, event index) in journal order.
    public var checkpoints: [(id: UInt64, index: UInt64)] { of("checkpoint").map { ($0.u("id") ?? .max, $0.index) } }
}

extension Fixtures {
    /// Parses `vmrr dump --json` output into dictionaries.
    public static func jsonEvents(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8))
            guard let dict = obj as? [String: Any] else { throw TestFailure("not a JSON object: \(line)") }
            return dict
        }
    }
}

extension Dictionary where Key == String, Value == Any {
    /// A JSON number field as an unsigned integer.
    public func int(_ k: String) -> UInt64? {
        if let n = self[k] as? NSNumber { return n.uint64Value }
        return nil
    }
    /// A JSON string field.
    public func str(_ k: String) -> String? { self[k] as? String }
}
