import Testing
@testable import VMRRMMU
import VMRRBase

let ramHost: UInt64 = 0x7F00_0000_0000
let testSlots = [
    MemorySlot(gpa: 0, size: 0x4020_3000, hostAddress: ramHost, name: "ram"),                     // 1G + 2M + 12K
    MemorySlot(gpa: 0x8000_0000, size: 0x40_0000, hostAddress: 0x7F20_0000_1000, name: "misaligned"),  // 4K only
    MemorySlot(gpa: 0xFFFC_0000, size: 0x4_0000, hostAddress: 0x7F10_0000_3000, readOnly: true, name: "rom"),
]

@Suite("EPT and NPT")
struct SecondStageTests {
    @Test func everyLeafEntryMatchesTheSlots() {
        for format in SecondStageFormat.allCases {
            let stage = SecondStage(slots: testSlots, format: format)
            var covered: UInt64 = 0
            var previousEnd: UInt64 = 0
            for leaf in stage.leaves() {
                let slot = testSlots.first { $0.contains(leaf.gpa) }
                #expect(slot != nil)
                guard let slot else { continue }
                #expect(leaf.gpa >= previousEnd)
                #expect(leaf.gpa + leaf.size.bytes <= slot.end)
                #expect(leaf.host == slot.hostAddress + (leaf.gpa - slot.gpa))
                #expect(leaf.permissions.contains(.write) == !slot.readOnly)
                covered += leaf.size.bytes
                previousEnd = leaf.gpa + leaf.size.bytes
            }
            #expect(covered == testSlots.reduce(0) { $0 + $1.size })
        }
    }

    @Test func walksAgreeWithTheSlotsAtEveryPage() {
        for format in SecondStageFormat.allCases {
            let stage = SecondStage(slots: testSlots, format: format)
            for slot in testSlots {
                // Every page of the small slots; every 61st page of the 1 GiB one.
                let step: UInt64 = slot.size > 0x100_0000 ? 61 * 0x1000 : 0x1000
                for offset in stride(from: UInt64(0), to: slot.size, by: Int(step)) {
                    let walk = stage.walk(slot.gpa + offset + 0x123)
                    guard let m = walk.mapping else {
                        Issue.record("\(slot.name) + \(offset) not mapped: \(walk.outcome)")
                        return
                    }
                    #expect(m.hostAddress == slot.hostAddress + offset + 0x123)
                    #expect(m.slot.name == slot.name)
                    #expect(m.permissions.contains(.write) == !slot.readOnly)
                    #expect(m.permissions.isSuperset(of: [.read, .execute]))
                }
            }
        }
    }

    @Test func holesFault() {
        let stage = SecondStage(slots: testSlots)
        for hole: UInt64 in [0x4020_3000, 0x7FFF_F000, 0x8040_0000, 0xFFFB_F000, 0x1_0000_0000, 0xFEE0_0000] {
            let walk = stage.walk(hole)
            guard case .violation(_, let reason) = walk.outcome else {
                Issue.record("hole \(hex(hole)) is mapped")
                continue
            }
            #expect(reason.hasPrefix("EPT violation"))
        }
        #expect(stage.walk(1 << 48).steps.isEmpty)
    }

    @Test func largestPagesThatFit() {
        let stage = SecondStage(slots: testSlots)
        #expect(stage.walk(0x1234).mapping?.pageSize == .size1G)
        #expect(stage.walk(0x4000_1234).mapping?.pageSize == .size2M)
        #expect(stage.walk(0x4020_1234).mapping?.pageSize == .size4K)
        #expect(stage.walk(0x8020_0000).mapping?.pageSize == .size4K)   // HVA not congruent
        #expect(stage.walk(0x1234).steps.count == 2)
        #expect(stage.walk(0x4000_1234).steps.count == 3)
        #expect(stage.walk(0x4020_1234).steps.count == 4)
        // PML4 + PDPT + PD(1G..2G) + PT(tail) + PD(2G..3G) + 2 PT + PD(3G..4G) + PT(rom).
        #expect(stage.tablePageCount == 9)
        let capped = SecondStage(slots: testSlots, largestPage: .size2M)
        #expect(capped.walk(0x1234).mapping?.pageSize == .size2M)
    }

