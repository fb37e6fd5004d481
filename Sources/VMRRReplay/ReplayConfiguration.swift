import VMRRJournal

/// What a replay needs besides the journal: where the guest protocol puts
/// the console and the paravirtual clock and timer, how to name addresses in
/// reports, and whether to check memory digests. A plain value: a replayer
/// is made from it at any start event, as often as a timeline seeks.
public struct ReplayConfiguration: Sendable {
    /// The COM1 THR port, whose writes are console output.
    public var consolePort: UInt16
    /// The paravirtual clock's guest-physical address.
    public var clockAddress: UInt64
    /// The paravirtual timer's guest-physical address, when known: a `timer`
    /// event then matches only a write there.
    public var timerAddress: UInt64?
    /// Names an address for reports ("main+0x12"), when the image has symbols.
    public var symbolize: (@Sendable (UInt64) -> String?)?
    /// Check the memory digest at checkpoints that carry one (`--verify`).
    public var verifyMemory: Bool

    public init(consolePort: UInt16, clockAddress: UInt64, timerAddress: UInt64? = nil,
                symbolize: (@Sendable (UInt64) -> String?)? = nil, verifyMemory: Bool = false) {
        self.consolePort = consolePort
        self.clockAddress = clockAddress
        self.timerAddress = timerAddress
        self.symbolize = symbolize
        self.verifyMemory = verifyMemory
    }

    /// A replayer of `journal` that expects event `start` next.
    public func makeReplayer(journal: JournalReader, start: UInt64) -> Replayer {
        let r = Replayer(journal: journal, start: start, consolePort: consolePort, clockAddress: clockAddress,
                         timerAddress: timerAddress)
        r.symbolize = symbolize
        r.verifyMemory = verifyMemory
        return r
    }
}
