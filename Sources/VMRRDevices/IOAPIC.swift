import VMRRGuest
import VMRRJournal

/// Where an I/O APIC or another interrupt source delivers messages: the
/// local APIC (`LocalAPIC.receive`).
public protocol APICBus: AnyObject {
    /// An interrupt message; false when no local APIC accepts it.
    @discardableResult
    func receive(_ message: InterruptMessage) -> Bool
}

/// One interrupt message on the APIC bus (an I/O APIC redirection entry or an MSI).
public struct InterruptMessage: Equatable, Sendable {
    public var vector: UInt8
    public var deliveryMode: UInt8
    /// Logical (true) or physical (false) destination mode.
    public var logical: Bool
    /// Level-triggered: the local APIC sets TMR and broadcasts its EOI.
    public var level: Bool
    /// The 8-bit destination field.
    public var destination: UInt8

    public init(vector: UInt8, deliveryMode: UInt8 = DeliveryMode.fixed, logical: Bool = false,
                level: Bool = false, destination: UInt8 = 0) {
        self.vector = vector; self.deliveryMode = deliveryMode; self.logical = logical
        self.level = level; self.destination = destination
    }

    /// Delivery modes (82093AA table 5; SDM 11.6.1).
    public enum DeliveryMode {
        public static let fixed: UInt8 = 0, lowestPriority: UInt8 = 1, smi: UInt8 = 2
        public static let nmi: UInt8 = 4, initialize: UInt8 = 5, startup: UInt8 = 6, extINT: UInt8 = 7
    }
}

/// The 82093AA I/O APIC at 0xFEC00000 (docs/GUEST.md, "I/O APIC"), 24 pins
/// for GSIs 0-23, version 0x20 (with the EOI register of later I/O APICs):
/// - IOREGSEL (+0x00, 8 bits used) selects the register IOWIN (+0x10)
///   reads and writes: 0x00 ID (bits 27:24), 0x01 version (read-only:
///   0x20, maximum redirection entry 23 in bits 23:16), 0x02 arbitration ID
///   (read-only, equal to the ID), 0x10 + 2n / 0x11 + 2n the low / high
///   halves of redirection entry n; other indices read 0.
/// - EOI (+0x40, write): clears remote IRR of level entries with that vector.
/// - A redirection entry: vector (7:0), delivery mode (10:8), destination
///   mode (11), delivery status (12, read-only, always 0: messages are
///   delivered at once), polarity (13, 1 = active low), remote IRR (14,
///   read-only), trigger mode (15, 1 = level), mask (16), destination
///   (63:56). Every entry starts masked.
/// - Edge-triggered pins latch a rising edge of the (polarity-adjusted)
///   line and deliver it once unmasked, as QEMU's I/O APIC does. Level pins
///   deliver while asserted, unmasked and remote IRR is clear; delivery
///   sets remote IRR, and the local APIC's EOI of the vector (or a write to
///   the EOI register) clears it and re-delivers a still-asserted line.
/// - Fixed and lowest-priority entries go to the local APIC as fixed
///   interrupts, NMI entries as an NMI; SMI, INIT and ExtINT entries are
///   dropped (the PIC reaches the CPU through LINT0 instead).
/// Map it at its page on the MMIO bus.
public final class IOAPIC: DeviceModel {
    enum Offset { static let select: UInt64 = 0x00, window: UInt64 = 0x10, eoi: UInt64 = 0x40 }
    enum Index {
        static let id: UInt8 = 0x00, version: UInt8 = 0x01, arbitration: UInt8 = 0x02
        static let redirectionTable: UInt8 = 0x10
    }
    /// Redirection entry bits.
    enum Entry {
        static let vectorMask: UInt64 = 0xFF
        static let deliveryModeShift: UInt64 = 8, deliveryModeMask: UInt64 = 0x7
        static let logical: UInt64 = 1 << 11
        static let deliveryStatus: UInt64 = 1 << 12
        static let activeLow: UInt64 = 1 << 13
        static let remoteIRR: UInt64 = 1 << 14
        static let levelTriggered: UInt64 = 1 << 15
        static let masked: UInt64 = 1 << 16
        static let destinationShift: UInt64 = 56
        /// Bits the guest writes: all but delivery status and remote IRR, and
        /// the reserved bits 55:17.
        static let writable: UInt64 = 0xFF00_0000_0001_AFFF
    }
    /// IOAPICID bits 27:24.
    static let idShift: UInt32 = 24, idMask: UInt32 = 0x0F00_0000

    public static let pinCount = Layout.ioapicPinCount

    private(set) var select: UInt8 = 0
    private(set) var id = UInt32(Layout.ioapicID) << IOAPIC.idShift
    private(set) var redirection = [UInt64](repeating: Entry.masked, count: IOAPIC.pinCount)
    /// The level of each input line as last set (before polarity).
    private(set) var lines: UInt32 = 0
    /// Edges latched on edge-triggered pins, not yet delivered.
    private(set) var latched: UInt32 = 0
    /// Where messages go.
    weak var bus: APICBus?

