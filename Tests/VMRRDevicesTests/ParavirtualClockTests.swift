import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// vmrr's clock page: the clock read, the one-shot timer, the rest of the page.
@Suite struct ParavirtualClockTests {
    static let page = Layout.paravirtPageGPA

    @Test func clockAndTimerOnTheirOwn() {
        let pv = ParavirtualClock()
        let clock = DeviceAccess(base: Self.page, offset: Layout.clockGPA - Self.page, size: 8, now: 1234)
        #expect(pv.read(clock) == DeviceAnswer(value: 1234, record: .clock(nanoseconds: 1234)))
        let timer = DeviceAccess(base: Self.page, offset: Layout.timerGPA - Self.page, size: 8, value: 5000)
        #expect(pv.write(timer) == DeviceAnswer(record: .timer(deadline: 5000)))
        #expect(pv.deadline == 5000 && !pv.expired(at: 4999) && pv.expired(at: 5000))
        pv.acknowledge()
        #expect(pv.deadline == nil && !pv.expired(at: 9999))
        // A write of 0 disarms; the rest of the page reads all ones and ignores writes.
        _ = pv.write(timer); _ = pv.write(DeviceAccess(base: Self.page, offset: 8, size: 8, value: 0))
        #expect(pv.deadline == nil)
        #expect(pv.read(DeviceAccess(base: Self.page, offset: 0x10, size: 4)) == .value(DeviceAccess.allOnes))
        #expect(pv.write(DeviceAccess(base: Self.page, offset: 0, size: 8, value: 7)) == .handled)
    }

    @Test func eventsThroughThePlatform() {
        let f = PlatformFixture(strict: true)
        f.clock.waitUntil(0x1_0000_0000)
        let (ev, v, outcome) = f.platform.mmioRead(gpa: Layout.clockGPA, size: 4)
        #expect(ev == .clock(ns: 0x1_0000_0000) && v == 0 && outcome == .proceed)      // the value is cut to the size; the event is not
        #expect(f.platform.mmioWrite(gpa: Layout.timerGPA, size: 8, value: 0x1_0000_0500) == (.timer(deadline: 0x1_0000_0500), .proceed))
        #expect(f.platform.timerDeadline == 0x1_0000_0500 && f.platform.nextInterruptTime() == 0x1_0000_0500)
        #expect(f.take() == nil)
        f.clock.waitUntil(0x1_0000_0500)
        #expect(f.platform.timerExpired)
        #expect(f.take() == Layout.timerVector)
        #expect(f.platform.timerDeadline == nil && f.take() == nil)
        // Elsewhere on the page: mmio events, not unknown accesses.
        #expect(f.platform.mmioRead(gpa: Layout.paravirtPageGPA + 0x100, size: 2)
                == (.mmio(gpa: Layout.paravirtPageGPA + 0x100, size: 2, direction: .read, value: 0xFFFF), 0xFFFF, .proceed))
    }
}
