import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

/// A divergence traced to the instruction. When another build of the guest
/// diverges from a journal, two VMs replay the journal side by side: one
/// with the recorded image, one with the new build. Both run to the last
/// event that matched, then single-step in lockstep, comparing after every
/// instruction what it wrote: the general registers, and the bytes of every
/// page either VM dirtied. The first instruction whose effect differs is the
/// cause the exit-level report only hints at.
///
/// Memory: the two images differ from the start (that is the point), so
/// pages are compared against how they already differed when lockstep began
/// (`baseline`): an instruction's memory effect differs when the set of
/// differing bytes on a page it (or its twin) wrote changes.
public enum Lockstep {
    public typealias Side = InstructionDivergence.Side
    public typealias MemoryDifference = InstructionDivergence.MemoryDifference
    public typealias Finding = InstructionDivergence.Finding
    public typealias Report = InstructionDivergence.Report

    /// Default bound on the single-steps of one trace.
    public static let defaultBudget: UInt64 = 2_000_000
    /// Console bytes kept for the report.
    static let consoleTail = 2048
    /// Frames walked at most.
    static let maximumFrames = 16
    /// How often `progress` is called, in single-steps.
    public static let progressInterval: UInt64 = 10_000

    /// Replays `reader` with the recorded image (`recorded`) and with
    /// another build (`replayed`), both from the boot, event by event up
    /// to `lastMatched`, comparing what each event interval wrote to
    /// memory: a store that differs long before the exits do (a value kept
    /// for later) is found in the interval where it happened. From the
    /// start of that interval (or from `lastMatched` when no interval's
    /// memory differed) both single-step until an instruction's effect
    /// differs, the runs end, `budget` single-steps pass, or `shouldStop`
    /// says so.
    public static func trace(reader: JournalReader, recorded: ReplayOptions, replayed: ReplayOptions,
                             lastMatched: UInt64?, budget: UInt64 = defaultBudget,
                             progress: ((UInt64) -> Void)? = nil, shouldStop: (() -> Bool)? = nil) throws -> Report {
        let console = ConsoleTail(limit: consoleTail)
        func unavailable(_ why: String, _ at: UInt64?) -> Report {
            Report(lastMatched: at, finding: .unavailable(why), console: console.bytes)
        }
        var a: ReplaySession, b: ReplaySession
        do {
            (a, b) = try sessions(reader, recorded, replayed, console)
        } catch { return unavailable("\(error)", lastMatched) }
        var start = lastMatched
        if let last = lastMatched {
            var pair = Pair(a: a, b: b, cpuid: reader.header.cpuidEffective)
            try pair.takeBaseline()
            var firstDiffering: UInt64?
            for e in 0...last {
                guard try a.run(toEvent: e), try b.run(toEvent: e) else {
                    return unavailable("the two replays did not both reach event \(e) the way the journal says", e)
                }
                if try !pair.memoryEffects().isEmpty { firstDiffering = e; break }
            }
            if let e = firstDiffering {
                // Memory first differed in the interval ending at event e: step it.
                start = e == 0 ? nil : e - 1
                console.clear()
                (a, b) = try sessions(reader, recorded, replayed, console)
                if let s = start {
                    guard try a.run(toEvent: s), try b.run(toEvent: s) else {
                        return unavailable("the second replays did not reach event \(s) again", s)
                    }
                }
            }
        }
        try a.runner.completePendingRead()
        try b.runner.completePendingRead()
        var pair = Pair(a: a, b: b, cpuid: reader.header.cpuidEffective)
        let finding = try pair.stepUntilDifferent(budget: budget, progress: progress, shouldStop: shouldStop)
        return Report(lastMatched: start, finding: finding, console: console.bytes)
    }

    /// The two sessions, at the boot, the recorded one's console captured.
    static func sessions(_ reader: JournalReader, _ recorded: ReplayOptions, _ replayed: ReplayOptions,
                         _ console: ConsoleTail) throws -> (ReplaySession, ReplaySession) {
        let a = try ReplaySession(reader: reader, options: fromBoot(recorded))
        let b = try ReplaySession(reader: reader, options: fromBoot(replayed))
        a.replayer.consoleOutput = { console.append($0) }
        return (a, b)
    }

    /// A traced divergence and the two images it ran.
    public struct Traced {
        public var report: Report
        /// The recorded image used (nil when it was not available).
        public var recordedImage: ReplayImage?
        /// How to name that image to `vmrr debug` (`--image PATH`), when the
        /// journal alone does not find it.
        public var recordedImageArgument: String?
    }

    /// Traces a divergence of `options.imageOverride` (another build) from
    /// `reader`: finds the recorded image (bundle, recorded path, or beside
    /// the journal) and runs `trace`. When the recorded image is missing the
    /// report says what is missing.
    public static func traceDivergence(reader: JournalReader, options: ReplayOptions, divergence d: Divergence,
                                       budget: UInt64 = defaultBudget, progress: ((UInt64) -> Void)? = nil,
                                       shouldStop: (() -> Bool)? = nil) -> Traced {
        let h = reader.header
        let recordedImage: ReplayImage?
        do {
            recordedImage = try ReplayImage.choose(header: h, override: nil, bundled: options.bundledImage, journalPath: reader.path)
        } catch {
            return Traced(report: Report(lastMatched: d.lastMatched?.index, finding: .unavailable("the recorded image cannot be read: \(error)"), console: []),
                          recordedImage: nil, recordedImageArgument: nil)
        }
        guard let chosen = recordedImage, chosen.isRecorded(h) else {
            let why = "the recorded image \(h.imagePath) (SHA-256 \(SHA256.hex(h.imageSHA256).prefix(16))…) is not available, so only the exit is reported; put it at that path or beside the journal, or replay a bundle (vmrr pack)"
            return Traced(report: Report(lastMatched: d.lastMatched?.index, finding: .unavailable(why), console: []),
                          recordedImage: nil, recordedImageArgument: nil)
        }
        var recorded = options
        recorded.imageOverride = nil
        var argument: String?
        if case .besideJournal(let p) = chosen.origin { argument = p }
        do {
            let report = try trace(reader: reader, recorded: recorded, replayed: options, lastMatched: d.lastMatched?.index,
                                   budget: budget, progress: progress, shouldStop: shouldStop)
            return Traced(report: report, recordedImage: chosen, recordedImageArgument: argument)
        } catch {
            return Traced(report: Report(lastMatched: d.lastMatched?.index, finding: .unavailable("\(error)"), console: []),
                          recordedImage: chosen, recordedImageArgument: argument)
        }
    }

    static func fromBoot(_ options: ReplayOptions) -> ReplayOptions {
        var o = options
        o.until = nil
        o.verify = false
        o.fromCheckpoint = nil
        o.fromEvent = nil
        // Another build's code is in memory only when replayed from the boot.
        o.foreignImageAtCheckpoint = .startFromBoot
        return o
    }

    /// The console's last bytes.
    final class ConsoleTail {
        let limit: Int
        private(set) var bytes: [UInt8] = []
        init(limit: Int) { self.limit = limit }
        func clear() { bytes = [] }
        func append(_ b: UInt8) {
            bytes.append(b)
            if bytes.count > 2 * limit { bytes.removeFirst(bytes.count - limit) }
        }
    }
}
