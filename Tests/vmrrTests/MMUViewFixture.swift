import Foundation
import Testing
import VMRRBase
import VMRRGuest
import VMRRTestSupport

// The MMU views (`vmrr mmu`, docs/MMU.md) on a real guest: the committed journal of the
// `paging` fixture guest (fixtures/journals/paging.vmrr). Every expectation comes from
// the guest's source header (fixtures/guests/paging/paging.c), which states exactly what
// the guest maps where and which faults it takes; PagingGuest below is that header as
// data. Table addresses the header does not state (the guest's static tables in .bss)
// come from the ELF's symbols or from `pt` walks, never from the output under test.
//
// The non-KVM tests read memory from the journal's checkpoints (`--no-kvm`); the "KVM MMU
// views" suite replays to exact events on /dev/kvm.

/// Helpers, nested so that their names stay out of the test module's namespace.
extension MMUViewTests {
    /// The paging guest's source header, as data.
    enum PagingGuest {
        static let kib4: UInt64 = 0x1000
        static let mib2: UInt64 = 0x20_0000

        /// A run of pages the guest maps in build_tables().
        struct Run {
            var gva: UInt64
            var gpa: UInt64
            var pageSize: UInt64
            var count: UInt64
            var noExecute: Bool
            var bytes: UInt64 { pageSize * count }
            var level: String { pageSize == PagingGuest.kib4 ? "PTE" : "PDE" }
        }

        /// "GVA GPA size flags" from step 1 of the header.
        static let built: [Run] = [
            Run(gva: 0x1000, gpa: 0x1000, pageSize: kib4, count: 511, noExecute: false),
            Run(gva: 0x20_0000, gpa: 0x20_0000, pageSize: mib2, count: 2, noExecute: false),
            Run(gva: 0xffff_8000_0000_0000, gpa: 0x30_0000, pageSize: kib4, count: 4, noExecute: true),
            Run(gva: 0xffff_8000_0020_0000, gpa: 0x20_0000, pageSize: mib2, count: 1, noExecute: true),
        ]

        /// One row of the fault table in step 4 of the header.
        struct Fault: CustomTestStringConvertible, Sendable {
            var n: Int
            var cr2: UInt64
            /// Tables the handler allocates, top-down.
            var newTables: [UInt64]
            var leafGVA: UInt64
            var leafGPA: UInt64
            /// The entry that was missing: the one above the topmost new table (PTE when none is new).
            var failingLevel: String { ["PTE", "PDE", "PDPTE", "PML4E"][newTables.count] }
            /// Index of cr2 at the failing level.
            var failingIndex: UInt64 { (cr2 >> (12 + 9 * UInt64(newTables.count))) & 511 }
            var testDescription: String { "fault \(n) at \(hex(cr2))" }
        }

        static let faults: [Fault] = [
            Fault(n: 1, cr2: 0x60_0000, newTables: [0x40_0000], leafGVA: 0x60_0000, leafGPA: 0x40_1000),
            Fault(n: 2, cr2: 0x4000_0000, newTables: [0x40_2000, 0x40_3000], leafGVA: 0x4000_0000, leafGPA: 0x40_4000),
            Fault(n: 3, cr2: 0x4000_1008, newTables: [], leafGVA: 0x4000_1000, leafGPA: 0x40_5000),
            Fault(n: 4, cr2: 0x7f00_0000_0000, newTables: [0x40_6000, 0x40_7000, 0x40_8000],
                  leafGVA: 0x7f00_0000_0000, leafGPA: 0x40_9000),
            Fault(n: 5, cr2: 0xffff_8000_0000_5000, newTables: [], leafGVA: 0xffff_8000_0000_5000, leafGPA: 0x40_a000),
        ]
        /// "#PF ... error code 0x2 (write, not present, supervisor)".
        static let faultErrorCode: UInt64 = 0x2

        /// Every mapping at the end of the run: the built runs plus one 4 KiB page per fault
        /// ("entries P W": executable).
        static var finalRuns: [Run] {
            built + faults.map { Run(gva: $0.leafGVA, gpa: $0.leafGPA, pageSize: kib4, count: 1, noExecute: false) }
        }

