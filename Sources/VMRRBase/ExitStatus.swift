/// Every process exit status vmrr itself chooses, defined once (README,
/// "Commands"; docs/GUEST.md for the statuses a guest chooses).
public enum ExitStatus {
    /// A guest that halted with interrupts disabled and nothing armed.
    public static let halted: Int32 = 0
    /// `vmrr replay`: the journal replayed identically (every event, every
    /// register, and with `--verify` every memory digest), whatever status
    /// the recorded guest ended with (`--exit-with-guest-status` passes that on).
    public static let replayedIdentically: Int32 = 0
    /// The journal or image could not be used.
    public static let unusableInput: Int32 = 2
    /// Replay diverged from the journal.
    public static let divergence: Int32 = 3
    /// `vmrr replay --verify`: every event and register matched, but a
    /// checkpoint's memory digest differs from the recorded one.
    public static let verifyDigestOnly: Int32 = 4
    /// A run that ended in a triple fault (KVM_EXIT_SHUTDOWN).
    public static let shutdown: Int32 = 130
    /// KVM reported an error exit (emulation failure, entry failure).
    public static let kvmError: Int32 = 131
    /// `--strict` stopped an unknown access.
    public static let strict: Int32 = 132
    /// The recorder or replayer was interrupted by a signal.
    public static let interrupted: Int32 = 133
    /// A replay stopped by Ctrl-C: 128 + SIGINT, as shells report it.
    public static let replayInterrupted: Int32 = 130
    /// The guest reset the machine (0xFE to port 0x64, or port 0xCF9 with bit 2).
    public static let reset: Int32 = 134
}
