import Testing
import VMRRBase
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// The CMOS RTC on the guest clock, and the civil-time conversion it uses.
@Suite struct CMOSRTCTests {
    @Test func cmosRTC() {
        let f = PlatformFixture(strict: false, memory: 64 << 20)
        func cmos(_ reg: UInt8) -> UInt64 { _ = f.write(0x70, UInt64(reg)); return f.read(0x71) }
        // The virtual clock's epoch, 2025-01-01 00:00:00 UTC (a Wednesday), in BCD, 24-hour.
        #expect(cmos(0x0B) == 0x02 && cmos(0x0A) & 0x80 == 0 && cmos(0x0D) == 0x80)
        #expect([cmos(0x32), cmos(0x09), cmos(0x08), cmos(0x07), cmos(0x06)] == [0x20, 0x25, 0x01, 0x01, 4])
        #expect([cmos(0x04), cmos(0x02), cmos(0x00)] == [0, 0, 0])
        // The time follows the guest clock.
        f.clock.waitUntil(3_723_000_000_000)                                 // 1 h 2 min 3 s
        #expect([cmos(0x04), cmos(0x02), cmos(0x00)] == [0x01, 0x02, 0x03])
        // Binary mode and 12-hour mode honoured; the time itself cannot be set.
        _ = f.write(0x70, 0x0B); _ = f.write(0x71, 0x04)                     // binary, 12-hour
        #expect(cmos(0x04) == 1 && cmos(0x00) == 3 && cmos(0x09) == 25)
        _ = f.write(0x70, 0x00); _ = f.write(0x71, 0x59)
        #expect(cmos(0x00) == 3)
        // NMI mask bit ignored; CMOS RAM readable back; memory sizes as QEMU writes them.
        _ = f.write(0x70, 0x80 | 0x40); _ = f.write(0x71, 0x5A)
        #expect(cmos(0x40) == 0x5A)
        #expect(cmos(0x15) | cmos(0x16) << 8 == 640)
        #expect(cmos(0x17) | cmos(0x18) << 8 == 63 * 1024)
        #expect(cmos(0x34) | cmos(0x35) << 8 == (48 << 20) >> 16)
        #expect(f.read(0x70) == 0xFF)
    }

    /// The access's guest-clock time is what the RTC shows; PM hours carry bit 7 in 12-hour mode.
    @Test func readsTheTimeOfTheAccess() {
        let rtc = CMOSRTC(memorySize: 64 << 20, epoch: Layout.virtualClockEpoch)
        let base = UInt64(Layout.cmosIndexPort)
        func reg(_ r: UInt8, at now: UInt64) -> UInt64 {
            _ = rtc.write(access(base, base: base, value: UInt64(r)))
            return rtc.read(access(base + 1, base: base, now: now))!.value
        }
        let afternoon: UInt64 = 13 * 3600 * 1_000_000_000 + 5_000_000_000  // 13:00:05
        #expect(reg(0x04, at: afternoon) == 0x13 && reg(0x00, at: afternoon) == 0x05)
        _ = rtc.write(access(base, base: base, value: 0x0B))
        _ = rtc.write(access(base + 1, base: base, value: 0x00))            // BCD, 12-hour
        #expect(reg(0x04, at: afternoon) == 0x81)
        // Status A keeps update-in-progress clear; status C and D cannot be written.
        _ = rtc.write(access(base, base: base, value: 0x0A)); _ = rtc.write(access(base + 1, base: base, value: 0xA6))
        _ = rtc.write(access(base, base: base, value: 0x0D)); _ = rtc.write(access(base + 1, base: base, value: 0x00))
        #expect(reg(0x0A, at: 0) == 0x26 && reg(0x0D, at: 0) == 0x80)
    }

    @Test func civilTime() {
        func fields(_ t: UInt64) -> [Int] {
            let c = CivilTime(unixSeconds: t)
            return [c.year, c.month, c.day, c.hour, c.minute, c.second, c.weekday]
        }
        #expect(fields(0) == [1970, 1, 1, 0, 0, 0, 4])                      // a Thursday
        #expect(fields(951_782_400) == [2000, 2, 29, 0, 0, 0, 2])           // leap day, a Tuesday
        #expect(fields(4_107_542_399) == [2100, 2, 28, 23, 59, 59, 0])      // 2100 is not a leap year; a Sunday
    }
}
