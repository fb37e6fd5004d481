import VMRRGuest
import VMRRJournal

/// QEMU's pc-testdev (docs/GUEST.md, "PC devices"), the device the KVM unit
/// tests talk to: the scratch register at 0xE0-0xE3 (byte lanes of one
/// 32-bit value, readable back), the flush port 0xE4, and the IRQ lines at
/// 0x2000-0x2017 (a write of V to 0x2000 + n sets ISA IRQ n to V != 0).
/// Its 64 KiB of RAM-like MMIO is `PCTestDevMemory`. Map it at the three
/// port ranges.
public final class PCTestDev: DeviceModel {
    private(set) var scratch: UInt32 = 0
    /// Where the IRQ lines lead.
    let interrupts: InterruptController

    public init(interrupts: InterruptController) { self.interrupts = interrupts }

    /// The lanes an access at `port` of `size` bytes covers (QEMU's `test_ioport_*`).
    static func lanes(port: UInt16, size: UInt8) -> (shift: UInt64, mask: UInt64) {
        let shift = UInt64(port & 3) * 8
        let bits = UInt64(min(size, 4)) * 8
        let mask = (bits >= 64 ? ~UInt64(0) : (UInt64(1) << bits) - 1) << shift & 0xFFFF_FFFF
        return (shift, mask)
    }

    func scratchRead(port: UInt16, size: UInt8) -> UInt64 {
        let (shift, mask) = Self.lanes(port: port, size: size)
        return (UInt64(scratch) & mask) >> shift
    }

    func scratchWrite(port: UInt16, size: UInt8, value: UInt64) {
        let (shift, mask) = Self.lanes(port: port, size: size)
        scratch = UInt32(truncatingIfNeeded: (UInt64(scratch) & ~mask) | ((value << shift) & mask))
    }

    /// Scratch reads return the lanes; the flush port and the IRQ lines read 0.
    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        if Layout.testDevScratchPorts.contains(access.port) { return .value(scratchRead(port: access.port, size: access.size)) }
        return .value(0)
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        let port = access.port
        if Layout.testDevIRQPorts.contains(port) {
            interrupts.setIRQ(Int(port - Layout.testDevIRQPorts.lowerBound), access.maskedValue != 0)
        } else if Layout.testDevScratchPorts.contains(port) {
            scratchWrite(port: port, size: access.size, value: access.value)
        }
        return .handled   // the flush port: nothing to flush
    }
    /// The scratch register.
    func saveState(_ s: inout DeviceStateWriter) { s.u32(scratch) }
    func restoreState(_ r: inout DeviceStateReader) throws { scratch = try r.u32() }
}

/// pc-testdev's 64 KiB of RAM-like MMIO at 0xFF00_0000: reads return what
/// was written (0 initially), little-endian, 1 to 8 bytes; bytes past the
/// end of the area read as 0xFF. Every access is still an exit and an `mmio` event.
public final class PCTestDevMemory: DeviceModel {
    private(set) var memory = [UInt8](repeating: 0, count: Int(Layout.testDevMemorySize))

    public init() {}

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        let offset = Int(access.offset)
        var v: UInt64 = 0
        for i in (0..<Int(min(access.size, 8))).reversed() {
            let b = offset + i < memory.count ? memory[offset + i] : 0xFF
            v = v << 8 | UInt64(b)
        }
        return .value(v)
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        let offset = Int(access.offset)
        for i in 0..<Int(min(access.size, 8)) where offset + i < memory.count {
            memory[offset + i] = UInt8(truncatingIfNeeded: access.value >> (8 * UInt64(i)))
        }
        return .handled
    }

    /// Bytes per block of the memory's state: only blocks that are not all zero are stored.
    static let stateBlock = 256

    /// A u32 count of non-zero 256-byte blocks, then each as u32 block number and its bytes.
    func saveState(_ s: inout DeviceStateWriter) {
        let blocks = stride(from: 0, to: memory.count, by: Self.stateBlock).filter { b in
            memory[b..<(b + Self.stateBlock)].contains { $0 != 0 }
        }
        s.u32(UInt32(blocks.count))
        for b in blocks { s.u32(UInt32(b / Self.stateBlock)); s.bytes(Array(memory[b..<(b + Self.stateBlock)])) }
    }

    func restoreState(_ r: inout DeviceStateReader) throws {
        var m = [UInt8](repeating: 0, count: memory.count)
        let n = try r.u32()
        for _ in 0..<n {
            let b = Int(try r.u32()) * Self.stateBlock
            let bytes = try r.bytes(Self.stateBlock)
            guard b + Self.stateBlock <= m.count else {
                throw JournalError(path: "device state of pc-testdev memory", offset: nil, reason: "block at \(b) lies past 64 KiB")
            }
            m.replaceSubrange(b..<(b + Self.stateBlock), with: bytes)
        }
        memory = m
    }
}
