import Testing
@testable import VMRRMMU

private let kernelRW: X86EntryBits = [.present, .writable]
private let userRW: X86EntryBits = [.present, .writable, .user]
private let userRO: X86EntryBits = [.present, .user]

private func gpa(_ r: WalkResult) -> UInt64? { r.translation?.address }

@Suite("Paging modes")
struct PagingModeTests {
    @Test func modeDerivation() {
        let pg = CR0Flags([.protectionEnable, .paging]).rawValue
        let pae = CR4Flags.physicalAddressExtension.rawValue
        let la57 = CR4Flags.la57.rawValue
        let lma = EFERFlags([.longModeEnable, .longModeActive]).rawValue
        #expect(PagingContext(cr0: CR0Flags.protectionEnable.rawValue, cr3: 0, cr4: pae, efer: lma).mode == .none)
        #expect(PagingContext(cr0: pg, cr3: 0, cr4: 0, efer: 0).mode == .legacy32)
        #expect(PagingContext(cr0: pg, cr3: 0, cr4: pae, efer: 0).mode == .pae)
        #expect(PagingContext(cr0: pg, cr3: 0, cr4: pae, efer: lma).mode == .level4)
        #expect(PagingContext(cr0: pg, cr3: 0, cr4: pae | la57, efer: lma).mode == .level5)
        // The vmrr boot state (docs/GUEST.md, "The entry state"): CR0=0x80050033, CR4=0x620, EFER=0xd01.
        #expect(PagingContext(cr0: 0x8005_0033, cr3: 0x1000, cr4: 0x620, efer: 0xd01).mode == .level4)
    }

    @Test func pagingOffIsIdentity() {
        let b = TableBuilder(mode: .none)
        let r = PageWalker.translate(0x1234_5678, context: b.context(), memory: b.memory, access: .userWrite)
        #expect(gpa(r) == 0x1234_5678)
        #expect(r.steps.isEmpty)
    }

    @Test func legacy32FourKiB() {
        var b = TableBuilder(mode: .legacy32)
        b.map(0xC010_3000, to: 0x0004_5000)
        let r = PageWalker.translate(0xC010_3ABC, context: b.context(), memory: b.memory, access: .userWrite)
        #expect(gpa(r) == 0x0004_5ABC)
        #expect(r.steps.map(\.name) == ["PDE", "PTE"])
        #expect(r.steps[0].index == 0x300)
        #expect(r.steps[1].index == 0x103)
        #expect(r.steps[0].entryAddress == 0x1000 + 0x300 * 4)
        #expect(r.translation?.pageSize == .size4K)
        #expect(r.translation?.permissions == [.read, .write, .user, .execute])
    }

    @Test func legacy32FourMiBAndPSE36() {
        var b = TableBuilder(mode: .legacy32)
        b.map(0x8000_0000, to: 0x12_3440_0000, size: .size4M)
        let ctx = b.context(cr4: .pageSizeExtensions, maxPhysAddrBits: 40)
        let r = PageWalker.translate(0x8012_3456, context: ctx, memory: b.memory, access: .supervisorRead)
        #expect(gpa(r) == 0x12_3452_3456)
        #expect(r.translation?.pageSize == .size4M)
        #expect(r.steps.count == 1)
        #expect(r.steps[0].flags.contains(.pageSize))

        // Without CR4.PSE the PS bit is ignored and the PDE points at a page table.
        let noPSE = PageWalker.translate(0x8012_3456, context: b.context(maxPhysAddrBits: 40), memory: b.memory,
                                         access: .supervisorRead)
        #expect(noPSE.steps.count == 2 || noPSE.translation == nil)
        #expect(noPSE.translation?.pageSize != .size4M)

        // With MAXPHYADDR 36 only address bits 35:32 fit: bit 17 (address bit 36) is reserved.
        let narrow = PageWalker.translate(0x8012_3456, context: b.context(cr4: .pageSizeExtensions, maxPhysAddrBits: 36),
                                          memory: b.memory, access: .supervisorRead)
        #expect(narrow.pageFault?.errorCode == [.present, .reservedBit])
        #expect(narrow.pageFault?.reason.contains("bits 21:17") == true)
    }

