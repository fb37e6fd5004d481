import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// A local APIC stand-in that records the messages an I/O APIC sends.
final class MessageRecorder: APICBus {
    private(set) var messages: [InterruptMessage] = []
    var accepts = true
    func receive(_ m: InterruptMessage) -> Bool { messages.append(m); return accepts }
}

/// The 82093AA I/O APIC: IOREGSEL/IOWIN, ID, version, arbitration, the
/// redirection table, edge and level pins, remote IRR and EOI.
@Suite struct IOAPICTests {
    let bus = MessageRecorder()
    let ioapic: IOAPIC
    init() { ioapic = IOAPIC(bus: bus) }

    func select(_ index: UInt8) { _ = ioapic.write(DeviceAccess(base: Layout.ioapicGPA, offset: 0, size: 4, value: UInt64(index))) }
    func readRegister(_ index: UInt8) -> UInt32 {
        select(index)
        return UInt32(ioapic.read(DeviceAccess(base: Layout.ioapicGPA, offset: 0x10, size: 4))!.value)
    }
    func writeRegister(_ index: UInt8, _ v: UInt32) {
        select(index)
        _ = ioapic.write(DeviceAccess(base: Layout.ioapicGPA, offset: 0x10, size: 4, value: UInt64(v)))
    }
    /// Programs pin `pin`: low dword then high dword.
    func program(_ pin: Int, low: UInt32, destination: UInt8 = 0) {
        writeRegister(UInt8(0x11 + 2 * pin), UInt32(destination) << 24)
        writeRegister(UInt8(0x10 + 2 * pin), low)
    }

    @Test func identificationRegisters() {
        #expect(readRegister(0x01) == 0x0017_0020)                     // version 0x20, max redirection entry 23
        #expect(readRegister(0x00) == 0)
        writeRegister(0x00, 0xFFFF_FFFF)
        #expect(readRegister(0x00) == 0x0F00_0000)                     // only bits 27:24
        #expect(readRegister(0x02) == 0x0F00_0000)                     // arbitration ID follows the ID
        writeRegister(0x01, 0)
        #expect(readRegister(0x01) == 0x0017_0020)                     // read-only
        #expect(readRegister(0x3F) == 0 && readRegister(0x40) == 0)    // past the table
        select(0x12)
        #expect(ioapic.read(DeviceAccess(base: Layout.ioapicGPA, offset: 0, size: 4))!.value == 0x12)
    }

