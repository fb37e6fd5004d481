import Foundation
import VMRRJournal
@testable import VMRRReplay
import VMRRTestSupport
import VMRRBase

/// The addresses the tests' "machine" uses. Any values do; these are not the
/// guest protocol's (VMRRReplay does not know it).
enum TestLayout {
    static let thr: UInt16 = 0x3f8
    static let lsr: UInt16 = 0x3fd
    static let clock = FrontEndCheck.clockAddress
    static let timer = FrontEndCheck.timerAddress
    static let device: UInt64 = 0xfed0_0000
    static let unbacked: UInt64 = 0x1_0000_0000
}

/// Registers that change from event to event the way a guest's do.
func regs(_ i: Int) -> GPRegisters {
    var r = GPRegisters()
    r.rip = 0x10_0000 + UInt64(i) * 0x13
    r.rflags = 0x202
    r.rax = UInt64(i) &* 0x9e37_79b9
    r.rdx = UInt64(TestLayout.thr)
    r.rsp = 0x7_f000 - UInt64(i % 4) * 8
    r.r15 = UInt64.max - UInt64(i)
    return r
}

/// One journal event as the test writes it.
struct Step {
    var event: Event
    var regs: GPRegisters
}

/// Builds a step list where events that the run loop produces between exits
/// (interrupt injections, checkpoints) carry the registers of the exit before
/// them, as the recorder writes them.
func steps(_ events: [Event]) -> [Step] {
    var out: [Step] = []
    var last = regs(0)
    for (i, e) in events.enumerated() {
        switch e {
        case .interrupt, .checkpoint, .end:
            out.append(Step(event: e, regs: last))
        default:
            last = regs(i + 1)
            out.append(Step(event: e, regs: last))
        }
    }
    return out
}

/// A journal written with `JournalWriter` to a temporary file, then opened.
/// `checkpoints` maps a checkpoint id to its memory digest (nil: none).
func makeJournal(_ steps: [Step], finish: Bool = true, digests: [UInt32: UInt64?] = [:],
                 mutate: (([UInt8]) -> [UInt8])? = nil) throws -> JournalReader {
    let path = NSTemporaryDirectory() + "vmrr-replay-test-\(UUID().uuidString).vmrr"
    defer { unlink(path) }
    var header = JournalHeader()
    header.memorySize = 2 << 20
    header.clock = .virtual
    let w = try JournalWriter(path: path, header: header)
    for s in steps {
        let index = try w.append(s.event, regs: s.regs)
        if case let .checkpoint(id) = s.event {
            let state = VCPUState(regs: s.regs, sregs: SpecialRegisters())
            let digest = digests[id] ?? nil
            try w.appendCheckpoint(Checkpoint(id: id, eventIndex: index, full: id == 0, state: state,
                                              pages: [PageRecord(gpa: 0x1000, bytes: [UInt8](repeating: UInt8(id), count: 4096))],
                                              memoryDigest: digest))
        }
    }
    if finish { try w.finish() } else { try w.flush() }
    var bytes = try FileIO.read(path)
    if let mutate { bytes = mutate(bytes) }
    return try JournalReader(bytes: bytes, name: "test.vmrr")
}

/// A `MachineStateSource` over plain values.
final class FakeMachine: MachineStateSource {
    var state = VCPUState()
    var digest: UInt64 = 0
    var dirtyCalls = 0
    var captureCalls = 0
    func captureState() throws -> VCPUState { captureCalls += 1; return state }
    func dirtyPageRecords() throws -> [PageRecord] { dirtyCalls += 1; return [] }
    func memoryDigest() -> UInt64 { digest }
}

/// What a scripted run did.
struct ScriptedRun {
    var values: [UInt64] = []
    var injected: [UInt8] = []
    var checkpoints = 0
    var exitsPresented = 0
}

/// The access the guest makes to produce `event` (nil for injections,
/// checkpoints and the end); the same mapping the fuzz harness uses.
func access(for event: Event, regs: GPRegisters) -> Access? {
    FrontEndCheck.access(for: event, regs: regs)
}

/// Drives `replayer` the way the run loop does: a checkpoint check before the
/// first instruction, an injection check before every run, one exit per run,
/// a checkpoint check after every exit. The guest presents `exits` in order;
/// the machine's registers are those of the latest exit.
@discardableResult
func drive(_ replayer: Replayer, exits: [(Access, GPRegisters)], machine: FakeMachine = FakeMachine(),
           startRegs: GPRegisters = regs(0), ready: Bool = true) throws -> ScriptedRun {
    var run = ScriptedRun()
    var current = startRegs
    machine.state.regs = current
    if replayer.wantsCheckpoint { try replayer.checkpoint(state: machine, regs: current); run.checkpoints += 1 }
    var k = 0
    // The script ends where the guest would run on: no injection check then.
    while replayer.end == nil, k < exits.count {
        if let v = try replayer.interruptBeforeRun(regs: current, ready: ready) { run.injected.append(v) }
        if replayer.end != nil { break }
        let (a, r) = exits[k]
        k += 1
        current = r
        machine.state.regs = r
        run.exitsPresented += 1
        run.values.append(try replayer.respond(to: a, regs: r))
        if replayer.end == nil && replayer.wantsCheckpoint {
            try replayer.checkpoint(state: machine, regs: current)
            run.checkpoints += 1
        }
    }
    return run
}

/// The exits a guest that behaves exactly as recorded presents.
func exits(of steps: [Step]) -> [(Access, GPRegisters)] {
    steps.compactMap { s in access(for: s.event, regs: s.regs).map { ($0, s.regs) } }
}

func newReplayer(_ j: JournalReader, start: UInt64 = 0) -> Replayer {
    Replayer(journal: j, start: start, consolePort: TestLayout.thr, clockAddress: TestLayout.clock)
}

func hex16s(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 16 - s.count)) + s
}
