import Testing
@testable import VMRRDebugger

/// The x87 and SSE registers from an FXSAVE/XSAVE legacy region, built by hand (Intel SDM vol. 1, table 10-2).
struct LegacyFPStateTests {
    @Test func decodesTheLegacyRegion() throws {
        var b = [UInt8](repeating: 0, count: 4096)
        b[0] = 0x7f; b[1] = 0x03                     // FCW 0x37f
        b[2] = 0x00; b[3] = 0x38                     // FSW: TOP = 7
        b[4] = 0x80                                  // physical register 7 in use
        b[24] = 0x80; b[25] = 0x1f                   // MXCSR 0x1f80
        // ST0 (physical 7, as TOP is 7) = 1.0: significand 0x8000000000000000, exponent 0x3fff.
        b[32 + 7] = 0x80; b[32 + 8] = 0xff; b[32 + 9] = 0x3f
        // XMM1 = 0x...0102
        b[160 + 16] = 0x02; b[160 + 17] = 0x01
        let s = try #require(LegacyFPState(xsave: b))
        #expect(s.fcw == 0x37f)
        #expect(s.mxcsr == 0x1f80)
        #expect(LegacyFPState.value(s.st[0]) == "1.0")
        // Physical 7 valid (00), the rest empty (11).
        #expect(s.tagWord == 0x3fff)
        #expect(s.xmm[1].prefix(2) == [0x02, 0x01])
        #expect(LegacyFPState(xsave: [UInt8](repeating: 0, count: 100)) == nil)
    }

    @Test func classifiesTags() {
        #expect(LegacyFPState.classify([UInt8](repeating: 0, count: 10)) == 1, "zero")
        #expect(LegacyFPState.classify([0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f]) == 0, "valid")
        #expect(LegacyFPState.classify([0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0x7f]) == 2, "NaN is special")
        #expect(LegacyFPState.classify([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]) == 2, "denormal is special")
    }
}
