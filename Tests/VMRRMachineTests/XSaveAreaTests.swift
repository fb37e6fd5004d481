import Testing
import VMRRJournal
import VMRRMachine

/// The XSAVE header normalization on synthetic areas (no KVM), and a
/// checkpoint's vCPU state restored through KVM_SET_XSAVE (requires /dev/kvm).
@Suite struct XSaveAreaTests {
    static let avx = XSaveArea.Component(number: 2, offset: 576, size: 256)
    static let mxcsrOffset = 24, xmm0Offset = 160, st0Offset = 32

    /// A 4 KiB standard-format area in the initial configuration (FCW 0x037f,
    /// MXCSR 0x1f80, everything else zero) with XSTATE_BV = `bv`.
    static func area(bv: UInt64) -> [UInt8] {
        var a = [UInt8](repeating: 0, count: 4096)
        a[0] = 0x7f; a[1] = 0x03
        a[mxcsrOffset] = 0x80; a[mxcsrOffset + 1] = 0x1f
        store(&a, XSaveArea.xstateBVOffset, bv)
        return a
    }

    static func store(_ a: inout [UInt8], _ offset: Int, _ v: UInt64) {
        for i in 0..<8 { a[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    }

    static func bv(_ a: [UInt8]) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(a[XSaveArea.xstateBVOffset + $1]) << (8 * UInt64($1)) }
    }

    @Test func equalContentsGiveEqualBytesWhateverXSTATEBVSaid() {
        let forms = [0, 1, 2, 3, 4, 7].map { XSaveArea.normalize(Self.area(bv: $0), components: [Self.avx]) }
        #expect(Set(forms).count == 1)
        #expect(Self.bv(forms[0]) == 0)
    }

    @Test func restorableDropsOnlyComponentsTheGuestCannotEnable() {
        let pkru: UInt64 = 1 << 9
        var a = Self.area(bv: 3 | pkru)
        a[Self.xmm0Offset] = 5
        let r = XSaveArea.restorable(a, permitted: 0x7)
        #expect(Self.bv(r) == 3, "PKRU is not permitted; x87 and SSE stay")
        #expect(Array(r[0..<XSaveArea.xstateBVOffset]) == Array(a[0..<XSaveArea.xstateBVOffset]), "register contents unchanged")
        #expect(XSaveArea.restorable(a, permitted: 0x207) == a, "a permitted area is returned as it was")
        var compacted = a
        Self.store(&compacted, XSaveArea.xcompBVOffset, XSaveArea.compactedFormat | 3)
        #expect(XSaveArea.restorable(compacted, permitted: 0x7) == compacted)
        let leaf = CPUIDEntry(function: 0xD, index: 0, flags: 0, eax: 0x207, ebx: 0, ecx: 0, edx: 0)
        #expect(XSaveArea.permittedFeatures(cpuid: [leaf]) == 0x207)
        #expect(XSaveArea.permittedFeatures(cpuid: []) == nil)
    }

    @Test func componentsInUseKeepTheirBits() {
        var a = Self.area(bv: 7)
        a[Self.xmm0Offset + 3] = 1
        a[Self.avx.offset + Self.avx.size - 1] = 0x80
        #expect(Self.bv(XSaveArea.normalize(a, components: [Self.avx])) == 6, "x87 is initial; SSE and AVX are not")
        var x87 = Self.area(bv: 1)
        x87[Self.st0Offset] = 1
        #expect(Self.bv(XSaveArea.normalize(x87, components: [])) == 1)
        var fcw = Self.area(bv: 1)
        fcw[0] = 0x7e
        #expect(Self.bv(XSaveArea.normalize(fcw, components: [])) == 1, "a changed control word is not the initial state")
        var mxcsr = Self.area(bv: 2)
        mxcsr[Self.mxcsrOffset] = 0
        #expect(Self.bv(XSaveArea.normalize(mxcsr, components: [])) == 0, "MXCSR is not part of SSE's initial-state check")
        #expect(XSaveArea.normalize(mxcsr, components: [])[Self.mxcsrOffset] == 0, "and is kept")
    }

    @Test func compactedShortAndUnknownAreasAreLeftAlone() {
        var compacted = Self.area(bv: 2)
        Self.store(&compacted, XSaveArea.xcompBVOffset, XSaveArea.compactedFormat | 3)
        #expect(XSaveArea.normalize(compacted, components: []) == compacted)
        let short = [UInt8](repeating: 0, count: 100)
        #expect(XSaveArea.normalize(short, components: []) == short)
        let outside = XSaveArea.Component(number: 5, offset: 4000, size: 512)
        #expect(Self.bv(XSaveArea.normalize(Self.area(bv: 1 << 5), components: [outside])) == 1 << 5)
    }

    @Test func componentsComeFromCPUIDLeafD() {
        func e(_ index: UInt32, _ eax: UInt32, _ ebx: UInt32, _ ecx: UInt32 = 0) -> CPUIDEntry {
            CPUIDEntry(function: 0xd, index: index, flags: 1, eax: eax, ebx: ebx, ecx: ecx, edx: 0)
        }
        let cpuid = [e(0, 0xe7, 0x980, 0x980), e(1, 0, 0), e(7, 0x400, 0x580), e(2, 0x100, 0x240),
                     e(5, 0x40, 0x340), e(11, 0x10, 0, 1),
                     CPUIDEntry(function: 1, index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 0)]
        #expect(XSaveArea.components(cpuid: cpuid) == [
            .init(number: 2, offset: 0x240, size: 0x100), .init(number: 5, offset: 0x340, size: 0x40),
            .init(number: 7, offset: 0x580, size: 0x400),
        ])
    }

    /// The normalized area goes back through KVM_SET_XSAVE, and the state
    /// read again is the same bytes.
    @Test(.enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
    func aNormalizedStateRestoresToItself() throws {
        let machine = try Machine(memorySize: 16 << 20)
        var state = try machine.captureState()
        var xsave = try #require(state.blobs["xsave"])
        Self.store(&xsave, XSaveArea.xstateBVOffset, Self.bv(xsave) | 2)   // SSE "in use" with zero registers
        state.blobs["xsave"] = xsave
        try machine.restoreState(state)
        let again = try machine.captureState()
        #expect(Self.bv(try #require(again.blobs["xsave"])) & 2 == 0)
        let other = try Machine(memorySize: 16 << 20)
        try other.restoreState(again)
        #expect(try other.captureState() == again)
    }
}
