import VMRRBase
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
    /// Whether the guest's CPUID offers x2APIC (CPUID.1:ECX[21]); without
    /// it, setting IA32_APIC_BASE.EXTD raises #GP, as on such a CPU.
    public var x2apicAvailable = true

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
    let apic: LocalAPIC
    var pic = PICPair()
    var pit = PIT8254()
    /// Guest-clock time up to which PIT channel 0's edges have reached the PIC.
    var pitTime: UInt64 = 0
    /// PCI CONFIG_ADDRESS (0xCF8), readable back.
    var pciAddress: UInt32 = 0
    /// The reset control register's last value (without the reset bit).
    var resetControl: UInt8 = 0

    init(config: PCDeviceConfig) {
        fwCfg = FwCfg(config: config)
        apic = LocalAPIC(x2apicAvailable: config.x2apicAvailable)
        cmos = CMOSRTC(memorySize: config.memorySize, epoch: config.rtcEpoch)
    }

    /// Brings the PIT's interrupt output up to `now`: each rising edge of
    /// channel 0's OUT since the last call is an edge on IRQ 0.
    func advance(to now: UInt64) {
        guard now > pitTime else { return }
        if pit.channels[0].risingEdges(from: pitTime, to: now) > 0 {
            pic.setIRQ(Layout.pitIRQ, false)
            pic.setIRQ(Layout.pitIRQ, true)
        }
        pic.setIRQ(Layout.pitIRQ, pit.channels[0].out(now))
        pitTime = now
    }

    /// When PIT channel 0 next raises IRQ 0, if it will and the line is unmasked.
    func nextTimerEdge(after now: UInt64) -> UInt64? {
        guard pic.master.imr & (1 << UInt8(Layout.pitIRQ)) == 0 else { return nil }
        return pit.channels[0].nextRisingEdge(after: now)
    }

    /// A port read; nil when no PC device decodes the port.
    func portRead(port: UInt16, size: UInt8, clockNanoseconds: () -> UInt64) -> UInt64? {
        switch port {
        case Layout.picMasterCommandPort, Layout.picMasterDataPort, Layout.picSlaveCommandPort, Layout.picSlaveDataPort,
             Layout.elcrMasterPort, Layout.elcrSlavePort:
            advance(to: clockNanoseconds())
            return UInt64(pic.portRead(port))
        case Layout.pitCounterPorts:
            let now = clockNanoseconds()
            advance(to: now)
            return UInt64(pit.readData(Int(port - Layout.pitCounterPorts.lowerBound), now: now))
        case Layout.pitControlPort: return 0xFF
        case Layout.systemControlPort: return UInt64(pit.systemControl(now: clockNanoseconds()))
        case Layout.testDevIRQPorts: return 0
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
    func portWrite(port: UInt16, size: UInt8, value: UInt64, clockNanoseconds: () -> UInt64) -> PCWriteResult? {
        let byte = UInt8(truncatingIfNeeded: value)
        switch port {
        case Layout.picMasterCommandPort, Layout.picMasterDataPort, Layout.picSlaveCommandPort, Layout.picSlaveDataPort,
             Layout.elcrMasterPort, Layout.elcrSlavePort:
            advance(to: clockNanoseconds())
            pic.portWrite(port, byte)
            return .handled
        case Layout.pitCounterPorts:
            let now = clockNanoseconds()
            advance(to: now)
            pit.writeData(Int(port - Layout.pitCounterPorts.lowerBound), byte, now: now)
            pic.setIRQ(Layout.pitIRQ, pit.channels[0].out(now))
            return .handled
        case Layout.pitControlPort:
            let now = clockNanoseconds()
            advance(to: now)
            pit.writeControl(byte, now: now)
            return .handled
        case Layout.systemControlPort:
            pit.writeSystemControl(byte, now: clockNanoseconds())
            return .handled
        case Layout.testDevIRQPorts:
            pic.setIRQ(Int(port - Layout.testDevIRQPorts.lowerBound), DeviceModel.mask(value, size: size) != 0)
            return .handled
        case Layout.isaDebugExitPorts:
            let v = DeviceModel.mask(value, size: size)
            let status = Int32(((v << 1) | 1) & 0xFF)
            return .end(.debugExit, status: status,
                        message: "isa-debug-exit: \(hex(v)) written to port \(hex(port)), status (\(hex(v)) << 1) | 1 = \(status) (low 8 bits)")
        case Layout.fwCfgSelectorPort: fwCfg.select(UInt16(truncatingIfNeeded: value)); return .handled
        case Layout.fwCfgDataPort: return .handled
        case Layout.testDevScratchPorts: testDev.scratchWrite(port: port, size: size, value: value); return .handled
        case Layout.testDevFlushPort: return .handled
        case Layout.resetControlPort where size == 1:
            let v = UInt8(truncatingIfNeeded: value)
            if v & Layout.resetControlCPUReset != 0 {
                return .end(.shutdown, status: ExitStatus.reset,
                            message: "reset requested: \(hex(v)) written to port 0xcf9 (reset control, bit 2)")
            }
            resetControl = v
            return .handled
        case Layout.pciConfigAddressPort where size == 4: pciAddress = UInt32(truncatingIfNeeded: value); return .handled
        case Layout.pciConfigAddressPort...(Layout.pciConfigAddressPort + 3), Layout.pciConfigDataPorts: return .handled
        case Layout.keyboardControllerPort:
            if UInt8(truncatingIfNeeded: value) == Layout.keyboardControllerReset {
                return .end(.shutdown, status: ExitStatus.reset,
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

// MARK: - Local APIC (xAPIC MMIO and x2APIC MSRs)

/// The local APIC of vmrr's one vCPU (APIC ID 0), for kernels that read
/// their APIC ID, send INIT/SIPI at boot, switch to x2APIC mode, and send
/// themselves IPIs:
/// - xAPIC page at 0xFEE00000 while IA32_APIC_BASE says xAPIC mode; the
///   x2APIC MSRs 0x800-0x8FF while it says x2APIC mode (SDM vol. 3, 11.12),
///   with #GP for reserved registers, reads of write-only ones (EOI, SELF
///   IPI), writes of read-only ones, and any access outside x2APIC mode;
/// - IA32_APIC_BASE with the SDM's legal mode transitions (#GP otherwise);
/// - fixed-delivery IPIs to itself (ICR shorthand "self", or destination
///   APIC ID 0, or SELF IPI) set the vector in IRR; the highest IRR above
///   the processor priority is delivered at the next exit where the vCPU can
///   take it (`DeviceModel.pendingInterrupt`), moving to ISR; EOI clears the
///   highest ISR bit. INIT, SIPI and IPIs to other APIC IDs are dropped
///   (there are no other CPUs). The APIC timer and LINT pins deliver nothing.
final class LocalAPIC {
    enum Register {
        static let id = 0x20, version = 0x30, tpr = 0x80, apr = 0x90, ppr = 0xA0, eoi = 0xB0
        static let rrd = 0xC0, ldr = 0xD0, dfr = 0xE0, spiv = 0xF0
        static let isr = 0x100, tmr = 0x180, irr = 0x200
        static let esr = 0x280, icrLow = 0x300, icrHigh = 0x310
        static let lvtCMCI = 0x2F0, lvtTimer = 0x320, lvtThermal = 0x330, lvtPerf = 0x340
        static let lvtLINT0 = 0x350, lvtLINT1 = 0x360, lvtError = 0x370
        static let initialCount = 0x380, currentCount = 0x390, divide = 0x3E0
        /// x2APIC only: SELF IPI (MSR 0x83F).
        static let selfIPI = 0x3F0
        static let lvts = [lvtCMCI, lvtTimer, lvtThermal, lvtPerf, lvtLINT0, lvtLINT1, lvtError]
        /// Registers that store what is written (both modes).
        static let stored: Set<Int> = Set([tpr, spiv, icrLow, icrHigh, initialCount, divide] + lvts)
        /// Eight 32-bit words each: ISR, TMR, IRR.
        static let vectorArrays = [isr, tmr, irr]
    }
    /// ICR bit 12: delivery status (send pending). Always reads 0.
    static let icrDeliveryStatus: UInt32 = 1 << 12
    /// An LVT entry's mask bit, set at reset.
    static let lvtMasked: UInt32 = 1 << 16
    /// SPIV bit 8: APIC software enable.
    static let spivEnable: UInt32 = 1 << 8
    /// ICR fields.
    enum ICR {
        static let vectorMask: UInt32 = 0xFF
        static let deliveryModeShift: UInt32 = 8, deliveryModeMask: UInt32 = 0x7
        static let shorthandShift: UInt32 = 18, shorthandMask: UInt32 = 0x3
        static let fixedDelivery: UInt32 = 0, initDelivery: UInt32 = 5, startupDelivery: UInt32 = 6
        static let noShorthand: UInt32 = 0, selfShorthand: UInt32 = 1, allIncludingSelf: UInt32 = 2
        /// xAPIC destination: ICR high bits 31:24.
        static let xapicDestinationShift: UInt32 = 24
    }
    /// IA32_APIC_BASE bits (SDM vol. 3, 11.4.4 and 11.12.1).
    enum Base {
        static let bsp: UInt64 = 1 << 8
        static let extd: UInt64 = 1 << 10
        static let enable: UInt64 = 1 << 11
        /// Bits 12 up to the guest's physical-address width hold the base.
        static let addressMask: UInt64 = 0x000F_FFFF_FFFF_F000
        static let reservedMask: UInt64 = ~(bsp | extd | enable | addressMask)
    }

    private(set) var registers: [Int: UInt32] = [:]
    /// IRR, ISR and TMR as 256-bit sets.
    private(set) var irr = VectorSet(), isr = VectorSet()
    private(set) var apicBase: UInt64 = Layout.apicBaseAtEntry
    /// Interrupts sent to absent CPUs or in delivery modes vmrr does not model (for reports).
    private(set) var droppedIPIs = 0

    /// Whether CPUID offers x2APIC mode.
    let x2apicAvailable: Bool

    init(x2apicAvailable: Bool = true) {
        self.x2apicAvailable = x2apicAvailable
        registers[Register.dfr] = 0xFFFF_FFFF
        registers[Register.spiv] = 0xFF
        for lvt in Register.lvts { registers[lvt] = Self.lvtMasked }
    }

    var x2apicMode: Bool { apicBase & (Base.enable | Base.extd) == Base.enable | Base.extd }
    var globallyEnabled: Bool { apicBase & Base.enable != 0 }
    var softwareEnabled: Bool { (registers[Register.spiv] ?? 0) & Self.spivEnable != 0 }

    static func offset(_ gpa: UInt64) -> Int? {
        gpa >= Layout.apicGPA && gpa - Layout.apicGPA < Layout.pageSize ? Int(gpa - Layout.apicGPA) : nil
    }

    /// The processor priority: the higher of TPR's and the highest in-service vector's class.
    var processorPriority: UInt32 {
        let tpr = (registers[Register.tpr] ?? 0) & 0xFF
        let isrClass = UInt32(isr.highest ?? 0) & 0xF0
        return (tpr & 0xF0) >= isrClass ? tpr : isrClass
    }

    func value(of register: Int) -> UInt32 {
        switch register {
        case Register.id: return 0
        case Register.version: return Layout.apicVersion
        case Register.ppr: return processorPriority
        case Register.ldr where x2apicMode: return 1   // cluster 0, bit (ID & 0xF) = bit 0
        case Register.isr..<(Register.isr + 0x80): return isr.word((register - Register.isr) >> 4)
        case Register.irr..<(Register.irr + 0x80): return irr.word((register - Register.irr) >> 4)
        case Register.tmr..<(Register.tmr + 0x80): return 0
        default: return registers[register] ?? 0
        }
    }

    // MARK: xAPIC MMIO

    /// Reads of the 32-bit register in a 16-byte slot; other bytes read 0.
    /// The page reads as all ones while the APIC is in x2APIC mode or disabled.
    func read(offset: Int, size: UInt8) -> UInt64 {
        guard globallyEnabled, !x2apicMode else { return DeviceModel.mask(~0, size: size) }
        let within = offset & 0xF
        guard within < 4 else { return 0 }
        let v = UInt64(value(of: offset & ~0xF)) >> (UInt64(within) * 8)
        return DeviceModel.mask(v, size: size)
    }

    /// Only aligned 32-bit (or wider) writes change a register.
    func write(offset: Int, size: UInt8, value: UInt64) {
        guard globallyEnabled, !x2apicMode, offset & 0xF == 0, size >= 4 else { return }
        store(offset, UInt32(truncatingIfNeeded: value), x2apic: false)
    }

    func store(_ register: Int, _ v: UInt32, x2apic: Bool) {
        switch register {
        case Register.eoi: endOfInterrupt()
        case Register.icrLow:
            registers[register] = v & ~Self.icrDeliveryStatus
            let destination = x2apic ? (registers[Register.icrHigh] ?? 0) : (registers[Register.icrHigh] ?? 0) >> ICR.xapicDestinationShift
            sendIPI(low: v, destination: destination)
        case Register.selfIPI: accept(vector: UInt8(v & ICR.vectorMask))
        case Register.ldr, Register.dfr: registers[register] = v
        case _ where Register.stored.contains(register): registers[register] = v
        default: break
        }
    }

    // MARK: delivery

    func sendIPI(low: UInt32, destination: UInt32) {
        let mode = (low >> ICR.deliveryModeShift) & ICR.deliveryModeMask
        let shorthand = (low >> ICR.shorthandShift) & ICR.shorthandMask
        let toSelf = shorthand == ICR.selfShorthand || shorthand == ICR.allIncludingSelf
            || (shorthand == ICR.noShorthand && destination == 0)
        guard toSelf, mode == ICR.fixedDelivery else { droppedIPIs += 1; return }
        accept(vector: UInt8(low & ICR.vectorMask))
    }

    /// A fixed interrupt arrives: vectors 0-15 are illegal and dropped.
    func accept(vector: UInt8) {
        guard vector >= 16 else { droppedIPIs += 1; return }
        irr.insert(vector)
    }

    /// The vector to deliver now, if any (not yet acknowledged).
    var deliverable: UInt8? {
        guard globallyEnabled, softwareEnabled, let v = irr.highest else { return nil }
        return UInt32(v) & 0xF0 > processorPriority & 0xF0 ? v : nil
    }

    func acknowledge(_ vector: UInt8) {
        irr.remove(vector)
        isr.insert(vector)
    }

    func endOfInterrupt() {
        if let v = isr.highest { isr.remove(v) }
    }

    // MARK: x2APIC MSRs and IA32_APIC_BASE

    /// The register an x2APIC MSR names: MSR 0x800 + (xAPIC offset >> 4).
    static func register(msr: UInt32) -> Int { Int(msr - Layout.MSR.x2apicFirst) << 4 }

    /// Registers that exist in x2APIC mode (SDM table 11-6), readable and/or writable.
    static let x2apicReadable: Set<Int> = {
        var s: Set<Int> = [Register.id, Register.version, Register.tpr, Register.ppr, Register.ldr, Register.spiv,
                           Register.esr, Register.icrLow, Register.initialCount, Register.currentCount, Register.divide]
        for base in Register.vectorArrays { for k in 0..<8 { s.insert(base + k * 0x10) } }
        s.formUnion(Register.lvts)
        return s
    }()
    static let x2apicWritable: Set<Int> = Set([Register.tpr, Register.eoi, Register.spiv, Register.esr, Register.icrLow,
                                               Register.initialCount, Register.divide, Register.selfIPI] + Register.lvts)

    /// An RDMSR of 0x800-0x8FF; nil means #GP.
    func x2apicRead(msr: UInt32) -> UInt64? {
        let r = Self.register(msr: msr)
        guard x2apicMode, Self.x2apicReadable.contains(r) else { return nil }
        if r == Register.icrLow { return UInt64(registers[Register.icrHigh] ?? 0) << 32 | UInt64(value(of: r)) }
        return UInt64(value(of: r))
    }

    /// A WRMSR of 0x800-0x8FF; false means #GP.
    func x2apicWrite(msr: UInt32, value: UInt64) -> Bool {
        let r = Self.register(msr: msr)
        guard x2apicMode, Self.x2apicWritable.contains(r) else { return false }
        // The 64-bit ICR is one MSR; every other register is 32 bits, the upper half reserved.
        if r == Register.icrLow {
            registers[Register.icrHigh] = UInt32(truncatingIfNeeded: value >> 32)
        } else if value >> 32 != 0 {
            return false
        }
        // EOI and SELF IPI take only their defined bits (SDM: a non-zero EOI write is #GP).
        if r == Register.eoi && value != 0 { return false }
        store(r, UInt32(truncatingIfNeeded: value), x2apic: true)
        return true
    }

    func apicBaseRead() -> UInt64 { apicBase }

    /// A WRMSR of IA32_APIC_BASE; false means #GP (reserved bits, or a mode
    /// change the SDM forbids: x2APIC to xAPIC, disabled to x2APIC, EXTD
    /// without EN).
    func apicBaseWrite(_ value: UInt64) -> Bool {
        guard value & Base.reservedMask == 0 else { return false }
        let wasX2 = x2apicMode, wasEnabled = globallyEnabled
        let en = value & Base.enable != 0, extd = value & Base.extd != 0
        if extd && !en { return false }
        if extd && !x2apicAvailable { return false }
        if wasX2 && en && !extd { return false }
        if !wasEnabled && en && extd { return false }
        // The BSP flag is the hardware's to set: keep it.
        apicBase = (value & ~Base.bsp) | (apicBase & Base.bsp)
        if !en {
            // Disabling resets the APIC's state (SDM 11.4.3).
            irr = VectorSet(); isr = VectorSet()
            registers[Register.spiv] = 0xFF
        }
        return true
    }
}

/// 256 interrupt vectors as bits (IRR, ISR).
struct VectorSet: Equatable {
    private var words = [UInt64](repeating: 0, count: 4)
    mutating func insert(_ v: UInt8) { words[Int(v >> 6)] |= 1 << UInt64(v & 63) }
    mutating func remove(_ v: UInt8) { words[Int(v >> 6)] &= ~(1 << UInt64(v & 63)) }
    func contains(_ v: UInt8) -> Bool { words[Int(v >> 6)] & (1 << UInt64(v & 63)) != 0 }
    var highest: UInt8? {
        for w in (0..<4).reversed() where words[w] != 0 { return UInt8(w * 64 + 63 - words[w].leadingZeroBitCount) }
        return nil
    }
    /// The 32-bit register word `k` (vectors 32k ..< 32k+32).
    func word(_ k: Int) -> UInt32 { UInt32(truncatingIfNeeded: words[k / 2] >> (k % 2 == 0 ? 0 : 32)) }
}
