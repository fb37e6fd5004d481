import Testing
import VMRRBase
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// NMI IPIs (SDM vol. 3, 11.6.1: delivery mode 100b) and warm resets
/// through the CMOS shutdown byte with every reset path.
@Suite struct NMIAndWarmResetTests {
    static let icrLow = Layout.apicGPA + 0x300, icrHigh = Layout.apicGPA + 0x310
    static let ldr = Layout.apicGPA + 0xD0, dfr = Layout.apicGPA + 0xE0, spiv = Layout.apicGPA + 0xF0

    func icr(_ f: PlatformFixture, high: UInt32 = 0, low: UInt32) {
        _ = f.platform.mmioWrite(gpa: Self.icrHigh, size: 4, value: UInt64(high))
        #expect(f.platform.mmioWrite(gpa: Self.icrLow, size: 4, value: UInt64(low)).outcome == .proceed)
    }

    @Test func nmiIPIsToThisAPICMakeOneNMIPending() {
        let f = PlatformFixture()
        #expect(!f.platform.pendingNMI)
        icr(f, low: 0x0004_0400)                       // NMI, shorthand self
        #expect(f.platform.pendingNMI)
        f.platform.acknowledgeNMI()
        #expect(!f.platform.pendingNMI)
        icr(f, low: 0x0008_0400)                       // all including self
        #expect(f.platform.pendingNMI)
        f.platform.acknowledgeNMI()
        icr(f, high: 0x0000_0000, low: 0x0000_0400)    // physical, APIC ID 0
        #expect(f.platform.pendingNMI)
        f.platform.acknowledgeNMI()
        icr(f, high: 0xFF00_0000, low: 0x0000_0400)    // physical broadcast: the sender too
        #expect(f.platform.pendingNMI)
        f.platform.acknowledgeNMI()
        // A vector field is ignored for NMIs: still one NMI, nothing in IRR.
        icr(f, low: 0x0004_0430)
        #expect(f.platform.pendingNMI && f.platform.apic.irr.highest == nil)
        f.platform.acknowledgeNMI()
    }

    @Test func nmiIPIsToOthersAreDropped() {
        let f = PlatformFixture()
        icr(f, low: 0x000C_0400)                       // all excluding self
        icr(f, high: 0x0100_0000, low: 0x0000_0400)    // physical, APIC ID 1 (absent)
        #expect(!f.platform.pendingNMI)
        #expect(f.platform.apic.droppedIPIs == 2)
    }

    @Test func logicalNMIIPIsFollowTheDestinationFormat() {
        let f = PlatformFixture()
        _ = f.platform.mmioWrite(gpa: Self.ldr, size: 4, value: 0x0100_0000)   // logical ID bit 0
        _ = f.platform.mmioWrite(gpa: Self.dfr, size: 4, value: 0xFFFF_FFFF)   // flat model
        icr(f, high: 0x0200_0000, low: 0x0000_0C00)    // logical, another CPU's bit
        #expect(!f.platform.pendingNMI)
        icr(f, high: 0x0100_0000, low: 0x0000_0C00)    // logical, this CPU's bit (Linux's flat mode)
        #expect(f.platform.pendingNMI)
    }

    @Test func anNMIMessageFromTheIOAPICIsPending() {
        let f = PlatformFixture()
        #expect(f.platform.apic.receive(InterruptMessage(vector: 0, deliveryMode: InterruptMessage.DeliveryMode.nmi,
                                                         logical: false, level: false, destination: 0)))
        #expect(f.platform.pendingNMI)
    }

    /// Shutdown code 0x0A, then each reset path: a warm reset that clears
    /// the code, port 0x92's reset bit, and the local APIC (INIT).
    @Test(arguments: [(UInt16(0x92), UInt8(0x03)), (0xCF9, 0x06), (0x64, 0xFE)])
    func everyResetPathIsWarmWithCode0A(port: UInt16, value: UInt8) {
        let f = PlatformFixture()
        _ = f.platform.mmioWrite(gpa: Self.spiv, size: 4, value: 0x1FF)
        icr(f, low: 0x0004_0400)
        f.out(0x70, 0x0F); f.out(0x71, Layout.shutdownJumpNoEOI)
        #expect(f.write(port, UInt64(value)) == .warmReset)
        f.out(0x70, 0x0F)
        #expect(f.read(0x71) == 0)
        #expect(f.read(0x92) & 1 == 0)
        #expect(f.platform.apic.value(of: 0xF0) == 0xFF)      // SPIV as after INIT
        #expect(!f.platform.pendingNMI)
        // With the byte cleared, the next reset is a cold one and ends the run.
        if port == 0x92 { #expect(f.write(0x92, 0x00) == .proceed) }
        if case .end(.shutdown, ExitStatus.reset, _) = f.write(port, UInt64(value)) {} else { Issue.record("not a cold reset") }
    }

    /// Code 0x05 also EOIs the PIC pair, as the BIOS does before the jump.
    @Test func code05EOIsThePICs() {
        let f = PlatformFixture()
        f.initPICs()
        f.out(0x21, 0xFE)                                        // only IRQ 0
        _ = f.platform.portWrite(port: 0x43, size: 1, value: 0x34)
        _ = f.platform.portWrite(port: 0x40, size: 1, value: 0x10)
        _ = f.platform.portWrite(port: 0x40, size: 1, value: 0x00)
        f.clock.waitUntil(1_000_000)
        #expect(f.take() == 0x20)
        f.out(0x20, 0x0B)                                        // OCW3: read ISR
        #expect(f.inb(0x20) == 0x01)
        f.out(0x70, 0x0F); f.out(0x71, Layout.shutdownJumpWithEOI)
        #expect(f.write(0xCF9, 0x06) == .warmReset)
        #expect(f.inb(0x20) == 0x00)
    }

    @Test func otherCodesEndTheRunAsBefore() {
        let f = PlatformFixture()
        f.out(0x70, 0x0F); f.out(0x71, 0x09)
        #expect(f.write(0x64, 0xFE) == .end(.shutdown, status: ExitStatus.reset, message: "reset requested: 0xfe written to port 0x64 (keyboard controller)"))
        #expect(f.write(0x92, 0x01) == .end(.shutdown, status: ExitStatus.reset,
                                            message: "fast reset: 0x1 written to port 0x92: reset (CMOS shutdown code 0x9: cold boot)"))
    }
}
