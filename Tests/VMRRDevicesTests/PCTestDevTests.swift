import Testing
import VMRRGuest
import VMRRJournal
@testable import VMRRDevices

/// QEMU's pc-testdev: scratch lanes, the flush port, IRQ lines and RAM-like MMIO.
@Suite struct PCTestDevTests {
    @Test func testDevScratchAndMemory() {
        let f = PlatformFixture(strict: false)
        #expect(f.write(0xE0, 0x1234_5678, size: 4) == .proceed)
        #expect(f.read(0xE0, size: 4) == 0x1234_5678)
        #expect(f.read(0xE0) == 0x78 && f.read(0xE1) == 0x56 && f.read(0xE2) == 0x34 && f.read(0xE3) == 0x12)
        #expect(f.read(0xE2, size: 2) == 0x1234)
        _ = f.write(0xE1, 0xAB)
        #expect(f.read(0xE0, size: 4) == 0x1234_AB78)
        #expect(f.write(0xE4, 0x40_0000, size: 4) == .proceed)             // flush port
        // RAM-like MMIO: every access is an exit and an mmio event.
        let d = f.platform
        let base = Layout.testDevMemoryGPA
        let (w, wo) = d.mmioWrite(gpa: base + 8, size: 8, value: 0x0123_4567_89AB_CDEF)
        #expect(w == .mmio(gpa: base + 8, size: 8, direction: .write, value: 0x0123_4567_89AB_CDEF) && wo == .proceed)
        let (r, v, _) = d.mmioRead(gpa: base + 8, size: 4)
        #expect(v == 0x89AB_CDEF && r == .mmio(gpa: base + 8, size: 4, direction: .read, value: 0x89AB_CDEF))
        #expect(d.mmioRead(gpa: base + 12, size: 2).1 == 0x4567)
        #expect(d.mmioRead(gpa: base + 0xFFFF, size: 1).1 == 0)
        // Past the area: unbacked memory.
        if case .stage2Fault = d.mmioRead(gpa: base + Layout.testDevMemorySize, size: 1).0 {} else {
            Issue.record("0xff010000 should be unbacked")
        }
    }

    @Test func irqLinesFollowTheValueWritten() {
        let lines = LineRecorder()
        let dev = PCTestDev(interrupts: lines)
        let base = UInt64(Layout.testDevIRQPorts.lowerBound)
        _ = dev.write(access(base + 5, base: base, value: 1))
        _ = dev.write(access(base + 10, base: base, size: 2, value: 0x1_0000))    // masked to 16 bits: 0
        #expect(lines.level(5) && !lines.level(10))
        #expect(lines.changes.map(\.irq) == [5, 10])
        #expect(dev.read(access(base + 5, base: base)) == .value(0))
    }

    @Test func memoryPastTheEndReadsOnes() {
        let mem = PCTestDevMemory()
        let last = Layout.testDevMemorySize - 2
        _ = mem.write(DeviceAccess(base: Layout.testDevMemoryGPA, offset: last, size: 4, value: 0xAABB_CCDD))
        #expect(mem.read(DeviceAccess(base: Layout.testDevMemoryGPA, offset: last, size: 4))?.value == 0xFFFF_CCDD)
    }
}
