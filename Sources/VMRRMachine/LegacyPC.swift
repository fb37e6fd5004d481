import VMRRGuest

/// The legacy PC interrupt and timer chips (docs/GUEST.md, "PC devices"):
/// a cascaded 8259A PIC pair, an 8254 PIT driven by the guest clock, and
/// the 16550 UART behind COM1. Record-side models, pure logic: their state
/// depends only on what the guest wrote and on guest-clock time, and what
/// they make the guest see crosses an exit (a port read, or an interrupt
/// injected at an exit), so the journal holds all of it.

// MARK: - 8259A PIC

/// One 8259A. Edge-triggered lines latch a rising edge into IRR; lines the
/// ELCR marks level-triggered follow the line. Supports ICW1-ICW4 (single or
/// cascade, vector base, auto-EOI), OCW1 (IMR), OCW2 (non-specific and
/// specific EOI, rotation), OCW3 (read IRR/ISR, poll).
struct PIC8259 {
    var irr: UInt8 = 0, imr: UInt8 = 0, isr: UInt8 = 0
    /// Level of each input line as last set (for edge detection).
    var lines: UInt8 = 0
    /// Edge/level control (ELCR, ports 0x4D0/0x4D1): 1 = level-triggered.
    var elcr: UInt8 = 0
    var vectorBase: UInt8 = 0
    /// The line with the lowest priority is `priorityAdd - 1` (rotation); 0 means IR0 highest.
    var priorityAdd: UInt8 = 0
    var autoEOI = false
    var rotateOnAutoEOI = false
    var readISR = false
    var poll = false
    /// Initialization: 0 = done; 2, 3, 4 = expecting ICW2, ICW3, ICW4.
    var initStep = 0
    var icw4Needed = false
    var single = false

    enum Command {
        static let icw1: UInt8 = 1 << 4
        static let icw1NeedsICW4: UInt8 = 1 << 0
        static let icw1Single: UInt8 = 1 << 1
        static let ocw3: UInt8 = 1 << 3
        static let ocw3Poll: UInt8 = 1 << 2
        static let ocw3ReadRegister: UInt8 = 1 << 1
        static let ocw3ReadISR: UInt8 = 1 << 0
        static let icw4AutoEOI: UInt8 = 1 << 1
        static let ocw2CommandShift: UInt8 = 5
        static let ocw2LevelMask: UInt8 = 0x07
        static let vectorBaseMask: UInt8 = 0xF8
        static let pollInterrupt: UInt8 = 0x80
    }
    /// OCW2 commands (bits 7:5).
    enum OCW2 {
        static let rotateInAutoEOIClear: UInt8 = 0, nonSpecificEOI: UInt8 = 1, specificEOI: UInt8 = 3
        static let rotateInAutoEOISet: UInt8 = 4, rotateOnNonSpecificEOI: UInt8 = 5
        static let setPriority: UInt8 = 6, rotateOnSpecificEOI: UInt8 = 7
    }

    /// Priority rank of line `irq` (0 = highest).
    func rank(_ irq: Int) -> Int { (irq - Int(priorityAdd)) & 7 }

    /// The highest-priority line set in `mask`, by rank.
    func highest(_ mask: UInt8) -> Int? {
        guard mask != 0 else { return nil }
        return (0..<8).filter { mask & (1 << $0) != 0 }.min { rank($0) < rank($1) }
    }

    /// The line this chip would raise INTR for, if any: the highest unmasked
    /// request of higher priority than everything in service.
    var pending: Int? {
        guard let irq = highest(irr & ~imr) else { return nil }
        if let inService = highest(isr), rank(inService) <= rank(irq) { return nil }
        return irq
    }

    mutating func setLine(_ irq: Int, _ level: Bool) {
        let bit = UInt8(1) << UInt8(irq)
        if elcr & bit != 0 {
            if level { irr |= bit } else { irr &= ~bit }
        } else if level && lines & bit == 0 {
            irr |= bit
        }
        if level { lines |= bit } else { lines &= ~bit }
    }

