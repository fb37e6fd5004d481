import Testing
import VMRRJournal
import VMRRMMU

/// The decoding width from CR0.PE, EFER.LMA, CS.L and CS.D.
struct CPUModeTests {
    static func sregs(pe: Bool, lma: Bool, l: Bool, d: Bool) -> SpecialRegisters {
        var s = SpecialRegisters()
        s.cr0 = pe ? 1 : 0
        s.efer = lma ? 1 << 10 | 1 << 8 : 0
        s.cs.l = l
        s.cs.db = d
        return s
    }

    @Test(arguments: [
        (false, false, false, false, CPUMode.real, 16),
        (true, false, false, false, .protected16, 16),
        (true, false, false, true, .protected32, 32),
        (true, true, true, false, .long64, 64),
        (true, true, false, true, .compatibility32, 32),
        (true, true, false, false, .compatibility16, 16),
    ])
    func modes(pe: Bool, lma: Bool, l: Bool, d: Bool, mode: CPUMode, bits: Int) {
        let m = CPUMode(Self.sregs(pe: pe, lma: lma, l: l, d: d))
        #expect(m == mode)
        #expect(m.bits == bits)
    }
}
