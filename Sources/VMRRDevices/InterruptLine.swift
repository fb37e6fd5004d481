/// Something ISA interrupt lines lead into: the PIC pair.
public protocol InterruptController: AnyObject {
    /// Sets the level of ISA IRQ `irq` (lines outside 0-15 are ignored).
    func setIRQ(_ irq: Int, _ level: Bool)
}

/// One device's interrupt output, wired to a line of a controller.
public struct InterruptLine {
    public let controller: InterruptController
    public let irq: Int
    public init(_ controller: InterruptController, irq: Int) { self.controller = controller; self.irq = irq }
    public func set(_ level: Bool) { controller.setIRQ(irq, level) }
}

/// An interrupt source whose output is computed from the guest clock only
/// when someone looks (the PIT): the PIC brings it up to date before the
/// guest observes the PIC, and the platform does before it looks for an
/// interrupt to deliver.
public protocol ClockedInterruptSource: AnyObject {
    func advance(to now: UInt64)
}
