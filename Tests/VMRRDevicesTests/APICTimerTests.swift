import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// The local APIC timer (SDM 11.5.4), NMI and INIT IPIs, LINT0 and the PIC,
/// and messages from the I/O APIC.
@Suite struct APICTimerTests {
    let apic = LocalAPIC()
    func read(_ offset: UInt64, at now: UInt64 = 0) -> UInt32 {
        UInt32(truncatingIfNeeded: apic.read(DeviceAccess(base: Layout.apicGPA, offset: offset, size: 4, now: now))!.value)
    }
    func write(_ offset: UInt64, _ v: UInt32, at now: UInt64 = 0) {
        _ = apic.write(DeviceAccess(base: Layout.apicGPA, offset: offset, size: 4, value: UInt64(v), now: now))
    }

    @Test func divideValues() {
        let expected: [UInt32: UInt64] = [0x0: 2, 0x1: 4, 0x2: 8, 0x3: 16, 0x8: 32, 0x9: 64, 0xA: 128, 0xB: 1]
        for (config, divisor) in expected { #expect(APICTimer.divisor(config) == divisor, "divide config \(config)") }
        write(0x3E0, 0xFFFF_FFFF)
        #expect(read(0x3E0) == 0xB)                                    // bits 0, 1 and 3 only
    }

    @Test func oneShotCountsDownAndInterruptsOnce() {
        write(0xF0, 0x1FF)
        write(0x320, 0x40)                                             // one-shot, vector 0x40, unmasked
        write(0x3E0, 0xB)                                              // divide by 1: 1 count per ns
        write(0x380, 1_000, at: 500)
        #expect(read(0x380, at: 600) == 1_000 && read(0x390, at: 600) == 900)
        #expect(apic.nextTimerInterrupt == 1_500)
        apic.advance(to: 1_499)
        #expect(apic.deliverable == nil)
        apic.advance(to: 1_500)
        #expect(apic.deliverable == 0x40 && read(0x390, at: 1_500) == 0)
        apic.acknowledge(0x40); write(0xB0, 0)
        apic.advance(to: 10_000)
        #expect(apic.deliverable == nil && apic.nextTimerInterrupt == nil)   // stopped at 0
    }

    @Test func periodicReloadsAndMergesMissedPeriods() {
        write(0xF0, 0x1FF)
        write(0x320, 1 << 17 | 0x41)                                   // periodic
        write(0x3E0, 0x0)                                              // divide by 2
        write(0x380, 100)                                              // 200 ns per period
        #expect(read(0x390, at: 50) == 75)
        apic.advance(to: 650)                                          // three expiries: one interrupt
        #expect(apic.deliverable == 0x41)
        #expect(read(0x390, at: 650) == 100 - 25)                      // reloaded, 50 ns into the period
        #expect(apic.nextTimerInterrupt == 800)
        write(0x380, 0, at: 700)                                       // 0 stops it
        #expect(apic.nextTimerInterrupt == nil && read(0x390, at: 900) == 0)
    }

    @Test func maskedTimerCountsWithoutInterrupting() {
        write(0xF0, 0x1FF)
        write(0x320, 1 << 16 | 0x42)
        write(0x3E0, 0xB)
        write(0x380, 10)
        #expect(apic.nextTimerInterrupt == nil)
        apic.advance(to: 100)
        #expect(apic.deliverable == nil)
    }

    @Test func changingTheDivideContinuesFromTheCurrentCount() {
        write(0x320, 0x43)
        write(0x3E0, 0xB)
        write(0x380, 1_000)
        write(0x3E0, 0x0, at: 400)                                     // 600 left, now 2 ns each
        #expect(read(0x390, at: 400) == 600 && read(0x390, at: 600) == 500)
        #expect(apic.nextTimerInterrupt == 400 + 1_200)
    }

    @Test func tscDeadlineModeDoesNotCount() {
        write(0x320, 2 << 17 | 0x44)
        write(0x380, 10)
        #expect(read(0x390, at: 5) == 0 && apic.nextTimerInterrupt == nil)
    }

    @Test func timerThroughThePlatformWakesAHalt() {
        let f = PlatformFixture()
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0xF0, size: 4, value: 0x1FF)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x320, size: 4, value: 0x50)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x3E0, size: 4, value: 0xB)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x380, size: 4, value: 5_000)
        #expect(f.take() == nil)
        #expect(f.platform.nextInterruptTime() == 5_000)
        f.clock.waitUntil(5_000)
        #expect(f.take() == 0x50)
        // x2APIC: the same registers as MSRs, on the guest clock.
        #expect(!f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)
        #expect(!f.platform.answerMSR(index: 0x838, direction: .write, value: 1_000).fault)
        f.clock.waitUntil(5_400)
        #expect(f.platform.answerMSR(index: 0x839, direction: .read, value: 0).value == 600)
    }

    @Test func nmiIPIsAndMessages() {
        write(0x300, 0x0004_0400)                                      // NMI to self
        #expect(apic.nmiPending)
        apic.acknowledgeNMI()
        #expect(!apic.nmiPending)
        _ = apic.receive(InterruptMessage(vector: 0, deliveryMode: InterruptMessage.DeliveryMode.nmi))
        #expect(apic.nmiPending)
        let f = PlatformFixture()
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x300, size: 4, value: 0x0004_0400)
        #expect(f.platform.pendingNMI)
        f.platform.acknowledgeNMI()
        #expect(!f.platform.pendingNMI)
    }

    @Test func messageDestinations() {
        write(0xF0, 0x1FF)
        #expect(apic.receive(InterruptMessage(vector: 0x60, destination: 0)))
        #expect(apic.receive(InterruptMessage(vector: 0x61, destination: 0xFF)))
        #expect(!apic.receive(InterruptMessage(vector: 0x62, destination: 1)))
        write(0xD0, 0x0100_0000)                                       // logical ID 1, flat model (DFR all ones)
        #expect(apic.receive(InterruptMessage(vector: 0x63, logical: true, destination: 0x03)))
        #expect(!apic.receive(InterruptMessage(vector: 0x64, logical: true, destination: 0x02)))
        write(0xE0, 0x0FFF_FFFF)                                       // cluster model: cluster 0, bit 0
        #expect(apic.receive(InterruptMessage(vector: 0x65, logical: true, destination: 0x01)))
        #expect(!apic.receive(InterruptMessage(vector: 0x66, logical: true, destination: 0x11)))
        #expect(apic.receive(InterruptMessage(vector: 0x67, level: true)))
        #expect(apic.value(of: 0x180 + 0x30) == 1 << (0x67 - 0x60))   // TMR word 3
        #expect(apic.value(of: 0x200 + 0x30) & (1 << 3) != 0)         // IRR holds 0x63
        // A disabled APIC accepts nothing.
        #expect(apic.writeMSR(Layout.MSR.apicBase, value: 0xFEE0_0000, now: 0))
        #expect(!apic.receive(InterruptMessage(vector: 0x68)))
    }

    @Test func lint0GatesThePIC() {
        let f = PlatformFixture()
        f.initPICs()
        f.out(0x2001, 1)                                               // IRQ 1 through the PIC
        #expect(f.platform.pendingInterrupt() == 0x21)                 // LINT0 is ExtINT, unmasked
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x350, size: 4, value: 0x1_0700)   // mask LINT0
        #expect(f.platform.pendingInterrupt() == nil)
        // Globally disabled, the APIC is out of the way: the PIC's INTR goes straight to the CPU.
        #expect(!f.platform.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0000).fault)
        #expect(f.take() == 0x21)
    }
}
