/// A device that answers model-specific registers (the local APIC): the
/// MSR accesses KVM's filter sends to userspace (docs/GUEST.md, "MSRs").
public protocol MSRDevice: AnyObject {
    /// An RDMSR: the value, or nil for #GP(0).
    func readMSR(_ index: UInt32) -> UInt64?
    /// A WRMSR: false for #GP(0).
    func writeMSR(_ index: UInt32, value: UInt64) -> Bool
}

/// The answer to an MSR access.
public struct MSRResult: Equatable, Sendable {
    /// The value an RDMSR returns (0 for writes and faults).
    public var value: UInt64
    /// Raise #GP(0) instead of completing the access.
    public var fault: Bool
    public init(value: UInt64, fault: Bool) { self.value = value; self.fault = fault }
    public static let generalProtection = MSRResult(value: 0, fault: true)
}
