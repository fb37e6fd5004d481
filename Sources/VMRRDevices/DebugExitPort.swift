/// The vmrr protocol's debug-exit port, 0x501 (docs/GUEST.md, "Debug exit"):
/// a write of V (any width) ends the run with status `V & 0xFF`. It is
/// write-only: a read is an unknown access.
public final class DebugExitPort: DeviceModel {
    /// The low byte of the value is the status.
    static let statusMask: UInt64 = 0xFF

    public init() {}

    public func read(_ access: DeviceAccess) -> DeviceAnswer? { nil }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        .end(.debugExit, status: Int32(access.value & Self.statusMask), message: nil)
    }
}
