/// Every process exit status vmrr itself chooses, defined once (README,
/// "Commands"; docs/GUEST.md for the statuses a guest chooses).
public enum ExitStatus {
    /// A guest that halted with interrupts disabled and nothing armed.
    public static let halted: Int32 = 0
    /// `vmrr replay`: the journal replayed identically (every event, every
    /// register, and with `--verify` every memory digest), whatever status
    /// the recorded guest ended with (`--exit-with-guest-status` passes that on).
    public static let replayedIdentically: Int32 = 0
    /// `vmrr debug`: the command file could not be read, or (with `--batch`,
    /// or commands from a pipe) the last command failed, as gdb's batch mode.
    public static let commandFailed: Int32 = 1
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
    /// The command line could not be parsed (swift-argument-parser's EX_USAGE).
    public static let usage: Int32 = 64

    /// Every status vmrr exits with, for `vmrr --help` and the README (a test
    /// checks both list each one, and the fuzz run that no other appears).
    /// `record`, and `replay --exit-with-guest-status`, also pass on a
    /// status the guest chose (docs/GUEST.md): any value 0 to 255.
    public static let documented: [(status: Int32, meaning: String)] = [
        (0, "success: the guest ended with 0, or the replay matched"),
        (commandFailed, "debug: command file unreadable, or the last batch command failed"),
        (unusableInput, "an input could not be used (journal, bundle, image): one-line error"),
        (divergence, "replay diverged from the journal, or its watchdog saw no progress"),
        (verifyDigestOnly, "replay --verify: only a checkpoint's memory digest differs"),
        (usage, "the command line could not be parsed"),
        (shutdown, "record: triple fault; replay: interrupted by Ctrl-C"),
        (kvmError, "record: KVM could not run the guest"),
        (strict, "record: --strict stopped an access"),
        (interrupted, "record: stopped by SIGINT, SIGTERM, SIGQUIT, SIGHUP or SIGPIPE"),
        (reset, "record: the guest reset the machine"),
    ]

    /// `documented` as the lines of a help text, each under 80 columns.
    public static var helpText: String {
        documented.map { row in
            let n = "\(row.status)"
            return "  " + n + String(repeating: " ", count: 5 - n.count) + row.meaning
        }.joined(separator: "\n")
            + "\n  record, and replay --exit-with-guest-status, also pass on the status"
            + "\n  the guest chose (0 to 255, docs/GUEST.md)."
    }
}