    /// INTA: `irq` moves from IRR to ISR (not in auto-EOI mode).
    mutating func acknowledge(_ irq: Int) {
        let bit = UInt8(1) << UInt8(irq)
        if elcr & bit == 0 { irr &= ~bit }
        if autoEOI {
            if rotateOnAutoEOI { priorityAdd = UInt8((irq + 1) & 7) }
        } else {
            isr |= bit
        }
    }

    mutating func writeCommand(_ v: UInt8) {
        if v & Command.icw1 != 0 {
            // ICW1 resets the chip's state (edge detection, masks, priorities).
            let keepELCR = elcr
            self = PIC8259()
            elcr = keepELCR
            icw4Needed = v & Command.icw1NeedsICW4 != 0
            single = v & Command.icw1Single != 0
            initStep = 2
        } else if v & Command.ocw3 != 0 {
            poll = v & Command.ocw3Poll != 0
            if v & Command.ocw3ReadRegister != 0 { readISR = v & Command.ocw3ReadISR != 0 }
        } else {
            let command = v >> Command.ocw2CommandShift
            switch command {
            case OCW2.rotateInAutoEOISet, OCW2.rotateInAutoEOIClear:
                rotateOnAutoEOI = command == OCW2.rotateInAutoEOISet
            case OCW2.nonSpecificEOI, OCW2.rotateOnNonSpecificEOI:
                if let irq = highest(isr) {
                    isr &= ~(1 << UInt8(irq))
                    if command == OCW2.rotateOnNonSpecificEOI { priorityAdd = UInt8((irq + 1) & 7) }
                }
            case OCW2.specificEOI, OCW2.rotateOnSpecificEOI:
                let irq = Int(v & Command.ocw2LevelMask)
                isr &= ~(1 << UInt8(irq))
                if command == OCW2.rotateOnSpecificEOI { priorityAdd = UInt8((irq + 1) & 7) }
            case OCW2.setPriority:
                priorityAdd = UInt8((Int(v & Command.ocw2LevelMask) + 1) & 7)
            default:
                break
            }
        }
    }

    mutating func writeData(_ v: UInt8) {
        switch initStep {
        case 2:
            vectorBase = v & Command.vectorBaseMask
            initStep = single ? (icw4Needed ? 4 : 0) : 3
        case 3:
            initStep = icw4Needed ? 4 : 0
        case 4:
            autoEOI = v & Command.icw4AutoEOI != 0
            initStep = 0
        default:
            imr = v
        }
    }

    /// A read of the command port: the poll result, IRR or ISR.
    mutating func readCommand() -> UInt8 {
        if poll {
            poll = false
            guard let irq = pending else { return 0 }
            acknowledge(irq)
            return Command.pollInterrupt | UInt8(irq)
        }
        return readISR ? isr : irr
    }
}

/// The two 8259As of a PC: master at 0x20/0x21, slave at 0xA0/0xA1 on the
/// master's IR2. ISA IRQ n is master line n (n < 8) or slave line n - 8.
struct PICPair {
    var master = PIC8259(), slave = PIC8259()
    static let cascadeLine = 2

    mutating func setIRQ(_ irq: Int, _ level: Bool) {
        guard irq >= 0 && irq < 16 else { return }
        if irq < 8 { master.setLine(irq, level) } else { slave.setLine(irq - 8, level) }
        master.setLine(Self.cascadeLine, slave.pending != nil)
    }

    /// The vector the pair presents on INTR, if any.
    var pendingVector: UInt8? {
        guard let irq = master.pending else { return nil }
        if irq == Self.cascadeLine, let s = slave.pending { return slave.vectorBase | UInt8(s) }
        return master.vectorBase | UInt8(irq)
    }

    /// INTA for the vector `pendingVector` gave.
    mutating func acknowledge() {
        guard let irq = master.pending else { return }
        master.acknowledge(irq)
        if irq == Self.cascadeLine, let s = slave.pending { slave.acknowledge(s) }
        master.setLine(Self.cascadeLine, slave.pending != nil)
    }

