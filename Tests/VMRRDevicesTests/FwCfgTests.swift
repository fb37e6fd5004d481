import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// fw_cfg's traditional interface.
@Suite struct FwCfgTests {
    @Test func fwCfg() {
        let f = PlatformFixture(strict: false, memory: 256 << 20)
        func item(_ key: UInt16, _ n: Int) -> [UInt8] {
            #expect(f.write(0x510, UInt64(key), size: 2) == .proceed)
            return (0..<n).map { _ in UInt8(f.read(0x511)) }
        }
        #expect(item(0x00, 5) == Array("QEMU".utf8) + [0])                 // past the end: 0
        #expect(item(0x05, 2) == [1, 0])                                   // one vCPU
        #expect(item(0x0F, 2) == [1, 0])
        #expect(item(0x01, 4) == [1, 0, 0, 0])                             // traditional interface, no DMA
        #expect(item(0x03, 8) == [0, 0, 0, 0x10, 0, 0, 0, 0])              // 256 MiB
        let cmdline = Array("console=ttyS0 quiet".utf8) + [0]
        #expect(item(0x14, 4) == [UInt8(cmdline.count), 0, 0, 0])
        #expect(item(0x15, cmdline.count) == cmdline)
        #expect(item(0x19, 4) == [0, 0, 0, 0])                             // absent key
        // Selecting again restarts the item; a wide read packs bytes first-most-significant, as QEMU does.
        _ = f.write(0x510, 0, size: 2)
        #expect(f.read(0x511, size: 2) == 0x5145)                          // "QE"
        #expect(f.read(0x511, size: 1) == UInt64(UInt8(ascii: "M")))
    }

    @Test func selectorReadsAllOnesAndDataWritesAreIgnored() {
        let fw = FwCfg(config: PCDeviceConfig(commandLine: "x"))
        let base = UInt64(Layout.fwCfgSelectorPort)
        #expect(fw.read(access(base, base: base, size: 2)) == .value(DeviceAccess.allOnes))
        #expect(fw.write(access(base, base: base, size: 2, value: UInt64(Layout.FwCfgKey.commandLineData))) == .handled)
        #expect(fw.write(access(base + 1, base: base, value: 0x55)) == .handled)
        #expect(fw.read(access(base + 1, base: base, size: 4))?.value == 0x7800_0000)   // "x", NUL, then past the end
    }
}
