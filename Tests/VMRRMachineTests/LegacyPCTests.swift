import Testing
import VMRRGuest
import VMRRJournal
import VMRRReplay
@testable import VMRRMachine

/// The PIC, PIT, 16550 and local APIC models on synthetic access sequences
/// (no KVM): what a guest reads back, which vector is delivered when.
@Suite struct LegacyPCTests {
    final class Fixture {
        let clock = VirtualClock()
        let output = CapturedOutput()
        let input: BufferedInput
        let devices: DeviceModel
        init(input bytes: [UInt8] = [], x2apic: Bool = true) {
            input = BufferedInput(bytes: bytes)
            var config = PCDeviceConfig()
            config.x2apicAvailable = x2apic
            devices = DeviceModel(clock: clock, input: input, output: output, strict: true, pc: config)
        }
        func out(_ port: UInt16, _ v: UInt8) {
            let (_, outcome) = devices.portWrite(port: port, size: 1, value: UInt64(v))
            #expect(outcome == .proceed, "port 0x\(String(port, radix: 16))")
        }
        func inb(_ port: UInt16) -> UInt8 {
            let (_, v, outcome) = devices.portRead(port: port, size: 1)
            #expect(outcome == .proceed, "port 0x\(String(port, radix: 16))")
            return UInt8(truncatingIfNeeded: v)
        }
        /// The BIOS-style remap: master at `base`, slave at `base + 8`, cascade on IR2.
        func initPICs(base: UInt8 = 0x20, autoEOI: Bool = false) {
            let icw4: UInt8 = autoEOI ? 0x03 : 0x01
            out(0x20, 0x11); out(0x21, base); out(0x21, 0x04); out(0x21, icw4)
            out(0xA0, 0x11); out(0xA1, base + 8); out(0xA1, 0x02); out(0xA1, icw4)
        }
        /// Delivers like the recorder: pending, then acknowledged.
        func take() -> UInt8? {
            guard let v = devices.pendingInterrupt() else { return nil }
            devices.acknowledgeInterrupt(v)
            return v
        }
    }

    static let com1 = Layout.com1Base

    // MARK: 16550

    /// Linux's 8250 autoconfig, in order: the scratch test, IER probe, the
    /// loopback test of the modem-status lines, and the FIFO identification
    /// that tells a 16550A (IIR bits 7:6 = 11 after FCR enables the FIFOs).
    @Test func linuxAutoconfigIdentifiesA16550A() {
        let f = Fixture()
        let c = Self.com1
        f.out(c + 7, 0xA5); #expect(f.inb(c + 7) == 0xA5)
        f.out(c + 7, 0x5A); #expect(f.inb(c + 7) == 0x5A)
        // IER: writable low nibble, and readable back.
        f.out(c + 1, 0); #expect(f.inb(c + 1) == 0)
        f.out(c + 1, 0x0F); #expect(f.inb(c + 1) == 0x0F)
        f.out(c + 1, 0)
        // Loopback: MCR = LOOP | OUT2 (0x1A with RTS) -> MSR shows CTS and DCD.
        f.out(c + 4, 0x1A)
        #expect(f.inb(c + 6) & 0xF0 == 0x90)
        f.out(c + 4, 0x00)
        // FIFO identification.
        f.out(c + 2, 0x01)
        #expect(f.inb(c + 2) & 0xC0 == 0xC0)
        f.out(c + 2, 0x00)
        #expect(f.inb(c + 2) & 0xC0 == 0x00)
        // Divisor latch: DLAB routes offsets 0 and 1 to DLL/DLM without disturbing IER or sending a byte.
        f.out(c + 3, 0x80); f.out(c + 0, 0x01); f.out(c + 1, 0x00)
        #expect(f.inb(c + 0) == 0x01)
        f.out(c + 3, 0x03)
        #expect(f.inb(c + 3) == 0x03)
        #expect(f.output.bytes.isEmpty)
    }

    @Test func loopbackReturnsWhatIsSentAndNothingReachesTheConsole() {
        let f = Fixture(input: Array("console".utf8))
        let c = Self.com1
        f.out(c + 4, 0x10)   // LOOP
        for b in Array("hi!".utf8) { f.out(c, b) }
        var got: [UInt8] = []
        while f.inb(c + 5) & 0x01 != 0 { got.append(f.inb(c)) }
        #expect(got == Array("hi!".utf8))
        #expect(f.output.bytes.isEmpty)
        // Console input is not received while in loopback, and is there afterwards.
        f.out(c + 4, 0x00)
        #expect(f.inb(c + 5) & 0x01 != 0)
        #expect(f.inb(c) == UInt8(ascii: "c"))
    }

