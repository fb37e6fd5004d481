import Testing
import VMRRBase
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// Port 0x92 (A20, fast reset) and INIT with the CMOS shutdown byte.
@Suite struct WarmResetTests {
    @Test func portAStoresA20AndFastResetEnds() {
        let f = PlatformFixture(strict: true)
        #expect(f.read(0x92) == 0x02)                                  // A20 on at boot
        #expect(f.write(0x92, 0x00) == .proceed)
        #expect(f.read(0x92) == 0x00)
        f.out(0x70, 0x0F); f.out(0x71, 0x00)
        let end = f.write(0x92, 0x03)
        #expect(end == .end(.shutdown, status: ExitStatus.reset,
                            message: "fast reset: 0x3 written to port 0x92: reset (CMOS shutdown code 0x0: cold boot)"))
    }

    @Test func fastResetNeedsARisingBit0() {
        let reset = WarmReset(cmos: CMOSRTC(memorySize: 64 << 20, epoch: 0))
        let port = SystemControlPortA(reset: reset)
        let a = access(0x92, base: 0x92, value: 1)
        #expect(port.write(a)?.outcome != .proceed)
        #expect(port.write(a)?.outcome == .proceed)                    // already set: no new reset
        #expect(port.write(access(0x92, base: 0x92, value: 0))?.outcome == .proceed)
    }

    @Test func initIPIWithShutdownCode0AIsAWarmReset() {
        let f = PlatformFixture(strict: true)
        f.out(0x70, 0x0F); f.out(0x71, 0x0A)                           // shutdown code: jump through 40:67
        let (_, outcome) = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x300, size: 4, value: 0x0004_4500)   // INIT, self
        #expect(outcome == .warmReset)
        // The BIOS's resume path clears the shutdown byte: a second INIT is a cold reset.
        f.out(0x70, 0x0F)
        #expect(f.read(0x71) == 0)
        // An INIT to an absent APIC does nothing.
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x310, size: 4, value: 0x0100_0000)
        #expect(f.platform.mmioWrite(gpa: Layout.apicGPA + 0x300, size: 4, value: 0x0000_4500).outcome == .proceed)
    }

    @Test func x2apicINITEndsThroughTheMSRAnswer() {
        let f = PlatformFixture(strict: true)
        f.out(0x70, 0x0F); f.out(0x71, 0x05)
        #expect(!f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)
        let r = f.platform.answerMSR(index: 0x830, direction: .write, value: 0x0004_0500)
        #expect(!r.fault)
        #expect(r.outcome == .warmReset)
        #expect(f.platform.answerMSR(index: 0x830, direction: .write, value: 0x0004_0030).outcome == .proceed)
    }
}
