import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// The 8254 and port 0x61: counters on guest-clock time, on their own and
/// through the platform.
@Suite struct PIT8254Tests {
    static let base = UInt64(Layout.pitCounterPorts.lowerBound)

    func write(_ pit: PIT8254, _ port: UInt64, _ v: UInt8, now: UInt64 = 0) {
        #expect(pit.write(access(port, base: Self.base, value: UInt64(v), now: now)) == .handled)
    }
    func read(_ pit: PIT8254, _ port: UInt64, now: UInt64) -> UInt8 {
        UInt8(pit.read(access(port, base: Self.base, now: now))!.value)
    }

    @Test func channel0EdgesReachIRQ0WhenTheGuestLooks() {
        let lines = LineRecorder()
        let pit = PIT8254(irq: InterruptLine(lines, irq: Layout.pitIRQ))
        write(pit, 0x43, 0x34); write(pit, 0x40, 0xA9); write(pit, 0x40, 0x04)   // mode 2, 1193 ticks = 1 ms
        let edge = try! #require(pit.nextRisingEdge(after: 0))
        #expect(edge > 999_000 && edge < 1_001_000)
        lines.setIRQ(Layout.pitIRQ, false)
        pit.advance(to: edge - 1)
        #expect(!lines.level(Layout.pitIRQ))
        pit.advance(to: edge)
        // The edge is delivered as low then high, so an edge-triggered PIC latches it.
        #expect(lines.changes.suffix(3).map(\.level) == [false, true, true])
        // Counting down: half way through the next period the count is about half.
        let half = edge + 500_000
        write(pit, 0x43, 0x00, now: half)                                         // latch channel 0
        let count = Int(read(pit, 0x40, now: half)) | Int(read(pit, 0x40, now: half)) << 8
        #expect(count > 590 && count < 600, "\(count)")
        #expect(read(pit, 0x43, now: half) == 0xFF)                                 // control port reads all ones
    }

    @Test func systemControlPortGatesChannel2AndShowsOUT2() {
        let pit = PIT8254(irq: InterruptLine(LineRecorder(), irq: Layout.pitIRQ))
        let port61 = SystemControlPort(pit: pit)
        let at = { (now: UInt64) in access(0x61, base: 0x61, now: now) }
        #expect(port61.write(access(0x61, base: 0x61, value: 0x03)) == .handled)    // gate and speaker on
        #expect(port61.read(at(0))!.value & 0x03 == 0x03)
        write(pit, 0x43, 0xB0); write(pit, 0x42, 100); write(pit, 0x42, 0)          // channel 2, mode 0, 100 ticks
        #expect(port61.read(at(1_000))!.value & 0x20 == 0)
        #expect(port61.read(at(100_000))!.value & 0x20 != 0)                        // 100 ticks = 83.8 us
        // The refresh toggle flips every 15.085 us of guest time.
        #expect(port61.read(at(0))!.value & 0x10 != port61.read(at(15_085))!.value & 0x10)
    }

    /// Channel 0 in mode 2 at 1 kHz (count 1193) raises IRQ 0 once per
    /// period of guest-clock time, and says when the next edge comes.
    @Test func pitChannel0DrivesIRQ0OnTheGuestClock() {
        let f = PlatformFixture()
        f.initPICs()
        f.out(0x43, 0x34); f.out(0x40, 0xA9); f.out(0x40, 0x04)    // mode 2, count 0x04A9 = 1193
        #expect(f.take() == nil)
        let next = try! #require(f.platform.nextInterruptTime())
        #expect(next > 999_000 && next < 1_001_000, "\(next)")
        f.clock.waitUntil(next)
        #expect(f.take() == 0x20)
        f.out(0x20, 0x20)
        #expect(f.take() == nil)
        f.clock.waitUntil(next + 1_000_000)
        #expect(f.take() == 0x20)
        // Masked at the PIC: no interrupt, and nothing to wait for.
        f.out(0x20, 0x20)
        f.out(0x21, 0x01)
        #expect(f.platform.nextInterruptTime() == nil)
    }

    /// Linux's PIT calibration: gate channel 2 through port 0x61, mode 0 with
    /// a count, then poll OUT2 (bit 5) until the count runs out.
    @Test func pitChannel2GateAndOut2ThroughPort61() {
        let f = PlatformFixture()
        f.out(0x61, (f.inb(0x61) & ~0x02) | 0x01)    // gate on, speaker off
        f.out(0x43, 0xB0)                             // channel 2, lo/hi, mode 0
        f.out(0x42, 0x9B); f.out(0x42, 0x2E)          // 0x2E9B = 11931 ticks = 10 ms
        #expect(f.inb(0x61) & 0x20 == 0)
        f.clock.waitUntil(f.clock.now() + 9_900_000)
        #expect(f.inb(0x61) & 0x20 == 0)
        // The counter counts down: latch and read it.
        f.out(0x43, 0x80)
        let lo = f.inb(0x42), hi = f.inb(0x42)
        let value = Int(hi) << 8 | Int(lo)
        #expect(value > 0 && value < 200, "\(value)")
        f.clock.waitUntil(f.clock.now() + 200_000)
        #expect(f.inb(0x61) & 0x20 != 0)
    }

    @Test func pitReadBackLatchesStatusAndCount() {
        let f = PlatformFixture()
        f.out(0x43, 0x36); f.out(0x40, 0x00); f.out(0x40, 0x10)    // channel 0, mode 3, count 0x1000
        f.out(0x43, 0xC2)                             // read-back: count and status of channel 0
        let status = f.inb(0x40)
        #expect(status & 0x3F == 0x36)                // access 3, mode 3, binary
        let lo = f.inb(0x40), hi = f.inb(0x40)
        #expect(Int(hi) << 8 | Int(lo) == 0x1000)
    }


    /// NULL COUNT (read-back status bit 6): clear at power-up (no firmware
    /// programs channel 0 here; Linux's `i8254()` loop waits for it to be
    /// clear), set by a control word, cleared by loading the count.
    @Test func nullCountFollowsTheControlWordAndTheLoad() {
        let f = PlatformFixture()
        func status() -> UInt8 { f.out(0x43, 0xE2); return f.inb(0x40) }   // read-back: status of channel 0 only
        #expect(status() & 0x40 == 0)
        f.out(0x43, 0x34)                             // channel 0, mode 2, low then high
        #expect(status() & 0x40 != 0)
        f.out(0x40, 0x00)
        #expect(status() & 0x40 != 0)                 // half a count is not loaded
        f.out(0x40, 0x10)
        #expect(status() & 0x40 == 0)
    }
}
