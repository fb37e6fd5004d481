import Testing
import VMRRBase
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// The platform as the recorder sees it: routing, unknown accesses, the
/// order of interrupt sources, MSRs, and the checkpoint device state.
@Suite struct PCPlatformTests {
    @Test func strictStillStopsUnknownAccesses() {
        let d = PlatformFixture(strict: true).platform
        if case .end(.strict, _, _) = d.portRead(port: 0x80, size: 1).2 {} else { Issue.record("port 0x80 is unknown") }
        if case .end(.strict, _, _) = d.mmioRead(gpa: 0xFED1_0000, size: 4).2 {} else { Issue.record("nothing is mapped at 0xfed10000") }
        // Known PC devices do not stop a strict run.
        #expect(d.portRead(port: 0x511, size: 1).2 == .proceed)
        #expect(d.mmioRead(gpa: Layout.apicGPA + 0x20, size: 4).2 == .proceed)
    }

    @Test func unknownAccessesReadOnesAndAreJournaled() {
        let d = PlatformFixture(strict: false).platform
        #expect(d.portRead(port: 0x80, size: 2) == (.io(port: 0x80, size: 2, direction: .read, value: 0xFFFF), 0xFFFF, .proceed))
        #expect(d.portWrite(port: 0x80, size: 1, value: 0x1FF) == (.io(port: 0x80, size: 1, direction: .write, value: 0x1FF), .proceed))
        #expect(d.mmioRead(gpa: 0xFED1_0000, size: 8) == (.stage2Fault(gpa: 0xFED1_0000, size: 8, direction: .read, value: ~0), ~0, .proceed))
        #expect(d.mmioWrite(gpa: 0xFED1_0000, size: 4, value: 1) == (.stage2Fault(gpa: 0xFED1_0000, size: 4, direction: .write, value: 1), .proceed))
        let strict = PlatformFixture(strict: true).platform
        #expect(strict.portWrite(port: 0x80, size: 1, value: 0x12).outcome
                == .end(.strict, status: ExitStatus.strict, message: "write of 0x12 to unknown port 0x80 (size 1)"))
        #expect(strict.mmioWrite(gpa: 0xFED1_0000, size: 4, value: 1).outcome
                == .end(.strict, status: ExitStatus.strict, message: "write of 0x1 to unbacked guest-physical 0xfed10000 (size 4)"))
        #expect(strict.mmioRead(gpa: 0xFED1_0000, size: 4).outcome
                == .end(.strict, status: ExitStatus.strict, message: "read of unbacked guest-physical 0xfed10000 (size 4)"))
    }

    @Test func consoleInputIsAnInputEvent() {
        let f = PlatformFixture(input: [0x41])
        #expect(f.platform.portRead(port: Layout.com1Base, size: 1) == (.input(port: Layout.com1Base, byte: 0x41), 0x41, .proceed))
        #expect(f.platform.portRead(port: Layout.com1Base, size: 1) == (.input(port: Layout.com1Base, byte: Layout.eotByte), 4, .proceed))
        #expect(f.platform.deliveredEOT)
        #expect(f.platform.portRead(port: Layout.com1Base, size: 1) == (.io(port: Layout.com1Base, size: 1, direction: .read, value: 0), 0, .proceed))
        #expect(f.platform.portWrite(port: Layout.com1Base, size: 1, value: 0x42) == (.io(port: Layout.com1Base, size: 1, direction: .write, value: 0x42), .proceed))
        #expect(f.output.text == "B")
    }

    /// The paravirtual timer outranks the local APIC, which outranks the PIC pair.
    @Test func interruptSourcesInPriorityOrder() {
        let f = PlatformFixture()
        f.initPICs()
        f.out(0x2005, 1)                                                           // PIC: IRQ 5
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0xF0, size: 4, value: 0x1FF)
        _ = f.platform.mmioWrite(gpa: Layout.apicGPA + 0x300, size: 4, value: 0x4_0061)   // self-IPI 0x61
        _ = f.platform.mmioWrite(gpa: Layout.timerGPA, size: 8, value: 1)
        f.clock.waitUntil(1)
        #expect(f.take() == Layout.timerVector)
        #expect(f.take() == 0x61)
        #expect(f.take() == 0x25)
        #expect(f.take() == nil)
        // Nothing armed and IRQ 0 idle: nothing will ever interrupt.
        #expect(f.platform.nextInterruptTime() == nil)
        f.platform.acknowledgeInterrupt(0x30)                                      // without a pending source: nothing happens
    }

    @Test func msrsOutsideTheAPICRaiseGP() {
        let d = PlatformFixture().platform
        #expect(d.answerMSR(index: 0x10, direction: .read, value: 0) == .generalProtection)
        #expect(d.answerMSR(index: 0x10, direction: .write, value: 1) == .generalProtection)
        #expect(d.answerMSR(index: 0x1B, direction: .read, value: 0) == MSRResult(value: Layout.apicBaseAtEntry, fault: false))
    }

    /// The checkpoint device state: timer, EOT, clock, COM1's LCR and MCR, in the journal's codec.
    @Test func deviceState() {
        let f = PlatformFixture(input: [])
        /// The state's fixed fields (every device's record aside).
        func fixedFields() -> DeviceState { var s = f.platform.deviceState; s.devices = []; return s }
        #expect(fixedFields() == DeviceState())
        f.out(Layout.com1Base + 3, 0x83)
        f.out(Layout.com1Base + 4, 0x13)
        _ = f.platform.mmioWrite(gpa: Layout.timerGPA, size: 8, value: 99_000)
        f.clock.waitUntil(42_000)
        _ = f.inb(Layout.com1Base + 3)
        f.out(Layout.com1Base + 3, 0x03)
        _ = f.inb(Layout.com1Base)                                                  // loopback: no EOT
        f.out(Layout.com1Base + 4, 0x00)
        _ = f.inb(Layout.com1Base)                                                  // the EOT
        f.out(Layout.com1Base + 4, 0x13)
        let state = DeviceState(timerDeadline: 99_000, deliveredEOT: true, clock: 42_000, uartLCR: 0x03, uartMCR: 0x13)
        #expect(fixedFields() == state)
        // The fixed fields are encoded as before; every device's record follows.
        #expect(Array(f.platform.encodeState().prefix(DeviceState.size)) == state.encoded())
        // Every tag but the APs' local APICs (17), which only a platform of more than one vCPU has.
        #expect(f.platform.deviceState.devices.map(\.tag).sorted()
                == DeviceStateRecord.Tag.allCases.filter { $0 != .apLocalAPICs }.map(\.rawValue).sorted())
        #expect(DeviceState(decoding: f.platform.encodeState()) == f.platform.deviceState)
    }
}