    @Test func legacy32Bit21IsReserved() {
        var b = TableBuilder(mode: .legacy32)
        b.map(0x8000_0000, to: 0x40_0000, size: .size4M, extra: 1 << 21)
        let r = PageWalker.translate(0x8000_0000, context: b.context(cr4: .pageSizeExtensions, maxPhysAddrBits: 40),
                                     memory: b.memory, access: .userRead)
        #expect(r.pageFault?.errorCode == [.present, .user, .reservedBit])
        #expect(r.pageFault?.level == .pde)
    }

    @Test func paeFourKiBAndTwoMiB() {
        var b = TableBuilder(mode: .pae)
        b.map(0xC000_1000, to: 0x7000)
        b.map(0x4020_0000, to: 0x0060_0000, size: .size2M)
        let ctx = b.context()
        let small = PageWalker.translate(0xC000_1FFF, context: ctx, memory: b.memory, access: .userRead)
        #expect(gpa(small) == 0x7FFF)
        #expect(small.steps.map(\.name) == ["PDPTE", "PDE", "PTE"])
        #expect(small.steps[0].index == 3)
        let large = PageWalker.translate(0x4023_4567, context: ctx, memory: b.memory, access: .userRead)
        #expect(gpa(large) == 0x0063_4567)
        #expect(large.translation?.pageSize == .size2M)
        #expect(large.steps.count == 2)
    }

    @Test func paePDPTEReservedBits() {
        var b = TableBuilder(mode: .pae)
        b.map(0x0000_1000, to: 0x7000)
        b.memory.write64(0x1000, b.memory.read64(0x1000)! | X86EntryBits.writable.rawValue)
        let r = PageWalker.translate(0x1000, context: b.context(), memory: b.memory, access: .supervisorRead)
        #expect(r.pageFault?.errorCode == [.present, .reservedBit])
        #expect(r.pageFault?.reason.contains("MOV to CR3") == true)
    }

    @Test func fourLevelAllPageSizes() {
        var b = TableBuilder(mode: .level4)
        b.map(0x0000_7F00_0020_1000, to: 0x5000)
        b.map(0xFFFF_8880_0020_0000, to: 0x0040_0000, size: .size2M)
        b.map(0xFFFF_FFFF_8000_0000, to: 0x4000_0000, size: .size1G)
        let ctx = b.context()
        let r4k = PageWalker.translate(0x0000_7F00_0020_1234, context: ctx, memory: b.memory, access: .userWrite)
        #expect(gpa(r4k) == 0x5234)
        #expect(r4k.steps.map(\.name) == ["PML4E", "PDPTE", "PDE", "PTE"])
        #expect(r4k.steps.map(\.index) == [254, 0, 1, 1])
        #expect(r4k.steps[0].tableAddress == 0x1000)
        #expect(r4k.steps[0].entryAddress == 0x1000 + 254 * 8)
        let r2m = PageWalker.translate(0xFFFF_8880_002F_FFFF, context: ctx, memory: b.memory, access: .supervisorRead)
        #expect(gpa(r2m) == 0x004F_FFFF)
        #expect(r2m.translation?.pageSize == .size2M)
        let r1g = PageWalker.translate(0xFFFF_FFFF_8123_4567, context: ctx, memory: b.memory, access: .supervisorRead)
        #expect(gpa(r1g) == 0x4123_4567)
        #expect(r1g.translation?.pageSize == .size1G)
        #expect(r1g.steps.count == 2)
    }