    mutating func portWrite(_ port: UInt16, _ v: UInt8) {
        switch port {
        case Layout.picMasterCommandPort: master.writeCommand(v)
        case Layout.picMasterDataPort: master.writeData(v)
        case Layout.picSlaveCommandPort: slave.writeCommand(v)
        case Layout.picSlaveDataPort: slave.writeData(v)
        case Layout.elcrMasterPort: master.elcr = v & Layout.elcrMasterWritable
        case Layout.elcrSlavePort: slave.elcr = v & Layout.elcrSlaveWritable
        default: return
        }
        master.setLine(Self.cascadeLine, slave.pending != nil)
    }

    mutating func portRead(_ port: UInt16) -> UInt8 {
        defer { master.setLine(Self.cascadeLine, slave.pending != nil) }
        switch port {
        case Layout.picMasterCommandPort: return master.readCommand()
        case Layout.picMasterDataPort: return master.imr
        case Layout.picSlaveCommandPort: return slave.readCommand()
        case Layout.picSlaveDataPort: return slave.imr
        case Layout.elcrMasterPort: return master.elcr
        case Layout.elcrSlavePort: return slave.elcr
        default: return 0xFF
        }
    }
}

// MARK: - 8254 PIT

/// One 8254 counter, following the behaviour of QEMU's i8254 (which Linux's
/// and the KVM unit tests' timing code is written against). Time is guest
/// clock nanoseconds; the counter runs at 1.193182 MHz.
struct PITChannel {
    var mode: UInt8 = 0
    /// Access mode: 1 low byte, 2 high byte, 3 low then high.
    var access: UInt8 = 3
    var bcd = false
    /// The count loaded (0 means 65536).
    var count: UInt32 = 0x10000
    /// When the count was loaded (or the gate last rose), in guest ns.
    var loadTime: UInt64 = 0
    var gate = true
    var loaded = false
    var writeHigh = false
    var writeLatch: UInt8 = 0
    var readHigh = false
    var latched: UInt16?
    var latchedHigh = false
    var status: UInt8?

    static let frequency: UInt64 = 1_193_182
    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    static func ticks(since t0: UInt64, at t: UInt64) -> UInt64 {
        guard t > t0 else { return 0 }
        let d = t - t0
        return d / nanosecondsPerSecond * frequency + d % nanosecondsPerSecond * frequency / nanosecondsPerSecond
    }

    /// Guest ns at which `ticks` ticks have elapsed since `t0` (rounded up).
    static func time(after t0: UInt64, ticks: UInt64) -> UInt64 {
        t0 &+ (ticks * nanosecondsPerSecond + frequency - 1) / frequency
    }

    func elapsed(_ now: UInt64) -> UInt64 { loaded ? Self.ticks(since: loadTime, at: now) : 0 }

    /// The counter's current value (QEMU's pit_get_count).
    func value(_ now: UInt64) -> UInt16 {
        let d = elapsed(now), c = UInt64(count)
        switch mode {
        case 0, 1, 4, 5: return UInt16(truncatingIfNeeded: (c &- d) & 0xFFFF)
        case 3: return UInt16(truncatingIfNeeded: (c - (2 * d) % c) & 0xFFFE)
        default: return UInt16(truncatingIfNeeded: c - d % c)   // mode 2
        }
    }

    /// The OUT pin as QEMU's pit_get_out models it: modes 2, 4 and 5 as a
    /// one-tick high pulse at the end of the count, so that the rising edge
    /// (which IRQ 0 latches) comes when the count expires. Before a count is
    /// loaded, OUT idles high in modes 1 and 3 and low otherwise.
    func out(_ now: UInt64) -> Bool {
        guard loaded else { return mode == 1 || mode == 3 }
        let d = elapsed(now), c = UInt64(count)
        switch mode {
        case 0: return d >= c
        case 1: return d < c
        case 2: return d % c == 0 && d != 0
        case 3: return d % c < (c + 1) >> 1
        default: return d == c   // modes 4 and 5: a one-tick strobe
        }
    }

    /// The time of the first rising edge of OUT after `now`, if OUT will rise (QEMU's pit_get_next_transition_time, rising edges only).
    func nextRisingEdge(after now: UInt64) -> UInt64? {
        guard loaded else { return nil }
        let d = elapsed(now), c = UInt64(count)
        let next: UInt64
        switch mode {
        case 0: guard d < c else { return nil }; next = c
        case 2: next = (d / c + 1) * c
        case 3: next = (d / c + 1) * c            // OUT rises at the start of each period
        case 4, 5: guard d < c else { return nil }; next = c
        default: return nil                        // mode 1: OUT rises at the end, then stays
        }
        return Self.time(after: loadTime, ticks: next)
    }

