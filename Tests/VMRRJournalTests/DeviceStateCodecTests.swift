import Testing
@testable import VMRRJournal

/// The checkpoint device state: one codec for the recorder and the replay,
/// little-endian, tolerant of the shorter forms older journals hold.
@Suite struct DeviceStateCodecTests {
    static let state = DeviceState(timerDeadline: 0x0102_0304_0506_0708, deliveredEOT: true,
                                   clock: 0x1122_3344_5566_7788, uartLCR: 0x83, uartMCR: 0x1B)

    @Test func roundTripsAndIsLittleEndian() {
        let bytes = Self.state.encoded()
        #expect(bytes.count == DeviceState.size)
        #expect(bytes == [0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                          1, 0, 0, 0, 0, 0, 0, 0,
                          0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                          0x83, 0x1B])
        #expect(DeviceState(decoding: bytes) == Self.state)
        // Disarmed and not delivered: zeros on disk, nil and false back.
        let idle = DeviceState(clock: 5)
        #expect(idle.encoded() == [UInt8](repeating: 0, count: 16) + [5, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(DeviceState(decoding: idle.encoded()) == idle)
    }

    /// Format-1 journals hold 24 bytes: no UART registers, which read as clear.
    @Test func formatOneForm() {
        let old = Array(Self.state.encoded().prefix(DeviceState.formatOneSize))
        let d = DeviceState(decoding: old)
        #expect(d.timerDeadline == Self.state.timerDeadline && d.deliveredEOT && d.clock == Self.state.clock)
        #expect(d.uartLCR == 0 && d.uartMCR == 0)
    }

    /// Any length decodes: a field that is not all there keeps its default,
    /// and LCR and MCR are read only together; extra bytes are ignored.
    @Test func anyLengthDecodes() {
        let bytes = Self.state.encoded()
        for n in 0...bytes.count {
            let d = DeviceState(decoding: Array(bytes.prefix(n)))
            #expect(d.timerDeadline == (n >= 8 ? Self.state.timerDeadline : nil), "length \(n)")
            #expect(d.deliveredEOT == (n >= 16), "length \(n)")
            #expect(d.clock == (n >= 24 ? Self.state.clock : 0), "length \(n)")
            #expect(d.uartLCR == (n >= 26 ? 0x83 : 0) && d.uartMCR == (n >= 26 ? 0x1B : 0), "length \(n)")
        }
        #expect(DeviceState(decoding: bytes + [0xEE, 0xFF]) == Self.state)
        #expect(DeviceState(decoding: [9, 8, 7, 6]) == DeviceState())   // the test fixtures' opaque bytes
    }
}
