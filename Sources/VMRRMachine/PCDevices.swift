import VMRRGuest
import VMRRJournal

/// The PC devices real kernels and test suites probe (docs/GUEST.md, "PC
/// devices"): isa-debug-exit, fw_cfg, QEMU's pc-testdev, PCI configuration
/// mechanism 1 with no devices, the two reset ports, a CMOS RTC and the
/// xAPIC page. Pure logic over accesses, record-side only: a replay answers
/// every read from the journal, so these models never run there. Their state
/// depends only on what the guest wrote and on the guest clock, both of
/// which the journal determines.

/// What the PC devices answer from.
public struct PCDeviceConfig: Sendable {
    /// RAM size, for fw_cfg key 3 and the CMOS memory registers.
    public var memorySize: UInt64
    /// vCPUs, for fw_cfg keys 5 and 0xF: always the real count, 1.
    public var vcpuCount: UInt16 = 1
    /// The command line fw_cfg keys 0x14/0x15 carry.
    public var commandLine: String
    /// Unix time (seconds) the RTC shows at guest clock 0.
    public var rtcEpoch: UInt64

    public init(memorySize: UInt64 = Layout.defaultMemorySize, commandLine: String = "",
                rtcEpoch: UInt64 = Layout.virtualClockEpoch) {
        self.memorySize = memorySize; self.commandLine = commandLine; self.rtcEpoch = rtcEpoch
    }
}

/// What a PC device made of a write.
enum PCWriteResult: Equatable {
    case handled
    /// The run ends (isa-debug-exit, reset).
    case end(EndReason, status: Int32, message: String)
}

/// All PC devices together; `DeviceModel` asks them before calling an access unknown.
final class PCDevices {
    let fwCfg: FwCfg
    let cmos: CMOSRTC
    let testDev = TestDev()
    let apic = LocalAPIC()
    /// PCI CONFIG_ADDRESS (0xCF8), readable back.
    var pciAddress: UInt32 = 0
    /// The reset control register's last value (without the reset bit).
    var resetControl: UInt8 = 0

    init(config: PCDeviceConfig) {
        fwCfg = FwCfg(config: config)
        cmos = CMOSRTC(memorySize: config.memorySize, epoch: config.rtcEpoch)
    }

    /// A port read; nil when no PC device decodes the port.
    func portRead(port: UInt16, size: UInt8, clockNanoseconds: () -> UInt64) -> UInt64? {
        switch port {
        case Layout.isaDebugExitPorts: return 0
        case Layout.fwCfgDataPort: return fwCfg.read(size: size)
        case Layout.fwCfgSelectorPort: return DeviceModel.mask(~0, size: size)
        case Layout.testDevScratchPorts: return testDev.scratchRead(port: port, size: size)
        case Layout.testDevFlushPort: return 0
        case Layout.resetControlPort where size == 1: return UInt64(resetControl)
        case Layout.pciConfigAddressPort where size == 4: return UInt64(pciAddress)
        case Layout.pciConfigAddressPort...(Layout.pciConfigAddressPort + 3), Layout.pciConfigDataPorts:
            return DeviceModel.mask(~0, size: size)   // no device: vendor 0xFFFF
        case Layout.keyboardControllerPort: return 0  // input buffer empty, no data
        case Layout.cmosIndexPort: return DeviceModel.mask(~0, size: size)
        case Layout.cmosDataPort: return UInt64(cmos.read(unixSeconds: cmos.epoch &+ clockNanoseconds() / 1_000_000_000))
        default: return nil
        }
    }

    /// A port write; nil when no PC device decodes the port.
    func portWrite(port: UInt16, size: UInt8, value: UInt64) -> PCWriteResult? {
        switch port {
        case Layout.isaDebugExitPorts:
            let v = DeviceModel.mask(value, size: size)
            let status = Int32(((v << 1) | 1) & 0xFF)
            return .end(.debugExit, status: status,
                        message: "isa-debug-exit: 0x\(hex(v)) written to port 0x\(hex(port)), status (0x\(hex(v)) << 1) | 1 = \(status) (low 8 bits)")
        case Layout.fwCfgSelectorPort: fwCfg.select(UInt16(truncatingIfNeeded: value)); return .handled
        case Layout.fwCfgDataPort: return .handled
        case Layout.testDevScratchPorts: testDev.scratchWrite(port: port, size: size, value: value); return .handled
        case Layout.testDevFlushPort: return .handled
        case Layout.resetControlPort where size == 1:
            let v = UInt8(truncatingIfNeeded: value)
            if v & Layout.resetControlCPUReset != 0 {
                return .end(.shutdown, status: Layout.resetExitStatus,
                            message: "reset requested: 0x\(hex(v)) written to port 0xcf9 (reset control, bit 2)")
            }
            resetControl = v
            return .handled
        case Layout.pciConfigAddressPort where size == 4: pciAddress = UInt32(truncatingIfNeeded: value); return .handled
        case Layout.pciConfigAddressPort...(Layout.pciConfigAddressPort + 3), Layout.pciConfigDataPorts: return .handled
        case Layout.keyboardControllerPort:
            if UInt8(truncatingIfNeeded: value) == Layout.keyboardControllerReset {
                return .end(.shutdown, status: Layout.resetExitStatus,
                            message: "reset requested: 0xfe written to port 0x64 (keyboard controller)")
            }
            return .handled
        case Layout.cmosIndexPort: cmos.select(UInt8(truncatingIfNeeded: value)); return .handled
        case Layout.cmosDataPort: cmos.write(UInt8(truncatingIfNeeded: value)); return .handled
        default: return nil
        }
    }

