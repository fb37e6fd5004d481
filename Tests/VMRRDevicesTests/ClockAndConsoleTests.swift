import Testing
@testable import VMRRDevices

/// The guest clocks and the console's input and output types.
@Suite struct ClockAndConsoleTests {
    @Test func virtualClockAdvancesPerExitAndSkipsToDeadlines() {
        let c = VirtualClock(start: 10)
        c.begin()
        #expect(c.now() == 10)
        c.exitTick(); c.exitTick()
        #expect(c.now() == 10 + 2 * VirtualClock.nanosecondsPerExit)
        c.waitUntil(5)
        #expect(c.now() == 2010)                                 // never backwards
        c.waitUntil(1_000_000)
        #expect(c.now() == 1_000_000)
    }

    @Test func hostClockCountsFromBegin() {
        let c = HostClock()
        c.begin()
        let a = c.now()
        c.waitUntil(a + 1_000_000)                               // sleeps about 1 ms
        #expect(c.now() >= a + 1_000_000)
        #expect(c.now() < 60_000_000_000)
    }

    @Test func bufferedInputAndCapturedOutput() {
        let i = BufferedInput(bytes: [1, 2])
        #expect(i.peek() == 1 && !i.atEnd)
        i.consume(); i.consume(); i.consume()
        #expect(i.peek() == nil && i.atEnd)
        let o = CapturedOutput()
        for b in "hi\n".utf8 { o.write(b) }
        o.flush()
        #expect(o.text == "hi\n")
    }
}
