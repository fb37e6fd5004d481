import Foundation
import Testing
import VMRRBase
import VMRRGuest
import VMRRTestSupport

// The MMU views on the paging guest's journal, read from its checkpoints (`--no-kvm`).
// PagingGuest and MMURun (MMUViewFixture.swift) hold what the guest's header states.

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
                let text = try MMURun.offline(["pt", hex(gva)])
                let j = try MMURun.offlineJSON(["pt", hex(gva)])
                #expect(j.str("position") == "checkpoint \(cp.id) (event \(cp.index))")
                #expect(j.str("command") == "pt" && j.str("view") == "guest")
                let result = try #require(j.obj("result"))
                let outcome = try #require(result.obj("outcome"))
                #expect(outcome.str("result") == "translated", "\(hex(gva)): \(outcome)")
                #expect(outcome.int("gpa") == gpa, "\(hex(gva))")
                #expect(outcome.int("pageSize") == run.pageSize, "\(hex(gva))")
                #expect(outcome.int("pageBase") == gpa & ~(run.pageSize - 1))
                let perms = try #require(outcome.obj("permissions"))
                #expect(perms["write"] as? Bool == true && perms["user"] as? Bool == false)
                #expect(perms["execute"] as? Bool == !run.noExecute, "\(hex(gva))")

                // Steps: 4 for a 4 KiB page, 3 for 2 MiB; non-leaf entries are exactly "P W" (+A);
                // the leaf is P W, PS for 2 MiB, NX for the higher-half pages.
                let steps = try #require(result.list("steps"))
                #expect(steps.count == (run.pageSize == PagingGuest.kib4 ? 4 : 3), "\(hex(gva))")
                for (i, s) in steps.enumerated() {
                    let flags = Set((s["flags"] as? [String]) ?? [])
                    #expect(flags.isSuperset(of: ["P", "RW"]) && !flags.contains("US"), "\(hex(gva)) step \(i): \(flags)")
                    #expect(flags.isSubset(of: ["P", "RW", "A", "D", "PS", "NX"]), "\(flags)")
                    let leaf = i == steps.count - 1
                    #expect(flags.contains("PS") == (leaf && run.pageSize == PagingGuest.mib2), "\(hex(gva)) step \(i)")
                    #expect(flags.contains("NX") == (leaf && run.noExecute), "\(hex(gva)) step \(i)")
                    let index = (gva >> (12 + 9 * UInt64(3 - i))) & 511
                    #expect(s.int("index") == index, "\(hex(gva)) step \(i)")
                    #expect(s.int("entryAddress") == (s.int("table") ?? 0) + index * 8)
                }
                #expect(steps.last?.str("level") == run.level)
                #expect(steps.last?.int("pageSize") == run.pageSize)

                // The text says the same.
                let rights = "RW kern " + (run.noExecute ? "NX" : "x")
                let size = run.pageSize == PagingGuest.kib4 ? "4K" : "2M"
                let base = gpa & ~(run.pageSize - 1)
                #expect(MMUOutput.outcome(text) == "  => gpa \(MMUOutput.hex16(gpa)) (\(size) page \(MMUOutput.hex16(base)) + \(hex(gpa - base))): \(rights)",
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
                let text = try MMURun.offline(["pt", hex(gva)] + options)
                let j = try MMURun.offlineJSON(["pt", hex(gva)] + options)
                let outcome = try #require(j.obj("result")?.obj("outcome"))
                #expect(outcome.str("result") == "pageFault", "\(hex(gva)) \(options)")
                #expect(outcome.int("errorCode") == code, "\(hex(gva)) \(options)")
                #expect(outcome.str("level") == lvl, "\(hex(gva))")
                #expect(outcome.str("reason") == "\(lvl) \(idx) is not present", "\(hex(gva))")
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
            let text = try MMURun.offline(["ept", hex(gpa)])
            let j = try MMURun.offlineJSON(["ept", hex(gpa)])
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
                "  => slot \"ram0\" [0x0-\(hex(PagingGuest.memorySize))): hva \(MMUOutput.hex16(gpa)), host frame n/a: "), "\(text)")
            #expect(MMUOutput.outcome(text).hasSuffix("; 2M page, RWX"))
        }
        // Beyond RAM: no slot. (level, index) from the EPT layout: PD index 32 is the first
        // 2 MiB past 64 MiB; 0xfeb00000 (the devices) is in the 4th GiB, whose PDPTE is absent.
        for (gpa, level, index) in [(PagingGuest.memorySize, "PDE", 32), (UInt64(0xfeb0_0000), "PDPTE", 3)] {
            let text = try MMURun.offline(["ept", hex(gpa)])
            let j = try MMURun.offlineJSON(["ept", hex(gpa)])
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
            let text = try MMURun.offline(["walk2d", hex(gva)])
            let j = try MMURun.offlineJSON(["walk2d", hex(gva)])
            let result = try #require(j.obj("result"))
            #expect(result.int("referenceCount") == UInt64(expected), "\(hex(gva))")
            let refs = try #require(result.list("references"))
            #expect(refs.compactMap { $0.int("number") } == (1...UInt64(expected)).map { $0 })
            #expect(refs.filter { $0.str("stage") == "guest" }.count == g)
            let nested = try #require(result.list("nested"))
            #expect(nested.count == g + 1 && nested.allSatisfy { $0.int("references") == UInt64(n) })
            #expect(nested.last?.str("purpose") == "data page")
            let pt = try MMURun.offlineJSON(["pt", hex(gva)])
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
            let j = try MMURun.offlineJSON(["shadow", hex(gva)])
            let text = try MMURun.offline(["shadow", hex(gva)])
            let result = try #require(j.obj("result"))
            let guest = try #require(result.obj("guest")?.obj("outcome"))
            try #require(guest.str("result") == "translated", "\(hex(gva))")
            let gpa = try #require(guest.int("gpa")), guestSize = try #require(guest.int("pageSize"))
            let gp = try #require(guest.obj("permissions"))
            let s = try #require(result.obj("shadow"))
            // The second stage of this VM: one writable RWX slot at host address 0.
            let size = try #require(s.int("pageSize"))
            let gpaBase = gpa & ~(size - 1)
            let holdsTables = frames.contains { $0 >= gpaBase && $0 < gpaBase + size }
            #expect(s.int("hvaBase") == gpaBase && s.int("gvaBase") == gva & ~(size - 1), "\(hex(gva))")
            #expect(s.int("guestPageSize") == guestSize)
            #expect(s["writeProtected"] as? Bool == (holdsTables && gp["write"] as? Bool == true), "\(hex(gva))")
            let sp = try #require(s.obj("permissions"))
            #expect(sp["write"] as? Bool == (gp["write"] as? Bool == true && !holdsTables), "\(hex(gva))")
            #expect(sp["user"] as? Bool == gp["user"] as? Bool && sp["execute"] as? Bool == gp["execute"] as? Bool)
            // Page size: the guest's, or 4 KiB when the guest's 2 MiB page holds a table frame.
            let guestPageHoldsTables = frames.contains { $0 >= gpa & ~(guestSize - 1) && $0 < (gpa & ~(guestSize - 1)) + guestSize }
            #expect(size == (guestPageHoldsTables ? PagingGuest.kib4 : guestSize), "\(hex(gva))")
            #expect((s["splitReason"] as? String != nil) == (size != guestSize))
            // The entry's value: the host address and the bits the rights give.
            let value = try #require(s.int("value"))
            #expect(value & 0x000f_ffff_ffff_f000 == gpaBase)
            #expect(value & 1 == 1 && (value >> 1) & 1 == ((sp["write"] as? Bool) == true ? 1 : 0))
            #expect(value >> 63 == ((sp["execute"] as? Bool) == true ? 0 : 1))
            #expect((value >> 7) & 1 == (size == PagingGuest.kib4 ? 0 : 1))
            // The text agrees.
            let rights = MMUOutput.rights(sp)
            #expect(text.contains("; \(rights), slot \"ram0\" [0x0-\(hex(PagingGuest.memorySize)))\n"), "\(text)")
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
        let list = sorted.prefix(8).map { hex($0) }.joined(separator: " ")
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
        (["pt", "xyz"], "vmrr: mmu: pt: bad address 'xyz': expected a number such as 0x1000 or 4096, or a symbol of the guest image such as main+0x10"),
        (["ept", "0x1g"], "vmrr: mmu: ept: bad address '0x1g': expected a number such as 0x1000 or 4096, or a symbol of the guest image such as main+0x10"),
        (["shadow", "-5"], "vmrr: mmu: shadow: bad address '-5': expected a number such as 0x1000 or 4096, or a symbol of the guest image such as main+0x10"),
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
        // --image: the symbols are there wherever the checkout is (the header holds the recording's path).
        let r = try Fixtures.vmrr(["mmu", PagingGuest.journal, "--no-kvm", "--image", PagingGuest.image] + args.map(fill))
        #expect(r.exited && r.status == 2, "status \(r.status)")
        #expect(r.stdout.isEmpty, "\(r.stdout)")
        #expect(r.stderrLines == [fill(message)], "\(r.stderr)")
        #expect(r.stderr.hasSuffix("\n") && r.stderr.filter { $0 == "\n" }.count == 1)
    }
}
