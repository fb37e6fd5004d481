import Foundation
import Testing
import VMRRGuest

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
            var testDescription: String { "fault \(n) at \(E2E.hex(cr2))" }
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
            "\(E2E.hex(start))-\(E2E.hex(end)) \(rights) \(level) -> \(target.map(E2E.hex) ?? "-") \(attributes)"
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
            let j = try offlineJSON(at + ["pt", E2E.hex(gva)])
            let steps = try #require(j.obj("result")?.list("steps"))
            return steps.compactMap { $0.int("table") }
        }
    }
}

fileprivate extension Dictionary where Key == String, Value == Any {
    func obj(_ k: String) -> [String: Any]? { self[k] as? [String: Any] }
    func list(_ k: String) -> [[String: Any]]? { self[k] as? [[String: Any]] }
}

@Suite("MMU views on the paging guest's journal")
struct MMUViewTests {
    /// The final checkpoint (the default position): (id, event index) from `vmrr dump`.
    static func finalCheckpoint() throws -> (id: UInt64, index: UInt64) {
        let d = try E2E.dump(PagingGuest.journal)
        return try #require(d.checkpoints.last)
    }

    // MARK: pt

    @Test("pt: every mapping the header states ends at its GPA with its page size and flags")
    func ptStatedMappings() throws {
        let cp = try Self.finalCheckpoint()
        for run in PagingGuest.finalRuns {
            for (gva, gpa) in PagingGuest.samples(run) {
                let text = try MMURun.offline(["pt", E2E.hex(gva)])
                let j = try MMURun.offlineJSON(["pt", E2E.hex(gva)])
                #expect(j.str("position") == "checkpoint \(cp.id) (event \(cp.index))")
                #expect(j.str("command") == "pt" && j.str("view") == "guest")
                let result = try #require(j.obj("result"))
                let outcome = try #require(result.obj("outcome"))
                #expect(outcome.str("result") == "translated", "\(E2E.hex(gva)): \(outcome)")
                #expect(outcome.int("gpa") == gpa, "\(E2E.hex(gva))")
                #expect(outcome.int("pageSize") == run.pageSize, "\(E2E.hex(gva))")
                #expect(outcome.int("pageBase") == gpa & ~(run.pageSize - 1))
                let perms = try #require(outcome.obj("permissions"))
                #expect(perms["write"] as? Bool == true && perms["user"] as? Bool == false)
                #expect(perms["execute"] as? Bool == !run.noExecute, "\(E2E.hex(gva))")

                // Steps: 4 for a 4 KiB page, 3 for 2 MiB; non-leaf entries are exactly "P W" (+A);
                // the leaf is P W, PS for 2 MiB, NX for the higher-half pages.
                let steps = try #require(result.list("steps"))
                #expect(steps.count == (run.pageSize == PagingGuest.kib4 ? 4 : 3), "\(E2E.hex(gva))")
                for (i, s) in steps.enumerated() {
                    let flags = Set((s["flags"] as? [String]) ?? [])
                    #expect(flags.isSuperset(of: ["P", "RW"]) && !flags.contains("US"), "\(E2E.hex(gva)) step \(i): \(flags)")
                    #expect(flags.isSubset(of: ["P", "RW", "A", "D", "PS", "NX"]), "\(flags)")
                    let leaf = i == steps.count - 1
                    #expect(flags.contains("PS") == (leaf && run.pageSize == PagingGuest.mib2), "\(E2E.hex(gva)) step \(i)")
                    #expect(flags.contains("NX") == (leaf && run.noExecute), "\(E2E.hex(gva)) step \(i)")
                    let index = (gva >> (12 + 9 * UInt64(3 - i))) & 511
                    #expect(s.int("index") == index, "\(E2E.hex(gva)) step \(i)")
                    #expect(s.int("entryAddress") == (s.int("table") ?? 0) + index * 8)
                }
                #expect(steps.last?.str("level") == run.level)
                #expect(steps.last?.int("pageSize") == run.pageSize)

                // The text says the same.
                let rights = "RW kern " + (run.noExecute ? "NX" : "x")
                let size = run.pageSize == PagingGuest.kib4 ? "4K" : "2M"
                let base = gpa & ~(run.pageSize - 1)
                #expect(MMUOutput.outcome(text) == "  => gpa \(MMUOutput.hex16(gpa)) (\(size) page \(MMUOutput.hex16(base)) + \(E2E.hex(gpa - base))): \(rights)",
                        "\(text)")
                let rows = MMUOutput.rows(text)
                #expect(rows.map(\.level) == steps.compactMap { $0.str("level") })
                #expect(rows.map(\.table) == steps.compactMap { $0.int("table") })
                #expect(rows.map(\.value) == steps.compactMap { $0.int("value") })
                #expect(rows.map { Set($0.flags) } == steps.map { Set(($0["flags"] as? [String]) ?? []) })
            }
        }
    }

    @Test("pt: addresses the guest never mapped give #PF with the error code of the access and the level where the walk stopped")
    func ptUnmapped() throws {
        // (gva, level where the walk stops, index there): from the header's mappings.
        let cases: [(UInt64, String, UInt64)] = [
            (0x0, "PTE", 0),                        // "Page 0 is not mapped"
            (0x80_0000, "PDE", 4),                  // after the two 2 MiB pages and fault 1's page table (PDE 3)
            (0x4000_2000, "PTE", 2),                // next to faults 2 and 3 (PTEs 0, 1 of PT 0x403000)
            (0x8000_0000, "PDPTE", 2),              // pdpt_low[2]: only PDPTEs 0 and 1 (fault 2) exist
            (0x80_0000_0000, "PML4E", 1),           // PML4 index 1
            (0xffff_8000_0000_4000, "PTE", 4),      // after the four higher-half 4 KiB pages
            (0xffff_8000_4000_0000, "PDPTE", 1),    // pdpt_high[1]
        ]
        for (gva, lvl, idx) in cases {
            for (options, code) in [([String](), UInt64(0)), (["--write"], 2), (["--user"], 4), (["--user", "--write"], 6)] {
                let text = try MMURun.offline(["pt", E2E.hex(gva)] + options)
                let j = try MMURun.offlineJSON(["pt", E2E.hex(gva)] + options)
                let outcome = try #require(j.obj("result")?.obj("outcome"))
                #expect(outcome.str("result") == "pageFault", "\(E2E.hex(gva)) \(options)")
                #expect(outcome.int("errorCode") == code, "\(E2E.hex(gva)) \(options)")
                #expect(outcome.str("level") == lvl, "\(E2E.hex(gva))")
                #expect(outcome.str("reason") == "\(lvl) \(idx) is not present", "\(E2E.hex(gva))")
                let steps = try #require(j.obj("result")?.list("steps"))
                #expect(steps.last?.int("value") == 0 && steps.last?.int("index") == idx)
                let bits = code == 0 ? "none" : [(2, "W"), (4, "U")].filter { code & $0.0 != 0 }.map(\.1).joined(separator: " ")
                let h = String(code, radix: 16)
                #expect(MMUOutput.outcome(text)
                        == "  => #PF, error code 0x\(String(repeating: "0", count: 4 - h.count) + h) (\(bits)) at \(lvl): \(lvl) \(idx) is not present",
                        "\(text)")
            }
        }
        // A mapped supervisor page read from user mode is a protection fault (P=1, U=1) at the leaf.
        let j = try MMURun.offlineJSON(["pt", "0x1000", "--user"])
        let outcome = try #require(j.obj("result")?.obj("outcome"))
        #expect(outcome.int("errorCode") == 0x5 && outcome.str("level") == "PTE")
        // A non-canonical address is #GP, not #PF.
        let gp = try MMURun.offlineJSON(["pt", "0x0000800000000000"])
        #expect(gp.obj("result")?.obj("outcome")?.str("result") == "generalProtection")
    }

    // MARK: ptdump guest

    /// The stated mappings merged as ptdump merges them: adjacent in GVA and GPA, same level and rights.
    static func expectedGuestRanges() -> [DumpRange] {
        var out: [DumpRange] = []
        for r in PagingGuest.finalRuns.sorted(by: { $0.gva < $1.gva }) {
            let rights = "RW kern " + (r.noExecute ? "NX" : "x")
            if var last = out.last, last.end == r.gva, last.rights == rights, last.level == r.level,
               let t = last.target, t + (last.end - last.start) == r.gpa {
                last.end = r.gva &+ r.bytes
                out[out.count - 1] = last
            } else {
                out.append(DumpRange(start: r.gva, end: r.gva &+ r.bytes, rights: rights, level: r.level, target: r.gpa))
            }
        }
        return out
    }

    @Test("ptdump guest lists exactly the stated mappings as ranges")
    func ptdumpGuest() throws {
        let expected = Self.expectedGuestRanges()
        #expect(expected.count == 8)   // faults 2 and 3 are adjacent in GVA and GPA: one range
        let text = try MMURun.offline(["ptdump", "guest"])
        let ranges = try MMUOutput.ranges(text)
        #expect(ranges == expected, "\(text)")
        let j = try MMURun.offlineJSON(["ptdump", "guest"])
        let result = try #require(j.obj("result"))
        #expect(try MMUOutput.ranges(json: result) == expected)
        #expect(result["truncated"] as? Bool == false)
        // Summary: bytes, leaf entries and table pages (7 static tables + the 6 the handler allocated).
        let bytes = PagingGuest.finalRuns.reduce(0) { $0 + $1.bytes }
        let leaves = PagingGuest.finalRuns.reduce(0) { $0 + $1.count }
        let tables = PagingGuest.tableSymbols.count + PagingGuest.faults.reduce(0) { $0 + $1.newTables.count }
        let summary = "\(expected.count) ranges, \(bytes >> 10)K mapped by \(leaves) leaf entries in \(tables) table pages"
        #expect(text.contains("\n" + summary + "\n") || text.hasSuffix("\n" + summary + "\n"), "\(text)")
        #expect((result["summary"] as? [String]) == [summary])
        // Lower and upper halves are labelled.
        let lines = text.split(separator: "\n").map(String.init)
        let lower = try #require(lines.firstIndex(of: "  ---[ lower half ]---"))
        let upper = try #require(lines.firstIndex(of: "  ---[ upper half ]---"))
        let firstHigh = try #require(lines.firstIndex { $0.hasPrefix("  0xffff8") })
        #expect(lower < upper && upper == firstHigh - 1)
    }

    // MARK: table frames

    /// The guest's page-table frames, from `pt` walks of every stated mapping and fault page.
    static func walkedTableFrames() throws -> Set<UInt64> {
        var frames: Set<UInt64> = []
        for run in PagingGuest.finalRuns {
            for (gva, _) in PagingGuest.samples(run) { frames.formUnion(try MMURun.tables(gva)) }
        }
        return frames
    }

    @Test("the walked table frames are the tables the guest built: cr3, its .bss tables and the handler's")
    func tableFrames() throws {
        let frames = try Self.walkedTableFrames()
        let image = try GuestImage.load(path: PagingGuest.image)
        var expected: Set<UInt64> = []
        for name in PagingGuest.tableSymbols { expected.insert(try #require(image.symbols.lookup(name), "no symbol \(name)")) }
        for f in PagingGuest.faults { expected.formUnion(f.newTables) }
        #expect(frames == expected)
        // cr3 (the walk's root) is pml4.
        let j = try MMURun.offlineJSON(["pt", "0x1000"])
        #expect(j.obj("result")?.list("steps")?.first?.int("table") == image.symbols.lookup("pml4"))
    }

    // MARK: ept

    @Test("ept GPA ends in the RAM slot at the GPA's offset; GPAs without RAM are EPT violations")
    func ept() throws {
        for gpa: UInt64 in [0x0, 0x10_a000, 0x40_1000, 0x40_a123, PagingGuest.memorySize - 1] {
            let text = try MMURun.offline(["ept", E2E.hex(gpa)])
            let j = try MMURun.offlineJSON(["ept", E2E.hex(gpa)])
            let walk = try #require(j.obj("result")?.obj("walk"))
            let outcome = try #require(walk.obj("outcome"))
            #expect(outcome.str("result") == "mapped" && outcome.str("slot") == "ram0")
            // Journal memory: the one slot covers all RAM at host address 0, so the offset in
            // the slot is the GPA, and the 2 MiB-aligned slot gets 2 MiB EPT pages.
            #expect(outcome.int("hva") == gpa)
            #expect(outcome.int("pageSize") == PagingGuest.mib2)
            let steps = try #require(walk.list("steps"))
            #expect(steps.compactMap { $0.str("level") } == ["EPT PML4E", "EPT PDPTE", "EPT PDE"])
            #expect(steps.compactMap { $0.int("index") } == [0, 0, gpa >> 21])
            let leaf = try #require(steps.last)
            #expect(leaf.int("value").map { $0 & 0x000f_ffff_ffe0_0000 } == gpa & ~(PagingGuest.mib2 - 1))
            #expect(Set((leaf["flags"] as? [String]) ?? []) == ["R", "W", "X", "IPAT", "L"])
            #expect(leaf.str("memoryType") == "WB")
            #expect(outcome.obj("hostFrame")?.str("reason")?.isEmpty == false)
            #expect(MMUOutput.outcome(text).hasPrefix(
                "  => slot \"ram0\" [0x0-\(E2E.hex(PagingGuest.memorySize))): hva \(MMUOutput.hex16(gpa)), host frame n/a: "), "\(text)")
            #expect(MMUOutput.outcome(text).hasSuffix("; 2M page, RWX"))
        }
        // Beyond RAM: no slot. (level, index) from the EPT layout: PD index 32 is the first
        // 2 MiB past 64 MiB; 0xfeb00000 (the devices) is in the 4th GiB, whose PDPTE is absent.
        for (gpa, level, index) in [(PagingGuest.memorySize, "PDE", 32), (UInt64(0xfeb0_0000), "PDPTE", 3)] {
            let text = try MMURun.offline(["ept", E2E.hex(gpa)])
            let j = try MMURun.offlineJSON(["ept", E2E.hex(gpa)])
            let outcome = try #require(j.obj("result")?.obj("walk")?.obj("outcome"))
            #expect(outcome.str("result") == "violation" && outcome.str("level") == level)
            #expect(MMUOutput.outcome(text)
                    == "  => EPT violation: EPT \(level) \(index) is not present (no memory slot: KVM exits for MMIO)")
        }
    }

    // MARK: walk2d

    @Test("walk2d costs (g+1)(n+1)-1 memory references, with n from the ept view's page size")
    func walk2d() throws {
        // n: EPT entries read per nested walk: 4 for 4 KiB EPT pages, 3 for 2 MiB, 2 for 1 GiB.
        let eptPage = try #require(try MMURun.offlineJSON(["ept", "0x1000"]).obj("result")?.obj("walk")?.obj("outcome")?.int("pageSize"))
        let n = [PagingGuest.kib4: 4, PagingGuest.mib2: 3, UInt64(1 << 30): 2][eptPage] ?? 0
        for (gva, g, size) in [(UInt64(0x1000), 4, "4K"), (0xffff_8000_0000_5000, 4, "4K"), (0x4000_1008, 4, "4K"),
                               (0x2a_bcde, 3, "2M"), (0xffff_8000_0020_07f8, 3, "2M")] {
            let expected = (g + 1) * (n + 1) - 1
            let text = try MMURun.offline(["walk2d", E2E.hex(gva)])
            let j = try MMURun.offlineJSON(["walk2d", E2E.hex(gva)])
            let result = try #require(j.obj("result"))
            #expect(result.int("referenceCount") == UInt64(expected), "\(E2E.hex(gva))")
            let refs = try #require(result.list("references"))
            #expect(refs.compactMap { $0.int("number") } == (1...UInt64(expected)).map { $0 })
            #expect(refs.filter { $0.str("stage") == "guest" }.count == g)
            let nested = try #require(result.list("nested"))
            #expect(nested.count == g + 1 && nested.allSatisfy { $0.int("references") == UInt64(n) })
            #expect(nested.last?.str("purpose") == "data page")
            let pt = try MMURun.offlineJSON(["pt", E2E.hex(gva)])
            let gpa = pt.obj("result")?.obj("outcome")?.int("gpa")
            #expect(result.obj("outcome")?.int("gpa") == gpa && gpa != nil)
            #expect(result.obj("outcome")?.int("guestPageSize") == (size == "4K" ? PagingGuest.kib4 : PagingGuest.mib2))
            let last = text.split(separator: "\n").last.map(String.init) ?? ""
            let nestedText = Array(repeating: String(n), count: g + 1).joined(separator: "+")
            #expect(last == "  a TLB miss costs \(expected) memory references = \(g) guest + \(nestedText) nested")
            #expect(MMUOutput.outcome(text).contains("guest \(size) page over EPT 2M page"))
        }
    }

    // MARK: shadow

    @Test("shadow GVA: the guest's rights, with W removed on page-table frames, pages split around them")
    func shadow() throws {
        let frames = try Self.walkedTableFrames()
        // Every sample page plus the table frames through their identity mappings.
        var gvas = PagingGuest.finalRuns.flatMap { PagingGuest.samples($0).map(\.gva) }
        gvas += frames.sorted().map { $0 + 0x10 }
        for gva in gvas {
            let j = try MMURun.offlineJSON(["shadow", E2E.hex(gva)])
            let text = try MMURun.offline(["shadow", E2E.hex(gva)])
            let result = try #require(j.obj("result"))
            let guest = try #require(result.obj("guest")?.obj("outcome"))
            try #require(guest.str("result") == "translated", "\(E2E.hex(gva))")
            let gpa = try #require(guest.int("gpa")), guestSize = try #require(guest.int("pageSize"))
            let gp = try #require(guest.obj("permissions"))
            let s = try #require(result.obj("shadow"))
            // The second stage of this VM: one writable RWX slot at host address 0.
            let size = try #require(s.int("pageSize"))
            let gpaBase = gpa & ~(size - 1)
            let holdsTables = frames.contains { $0 >= gpaBase && $0 < gpaBase + size }
            #expect(s.int("hvaBase") == gpaBase && s.int("gvaBase") == gva & ~(size - 1), "\(E2E.hex(gva))")
            #expect(s.int("guestPageSize") == guestSize)
            #expect(s["writeProtected"] as? Bool == (holdsTables && gp["write"] as? Bool == true), "\(E2E.hex(gva))")
            let sp = try #require(s.obj("permissions"))
            #expect(sp["write"] as? Bool == (gp["write"] as? Bool == true && !holdsTables), "\(E2E.hex(gva))")
            #expect(sp["user"] as? Bool == gp["user"] as? Bool && sp["execute"] as? Bool == gp["execute"] as? Bool)
            // Page size: the guest's, or 4 KiB when the guest's 2 MiB page holds a table frame.
            let guestPageHoldsTables = frames.contains { $0 >= gpa & ~(guestSize - 1) && $0 < (gpa & ~(guestSize - 1)) + guestSize }
            #expect(size == (guestPageHoldsTables ? PagingGuest.kib4 : guestSize), "\(E2E.hex(gva))")
            #expect((s["splitReason"] as? String != nil) == (size != guestSize))
            // The entry's value: the host address and the bits the rights give.
            let value = try #require(s.int("value"))
            #expect(value & 0x000f_ffff_ffff_f000 == gpaBase)
            #expect(value & 1 == 1 && (value >> 1) & 1 == ((sp["write"] as? Bool) == true ? 1 : 0))
            #expect(value >> 63 == ((sp["execute"] as? Bool) == true ? 0 : 1))
            #expect((value >> 7) & 1 == (size == PagingGuest.kib4 ? 0 : 1))
            // The text agrees.
            let rights = MMUOutput.rights(sp)
            #expect(text.contains("; \(rights), slot \"ram0\" [0x0-\(E2E.hex(PagingGuest.memorySize)))\n"), "\(text)")
            #expect(text.contains("write-protected: the page holds guest page tables") == (s["writeProtected"] as? Bool == true))
            #expect(text.contains("  shadow  gva \(MMUOutput.hex16(gva & ~(size - 1))) -> hva \(MMUOutput.hex16(gpaBase))  "))
        }
        // No guest mapping, no shadow entry.
        let none = try MMURun.offlineJSON(["shadow", "0x800000"])
        #expect(none.obj("result")?.obj("shadow")?.str("result") == "notMapped")
    }

    @Test("shadow dump: the guest's table frames, and only they, are write-protected; every range follows a guest mapping")
    func shadowDump() throws {
        let frames = try Self.walkedTableFrames()
        let j = try MMURun.offlineJSON(["shadow", "dump"])
        let result = try #require(j.obj("result"))
        let ranges = try MMUOutput.ranges(json: result)
        var protectedPages: Set<UInt64> = []
        for r in ranges where r.attributes.contains("wp") {
            #expect(r.rights.hasPrefix("ro"), "\(r)")
            var page = try #require(r.target)
            while page < r.target! + (r.end - r.start) { protectedPages.insert(page); page += PagingGuest.kib4 }
        }
        #expect(protectedPages == frames)
        // Every shadow range lies inside one guest range, maps the same GPA (= hva here) and has
        // the guest's rights, minus W where write-protected.
        let guest = Self.expectedGuestRanges()
        for r in ranges {
            let g = try #require(guest.first { $0.start <= r.start && r.end <= $0.end }, "\(r) is not a guest mapping")
            #expect(r.target == g.target.map { $0 + (r.start - g.start) }, "\(r)")
            let expectedRights = r.attributes.contains("wp") ? "ro" + g.rights.dropFirst(2) : g.rights
            #expect(r.rights == expectedRights, "\(r)")
        }
        // ... and together they cover every guest mapping.
        let covered = ranges.reduce(0) { $0 + ($1.end &- $1.start) }
        #expect(covered == guest.reduce(0) { $0 + ($1.end &- $1.start) })
        // The text: the same ranges, and the frame list (first 8, then "+N more").
        let text = try MMURun.offline(["shadow", "dump"])
        #expect(try MMUOutput.ranges(text) == ranges)
        let sorted = frames.sorted()
        let list = sorted.prefix(8).map(E2E.hex).joined(separator: " ")
            + (sorted.count > 8 ? " ... (+\(sorted.count - 8) more)" : "")
        #expect(text.contains("\n\(sorted.count) write-protected guest page-table frames: \(list)\n"), "\(text)")
        #expect((result["summary"] as? [String])?.last == "\(sorted.count) write-protected guest page-table frames: \(list)")
        // ptdump shadow is the same view.
        #expect(try MMURun.offline(["ptdump", "shadow"]) == text)
    }

    // MARK: errors

    /// COUNT and LAST stand for the journal's event count and last index, JOURNAL for its path,
    /// IO for the index of an io event.
    @Test("errors are one line on stderr and status 2", arguments: [
        (["frob", "0x1000"], "vmrr: mmu: unknown MMU command 'frob': expected one of ept, pt, ptdiff, ptdump, shadow, walk2d"),
        (["pt", "xyz"], "vmrr: mmu: pt: bad address 'xyz': expected a number such as 0x1000 or 4096"),
        (["ept", "0x1g"], "vmrr: mmu: ept: bad address '0x1g': expected a number such as 0x1000 or 4096"),
        (["shadow", "-5"], "vmrr: mmu: shadow: bad address '-5': expected a number such as 0x1000 or 4096"),
        (["--at", "COUNT", "pt", "0x1000"], "vmrr: mmu: event COUNT is out of range: JOURNAL has events 0 to LAST"),
        (["--at", "99999999999", "pt", "0x1000"], "vmrr: mmu: event 99999999999 is out of range: JOURNAL has events 0 to LAST"),
        (["--compare-at", "COUNT", "ptdiff"], "vmrr: mmu: --compare-at COUNT is out of range: events 0 to LAST"),
        (["--at", "IO", "fault"],
         "vmrr: mmu: event IO is an io event, not a page_fault or stage2_fault: find faults with vmrr dump JOURNAL --kind page_fault"),
    ])
    func errors(_ args: [String], message: String) throws {
        let d = try E2E.dump(PagingGuest.journal)
        let io = try #require(d.of("io").first?.index)
        func fill(_ s: String) -> String {
            s.replacingOccurrences(of: "COUNT", with: String(d.events.count))
                .replacingOccurrences(of: "LAST", with: String(d.events.count - 1))
                .replacingOccurrences(of: "JOURNAL", with: PagingGuest.journal)
                .replacingOccurrences(of: "IO", with: String(io))
        }
        let r = try Fixtures.vmrr(["mmu", PagingGuest.journal, "--no-kvm"] + args.map(fill))
        #expect(r.exited && r.status == 2, "status \(r.status)")
        #expect(r.stdout.isEmpty, "\(r.stdout)")
        #expect(r.stderrLines == [fill(message)], "\(r.stderr)")
        #expect(r.stderr.hasSuffix("\n") && r.stderr.filter { $0 == "\n" }.count == 1)
    }
}

