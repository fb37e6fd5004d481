import VMRRGuest
import VMRRJournal
import VMRRReplay

/// MSR accesses that reach userspace (docs/GUEST.md, "MSRs"): KVM refused
/// them, or the filter sends them here because vmrr models them.
extension DeviceModel {
    /// The MSRs whose accesses the KVM filter sends to userspace, so that
    /// vmrr's model answers them and the journal holds every answer.
    public static let filteredMSRs: [ClosedRange<UInt32>] = [
        Layout.MSR.apicBase...Layout.MSR.apicBase,
        Layout.MSR.x2apicFirst...Layout.MSR.x2apicLast,
    ]

    /// The answer to an MSR access: IA32_APIC_BASE and the x2APIC registers
    /// from the local APIC model (#GP where the SDM says so); every other MSR
    /// that reaches userspace raises #GP(0), as on a CPU without it.
    public func answerMSR(index: UInt32, direction: IODirection, value: UInt64) -> MSRAnswer {
        let apic = pc.apic
        switch (index, direction) {
        case (Layout.MSR.apicBase, .read):
            return MSRAnswer(value: apic.apicBaseRead(), fault: false)
        case (Layout.MSR.apicBase, .write):
            return MSRAnswer(value: 0, fault: !apic.apicBaseWrite(value))
        case (Layout.MSR.x2apicFirst...Layout.MSR.x2apicLast, .read):
            return apic.x2apicRead(msr: index).map { MSRAnswer(value: $0, fault: false) } ?? MSRAnswer(value: 0, fault: true)
        case (Layout.MSR.x2apicFirst...Layout.MSR.x2apicLast, .write):
            return MSRAnswer(value: 0, fault: !apic.x2apicWrite(msr: index, value: value))
        default:
            return MSRAnswer(value: 0, fault: true)
        }
    }
}