    @Test func fiveLevel() {
        var b = TableBuilder(mode: .level5)
        b.map(0x00FF_0000_0000_3000, to: 0x9000)
        b.map(0xFF00_0000_0000_0000, to: 0x0020_0000, size: .size2M)
        let ctx = b.context()
        let r = PageWalker.translate(0x00FF_0000_0000_3010, context: ctx, memory: b.memory, access: .userRead)
        #expect(gpa(r) == 0x9010)
        #expect(r.steps.map(\.name) == ["PML5E", "PML4E", "PDPTE", "PDE", "PTE"])
        #expect(r.steps[0].index == 255)
        let high = PageWalker.translate(0xFF00_0000_0000_0042, context: ctx, memory: b.memory, access: .supervisorRead)
        #expect(gpa(high) == 0x0020_0042)
        // 4-level canonical but not 5-level? 0x0000_8000_0000_0000 is canonical only with LA57.
        let wide = PageWalker.translate(0x0000_8000_0000_0000, context: ctx, memory: b.memory, access: .supervisorRead)
        #expect(wide.pageFault?.errorCode == [])
    }

    @Test func nonCanonicalIsGeneralProtection() {
        var b = TableBuilder(mode: .level4)
        b.map(0x1000, to: 0x5000)
        let r = PageWalker.translate(0x0000_8000_0000_0000, context: b.context(), memory: b.memory, access: .userRead)
        guard case .generalProtection(let reason) = r.outcome else {
            Issue.record("expected #GP, got \(r.outcome)")
            return
        }
        #expect(reason.contains("#GP"))
        #expect(reason.contains("bits 63:47"))
        #expect(r.steps.isEmpty)
    }
}

@Suite("Access rights and error codes")
struct AccessRightsTests {
    /// A 4-level address space with one page of each kind.
    static func space() -> TableBuilder {
        var b = TableBuilder(mode: .level4)
        b.map(0x40_0000, to: 0x10_000, bits: userRW)                                      // user data
        b.map(0x40_1000, to: 0x11_000, bits: userRO)                                      // user read-only
        b.map(0xFFFF_8000_0000_0000, to: 0x12_000, bits: kernelRW)                        // kernel data
        b.map(0xFFFF_8000_0000_1000, to: 0x13_000, bits: [.present],
              extra: X86EntryBits.noExecute.rawValue)                                      // kernel ro, NX
        b.map(0x40_2000, to: 0x14_000, bits: userRW, extra: 5 << X86EntryBits.protectionKeyShift)  // pkey 5
        return b
    }

    func fault(_ va: UInt64, _ access: AccessKind, _ ctx: PagingContext? = nil) -> PageFaultErrorCode? {
        let b = Self.space()
        return PageWalker.translate(va, context: ctx ?? b.context(), memory: b.memory, access: access).pageFault?.errorCode
    }

    @Test func userToSupervisorPage() {
        #expect(fault(0xFFFF_8000_0000_0000, .userRead) == [.present, .user])
        #expect(fault(0xFFFF_8000_0000_0000, .userWrite) == [.present, .write, .user])
        #expect(fault(0xFFFF_8000_0000_0000, .supervisorWrite) == nil)
    }

    @Test func readOnlyAndWriteProtect() {
        let b = Self.space()
        #expect(fault(0x40_1000, .userWrite) == [.present, .write, .user])
        #expect(fault(0x40_1000, .userRead) == nil)
        // Supervisor writes to read-only pages: allowed with CR0.WP=0, faulting with WP=1.
        #expect(fault(0xFFFF_8000_0000_1000, .supervisorWrite) == [.present, .write])
        let noWP = b.context(cr0: [.protectionEnable, .paging])
        #expect(fault(0xFFFF_8000_0000_1000, .supervisorWrite, noWP) == nil)
        // A user write still faults with WP=0.
        #expect(fault(0x40_1000, .userWrite, noWP) == [.present, .write, .user])
        let r = PageWalker.translate(0x40_1000, context: b.context(), memory: b.memory, access: .userWrite)
        #expect(r.pageFault?.reason == "user write to a read-only page (R/W=0 at PTE)")
        #expect(r.pageFault?.level == .pte)
    }

