import VMRRGuest
import VMRRJournal

/// The 16550A UART behind COM1 (docs/GUEST.md, "COM1: 16550A UART"), the console.

/// COM1's 16550A: divisor latch, IER, IIR with the 16550's priorities and
/// FIFO bits, FCR, LCR, MCR with loopback, LSR, MSR with delta bits, and the
/// scratch register. Transmission is instantaneous: a THR write goes to the
/// console (or, in loopback, into the receive FIFO) and THR is empty again
/// at once, which raises the THR-empty interrupt when it is enabled.
/// The interrupt output reaches ISA IRQ 4 only while MCR.OUT2 is set, as on
/// a PC. Console input arrives through RBR: each byte is an `input` event,
/// and once the input has ended, one EOT byte (`Layout.eotByte`) follows.
/// Map it at COM1's eight ports.
public final class UART16550: DeviceModel {
    var ier: UInt8 = 0, lcr: UInt8 = 0, mcr: UInt8 = 0, scr: UInt8 = 0
    var dll: UInt8 = 0x0C, dlm: UInt8 = 0
    var fifoEnabled = false
    /// THR-empty interrupt condition (cleared by reading IIR while it is the reported source, or by a THR write).
    var thrEmptyPending = false
    /// MSR delta bits 3:0.
    var msrDeltas: UInt8 = 0
    /// Bytes sent in loopback mode, waiting in the receive FIFO.
    var loopback: [UInt8] = []
    /// The modem-status inputs last seen (bits 7:4 of MSR), for delta bits.
    var lastInputs: UInt8 = UART16550.carrierInputs
    /// Where received bytes come from, and transmitted ones go.
    let input: ConsoleInput?
    let output: ConsoleOutput
    /// ISA IRQ 4 on a PC.
    let irq: InterruptLine
    /// Whether the EOT byte that marks the end of input has been delivered.
    public private(set) var deliveredEOT = false

    public init(input: ConsoleInput?, output: ConsoleOutput, irq: InterruptLine) {
        self.input = input; self.output = output; self.irq = irq
    }

    enum IER { static let rxData: UInt8 = 1 << 0, thrEmpty: UInt8 = 1 << 1, lineStatus: UInt8 = 1 << 2, modemStatus: UInt8 = 1 << 3
               static let writable: UInt8 = 0x0F }
    enum IIR { static let none: UInt8 = 0x01, modemStatus: UInt8 = 0x00, thrEmpty: UInt8 = 0x02, rxData: UInt8 = 0x04
               static let lineStatus: UInt8 = 0x06, fifoEnabled: UInt8 = 0xC0 }
    enum FCR { static let enable: UInt8 = 1 << 0, clearReceive: UInt8 = 1 << 1 }
    enum LCR { static let divisorLatch: UInt8 = 1 << 7 }
    enum MCR { static let dtr: UInt8 = 1 << 0, rts: UInt8 = 1 << 1, out1: UInt8 = 1 << 2, out2: UInt8 = 1 << 3
               static let loop: UInt8 = 1 << 4, writable: UInt8 = 0x1F }
    enum LSR { static let dataReady: UInt8 = 1 << 0, thrEmpty: UInt8 = 1 << 5, transmitterEmpty: UInt8 = 1 << 6 }
    enum MSR { static let cts: UInt8 = 1 << 4, dsr: UInt8 = 1 << 5, ri: UInt8 = 1 << 6, dcd: UInt8 = 1 << 7
               static let deltaCTS: UInt8 = 1 << 0, deltaDSR: UInt8 = 1 << 1, trailingEdgeRI: UInt8 = 1 << 2
               static let deltaDCD: UInt8 = 1 << 3 }
    /// Outside loopback the port shows a connected modem: CTS, DSR and DCD (as QEMU's serial does).
    static let carrierInputs: UInt8 = MSR.cts | MSR.dsr | MSR.dcd
    /// The receive FIFO's depth (and the loopback buffer's).
    static let fifoDepth = 16

    var dlab: Bool { lcr & LCR.divisorLatch != 0 }
    var inLoopback: Bool { mcr & MCR.loop != 0 }

    /// The modem-status inputs: in loopback they are the MCR outputs (RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD).
    var inputs: UInt8 {
        guard inLoopback else { return Self.carrierInputs }
        var v: UInt8 = 0
        if mcr & MCR.rts != 0 { v |= MSR.cts }
        if mcr & MCR.dtr != 0 { v |= MSR.dsr }
        if mcr & MCR.out1 != 0 { v |= MSR.ri }
        if mcr & MCR.out2 != 0 { v |= MSR.dcd }
        return v
    }

    func updateModemDeltas() {
        let now = inputs, changed = now ^ lastInputs
        // Delta bits: DCTS, DDSR, TERI (RI falling), DDCD.
        if changed & MSR.cts != 0 { msrDeltas |= MSR.deltaCTS }
        if changed & MSR.dsr != 0 { msrDeltas |= MSR.deltaDSR }
        if changed & MSR.ri != 0 && now & MSR.ri == 0 { msrDeltas |= MSR.trailingEdgeRI }
        if changed & MSR.dcd != 0 { msrDeltas |= MSR.deltaDCD }
        lastInputs = now
    }

    /// The interrupt identification for the current state; `rxReady` says whether a byte can be read.
    func identification(rxReady: Bool) -> UInt8 {
        let fifo = fifoEnabled ? IIR.fifoEnabled : 0
        if ier & IER.rxData != 0 && rxReady { return IIR.rxData | fifo }
        if ier & IER.thrEmpty != 0 && thrEmptyPending { return IIR.thrEmpty | fifo }
        if ier & IER.modemStatus != 0 && msrDeltas != 0 { return IIR.modemStatus | fifo }
        return IIR.none | fifo
    }