        /// The guest's static tables, by the symbols the header names.
        static let tableSymbols = ["pml4", "pdpt_low", "pd_low", "pt_low", "pdpt_high", "pd_high", "pt_high"]

        /// The journal's memory size (header: "memory 64 MiB").
        static let memorySize: UInt64 = 64 << 20

        static var journal: String { E2E.journalsDir.appendingPathComponent("paging.vmrr").path }
        static var image: String { Fixtures.guest("paging") }

        /// A few pages of a run: first, middle, last, each with an in-page offset.
        static func samples(_ r: Run) -> [(gva: UInt64, gpa: UInt64)] {
            Set([0, r.count / 2, r.count - 1]).sorted().map { i in
                let offset = (i * 0x18 + 0x10) & (r.pageSize - 1)
                return (r.gva &+ i * r.pageSize + offset, r.gpa + i * r.pageSize + offset)
            }
        }
    }

    /// One range of a ptdump / ptdiff, as text or JSON shows it.
    struct DumpRange: Equatable, CustomStringConvertible {
        var start: UInt64
        var end: UInt64
        var rights: String
        var level: String
        var target: UInt64?
        var attributes: [String] = []
        var description: String {
            "\(hex(start))-\(hex(end)) \(rights) \(level) -> \(target.map { hex($0) } ?? "-") \(attributes)"
        }
    }

    /// Parsing `vmrr mmu` output.
    enum MMUOutput {
        static func hexValue(_ s: Substring) -> UInt64? {
            guard s.hasPrefix("0x") else { return nil }
            return UInt64(s.dropFirst(2), radix: 16)
        }

        /// The range rows of a dump's text ("  0xSTART-0xEND  SIZE  RIGHTS  [ATTRS]  LEVEL  -> gpa|hva 0xT  [SLOT]").
        /// With `marker`, rows of a ptdiff that start with it ("+", "-", "~").
        static func ranges(_ text: String, marker: String? = nil) throws -> [DumpRange] {
            var out: [DumpRange] = []
            for line in text.split(separator: "\n") {
                var words = line.split(separator: " ")
                if let marker {
                    guard words.first.map(String.init) == marker else { continue }
                    words.removeFirst()
                }
                guard let first = words.first, first.hasPrefix("0x"), first.contains("-") else { continue }
                let ends = first.split(separator: "-")
                guard ends.count == 2, let start = hexValue(ends[0]), let end = hexValue(ends[1]) else {
                    throw TestFailure("bad range in: \(line)")
                }
                guard let arrow = words.firstIndex(of: "->"), arrow + 2 < words.count, arrow >= 4 else {
                    throw TestFailure("no target in: \(line)")
                }
                let target = hexValue(words[arrow + 2])
                let level = words[arrow - 1]
                // Rights are "RW kern x" style (3 words) for guest/shadow views, "RWX" for EPT/NPT.
                let rightsWords = words[2].count == 3 && words[2].allSatisfy({ "RWX-".contains($0) }) ? 1 : 3
                let rights = words[2..<(2 + rightsWords)].joined(separator: " ")
                var level2 = String(level)
                // EPT/NPT levels are two words ("EPT PDE").
                if ["EPT", "NPT"].contains(String(words[arrow - 2])) { level2 = "\(words[arrow - 2]) \(level)" }
                let attrEnd = level2.contains(" ") ? arrow - 2 : arrow - 1
                let attributes = words[(2 + rightsWords)..<attrEnd].map(String.init)
                out.append(DumpRange(start: start, end: end, rights: rights, level: level2, target: target,
                                     attributes: attributes))
            }
            return out
        }

        /// "RW kern x" from a JSON permissions object, as the guest and shadow views print it.
        static func rights(_ p: [String: Any]) -> String {
            ((p["write"] as? Bool) == true ? "RW" : "ro") + " " + ((p["user"] as? Bool) == true ? "user" : "kern") + " "
                + ((p["execute"] as? Bool) == true ? "x" : "NX")
        }