    @Test func eptEntryBitsAndPointer() {
        let stage = SecondStage(slots: testSlots)
        #expect(stage.pointer == SecondStage.syntheticTableBase | 6 | (3 << 3) | (1 << 6))
        let walk = stage.walk(0x4020_1000)
        let leaf = EPTEntryBits(rawValue: walk.steps.last!.raw)
        #expect(leaf.isSuperset(of: [.read, .write, .execute, .ignorePAT]))
        #expect(!leaf.contains(.largePage))
        #expect((walk.steps.last!.raw >> 3) & 7 == EPTMemoryType.writeBack.rawValue)
        #expect(walk.steps.last!.raw & 0x000F_FFFF_FFFF_F000 == ramHost + 0x4020_1000)
        #expect(walk.steps[0].tableAddress == SecondStage.syntheticTableBase)
        #expect(walk.steps[1].tableAddress == walk.steps[0].raw & 0x000F_FFFF_FFFF_F000)
        let large = EPTEntryBits(rawValue: stage.walk(0).steps.last!.raw)
        #expect(large.contains(.largePage))
        let rom = EPTEntryBits(rawValue: stage.walk(0xFFFC_0000).steps.last!.raw)
        #expect(!rom.contains(.write) && rom.contains(.read))
    }

    @Test func nptEntryBits() {
        let stage = SecondStage(slots: testSlots, format: .npt)
        #expect(stage.pointer == SecondStage.syntheticTableBase)
        let leaf = X86EntryBits(rawValue: stage.walk(0x1000).steps.last!.raw)
        #expect(leaf.isSuperset(of: [.present, .writable, .user, .pageSize]))
        #expect(!leaf.contains(.noExecute))
        let rom = X86EntryBits(rawValue: stage.walk(0xFFFC_0000).steps.last!.raw)
        #expect(rom.contains(.present) && !rom.contains(.writable) && !rom.contains(.pageSize))
        #expect(stage.walk(0x1000).steps.first?.name == "NPT PML4E")
    }

    @Test func overlappingAndUnalignedSlotsAreNoted() {
        let stage = SecondStage(slots: [
            MemorySlot(gpa: 0, size: 0x2000, hostAddress: 0x10_0000, name: "a"),
            MemorySlot(gpa: 0x1000, size: 0x1800, hostAddress: 0x20_0000, name: "b"),
        ])
        #expect(stage.walk(0x1000).mapping?.slot.name == "a")
        #expect(stage.notes.contains { $0.contains("overlaps") })
        #expect(stage.notes.contains { $0.contains("not 4 KiB aligned") })
    }

    @Test func fixedAndMissingHostFrames() throws {
        let frames = FixedHostFrames([0x7F00_0000_1000: 0x1234])
        #expect(try frames.hostFrame(forHostAddress: 0x7F00_0000_1FFF).get() == 0x1234)
        #expect(throws: HostFrameError.self) { try frames.hostFrame(forHostAddress: 0x7F00_0000_2000).get() }
        #expect(NoHostFrames(reason: "x").hostFrame(forHostAddress: 0) == .failure(HostFrameError("x")))
    }

    @Test func pagemapResolvesOwnMemory() {
        // A touched page of our own heap: either a real frame (root) or a clear reason.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { buffer.deallocate() }
        buffer.storeBytes(of: 42, as: UInt8.self)
        let address = UInt64(UInt(bitPattern: buffer))
        switch PagemapResolver().hostFrame(forHostAddress: address) {
        case .success(let pfn): #expect(pfn > 0)
        case .failure(let e): #expect(e.reason.contains("CAP_SYS_ADMIN") || e.reason.contains("open"))
        }
        // Address 0 is never mapped in our process.
        if case .success = PagemapResolver().hostFrame(forHostAddress: 0) { Issue.record("page 0 is present") }
    }
}

