import Testing
import VMRRJournal
@testable import VMRRGuest

@Suite struct ArchTests {
    @Test func entryControlRegistersHaveTheDocumentedValues() {
        // The protocol documents these values; the flag sets must produce them.
        #expect(BootPlan.entryCR0.rawValue == 0x8005_0033)
        #expect(BootPlan.entryCR4.rawValue == 0x620)
        #expect(BootPlan.entryEFER.rawValue == 0xD01)
        #expect(GuestArch.RFlags.reserved1.rawValue == 2)
    }

    @Test func codeAndDataDescriptorsPackToTheClassicLongModeValues() {
        // The flat 64-bit code and data descriptors every long-mode kernel uses (accessed bit set).
        #expect(SegmentDescriptor.pack(BootPlan.codeSegment) == 0x00AF_9B00_0000_FFFF)
        #expect(SegmentDescriptor.pack(BootPlan.dataSegment) == 0x00CF_9300_0000_FFFF)
    }

    @Test func descriptorsRoundTrip() {
        let segments = [
            BootPlan.codeSegment, BootPlan.dataSegment,
            SegmentRegister(base: 0x1234_5678, limit: 0xABCDE, selector: 0x2B, type: 0x2, present: true,
                            dpl: 3, db: true, s: true, l: false, g: false, avl: true),
            SegmentRegister(base: 0xFFFF_8000_0000_0000, limit: 0xFFF, selector: 0x33, type: 0xA, present: false,
                            dpl: 2, db: false, s: true, l: true, g: true),
        ]
        for seg in segments {
            var expected = seg
            if expected.s { expected.base &= 0xFFFF_FFFF }   // an 8-byte descriptor holds 32 bits of base
            #expect(SegmentDescriptor.unpack(SegmentDescriptor.pack(seg), selector: seg.selector) == expected)
        }
    }

    @Test func systemDescriptorKeepsTheUpperBase() {
        var tss = BootPlan.taskSegment
        tss.base = 0xFFFF_8000_1234_5000
        let packed = SegmentDescriptor.packSystem(tss)
        #expect(packed.high == 0xFFFF_8000)
        #expect(SegmentDescriptor.unpack(packed.low, high: packed.high, selector: tss.selector) == tss)
    }

    @Test func granularityScalesTheLimit() {
        var seg = BootPlan.dataSegment
        seg.g = true
        seg.limit = 0x0012_3FFF
        #expect(SegmentDescriptor.pack(seg) & 0xFFFF == 0x0123)
        seg.g = false
        seg.limit = 0xF_1234
        let raw = SegmentDescriptor.pack(seg)
        #expect(raw & 0xFFFF == 0x1234)
        #expect((raw >> 48) & 0xF == 0xF)
    }

    @Test func pageEntryBuilders() {
        let pde = PageEntry.largePage(0x4020_0000, [.present, .writable])
        #expect(PageEntry.flags(of: pde) == [.present, .writable, .pageSize])
        #expect(PageEntry.address(of: pde) == 0x4020_0000)
        let pte = PageEntry.page(0x7_FFFF_F000, [.present, .noExecute])
        #expect(PageEntry.address(of: pte) == 0x7_FFFF_F000)
        #expect(PageEntry.flags(of: pte) == [.present, .noExecute])
        let table = PageEntry.table(0x3000, [.present, .writable, .user])
        #expect(table == 0x3000 | 0b111)
    }
}
