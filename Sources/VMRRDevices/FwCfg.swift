import VMRRGuest
import VMRRJournal

/// QEMU's fw_cfg, the traditional port interface (docs/GUEST.md, "PC
/// devices"): a 16-bit selector write at 0x510, byte reads at 0x511 that
/// advance through the item. Absent keys and reads past an item's end give 0.
/// A wider data read returns that many consecutive bytes, the first in the
/// most significant position (as QEMU's `fw_cfg_data_read` packs them). The
/// selector port reads all ones; data writes are ignored; there is no DMA
/// interface. Map it at 0x510-0x511.
public final class FwCfg: DeviceModel {
    private(set) var selector: UInt16 = 0
    private(set) var offset = 0
    let items: [UInt16: [UInt8]]
    /// Register offsets from 0x510.
    static let selectorOffset: UInt64 = 0, dataOffset: UInt64 = 1

    public init(config: PCDeviceConfig) {
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

    func readData(size: UInt8) -> UInt64 {
        var v: UInt64 = 0
        for _ in 0..<max(1, min(Int(size), 8)) {
            var b: UInt8 = 0
            if let item = items[selector], offset < item.count { b = item[offset]; offset += 1 }
            v = v << 8 | UInt64(b)
        }
        return v
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        access.offset == Self.dataOffset ? .value(readData(size: access.size)) : .value(DeviceAccess.allOnes)
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        if access.offset == Self.selectorOffset { select(UInt16(truncatingIfNeeded: access.value)) }
        return .handled
    }

    // MARK: checkpoint state

    /// The selector and the offset within the selected item.
    func saveState(_ s: inout DeviceStateWriter) { s.u16(selector); s.u32(UInt32(offset)) }

    func restoreState(_ r: inout DeviceStateReader) throws {
        selector = try r.u16(); offset = Int(try r.u32())
    }
}
