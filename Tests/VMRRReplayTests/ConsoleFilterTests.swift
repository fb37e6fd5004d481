import Testing
import VMRRJournal
import VMRRReplay

@Suite struct ConsoleFilterTests {
    static let thr: UInt16 = 0x3f8
    static func out(_ port: UInt16, _ v: UInt8) -> Event { .io(port: port, size: 1, direction: .write, value: UInt64(v)) }

    /// Divisor-latch and loopback writes to THR are not console output; the rest is.
    @Test func onlyPlainTHRWritesAreConsoleOutput() {
        var f = ConsoleFilter(thrPort: Self.thr)
        let events: [Event] = [
            Self.out(Self.thr, 0x41),                     // 'A'
            Self.out(Self.thr + 3, 0x80), Self.out(Self.thr, 0x01), Self.out(Self.thr + 3, 0x03),   // divisor 1
            Self.out(Self.thr + 4, 0x10), Self.out(Self.thr, 0x78), Self.out(Self.thr + 4, 0x00),   // loopback 'x'
            Self.out(Self.thr, 0x42),                     // 'B'
            .io(port: Self.thr, size: 1, direction: .read, value: 0x43),
            Self.out(0x80, 0x44),
        ]
        #expect(events.compactMap { f.observe($0) } == [0x41, 0x42])
    }

    /// A replay from a checkpoint starts with the registers the checkpoint's device state holds.
    @Test func startsFromACheckpointsDeviceState() {
        var state = [UInt8](repeating: 0, count: 24)
        state += [0x80, 0x00]   // LCR with DLAB, MCR
        var f = ConsoleFilter(thrPort: Self.thr, deviceState: state)
        #expect(f.observe(Self.out(Self.thr, 0x0c)) == nil)
        _ = f.observe(Self.out(Self.thr + 3, 0x03))
        #expect(f.observe(Self.out(Self.thr, 0x41)) == 0x41)
        // Older device states (24 bytes) start with both registers clear.
        var old = ConsoleFilter(thrPort: Self.thr, deviceState: [UInt8](repeating: 0, count: 24))
        #expect(old.observe(Self.out(Self.thr, 0x41)) == 0x41)
    }
}
