import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// QEMU's isa-debug-exit and the vmrr protocol's own debug-exit port.
@Suite struct ISADebugExitTests {
    @Test func isaDebugExitUsesQEMUsEncoding() {
        let f = PlatformFixture(strict: false)
        for port in Layout.isaDebugExitPorts {
            guard case let .end(reason, status, message) = f.write(port, 0) else { Issue.record("port \(port) did not end the run"); continue }
            #expect(reason == .debugExit && status == 1 && message?.contains("isa-debug-exit") == true)
        }
        #expect(f.write(0xF4, 3) == .end(.debugExit, status: 7, message: "isa-debug-exit: 0x3 written to port 0xf4, status (0x3 << 1) | 1 = 7 (low 8 bits)"))
        if case let .end(_, status, _) = f.write(0xF4, 0x1234, size: 2) { #expect(status == Int32((0x1234 << 1 | 1) & 0xFF)) }
        else { Issue.record("a 2-byte write did not end the run") }
        #expect(f.read(0xF4) == 0)
        // The vmrr protocol's debug-exit port still works as before.
        #expect(f.write(Layout.debugExitPort, 5) == .end(.debugExit, status: 5, message: nil))
    }

    @Test func onTheirOwn() {
        let isa = ISADebugExit()
        let a = DeviceAccess(base: 0xF4, offset: 2, size: 1, value: 0x1FF)
        #expect(isa.write(a)?.outcome == .end(.debugExit, status: 0xFF,
                                              message: "isa-debug-exit: 0xff written to port 0xf6, status (0xff << 1) | 1 = 255 (low 8 bits)"))
        #expect(isa.read(a) == .value(0))
        let port = DebugExitPort()
        #expect(port.write(DeviceAccess(base: 0x501, offset: 0, size: 4, value: 0x1_0203)) == .end(.debugExit, status: 3, message: nil))
        #expect(port.read(DeviceAccess(base: 0x501, offset: 0, size: 1)) == nil)    // write-only
    }

    /// A read of the write-only debug-exit port is an unknown access.
    @Test func readingTheDebugExitPortIsUnknown() {
        let f = PlatformFixture(strict: true)
        let (ev, v, outcome) = f.platform.portRead(port: Layout.debugExitPort, size: 1)
        #expect(ev == .io(port: Layout.debugExitPort, size: 1, direction: .read, value: 0xFF) && v == 0xFF)
        #expect(outcome == .end(.strict, status: 132, message: "read of unknown port 0x501 (size 1)"))
    }
}
