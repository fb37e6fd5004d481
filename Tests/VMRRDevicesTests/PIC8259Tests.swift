import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// The 8259A pair: on its own with synthetic port accesses and IRQ lines,
/// and through the platform with pc-testdev driving the lines.
@Suite struct PIC8259Tests {
    func write(_ pic: PICPair, _ port: UInt16, _ v: UInt8) {
        #expect(pic.write(DeviceAccess(base: UInt64(port), offset: 0, size: 1, value: UInt64(v))) == .handled)
    }
    func read(_ pic: PICPair, _ port: UInt16) -> UInt64 {
        pic.read(DeviceAccess(base: UInt64(port), offset: 0, size: 1))!.value
    }
    func remap(_ pic: PICPair, base: UInt8) {
        for (port, v) in [(0x20, 0x11), (0x21, base), (0x21, 0x04), (0x21, 0x01),
                          (0xA0, 0x11), (0xA1, base + 8), (0xA1, 0x02), (0xA1, 0x01)] as [(UInt16, UInt8)] {
            write(pic, port, v)
        }
    }

    @Test func edgesBecomeVectorsAtTheProgrammedBase() {
        let pic = PICPair()
        remap(pic, base: 0x50)
        #expect(pic.pendingVector == nil)
        pic.setIRQ(3, true)
        #expect(pic.pendingVector == 0x53)
        pic.acknowledge()
        #expect(pic.pendingVector == nil)
        write(pic, 0x20, 0x0B)                            // OCW3: read ISR
        #expect(read(pic, 0x20) == 1 << 3)
        write(pic, 0x20, 0x20)                            // EOI
        #expect(read(pic, 0x20) == 0)
        // A slave line arrives through the master's IR2.
        pic.setIRQ(12, true)
        #expect(pic.pendingVector == 0x5C)
        // Lines outside 0-15 do not exist on the pair.
        pic.setIRQ(16, true)
        pic.acknowledge()
        #expect(pic.pendingVector == nil)
    }

    @Test func imrMasksAndIsReadBack() {
        let pic = PICPair()
        remap(pic, base: 0x20)
        write(pic, 0x21, 0x01)
        #expect(read(pic, 0x21) == 0x01 && pic.isMasked(0) && !pic.isMasked(1))
        write(pic, 0xA1, 0x80)
        #expect(pic.isMasked(15) && !pic.isMasked(8))
        pic.setIRQ(0, true)
        #expect(pic.pendingVector == nil)
        write(pic, 0x21, 0x00)
        #expect(pic.pendingVector == 0x20)
    }

    /// A clocked source (the PIT) is brought up to the access's time before the PIC answers.
    @Test func clockedInputAdvancesBeforeEachAccess() {
        final class Source: ClockedInterruptSource {
            var times: [UInt64] = []
            func advance(to now: UInt64) { times.append(now) }
        }
        let pic = PICPair(), source = Source()
        pic.clockedInput = source
        _ = pic.read(DeviceAccess(base: 0x20, offset: 0, size: 1, now: 5))
        _ = pic.write(DeviceAccess(base: 0x4D0, offset: 1, size: 1, value: 0, now: 7))
        #expect(source.times == [5, 7])
    }

    @Test func picPrioritiesMaskingAndEOI() {
        let f = PlatformFixture()
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
        let f = PlatformFixture()
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

}
