import VMRRGuest
import VMRRJournal

/// PCI configuration mechanism 1 with one device: an i440FX-like host bridge
/// at 00:00.0 (docs/GUEST.md, "PCI host bridge"). CONFIG_ADDRESS at 0xCF8
/// (32-bit, readable back; bits 1:0 read 0); CONFIG_DATA at 0xCFC-0xCFF,
/// whose byte lanes select within the dword CONFIG_ADDRESS names. With the
/// enable bit (31) clear, or for any other bus, device or function, data
/// reads are all ones (vendor 0xFFFF: no device) and writes are dropped.
/// Other accesses in 0xCF8-0xCFF read all ones. Map it at 0xCF8-0xCFF,
/// after the byte-wide reset control register at 0xCF9.
///
/// The bridge's header (type 0) is read-only except the command register's
/// memory/bus-master bits; the chipset registers 0x40-0xFF (PAM, SMRAM and
/// the rest) store what is written, as plain bytes.
public final class PCIHost: DeviceModel {
    /// CONFIG_ADDRESS as last written (bits 1:0 cleared).
    private(set) var configAddress: UInt32 = 0
    /// The host bridge's 256 bytes of configuration space.
    private(set) var config = PCIHost.resetConfiguration

    enum Address {
        static let enable: UInt32 = 1 << 31
        static let busShift: UInt32 = 16, deviceShift: UInt32 = 11, functionShift: UInt32 = 8
        /// Bus, device and function together (bits 23:8).
        static let functionMask: UInt32 = 0x00FF_FF00
        static let registerMask: UInt32 = 0xFC
        static let reservedLow: UInt32 = 0x3
    }
    /// Offsets in the type-0 header.
    enum Header {
        static let vendor = 0x00, device = 0x02, command = 0x04, status = 0x06
        static let revision = 0x08, classCode = 0x0A, headerType = 0x0E
        static let subsystemVendor = 0x2C, subsystem = 0x2E
        /// First chipset register: from here on, bytes are stored as written.
        static let chipsetRegisters = 0x40
        static let size = 256
    }
    /// Command register bits the guest may change: memory space (1) and bus master (2).
    static let commandWritable: UInt16 = 0x0006
    /// Status: medium DEVSEL timing (bits 10:9 = 01) and fast back-to-back (bit 7).
    static let statusValue: UInt16 = 0x0280
    /// Subsystem vendor and ID, as QEMU's i440FX reports them (Red Hat, QEMU).
    static let subsystemVendorID: UInt16 = 0x1AF4, subsystemID: UInt16 = 0x1100

    static let resetConfiguration: [UInt8] = {
        var c = [UInt8](repeating: 0, count: Header.size)
        func put16(_ at: Int, _ v: UInt16) { c[at] = UInt8(v & 0xFF); c[at + 1] = UInt8(v >> 8) }
        put16(Header.vendor, Layout.pciHostVendorID)
        put16(Header.device, Layout.pciHostDeviceID)
        put16(Header.command, commandWritable)
        put16(Header.status, statusValue)
        c[Header.revision] = Layout.pciHostRevision
        put16(Header.classCode, Layout.pciHostClass)
        c[Header.headerType] = 0
        put16(Header.subsystemVendor, subsystemVendorID)
        put16(Header.subsystem, subsystemID)
        return c
    }()

    public init() {}

    func isConfigAddress(_ access: DeviceAccess) -> Bool {
        access.port == Layout.pciConfigAddressPort && access.size == 4
    }

    /// The configuration-space offset a data access at `port` reaches, or nil
    /// when CONFIG_ADDRESS does not select the host bridge with enable set.
    func selectedOffset(port: UInt16) -> Int? {
        guard Layout.pciConfigDataPorts.contains(port), configAddress & Address.enable != 0,
              configAddress & Address.functionMask == 0 else { return nil }
        return Int(configAddress & Address.registerMask) + Int(port - Layout.pciConfigDataPorts.lowerBound)
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        if isConfigAddress(access) { return .value(UInt64(configAddress)) }
        guard let offset = selectedOffset(port: access.port) else { return .value(DeviceAccess.allOnes) }
        var v: UInt64 = 0
        for i in (0..<Int(access.size)).reversed() {
            v = v << 8 | UInt64(offset + i < Header.size ? config[offset + i] : 0xFF)
        }
        return .value(v)
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        if isConfigAddress(access) {
            configAddress = UInt32(truncatingIfNeeded: access.value) & ~Address.reservedLow
            return .handled
        }
        guard let offset = selectedOffset(port: access.port) else { return .handled }
        for i in 0..<Int(access.size) where offset + i < Header.size {
            storeByte(offset + i, UInt8(truncatingIfNeeded: access.value >> (8 * UInt64(i))))
        }
        return .handled
    }

    func storeByte(_ offset: Int, _ v: UInt8) {
        switch offset {
        case Header.command:
            config[offset] = (config[offset] & ~UInt8(Self.commandWritable)) | (v & UInt8(Self.commandWritable))
        case Header.chipsetRegisters..<Header.size:
            config[offset] = v
        default:
            break   // the rest of the header is read-only
        }
    }

    // MARK: checkpoint state

    /// CONFIG_ADDRESS, then the 256 configuration bytes.
    func saveState(_ s: inout DeviceStateWriter) {
        s.u32(configAddress)
        s.bytes(config)
    }

    func restoreState(_ r: inout DeviceStateReader) throws {
        configAddress = try r.u32()
        config = try r.bytes(Header.size)
    }
}