    @Test func noExecute() {
        #expect(fault(0xFFFF_8000_0000_1000, .supervisorFetch) == [.present, .instructionFetch])
        #expect(fault(0xFFFF_8000_0000_0000, .supervisorFetch) == nil)
        #expect(fault(0x40_0000, .userFetch) == nil)
    }

    @Test func nonPresentCodes() {
        #expect(fault(0x50_0000, .userWrite) == [.write, .user])
        #expect(fault(0x50_0000, .supervisorRead) == [])
        #expect(fault(0x50_0000, .supervisorFetch) == [.instructionFetch])
        // 32-bit paging without SMEP does not report I/D.
        let b = TableBuilder(mode: .legacy32)
        let r = PageWalker.translate(0x1000, context: b.context(), memory: b.memory, access: .supervisorFetch)
        #expect(r.pageFault?.errorCode == [])
        let smep = PageWalker.translate(0x1000, context: b.context(cr4: .smep), memory: b.memory, access: .supervisorFetch)
        #expect(smep.pageFault?.errorCode == [.instructionFetch])
    }

    @Test func smep() {
        let b = Self.space()
        let ctx = b.context(cr4: .smep)
        #expect(fault(0x40_0000, .supervisorFetch, ctx) == [.present, .instructionFetch])
        #expect(fault(0x40_0000, .supervisorRead, ctx) == nil)
        #expect(fault(0x40_0000, .userFetch, ctx) == nil)
        #expect(fault(0x40_0000, .supervisorFetch) == nil)
    }

    @Test func smapWithAndWithoutAC() {
        let b = Self.space()
        var ctx = b.context(cr4: .smap)
        #expect(fault(0x40_0000, .supervisorRead, ctx) == [.present])
        #expect(fault(0x40_0000, .supervisorWrite, ctx) == [.present, .write])
        #expect(fault(0x40_0000, .userRead, ctx) == nil)
        ctx.rflags |= RFLAGSFlags.alignmentCheck.rawValue
        #expect(fault(0x40_0000, .supervisorRead, ctx) == nil)
        #expect(fault(0x40_0000, .supervisorWrite, ctx) == nil)
        // Implicit supervisor accesses ignore RFLAGS.AC.
        #expect(fault(0x40_0000, AccessKind(.read, .implicitSupervisor), ctx) == [.present])
        // SMAP does not restrict fetches (that is SMEP's job).
        #expect(fault(0x40_0000, .supervisorFetch, ctx) == nil)
    }

    @Test func protectionKeys() {
        let b = Self.space()
        func ctx(pkru: UInt32, wp: Bool = true) -> PagingContext {
            var c = b.context(cr0: wp ? [.protectionEnable, .paging, .writeProtect] : [.protectionEnable, .paging],
                              cr4: .protectionKeys)
            c.pkru = pkru
            return c
        }
        let ad5: UInt32 = 1 << 10, wd5: UInt32 = 1 << 11
        #expect(fault(0x40_2000, .userRead, ctx(pkru: ad5)) == [.present, .user, .protectionKey])
        #expect(fault(0x40_2000, .userWrite, ctx(pkru: wd5)) == [.present, .write, .user, .protectionKey])
        #expect(fault(0x40_2000, .userRead, ctx(pkru: wd5)) == nil)
        #expect(fault(0x40_2000, .supervisorWrite, ctx(pkru: wd5)) == [.present, .write, .protectionKey])
        #expect(fault(0x40_2000, .supervisorWrite, ctx(pkru: wd5, wp: false)) == nil)
        #expect(fault(0x40_2000, .supervisorRead, ctx(pkru: ad5)) == [.present, .protectionKey])
        // Keys do not apply to fetches, nor to key 0 pages when only key 5 is restricted.
        #expect(fault(0x40_2000, .userFetch, ctx(pkru: ad5)) == nil)
        #expect(fault(0x40_0000, .userRead, ctx(pkru: ad5)) == nil)
        // Without CR4.PKE the bits are ignored.
        var off = ctx(pkru: ad5)
        off.cr4 &= ~CR4Flags.protectionKeys.rawValue
        #expect(fault(0x40_2000, .userRead, off) == nil)
        let r = PageWalker.translate(0x40_2000, context: ctx(pkru: ad5), memory: b.memory, access: .userRead)
        #expect(r.steps.last?.protectionKey == 5)
        #expect(r.pageFault?.reason == "protection key 5 has PKRU.AD5=1")
    }