/// Goldens: each view's whole output on the real journal, read line by line against the
/// guest's header and the ELF's symbols before being pinned (pml4 0x10a000, pdpt_low
/// 0x109000, pd_low 0x108000, pt_low 0x107000, pdpt_high 0x106000, pd_high 0x105000,
/// pt_high 0x104000; the handler's tables 0x400000, 0x402000-0x403000, 0x406000-0x408000).
/// Nothing is normalised: journal memory has no host state (the RAM slot is placed at host
/// address 0, so an "hva" equals its GPA, and host frames are "n/a"), and the header's
/// host-MMU line comes from the recording.
extension MMUViewTests {
    static let goldens: [(args: String, what: String, text: String)] = [
        ("pt 0xffff800000001010", "pt: a higher-half 4 KiB NX page", """
        pt 0xffff800000001010: 4-level paging (CR3 0x000000000010a000; WP NXE), supervisor read, at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags        effective
          PML4E  0x000000000010a000    256  0x000000000010a800  0x0000000000106023  P RW A       RW kern x
          PDPTE  0x0000000000106000      0  0x0000000000106000  0x0000000000105023  P RW A       RW kern x
          PDE    0x0000000000105000      0  0x0000000000105000  0x0000000000104023  P RW A       RW kern x
          PTE    0x0000000000104000      1  0x0000000000104008  0x8000000000301063  P RW A D NX  RW kern NX
          => gpa 0x0000000000301010 (4K page 0x0000000000301000 + 0x10): RW kern NX
        """),
        ("pt 0x800000 --write", "pt: a write to an address never mapped", """
        pt 0x0000000000800000: 4-level paging (CR3 0x000000000010a000; WP NXE), supervisor write, at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          level  table               index  entry at            value               flags   effective
          PML4E  0x000000000010a000      0  0x000000000010a000  0x0000000000109023  P RW A  RW kern x
          PDPTE  0x0000000000109000      0  0x0000000000109000  0x0000000000108023  P RW A  RW kern x
          PDE    0x0000000000108000      4  0x0000000000108020  0x0000000000000000          -
          => #PF, error code 0x0002 (W) at PDE: PDE 4 is not present
        """),
        ("ept 0x40a123", "ept: fault 5's page", """
        ept 0x000000000040a123: EPT, 4 levels, EPTP 0x0000007f0000005e (WB, walk length 4, A/D enabled), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: EPT (second stage, guest-physical -> host), built from 1 memory slots

          level      table               index  entry at            value               flags            effective
          EPT PML4E  0x0000007f00000000      0  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          EPT PDPTE  0x0000007f00001000      0  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          EPT PDE    0x0000007f00002000      2  0x0000007f00002010  0x00000000004000f7  R W X WB IPAT L  RWX
          => slot "ram0" [0x0-0x4000000): hva 0x000000000040a123, host frame n/a: journal memory has no host frames (a replay with /dev/kvm has); 2M page, RWX
        """),
        ("walk2d 0x1000", "walk2d: a 4 KiB guest page over 2 MiB EPT pages", """
        walk2d 0x0000000000001000: 4-level paging (CR3 0x000000000010a000; WP NXE) over EPT (4 levels), supervisor read, at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: two-dimensional walk (each guest-physical reference translated through EPT)

           #  reference     entry at            value               flags            effective
          guest PML4E at gpa 0x000000000010a000
           1  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
           2  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
           3  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x000000000010a000 (2M page of slot "ram0")
           4  PML4E[0]      0x000000000010a000  0x0000000000109023  P RW A           RW kern x
          guest PDPTE at gpa 0x0000000000109000
           5  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
           6  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
           7  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x0000000000109000 (2M page of slot "ram0")
           8  PDPTE[0]      0x0000000000109000  0x0000000000108023  P RW A           RW kern x
          guest PDE at gpa 0x0000000000108000
           9  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          10  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          11  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x0000000000108000 (2M page of slot "ram0")
          12  PDE[0]        0x0000000000108000  0x0000000000107023  P RW A           RW kern x
          guest PTE at gpa 0x0000000000107008
          13  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          14  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          15  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x0000000000107008 (2M page of slot "ram0")
          16  PTE[1]        0x0000000000107008  0x0000000000001023  P RW A           RW kern x
          data page at gpa 0x0000000000001000
          17  EPT PML4E[0]  0x0000007f00000000  0x0000007f00001007  R W X            RWX
          18  EPT PDPTE[0]  0x0000007f00001000  0x0000007f00002007  R W X            RWX
          19  EPT PDE[0]    0x0000007f00002000  0x00000000000000f7  R W X WB IPAT L  RWX
                -> hva 0x0000000000001000 (2M page of slot "ram0")
          => gpa 0x0000000000001000, hva 0x0000000000001000: guest 4K page over EPT 2M page, RW kern x
          a TLB miss costs 19 memory references = 4 guest + 3+3+3+3+3 nested
        """),
        ("shadow 0x10a000", "shadow: the PML4 frame, write-protected", """
        shadow 0x000000000010a000: shadow paging of 4-level paging (CR3 0x000000000010a000; WP NXE), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: shadow page tables (guest-virtual -> host)

          level  table               index  entry at            value               flags     effective
          PML4E  0x000000000010a000      0  0x000000000010a000  0x0000000000109023  P RW A    RW kern x
          PDPTE  0x0000000000109000      0  0x0000000000109000  0x0000000000108023  P RW A    RW kern x
          PDE    0x0000000000108000      0  0x0000000000108000  0x0000000000107023  P RW A    RW kern x
          PTE    0x0000000000107000    266  0x0000000000107850  0x000000000010a063  P RW A D  RW kern x
          guest: gpa 0x000000000010a000 (4K page 0x000000000010a000 + 0x0): RW kern x
          shadow  gva 0x000000000010a000 -> hva 0x000000000010a000  4K  PTE 0x000000000010a021  P A
          => hva 0x000000000010a000, host frame n/a: journal memory has no host frames (a replay with /dev/kvm has); ro kern x, slot "ram0" [0x0-0x4000000)
          => write-protected: the page holds guest page tables, so the shadow entry is read-only and guest writes to it exit to the hypervisor
        """),
        ("shadow 0x5fffff", "shadow: a guest 2 MiB page split around table frames", """
        shadow 0x00000000005fffff: shadow paging of 4-level paging (CR3 0x000000000010a000; WP NXE), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: shadow page tables (guest-virtual -> host)

          level  table               index  entry at            value               flags        effective
          PML4E  0x000000000010a000      0  0x000000000010a000  0x0000000000109023  P RW A       RW kern x
          PDPTE  0x0000000000109000      0  0x0000000000109000  0x0000000000108023  P RW A       RW kern x
          PDE    0x0000000000108000      2  0x0000000000108010  0x00000000004000e3  P RW A D PS  RW kern x
          guest: gpa 0x00000000005fffff (2M page 0x0000000000400000 + 0x1fffff): RW kern x
          shadow  gva 0x00000000005ff000 -> hva 0x00000000005ff000  4K  PTE 0x00000000005ff023  P RW A
          => hva 0x00000000005fffff, host frame n/a: journal memory has no host frames (a replay with /dev/kvm has); RW kern x, slot "ram0" [0x0-0x4000000)
          => 4K instead of the guest's 2M: the guest 2M page holds write-protected guest page tables
        """),
        ("shadow dump", "shadow dump", """
        shadow dump: shadow paging of 4-level paging (CR3 0x000000000010a000; WP NXE), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: shadow page tables (guest-virtual -> host)

          ---[ lower half ]---
          0x0000000000001000-0x0000000000104000  1036K  RW kern x       PTE  -> hva 0x0000000000001000  ram0
          0x0000000000104000-0x000000000010b000    28K  ro kern x   wp  PTE  -> hva 0x0000000000104000  ram0
          0x000000000010b000-0x0000000000200000   980K  RW kern x       PTE  -> hva 0x000000000010b000  ram0
          0x0000000000200000-0x0000000000400000     2M  RW kern x       PDE  -> hva 0x0000000000200000  ram0
          0x0000000000400000-0x0000000000401000     4K  ro kern x   wp  PTE  -> hva 0x0000000000400000  ram0
          0x0000000000401000-0x0000000000402000     4K  RW kern x       PTE  -> hva 0x0000000000401000  ram0
          0x0000000000402000-0x0000000000404000     8K  ro kern x   wp  PTE  -> hva 0x0000000000402000  ram0
          0x0000000000404000-0x0000000000406000     8K  RW kern x       PTE  -> hva 0x0000000000404000  ram0
          0x0000000000406000-0x0000000000409000    12K  ro kern x   wp  PTE  -> hva 0x0000000000406000  ram0
          0x0000000000409000-0x0000000000600000  2012K  RW kern x       PTE  -> hva 0x0000000000409000  ram0
          0x0000000000600000-0x0000000000601000     4K  RW kern x       PTE  -> hva 0x0000000000401000  ram0
          0x0000000040000000-0x0000000040002000     8K  RW kern x       PTE  -> hva 0x0000000000404000  ram0
          0x00007f0000000000-0x00007f0000001000     4K  RW kern x       PTE  -> hva 0x0000000000409000  ram0
          ---[ upper half ]---
          0xffff800000000000-0xffff800000004000    16K  RW kern NX      PTE  -> hva 0x0000000000300000  ram0
          0xffff800000005000-0xffff800000006000     4K  RW kern x       PTE  -> hva 0x000000000040a000  ram0
          0xffff800000200000-0xffff800000400000     2M  RW kern NX      PDE  -> hva 0x0000000000200000  ram0

        16 ranges; shadow tables need 14 pages (1 PML4, 3 PDPT, 4 PD, 6 PT) vs 3 EPT table pages for the same VM
        13 write-protected guest page-table frames: 0x104000 0x105000 0x106000 0x107000 0x108000 0x109000 0x10a000 0x400000 ... (+5 more)
        """),
        ("ptdump guest", "ptdump guest", """
        ptdump guest: 4-level paging (CR3 0x000000000010a000; WP NXE), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: guest page tables (first stage, guest-virtual -> guest-physical)

          ---[ lower half ]---
          0x0000000000001000-0x0000000000200000  2044K  RW kern x     PTE  -> gpa 0x0000000000001000
          0x0000000000200000-0x0000000000600000     4M  RW kern x     PDE  -> gpa 0x0000000000200000
          0x0000000000600000-0x0000000000601000     4K  RW kern x     PTE  -> gpa 0x0000000000401000
          0x0000000040000000-0x0000000040002000     8K  RW kern x     PTE  -> gpa 0x0000000000404000
          0x00007f0000000000-0x00007f0000001000     4K  RW kern x     PTE  -> gpa 0x0000000000409000
          ---[ upper half ]---
          0xffff800000000000-0xffff800000004000    16K  RW kern NX    PTE  -> gpa 0x0000000000300000
          0xffff800000005000-0xffff800000006000     4K  RW kern x     PTE  -> gpa 0x000000000040a000
          0xffff800000200000-0xffff800000400000     2M  RW kern NX    PDE  -> gpa 0x0000000000200000

        8 ranges, 8224K mapped by 523 leaf entries in 13 table pages
        """),
        ("ptdump ept", "ptdump ept", """
        ptdump ept: EPTP 0x0000007f0000005e (WB, walk length 4, A/D enabled), at checkpoint 2 (event 802)
        recording host MMU: paravirtual (shadow paging) | this view: EPT (second stage, guest-physical -> host)

          0x0000000000000000-0x0000000004000000  64M  RWX  WB IPAT  EPT PDE  -> hva 0x0000000000000000  ram0

        1 range, 64M mapped by 32 leaf entries in 3 table pages; EPTP 0x0000007f0000005e
        """),
    ]

