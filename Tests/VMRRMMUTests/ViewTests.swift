import Testing
@testable import VMRRMMU

@Suite("Dumps, shadow and diff")
struct ViewTests {
    @Test func guestDumpMergesRunsInCanonicalAddresses() {
        let b = Fixture.builder()
        let d = PTDump.guest(context: b.context(), memory: b.memory)
        #expect(d.ranges.count == 5)
        #expect(d.ranges[0].start == 0x40_0000 && d.ranges[0].size == 0x3000 && d.ranges[0].target == 0x10_0000)
        #expect(d.ranges[3].start == 0xFFFF_8880_0000_0000 && d.ranges[3].size == 0x80_0000)
        #expect(d.ranges[3].level == "PDE" && d.ranges[3].attributes == ["G"])
        #expect(d.ranges.last?.start == 0xFFFF_FFFF_8000_0000)
        // Sorted and non-overlapping.
        for (a, b) in zip(d.ranges, d.ranges.dropFirst()) { #expect(a.end <= b.start) }
    }

    @Test func runsBreakOnFlagsLevelAndTarget() {
        var b = TableBuilder(mode: .level4)
        b.map(0x1000, to: 0x10_000)
        b.map(0x2000, to: 0x11_000)                                    // continues
        b.map(0x3000, to: 0x13_000)                                    // target jump
        b.map(0x4000, to: 0x14_000, bits: [.present, .user])           // flags change
        b.map(0x20_0000, to: 0x20_0000, size: .size2M)                 // level change, adjacent? no: gap
        let d = PTDump.guest(context: b.context(), memory: b.memory)
        #expect(d.ranges.map(\.size) == [0x2000, 0x1000, 0x1000, 0x20_0000])
    }

    @Test func selfReferencingTablesDumpTerminates() {
        var b = TableBuilder(mode: .level4)
        b.map(0x40_0000, to: 0x10_000)
        b.memory.write64(0x1000 + 511 * 8, 0x1000 | X86EntryBits([.present, .writable]).rawValue)
        let d = PTDump.guest(context: b.context(), memory: b.memory)
        #expect(!d.truncated)
        #expect(d.notes.contains { $0.contains("self-reference") })
        // The recursive slot shows the tables themselves as pages, in the upper half.
        #expect(d.ranges.contains { $0.start >> 63 == 1 && $0.target == 0x1000 })
        #expect(d.ranges.contains { $0.start == 0x40_0000 })
    }

    @Test func everyEntrySelfReferencingStaysBounded() {
        var memory = ByteArrayMemory(size: 0x2000)
        for i: UInt64 in 0..<512 { memory.write64(0x1000 + i * 8, 0x1000 | X86EntryBits([.present, .writable]).rawValue) }
        let ctx = TableBuilder(mode: .level4).context()
        let scan = GuestScan.scan(context: ctx, memory: memory, limits: ScanLimits(maxTableVisits: 200))
        #expect(scan.truncated)
        #expect(scan.tableVisits == 200)
        #expect(scan.tableFrames == [0x1000])
        let d = PTDump.guest(scan: scan, context: ctx)
        #expect(d.truncated)
        #expect(!d.ranges.isEmpty)
        // The shadow model on the same tables terminates too.
        let shadow = ShadowModel(context: ctx, memory: memory, secondStage: SecondStage(slots: Fixture.slots),
                                 limits: ScanLimits(maxTableVisits: 50)).dump()
        #expect(shadow.dump.truncated)
        #expect(shadow.summary.writeProtectedFrames == [0x1000])
    }

    @Test func tablesOutsideMemoryAreNotedNotFatal() {
        var b = TableBuilder(mode: .level4)
        b.map(0x40_0000, to: 0x10_000)
        b.memory.write64(0x1000 + 8, 0x4000_0000 | X86EntryBits([.present, .writable]).rawValue)
        let d = PTDump.guest(context: b.context(), memory: b.memory)
        #expect(d.ranges.count == 1)
        #expect(d.notes.contains { $0.contains("outside guest memory") })
    }

    @Test func legacyAndPAEDumps() {
        var legacy = TableBuilder(mode: .legacy32)
        legacy.map(0xC000_0000, to: 0x40_0000, size: .size4M)
        legacy.map(0xC040_0000, to: 0x80_0000, size: .size4M)
        let d = PTDump.guest(context: legacy.context(cr4: .pageSizeExtensions), memory: legacy.memory)
        #expect(d.ranges.count == 1 && d.ranges[0].size == 0x80_0000 && d.ranges[0].level == "PDE")
        var pae = TableBuilder(mode: .pae)
        pae.map(0xC000_0000, to: 0x20_0000, size: .size2M)
        pae.map(0x1000, to: 0x5000)
        let p = PTDump.guest(context: pae.context(), memory: pae.memory)
        #expect(p.ranges.map(\.start) == [0x1000, 0xC000_0000])
    }

    @Test func shadowWriteProtectsPageTableFrames() {
        let ctx = Fixture.context()
        let model = ShadowModel(context: ctx.paging, memory: ctx.memory, secondStage: SecondStage(slots: Fixture.slots))
        #expect(model.pageTableFrames.first == 0x1000)
        #expect(model.pageTableFrames.count == 12)
        // The direct map's writable mapping of a page-table frame becomes read-only, 4 KiB.
        guard case .mapped(let m) = model.entry(for: 0xFFFF_8880_0000_3000).outcome else {
            Issue.record("not mapped")
            return
        }
        #expect(m.writeProtected)
        #expect(!m.permissions.contains(.write))
        #expect(m.pageSize == .size4K && m.guestPageSize == .size2M)
        #expect(m.hostBase == 0x7F00_0000_3000)
        #expect(X86EntryBits(rawValue: m.raw).contains(.writable) == false)
        // The same 2 MiB page, outside the table frames: writable but still 4 KiB (split page).
        guard case .mapped(let n) = model.entry(for: 0xFFFF_8880_0010_0000).outcome else {
            Issue.record("not mapped")
            return
        }
        #expect(!n.writeProtected && n.permissions.contains(.write) && n.pageSize == .size4K)
        // The next 2 MiB page holds no tables: one 2 MiB shadow entry.
        guard case .mapped(let big) = model.entry(for: 0xFFFF_8880_0020_0000).outcome else {
            Issue.record("not mapped")
            return
        }
        #expect(big.pageSize == .size2M && big.splitReason == nil)
        // Read-only guest mappings are not "write-protected" by the shadow: they were never writable.
        if case .mapped(let text) = model.entry(for: 0x40_0000).outcome { #expect(!text.writeProtected) }
        if case .notMapped = model.entry(for: 0x50_0000).outcome {} else { Issue.record("0x500000 mapped") }
    }

    @Test func shadowCountsAndSecondStageRestrictions() {
        let ctx = Fixture.context()
        let stage = SecondStage(slots: Fixture.slots)
        let (dump, summary) = ShadowModel(context: ctx.paging, memory: ctx.memory, secondStage: stage).dump()
        // PML4; PDPT for the low 512G, 0xffff8880.., 0xffffff80..: 3? (see golden) PDs and PTs per region.
        #expect(summary.pagesPerLevel.map(\.name) == ["PML4", "PDPT", "PD", "PT"])
        #expect(summary.shadowTablePages == summary.pagesPerLevel.reduce(0) { $0 + $1.count })
        #expect(summary.pagesPerLevel[3].count == 4)   // 0x400000, 0x600000, stack, split direct-map 2M
        #expect(summary.eptTablePages == stage.tablePageCount)
        #expect(dump.ranges.filter { $0.attributes.contains("wp") }.map(\.size) == [0xC000])
        // A guest writable page on a read-only slot: the shadow entry is read-only, not "wp".
        var b = Fixture.builder()
        b.map(0x70_0000, to: 0xFFFC_0000, bits: [.present, .writable, .user])
        let rom = ShadowModel(context: b.context(), memory: b.memory, secondStage: stage).entry(for: 0x70_0000)
        if case .mapped(let m) = rom.outcome {
            #expect(!m.permissions.contains(.write) && !m.writeProtected && m.slot.name == "rom")
        } else {
            Issue.record("rom page not mapped")
        }
    }

    @Test func diffFindsAddedRemovedChanged() {
        let before = Fixture.builder()
        var after = Fixture.builder()
        after.map(0x80_0000, to: 0x14_0000)                                            // added
        after.write(after.entryAddress(0x60_1000, level: 1), 0)                         // removed
        after.map(0x40_1000, to: 0x10_1000, bits: [.present, .writable, .user])         // changed (RW)
        let changes = PTDiff.diff(PTDump.guest(context: before.context(), memory: before.memory).ranges,
                                  PTDump.guest(context: after.context(), memory: after.memory).ranges)
        #expect(changes.map(\.kind) == [.changed, .removed, .added])
        #expect(changes[0].start == 0x40_1000 && changes[0].size == 0x1000)
        #expect(changes[0].old?.permissions.contains(.write) == false && changes[0].new?.permissions.contains(.write) == true)
        #expect(changes[1].start == 0x60_1000)
        #expect(changes[2].new?.target == 0x14_0000)
        #expect(PTDiff.diff(changes.isEmpty ? [] : [changes[2].new!], [changes[2].new!]).isEmpty)
    }

    @Test func diffMergesAdjacentChanges() {
        let a = [MappingRange(start: 0, size: 0x4000, target: 0x1000, permissions: [.write], attributes: [], level: "PTE")]
        let b = [MappingRange(start: 0, size: 0x4000, target: 0x1000, permissions: [], attributes: [], level: "PTE")]
        let changes = PTDiff.diff(a, b)
        #expect(changes.count == 1 && changes[0].size == 0x4000 && changes[0].kind == .changed)
    }
}

@Suite("Command parsing")
struct CommandParsingTests {
    @Test func addresses() {
        #expect(MMUCommands.parseAddress("0x1000") == 0x1000)
        #expect(MMUCommands.parseAddress("4096") == 4096)
        #expect(MMUCommands.parseAddress("0xffff_8000_0000_0000") == 0xFFFF_8000_0000_0000)
        #expect(MMUCommands.parseAddress("1_000") == 1000)
        #expect(MMUCommands.parseAddress("0X10") == 16)
        for bad in ["xyz", "0x", "", "-1", "0x1_0000_0000_0000_0000", "12abc", "0xg"] {
            #expect(MMUCommands.parseAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func errorsNameTheProblemAndTheForm() {
        let ctx = Fixture.context()
        func error(_ args: [String]) -> String {
            do {
                _ = try MMUCommands.run(args, context: ctx)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(error(["pt", "xyz"]) == "pt: bad address 'xyz': expected a number such as 0x1000 or 4096")
        #expect(error(["pt"]) == "pt: missing address: usage: pt GVA [--user|--implicit] [--write|--fetch]")
        #expect(error(["pt", "1", "2"]) == "pt: unexpected '2': usage: pt GVA [--user|--implicit] [--write|--fetch]")
        #expect(error(["ept", "1", "--user"]) == "ept: unknown option '--user': usage: ept GPA [--npt]")
        #expect(error(["pt", "1", "--write", "--fetch"]).contains("exclude each other"))
        #expect(error(["ptdump", "foo"]) == "ptdump: unknown view 'foo': expected guest, ept, npt or shadow")
        #expect(error(["frob"]) == "unknown MMU command 'frob': expected one of ept, pt, ptdiff, ptdump, shadow, walk2d")
        #expect(error([]).hasPrefix("missing MMU command"))
        #expect(error(["ptdiff"]).hasPrefix("ptdiff: no earlier position"))
        #expect(Set(MMUCommands.help.keys) == Set(MMUCommands.usage.keys))
    }

    @Test func accessOptionsReachTheWalker() throws {
        let ctx = Fixture.context()
        let user = try MMUCommands.run(["pt", "0x401000", "--user", "--write"], context: ctx)
        #expect(user.contains("error code 0x0007 (P W U)"))
        let fetch = try MMUCommands.run(["pt", "0x401000", "--fetch"], context: ctx)
        #expect(fetch.contains("CR4.SMEP=1"))
        let implicitRead = try MMUCommands.run(["pt", "0x401000", "--implicit"], context: ctx)
        #expect(implicitRead.contains("implicit access"))
    }
}

@Suite("Five-level views")
struct FiveLevelViewTests {
    @Test func dumpShadowAndWalk2dOnFiveLevelTables() {
        var b = TableBuilder(mode: .level5)
        b.map(0xFF00_0000_0000_0000, to: 0x20_0000, size: .size2M)
        b.map(0x0000_8000_0000_1000, to: 0x30_0000)
        let ctx = b.context()
        let d = PTDump.guest(context: ctx, memory: b.memory)
        #expect(d.ranges.map(\.start) == [0x0000_8000_0000_1000, 0xFF00_0000_0000_0000])
        let slots = [MemorySlot(gpa: 0, size: 0x80_0000, hostAddress: 0x7F00_0000_1000, name: "ram")]
        let (_, summary) = ShadowModel(context: ctx, memory: b.memory, secondStage: SecondStage(slots: slots)).dump()
        #expect(summary.pagesPerLevel.map(\.name) == ["PML5", "PML4", "PDPT", "PD", "PT"])
        // The 2M guest page is split (its host address is only 4K congruent), so it needs a PT too.
        #expect(summary.pagesPerLevel.map(\.count) == [1, 2, 2, 2, 2])
        let w = TwoDimensionalWalker.walk(0x0000_8000_0000_1234, context: ctx, memory: b.memory,
                                          secondStage: SecondStage(slots: slots))
        #expect(w.referenceCount == 6 * 5 - 1)
    }
}
