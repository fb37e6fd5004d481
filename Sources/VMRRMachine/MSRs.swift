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

    /// The answer to an MSR access: every MSR that reaches userspace and no
    /// model claims raises #GP(0), as on a CPU without it.
    public func answerMSR(index: UInt32, direction: IODirection, value: UInt64) -> MSRAnswer {
        MSRAnswer(value: 0, fault: true)
    }
}
