import Testing
import VMRRBase
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// Every device's state in checkpoint records: restored into a fresh
/// platform, it encodes to the same bytes and behaves the same.
@Suite struct DeviceStateTests {
    /// Drives every device away from its reset state.
    static func busyPlatform() -> PlatformFixture {
        let f = PlatformFixture(input: [0x41, 0x42])
        f.initPICs(base: 0x30)
        f.out(0x21, 0xFA); f.out(0x4D1, 0x02)
        f.out(0x43, 0x34); f.out(0x40, 0x34); f.out(0x40, 0x12)         // PIT mode 2
        f.out(0x43, 0xB6); f.out(0x42, 0x10); f.out(0x61, 0x03)
        f.out(0x3FB, 0x83); f.out(0x3F8, 0x01); f.out(0x3FB, 0x03); f.out(0x3F9, 0x0F); f.out(0x3FC, 0x1B)
        f.out(0x3F8, 0x55)                                              // loopback byte waits
        f.out(0x70, 0x0F); f.out(0x71, 0x0A); f.out(0x70, 0x40)
        f.out(0x92, 0x00)
        _ = f.platform.portWrite(port: 0x510, size: 2, value: 0x15); _ = f.inb(0x511)
        _ = f.platform.portWrite(port: 0xE0, size: 4, value: 0x1234_5678)
        _ = f.platform.portWrite(port: 0xCF8, size: 4, value: 0x8000_0058)
        _ = f.platform.portWrite(port: 0xCFC, size: 4, value: 0x1133_5577)
        _ = f.platform.portWrite(port: 0x602, size: 2, value: 0x0001)
        _ = f.platform.mmioWrite(gpa: Layout.testDevMemoryGPA + 0x1234, size: 8, value: 0xFEED)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0xF0, size: 4, value: 0x1FF)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x320, size: 4, value: 1 << 17 | 0x45)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x380, size: 4, value: 100_000)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x300, size: 4, value: 0x0004_0400)   // NMI pending
        _ = f.platform.mmioWrite(gpa: Layout.ioapicGPA, size: 4, value: 0x1A)
        _ = f.platform.mmioWrite(gpa: Layout.ioapicGPA + 0x10, size: 4, value: 0x8000 | 0x46)
        f.out(0x2005, 1)                                                // level GSI 5: remote IRR
        _ = f.platform.mmioWrite(gpa: Layout.hpetGPA + 0x100, size: 8, value: 1 << 1 | 1 << 2 | 16 << 9)
        _ = f.platform.mmioWrite(gpa: Layout.hpetGPA + 0x108, size: 8, value: 30)
        _ = f.platform.mmioWrite(gpa: Layout.hpetGPA + 0x10, size: 8, value: 1)
        _ = f.platform.mmioWrite(gpa: Layout.timerGPA, size: 8, value: 9_000_000)
        f.clock.waitUntil(1_000)
        _ = f.take()
        return f
    }

    @Test func restoredPlatformEncodesTheSameAndBehavesTheSame() throws {
        let a = Self.busyPlatform()
        let bytes = a.platform.encodeState()
        let b = PlatformFixture(input: [0x41, 0x42])
        b.clock.waitUntil(a.clock.now())
        try b.platform.restore(DeviceState(decoding: bytes))
        #expect(b.platform.encodeState() == bytes)
        // The same reads give the same answers afterwards.
        let probes: [(UInt16, UInt8)] = [(0x20, 1), (0x21, 1), (0xA1, 1), (0x40, 1), (0x40, 1), (0x61, 1), (0x3FD, 1),
                                         (0x3F8, 1), (0x3F9, 1), (0x71, 1), (0x92, 1), (0x511, 1), (0xE0, 4), (0xCFC, 4),
                                         (0x600, 4), (0x608, 4)]
        for (port, size) in probes {
            #expect(a.platform.portRead(port: port, size: size).value == b.platform.portRead(port: port, size: size).value,
                    "port \(hex(port))")
        }
        for gpa in [Layout.apicGPA + 0x390, Layout.apicGPA + 0x200 + 0x40, Layout.hpetGPA + 0x20, Layout.hpetGPA + 0xF0,
                    Layout.testDevMemoryGPA + 0x1234] {
            #expect(a.platform.mmioRead(gpa: gpa, size: 4).value == b.platform.mmioRead(gpa: gpa, size: 4).value, "\(hex(gpa))")
        }
        #expect(a.platform.pendingNMI && b.platform.pendingNMI)
        a.clock.waitUntil(200_000); b.clock.waitUntil(200_000)
        #expect(a.take() == b.take())
        #expect(a.platform.nextInterruptTime() == b.platform.nextInterruptTime())
        #expect(a.platform.encodeState() == b.platform.encodeState())
    }

    @Test func badRecordsAreOneLineErrors() {
        let f = PlatformFixture()
        var state = f.platform.deviceState
        state.devices = [DeviceStateRecord(tag: DeviceStateRecord.Tag.ioapic.rawValue, version: 1, bytes: [1, 2, 3])]
        #expect(throws: JournalError.self) { try f.platform.restore(state) }
        do { try f.platform.restore(state) } catch {
            #expect("\(error)".hasPrefix("device state of the I/O APIC: offset 1: u32 needs 4 bytes"), "\(error)")
        }
        state.devices = [DeviceStateRecord(tag: DeviceStateRecord.Tag.hpet.rawValue, version: 9, bytes: [])]
        do { try f.platform.restore(state) ; Issue.record("version 9 accepted") } catch {
            #expect("\(error)" == "device state of the HPET: record version 9; this vmrr reads version 1")
        }
        state.devices = [DeviceStateRecord(tag: DeviceStateRecord.Tag.resetPorts.rawValue, version: 1, bytes: [0, 0])]
        do { try f.platform.restore(state) ; Issue.record("a long record accepted") } catch {
            #expect("\(error)".contains("1 bytes past the end of the layout"))
        }
        // Unknown tags are skipped (a newer vmrr's devices).
        state.devices = [DeviceStateRecord(tag: 200, version: 1, bytes: [1])]
        #expect(throws: Never.self) { try f.platform.restore(state) }
    }
}
