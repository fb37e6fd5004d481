import VMRRGuest

/// PCI configuration mechanism 1 with no device behind it (docs/GUEST.md,
/// "PC devices"): CONFIG_ADDRESS at 0xCF8 (32-bit, readable back) and
/// CONFIG_DATA at 0xCFC-0xCFF. Every other access in 0xCF8-0xCFF reads all
/// ones (vendor 0xFFFF: no device) and writes are ignored. Map it at
/// 0xCF8-0xCFF, after the byte-wide reset control register at 0xCF9.
public final class PCIHost: DeviceModel {
    /// CONFIG_ADDRESS as last written.
    private(set) var configAddress: UInt32 = 0

    public init() {}

    func isConfigAddress(_ access: DeviceAccess) -> Bool {
        access.port == Layout.pciConfigAddressPort && access.size == 4
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        isConfigAddress(access) ? .value(UInt64(configAddress)) : .value(DeviceAccess.allOnes)
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        if isConfigAddress(access) { configAddress = UInt32(truncatingIfNeeded: access.value) }
        return .handled
    }
}
