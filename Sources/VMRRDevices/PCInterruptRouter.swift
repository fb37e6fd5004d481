import VMRRGuest

/// The PC's interrupt wiring (docs/GUEST.md, "Interrupt wiring"): ISA IRQ n
/// goes to the PIC pair's line n and to the I/O APIC's pin for GSI n,
/// except IRQ 0 (the PIT, and the HPET's timer 0 in legacy mode), which
/// reaches GSI 2 as the MADT's interrupt source override says. GSIs 16-23
/// reach the I/O APIC only (the HPET's routed comparators).
public final class PCInterruptRouter: GSIController {
    let pic: PICPair
    let ioapic: IOAPIC

    public init(pic: PICPair, ioapic: IOAPIC) { self.pic = pic; self.ioapic = ioapic }

    /// The GSI ISA IRQ `irq` reaches.
    public static func gsi(isa irq: Int) -> Int { irq == Layout.pitIRQ ? Int(Layout.pitGSI) : irq }

    public func setIRQ(_ irq: Int, _ level: Bool) {
        pic.setIRQ(irq, level)
        // ISA IRQ 2 is the PICs' cascade: no ISA device drives GSI 2 through it.
        if irq != PICPair.cascadeLine { ioapic.setLine(Self.gsi(isa: irq), level) }
    }

    public func setGSI(_ gsi: Int, _ level: Bool) { ioapic.setLine(gsi, level) }
}