    /// Rising edges of OUT in the interval (from, to].
    func risingEdges(from: UInt64, to: UInt64) -> UInt64 {
        guard loaded, to > from else { return 0 }
        let c = UInt64(count), a = elapsed(from), b = elapsed(to)
        switch mode {
        case 0, 4, 5: return a < c && b >= c ? 1 : 0
        case 2, 3: return b / c - a / c
        default: return 0
        }
    }
}

/// The 8254 at 0x40-0x43 with port 0x61's gate and OUT2 bits. Channel 0
/// drives ISA IRQ 0.
struct PIT8254 {
    var channels = [PITChannel](repeating: PITChannel(), count: 3)
    /// Port 0x61 bit 1: speaker data enable (stored, read back).
    var speakerData = false

    enum Control {
        static let channelShift: UInt8 = 6, accessShift: UInt8 = 4, modeShift: UInt8 = 1
        static let twoBitMask: UInt8 = 0x3, modeMask: UInt8 = 0x7
        static let bcd: UInt8 = 1 << 0
        static let readBack: UInt8 = 3
        static let readBackNoCount: UInt8 = 1 << 5, readBackNoStatus: UInt8 = 1 << 4
        static let statusOut: UInt8 = 1 << 7, statusNullCount: UInt8 = 1 << 6
    }
    /// Port 0x61 bits.
    enum SystemControl {
        static let gate2: UInt8 = 1 << 0, speakerData: UInt8 = 1 << 1
        static let refreshToggle: UInt8 = 1 << 4, out2: UInt8 = 1 << 5
        /// DRAM refresh request period: 15.085 us.
        static let refreshPeriodNanoseconds: UInt64 = 15_085
    }

    mutating func writeControl(_ v: UInt8, now: UInt64) {
        let channel = Int(v >> Control.channelShift)
        if channel == Int(Control.readBack) {
            for c in 0..<3 where v & (1 << UInt8(c + 1)) != 0 {
                if v & Control.readBackNoCount == 0 { latch(c, now: now) }
                if v & Control.readBackNoStatus == 0 && channels[c].status == nil {
                    let ch = channels[c]
                    channels[c].status = (ch.out(now) ? Control.statusOut : 0) | (ch.loaded ? 0 : Control.statusNullCount)
                        | (ch.access << Control.accessShift) | (ch.mode << Control.modeShift) | (ch.bcd ? Control.bcd : 0)
                }
            }
            return
        }
        let access = (v >> Control.accessShift) & Control.twoBitMask
        if access == 0 { latch(channel, now: now); return }
        var mode = (v >> Control.modeShift) & Control.modeMask
        if mode > 5 { mode -= 4 }   // 6 and 7 are aliases of 2 and 3
        channels[channel].mode = mode
        channels[channel].access = access
        channels[channel].bcd = v & Control.bcd != 0
        channels[channel].writeHigh = false
        channels[channel].readHigh = false
        channels[channel].loaded = false
    }

    mutating func latch(_ c: Int, now: UInt64) {
        guard channels[c].latched == nil else { return }
        channels[c].latched = channels[c].value(now)
        channels[c].latchedHigh = false
    }

    mutating func load(_ c: Int, _ value: UInt32, now: UInt64) {
        channels[c].count = value == 0 ? 0x10000 : value
        channels[c].loadTime = now
        channels[c].loaded = true
    }

    mutating func writeData(_ c: Int, _ v: UInt8, now: UInt64) {
        switch channels[c].access {
        case 1: load(c, UInt32(v), now: now)
        case 2: load(c, UInt32(v) << 8, now: now)
        default:
            if channels[c].writeHigh {
                load(c, UInt32(channels[c].writeLatch) | UInt32(v) << 8, now: now)
            } else {
                channels[c].writeLatch = v
            }
            channels[c].writeHigh.toggle()
        }
    }

