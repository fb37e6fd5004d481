import Testing
import VMRRJournal
@testable import VMRRDevices

/// The bus: offsets within ranges, and overlapping mappings decoded in order.
@Suite struct DeviceBusTests {
    /// Records what it is handed; decodes only accesses of `width` bytes when set.
    final class Probe: DeviceModel {
        let answer: UInt64, width: UInt8?
        var seen: [DeviceAccess] = []
        init(answer: UInt64, width: UInt8? = nil) { self.answer = answer; self.width = width }
        func read(_ access: DeviceAccess) -> DeviceAnswer? {
            seen.append(access)
            return width.map { $0 == access.size } ?? true ? .value(answer) : nil
        }
        func write(_ access: DeviceAccess) -> DeviceAnswer? {
            seen.append(access)
            return width.map { $0 == access.size } ?? true ? .handled : nil
        }
    }

    @Test func accessesArriveAtTheirOffset() {
        var bus = DeviceBus()
        let a = Probe(answer: 1), b = Probe(answer: 2)
        bus.insert(a, at: 0x100, count: 8)
        bus.insert(b, ports: 0x200...0x201)
        #expect(bus.read(0x105, size: 2, now: 9) == .value(1))
        #expect(a.seen == [DeviceAccess(base: 0x100, offset: 5, size: 2, now: 9)])
        #expect(bus.write(0x201, size: 1, value: 0xAB, now: 3) == .handled)
        #expect(b.seen == [DeviceAccess(base: 0x200, offset: 1, size: 1, value: 0xAB, now: 3)])
        #expect(bus.read(0x108, size: 1, now: 0) == nil && bus.write(0x1FF, size: 1, value: 0, now: 0) == nil)
    }

    @Test func anOverlappingDeviceThatDeclinesPassesTheAccessOn() {
        var bus = DeviceBus()
        let narrow = Probe(answer: 0xAA, width: 1), wide = Probe(answer: 0xBBBB)
        bus.insert(narrow, at: 0xCF9, count: 1)
        bus.insert(wide, at: 0xCF8, count: 8)
        #expect(bus.read(0xCF9, size: 1, now: 0) == .value(0xAA) && wide.seen.isEmpty)
        #expect(bus.read(0xCF9, size: 2, now: 0) == .value(0xBBBB))
        #expect(wide.seen.map(\.offset) == [1] && narrow.seen.count == 2)
    }

    @Test func accessHelpers() {
        let a = DeviceAccess(base: 0x3F8, offset: 5, size: 2, value: 0x1_2345)
        #expect(a.address == 0x3FD && a.port == 0x3FD && a.maskedValue == 0x2345 && a.byte == 0x45)
        #expect(DeviceAccess.mask(DeviceAccess.allOnes, size: 4) == 0xFFFF_FFFF)
        #expect(DeviceAccess.mask(DeviceAccess.allOnes, size: 8) == ~0)
    }
}
