import VMRRBase
import VMRRGuest
import VMRRJournal

/// The two ways a PC guest resets the machine (docs/GUEST.md, "PC devices"),
/// both a warm reset through 40:67 when the CMOS shutdown byte asks for one
/// (`WarmReset`), otherwise ending the run with status 134 (`ExitStatus.reset`):
/// - the reset control register at 0xCF9, byte accesses only: a write with
///   bit 2 set resets, other values are stored and read back (wider
///   accesses belong to PCI's CONFIG_ADDRESS, `PCIHost`);
/// - the keyboard controller's command port 0x64: 0xFE resets, other
///   writes are ignored, and reads return 0 (input buffer empty, no data),
///   so `while (inb(0x64) & 2);` loops end.
/// Map it at 0x64 and at 0xCF9.
public final class ResetPorts: DeviceModel {
    /// The reset control register's last value (without the reset bit).
    private(set) var resetControl: UInt8 = 0
    /// Decides whether a reset is a warm one (nil: every reset ends the run).
    let reset: WarmReset?

    public init(reset: WarmReset? = nil) { self.reset = reset }

    /// A reset through this device: warm when the CMOS says so, else the end of the run.
    func resetOutcome(_ cause: String) -> DeviceOutcome {
        if let reset, reset.isWarm { return reset.outcome(cause: cause) }
        return .end(.shutdown, status: ExitStatus.reset, message: "reset requested: " + cause)
    }

    public func read(_ access: DeviceAccess) -> DeviceAnswer? {
        switch access.port {
        case Layout.resetControlPort: return access.size == 1 ? .value(UInt64(resetControl)) : nil
        default: return .value(0)   // the keyboard controller's status
        }
    }

    public func write(_ access: DeviceAccess) -> DeviceAnswer? {
        let v = access.byte
        switch access.port {
        case Layout.resetControlPort:
            guard access.size == 1 else { return nil }
            if v & Layout.resetControlCPUReset != 0 {
                return DeviceAnswer(outcome: resetOutcome("\(hex(v)) written to port 0xcf9 (reset control, bit 2)"))
            }
            resetControl = v
            return .handled
        default:
            if v == Layout.keyboardControllerReset {
                return DeviceAnswer(outcome: resetOutcome("0xfe written to port 0x64 (keyboard controller)"))
            }
            return .handled
        }
    }

    /// The reset control register.
    func saveState(_ s: inout DeviceStateWriter) { s.u8(resetControl) }
    func restoreState(_ r: inout DeviceStateReader) throws { resetControl = try r.u8() }
}
