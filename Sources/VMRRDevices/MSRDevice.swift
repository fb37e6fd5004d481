/// A device that answers model-specific registers (the local APIC): the
/// MSR accesses KVM's filter sends to userspace (docs/GUEST.md, "MSRs").
public protocol MSRDevice: AnyObject {
    /// An RDMSR at guest-clock time `now`: the value, or nil for #GP(0).
    func readMSR(_ index: UInt32, now: UInt64) -> UInt64?
    /// A WRMSR at guest-clock time `now`: false for #GP(0).
    func writeMSR(_ index: UInt32, value: UInt64, now: UInt64) -> Bool
}

/// The answer to an MSR access.
public struct MSRResult: Equatable, Sendable {
    /// The value an RDMSR returns (0 for writes and faults).
    public var value: UInt64
    /// Raise #GP(0) instead of completing the access.
    public var fault: Bool
    /// What the access asks of the run (an x2APIC INIT IPI's warm reset ends it).
    public var outcome: DeviceOutcome
    public init(value: UInt64, fault: Bool, outcome: DeviceOutcome = .proceed) {
        self.value = value; self.fault = fault; self.outcome = outcome
    }
    public static let generalProtection = MSRResult(value: 0, fault: true)
}
