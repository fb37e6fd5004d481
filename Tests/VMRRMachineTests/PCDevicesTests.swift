import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRMachine
import VMRRBase

/// The PC devices as the recorder sees them: pure logic, no KVM. Every access
/// yields an `io` (ports) or `mmio` (MMIO) event carrying the value.
@Suite struct PCDevicesTests {
    let clock = VirtualClock()

    func devices(memory: UInt64 = 64 << 20, cmdline: String = "console=ttyS0 quiet", strict: Bool = false) -> DeviceModel {
        DeviceModel(clock: clock, input: BufferedInput(bytes: []), output: CapturedOutput(), strict: strict,
                    pc: PCDeviceConfig(memorySize: memory, commandLine: cmdline, rtcEpoch: Layout.virtualClockEpoch))
    }

    func inb(_ d: DeviceModel, _ port: UInt16, size: UInt8 = 1) -> UInt64 {
        let (ev, v, outcome) = d.portRead(port: port, size: size)
        #expect(ev == .io(port: port, size: size, direction: .read, value: v))
        #expect(outcome == .proceed)
        return v
    }

    func out(_ d: DeviceModel, _ port: UInt16, _ value: UInt64, size: UInt8 = 1) -> DeviceOutcome {
        let (ev, outcome) = d.portWrite(port: port, size: size, value: value)
        #expect(ev == .io(port: port, size: size, direction: .write, value: value))
        return outcome
    }