    mutating func readData(_ c: Int, now: UInt64) -> UInt8 {
        if let st = channels[c].status { channels[c].status = nil; return st }
        let access = channels[c].access
        if let l = channels[c].latched {
            // A latched count is read once, in the access mode's order.
            let high = access == 2 || (access == 3 && channels[c].latchedHigh)
            if access == 3 && !channels[c].latchedHigh { channels[c].latchedHigh = true } else { channels[c].latched = nil }
            return high ? UInt8(l >> 8) : UInt8(l & 0xFF)
        }
        let v = channels[c].value(now)
        let high = access == 2 || (access == 3 && channels[c].readHigh)
        if access == 3 { channels[c].readHigh.toggle() }
        return high ? UInt8(v >> 8) : UInt8(v & 0xFF)
    }

    mutating func setGate2(_ level: Bool, now: UInt64) {
        let rising = level && !channels[2].gate
        channels[2].gate = level
        // Modes 1, 2, 3 and 5 restart counting on a rising gate (modes 0 and 4 are not gated here, as in QEMU).
        if rising && [1, 2, 3, 5].contains(channels[2].mode) && channels[2].loaded { channels[2].loadTime = now }
    }

    func systemControl(now: UInt64) -> UInt8 {
        var v: UInt8 = 0
        if channels[2].gate { v |= SystemControl.gate2 }
        if speakerData { v |= SystemControl.speakerData }
        if (now / SystemControl.refreshPeriodNanoseconds) & 1 != 0 { v |= SystemControl.refreshToggle }
        if channels[2].out(now) { v |= SystemControl.out2 }
        return v
    }

    mutating func writeSystemControl(_ v: UInt8, now: UInt64) {
        speakerData = v & SystemControl.speakerData != 0
        setGate2(v & SystemControl.gate2 != 0, now: now)
    }
}

// MARK: - 16550A UART

/// COM1's 16550A: divisor latch, IER, IIR with the 16550's priorities and
/// FIFO bits, FCR, LCR, MCR with loopback, LSR, MSR with delta bits, and the
/// scratch register. Transmission is instantaneous: a THR write goes to the
/// console (or, in loopback, into the receive FIFO) and THR is empty again
/// at once, which raises the THR-empty interrupt when it is enabled.
/// The interrupt output reaches ISA IRQ 4 only while MCR.OUT2 is set, as on
/// a PC.
struct UART16550 {
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
               static let trailingEdgeRI: UInt8 = 1 << 2 }
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

    mutating func updateModemDeltas() {
        let now = inputs, changed = now ^ lastInputs
        // Delta bits: DCTS, DDSR, TERI (RI falling), DDCD.
        if changed & MSR.cts != 0 { msrDeltas |= 1 << 0 }
        if changed & MSR.dsr != 0 { msrDeltas |= 1 << 1 }
        if changed & MSR.ri != 0 && now & MSR.ri == 0 { msrDeltas |= MSR.trailingEdgeRI }
        if changed & MSR.dcd != 0 { msrDeltas |= 1 << 3 }
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

    mutating func writeIER(_ v: UInt8) {
        let enablingTHRE = v & IER.thrEmpty != 0 && ier & IER.thrEmpty == 0
        ier = v & IER.writable
        // Enabling the THR-empty interrupt while THR is empty raises it at once (a 16550's behaviour Linux tests for).
        if enablingTHRE { thrEmptyPending = true }
    }

    mutating func writeFCR(_ v: UInt8) {
        fifoEnabled = v & FCR.enable != 0
        if v & FCR.clearReceive != 0 { loopback.removeAll() }
    }

    mutating func writeMCR(_ v: UInt8) {
        mcr = v & MCR.writable
        updateModemDeltas()
    }

    mutating func readMSR() -> UInt8 {
        updateModemDeltas()
        let v = inputs | msrDeltas
        msrDeltas = 0
        return v
    }

    /// Reading IIR acknowledges a THR-empty interrupt it reports.
    mutating func readIIR(rxReady: Bool) -> UInt8 {
        let v = identification(rxReady: rxReady)
        if v & ~IIR.fifoEnabled == IIR.thrEmpty { thrEmptyPending = false }
        return v
    }
}
