import VMRRJournal

/// Which writes to COM1's THR port are console output: not those made with
/// the divisor latch selected (LCR.DLAB: they set the baud-rate divisor), and
/// not those made in loopback mode (MCR.LOOP: they come back as input). The
/// recorder's 16550 model decides the same way; a replay follows LCR and MCR
/// writes in the journal to reproduce its console output exactly.
/// A replay that starts at a checkpoint takes the two registers from the
/// checkpoint's device state (docs/JOURNAL.md, "Checkpoint device state").
public struct ConsoleFilter: Equatable, Sendable {
    public var lcr: UInt8 = 0
    public var mcr: UInt8 = 0
    public let thrPort: UInt16

    /// LCR bit 7 and MCR bit 4.
    public static let divisorLatch: UInt8 = 1 << 7
    public static let loopback: UInt8 = 1 << 4
    /// Register offsets from THR.
    static let lcrOffset: UInt16 = 3, mcrOffset: UInt16 = 4

    /// Starts with LCR and MCR from a checkpoint's device state bytes
    /// (`DeviceState`; both clear when the state predates them).
    public init(thrPort: UInt16, deviceState: [UInt8] = []) {
        self.init(thrPort: thrPort, state: DeviceState(decoding: deviceState))
    }

    public init(thrPort: UInt16, state: DeviceState) {
        self.thrPort = thrPort
        lcr = state.uartLCR
        mcr = state.uartMCR
    }

    /// The console byte an accepted event produced, if any; follows LCR and MCR writes.
    public mutating func observe(_ event: Event) -> UInt8? {
        guard case let .io(port, _, .write, value) = event else { return nil }
        let byte = UInt8(truncatingIfNeeded: value)
        switch port {
        case thrPort:
            return lcr & Self.divisorLatch == 0 && mcr & Self.loopback == 0 ? byte : nil
        case thrPort &+ Self.lcrOffset: lcr = byte
        case thrPort &+ Self.mcrOffset: mcr = byte
        default: break
        }
        return nil
    }
}
