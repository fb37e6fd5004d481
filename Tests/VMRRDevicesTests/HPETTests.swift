import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// Records GSI and ISA IRQ levels the way a router would receive them.
final class GSIRecorder: GSIController {
    private(set) var changes: [String] = []
    func setIRQ(_ irq: Int, _ level: Bool) { changes.append("irq\(irq)=\(level ? 1 : 0)") }
    func setGSI(_ gsi: Int, _ level: Bool) { changes.append("gsi\(gsi)=\(level ? 1 : 0)") }
    func clear() { changes = [] }
}

/// The HPET (IA-PC HPET 1.0a): capabilities, the main counter on the guest
/// clock, comparators in one-shot and periodic mode, 32-bit mode, legacy
/// replacement routing, level interrupts and their status bits.
@Suite struct HPETTests {
    let lines = GSIRecorder()
    let hpet: HPET
    init() { hpet = HPET(interrupts: lines) }

    func read(_ offset: UInt64, size: UInt8 = 8, at now: UInt64 = 0) -> UInt64 {
        hpet.read(DeviceAccess(base: Layout.hpetGPA, offset: offset, size: size, now: now))!.value
    }
    func write(_ offset: UInt64, _ v: UInt64, size: UInt8 = 8, at now: UInt64 = 0) {
        _ = hpet.write(DeviceAccess(base: Layout.hpetGPA, offset: offset, size: size, value: v, now: now))
    }

    @Test func capabilities() {
        let cap = read(0)
        #expect(cap & 0xFF == 1)                                       // revision
        #expect((cap >> 8) & 0x1F == 2)                                // three timers
        #expect(cap & (1 << 13) != 0 && cap & (1 << 15) != 0)          // 64-bit counter, legacy capable
        #expect((cap >> 16) & 0xFFFF == 0x8086)
        #expect(cap >> 32 == 10_000_000)                               // 10 ns in fs
        #expect(read(4, size: 4) == 10_000_000 && read(0, size: 4) == cap & 0xFFFF_FFFF)
        write(0, 0)
        #expect(read(0) == cap)                                        // read-only
        let t0 = read(0x100)
        #expect(t0 & (1 << 4) != 0 && t0 & (1 << 5) != 0)              // periodic and 64-bit capable
        #expect(t0 >> 32 == UInt64(Layout.hpetRoutableGSIs) && t0 & (1 << 15) == 0)   // routes, no FSB
        #expect(read(0x108) == ~0)                                     // comparators reset to all ones
    }

    @Test func mainCounterRunsOnTheGuestClockOnlyWhileEnabled() {
        #expect(read(0xF0, at: 5_000) == 0)
        write(0xF0, 100, at: 5_000)                                    // writable while halted
        write(0x10, 1, at: 10_000)                                     // enable
        #expect(read(0xF0, at: 10_000) == 100)
        #expect(read(0xF0, at: 10_999) == 199)                         // 99.9 ticks of 10 ns
        #expect(read(0xF4, size: 4, at: 10_999) == 0)
        write(0xF0, 0, at: 11_000)                                     // ignored while running
        #expect(read(0xF0, at: 20_000) == 1100)
        write(0x10, 0, at: 20_000)
        #expect(read(0xF0, at: 90_000) == 1100)                        // halted
        #expect(read(0x10) == 0)
        write(0x10, ~0)
        #expect(read(0x10) == 3)                                       // only ENABLE and LEG_RT
    }

    @Test func oneShotEdgeTimerOnItsRoute() {
        write(0x100, 1 << 2 | 20 << 9)                                 // enabled, edge, route GSI 20
        write(0x108, 50)                                               // fires when the counter reads 50
        write(0x10, 1, at: 1_000)
        #expect(hpet.nextInterruptTime() == 1_500)
        hpet.advance(to: 1_499)
        #expect(lines.changes.isEmpty)
        hpet.advance(to: 1_500)
        #expect(lines.changes == ["gsi20=0", "gsi20=1", "gsi20=0"])
        #expect(read(0x20) == 0)                                       // no status bit for edge timers
        #expect(hpet.nextInterruptTime() == nil)                       // 64-bit one-shot: once
    }

