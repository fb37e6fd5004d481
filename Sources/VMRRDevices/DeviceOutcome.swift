import VMRRJournal

/// What an access asks of the run loop after it has been journaled.
public enum DeviceOutcome: Equatable, Sendable {
    case proceed
    /// End the run (debug-exit, reset, `--strict`).
    case end(EndReason, status: Int32, message: String?)
}
