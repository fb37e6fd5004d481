/// Ports or guest-physical addresses mapped to devices (Firecracker's `Bus`).
/// Mappings may overlap: an access is offered to the devices whose range
/// holds it, in the order they were inserted, until one decodes it. That is
/// how a byte-wide register shadows part of a wider one (the reset control
/// register at 0xCF9 inside PCI's CONFIG_ADDRESS at 0xCF8), as on a PC
/// chipset. Insert the most frequently used device first: lookups scan.
public struct DeviceBus {
    public struct Mapping {
        public let range: ClosedRange<UInt64>
        public let device: DeviceModel
    }
    public private(set) var mappings: [Mapping] = []

    public init() {}

    /// Maps `device` at `count` ports or bytes from `base`.
    public mutating func insert(_ device: DeviceModel, at base: UInt64, count: UInt64) {
        precondition(count > 0, "an empty range decodes nothing")
        mappings.append(Mapping(range: base...(base + count - 1), device: device))
    }

    /// Maps `device` at a closed range of ports.
    public mutating func insert(_ device: DeviceModel, ports: ClosedRange<UInt16>) {
        insert(device, at: UInt64(ports.lowerBound), count: UInt64(ports.count))
    }

    /// The first answer of a device mapped at `address`, or nil when none decodes the read.
    public func read(_ address: UInt64, size: UInt8, now: UInt64) -> DeviceAnswer? {
        for m in mappings where m.range.contains(address) {
            let access = DeviceAccess(base: m.range.lowerBound, offset: address - m.range.lowerBound, size: size, now: now)
            if let answer = m.device.read(access) { return answer }
        }
        return nil
    }

    /// The first answer of a device mapped at `address`, or nil when none decodes the write.
    public func write(_ address: UInt64, size: UInt8, value: UInt64, now: UInt64) -> DeviceAnswer? {
        for m in mappings where m.range.contains(address) {
            let access = DeviceAccess(base: m.range.lowerBound, offset: address - m.range.lowerBound, size: size,
                                      value: value, now: now)
            if let answer = m.device.write(access) { return answer }
        }
        return nil
    }
}
