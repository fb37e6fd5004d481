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

    /// Device records follow the MCR: block version 1, a count, then tag,
    /// version, length and bytes each; a reader keeps what is complete.
    @Test func deviceRecords() throws {
        var state = Self.state
        state.devices = [DeviceStateRecord(tag: 6, version: 1, bytes: [0xAA, 0xBB]),
                         DeviceStateRecord(tag: 200, version: 3, bytes: [])]
        let bytes = state.encoded()
        #expect(Array(bytes.prefix(DeviceState.size)) == Self.state.encoded())
        #expect(Array(bytes.dropFirst(DeviceState.size)) == [1, 2, 6, 1, 2, 0xAA, 0xBB, 200, 3, 0])
        #expect(DeviceState(decoding: bytes) == state)
        #expect(state.record(.ioapic)?.bytes == [0xAA, 0xBB] && state.record(.hpet) == nil)
        // Cut inside the second record: the first is kept.
        #expect(DeviceState(decoding: Array(bytes.dropLast(1))).devices == [state.devices[0]])
        // Cut inside the first: none; the fixed fields still decode.
        let cut = DeviceState(decoding: Array(bytes.prefix(DeviceState.size + 5)))
        #expect(cut.devices.isEmpty && cut.uartMCR == 0x1B)
        // Another block version is skipped whole.
        var other = Array(bytes); other[DeviceState.size] = 2
        #expect(DeviceState(decoding: other) == Self.state)
        // A reader of one record: short and long records are one-line errors.
        var r = DeviceStateReader(DeviceStateRecord(tag: 6, version: 1, bytes: [1, 2, 3]), device: "the I/O APIC")
        #expect(throws: JournalError.self) { _ = try r.u32() }
        var w = DeviceStateWriter()
        w.u8(7); w.optionalU64(nil); w.optionalU64(0x0102); w.bool(true); w.u16(0xBEEF); w.lengthPrefixed([9])
        var back = DeviceStateReader(DeviceStateRecord(tag: 1, version: 1, bytes: w.bytes), device: "x")
        let (b, none, some) = (try back.u8(), try back.optionalU64(), try back.optionalU64())
        #expect(b == 7 && none == nil && some == 0x0102)
        let (flag, word, tail) = (try back.bool(), try back.u16(), try back.lengthPrefixed())
        #expect(flag && word == 0xBEEF && tail == [9])
        #expect(throws: Never.self) { try back.finish() }
    }
}
