import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// PCI configuration mechanism 1, with no device behind it.
@Suite struct PCIHostTests {
    @Test func pciHasNoDevices() {
        let f = PlatformFixture(strict: true)
        #expect(f.write(0xCF8, 0x8000_0000, size: 4) == .proceed)
        #expect(f.read(0xCF8, size: 4) == 0x8000_0000)
        #expect(f.read(0xCFC, size: 4) == 0xFFFF_FFFF)
        #expect(f.read(0xCFE, size: 2) == 0xFFFF)
        #expect(f.write(0xCFC, 0, size: 4) == .proceed)
        // 0xCF9 belongs to PCI for wider accesses and to reset control for bytes.
        #expect(f.read(0xCF9, size: 2) == 0xFFFF)
        #expect(f.read(0xCF9, size: 1) == 0)
    }

    @Test func onlyDwordAccessesReachConfigAddress() {
        let pci = PCIHost()
        let base = UInt64(Layout.pciConfigAddressPort)
        #expect(pci.write(access(base, base: base, size: 2, value: 0x8000)) == .handled)
        #expect(pci.read(access(base, base: base, size: 4)) == .value(0))
        #expect(pci.read(access(base, base: base, size: 2)) == .value(DeviceAccess.allOnes))
    }
}
