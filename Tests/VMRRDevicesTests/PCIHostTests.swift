import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// PCI configuration mechanism 1 with the i440FX-like host bridge at 00:00.0.
@Suite struct PCIHostTests {
    /// CONFIG_ADDRESS for bus 0, `device`, `function`, `register`, enabled.
    static func address(device: UInt32 = 0, function: UInt32 = 0, register: UInt32) -> UInt64 {
        UInt64(0x8000_0000 | device << 11 | function << 8 | register)
    }

    @Test func hostBridgeIdentity() {
        let f = PlatformFixture(strict: true)
        #expect(f.write(0xCF8, Self.address(register: 0), size: 4) == .proceed)
        #expect(f.read(0xCF8, size: 4) == 0x8000_0000)
        #expect(f.read(0xCFC, size: 4) == 0x1237_8086)                 // device, vendor
        #expect(f.read(0xCFE, size: 2) == 0x1237)                      // the upper word through its lane
        _ = f.write(0xCF8, Self.address(register: 8), size: 4)
        #expect(f.read(0xCFC, size: 4) == 0x0600_0002)                 // class 06/00/00, revision 2
        #expect(f.read(0xCFF, size: 1) == 0x06 && f.read(0xCFE, size: 1) == 0x00)
        _ = f.write(0xCF8, Self.address(register: 0xC), size: 4)
        #expect(f.read(0xCFE, size: 1) == 0x00)                        // header type 0, single function
        // 0xCF9 belongs to PCI for wider accesses and to reset control for bytes.
        #expect(f.read(0xCF9, size: 2) == 0xFFFF)
        #expect(f.read(0xCF9, size: 1) == 0)
    }

    @Test func absentDevicesReadAllOnes() {
        let f = PlatformFixture(strict: true)
        for (device, function) in [(1, 0), (31, 7), (0, 1)] as [(UInt32, UInt32)] {
            _ = f.write(0xCF8, Self.address(device: device, function: function, register: 0), size: 4)
            #expect(f.read(0xCFC, size: 4) == 0xFFFF_FFFF, "device \(device) function \(function)")
            #expect(f.write(0xCFC, 0, size: 4) == .proceed)
        }
        _ = f.write(0xCF8, 0x0001_0000 | 0x8000_0000, size: 4)         // bus 1
        #expect(f.read(0xCFC, size: 2) == 0xFFFF)
        _ = f.write(0xCF8, 0, size: 4)                                 // enable bit clear
        #expect(f.read(0xCFC, size: 4) == 0xFFFF_FFFF)
    }

    @Test func headerIsReadOnlyChipsetRegistersStore() {
        let f = PlatformFixture(strict: true)
        _ = f.write(0xCF8, Self.address(register: 0), size: 4)
        _ = f.write(0xCFC, 0xDEAD_BEEF, size: 4)
        #expect(f.read(0xCFC, size: 4) == 0x1237_8086)
        _ = f.write(0xCF8, Self.address(register: 4), size: 4)
        _ = f.write(0xCFC, 0xFFFF, size: 2)                            // command: only memory and bus master stick
        #expect(f.read(0xCFC, size: 2) == 0x0006)
        _ = f.write(0xCFC, 0, size: 2)
        #expect(f.read(0xCFC, size: 4) == 0x0280_0000)                 // status stays
        _ = f.write(0xCF8, Self.address(register: 0x58), size: 4)      // PAM registers
        _ = f.write(0xCFD, 0x33, size: 1)
        #expect(f.read(0xCFC, size: 4) == 0x0000_3300)
    }

    @Test func onlyDwordAccessesReachConfigAddress() {
        let pci = PCIHost()
        let base = UInt64(Layout.pciConfigAddressPort)
        #expect(pci.write(access(base, base: base, size: 2, value: 0x8000)) == .handled)
        #expect(pci.read(access(base, base: base, size: 4)) == .value(0))
        #expect(pci.read(access(base, base: base, size: 2)) == .value(DeviceAccess.allOnes))
        // Bits 1:0 of CONFIG_ADDRESS are reserved and read 0.
        _ = pci.write(access(base, base: base, size: 4, value: 0x8000_0003))
        #expect(pci.read(access(base, base: base, size: 4)) == .value(0x8000_0000))
    }
}
