import VMRRJournal

/// What an access asks of the run loop after it has been journaled.
public enum DeviceOutcome: Equatable, Sendable {
    case proceed
    /// End the run (debug-exit, cold reset, `--strict`).
    case end(EndReason, status: Int32, message: String?)
    /// A reset with CMOS shutdown code 0x05 or 0x0A (`WarmReset`): the vCPU
    /// re-enters real mode at the far pointer at 0x467 before it runs on.
    case warmReset
}
