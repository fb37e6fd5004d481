import Testing
import VMRRJournal
import VMRRKVM

/// The real-mode entry state (SDM vol. 3, table 10-1, "Following INIT"), as
/// values: the platform fixture runs it on KVM (PlatformFixtureTests).
@Suite struct RealModeEntryTests {
    @Test func aWarmResetThroughTheBIOSDataArea() {
        var current = SpecialRegisters()
        current.cr0 = 0x8005_0033 | 1 << 30          // long mode, with CD set
        current.cr3 = 0x1000; current.cr4 = 0x620; current.efer = 0xD01
        current.apicBase = 0xFEE0_0900
        let s = RealModeEntry.specialRegisters(segment: 0x80E, dataSegment: 0x40, from: current)
        #expect(s.cs.selector == 0x80E && s.cs.base == 0x80E0 && s.cs.limit == 0xFFFF && s.cs.type == 0xB)
        #expect(s.cs.present && s.cs.s && !s.cs.db && !s.cs.l && !s.cs.g && s.cs.dpl == 0)
        for d in [s.ds, s.es, s.fs, s.gs, s.ss] {
            #expect(d.selector == 0x40 && d.base == 0x400 && d.limit == 0xFFFF && d.type == 0x3 && d.present && d.s)
        }
        #expect(s.cr0 == 0x10 | 1 << 30)                 // ET, CD kept; PG, PE, WP and the rest clear
        #expect(s.cr2 == 0 && s.cr3 == 0 && s.cr4 == 0 && s.cr8 == 0 && s.efer == 0)
        #expect(s.gdt == DescriptorTableRegister(base: 0, limit: 0xFFFF) && s.idt == s.gdt)
        #expect(s.tr.type == 0xB && !s.tr.s && s.tr.present && s.ldt.type == 0x2 && !s.ldt.s)
        #expect(s.apicBase == 0xFEE0_0900)
        let r = RealModeEntry.registers(offset: 0xC)
        var expected = GPRegisters()
        expected.rip = 0xC
        expected.rflags = 0x2
        #expect(r == expected)
    }

    /// An application processor's start-up: CS = vector << 8, IP 0.
    @Test func aStartupVector() {
        let s = RealModeEntry.specialRegisters(segment: 0x9A << 8, dataSegment: 0, from: SpecialRegisters())
        #expect(s.cs.base == 0x9A000 && s.ds.base == 0 && s.cr0 == 0x10)
    }
}