    @Test func permissionsComposeAcrossLevels() {
        var b = TableBuilder(mode: .level4)
        b.tableBits = [.present, .user]          // read-only tables above a writable PTE
        b.map(0x40_0000, to: 0x10_000, bits: userRW)
        let r = PageWalker.translate(0x40_0000, context: b.context(), memory: b.memory, access: .userWrite)
        #expect(r.pageFault?.errorCode == [.present, .write, .user])
        #expect(r.pageFault?.reason == "user write to a read-only page (R/W=0 at PML4E)")
        #expect(r.steps.allSatisfy { !$0.permissions.contains(.write) })
        // NX in a PDE removes execute below it.
        var nx = TableBuilder(mode: .level4)
        nx.map(0x40_0000, to: 0x10_000, bits: userRW)
        let pde = nx.entryAddress(0x40_0000, level: 2)
        nx.memory.write64(pde, nx.memory.read64(pde)! | X86EntryBits.noExecute.rawValue)
        let f = PageWalker.translate(0x40_0000, context: nx.context(), memory: nx.memory, access: .userFetch)
        #expect(f.pageFault?.errorCode == [.present, .user, .instructionFetch])
        #expect(f.steps[2].permissions.contains(.execute) == false)
        #expect(f.steps[1].permissions.contains(.execute))
    }
}

@Suite("Reserved bits and hostile tables")
struct ReservedAndHostileTests {
    @Test func bitsAboveMaxPhysAddr() {
        var b = TableBuilder(mode: .level4)
        b.map(0x40_0000, to: 0x80_0000_0000)   // bit 39
        let at46 = PageWalker.translate(0x40_0000, context: b.context(maxPhysAddrBits: 46), memory: b.memory,
                                        access: .userRead)
        #expect(at46.translation?.address == 0x80_0000_0000)
        let at39 = PageWalker.translate(0x40_0000, context: b.context(maxPhysAddrBits: 39), memory: b.memory,
                                        access: .userWrite)
        #expect(at39.pageFault?.errorCode == [.present, .write, .user, .reservedBit])
        #expect(at39.pageFault?.level == .pte)
        #expect(at39.pageFault?.reason.contains("bits 51:39 above MAXPHYADDR 39") == true)
    }

    @Test func noExecuteWithoutNXE() {
        var b = TableBuilder(mode: .level4)
        b.map(0x40_0000, to: 0x10_000, extra: X86EntryBits.noExecute.rawValue)
        let r = PageWalker.translate(0x40_0000, context: b.context(efer: []), memory: b.memory, access: .userFetch)
        // No NXE and no SMEP: I/D is not reported.
        #expect(r.pageFault?.errorCode == [.present, .user, .reservedBit])
        #expect(r.pageFault?.reason.contains("EFER.NXE=0") == true)
    }

    @Test func pageSizeAtPML4E() {
        var b = TableBuilder(mode: .level4)
        b.map(0x40_0000, to: 0x10_000)
        b.memory.write64(0x1000, b.memory.read64(0x1000)! | X86EntryBits.pageSize.rawValue)
        let r = PageWalker.translate(0x40_0000, context: b.context(), memory: b.memory, access: .supervisorRead)
        #expect(r.pageFault?.errorCode == [.present, .reservedBit])
        #expect(r.pageFault?.level == .pml4e)
        #expect(r.steps.count == 1)
    }

