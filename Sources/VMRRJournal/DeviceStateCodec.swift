/// A checkpoint's device state (docs/JOURNAL.md, "Checkpoint device state"):
/// what the recorder's devices hold that a replay or a report may need. The
/// recorder writes it (`PCPlatform.deviceState` in VMRRDevices) and the replay's
/// `ConsoleFilter` reads it back; both go through this one codec.
///
/// On disk, little-endian, in this order:
///
///     u64 timer deadline (0 = disarmed) | u64 EOT delivered (1 or 0) |
///     u64 guest clock, ns | u8 COM1 LCR | u8 COM1 MCR
///
/// Format-1 journals hold only the first 24 bytes. Decoding never fails: a
/// field the bytes do not hold keeps its default (disarmed, not delivered,
/// 0), and the UART registers are read only when both are present. Bytes
/// past the known fields are ignored.
public struct DeviceState: Equatable, Sendable {
    /// The paravirtual timer's deadline in guest-clock ns, nil when disarmed.
    public var timerDeadline: UInt64?
    /// Whether the EOT byte that marks the end of console input has been delivered.
    public var deliveredEOT: Bool
    /// The guest clock, ns since boot.
    public var clock: UInt64
    /// COM1's line control register (format 2 on).
    public var uartLCR: UInt8
    /// COM1's modem control register (format 2 on).
    public var uartMCR: UInt8

    /// The encoded length of each form.
    public static let formatOneSize = 24
    public static let size = 26

    public init(timerDeadline: UInt64? = nil, deliveredEOT: Bool = false, clock: UInt64 = 0,
                uartLCR: UInt8 = 0, uartMCR: UInt8 = 0) {
        self.timerDeadline = timerDeadline; self.deliveredEOT = deliveredEOT; self.clock = clock
        self.uartLCR = uartLCR; self.uartMCR = uartMCR
    }

    /// The bytes a checkpoint stores (always the current, 26-byte form).
    public func encoded() -> [UInt8] {
        var s = ByteSink()
        s.u64(timerDeadline ?? 0)
        s.u64(deliveredEOT ? 1 : 0)
        s.u64(clock)
        s.u8(uartLCR)
        s.u8(uartMCR)
        return s.bytes
    }

    /// Decodes any length a journal may hold (see the type's comment).
    public init(decoding bytes: [UInt8]) {
        self.init()
        // Each field is read only when every field before it was there.
        var r = ByteReader(bytes, name: "device state")
        guard let deadline = try? r.u64("timer deadline") else { return }
        timerDeadline = deadline == 0 ? nil : deadline
        guard let eot = try? r.u64("EOT flag") else { return }
        deliveredEOT = eot != 0
        guard let ns = try? r.u64("clock") else { return }
        clock = ns
        guard r.remaining >= 2, let lcr = try? r.u8("LCR"), let mcr = try? r.u8("MCR") else { return }
        uartLCR = lcr; uartMCR = mcr
    }
}