    @Test func isaDebugExitUsesQEMUsEncoding() {
        let d = devices()
        for port in Layout.isaDebugExitPorts {
            guard case let .end(reason, status, message) = out(d, port, 0) else { Issue.record("port \(port) did not end the run"); continue }
            #expect(reason == .debugExit && status == 1 && message?.contains("isa-debug-exit") == true)
        }
        #expect(out(d, 0xF4, 3) == .end(.debugExit, status: 7, message: "isa-debug-exit: 0x3 written to port 0xf4, status (0x3 << 1) | 1 = 7 (low 8 bits)"))
        if case let .end(_, status, _) = out(d, 0xF4, 0x1234, size: 2) { #expect(status == Int32((0x1234 << 1 | 1) & 0xFF)) }
        else { Issue.record("a 2-byte write did not end the run") }
        #expect(inb(d, 0xF4) == 0)
        // The vmrr protocol's debug-exit port still works as before.
        #expect(out(d, Layout.debugExitPort, 5) == .end(.debugExit, status: 5, message: nil))
    }

    @Test func fwCfg() {
        let d = devices(memory: 256 << 20)
        func item(_ key: UInt16, _ n: Int) -> [UInt8] {
            #expect(out(d, 0x510, UInt64(key), size: 2) == .proceed)
            return (0..<n).map { _ in UInt8(inb(d, 0x511)) }
        }
        #expect(item(0x00, 5) == Array("QEMU".utf8) + [0])                 // past the end: 0
        #expect(item(0x05, 2) == [1, 0])                                   // one vCPU
        #expect(item(0x0F, 2) == [1, 0])
        #expect(item(0x01, 4) == [1, 0, 0, 0])                             // traditional interface, no DMA
        #expect(item(0x03, 8) == [0, 0, 0, 0x10, 0, 0, 0, 0])              // 256 MiB
        let cmdline = Array("console=ttyS0 quiet".utf8) + [0]
        #expect(item(0x14, 4) == [UInt8(cmdline.count), 0, 0, 0])
        #expect(item(0x15, cmdline.count) == cmdline)
        #expect(item(0x19, 4) == [0, 0, 0, 0])                             // absent key
        // Selecting again restarts the item; a wide read packs bytes first-most-significant, as QEMU does.
        _ = out(d, 0x510, 0, size: 2)
        #expect(inb(d, 0x511, size: 2) == 0x5145)                          // "QE"
        #expect(inb(d, 0x511, size: 1) == UInt64(UInt8(ascii: "M")))
    }

    @Test func testDevScratchAndMemory() {
        let d = devices()
        #expect(out(d, 0xE0, 0x1234_5678, size: 4) == .proceed)
        #expect(inb(d, 0xE0, size: 4) == 0x1234_5678)
        #expect(inb(d, 0xE0) == 0x78 && inb(d, 0xE1) == 0x56 && inb(d, 0xE2) == 0x34 && inb(d, 0xE3) == 0x12)
        #expect(inb(d, 0xE2, size: 2) == 0x1234)
        _ = out(d, 0xE1, 0xAB)
        #expect(inb(d, 0xE0, size: 4) == 0x1234_AB78)
        #expect(out(d, 0xE4, 0x40_0000, size: 4) == .proceed)             // flush port
        // RAM-like MMIO: every access is an exit and an mmio event.
        let base = Layout.testDevMemoryGPA
        let (w, wo) = d.mmioWrite(gpa: base + 8, size: 8, value: 0x0123_4567_89AB_CDEF)
        #expect(w == .mmio(gpa: base + 8, size: 8, direction: .write, value: 0x0123_4567_89AB_CDEF) && wo == .proceed)
        let (r, v, _) = d.mmioRead(gpa: base + 8, size: 4)
        #expect(v == 0x89AB_CDEF && r == .mmio(gpa: base + 8, size: 4, direction: .read, value: 0x89AB_CDEF))
        #expect(d.mmioRead(gpa: base + 12, size: 2).1 == 0x4567)
        #expect(d.mmioRead(gpa: base + 0xFFFF, size: 1).1 == 0)
        // Past the area: unbacked memory.
        if case .stage2Fault = d.mmioRead(gpa: base + Layout.testDevMemorySize, size: 1).0 {} else {
            Issue.record("0xff010000 should be unbacked")
        }
    }

    @Test func pciHasNoDevices() {
        let d = devices(strict: true)
        #expect(out(d, 0xCF8, 0x8000_0000, size: 4) == .proceed)
        #expect(inb(d, 0xCF8, size: 4) == 0x8000_0000)
        #expect(inb(d, 0xCFC, size: 4) == 0xFFFF_FFFF)
        #expect(inb(d, 0xCFE, size: 2) == 0xFFFF)
        #expect(out(d, 0xCFC, 0, size: 4) == .proceed)
    }

    @Test func resets() {
        let d = devices()
        #expect(inb(d, 0x64) == 0)                                          // input buffer empty
        #expect(out(d, 0x64, 0xD1) == .proceed)
        #expect(out(d, 0x64, 0xFE) == .end(.shutdown, status: 134, message: "reset requested: 0xfe written to port 0x64 (keyboard controller)"))
        #expect(out(d, 0xCF9, 0x02) == .proceed)                            // no reset bit
        #expect(inb(d, 0xCF9) == 0x02)
        #expect(out(d, 0xCF9, 0x06) == .end(.shutdown, status: ExitStatus.reset, message: "reset requested: 0x6 written to port 0xcf9 (reset control, bit 2)"))
    }

    @Test func cmosRTC() {
        let d = devices(memory: 64 << 20)
        func cmos(_ reg: UInt8) -> UInt64 { _ = out(d, 0x70, UInt64(reg)); return inb(d, 0x71) }
        // The virtual clock's epoch, 2025-01-01 00:00:00 UTC (a Wednesday), in BCD, 24-hour.
        #expect(cmos(0x0B) == 0x02 && cmos(0x0A) & 0x80 == 0 && cmos(0x0D) == 0x80)
        #expect([cmos(0x32), cmos(0x09), cmos(0x08), cmos(0x07), cmos(0x06)] == [0x20, 0x25, 0x01, 0x01, 4])
        #expect([cmos(0x04), cmos(0x02), cmos(0x00)] == [0, 0, 0])
        // The time follows the guest clock.
        clock.waitUntil(3_723_000_000_000)                                   // 1 h 2 min 3 s
        #expect([cmos(0x04), cmos(0x02), cmos(0x00)] == [0x01, 0x02, 0x03])
        // Binary mode and 12-hour mode honoured; the time itself cannot be set.
        _ = out(d, 0x70, 0x0B); _ = out(d, 0x71, 0x04)                       // binary, 12-hour
        #expect(cmos(0x04) == 1 && cmos(0x00) == 3 && cmos(0x09) == 25)
        _ = out(d, 0x70, 0x00); _ = out(d, 0x71, 0x59)
        #expect(cmos(0x00) == 3)
        // NMI mask bit ignored; CMOS RAM readable back; memory sizes as QEMU writes them.
        _ = out(d, 0x70, 0x80 | 0x40); _ = out(d, 0x71, 0x5A)
        #expect(cmos(0x40) == 0x5A)
        #expect(cmos(0x15) | cmos(0x16) << 8 == 640)
        #expect(cmos(0x17) | cmos(0x18) << 8 == 63 * 1024)
        #expect(cmos(0x34) | cmos(0x35) << 8 == (48 << 20) >> 16)
        #expect(inb(d, 0x70) == 0xFF)
    }

    @Test func civilTime() {
        func fields(_ t: UInt64) -> [Int] {
            let c = CivilTime(unixSeconds: t)
            return [c.year, c.month, c.day, c.hour, c.minute, c.second, c.weekday]
        }
        #expect(fields(0) == [1970, 1, 1, 0, 0, 0, 4])                      // a Thursday
        #expect(fields(951_782_400) == [2000, 2, 29, 0, 0, 0, 2])           // leap day, a Tuesday
        #expect(fields(4_107_542_399) == [2100, 2, 28, 23, 59, 59, 0])      // 2100 is not a leap year; a Sunday
    }

    @Test func xAPIC() {
        let d = devices(strict: true)
        let apic = Layout.apicGPA
        func read(_ off: UInt64, size: UInt8 = 4) -> UInt64 {
            let (ev, v, outcome) = d.mmioRead(gpa: apic + off, size: size)
            #expect(ev == .mmio(gpa: apic + off, size: size, direction: .read, value: v) && outcome == .proceed)
            return v
        }
        func write(_ off: UInt64, _ v: UInt64) {
            let (ev, outcome) = d.mmioWrite(gpa: apic + off, size: 4, value: v)
            #expect(ev == .mmio(gpa: apic + off, size: 4, direction: .write, value: v) && outcome == .proceed)
        }
        #expect(read(0x20) == 0)                       // APIC ID 0
        #expect(read(0x30) == 0x5_0014)                // version
        #expect(read(0xF0) == 0xFF && read(0xE0) == 0xFFFF_FFFF && read(0x350) == 0x1_0000)
        write(0xF0, 0x1FF); write(0x80, 0x20)
        #expect(read(0xF0) == 0x1FF && read(0x80) == 0x20 && read(0xA0) == 0x20)
        // INIT and SIPI to an absent CPU: accepted, delivery status clear, nothing happens.
        write(0x310, 0x0100_0000); write(0x300, 0x0000_4500); write(0x300, 0x0000_4608)
        #expect(read(0x310) == 0x0100_0000)
        #expect(read(0x300) & (1 << 12) == 0 && read(0x300) == 0x4608)
        write(0x300, 0x1000 | 0x4500)
        #expect(read(0x300) & (1 << 12) == 0)
        write(0xB0, 0)                                 // EOI
        #expect(read(0x20, size: 1) == 0 && read(0x31, size: 1) == 0 && read(0x32, size: 1) == 0x05)
        #expect(read(0x390) == 0)                      // current count: no APIC timer yet
    }

    @Test func strictStillStopsUnknownAccesses() {
        let d = devices(strict: true)
        if case .end(.strict, _, _) = d.portRead(port: 0x80, size: 1).2 {} else { Issue.record("port 0x80 is unknown") }
        if case .end(.strict, _, _) = d.mmioRead(gpa: 0xFED0_0000, size: 4).2 {} else { Issue.record("HPET is not emulated") }
        // Known PC devices do not stop a strict run.
        #expect(d.portRead(port: 0x511, size: 1).2 == .proceed)
        #expect(d.mmioRead(gpa: Layout.apicGPA + 0x20, size: 4).2 == .proceed)
    }
}

/// The pure-Swift decoder that names the instructions KVM's emulator fails on.
@Suite struct FailingInstructionTests {
    @Test(arguments: [
        ([0xCC], true, "int3", 1),
        ([0xCD, 0x80], false, "int 0x80", 2),
        ([0xF1], true, "icebp (int1)", 1),
        ([0xCE], false, "into", 1),
        ([0x0F, 0x01, 0xC1], true, "vmcall", 3),
        ([0x0F, 0x01, 0xD9], true, "vmmcall", 3),
        ([0x0F, 0x01, 0xCA], true, "clac", 3),
        ([0x0F, 0x01, 0xC8], true, "monitor", 3),
        ([0x0F, 0x01, 0xF9], true, "rdtscp", 3),
        ([0x0F, 0x01, 0xD0], true, "xgetbv", 3),
        ([0x0F, 0x34], false, "sysenter", 2),
        ([0xD9, 0xE8], true, "fld1 (x87)", 2),
        ([0xDD, 0x45, 0xF8], true, "fld (m64) (x87)", 3),
        ([0xDB, 0xE3], false, "fninit (x87)", 2),
        ([0x9B], true, "fwait (x87)", 1),
        ([0xF3, 0x0F, 0x58, 0xC1], true, "addss (SSE)", 4),
        ([0x66, 0x0F, 0x59, 0x04, 0x24], true, "mulpd (SSE)", 5),
        ([0xF2, 0x0F, 0x5E, 0x05, 0, 0, 0, 0], true, "divsd (SSE)", 8),
        ([0xF3, 0x48, 0x0F, 0xB8, 0xC0], true, "popcnt", 5),
        ([0xF3, 0x0F, 0xBD, 0xC0], true, "lzcnt", 4),
        ([0xF2, 0x0F, 0x38, 0xF1, 0xC1], true, "crc32", 5),
        ([0x48, 0x0F, 0xC7, 0x0F], true, "cmpxchg16b", 4),
        ([0x0F, 0xAE, 0x27], true, "xsave", 3),
        ([0xC4, 0xE2, 0x78, 0xF2, 0xC1], true, "andn (BMI, VEX-encoded)", 5),
        ([0xC4, 0xE2, 0xF3, 0xF6, 0xC0], true, "mulx (64-bit) (BMI, VEX-encoded)", 5),
        ([0xC5, 0xF8, 0x58, 0xC1], true, "AVX instruction (VEX 0f 58)", 4),
        ([0x62, 0xF1, 0x7C, 0x48, 0x58, 0xC1], true, "AVX-512 instruction (EVEX-encoded)", nil),
    ] as [([UInt8], Bool, String, Int?)])
    func names(bytes: [UInt8], longMode: Bool, mnemonic: String, length: Int?) {
        let d = FailingInstruction.decode(bytes + [0, 0, 0, 0], longMode: longMode)
        #expect(d.mnemonic == mnemonic)
        #expect(d.length == length)
    }

