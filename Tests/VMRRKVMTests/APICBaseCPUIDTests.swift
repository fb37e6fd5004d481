import Testing
import VMRRJournal
@testable import VMRRKVM

/// What vmrr relies on for CPUID.1:EDX.APIC to follow IA32_APIC_BASE.EN
/// (issue 14): KVM recomputes the bit when a host-initiated KVM_SET_MSRS
/// changes the enable bit, with no in-kernel local APIC.
@Suite struct APICBaseCPUIDTests {
    static let apicBit: UInt32 = 1 << 9
    /// IA32_APIC_BASE, its reset value (0xFEE0_0000, BSP, enabled) and its enable bit (11).
    static let apicBaseMSR: UInt32 = 0x1B
    static let apicBaseReset: UInt64 = 0xFEE0_0900
    static let apicBaseEnable: UInt64 = 1 << 11

    func leaf1EDX(_ guest: TinyGuest) throws -> UInt32? {
        try guest.vcpu.getCPUID().first { $0.function == 1 }?.edx
    }

    @Test("clearing IA32_APIC_BASE.EN through KVM_SET_MSRS clears CPUID.1:EDX.APIC; setting it sets the bit again")
    func apicBitFollowsTheEnable() throws {
        let guest = try TinyGuest(code: Code.hlt)
        let edx = try #require(try leaf1EDX(guest))
        #expect(edx & Self.apicBit != 0, "KVM's table offers the APIC at first")
        let disabled = Self.apicBaseReset & ~Self.apicBaseEnable
        #expect(try guest.vcpu.setMSRs([MSREntry(index: Self.apicBaseMSR, value: disabled)]) == 1)
        #expect(try leaf1EDX(guest).map { $0 & Self.apicBit } == 0)
        #expect(try guest.vcpu.setMSRs([MSREntry(index: Self.apicBaseMSR, value: Self.apicBaseReset)]) == 1)
        #expect(try leaf1EDX(guest).map { $0 & Self.apicBit } == Self.apicBit)
    }
}