    /// `ptdump shadow` prints the same as `shadow dump` (checked in shadowDump()).
    @Test("each view's output on the paging journal matches its golden", arguments: MMUViewTests.goldens.map { $0.args })
    func golden(_ args: String) throws {
        let g = try #require(Self.goldens.first { $0.args == args })
        let out = try MMURun.offline(args.split(separator: " ").map(String.init))
        #expect(out == g.text + "\n", "\(g.what): vmrr mmu --no-kvm \(args) differs from its golden:\n\(out)")
    }
}

/// The same views at exact events, replayed on KVM. Every run names the committed ELF with
/// --image, so these pass wherever the checkout is (the journal's header holds the path
/// it was recorded from).
extension MMUViewTests {
    @Suite("KVM MMU views", .serialized, .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
    struct KVM {
        /// `vmrr mmu` replaying on KVM.
        static func live(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            try MMURun.text(["--image", PagingGuest.image] + args, sourceLocation: sourceLocation)
        }
        static func liveJSON(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
            try MMURun.json(["--image", PagingGuest.image] + args, sourceLocation: sourceLocation)
        }

        /// The journal's page_fault events (`vmrr dump --json --kind page_fault`), checked
        /// against the header's fault table, paired with its rows.
        static func faultEvents() throws -> [(fault: PagingGuest.Fault, event: DumpEvent)] {
            let r = try Fixtures.vmrr(["dump", "--json", "--kind", "page_fault", PagingGuest.journal])
            try #require(r.status == 0, "\(r.stderr)")
            let events = try E2E.parse(r).events
            try #require(events.count == PagingGuest.faults.count, "\(events.map(\.line))")
            let pml4 = try #require(try GuestImage.load(path: PagingGuest.image).symbols.lookup("pml4"))
            for (f, e) in zip(PagingGuest.faults, events) {
                #expect(e.kind == "page_fault" && e.u("gva") == f.cr2 && e.u("error_code") == PagingGuest.faultErrorCode,
                        "\(f.testDescription): \(e.line)")
                #expect(e.u("cr3") == pml4, "\(e.line)")
            }
            return Array(zip(PagingGuest.faults, events))
        }

        static func positionLabel(_ event: UInt64) -> String { "event \(event) (replayed on KVM)" }

        @Test("fault at each page_fault event: the recorded gva and error code, and a walk failing where the guest had no entry yet")
        func faults() throws {
            for (f, e) in try Self.faultEvents() {
                let text = try Self.live(["--at", String(e.index), "fault"])
                let lines = text.split(separator: "\n").map(String.init)
                let rip = try #require(e.u("fault_rip")), cr3 = try #require(e.u("cr3"))
                #expect(lines.first == "page fault at event \(e.index): gva \(E2E.hex(f.cr2)), error code 0x2 "
                        + "(not present, write, supervisor), faulting rip \(E2E.hex(rip)), cr3 \(E2E.hex(cr3))", "\(text)")
                #expect(lines.count > 1 && lines[1].hasPrefix("pt \(MMUOutput.hex16(f.cr2)): 4-level paging")
                        && lines[1].hasSuffix(", supervisor write, at \(Self.positionLabel(e.index))"), "\(text)")
                #expect(MMUOutput.outcome(text) == "  => #PF, error code 0x0002 (W) at \(f.failingLevel): "
                        + "\(f.failingLevel) \(f.failingIndex) is not present", "\(f.testDescription):\n\(text)")
                // Every level above the missing entry is present; the missing one is zero.
                let rows = MMUOutput.rows(text)
                #expect(rows.count == 4 - f.newTables.count, "\(text)")
                #expect(rows.dropLast().allSatisfy { $0.flags.contains("P") } && rows.last?.value == 0)
                #expect(rows.first?.table == cr3)

