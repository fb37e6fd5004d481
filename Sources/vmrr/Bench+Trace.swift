import Glibc
import VMRRBase
import VMRRDevices
import VMRRJournal
import VMRRMachine
import VMRRReplay

extension Bench {
    /// The lockstep fixture's BENCH_CODE immediate (`xor $0xbe7c, %rax`:
    /// 48 35 imm32), XORed into the result of ~10,000 instructions without an exit.
    static let benchCodeXor: [UInt8] = [0x48, 0x35, 0x7C, 0xBE, 0x00, 0x00]

    /// 5. Time to the instruction-level divergence report, for a change
    /// 10,000 instructions after the last matching exit (the lockstep
    /// fixture with BENCH_CODE changed), against the plain replay of the same
    /// journal to that divergence, in the same run.
    func traceFigures(_ out: StdoutBuffer) throws {
        let recordedImage = "fixtures/guests/lockstep/lockstep.elf"
        let journal = "\(scratch)/vmrr-bench-trace-\(getpid()).vmrr"
        let newBuild = "\(scratch)/vmrr-bench-trace-\(getpid()).elf"
        defer { unlink(journal); unlink(newBuild) }
        var o = RecordOptions(imagePath: recordedImage, journalPath: journal)
        o.clock = .virtual
        do {
            _ = try RecordSession.record(o, input: BufferedInput(bytes: []), output: CapturedOutput(), journaling: true)
        } catch { fail("bench: recording \(recordedImage): \(error)") }
        var bytes = try FileIO.read(recordedImage)
        let hits = (0...(bytes.count - Self.benchCodeXor.count)).filter { Array(bytes[$0..<($0 + Self.benchCodeXor.count)]) == Self.benchCodeXor }
        guard hits.count == 1 else { fail("bench: \(recordedImage) holds BENCH_CODE's xor \(hits.count) times, expected once") }
        bytes[hits[0] + 2] ^= 0x01
        let fd = open(newBuild, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { fail("bench: cannot write \(newBuild)") }
        try FileIO.writeAll(fd: fd, bytes)
        close(fd)

        var options = ReplayOptions()
        options.imageOverride = newBuild
        var replays: [Double] = [], traces: [Double] = []
        var steps: UInt64 = 0
        for _ in 0..<rounds {
            let reader = try JournalReader(path: journal)
            let t0 = monotonicNanoseconds()
            let session = try ReplaySession(reader: reader, options: options)
            let result = try session.run(console: nil)
            let t1 = monotonicNanoseconds()
            guard let d = result.divergence else { fail("bench: the changed build replayed identically") }
            let traced = Lockstep.traceDivergence(reader: reader, options: options, divergence: d)
            let t2 = monotonicNanoseconds()
            guard case .instruction(let step, _, _, _, _, _) = traced.report.finding else {
                fail("bench: the trace found no instruction: \(traced.report.finding)")
            }
            steps = step
            replays.append(Double(t1 - t0))
            traces.append(Double(t2 - t1))
        }
        let replayNs = median(replays), traceNs = median(traces)
        out.line("divergence traced to the instruction (lockstep fixture, BENCH_CODE changed; median of \(rounds)):")
        out.line(row("instructions after the last exit", "\(steps)", "(single-stepped on both sides)"))
        out.line(row("replay to the divergence", "\(f2(replayNs / 1e6)) ms", "(the exit-level report)"))
        out.line(row("trace to the instruction", "\(f2(traceNs / 1e6)) ms", "(\(Int(Double(steps) / (traceNs / 1e9))) instructions/s, both VMs)"))
        out.line(row("trace / replay", "\(f2(traceNs / replayNs))x", "(same run)"))
        out.line("")
    }
}