@Suite("Two-dimensional walk")
struct TwoDimensionalTests {
    /// Guest 4-level tables in low memory, mapping 4K, 2M and 1G pages.
    static func guest() -> TableBuilder {
        var b = TableBuilder(mode: .level4)
        b.map(0x40_1000, to: 0x30_0000)
        b.map(0x60_0000, to: 0x40_0000, size: .size2M)
        b.map(0x40_0000_0000, to: 0x4000_0000, size: .size1G)
        return b
    }

    func count(_ gva: UInt64, hostAddress: UInt64, slotSize: UInt64 = 0x8000_0000) -> TwoDimensionalWalk {
        let b = Self.guest()
        let stage = SecondStage(slots: [MemorySlot(gpa: 0, size: slotSize, hostAddress: hostAddress, name: "ram")])
        return TwoDimensionalWalker.walk(gva, context: b.context(), memory: b.memory, secondStage: stage)
    }

    @Test func twentyFourReferencesFor4KOver4K() {
        let w = count(0x40_1234, hostAddress: 0x7F00_0000_1000)   // HVA misaligned: 4K EPT pages
        #expect(w.referenceCount == 24)
        #expect(w.references.map(\.number) == Array(1...24))
        #expect(w.references.filter { $0.stage == .guest }.map(\.number) == [5, 10, 15, 20])
        #expect(w.nested.map(\.purpose) == ["guest PML4E", "guest PDPTE", "guest PDE", "guest PTE", "data page"])
        #expect(w.nested[0].guestPhysicalAddress == 0x1000)
        if case .translated(let gpa, let host, _, let g, let n) = w.outcome {
            #expect(gpa == 0x30_0234)
            #expect(host == 0x7F00_0000_1000 + 0x30_0234)
            #expect(g == .size4K && n == .size4K)
        } else {
            Issue.record("not translated: \(w.outcome)")
        }
    }

    @Test func fewerReferencesWithLargePages() {
        // (g+1)(n+1)-1 with g guest levels read and n nested levels per GPA.
        let twoMiB: UInt64 = 0x7F00_0020_0000, oneGiB: UInt64 = 0x7F00_0000_0000, fourKiB: UInt64 = 0x7F00_0000_1000
        #expect(count(0x40_1234, hostAddress: twoMiB).referenceCount == 5 * 4 - 1)      // 4K guest over 2M nested: 19
        #expect(count(0x40_1234, hostAddress: oneGiB).referenceCount == 5 * 3 - 1)      // over 1G nested: 14
        #expect(count(0x60_1234, hostAddress: fourKiB).referenceCount == 4 * 5 - 1)     // 2M guest over 4K: 19
        #expect(count(0x40_0000_1234, hostAddress: twoMiB).referenceCount == 3 * 4 - 1) // 1G guest over 2M: 11
        #expect(count(0x40_0000_1234, hostAddress: oneGiB).referenceCount == 3 * 3 - 1) // 1G over 1G: 8
    }

    @Test func nestedFailureStopsTheWalk() {
        let b = Self.guest()
        let stage = SecondStage(slots: [MemorySlot(gpa: 0x10_0000, size: 0x10_0000, hostAddress: 0x7F00_0000_0000,
                                                   name: "high")])
        let w = TwoDimensionalWalker.walk(0x40_1234, context: b.context(), memory: b.memory, secondStage: stage)
        guard case .nestedFailure(let purpose, let gpa, _) = w.outcome else {
            Issue.record("expected a nested failure: \(w.outcome)")
            return
        }
        #expect(purpose == "guest PML4E")
        #expect(gpa == 0x1000 + 0 * 8)
        #expect(w.references.allSatisfy { $0.stage == .nested })
    }

    @Test func pagingOffNeedsOnlyTheNestedWalk() {
        let b = TableBuilder(mode: .none)
        let stage = SecondStage(slots: [MemorySlot(gpa: 0, size: 0x10_0000, hostAddress: 0x7F00_0000_1000, name: "ram")])
        let w = TwoDimensionalWalker.walk(0x5000, context: b.context(), memory: b.memory, secondStage: stage)
        #expect(w.referenceCount == 4)
        #expect(w.formula == "0 guest + 4 nested")
    }
}