                let j = try Self.liveJSON(["--at", String(e.index), "fault"])
                let fault = try #require(j.obj("fault"))
                #expect(fault.int("event") == e.index && fault.int("gva") == f.cr2 && fault.str("kind") == "page_fault")
                #expect(fault.int("errorCode") == PagingGuest.faultErrorCode && fault.int("cr3") == cr3 && fault.int("faultRip") == rip)
                let walk = try #require(j.obj("walk"))
                #expect(walk.str("command") == "pt" && walk.str("position") == Self.positionLabel(e.index))
                let outcome = try #require(walk.obj("result")?.obj("outcome"))
                // The walk's error code is the one the CPU pushed.
                #expect(outcome.str("result") == "pageFault" && outcome.int("errorCode") == PagingGuest.faultErrorCode)
                #expect(outcome.str("level") == f.failingLevel)
            }
        }

        @Test("pt between two faults: the first fault's page is mapped, the second's not (needs the replay to the exact event)")
        func ptBetweenFaults() throws {
            let faults = try Self.faultEvents()
            let checkpoints = Set(try E2E.dump(PagingGuest.journal).checkpoints.map(\.index))
            for (a, b) in zip(faults, faults.dropFirst()) {
                var at = (a.event.index + b.event.index) / 2
                while checkpoints.contains(at) { at += 1 }
                let mapped = try Self.liveJSON(["--at", String(at), "pt", E2E.hex(a.fault.leafGVA)])
                #expect(mapped.str("position") == Self.positionLabel(at))
                let m = try #require(mapped.obj("result")?.obj("outcome"))
                #expect(m.str("result") == "translated" && m.int("gpa") == a.fault.leafGPA && m.int("pageSize") == PagingGuest.kib4,
                        "\(a.fault.testDescription) at \(at): \(m)")
                let text = try Self.live(["--at", String(at), "pt", E2E.hex(b.fault.cr2), "--write"])
                #expect(MMUOutput.outcome(text) == "  => #PF, error code 0x0002 (W) at \(b.fault.failingLevel): "
                        + "\(b.fault.failingLevel) \(b.fault.failingIndex) is not present", "\(b.fault.testDescription) at \(at):\n\(text)")
                #expect(text.contains(", supervisor write, at \(Self.positionLabel(at))\n"))
                // Without KVM the same position shows the nearest checkpoint instead, and says so.
                let offline = try MMURun.offline(["--at", String(at), "pt", E2E.hex(a.fault.leafGVA)])
                #expect(offline.contains(", the nearest at or before event \(at): replaying to the exact event needs /dev/kvm"))
            }
        }

        @Test("ptdiff across a fault lists exactly the 4 KiB page the handler mapped", arguments: PagingGuest.faults)
        func ptdiffAcrossFault(_ f: PagingGuest.Fault) throws {
            let e = try #require(try Self.faultEvents().first { $0.fault.n == f.n }?.event)
            // Just before the fault's exit, and the next exit (the handler makes none: its first
            // exit after the fault is the guest's next console write, once the page is mapped).
            let before = e.index - 1, after = e.index + 1
            let text = try Self.live(["--at", String(after), "--compare-at", String(before), "ptdiff"])
            let expected = DumpRange(start: f.leafGVA, end: f.leafGVA &+ PagingGuest.kib4, rights: "RW kern x", level: "PTE",
                                     target: f.leafGPA)
            #expect(try MMUOutput.ranges(text, marker: "+") == [expected], "\(text)")
            #expect(try MMUOutput.ranges(text, marker: "-").isEmpty && MMUOutput.ranges(text, marker: "~").isEmpty)
            #expect(text.hasSuffix("\n1 added, 0 removed, 0 changed\n"), "\(text)")
            #expect(text.hasPrefix("ptdiff guest: \(Self.positionLabel(before)) -> \(Self.positionLabel(after))\n"))

            let j = try Self.liveJSON(["--at", String(after), "--compare-at", String(before), "ptdiff"])
            let changes = try #require(j.obj("result")?.list("changes"))
            #expect(changes.count == 1 && changes.first?.str("kind") == "added" && changes.first?["old"] is NSNull)
            let new = try #require(changes.first?.obj("new"))
            #expect(new.int("start") == f.leafGVA && new.int("size") == PagingGuest.kib4 && new.int("target") == f.leafGPA)
            #expect(new.str("level") == "PTE")
        }

        @Test("ept at a replayed position: a real host virtual address, and a host frame or n/a with a reason")
        func eptLive() throws {
            let faults = try Self.faultEvents()
            let at = faults[0].event.index + 1
            for gpa: UInt64 in [faults[0].fault.leafGPA, 0x10_a008, PagingGuest.memorySize - 8] {
                let text = try Self.live(["--at", String(at), "ept", E2E.hex(gpa)])
                #expect(text.split(separator: "\n").first?.hasSuffix(", at \(Self.positionLabel(at))") == true, "\(text)")
                let line = MMUOutput.outcome(text)
                let prefix = "  => slot \"ram0\" [0x0-\(E2E.hex(PagingGuest.memorySize))): hva "
                try #require(line.hasPrefix(prefix), "\(text)")
                let rest = line.dropFirst(prefix.count)
                let hva = try #require(MMUOutput.hexValue(rest.prefix { $0 != "," }))
                // A user-space address of the mmap'd RAM: not the journal's placeholder (0 + gpa),
                // page-aligned relative to the GPA.
                #expect(hva != gpa && hva > gpa && hva < 1 << 47, "\(E2E.hex(hva))")
                #expect((hva - gpa) & 0xfff == 0)
                let frame = rest.drop { $0 != "," }.dropFirst(2)
                if frame.hasPrefix("host frame n/a: ") {
                    let reason = frame.dropFirst("host frame n/a: ".count).prefix { $0 != ";" }
                    #expect(!reason.isEmpty, "\(line)")
                } else {
                    // "host frame 0xPFN (hpa 0xHPA)": the HPA is the frame plus the page offset.
                    let words = frame.split(separator: " ")
                    try #require(words.count >= 5 && words[0] == "host" && words[1] == "frame", "\(line)")
                    let pfn = try #require(MMUOutput.hexValue(words[2]))
                    let hpa = try #require(MMUOutput.hexValue(words[4].prefix { $0 != ")" }))
                    #expect(pfn != 0 && hpa == pfn << 12 | (hva & 0xfff), "\(line)")
                }
                let j = try Self.liveJSON(["--at", String(at), "ept", E2E.hex(gpa)])
                let outcome = try #require(j.obj("result")?.obj("walk")?.obj("outcome"))
                let jhva = try #require(outcome.int("hva"))
                #expect(jhva != gpa && (jhva - gpa) & 0xfff == 0 && jhva < 1 << 47)
                let hf = try #require(outcome.obj("hostFrame"))
                #expect((hf.int("frame") ?? 0) > 0 || hf.str("reason")?.isEmpty == false, "\(hf)")
            }
        }

        @Test("--image lets vmrr mmu replay a journal whose recorded image is gone")
        func imageOption() throws {
            let dir = Fixtures.scratch()
            defer { try? FileManager.default.removeItem(at: dir) }
            let copy = dir.appendingPathComponent("paging.elf").path
            try FileManager.default.copyItem(atPath: PagingGuest.image, toPath: copy)
            let (rec, journal) = try E2E.record(copy, in: dir, name: "gone", options: ["--clock", "virtual", "--quiet"])
            try #require(rec.status == 0, "\(rec.stderr)")
            try FileManager.default.removeItem(atPath: copy)
            let d = try E2E.dump(journal)
            let at = try #require(d.of("page_fault").first?.index) + 1
            let without = try Fixtures.vmrr(["mmu", journal, "--at", String(at), "pt", "0x600000"])
            #expect(without.status == 2 && without.stderrLines.count == 1 && without.stderr.contains("pass --image PATH"),
                    "\(without.stderr)")
            let with = try MMURun.json(["--image", PagingGuest.image, "--at", String(at), "pt", "0x600000"], journal: journal)
            #expect(with.str("position") == Self.positionLabel(at))
            #expect(with.obj("result")?.obj("outcome")?.int("gpa") == PagingGuest.faults[0].leafGPA)
        }
    }
}
