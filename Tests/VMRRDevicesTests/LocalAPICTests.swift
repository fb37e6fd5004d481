import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// The local APIC: its xAPIC page and x2APIC MSRs, self-IPIs by priority.
@Suite struct LocalAPICTests {
    @Test func pageAccessesAtOffsets() {
        let apic = LocalAPIC()
        func read(_ offset: UInt64, size: UInt8 = 4) -> UInt64 {
            apic.read(DeviceAccess(base: Layout.apicGPA, offset: offset, size: size))!.value
        }
        #expect(read(0x30) == UInt64(Layout.apicVersion))
        #expect(read(0x32, size: 1) == 0x05 && read(0x34) == 0)           // bytes of the slot; past the register, 0
        _ = apic.write(DeviceAccess(base: Layout.apicGPA, offset: 0x80, size: 2, value: 0x30))
        #expect(read(0x80) == 0)                                           // narrow writes change nothing
        _ = apic.write(DeviceAccess(base: Layout.apicGPA, offset: 0x80, size: 4, value: 0x30))
        #expect(read(0x80) == 0x30)
        // Disabled globally: the page reads all ones.
        #expect(apic.writeMSR(Layout.MSR.apicBase, value: 0xFEE0_0000, now: 0))
        #expect(read(0x30) == DeviceAccess.allOnes)
    }

    @Test func msrRangesAreTheFilteredOnes() {
        #expect(PCPlatform.filteredMSRs == [0x1B...0x1B, 0x800...0x8FF])
        let apic = LocalAPIC()
        #expect(apic.readMSR(Layout.MSR.apicBase, now: 0) == Layout.apicBaseAtEntry)
        #expect(apic.readMSR(0x802, now: 0) == nil)                                // x2APIC registers: #GP in xAPIC mode
    }

    @Test func xAPIC() {
        let f = PlatformFixture(strict: true)
        let apic = Layout.apicGPA
        func read(_ off: UInt64, size: UInt8 = 4) -> UInt64 {
            let (ev, v, outcome) = f.platform.mmioRead(gpa: apic + off, size: size)
            #expect(ev == .mmio(gpa: apic + off, size: size, direction: .read, value: v) && outcome == .proceed)
            return v
        }
        func write(_ off: UInt64, _ v: UInt64) {
            let (ev, outcome) = f.platform.mmioWrite(gpa: apic + off, size: 4, value: v)
            #expect(ev == .mmio(gpa: apic + off, size: 4, direction: .write, value: v) && outcome == .proceed)
        }
        #expect(read(0x20) == 0)                       // APIC ID 0
        #expect(read(0x30) == 0x5_0014)                // version
        #expect(read(0xF0) == 0xFF && read(0xE0) == 0xFFFF_FFFF && read(0x350) == 0x700 && read(0x360) == 0x400)   // LINT0 ExtINT, LINT1 NMI, as firmware leaves them
        write(0xF0, 0x1FF); write(0x80, 0x20)
        #expect(read(0xF0) == 0x1FF && read(0x80) == 0x20 && read(0xA0) == 0x20)
        // INIT and SIPI to an absent CPU: accepted, delivery status clear, nothing happens.
        write(0x310, 0x0100_0000); write(0x300, 0x0000_4500); write(0x300, 0x0000_4608)
        #expect(read(0x310) == 0x0100_0000)
        #expect(read(0x300) & (1 << 12) == 0 && read(0x300) == 0x4608)
        write(0x300, 0x1000 | 0x4500)
        #expect(read(0x300) & (1 << 12) == 0)
        write(0xB0, 0)                                 // EOI
        #expect(read(0x20, size: 1) == 0 && read(0x31, size: 1) == 0 && read(0x32, size: 1) == 0x05)
        #expect(read(0x390) == 0)                      // current count: the timer is not started
    }