    /// An MMIO read; nil when no PC device decodes the address.
    func mmioRead(gpa: UInt64, size: UInt8) -> UInt64? {
        if let o = LocalAPIC.offset(gpa) { return apic.read(offset: o, size: size) }
        if let o = TestDev.memoryOffset(gpa) { return testDev.memoryRead(offset: o, size: size) }
        return nil
    }

    /// An MMIO write; false when no PC device decodes the address.
    func mmioWrite(gpa: UInt64, size: UInt8, value: UInt64) -> Bool {
        if let o = LocalAPIC.offset(gpa) { apic.write(offset: o, size: size, value: value); return true }
        if let o = TestDev.memoryOffset(gpa) { testDev.memoryWrite(offset: o, size: size, value: value); return true }
        return false
    }
}

// MARK: - fw_cfg

/// QEMU's fw_cfg, the traditional port interface: a 16-bit selector write
/// at 0x510, byte reads at 0x511 that advance through the item. Absent keys
/// and reads past an item's end give 0. A wider data read returns that many
/// consecutive bytes, the first in the most significant position (as QEMU's
/// `fw_cfg_data_read` packs them).
final class FwCfg {
    private(set) var selector: UInt16 = 0
    private(set) var offset = 0
    let items: [UInt16: [UInt8]]

    init(config: PCDeviceConfig) {
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        let cmdline = Array(config.commandLine.utf8) + [0]
        items = [
            Layout.FwCfgKey.signature: Array("QEMU".utf8),
            Layout.FwCfgKey.id: le(1, 4),
            Layout.FwCfgKey.ramSize: le(config.memorySize, 8),
            Layout.FwCfgKey.cpuCount: le(UInt64(config.vcpuCount), 2),
            Layout.FwCfgKey.maxCPUs: le(UInt64(config.vcpuCount), 2),
            Layout.FwCfgKey.commandLineSize: le(UInt64(cmdline.count), 4),
            Layout.FwCfgKey.commandLineData: cmdline,
        ]
    }

    func select(_ key: UInt16) { selector = key; offset = 0 }

    func read(size: UInt8) -> UInt64 {
        var v: UInt64 = 0
        for _ in 0..<max(1, min(Int(size), 8)) {
            var b: UInt8 = 0
            if let item = items[selector], offset < item.count { b = item[offset]; offset += 1 }
            v = v << 8 | UInt64(b)
        }
        return v
    }
}

// MARK: - pc-testdev

/// QEMU's pc-testdev: the scratch register at 0xE0-0xE3 (byte lanes of one
/// 32-bit value, readable back), the flush port 0xE4, and 64 KiB of RAM-like
/// MMIO at 0xFF000000.
final class TestDev {
    private(set) var scratch: UInt32 = 0
    private(set) var memory = [UInt8](repeating: 0, count: Int(Layout.testDevMemorySize))

    static func memoryOffset(_ gpa: UInt64) -> Int? {
        gpa >= Layout.testDevMemoryGPA && gpa - Layout.testDevMemoryGPA < Layout.testDevMemorySize
            ? Int(gpa - Layout.testDevMemoryGPA) : nil
    }

    /// The lanes an access at `port` of `size` bytes covers (QEMU's `test_ioport_*`).
    static func lanes(port: UInt16, size: UInt8) -> (shift: UInt64, mask: UInt64) {
        let shift = UInt64(port & 3) * 8
        let bits = UInt64(min(size, 4)) * 8
        let mask = (bits >= 64 ? ~UInt64(0) : (UInt64(1) << bits) - 1) << shift & 0xFFFF_FFFF
        return (shift, mask)
    }

