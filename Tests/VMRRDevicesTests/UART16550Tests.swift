import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// COM1's 16550A: on its own with synthetic accesses at register offsets,
/// and through the platform as Linux's 8250 driver probes it.
@Suite struct UART16550Tests {
    static let base = UInt64(Layout.com1Base)

    final class Chip {
        let lines = LineRecorder()
        let output = CapturedOutput()
        let uart: UART16550
        init(input: [UInt8]? = nil) {
            uart = UART16550(input: input.map { BufferedInput(bytes: $0) }, output: output,
                             irq: InterruptLine(lines, irq: Layout.com1IRQ))
        }
        func write(_ reg: UInt64, _ v: UInt8) {
            #expect(uart.write(access(UART16550Tests.base + reg, base: UART16550Tests.base, value: UInt64(v))) == .handled)
        }
        func read(_ reg: UInt64) -> DeviceAnswer {
            uart.read(access(UART16550Tests.base + reg, base: UART16550Tests.base))!
        }
    }

    @Test func transmitsToTheConsoleAndRaisesTHREOnlyThroughOUT2() {
        let c = Chip()
        c.write(0, UInt8(ascii: "A"))
        #expect(c.output.bytes == [UInt8(ascii: "A")])
        #expect(!c.lines.level(Layout.com1IRQ))
        c.write(1, 0x02)                                  // IER: THR empty
        #expect(!c.lines.level(Layout.com1IRQ))           // OUT2 clear: the line stays low
        c.write(4, 0x08)                                  // MCR: OUT2
        #expect(c.lines.level(Layout.com1IRQ))
        #expect(c.read(2).value == 0x02)                  // IIR: THR empty, now acknowledged
        #expect(!c.lines.level(Layout.com1IRQ))
    }

    @Test func receivedBytesAreConsoleInputThenOneEOT() {
        let c = Chip(input: [0x61])
        #expect(c.read(5).value & 0x01 != 0)              // LSR: data ready
        #expect(c.read(0) == DeviceAnswer(value: 0x61, record: .consoleInput(0x61)))
        #expect(!c.uart.deliveredEOT)
        #expect(c.read(0) == DeviceAnswer(value: UInt64(Layout.eotByte), record: .consoleInput(Layout.eotByte)))
        #expect(c.uart.deliveredEOT)
        #expect(c.read(0) == .value(0))                   // nothing more: a plain read of 0
        #expect(c.read(5).value & 0x01 == 0)
        // Without any console input, RBR reads 0 and no EOT is ever sent.
        let quiet = Chip()
        #expect(quiet.read(0) == .value(0) && !quiet.uart.deliveredEOT)
    }

    @Test func divisorLatchAndScratchAreRegisters() {
        let c = Chip()
        c.write(3, 0x80)                                  // DLAB
        #expect(c.read(0).value == 0x0C && c.read(1).value == 0)   // the reset divisor, 12 (9600 baud)
        c.write(0, 0x01); c.write(1, 0x02)
        #expect(c.read(0).value == 0x01 && c.read(1).value == 0x02)
        c.write(3, 0x03)
        #expect(c.read(1).value == 0)                     // IER untouched
        c.write(7, 0x5A)
        #expect(c.read(7).value == 0x5A)
        #expect(c.output.bytes.isEmpty)
        #expect(c.uart.lcr == 0x03)
    }

    /// Linux's 8250 autoconfig, in order: the scratch test, IER probe, the
    /// loopback test of the modem-status lines, and the FIFO identification
    /// that tells a 16550A (IIR bits 7:6 = 11 after FCR enables the FIFOs).
    @Test func linuxAutoconfigIdentifiesA16550A() {
        let f = PlatformFixture()
        let c = Layout.com1Base
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
        let f = PlatformFixture(input: Array("console".utf8))
        let c = Layout.com1Base
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
        let f = PlatformFixture()
        let c = Layout.com1Base
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
        let f = PlatformFixture(input: [0x41])
        let c = Layout.com1Base
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
}
