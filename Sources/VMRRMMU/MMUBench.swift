// Benchmarks of the MMU views on a guest with 1 GiB mapped in 4 KiB pages.

public enum MMUBench {
    /// GVA where the benchmark guest maps its 1 GiB.
    static let base: UInt64 = 0xFFFF_8880_0000_0000

    /// A 4-level guest mapping `mapped` bytes (a multiple of 2 MiB, at most 512 GiB) at `base` to
    /// GPA 0 with 4 KiB pages: 1 GiB takes 515 table pages.
    static func guest(mapped: UInt64 = 1 << 30) -> (memory: ByteArrayMemory, context: PagingContext) {
        let pml4: UInt64 = 0x1000, pdpt: UInt64 = 0x2000, pd: UInt64 = 0x3000, firstPT: UInt64 = 0x4000
        let ptCount = mapped / PageSize.size2M.bytes
        var memory = ByteArrayMemory(size: Int(firstPT + ptCount * 0x1000))
        let table = X86EntryBits([.present, .writable]).rawValue
        let leaf = X86EntryBits([.present, .writable, .accessed, .dirty, .global, .noExecute]).rawValue
        memory.write64(pml4 + ((base >> 39) & 0x1FF) * 8, pdpt | table)
        memory.write64(pdpt + ((base >> 30) & 0x1FF) * 8, pd | table)
        for i in 0..<ptCount {
            let pt = firstPT + i * 0x1000
            memory.write64(pd + i * 8, pt | table)
            for j: UInt64 in 0..<512 { memory.write64(pt + j * 8, ((i * 512 + j) << 12) | leaf) }
        }
        let context = PagingContext(
            cr0: CR0Flags([.protectionEnable, .writeProtect, .paging]).rawValue, cr3: pml4,
            cr4: CR4Flags.physicalAddressExtension.rawValue,
            efer: EFERFlags([.longModeEnable, .longModeActive, .noExecuteEnable]).rawValue)
        return (memory, context)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Runs each benchmark once and returns (name, value, unit). The defaults are the reference
    /// configuration (1 GiB in 4 KiB pages; goal: each dump under 100 ms in a release build).
    public static func run(translations: Int = 200_000, mappedBytes: UInt64 = 1 << 30)
        -> [(name: String, value: Double, unit: String)] {
        let mapped = mappedBytes / PageSize.size2M.bytes * PageSize.size2M.bytes
        let size = formatSize(mapped)
        let (memory, context) = guest(mapped: mapped)
        let slots = [MemorySlot(gpa: 0, size: mapped, hostAddress: 0x7F00_0000_0000, name: "ram")]
        let slots4K = [MemorySlot(gpa: 0, size: mapped, hostAddress: 0x7F00_0000_1000, name: "ram")]
        let clock = ContinuousClock()
        var sink: UInt64 = 0
        var results: [(name: String, value: Double, unit: String)] = []

        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        let walkTime = clock.measure {
            for _ in 0..<translations {
                x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let gva = base | ((x >> 20) & (mapped - 1))
                let r = PageWalker.translate(gva, context: context, memory: memory, access: .supervisorRead)
                sink &+= r.translation?.address ?? 1
            }
        }
        results.append(("guest translations", Double(translations) / seconds(walkTime), "translations/s"))

        let stage = SecondStage(slots: slots4K)
        let eptWalkTime = clock.measure {
            for i in 0..<translations {
                sink &+= stage.walk(UInt64(i) &* 0x1_3000 & (mapped - 1)).mapping?.hostAddress ?? 1
            }
        }
        results.append(("EPT walks (4K EPT pages)", Double(translations) / seconds(eptWalkTime), "walks/s"))

        var guestRanges = 0
        let guestTime = clock.measure {
            guestRanges = PTDump.guest(context: context, memory: memory).ranges.count
        }
        results.append(("guest dump, \(size) in 4K pages", seconds(guestTime) * 1000, "ms"))

        let eptTime = clock.measure {
            sink &+= UInt64(PTDump.secondStage(SecondStage(slots: slots)).ranges.count)
        }
        results.append(("EPT build+dump, \(size) slot, largest pages", seconds(eptTime) * 1000, "ms"))

        let ept4KTime = clock.measure {
            sink &+= UInt64(PTDump.secondStage(SecondStage(slots: slots4K)).ranges.count)
        }
        results.append(("EPT build+dump, \(size) slot in 4K pages", seconds(ept4KTime) * 1000, "ms"))

        let shadowTime = clock.measure {
            let model = ShadowModel(context: context, memory: memory, secondStage: SecondStage(slots: slots))
            sink &+= UInt64(model.dump().dump.ranges.count)
        }
        results.append(("shadow dump, \(size) in 4K pages", seconds(shadowTime) * 1000, "ms"))

        precondition(sink != 0 && guestRanges > 0, "benchmark produced nothing")
        return results
    }
}
