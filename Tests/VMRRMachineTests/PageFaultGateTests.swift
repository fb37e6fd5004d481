import Testing
@testable import VMRRMachine

/// The #PF trap reads IDT entry 14 at every exit as two words (no copy);
/// the handler address is the gate's offset bits 15:0, 31:16 and 63:32.
@Suite("PageFaultTrap gate decoding")
struct PageFaultGateTests {
    /// A 64-bit interrupt gate for `handler` (selector 0x08, type 0xE, present
    /// when asked), as its two little-endian words.
    static func gate(_ handler: UInt64, present: Bool = true) -> (UInt64, UInt64) {
        let attributes: UInt64 = (present ? 0x80 : 0) | 0x0E
        let low = (handler & 0xFFFF) | 0x08 << 16 | attributes << 40 | ((handler >> 16) & 0xFFFF) << 48
        return (low, handler >> 32)
    }

    @Test("a present gate gives its handler; the selector, IST and attributes do not leak in")
    func present() {
        for h: UInt64 in [0x0010_2030, 0xFFFF_FFFF_8123_4567, 0xFFFF, 0x1_0000, 0] {
            let (low, high) = Self.gate(h)
            #expect(PageFaultTrap.handler(gateLow: low | 0x7 << 32, gateHigh: high | 0xDEAD_BEEF << 32) == h)
        }
    }

    @Test("a gate that is not present gives no handler")
    func notPresent() {
        let (low, high) = Self.gate(0x0010_2030, present: false)
        #expect(PageFaultTrap.handler(gateLow: low, gateHigh: high) == nil)
    }
}