    @Test func selfIPIsAreDeliveredByPriorityAndEOI() {
        let f = PlatformFixture()
        let icr = Layout.apicGPA + 0x300, eoi = Layout.apicGPA + 0xB0, spiv = Layout.apicGPA + 0xF0, tpr = Layout.apicGPA + 0x80
        _ = f.platform.mmioWrite(gpa: icr, size: 4, value: 0x4_0041)   // self, fixed, vector 0x41
        #expect(f.take() == nil)                                         // software-disabled (SPIV)
        _ = f.platform.mmioWrite(gpa: spiv, size: 4, value: 0x1FF)
        _ = f.platform.mmioWrite(gpa: icr, size: 4, value: 0x4_0052)
        #expect(f.take() == 0x52)                                        // highest first
        #expect(f.take() == nil)                                         // 0x41 is below the in-service class
        _ = f.platform.mmioWrite(gpa: eoi, size: 4, value: 0)
        _ = f.platform.mmioWrite(gpa: tpr, size: 4, value: 0x40)
        #expect(f.take() == nil)                                         // TPR class 4 blocks 0x41
        _ = f.platform.mmioWrite(gpa: tpr, size: 4, value: 0)
        #expect(f.take() == 0x41)
        // INIT and SIPI to other CPUs, and fixed IPIs to APIC ID 1, are dropped.
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x310, size: 4, value: 1 << 24)
        _ = f.platform.mmioWrite(gpa: icr, size: 4, value: 0x4500)
        _ = f.platform.mmioWrite(gpa: icr, size: 4, value: 0x4698)
        _ = f.platform.mmioWrite(gpa: icr, size: 4, value: 0x0060)
        _ = f.platform.mmioWrite(gpa: eoi, size: 4, value: 0)
        #expect(f.take() == nil)
    }

    @Test func x2apicModeAndItsGPRules() {
        let f = PlatformFixture()
        let base = f.platform.answerMSR(index: 0x1B, direction: .read, value: 0)
        #expect(base == MSRResult(value: 0xFEE0_0900, fault: false))
        // x2APIC registers fault in xAPIC mode.
        #expect(f.platform.answerMSR(index: 0x802, direction: .read, value: 0).fault)
        // Reserved bits, and EXTD without EN, fault.
        #expect(f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0900 | 1).fault)
        #expect(f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0000 | 1 << 10).fault)
        // xAPIC -> x2APIC is allowed; then the MSRs work and the MMIO page does not.
        #expect(!f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)
        #expect(f.platform.answerMSR(index: 0x802, direction: .read, value: 0) == MSRResult(value: 0, fault: false))
        #expect(f.platform.answerMSR(index: 0x803, direction: .read, value: 0).value == UInt64(Layout.apicVersion))
        #expect(f.platform.mmioRead(gpa: Layout.apicGPA + 0x30, size: 4).1 == 0xFFFF_FFFF)
        // Write-only EOI and SELF IPI fault on read; read-only registers fault on write; DFR is gone.
        #expect(f.platform.answerMSR(index: 0x80B, direction: .read, value: 0).fault)
        #expect(f.platform.answerMSR(index: 0x83F, direction: .read, value: 0).fault)
        #expect(f.platform.answerMSR(index: 0x802, direction: .write, value: 5).fault)
        #expect(f.platform.answerMSR(index: 0x80E, direction: .read, value: 0).fault)
        #expect(f.platform.answerMSR(index: 0x80B, direction: .write, value: 1).fault)   // non-zero EOI
        // SELF IPI delivers once the APIC is software-enabled.
        #expect(!f.platform.answerMSR(index: 0x80F, direction: .write, value: 0x1FF).fault)
        #expect(!f.platform.answerMSR(index: 0x83F, direction: .write, value: 0x77).fault)
        #expect(f.take() == 0x77)
        #expect(f.platform.answerMSR(index: 0x810 + 3, direction: .read, value: 0).value == 1 << (0x77 - 0x60))   // ISR word 3
        // x2APIC -> xAPIC directly faults; x2APIC -> disabled -> xAPIC is the legal way back.
        #expect(f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0800).fault)
        #expect(!f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0000).fault)
        #expect(f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)   // disabled -> x2APIC
        #expect(!f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0800).fault)
        // Every other MSR that reaches vmrr faults.
        #expect(f.platform.answerMSR(index: 0x12345, direction: .read, value: 0).fault)
    }

    @Test func aPhysicalBroadcastReachesThisAPICToo() {
        let f = PlatformFixture()
        let icr = Layout.apicGPA + 0x300, icrHigh = Layout.apicGPA + 0x310, spiv = Layout.apicGPA + 0xF0
        _ = f.platform.mmioWrite(gpa: spiv, size: 4, value: 0x1FF)
        // xAPIC: physical destination 0xFF is every APIC, this one included.
        _ = f.platform.mmioWrite(gpa: icrHigh, size: 4, value: 0xFF << 24)
        _ = f.platform.mmioWrite(gpa: icr, size: 4, value: 0x0063)
        #expect(f.take() == 0x63)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0xB0, size: 4, value: 0)   // EOI
        // Logical destination 0xFF matches no APIC whose LDR is 0: not delivered.
        _ = f.platform.mmioWrite(gpa: icr, size: 4, value: 0x0863)
        #expect(f.take() == nil)
        // x2APIC: the broadcast is 0xFFFFFFFF in the ICR's high half.
        #expect(!f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)
        #expect(!f.platform.answerMSR(index: 0x830, direction: .write, value: 0xFFFF_FFFF << 32 | 0x64).fault)
        #expect(f.take() == 0x64)
        #expect(!f.platform.answerMSR(index: 0x80B, direction: .write, value: 0).fault)   // EOI
        // Another single APIC ID is still not this one.
        #expect(!f.platform.answerMSR(index: 0x830, direction: .write, value: 2 << 32 | 0x65).fault)
        #expect(f.take() == nil)
    }

    @Test func theLVTCountAndSelfIPIReservedBitsAreEnforced() {
        let f = PlatformFixture()
        #expect(!f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)
        #expect(!f.platform.answerMSR(index: 0x80F, direction: .write, value: 0x1FF).fault)
        // The version reports Max LVT Entry 5: six LVTs, so LVT CMCI (0x82F) does not exist.
        #expect((Layout.apicVersion >> 16) & 0xFF == 5)
        #expect(f.platform.answerMSR(index: 0x82F, direction: .read, value: 0).fault)
        #expect(f.platform.answerMSR(index: 0x82F, direction: .write, value: 0x10000).fault)
        // The six that exist: timer, thermal, performance, LINT0, LINT1, error.
        for msr: UInt32 in [0x832, 0x833, 0x834, 0x835, 0x836, 0x837] {
            #expect(!f.platform.answerMSR(index: msr, direction: .read, value: 0).fault, "MSR \(msr)")
        }
        // SELF IPI: bits 31:8 are reserved.
        #expect(f.platform.answerMSR(index: 0x83F, direction: .write, value: 0x100 | 0x77).fault)
        #expect(f.platform.answerMSR(index: 0x83F, direction: .write, value: 0x8000_0077).fault)
        #expect(!f.platform.answerMSR(index: 0x83F, direction: .write, value: 0x77).fault)
        #expect(f.take() == 0x77)
    }

    @Test func withoutX2APICInCPUIDTheModeCannotBeEntered() {
        let f = PlatformFixture(x2apic: false)
        #expect(f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)
        #expect(!f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0800).fault)
    }
}
