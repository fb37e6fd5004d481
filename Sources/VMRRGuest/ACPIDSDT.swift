/// The DSDT's AML (ACPI 6.0, chapter 20), encoded by hand: it is small.
/// With a PCI host bridge it holds `\_SB.PCI0`, a PNP0A03 root bridge whose
/// _CRS gives bus 0-255, the configuration ports 0xCF8-0xCFF and the windows
/// a kernel may assign (I/O outside the configuration ports; the VGA window
/// and the hole below the local APIC pages in memory). Without one it is empty,
/// which is valid AML.
enum ACPIDSDT {
    static func body(platform: ACPIPlatform) -> [UInt8] {
        guard platform.pciHostBridge else { return [] }
        let pnp0a03: UInt32 = 0x030A_D041   // EisaId("PNP0A03")
        let device = AML.device("PCI0", AML.name("_HID", AML.dword(pnp0a03)) + AML.name("_UID", AML.zero)
                                    + AML.name("_CRS", AML.buffer(pciResources())))
        return AML.scope(Array("\\_SB_".utf8), device)
    }

    /// The root bridge's resource template.
    static func pciResources() -> [UInt8] {
        let configPorts = UInt64(Layout.pciConfigAddressPort)
        let configEnd = UInt64(Layout.pciConfigDataPorts.upperBound)
        var r = AML.wordAddress(type: .bus, min: 0, max: 0xFF)
        r += [0x47, 1] + ACPIBytes.le(configPorts, 2) + ACPIBytes.le(configPorts, 2) + [1, UInt8(configEnd - configPorts + 1)]
        r += AML.wordAddress(type: .io, min: 0, max: configPorts - 1)
        r += AML.wordAddress(type: .io, min: configEnd + 1, max: 0xFFFF)
        let vgaWindow: ClosedRange<UInt64> = Layout.conventionalMemoryEnd...0xB_FFFF
        r += AML.dwordMemory(min: vgaWindow.lowerBound, max: vgaWindow.upperBound)
        r += AML.dwordMemory(min: Layout.memoryHoleStart, max: Layout.ioapicGPA - 1)
        return r + [0x79, 0]   // end tag, checksum 0 ("ignore")
    }
}

/// The few AML encodings the DSDT needs.
enum AML {
    static let zero: [UInt8] = [0x00]
    static func dword(_ v: UInt32) -> [UInt8] { [0x0C] + ACPIBytes.le(UInt64(v), 4) }

    /// PkgLength for `count` bytes that follow it (the encoding counts itself).
    static func packageLength(_ count: Int) -> [UInt8] {
        if count + 1 < 0x40 { return [UInt8(count + 1)] }
        let total = count + 2
        precondition(total < 0x1000, "AML package too long for a two-byte PkgLength")
        return [0x40 | UInt8(total & 0xF), UInt8(total >> 4)]
    }

    static func nameSeg(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        precondition(b.count == 4)
        return b
    }

    static func name(_ seg: String, _ value: [UInt8]) -> [UInt8] { [0x08] + nameSeg(seg) + value }

    static func scope(_ path: [UInt8], _ terms: [UInt8]) -> [UInt8] {
        [0x10] + packageLength(path.count + terms.count) + path + terms
    }

    static func device(_ seg: String, _ terms: [UInt8]) -> [UInt8] {
        [0x5B, 0x82] + packageLength(4 + terms.count) + nameSeg(seg) + terms
    }

    static func buffer(_ bytes: [UInt8]) -> [UInt8] {
        let size: [UInt8] = bytes.count < 0x100 ? [0x0A, UInt8(bytes.count)] : [0x0B] + ACPIBytes.le(UInt64(bytes.count), 2)
        return [0x11] + packageLength(size.count + bytes.count) + size + bytes
    }

    enum ResourceType: UInt8 { case memory = 0, io = 1, bus = 2 }

    /// A Word Address Space descriptor: producer, positive decode, fixed
    /// minimum and maximum; I/O ranges are "entire range".
    static func wordAddress(type: ResourceType, min: UInt64, max: UInt64) -> [UInt8] {
        let fixedMinMax: UInt8 = 0x0C, entireRange: UInt8 = 0x03
        var d: [UInt8] = [0x88, 0x0D, 0x00, type.rawValue, fixedMinMax, type == .io ? entireRange : 0]
        for v in [0, min, max, 0, max - min + 1] { d += ACPIBytes.le(v, 2) }
        return d
    }

    /// A DWord Memory descriptor: producer, positive decode, fixed minimum
    /// and maximum, cacheable, read/write.
    static func dwordMemory(min: UInt64, max: UInt64) -> [UInt8] {
        let fixedMinMax: UInt8 = 0x0C, cacheableReadWrite: UInt8 = 0x03
        var d: [UInt8] = [0x87, 0x17, 0x00, ResourceType.memory.rawValue, fixedMinMax, cacheableReadWrite]
        for v in [0, min, max, 0, max - min + 1] { d += ACPIBytes.le(v, 4) }
        return d
    }
}