        /// The ranges of a ptdump/shadow dump JSON result.
        static func ranges(json: [String: Any]) throws -> [DumpRange] {
            let list = try #require(json["ranges"] as? [[String: Any]])
            return try list.map { r in
                let start = try #require(r.int("start")), size = try #require(r.int("size"))
                let p = try #require(r["permissions"] as? [String: Any])
                return DumpRange(start: start, end: start &+ size, rights: rights(p), level: r.str("level") ?? "?",
                                 target: r.int("target"), attributes: (r["attributes"] as? [String]) ?? [])
            }
        }

        /// "0x" and 16 digits, as the views print addresses.
        static func hex16(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, 16 - s.count)) + s
        }

        /// The last line starting with "  =>".
        static func outcome(_ text: String) -> String {
            text.split(separator: "\n").last { $0.hasPrefix("  =>") }.map(String.init) ?? ""
        }

        /// The walk table rows of `pt` output: (level, table, index, value, flags words).
        struct Row {
            var level: String
            var table: UInt64
            var index: UInt64
            var value: UInt64
            var flags: [String]
        }

        static func rows(_ text: String) -> [Row] {
            text.split(separator: "\n").compactMap { line in
                let w = line.split(separator: " ")
                guard w.count >= 5, ["PML4E", "PDPTE", "PDE", "PTE"].contains(String(w[0])),
                      let table = hexValue(w[1]), let index = UInt64(w[2]), let value = hexValue(w[4]) else { return nil }
                // flags run until the effective rights ("RW"/"ro" followed by "kern"/"user", or "-").
                var flags: [String] = []
                var i = 5
                while i < w.count, w[i] != "-", !(i + 1 < w.count && ["kern", "user"].contains(String(w[i + 1]))) {
                    flags.append(String(w[i]))
                    i += 1
                }
                return Row(level: String(w[0]), table: table, index: index, value: value, flags: flags)
            }
        }
    }

    /// Runs `vmrr mmu` and checks the common shape of a successful run.
    enum MMURun {
        /// `vmrr mmu JOURNAL ARGS` with status 0 and nothing on stderr.
        static func text(_ args: [String], journal: String = PagingGuest.journal,
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            let r = try Fixtures.vmrr(["mmu", journal] + args, timeout: 120)
            try #require(r.exited && r.status == 0,
                         "vmrr mmu \(args.joined(separator: " ")): status \(r.status): \(r.stderr)",
                         sourceLocation: sourceLocation)
            #expect(r.stderr.isEmpty, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
            return r.stdout
        }

        /// The same with --json, parsed.
        static func json(_ args: [String], journal: String = PagingGuest.journal,
                         sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
            let out = try text(["--json"] + args, journal: journal, sourceLocation: sourceLocation)
            let obj = try JSONSerialization.jsonObject(with: Data(out.utf8))
            return try #require(obj as? [String: Any], "not a JSON object: \(out.prefix(200))", sourceLocation: sourceLocation)
        }

        /// Journal-memory views: `--no-kvm`, at the final checkpoint unless `at` is given.
        static func offline(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            try text(["--no-kvm"] + args, sourceLocation: sourceLocation)
        }
        static func offlineJSON(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
            try json(["--no-kvm"] + args, sourceLocation: sourceLocation)
        }

        /// The guest walk's table addresses for a GVA (JSON `pt`), top level first.
        static func tables(_ gva: UInt64, at: [String] = []) throws -> [UInt64] {
            let j = try offlineJSON(at + ["pt", hex(gva)])
            let steps = try #require(j.obj("result")?.list("steps"))
            return steps.compactMap { $0.int("table") }
        }
    }
}

extension Dictionary where Key == String, Value == Any {
    func obj(_ k: String) -> [String: Any]? { self[k] as? [String: Any] }
    func list(_ k: String) -> [[String: Any]]? { self[k] as? [[String: Any]] }
}
