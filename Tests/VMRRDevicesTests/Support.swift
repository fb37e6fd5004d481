import Testing
import VMRRBase
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// A PC platform on the virtual clock, driven by synthetic accesses the way
/// the recorder drives it: port and MMIO reads and writes, interrupts taken
/// as the recorder takes them (pending, then acknowledged).
final class PlatformFixture {
    let clock = VirtualClock()
    let output = CapturedOutput()
    let input: BufferedInput
    let platform: PCPlatform

    init(input bytes: [UInt8] = [], x2apic: Bool = true, strict: Bool = true,
         memory: UInt64 = 64 << 20, cmdline: String = "console=ttyS0 quiet") {
        input = BufferedInput(bytes: bytes)
        var config = PCDeviceConfig(memorySize: memory, commandLine: cmdline, rtcEpoch: Layout.virtualClockEpoch)
        config.x2apicAvailable = x2apic
        platform = PCPlatform(clock: clock, input: input, output: output, strict: strict, pc: config)
    }

    /// A byte write that must not end the run.
    func out(_ port: UInt16, _ v: UInt8) {
        let (_, outcome) = platform.portWrite(port: port, size: 1, value: UInt64(v))
        #expect(outcome == .proceed, "port \(hex(port))")
    }

    /// A byte read that must not end the run.
    func inb(_ port: UInt16) -> UInt8 {
        let (_, v, outcome) = platform.portRead(port: port, size: 1)
        #expect(outcome == .proceed, "port \(hex(port))")
        return UInt8(truncatingIfNeeded: v)
    }

    /// A read that must be journaled as a plain `io` event carrying the value.
    func read(_ port: UInt16, size: UInt8 = 1) -> UInt64 {
        let (ev, v, outcome) = platform.portRead(port: port, size: size)
        #expect(ev == .io(port: port, size: size, direction: .read, value: v))
        #expect(outcome == .proceed)
        return v
    }

    /// A write that must be journaled as a plain `io` event; its outcome.
    func write(_ port: UInt16, _ value: UInt64, size: UInt8 = 1) -> DeviceOutcome {
        let (ev, outcome) = platform.portWrite(port: port, size: size, value: value)
        #expect(ev == .io(port: port, size: size, direction: .write, value: value))
        return outcome
    }

    /// The BIOS-style remap: master at `base`, slave at `base + 8`, cascade on IR2.
    func initPICs(base: UInt8 = 0x20, autoEOI: Bool = false) {
        let icw4: UInt8 = autoEOI ? 0x03 : 0x01
        out(0x20, 0x11); out(0x21, base); out(0x21, 0x04); out(0x21, icw4)
        out(0xA0, 0x11); out(0xA1, base + 8); out(0xA1, 0x02); out(0xA1, icw4)
    }

    /// Delivers like the recorder: pending, then acknowledged.
    func take() -> UInt8? {
        guard let v = platform.pendingInterrupt() else { return nil }
        platform.acknowledgeInterrupt(v)
        return v
    }
}

/// An interrupt controller that records the levels devices set.
final class LineRecorder: InterruptController {
    private(set) var levels: [Int: Bool] = [:]
    private(set) var changes: [(irq: Int, level: Bool)] = []
    func setIRQ(_ irq: Int, _ level: Bool) { levels[irq] = level; changes.append((irq, level)) }
    func level(_ irq: Int) -> Bool { levels[irq] ?? false }
}

/// A synthetic access at `port` (a device mapped at `base`).
func access(_ port: UInt64, base: UInt64, size: UInt8 = 1, value: UInt64 = 0, now: UInt64 = 0) -> DeviceAccess {
    DeviceAccess(base: base, offset: port - base, size: size, value: value, now: now)
}
