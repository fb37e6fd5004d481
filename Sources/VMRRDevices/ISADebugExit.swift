import VMRRBase
import VMRRGuest

/// QEMU's isa-debug-exit at 0xF4-0xF7, as the KVM unit tests configure it
/// (docs/GUEST.md, "PC devices"): a write of V, any width, ends the run with
/// status `((V << 1) | 1) & 0xFF`; reads return 0.
public final class ISADebugExit: DeviceModel {
    public init() {}

    public func read(_ access: DeviceAccess) -> DeviceAnswer? { .value(0) }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        let v = access.maskedValue
        let status = Int32(((v << 1) | 1) & 0xFF)
        return .end(.debugExit, status: status,
                    message: "isa-debug-exit: \(hex(v)) written to port \(hex(access.port)), status (\(hex(v)) << 1) | 1 = \(status) (low 8 bits)")
    }
}