    @Test func thrEmptyInterruptFollows16550Rules() {
        let f = Fixture()
        let c = Self.com1
        f.initPICs()
        #expect(f.inb(c + 2) == 0x01)                 // nothing pending
        f.out(c + 4, 0x08)                            // OUT2: the IRQ reaches the PIC
        f.out(c + 1, 0x02)                            // enable THRE: raised at once
        #expect(f.inb(c + 2) == 0x02)                 // reading IIR acknowledges it...
        #expect(f.inb(c + 2) == 0x01)                 // ...so the next read shows none
        f.out(c, UInt8(ascii: "x"))                   // a write empties THR again: raised
        #expect(f.output.bytes == [UInt8(ascii: "x")])
        #expect(f.take() == 0x24)                     // IRQ 4 on the master at base 0x20
        // Without OUT2 the line stays low: no IRQ even though IIR reports one.
        f.out(0x20, 0x20)                             // EOI
        f.out(c + 4, 0x00)
        f.out(c, UInt8(ascii: "y"))
        #expect(f.inb(c + 2) == 0x02)
        #expect(f.take() == nil)
    }

    @Test func receivedDataInterruptAndModemStatusDeltas() {
        let f = Fixture(input: [0x41])
        let c = Self.com1
        f.out(c + 1, 0x09)                            // RX data + modem status
        #expect(f.inb(c + 2) == 0x04)                 // data available outranks modem status
        #expect(f.inb(c) == 0x41)
        #expect(f.inb(c) == Layout.eotByte)            // then the end-of-input byte
        // Loopback with only RTS: CTS stays (RTS), DSR and DCD drop (DTR, OUT2 clear).
        f.out(c + 4, 0x10 | 0x02)
        #expect(f.inb(c + 2) == 0x00)                 // modem-status interrupt
        #expect(f.inb(c + 6) == 0x10 | 0x02 | 0x08)   // CTS, with DDSR and DDCD...
        #expect(f.inb(c + 6) == 0x10)                 // ...which the read cleared
        #expect(f.inb(c + 2) == 0x01)
    }

    // MARK: 8259A

    @Test func picPrioritiesMaskingAndEOI() {
        let f = Fixture()
        f.initPICs(base: 0x30)
        #expect(f.inb(0x21) == 0 && f.inb(0xA1) == 0)
        f.out(0x2003, 1); f.out(0x2001, 1)            // pc-testdev lines 3 and 1
        #expect(f.take() == 0x31)                     // IRQ 1 outranks IRQ 3
        #expect(f.take() == nil)                      // IRQ 3 waits: IRQ 1 in service
        f.out(0x20, 0x0B); #expect(f.inb(0x20) == 0x02)  // OCW3: read ISR
        f.out(0x20, 0x20)                             // non-specific EOI
        #expect(f.take() == 0x33)
        f.out(0x20, 0x63)                             // specific EOI for IR3
        // Edge-triggered: the line is still high, but no new edge, no new request.
        #expect(f.take() == nil)
        // Masked lines latch but do not interrupt until unmasked.
        f.out(0x21, 0x20)
        f.out(0x2005, 1)
        #expect(f.take() == nil)
        f.out(0x21, 0x00)
        #expect(f.take() == 0x35)
        f.out(0x20, 0x20)
        // The slave: IRQ 10 reaches the CPU through IR2, at the slave's base.
        f.out(0x200A, 1)
        #expect(f.take() == 0x3A)
        f.out(0xA0, 0x20); f.out(0x20, 0x20)
        #expect(f.take() == nil)
    }

    @Test func picAutoEOIAndLevelTriggeredLines() {
        let f = Fixture()
        f.initPICs(base: 0x40, autoEOI: true)
        f.out(0x2007, 1)
        #expect(f.take() == 0x47)
        f.out(0x20, 0x0B); #expect(f.inb(0x20) == 0)  // auto-EOI: nothing in service
        // A level-triggered line (ELCR) requests again while high.
        f.out(0x4D0, 0x20)
        #expect(f.inb(0x4D0) == 0x20)
        f.out(0x2005, 1)
        #expect(f.take() == 0x45)
        #expect(f.take() == 0x45)
        f.out(0x2005, 0)
        #expect(f.take() == nil)
        // IRQ 0-2 cannot be made level-triggered.
        f.out(0x4D0, 0xFF)
        #expect(f.inb(0x4D0) == 0xF8)
    }

    // MARK: 8254

    /// Channel 0 in mode 2 at 1 kHz (count 1193) raises IRQ 0 once per
    /// period of guest-clock time, and says when the next edge comes.
    @Test func pitChannel0DrivesIRQ0OnTheGuestClock() {
        let f = Fixture()
        f.initPICs()
        f.out(0x43, 0x34); f.out(0x40, 0xA9); f.out(0x40, 0x04)    // mode 2, count 0x04A9 = 1193
        #expect(f.take() == nil)
        let next = try! #require(f.devices.nextInterruptTime())
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
        #expect(f.devices.nextInterruptTime() == nil)
    }

    /// Linux's PIT calibration: gate channel 2 through port 0x61, mode 0 with
    /// a count, then poll OUT2 (bit 5) until the count runs out.
    @Test func pitChannel2GateAndOut2ThroughPort61() {
        let f = Fixture()
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
        let f = Fixture()
        f.out(0x43, 0x36); f.out(0x40, 0x00); f.out(0x40, 0x10)    // channel 0, mode 3, count 0x1000
        f.out(0x43, 0xC2)                             // read-back: count and status of channel 0
        let status = f.inb(0x40)
        #expect(status & 0x3F == 0x36)                // access 3, mode 3, binary
        let lo = f.inb(0x40), hi = f.inb(0x40)
        #expect(Int(hi) << 8 | Int(lo) == 0x1000)
    }