    @Test func routesOutsideTheCapabilityAreNotTaken() {
        write(0x100, 5 << 9)
        #expect((read(0x100) >> 9) & 0x1F == 0)
        write(0x100, 23 << 9)
        #expect((read(0x100) >> 9) & 0x1F == 23)
    }

    @Test func periodicTimerWithValueSet() {
        write(0x100, 1 << 2 | 1 << 3 | 1 << 6 | 16 << 9)               // enabled, periodic, VAL_SET
        write(0x108, 100)                                              // comparator (VAL_SET)
        write(0x108, 100)                                              // period
        #expect(read(0x100) & (1 << 6) == 0)                           // VAL_SET clears itself
        write(0x10, 1)
        #expect(hpet.nextInterruptTime() == 1_000)
        hpet.advance(to: 1_000)
        #expect(read(0x108, at: 1_000) == 200 && hpet.nextInterruptTime() == 2_000)
        lines.clear()
        hpet.advance(to: 4_500)                                        // missed periods merge into one interrupt
        #expect(lines.changes == ["gsi16=0", "gsi16=1", "gsi16=0"])
        #expect(read(0x108, at: 4_500) == 500 && hpet.nextInterruptTime() == 5_000)
    }

    @Test func thirtyTwoBitModeComparesTheLowHalf() {
        write(0xF0, 0x1_0000_0000 - 10)                                // halted counter near a 32-bit wrap
        write(0x100, 1 << 2 | 1 << 8 | 17 << 9)                        // enabled, 32-bit mode
        write(0x108, 0xFFFF_FFFF_0000_0005)
        #expect(read(0x108) == 5)                                      // the upper half is cleared in 32-bit mode
        write(0x10, 1)
        #expect(hpet.nextInterruptTime() == 150)                       // 15 ticks: across the wrap
        hpet.advance(to: 150)
        #expect(hpet.nextInterruptTime() == 150 + (1 << 32) * 10)      // the low half matches again after a wrap
    }

    @Test func legacyReplacementLevelTimerAndStatus() {
        write(0x10, 3)                                                 // enabled, legacy routes
        write(0x120, 1 << 1 | 1 << 2)                                  // timer 1: level, enabled
        write(0x128, 10)
        hpet.advance(to: 100)
        #expect(lines.changes == ["irq8=1"])
        #expect(read(0x20) == 2)
        write(0x20, 1)                                                 // writing another bit clears nothing
        #expect(read(0x20) == 2)
        write(0x20, 2, size: 4)
        #expect(read(0x20) == 0 && lines.changes == ["irq8=1", "irq8=0"])
        lines.clear()
        write(0x100, 1 << 2)                                           // timer 0: edge, to IRQ 0 in legacy mode
        write(0x108, 20)
        hpet.advance(to: 200)
        #expect(lines.changes == ["irq0=0", "irq0=1", "irq0=0"])
    }

    @Test func disabledInterruptsAndOddSizes() {
        write(0x100, 16 << 9)                                          // INT_ENB clear
        write(0x108, 1)
        write(0x10, 1)
        #expect(hpet.nextInterruptTime() == nil)
        hpet.advance(to: 1_000)
        #expect(lines.changes.isEmpty)
        #expect(read(0x0, size: 2) == 0 && read(0x2, size: 4) == 0)    // only 4- and 8-byte aligned accesses
    }

    @Test func legacyTimerZeroDrivesThePlatformsIRQ0() {
        let f = PlatformFixture()
        f.initPICs(); f.out(0x21, 0xFE)                                // only IRQ 0 unmasked at the PIC
        _ = f.platform.mmioWrite(gpa: Layout.hpetGPA + 0x100, size: 8, value: 1 << 2 | 1 << 3 | 1 << 6)
        _ = f.platform.mmioWrite(gpa: Layout.hpetGPA + 0x108, size: 8, value: 1_000)
        _ = f.platform.mmioWrite(gpa: Layout.hpetGPA + 0x108, size: 8, value: 1_000)
        _ = f.platform.mmioWrite(gpa: Layout.hpetGPA + 0x10, size: 8, value: 3)
        #expect(f.platform.nextInterruptTime() == 10_000)
        f.clock.waitUntil(10_000)
        #expect(f.take() == 0x20)
    }
}