    /// The level of the IRQ line (IRQ 4): an interrupt is identified and OUT2 gates it onto the bus.
    func irqLine(rxReady: Bool) -> Bool {
        identification(rxReady: rxReady) & IIR.none == 0 && mcr & MCR.out2 != 0 && !inLoopback
    }

    func writeIER(_ v: UInt8) {
        let enablingTHRE = v & IER.thrEmpty != 0 && ier & IER.thrEmpty == 0
        ier = v & IER.writable
        // Enabling the THR-empty interrupt while THR is empty raises it at once (a 16550's behaviour Linux tests for).
        if enablingTHRE { thrEmptyPending = true }
    }

    func writeFCR(_ v: UInt8) {
        fifoEnabled = v & FCR.enable != 0
        if v & FCR.clearReceive != 0 { loopback.removeAll() }
    }

    func writeMCR(_ v: UInt8) {
        mcr = v & MCR.writable
        updateModemDeltas()
    }

    func readMSR() -> UInt8 {
        updateModemDeltas()
        let v = inputs | msrDeltas
        msrDeltas = 0
        return v
    }

    /// Reading IIR acknowledges a THR-empty interrupt it reports.
    func readIIR(rxReady: Bool) -> UInt8 {
        let v = identification(rxReady: rxReady)
        if v & ~IIR.fifoEnabled == IIR.thrEmpty { thrEmptyPending = false }
        return v
    }

    // MARK: the device

    /// True when input is pending for RBR (a byte, or the final EOT).
    var inputPending: Bool {
        guard let input else { return false }
        if input.peek() != nil { return true }
        return input.atEnd && !deliveredEOT
    }

    /// Whether a read of RBR has a byte for the guest (loopback data, console input, or the final EOT).
    var receiveReady: Bool { inLoopback ? !loopback.isEmpty : inputPending }

    /// Sets the IRQ line from the interrupt output (input may have arrived since the last access).
    public func syncInterruptLine() { irq.set(irqLine(rxReady: receiveReady)) }

    /// A data read of RBR: loopback data, a console input byte, the final EOT, or 0.
    func receive() -> DeviceAnswer {
        if inLoopback {
            return .value(UInt64(loopback.isEmpty ? 0 : loopback.removeFirst()))
        }
        if let input, let b = input.peek() {
            input.consume()
            return DeviceAnswer(value: UInt64(b), record: .consoleInput(b))
        }
        if let input, input.atEnd, !deliveredEOT {
            deliveredEOT = true
            return DeviceAnswer(value: UInt64(Layout.eotByte), record: .consoleInput(Layout.eotByte))
        }
        return .value(0)
    }

    /// Registers other than a data read of RBR.
    func registerRead(_ reg: UInt16) -> UInt8 {
        switch reg {
        case Layout.uartRBR: return dll   // with DLAB set
        case Layout.uartIER: return dlab ? dlm : ier
        case Layout.uartIIR: return readIIR(rxReady: receiveReady)
        case Layout.uartLCR: return lcr
        case Layout.uartMCR: return mcr
        case Layout.uartLSR:
            var lsr: Layout.LineStatus = [.thrEmpty, .transmitterEmpty]
            if receiveReady { lsr.insert(.dataReady) }
            return lsr.rawValue
        case Layout.uartMSR: return readMSR()
        default: return scr
        }
    }

    func registerWrite(_ reg: UInt16, _ v: UInt8) {
        switch reg {
        case Layout.uartTHR:
            if dlab { dll = v; return }
            if inLoopback {
                if loopback.count < Self.fifoDepth { loopback.append(v) }
            } else {
                output.write(v)
            }
            thrEmptyPending = true
        case Layout.uartIER:
            if dlab { dlm = v } else { writeIER(v) }
        case Layout.uartIIR: writeFCR(v)
        case Layout.uartLCR: lcr = v
        case Layout.uartMCR: writeMCR(v)
        case Layout.uartSCR: scr = v
        default: break   // LSR and MSR writes (factory test) change nothing
        }
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        defer { syncInterruptLine() }
        let reg = UInt16(access.offset)
        if reg == Layout.uartRBR && !dlab { return receive() }
        return .value(UInt64(registerRead(reg)))
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        registerWrite(UInt16(access.offset), access.byte)
        syncInterruptLine()
        return .handled
    }

    // MARK: checkpoint state

    /// IER, LCR, MCR, SCR, DLL, DLM, the FIFO flag, the THR-empty condition,
    /// the MSR deltas and last inputs, the EOT flag, then the loopback bytes.
    func saveState(_ s: inout DeviceStateWriter) {
        for b in [ier, lcr, mcr, scr, dll, dlm] { s.u8(b) }
        s.bool(fifoEnabled); s.bool(thrEmptyPending); s.u8(msrDeltas); s.u8(lastInputs); s.bool(deliveredEOT)
        s.lengthPrefixed(loopback)
    }

    func restoreState(_ r: inout DeviceStateReader) throws {
        ier = try r.u8(); lcr = try r.u8(); mcr = try r.u8(); scr = try r.u8(); dll = try r.u8(); dlm = try r.u8()
        fifoEnabled = try r.bool(); thrEmptyPending = try r.bool(); msrDeltas = try r.u8(); lastInputs = try r.u8()
        deliveredEOT = try r.bool()
        loopback = try r.lengthPrefixed()
    }
}
