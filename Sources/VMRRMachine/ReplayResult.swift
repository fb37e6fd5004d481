import VMRRBase
import VMRRJournal
import VMRRReplay

/// How a `ReplaySession.run` ended, and what `vmrr replay` exits with: one
/// meaning per status (README, "Replay as a regression check in your CI").
public struct ReplayResult {
    public var end: RunEnd
    /// The first event where execution is not the recorded one.
    public var divergence: Divergence?
    /// The first checkpoint whose memory digest differs (`--verify`); the
    /// replay went on past it.
    public var digestMismatch: Divergence?
    /// The recorded guest's own end (its `end` record, with the guest's
    /// status), when the replay reached it identically; nil after `--until`,
    /// a journal cut short, an interruption or a divergence.
    public var guestEnd: RunEnd?
    /// The replay was stopped by a signal (Ctrl-C) before its end.
    public var interrupted: Bool
    /// The `--image` path when its SHA-256 differs from the recorded image's.
    public var foreignImage: String?
    public var startEvent: UInt64
    public var matched: UInt64
    /// The last event that replayed identically (nil when none did).
    public var lastEvent: UInt64?
    public var warnings: [String]
    public var verifiedDigest: Bool
    public var wallNanoseconds: UInt64

    /// The process exit status: 3 for a divergence, 130 (`replayInterrupted`)
    /// when stopped by Ctrl-C, 4 when only a `--verify` memory digest
    /// differs, else 0, or the recorded guest's own status when
    /// `passThroughGuestStatus` (`--exit-with-guest-status`) and the replay
    /// reached the guest's end.
    public func exitStatus(passThroughGuestStatus: Bool) -> Int32 {
        if divergence != nil { return ExitStatus.divergence }
        if interrupted { return ExitStatus.replayInterrupted }
        if digestMismatch != nil { return ExitStatus.verifyDigestOnly }
        if passThroughGuestStatus, let g = guestEnd { return g.status }
        return ExitStatus.replayedIdentically
    }

    /// Why the memory digest differs, when the replayed image explains it:
    /// the image's bytes are part of guest memory, so another build gives
    /// another digest even when it behaves the same. Nil otherwise.
    public var digestMismatchCause: String? {
        guard digestMismatch != nil, let path = foreignImage else { return nil }
        return "cause: --image \(path) is not the recorded image, and an image's bytes are part of guest memory, "
            + "so a different memory digest is expected; the events and registers tell whether behaviour changed"
    }
}
