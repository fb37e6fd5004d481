/// The ACPI tables vmrr writes at boot for multiboot and Linux guests
/// (ACPI 6.0): an RSDP, RSDT and XSDT, an FADT with its FACS and DSDT, a
/// MADT, and an HPET table. They are built from an `ACPIPlatform` value,
/// deterministically (no dates, no host facts), so the same machine always
/// gets the same bytes; a device the platform lacks is absent from them.
/// docs/GUEST.md, section "ACPI", is the contract.

/// The devices the tables describe. Addresses, ports and wiring come from `Layout`.
public struct ACPIPlatform: Sendable, Equatable {
    /// The I/O APIC at `Layout.ioapicGPA` (MADT entry and interrupt source overrides).
    public var ioapic: Bool
    /// The HPET at `Layout.hpetGPA` (the HPET table).
    public var hpet: Bool
    /// The ACPI PM block at `Layout.acpiPMBase`: PM1a event and control, PM timer, the SCI.
    /// Without it the FADT says hardware-reduced ACPI.
    public var pmBlock: Bool
    /// The PCI host bridge at 00:00.0 (a PNP0A03 device in the DSDT; configuration mechanism 1, no MCFG).
    public var pciHostBridge: Bool
    /// The processors (local APICs, IDs 0 to `cpus` - 1) the MADT lists (`vmrr record --cpus`, docs/SMP.md).
    public var cpus: UInt8 = 1

    public init(ioapic: Bool, hpet: Bool, pmBlock: Bool, pciHostBridge: Bool) {
        self.ioapic = ioapic; self.hpet = hpet; self.pmBlock = pmBlock; self.pciHostBridge = pciHostBridge
    }

    /// Every device of issue 14's PC platform.
    public static let pc = ACPIPlatform(ioapic: true, hpet: true, pmBlock: true, pciHostBridge: true)
    /// Only the local APIC and the legacy ISA devices.
    public static let legacy = ACPIPlatform(ioapic: false, hpet: false, pmBlock: false, pciHostBridge: false)
}

/// The bytes of the tables and where each one lies.
public struct ACPITables: Sendable {
    /// Where `bytes` go: the RSDP's address, 16-byte aligned.
    public let base: UInt64
    public let bytes: [UInt8]
    /// Each table's signature ("RSD PTR " for the RSDP) and guest-physical address.
    public let addresses: [(signature: String, gpa: UInt64)]

    public var rsdp: UInt64 { base }
    /// The range the tables occupy.
    public var range: Range<UInt64> { base..<(base + UInt64(bytes.count)) }

    /// "VMRR  ": the OEM ID of every table and of the RSDP.
    public static let oemID = Array("VMRR  ".utf8)
    /// "VMRRPC  ": the OEM table ID of every table.
    public static let oemTableID = Array("VMRRPC  ".utf8)
    /// "VMRR": the creator ID.
    public static let creatorID = Array("VMRR".utf8)
    /// The size of a standard table header.
    public static let headerSize = 36
    /// The FADT's hypervisor vendor identity (ACPI 6.0): "vmrr" as a little-endian u64.
    public static let hypervisorVendor: UInt64 = 0x7272_6D76

    /// The size the tables take for `platform`, so that a place can be found for them.
    public static func size(platform: ACPIPlatform) -> UInt64 {
        UInt64(build(platform: platform, base: 0).bytes.count)
    }

    /// The tables for `platform`, laid out from `base` (16-byte aligned; the
    /// FACS is 64-byte aligned within).
    public static func build(platform: ACPIPlatform, base: UInt64) -> ACPITables {
        precondition(base % 16 == 0, "the RSDP is 16-byte aligned")
        var blob: [UInt8] = []
        var addresses: [(String, UInt64)] = []
        func place(_ signature: String, _ table: [UInt8], alignment: Int = 16) -> UInt64 {
            while (Int(base) + blob.count) % alignment != 0 { blob.append(0) }
            let at = base + UInt64(blob.count)
            blob += table
            addresses.append((signature, at))
            return at
        }
        // The RSDP comes first, filled in once the RSDT and XSDT are placed.
        _ = place("RSD PTR ", [UInt8](repeating: 0, count: rsdpSize))
        let facs = place("FACS", facsTable(), alignment: 64)
        let dsdt = place("DSDT", table("DSDT", revision: 2, body: ACPIDSDT.body(platform: platform)))
        let fadt = place("FACP", table("FACP", revision: 6, body: fadtBody(platform: platform, facs: facs, dsdt: dsdt)))
        let madt = place("APIC", table("APIC", revision: 1, body: madtBody(platform: platform)))
        var pointed = [fadt, madt]
        if platform.hpet { pointed.append(place("HPET", table("HPET", revision: 1, body: hpetBody()))) }
        let rsdt = place("RSDT", table("RSDT", revision: 1, body: pointed.flatMap { ACPIBytes.le(UInt64($0), 4) }))
        let xsdt = place("XSDT", table("XSDT", revision: 1, body: pointed.flatMap { ACPIBytes.le($0, 8) }))
        blob.replaceSubrange(0..<rsdpSize, with: rsdpBytes(rsdt: rsdt, xsdt: xsdt))
        return ACPITables(base: base, bytes: blob, addresses: addresses)
    }