    func scratchRead(port: UInt16, size: UInt8) -> UInt64 {
        let (shift, mask) = Self.lanes(port: port, size: size)
        return (UInt64(scratch) & mask) >> shift
    }

    func scratchWrite(port: UInt16, size: UInt8, value: UInt64) {
        let (shift, mask) = Self.lanes(port: port, size: size)
        scratch = UInt32(truncatingIfNeeded: (UInt64(scratch) & ~mask) | ((value << shift) & mask))
    }

    /// Little-endian bytes; bytes past the end of the area read as 0xFF.
    func memoryRead(offset: Int, size: UInt8) -> UInt64 {
        var v: UInt64 = 0
        for i in (0..<Int(min(size, 8))).reversed() {
            let b = offset + i < memory.count ? memory[offset + i] : 0xFF
            v = v << 8 | UInt64(b)
        }
        return v
    }

    func memoryWrite(offset: Int, size: UInt8, value: UInt64) {
        for i in 0..<Int(min(size, 8)) where offset + i < memory.count {
            memory[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
        }
    }
}

// MARK: - CMOS RTC

/// A CMOS RTC (MC146818) at 0x70/0x71. Its time is the epoch the recording
/// started with plus the guest clock; BCD and 24-hour unless the guest
/// changes status register B. The time and date registers cannot be set
/// (writes are ignored); the rest of the 128 bytes is RAM. The memory-size
/// registers are filled in as QEMU's `pc_cmos_init` does.
final class CMOSRTC {
    let epoch: UInt64
    private(set) var index: UInt8 = 0
    private(set) var ram = [UInt8](repeating: 0, count: 128)

    enum Register {
        static let seconds: UInt8 = 0x00, minutes: UInt8 = 0x02, hours: UInt8 = 0x04
        static let weekday: UInt8 = 0x06, dayOfMonth: UInt8 = 0x07, month: UInt8 = 0x08, year: UInt8 = 0x09
        static let statusA: UInt8 = 0x0A, statusB: UInt8 = 0x0B, statusC: UInt8 = 0x0C, statusD: UInt8 = 0x0D
        static let century: UInt8 = 0x32
        static let time: Set<UInt8> = [seconds, minutes, hours, weekday, dayOfMonth, month, year, century]
    }
    /// Status B bits.
    static let binaryMode: UInt8 = 1 << 2, hour24: UInt8 = 1 << 1
    /// Status A: 32.768 kHz time base, 1024 Hz rate; update-in-progress (bit 7) never set.
    static let statusAReset: UInt8 = 0x26
    /// Status D bit 7: valid RAM and time.
    static let statusDValid: UInt8 = 0x80

    init(memorySize: UInt64, epoch: UInt64) {
        self.epoch = epoch
        ram[Int(Register.statusA)] = Self.statusAReset
        ram[Int(Register.statusB)] = Self.hour24
        ram[Int(Register.statusD)] = Self.statusDValid
        func put16(_ at: Int, _ v: UInt64) { ram[at] = UInt8(v & 0xFF); ram[at + 1] = UInt8((v >> 8) & 0xFF) }
        let below4G = Layout.ramRanges(memorySize: memorySize)[0].upperBound
        put16(0x15, 640)                                                   // base memory, KiB
        let extended = min((below4G >> 10) - 1024, 0xFFFF)                 // KiB above 1 MiB
        put16(0x17, extended); put16(0x30, extended)
        put16(0x34, below4G > 16 << 20 ? min((below4G - (16 << 20)) >> 16, 0xFFFF) : 0)  // 64 KiB blocks above 16 MiB
        let above4G = memorySize > below4G ? (memorySize - below4G) >> 16 : 0
        ram[0x5B] = UInt8(above4G & 0xFF); ram[0x5C] = UInt8((above4G >> 8) & 0xFF); ram[0x5D] = UInt8((above4G >> 16) & 0xFF)
        ram[0x5F] = 0                                                      // vCPUs - 1
    }

    /// Port 0x70: bit 7 masks NMI and is not part of the index.
    func select(_ value: UInt8) { index = value & 0x7F }

    func write(_ value: UInt8) {
        switch index {
        case Register.statusA: ram[Int(index)] = value & 0x7F
        case Register.statusC, Register.statusD: break
        case _ where Register.time.contains(index): break
        default: ram[Int(index)] = value
        }
    }