    @Test func oneGiBWithoutSupport() {
        var b = TableBuilder(mode: .level4)
        b.map(0x4000_0000, to: 0x4000_0000, size: .size1G)
        var ctx = b.context()
        #expect(PageWalker.translate(0x4000_0000, context: ctx, memory: b.memory, access: .userRead).translation != nil)
        ctx.supports1GiBPages = false
        let r = PageWalker.translate(0x4000_0000, context: ctx, memory: b.memory, access: .userRead)
        #expect(r.pageFault?.errorCode == [.present, .user, .reservedBit])
        #expect(r.pageFault?.level == .pdpte)
        #expect(r.pageFault?.reason.contains("no 1 GiB pages") == true)
    }

    @Test func largePageLowReservedBits() {
        var b = TableBuilder(mode: .level4)
        b.map(0x20_0000, to: 0x20_0000, size: .size2M, extra: 1 << 13)
        let r = PageWalker.translate(0x20_0000, context: b.context(), memory: b.memory, access: .supervisorRead)
        #expect(r.pageFault?.errorCode == [.present, .reservedBit])
        #expect(r.pageFault?.reason.contains("bits 20:13") == true)
        var pat = TableBuilder(mode: .level4)
        pat.map(0x20_0000, to: 0x20_0000, size: .size2M, extra: X86EntryBits.patLarge.rawValue)
        let ok = PageWalker.translate(0x20_0000, context: pat.context(), memory: pat.memory, access: .supervisorRead)
        #expect(ok.translation?.address == 0x20_0000)
        #expect(ok.steps.last?.flags.contains(.pat) == true)
    }

    @Test func selfReferencingPML4Terminates() {
        var b = TableBuilder(mode: .level4)
        b.memory.write64(0x1000, 0x1000 | X86EntryBits([.present, .writable]).rawValue)   // PML4[0] -> PML4
        let r = PageWalker.translate(0x0, context: b.context(), memory: b.memory, access: .supervisorRead)
        #expect(r.steps.count == 4)
        #expect(r.translation?.address == 0x1000)
        #expect(r.notes.count == 3)
        #expect(r.notes.first?.contains("self-referencing") == true)
        #expect(r.steps[1].note != nil)
    }

    @Test func tableOutsideMemory() {
        var b = TableBuilder(mode: .level4)
        b.memory.write64(0x1000, 0x1_0000_0000 | X86EntryBits([.present, .writable]).rawValue)
        let r = PageWalker.translate(0x0, context: b.context(), memory: b.memory, access: .supervisorRead)
        guard case .walkFailed(let level, let address, let reason) = r.outcome else {
            Issue.record("expected a failed walk, got \(r.outcome)")
            return
        }
        #expect(level == .pdpte)
        #expect(address == 0x1_0000_0000)
        #expect(reason.contains("outside guest memory"))
        // CR3 itself outside memory.
        var ctx = b.context()
        ctx.cr3 = 0x7FFF_F000
        let root = PageWalker.translate(0x0, context: ctx, memory: b.memory, access: .supervisorRead)
        #expect(root.steps.isEmpty)
        if case .walkFailed(let level, _, _) = root.outcome { #expect(level == .pml4e) } else { Issue.record("no failure") }
    }

    @Test func hostileAllOnesNeverTraps() {
        // Every entry all ones, tables at the top of the address space, maximal MAXPHYADDR.
        var memory = ByteArrayMemory(size: 0x2000)
        for a in stride(from: UInt64(0), to: 0x2000, by: 8) { memory.write64(a, ~0) }
        for mode in PagingMode.allCases {
            let b = TableBuilder(mode: mode)
            var ctx = b.context(maxPhysAddrBits: 99)
            ctx.cr3 = ~0
            for va: UInt64 in [0, ~0, 0x1000, 0xFFFF_FFFF] {
                let r = PageWalker.translate(va, context: ctx, memory: memory, access: .userWrite)
                #expect(r.steps.count <= mode.levels)
            }
            ctx.cr3 = 0
            let r = PageWalker.translate(0, context: ctx, memory: memory, access: .userWrite)
            #expect(r.steps.count <= mode.levels)
        }
    }
}
