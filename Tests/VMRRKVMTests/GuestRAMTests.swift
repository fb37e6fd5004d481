import Testing
@testable import VMRRKVM

/// Guest RAM's checked access by guest-physical address (no KVM needed).
@Suite("GuestRAM")
struct GuestRAMTests {
    /// Two ranges with a hole between them, as below and above a PCI hole.
    static let ranges: [Range<UInt64>] = [0..<0x2000, 0x1_0000..<0x1_1000]

    @Test("reads and writes inside one range; nothing across a range's end or in the hole")
    func bounds() throws {
        let ram = try GuestRAM(ranges: Self.ranges)
        #expect(ram.size == 0x3000)
        #expect(ram.write(0x1ffc, [1, 2, 3, 4]))
        #expect(ram.read(0x1ffc, count: 4) == [1, 2, 3, 4])
        #expect(ram.read32(0x1ffc) == 0x0403_0201)
        #expect(ram.read(0x1ffe, count: 4) == nil, "crosses the end of the first range")
        #expect(!ram.write(0x1fff, [0, 0]))
        #expect(ram.read(0x8000, count: 1) == nil && ram.hostAddress(of: 0x8000) == nil, "the hole")
        #expect(ram.write(0x1_0ff8, [0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]))
        #expect(ram.read64(0x1_0ff8) == 0x0123_4567_89ab_cdef)
        #expect(ram.read64(0x1_0ffc) == nil)
        #expect(ram.contains(0x2000, count: 0) && !ram.contains(0x2000, count: 1))
    }

    @Test("each range has its own host address, in one mapping; zeroAll clears RAM")
    func hostAddresses() throws {
        let ram = try GuestRAM(ranges: Self.ranges)
        #expect(ram.hostAddress(ofRange: 1) == ram.hostAddress(ofRange: 0) + 0x2000)
        #expect(ram.hostAddress(of: 0x1_0010) == ram.hostAddress(ofRange: 1) + 0x10)
        #expect(ram.write(0x10, [0xff]))
        ram.zeroAll()
        #expect(ram.read(0x10, count: 1) == [0])
    }

    @Test("an empty RAM is refused")
    func empty() {
        #expect(throws: KVMUnsupported.self) { _ = try GuestRAM(ranges: []) }
    }
}

/// The exit enum's pure parts.
@Suite("VMExit")
struct VMExitDecodingTests {
    @Test("emulation-failure bytes: flags word, then insn_size and up to 15 bytes")
    func emulationFailureBytes() {
        // flags = valid; insn_size 2, bytes 0f 0b.
        let data: [UInt64] = [1, 0x0b0f_02, 0]
        #expect(VMExit.emulationFailureBytes(data) == [0x0f, 0x0b])
        #expect(VMExit.emulationFailureBytes([0, 0x0b0f_02, 0]).isEmpty, "bytes not valid")
        #expect(VMExit.emulationFailureBytes([1]).isEmpty, "too short")
    }

    @Test("names")
    func names() {
        #expect(VMExit.msr(index: 0x10, direction: .write, value: 0, reason: 0).name == "wrmsr")
        #expect(VMExit.unsupported(reason: 99).name == "unsupported exit reason 99")
        #expect(VMExit.hlt.name == "hlt" && VMExit.shutdown.name == "shutdown")
    }
}