    // MARK: local APIC

    @Test func selfIPIsAreDeliveredByPriorityAndEOI() {
        let f = Fixture()
        let icr = Layout.apicGPA + 0x300, eoi = Layout.apicGPA + 0xB0, spiv = Layout.apicGPA + 0xF0, tpr = Layout.apicGPA + 0x80
        _ = f.devices.mmioWrite(gpa: icr, size: 4, value: 0x4_0041)   // self, fixed, vector 0x41
        #expect(f.take() == nil)                                         // software-disabled (SPIV)
        _ = f.devices.mmioWrite(gpa: spiv, size: 4, value: 0x1FF)
        _ = f.devices.mmioWrite(gpa: icr, size: 4, value: 0x4_0052)
        #expect(f.take() == 0x52)                                        // highest first
        #expect(f.take() == nil)                                         // 0x41 is below the in-service class
        _ = f.devices.mmioWrite(gpa: eoi, size: 4, value: 0)
        _ = f.devices.mmioWrite(gpa: tpr, size: 4, value: 0x40)
        #expect(f.take() == nil)                                         // TPR class 4 blocks 0x41
        _ = f.devices.mmioWrite(gpa: tpr, size: 4, value: 0)
        #expect(f.take() == 0x41)
        // INIT and SIPI to other CPUs, and fixed IPIs to APIC ID 1, are dropped.
        _ = f.devices.mmioWrite(gpa: Layout.apicGPA + 0x310, size: 4, value: 1 << 24)
        _ = f.devices.mmioWrite(gpa: icr, size: 4, value: 0x4500)
        _ = f.devices.mmioWrite(gpa: icr, size: 4, value: 0x4698)
        _ = f.devices.mmioWrite(gpa: icr, size: 4, value: 0x0060)
        _ = f.devices.mmioWrite(gpa: eoi, size: 4, value: 0)
        #expect(f.take() == nil)
    }

    @Test func x2apicModeAndItsGPRules() {
        let f = Fixture()
        let base = f.devices.answerMSR(index: 0x1B, direction: .read, value: 0)
        #expect(base == MSRAnswer(value: 0xFEE0_0900, fault: false))
        // x2APIC registers fault in xAPIC mode.
        #expect(f.devices.answerMSR(index: 0x802, direction: .read, value: 0).fault)
        // Reserved bits, and EXTD without EN, fault.
        #expect(f.devices.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0900 | 1).fault)
        #expect(f.devices.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0000 | 1 << 10).fault)
        // xAPIC -> x2APIC is allowed; then the MSRs work and the MMIO page does not.
        #expect(!f.devices.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)
        #expect(f.devices.answerMSR(index: 0x802, direction: .read, value: 0) == MSRAnswer(value: 0, fault: false))
        #expect(f.devices.answerMSR(index: 0x803, direction: .read, value: 0).value == UInt64(Layout.apicVersion))
        #expect(f.devices.mmioRead(gpa: Layout.apicGPA + 0x30, size: 4).1 == 0xFFFF_FFFF)
        // Write-only EOI and SELF IPI fault on read; read-only registers fault on write; DFR is gone.
        #expect(f.devices.answerMSR(index: 0x80B, direction: .read, value: 0).fault)
        #expect(f.devices.answerMSR(index: 0x83F, direction: .read, value: 0).fault)
        #expect(f.devices.answerMSR(index: 0x802, direction: .write, value: 5).fault)
        #expect(f.devices.answerMSR(index: 0x80E, direction: .read, value: 0).fault)
        #expect(f.devices.answerMSR(index: 0x80B, direction: .write, value: 1).fault)   // non-zero EOI
        // SELF IPI delivers once the APIC is software-enabled.
        #expect(!f.devices.answerMSR(index: 0x80F, direction: .write, value: 0x1FF).fault)
        #expect(!f.devices.answerMSR(index: 0x83F, direction: .write, value: 0x77).fault)
        #expect(f.take() == 0x77)
        #expect(f.devices.answerMSR(index: 0x810 + 3, direction: .read, value: 0).value == 1 << (0x77 - 0x60))   // ISR word 3
        // x2APIC -> xAPIC directly faults; x2APIC -> disabled -> xAPIC is the legal way back.
        #expect(f.devices.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0800).fault)
        #expect(!f.devices.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0000).fault)
        #expect(f.devices.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)   // disabled -> x2APIC
        #expect(!f.devices.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0800).fault)
        // Every other MSR that reaches vmrr faults.
        #expect(f.devices.answerMSR(index: 0x12345, direction: .read, value: 0).fault)
    }

    @Test func withoutX2APICInCPUIDTheModeCannotBeEntered() {
        let f = Fixture(x2apic: false)
        #expect(f.devices.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0C00).fault)
        #expect(!f.devices.answerMSR(index: 0x1B, direction: .write, value: 0xFEE0_0800).fault)
    }
}