    // MARK: Tables

    static let rsdpSize = 36

    /// RSDP revision 2: signature, checksum of the first 20 bytes, OEM ID,
    /// revision, RSDT address, length, XSDT address, extended checksum.
    static func rsdpBytes(rsdt: UInt64, xsdt: UInt64) -> [UInt8] {
        var b = Array("RSD PTR ".utf8) + [0] + oemID + [2] + ACPIBytes.le(rsdt, 4)
        b += ACPIBytes.le(UInt64(rsdpSize), 4) + ACPIBytes.le(xsdt, 8) + [0, 0, 0, 0]
        b[8] = ACPIBytes.checksum(b[0..<20])
        b[32] = ACPIBytes.checksum(b[0..<rsdpSize])
        return b
    }

    /// A table: the standard header (with its length and checksum) and `body`.
    static func table(_ signature: String, revision: UInt8, body: [UInt8]) -> [UInt8] {
        let length = UInt64(headerSize + body.count)
        var t = Array(signature.utf8) + ACPIBytes.le(length, 4) + [revision, 0] + oemID + oemTableID
        t += ACPIBytes.le(1, 4) + creatorID + ACPIBytes.le(1, 4) + body
        t[9] = ACPIBytes.checksum(t[...])
        return t
    }

    /// The FACS: 64 bytes, version 2, no waking vector, no global lock owner.
    static func facsTable() -> [UInt8] {
        var f = Array("FACS".utf8) + ACPIBytes.le(64, 4)
        f += [UInt8](repeating: 0, count: 24)   // hardware signature, waking vectors, global lock, flags
        f += ACPIBytes.le(0, 8) + [2]           // X waking vector, version 2
        f += [UInt8](repeating: 0, count: 64 - f.count)
        return f
    }

    /// MADT: the local APIC address and PC-AT compatibility (the 8259s are
    /// there), the one local APIC, then with an I/O APIC its entry and the
    /// interrupt source overrides (IRQ 0 -> GSI 2; the SCI, level/high, when
    /// there is a PM block), and the local APIC NMI on LINT1.
    static func madtBody(platform: ACPIPlatform) -> [UInt8] {
        let pcatCompat: UInt64 = 1
        var b = ACPIBytes.le(Layout.apicGPA, 4) + ACPIBytes.le(pcatCompat, 4)
        let enabled: UInt64 = 1
        for k in 0..<max(1, platform.cpus) {
            b += [0, 8, k, k] + ACPIBytes.le(enabled, 4)   // processor local APIC: UID k, APIC ID k
        }
        if platform.ioapic {
            b += [1, 12, Layout.ioapicID, 0] + ACPIBytes.le(Layout.ioapicGPA, 4) + ACPIBytes.le(UInt64(Layout.ioapicGSIBase), 4)
            let conforming: UInt64 = 0
            b += [2, 10, 0, UInt8(Layout.pitIRQ)] + ACPIBytes.le(UInt64(Layout.pitGSI), 4) + ACPIBytes.le(conforming, 2)
            if platform.pmBlock {
                b += [2, 10, 0, UInt8(Layout.sciIRQ)] + ACPIBytes.le(UInt64(Layout.sciGSI), 4) + ACPIBytes.le(UInt64(Layout.sciOverrideFlags), 2)
            }
        }
        let allProcessors: UInt8 = 0xFF, lint1: UInt8 = 1
        b += [4, 6, allProcessors] + ACPIBytes.le(0, 2) + [lint1]
        return b
    }

    /// HPET: the event timer block ID (from `Layout`'s vendor, comparator
    /// count, 64-bit counter, legacy replacement capable), its address in
    /// system memory, the sequence number, the minimum tick, no page protection.
    static func hpetBody() -> [UInt8] {
        let revision: UInt64 = 1, counter64: UInt64 = 1 << 13, legacyCapable: UInt64 = 1 << 15
        let id = UInt64(Layout.hpetVendorID) << 16 | legacyCapable | counter64 | UInt64(Layout.hpetTimerCount - 1) << 8 | revision
        return ACPIBytes.le(id, 4) + ACPIBytes.gas(space: .memory, bitWidth: 64, address: Layout.hpetGPA)
            + [Layout.hpetNumber] + ACPIBytes.le(UInt64(Layout.hpetMinimumTick), 2) + [0]
    }
}

/// Little-endian fields, checksums and generic address structures.
enum ACPIBytes {
    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// The byte that makes `bytes` (with it in place of a 0) sum to 0 mod 256.
    static func checksum<C: Collection>(_ bytes: C) -> UInt8 where C.Element == UInt8 {
        0 &- bytes.reduce(0, &+)
    }

    enum AddressSpace: UInt8 { case memory = 0, io = 1 }
    /// Access size field: byte 1, word 2, dword 3.
    static func gas(space: AddressSpace, bitWidth: UInt8, address: UInt64, accessSize: UInt8 = 0) -> [UInt8] {
        [space.rawValue, bitWidth, 0, accessSize] + le(address, 8)
    }
    static let emptyGAS = [UInt8](repeating: 0, count: 12)
}