    public init(bus: APICBus? = nil) { self.bus = bus }

    var versionRegister: UInt32 { UInt32(Layout.ioapicVersion) | UInt32(Self.pinCount - 1) << 16 }

    func asserted(_ pin: Int) -> Bool {
        let high = lines & (1 << UInt32(pin)) != 0
        return redirection[pin] & Entry.activeLow != 0 ? !high : high
    }

    /// Whether `pin`'s redirection entry is masked.
    public func isMasked(_ pin: Int) -> Bool {
        pin < 0 || pin >= Self.pinCount || redirection[pin] & Entry.masked != 0
    }

    /// Sets the level of the line into `pin` (GSI `pin`); other pins are ignored.
    public func setLine(_ pin: Int, _ level: Bool) {
        guard pin >= 0 && pin < Self.pinCount else { return }
        let was = asserted(pin)
        if level { lines |= 1 << UInt32(pin) } else { lines &= ~(1 << UInt32(pin)) }
        if redirection[pin] & Entry.levelTriggered == 0, !was, asserted(pin) { latched |= 1 << UInt32(pin) }
        service(pin)
    }

    /// Delivers what `pin` has to deliver now, if anything.
    func service(_ pin: Int) {
        let e = redirection[pin]
        guard e & Entry.masked == 0 else { return }
        if e & Entry.levelTriggered != 0 {
            guard asserted(pin), e & Entry.remoteIRR == 0 else { return }
            if deliver(e) { redirection[pin] |= Entry.remoteIRR }
        } else if latched & (1 << UInt32(pin)) != 0 {
            latched &= ~(1 << UInt32(pin))
            deliver(e)
        }
    }

    @discardableResult
    func deliver(_ e: UInt64) -> Bool {
        let mode = UInt8((e >> Entry.deliveryModeShift) & Entry.deliveryModeMask)
        let m = InterruptMessage(vector: UInt8(e & Entry.vectorMask), deliveryMode: mode, logical: e & Entry.logical != 0,
                                 level: e & Entry.levelTriggered != 0, destination: UInt8(e >> Entry.destinationShift))
        return bus?.receive(m) ?? false
    }

    /// The local APIC's EOI for a level-triggered `vector`, or a write of the EOI register.
    public func endOfInterrupt(vector: UInt8) {
        for pin in 0..<Self.pinCount where redirection[pin] & Entry.vectorMask == UInt64(vector)
            && redirection[pin] & Entry.remoteIRR != 0 {
            redirection[pin] &= ~Entry.remoteIRR
            service(pin)
        }
    }

    func registerValue(_ index: UInt8) -> UInt32 {
        switch index {
        case Index.id, Index.arbitration: return id
        case Index.version: return versionRegister
        case Index.redirectionTable..<(Index.redirectionTable + UInt8(2 * Self.pinCount)):
            let n = Int(index - Index.redirectionTable)
            let e = redirection[n / 2]
            return UInt32(truncatingIfNeeded: n % 2 == 0 ? e : e >> 32)
        default: return 0
        }
    }

    func storeRegister(_ index: UInt8, _ v: UInt32) {
        switch index {
        case Index.id: id = v & Self.idMask
        case Index.redirectionTable..<(Index.redirectionTable + UInt8(2 * Self.pinCount)):
            let n = Int(index - Index.redirectionTable), pin = n / 2
            let old = redirection[pin]
            var e = n % 2 == 0 ? (old & ~0xFFFF_FFFF) | UInt64(v) : (old & 0xFFFF_FFFF) | UInt64(v) << 32
            e = (e & Entry.writable) | (old & Entry.remoteIRR)
            // An edge-triggered entry has no remote IRR.
            if e & Entry.levelTriggered == 0 { e &= ~Entry.remoteIRR }
            redirection[pin] = e
            service(pin)
        default: break
        }
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        switch access.offset {
        case Offset.select: return .value(UInt64(select))
        case Offset.window: return .value(UInt64(registerValue(select)))
        default: return .value(0)
        }
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        let v = UInt32(truncatingIfNeeded: access.value)
        switch access.offset {
        case Offset.select: select = UInt8(truncatingIfNeeded: v)
        case Offset.window: storeRegister(select, v)
        case Offset.eoi: endOfInterrupt(vector: UInt8(truncatingIfNeeded: v))
        default: break
        }
        return .handled
    }

    // MARK: checkpoint state

    /// IOREGSEL, ID, line levels, latched edges, then the 24 entries.
    func saveState(_ s: inout DeviceStateWriter) {
        s.u8(select); s.u32(id); s.u32(lines); s.u32(latched)
        for e in redirection { s.u64(e) }
    }

    func restoreState(_ r: inout DeviceStateReader) throws {
        select = try r.u8(); id = try r.u32(); lines = try r.u32(); latched = try r.u32()
        for pin in 0..<Self.pinCount { redirection[pin] = try r.u64() }
    }
}