    @Test func entriesStartMaskedAndReadOnlyBitsStay() {
        for pin in 0..<24 { #expect(readRegister(UInt8(0x10 + 2 * pin)) == 0x1_0000 && readRegister(UInt8(0x11 + 2 * pin)) == 0) }
        writeRegister(0x10, 0xFFFF_FFFF)
        // Delivery status (12), remote IRR (14) and reserved bits 31:17 read 0.
        #expect(readRegister(0x10) == 0x0001_AFFF)
        writeRegister(0x11, 0xFFFF_FFFF)
        #expect(readRegister(0x11) == 0xFF00_0000)                     // destination only
    }

    @Test func edgePinDeliversOnRisingEdgeOnly() {
        program(4, low: 0x31)                                          // fixed, physical, edge, high, unmasked
        ioapic.setLine(4, true)
        #expect(bus.messages == [InterruptMessage(vector: 0x31)])
        ioapic.setLine(4, true)                                        // still high: no new edge
        ioapic.setLine(4, false)
        #expect(bus.messages.count == 1)
        ioapic.setLine(4, true)
        #expect(bus.messages.count == 2)
        #expect(readRegister(0x18) & (1 << 14) == 0)                   // edge entries have no remote IRR
    }

    @Test func maskedEdgeIsLatchedUntilUnmasked() {
        program(2, low: 0x1_0030)                                      // masked
        ioapic.setLine(2, true); ioapic.setLine(2, false)
        #expect(bus.messages.isEmpty)
        program(2, low: 0x30)
        #expect(bus.messages == [InterruptMessage(vector: 0x30)])
        program(2, low: 0x30)
        #expect(bus.messages.count == 1)                               // delivered once
    }

    @Test func levelPinHoldsRemoteIRRUntilEOI() {
        program(9, low: 0x8000 | 0x41, destination: 0)                 // level, active high
        ioapic.setLine(9, true)
        #expect(bus.messages == [InterruptMessage(vector: 0x41, level: true)])
        #expect(readRegister(0x22) & (1 << 14) != 0)                   // remote IRR
        ioapic.setLine(9, true)
        #expect(bus.messages.count == 1)
        // EOI with the line still asserted: delivered again.
        ioapic.endOfInterrupt(vector: 0x41)
        #expect(bus.messages.count == 2)
        ioapic.setLine(9, false)
        // The EOI register (version 0x20) clears remote IRR; the line is low, so nothing more.
        _ = ioapic.write(DeviceAccess(base: Layout.ioapicGPA, offset: 0x40, size: 4, value: 0x41))
        #expect(readRegister(0x22) & (1 << 14) == 0)
        #expect(bus.messages.count == 2)
        // An EOI for another vector leaves remote IRR alone.
        ioapic.setLine(9, true)
        ioapic.endOfInterrupt(vector: 0x42)
        #expect(readRegister(0x22) & (1 << 14) != 0 && bus.messages.count == 3)
    }

    @Test func activeLowLevelPin() {
        program(10, low: 0xA000 | 0x50)                                // level, active low
        #expect(bus.messages == [InterruptMessage(vector: 0x50, level: true)])   // a low line is asserted
        ioapic.setLine(10, true)
        ioapic.endOfInterrupt(vector: 0x50)
        #expect(bus.messages.count == 1)                               // deasserted: nothing after the EOI
    }

    @Test func messageFields() {
        program(16, low: 0x0000_0C00 | 0x60, destination: 0x03)        // NMI mode, logical
        ioapic.setLine(16, true)
        #expect(bus.messages == [InterruptMessage(vector: 0x60, deliveryMode: 4, logical: true, level: false, destination: 0x03)])
        ioapic.setLine(24, true)                                       // no such pin
        ioapic.setLine(-1, true)
        #expect(bus.messages.count == 1)
    }

    @Test func routedThroughThePlatformToTheLocalAPIC() {
        let f = PlatformFixture()
        func mmio(_ off: UInt64, _ v: UInt64) { _ = f.platform.mmioWrite(gpa: Layout.ioapicGPA + off, size: 4, value: v) }
        f.initPICs(); f.out(0x21, 0xFF); f.out(0xA1, 0xFF)            // PIC masked: only the I/O APIC delivers
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0xF0, size: 4, value: 0x1FF)   // APIC software-enabled
        mmio(0, 0x10 + 2 * 4); mmio(0x10, 0x34)                        // COM1's GSI 4 -> vector 0x34
        mmio(0, 0x10 + 2 * 5); mmio(0x10, 0x8000 | 0x35)               // GSI 5, level -> 0x35
        f.out(0x2004, 1); f.out(0x2004, 0)                              // pc-testdev pulses IRQ 4
        #expect(f.take() == 0x34)
        #expect(f.take() == nil)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0xB0, size: 4, value: 0)
        f.out(0x2005, 1)                                                // level IRQ 5 held high
        #expect(f.take() == 0x35)
        #expect(f.platform.mmioRead(gpa: Layout.apicGPA + 0x180 + 0x10, size: 4).value == 1 << (0x35 - 0x20))   // TMR
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0xB0, size: 4, value: 0)       // EOI broadcast: redelivered
        #expect(f.take() == 0x35)
        f.out(0x2005, 0)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0xB0, size: 4, value: 0)
        #expect(f.take() == nil)
    }

    @Test func pitReachesGSI2() {
        let f = PlatformFixture()
        f.initPICs(); f.out(0x21, 0xFF)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0xF0, size: 4, value: 0x1FF)
        _ = f.platform.mmioWrite(gpa: Layout.ioapicGPA, size: 4, value: 0x14)
        _ = f.platform.mmioWrite(gpa: Layout.ioapicGPA + 0x10, size: 4, value: 0x22)
        f.out(0x43, 0x34); f.out(0x40, 0x00); f.out(0x40, 0x10)       // mode 2, 4096 ticks
        #expect(f.platform.nextInterruptTime() != nil)                 // through the I/O APIC, though the PIC masks IRQ 0
        f.clock.waitUntil(f.platform.nextInterruptTime()!)
        #expect(f.take() == 0x22)
    }
}
