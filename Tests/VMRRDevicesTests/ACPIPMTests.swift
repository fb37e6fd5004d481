import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// The ACPI PM timer (3.579545 MHz, 24 bits) and the PM1a event and
/// control blocks, with TMR_STS and the SCI.
@Suite struct ACPIPMTests {
    @Test func timerCountsAt3579545HzAndWrapsAt24Bits() {
        #expect(ACPIPM.timerValue(at: 0) == 0)
        #expect(ACPIPM.timerValue(at: 1_000_000_000) == 3_579_545 & 0xFF_FFFF)
        #expect(ACPIPM.timerValue(at: 1_000) == 3)                     // 3.58 ticks
        // 2^24 ticks take 4.687 s; the value wraps to 0 there.
        let wrap = ACPIPM.time(ofTicks: 1 << 24)
        #expect(ACPIPM.timerValue(at: wrap) == 0 && ACPIPM.timerValue(at: wrap - 1) == 0xFF_FFFF)
        #expect(ACPIPM.ticks(at: 3_600_000_000_000) == 3_600 * 3_579_545)   // an hour: no overflow
    }

    @Test func registersThroughThePlatform() {
        let f = PlatformFixture(strict: true)
        f.clock.waitUntil(1_000_000_000)
        #expect(f.read(0x608, size: 4) == 3_579_545)
        #expect(f.read(0x609, size: 1) == (3_579_545 >> 8) & 0xFF)
        #expect(f.write(0x608, 0, size: 4) == .proceed)
        #expect(f.read(0x604, size: 2) == 1)                           // SCI_EN from boot
        #expect(f.read(0x600, size: 2) == 0 && f.read(0x602, size: 2) == 0)
        _ = f.write(0x602, 0xFFFF, size: 2)
        #expect(f.read(0x602, size: 2) == 0x0721)                      // TMR, GBL, PWRBTN, SLPBTN, RTC enables
        _ = f.write(0x604, 0x3C07, size: 2)                            // SLP_EN with S-state 7: ignored, run goes on
        #expect(f.read(0x604, size: 2) == 0x1C07)                      // SLP_EN is write-only
        #expect(f.read(0x600, size: 4) == 0x0721_0000)                 // status and enable in one dword
    }

    @Test func timerStatusSetsWhenBit23ChangesAndRaisesTheSCI() {
        let sci = LineRecorder()
        let pm = ACPIPM(sci: InterruptLine(sci, irq: 9))
        func read16(_ port: UInt16, at now: UInt64) -> UInt64 {
            pm.read(access(UInt64(port), base: UInt64(port), size: 2, now: now))!.value
        }
        func write16(_ port: UInt16, _ v: UInt64, at now: UInt64) {
            _ = pm.write(access(UInt64(port), base: UInt64(port), size: 2, value: v, now: now))
        }
        let carry = ACPIPM.time(ofTicks: 1 << 23)                      // about 2.34 s
        #expect(read16(0x600, at: carry - 1) & 1 == 0)
        #expect(read16(0x600, at: carry) & 1 == 1)
        #expect(!sci.level(9))
        write16(0x602, 1, at: carry)                                   // TMR_EN: the SCI rises
        #expect(sci.level(9))
        write16(0x600, 1, at: carry)                                   // write 1 to clear
        #expect(!sci.level(9) && read16(0x600, at: carry) & 1 == 0)
        #expect(pm.nextInterruptTime() == ACPIPM.time(ofTicks: 2 << 23))
        pm.advance(to: ACPIPM.time(ofTicks: 2 << 23))
        #expect(sci.level(9))
        write16(0x604, 0, at: ACPIPM.time(ofTicks: 2 << 23))           // SCI_EN clear: no SCI
        #expect(!sci.level(9))
    }
}
