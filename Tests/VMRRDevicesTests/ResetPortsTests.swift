import Testing
import VMRRBase
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// The keyboard controller's reset and the reset control register.
@Suite struct ResetPortsTests {
    @Test func resets() {
        let f = PlatformFixture(strict: false)
        #expect(f.read(0x64) == 0)                                          // input buffer empty
        #expect(f.write(0x64, 0xD1) == .proceed)
        #expect(f.write(0x64, 0xFE) == .end(.shutdown, status: 134, message: "reset requested: 0xfe written to port 0x64 (keyboard controller)"))
        #expect(f.write(0xCF9, 0x02) == .proceed)                           // no reset bit
        #expect(f.read(0xCF9) == 0x02)
        #expect(f.write(0xCF9, 0x06) == .end(.shutdown, status: ExitStatus.reset, message: "reset requested: 0x6 written to port 0xcf9 (reset control, bit 2)"))
    }

    /// Wider accesses at 0xCF9 are not the reset control register's: it declines them.
    @Test func resetControlDecodesOnlyBytes() {
        let r = ResetPorts()
        let port = UInt64(Layout.resetControlPort)
        #expect(r.write(access(port, base: port, size: 2, value: 0x0604)) == nil)
        #expect(r.read(access(port, base: port, size: 4)) == nil)
        #expect(r.read(access(port, base: port)) == .value(0))
    }
}