    func read(unixSeconds: UInt64) -> UInt8 {
        guard Register.time.contains(index) else { return ram[Int(index)] }
        let t = CivilTime(unixSeconds: unixSeconds)
        let b = ram[Int(Register.statusB)]
        func enc(_ v: Int) -> UInt8 { b & Self.binaryMode != 0 ? UInt8(v) : UInt8((v / 10) << 4 | v % 10) }
        switch index {
        case Register.seconds: return enc(t.second)
        case Register.minutes: return enc(t.minute)
        case Register.hours:
            if b & Self.hour24 != 0 { return enc(t.hour) }
            let h12 = t.hour % 12 == 0 ? 12 : t.hour % 12
            return enc(h12) | (t.hour >= 12 ? 0x80 : 0)
        case Register.weekday: return enc(t.weekday + 1)
        case Register.dayOfMonth: return enc(t.day)
        case Register.month: return enc(t.month)
        case Register.year: return enc(t.year % 100)
        default: return enc(t.year / 100)   // century
        }
    }
}

/// A UTC date and time from Unix seconds (proleptic Gregorian calendar).
struct CivilTime: Equatable {
    var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    /// 0 = Sunday.
    var weekday: Int

    init(unixSeconds: UInt64) {
        let days = Int(unixSeconds / 86_400), rest = Int(unixSeconds % 86_400)
        hour = rest / 3600; minute = rest % 3600 / 60; second = rest % 60
        weekday = (days + 4) % 7   // 1970-01-01 was a Thursday
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }
}

// MARK: - Local APIC (xAPIC MMIO)

/// The xAPIC page at 0xFEE00000, enough for kernels that read their APIC ID
/// and send INIT/SIPI at boot: ID 0, version 0x50014, SPIV, TPR, LDR, DFR,
/// the LVT entries, the timer registers and ICR are stored and read back;
/// ICR's delivery-status bit always reads clear. No interrupt is delivered
/// (INIT and SIPI to absent CPUs are ignored; self-IPIs and the APIC timer
/// are not implemented yet), and ISR, IRR, TMR, ESR and the current count read 0.
final class LocalAPIC {
    enum Register {
        static let id = 0x20, version = 0x30, tpr = 0x80, apr = 0x90, ppr = 0xA0, eoi = 0xB0
        static let ldr = 0xD0, dfr = 0xE0, spiv = 0xF0, esr = 0x280, icrLow = 0x300, icrHigh = 0x310
        static let lvtCMCI = 0x2F0, lvtTimer = 0x320, lvtError = 0x370
        static let initialCount = 0x380, currentCount = 0x390, divide = 0x3E0
        /// Registers that store what is written.
        static let writable: Set<Int> = [tpr, ldr, dfr, spiv, icrLow, icrHigh, lvtCMCI, 0x320, 0x330, 0x340, 0x350, 0x360, lvtError,
                                         initialCount, divide]
    }
    /// ICR bit 12: delivery status (send pending). Always reads 0.
    static let icrDeliveryStatus: UInt32 = 1 << 12
    /// An LVT entry's mask bit, set at reset.
    static let lvtMasked: UInt32 = 1 << 16

    private(set) var registers: [Int: UInt32] = [:]

    init() {
        registers[Register.dfr] = 0xFFFF_FFFF
        registers[Register.spiv] = 0xFF
        for lvt in [Register.lvtCMCI, 0x320, 0x330, 0x340, 0x350, 0x360, Register.lvtError] { registers[lvt] = Self.lvtMasked }
    }

    static func offset(_ gpa: UInt64) -> Int? {
        gpa >= Layout.apicGPA && gpa - Layout.apicGPA < Layout.pageSize ? Int(gpa - Layout.apicGPA) : nil
    }

    func value(of register: Int) -> UInt32 {
        switch register {
        case Register.id: return 0
        case Register.version: return Layout.apicVersion
        case Register.ppr: return (registers[Register.tpr] ?? 0) & 0xF0
        default: return registers[register] ?? 0
        }
    }

    /// Reads of the 32-bit register in a 16-byte slot; other bytes read 0.
    func read(offset: Int, size: UInt8) -> UInt64 {
        let within = offset & 0xF
        guard within < 4 else { return 0 }
        let v = UInt64(value(of: offset & ~0xF)) >> (UInt64(within) * 8)
        return DeviceModel.mask(v, size: size)
    }

    /// Only aligned 32-bit (or wider) writes change a register.
    func write(offset: Int, size: UInt8, value: UInt64) {
        guard offset & 0xF == 0, size >= 4, Register.writable.contains(offset) else { return }
        var v = UInt32(truncatingIfNeeded: value)
        if offset == Register.icrLow { v &= ~Self.icrDeliveryStatus }
        registers[offset] = v
    }
}
