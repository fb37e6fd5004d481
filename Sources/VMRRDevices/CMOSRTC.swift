import VMRRBase
import VMRRGuest
import VMRRJournal

/// A CMOS RTC (MC146818) at 0x70/0x71. Its time is the epoch the recording
/// started with plus the guest clock; BCD and 24-hour unless the guest
/// changes status register B. The time and date registers cannot be set
/// (writes are ignored); the rest of the 128 bytes is RAM. The memory-size
/// registers are filled in as QEMU's `pc_cmos_init` does. The index port
/// reads all ones. Map it at 0x70-0x71.
public final class CMOSRTC: DeviceModel {
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

    public init(memorySize: UInt64, epoch: UInt64) {
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

    /// The BIOS clears the shutdown status byte when it acts on it.
    func clearShutdownStatus() { ram[Int(Layout.cmosShutdownStatus)] = 0 }

    /// Port 0x70: bit 7 masks NMI and is not part of the index.
    func select(_ value: UInt8) { index = value & 0x7F }

    func store(_ value: UInt8) {
        switch index {
        case Register.statusA: ram[Int(index)] = value & 0x7F
        case Register.statusC, Register.statusD: break
        case _ where Register.time.contains(index): break
        default: ram[Int(index)] = value
        }
    }

    func value(unixSeconds: UInt64) -> UInt8 {
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

    static let nanosecondsPerSecond: UInt64 = 1_000_000_000

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        guard access.port == Layout.cmosDataPort else { return .value(DeviceAccess.allOnes) }
        return .value(UInt64(value(unixSeconds: epoch &+ access.now / Self.nanosecondsPerSecond)))
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        if access.port == Layout.cmosDataPort { store(access.byte) } else { select(access.byte) }
        return .handled
    }

    // MARK: checkpoint state

    /// The index register, then the 128 bytes of RAM.
    func saveState(_ s: inout DeviceStateWriter) { s.u8(index); s.bytes(ram) }

    func restoreState(_ r: inout DeviceStateReader) throws {
        index = try r.u8() & 0x7F
        ram = try r.bytes(ram.count)
    }
}
