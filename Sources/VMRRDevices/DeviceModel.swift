import VMRRJournal

/// One device on a bus, in the manner of Firecracker's `BusDevice`: it is
/// mapped at one or more ranges of ports or guest-physical addresses, and
/// the bus hands it each access at an offset within the range that decoded
/// it. A device answers with the value a read returns, how the journal
/// records the access, and whether the run goes on. Devices are pure logic:
/// their state depends only on what the guest wrote and on the guest-clock
/// time of each access, both of which the journal determines. A replay
/// never consults them (it answers from the journal).
public protocol DeviceModel: AnyObject {
    /// A read of `access.size` bytes; nil when the device does not decode
    /// it (the bus then offers it to the next device mapped there, or the
    /// platform treats it as unknown).
    func read(_ access: DeviceAccess) -> DeviceAnswer?
    /// A write of `access.value`; nil when the device does not decode it.
    func write(_ access: DeviceAccess) -> DeviceAnswer?
}

/// A port or MMIO access as a device sees it.
public struct DeviceAccess: Equatable, Sendable {
    /// The first port or address of the range that decoded the access.
    public var base: UInt64
    /// Where the access falls within that range.
    public var offset: UInt64
    /// 1, 2, 4 or 8 bytes.
    public var size: UInt8
    /// The value written (writes only; 0 for reads), unmasked.
    public var value: UInt64
    /// Guest-clock time of the access, ns since boot.
    public var now: UInt64

    public init(base: UInt64, offset: UInt64, size: UInt8, value: UInt64 = 0, now: UInt64 = 0) {
        self.base = base; self.offset = offset; self.size = size; self.value = value; self.now = now
    }

    /// The port or guest-physical address accessed.
    public var address: UInt64 { base &+ offset }
    /// The port accessed (port buses only).
    public var port: UInt16 { UInt16(truncatingIfNeeded: address) }
    /// The written value cut to the access size.
    public var maskedValue: UInt64 { Self.mask(value, size: size) }
    /// The low byte of the written value.
    public var byte: UInt8 { UInt8(truncatingIfNeeded: value) }

    /// All ones of the access size: what an undecoded read returns.
    public static let allOnes: UInt64 = ~0

    /// `value` cut to `size` bytes.
    public static func mask(_ value: UInt64, size: UInt8) -> UInt64 {
        size >= 8 ? value : value & ((1 << (UInt64(size) * 8)) - 1)
    }
}

/// How the journal records an access that a device answered.
public enum AccessRecord: Equatable, Sendable {
    /// As the access itself: an `io` event for a port, `mmio` for memory.
    case access
    /// A byte of console input delivered through a receive register (`input`).
    case consoleInput(UInt8)
    /// A read of the paravirtual clock (`clock`).
    case clock(nanoseconds: UInt64)
    /// A write of the paravirtual timer's deadline (`timer`).
    case timer(deadline: UInt64)
}

/// A device's answer to one access.
public struct DeviceAnswer: Equatable, Sendable {
    /// What a read returns (the platform cuts it to the access size); 0 for writes.
    public var value: UInt64
    public var record: AccessRecord
    public var outcome: DeviceOutcome

    public init(value: UInt64 = 0, record: AccessRecord = .access, outcome: DeviceOutcome = .proceed) {
        self.value = value; self.record = record; self.outcome = outcome
    }

    /// A read answered with `value`.
    public static func value(_ value: UInt64) -> DeviceAnswer { DeviceAnswer(value: value) }
    /// A write taken, the run goes on.
    public static let handled = DeviceAnswer()
    /// A write that ends the run.
    public static func end(_ reason: EndReason, status: Int32, message: String?) -> DeviceAnswer {
        DeviceAnswer(outcome: .end(reason, status: status, message: message))
    }
}
