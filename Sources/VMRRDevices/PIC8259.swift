import VMRRGuest
import VMRRJournal

/// The PC's interrupt controllers (docs/GUEST.md, "PC devices"): a cascaded
/// pair of 8259A PICs and their edge/level control registers.

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
/// master's IR2, and the ELCR at 0x4D0/0x4D1. ISA IRQ n is master line n
/// (n < 8) or slave line n - 8. Map it at all three port pairs.
public final class PICPair: DeviceModel, InterruptController {
    var master = PIC8259(), slave = PIC8259()
    static let cascadeLine = 2
    /// The PIT, whose IRQ 0 edges are brought up to date before the guest reads or writes a PIC register.
    public weak var clockedInput: ClockedInterruptSource?

    public init() {}

    public func setIRQ(_ irq: Int, _ level: Bool) {
        guard irq >= 0 && irq < 16 else { return }
        if irq < 8 { master.setLine(irq, level) } else { slave.setLine(irq - 8, level) }
        updateCascade()
    }

    /// The master's IR2 follows the slave's INTR output.
    func updateCascade() { master.setLine(Self.cascadeLine, slave.pending != nil) }

    /// Whether ISA IRQ `irq` is masked in its chip's IMR.
    public func isMasked(_ irq: Int) -> Bool {
        irq < 8 ? master.imr & (1 << UInt8(irq)) != 0 : slave.imr & (1 << UInt8(irq - 8)) != 0
    }

    /// The vector the pair presents on INTR, if any.
    public var pendingVector: UInt8? {
        guard let irq = master.pending else { return nil }
        if irq == Self.cascadeLine, let s = slave.pending { return slave.vectorBase | UInt8(s) }
        return master.vectorBase | UInt8(irq)
    }

    /// The EOIs a BIOS sends before jumping through 40:67 for CMOS shutdown
    /// code 0x05 (SeaBIOS `eoi_pic2`): a non-specific EOI to the slave, then the master.
    func endOfInterruptForReset() {
        slave.writeCommand(Self.nonSpecificEOICommand)
        master.writeCommand(Self.nonSpecificEOICommand)
        updateCascade()
    }
    /// OCW2 with EOI set and no level: a non-specific EOI.
    static let nonSpecificEOICommand: UInt8 = 0x20

    /// INTA for the vector `pendingVector` gave.
    public func acknowledge() {
        guard let irq = master.pending else { return }
        master.acknowledge(irq)
        if irq == Self.cascadeLine, let s = slave.pending { slave.acknowledge(s) }
        updateCascade()
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        clockedInput?.advance(to: access.now)
        let v = access.byte
        switch access.port {
        case Layout.picMasterCommandPort: master.writeCommand(v)
        case Layout.picMasterDataPort: master.writeData(v)
        case Layout.picSlaveCommandPort: slave.writeCommand(v)
        case Layout.picSlaveDataPort: slave.writeData(v)
        case Layout.elcrMasterPort: master.elcr = v & Layout.elcrMasterWritable
        case Layout.elcrSlavePort: slave.elcr = v & Layout.elcrSlaveWritable
        default: return .handled
        }
        updateCascade()
        return .handled
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        clockedInput?.advance(to: access.now)
        defer { updateCascade() }
        switch access.port {
        case Layout.picMasterCommandPort: return .value(UInt64(master.readCommand()))
        case Layout.picMasterDataPort: return .value(UInt64(master.imr))
        case Layout.picSlaveCommandPort: return .value(UInt64(slave.readCommand()))
        case Layout.picSlaveDataPort: return .value(UInt64(slave.imr))
        case Layout.elcrMasterPort: return .value(UInt64(master.elcr))
        case Layout.elcrSlavePort: return .value(UInt64(slave.elcr))
        default: return .value(0xFF)
        }
    }
}

// MARK: - checkpoint state

extension PIC8259 {
    /// IRR, IMR, ISR, line levels, ELCR, vector base, priority rotation,
    /// then the flags and the initialization step.
    func save(_ s: inout DeviceStateWriter) {
        for b in [irr, imr, isr, lines, elcr, vectorBase, priorityAdd] { s.u8(b) }
        for f in [autoEOI, rotateOnAutoEOI, readISR, poll, icw4Needed, single] { s.bool(f) }
        s.u8(UInt8(initStep))
    }

    static func restore(_ r: inout DeviceStateReader) throws -> PIC8259 {
        var p = PIC8259()
        p.irr = try r.u8(); p.imr = try r.u8(); p.isr = try r.u8(); p.lines = try r.u8(); p.elcr = try r.u8()
        p.vectorBase = try r.u8(); p.priorityAdd = try r.u8() & 7
        p.autoEOI = try r.bool(); p.rotateOnAutoEOI = try r.bool(); p.readISR = try r.bool(); p.poll = try r.bool()
        p.icw4Needed = try r.bool(); p.single = try r.bool()
        p.initStep = Int(try r.u8())
        guard [0, 2, 3, 4].contains(p.initStep) else {
            throw JournalError(path: "device state of the PIC", offset: nil, reason: "initialization step \(p.initStep)")
        }
        return p
    }
}

extension PICPair {
    /// The master, then the slave.
    func saveState(_ s: inout DeviceStateWriter) { master.save(&s); slave.save(&s) }
    func restoreState(_ r: inout DeviceStateReader) throws {
        master = try PIC8259.restore(&r); slave = try PIC8259.restore(&r)
    }
}
