import Foundation
import Testing
import VMRRDevices
import VMRRJournal
@testable import VMRRMachine
import VMRRReplay

/// A switch leaves the leaving vCPU's plain IN pending in KVM (docs/SMP.md,
/// "A switch makes no system call"), on real KVM: the race fixture's ticket
/// lock hands over at a port read nearly every time. KVM's own completion is
/// compared with the registers vmrr computed at every checkpoint
/// (`Machine.settle` stops the run on a difference), at every replayed
/// `switch` record, and at every position the debugger shows a vCPU that is
/// not running.
@Suite("Deferred IN at a switch", .serialized, .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct DeferredReadTests {
    static func record(cpus: Int, locked: Bool, checkpointInterval: UInt64) throws -> (RecordResult, String) {
        let dir = Fixtures.scratch("deferred-\(cpus)-\(locked)")
        let path = dir.appendingPathComponent("race.vmrr").path
        var o = RecordOptions(imagePath: Fixtures.guest("race"), journalPath: path)
        o.clock = .virtual
        o.cpus = cpus
        o.checkpointInterval = checkpointInterval
        o.guestArguments = ["iterations=200"] + (locked ? ["locked"] : [])
        let console = CapturedOutput()
        let r = try RecordSession.record(o, input: BufferedInput(bytes: []), output: console)
        #expect(console.text.contains("race: \(cpus) cpus x 200 increments"), "\(console.text)")
        return (r, path)
    }

    static func switches(_ reader: JournalReader) throws -> [EventRecord] {
        var out: [EventRecord] = []
        try reader.forEachEvent { rec in
            if case .switchVCPU = rec.event { out.append(rec) }
            return true
        }
        return out
    }

    @Test(arguments: [2, 4])
    func recordAndReplayDeferTheSameReads(cpus: Int) throws {
        // A checkpoint every 20 events completes every deferred read of a
        // vCPU that is not running, and compares KVM's registers.
        let (r, path) = try Self.record(cpus: cpus, locked: true, checkpointInterval: 20)
        let reader = try JournalReader(path: path)
        let switches = try Self.switches(reader)
        #expect(r.checkpoints > 5)
        #expect(r.deferredReads > 0 && r.deferredReads <= UInt64(switches.count),
                "\(r.deferredReads) deferred of \(switches.count) switches")
        #expect(r.deferredReads * 2 > UInt64(switches.count), "most hand-overs of the lock happen at a port read")
        let session = try ReplaySession(reader: reader, options: ReplayOptions())
        let result = try session.run(console: nil)
        #expect(result.divergence == nil, "\(String(describing: result.divergence))")
        #expect(result.guestEnd != nil)
        #expect(session.runner.deferredReads == r.deferredReads, "replay leaves the same reads pending as the recording")
        // The spin site's page is walked once per vCPU, then its walk is reused (`InstructionFetch`).
        let walks = session.runner.fetches.map(\.walks).reduce(0, +), reused = session.runner.fetches.map(\.reused).reduce(0, +)
        #expect(reused > 10 * walks, "\(walks) walks, \(reused) reused")
    }

    /// A vCPU that is not running shows the registers it resumes with: those
    /// of the next `switch` to it, with its IN complete, however the debugger
    /// reached the position (forward, backward, from a snapshot).
    @Test func theDebuggerShowsAVCPUThatIsNotRunningWithItsINComplete() throws {
        let (_, path) = try Self.record(cpus: 2, locked: true, checkpointInterval: 100)
        let reader = try JournalReader(path: path)
        let switches = try Self.switches(reader)
        #expect(switches.count > 20)
        let target = try KVMTarget(reader: reader)
        var checked = 0
        // Positions just before switches, visited out of order.
        let picks = stride(from: 4, to: switches.count - 1, by: max(1, switches.count / 9)).map { switches[$0] }
        for rec in picks.reversed() + picks {
            guard case let .switchVCPU(k) = rec.event else { continue }
            try target.goto(Position(event: rec.index - 1))
            #expect(target.runningVCPU != Int(k))
            #expect(try target.registers(vcpu: Int(k)) == rec.regs, "vCPU \(k) before event \(rec.index)")
            checked += 1
        }
        #expect(checked >= 10)
    }
}