    @Test func modeMatters() {
        // 0x41 is REX.B in 64-bit code and `inc %ecx` in 32-bit code.
        #expect(FailingInstruction.decode([0x41, 0xCC], longMode: true).mnemonic == "int3")
        #expect(FailingInstruction.decode([0x41, 0xCC], longMode: false).length == nil)
        // C4 with a memory ModR/M outside 64-bit code is LES, not VEX.
        #expect(FailingInstruction.decode([0xC4, 0x06], longMode: false).mnemonic == "les")
        #expect(FailingInstruction.decode([], longMode: true).length == nil)
    }

    @Test func reportLine() {
        var regs = GPRegisters()
        regs.rip = 0x10_0013
        var sregs = BootPlan.multibootSpecialRegisters()
        var line = EmulationFailureReport.summary(bytes: [0xCC] + [UInt8](repeating: 0, count: 14), regs: regs, sregs: sregs, symbol: "crash_here")
        #expect(line == "KVM could not emulate int3 at rip 0x100013 (crash_here) in 32-bit protected mode, CPL 0, paging off (bytes: cc)")
        sregs = BootPlan.entrySpecialRegisters()
        line = EmulationFailureReport.summary(bytes: [0xD9, 0xE8], regs: regs, sregs: sregs, symbol: nil)
        #expect(line == "KVM could not emulate fld1 (x87) at rip 0x100013 in 64-bit long mode, CPL 0 (bytes: d9 e8)")
        let lines = EmulationFailureReport.registerLines(regs: regs, sregs: sregs)
        #expect(lines.count == 7 && lines[0].hasPrefix("rip    0000000000100013") && lines[5].contains("cr3    0000000000003000"))
    }
}
