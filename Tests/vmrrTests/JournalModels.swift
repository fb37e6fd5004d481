import Foundation
import Testing
import VMRRDevices
import VMRRMachine
import VMRRTestSupport
import VMRRBase

/// Reference model of `--clock virtual` (VMRRMachine.VirtualClock): the clock
/// advances by `VirtualClock.nanosecondsPerExit` at every VM exit, before the
/// exit is answered, and jumps to the armed deadline when the guest halts
/// for the timer. Checkpoints, injected interrupts and the end record are not
/// exits.
enum VirtualClockModel {
    static let exitKinds: Set<String> = ["io", "mmio", "hlt", "shutdown", "page_fault", "stage2_fault",
                                          "clock", "timer", "input", "error"]

    /// The value every `clock` event must carry, in order.
    static func expectedClockValues(_ events: [DumpEvent]) -> [UInt64] {
        var now: UInt64 = 0
        var deadline: UInt64?
        var values: [UInt64] = []
        for e in events {
            if exitKinds.contains(e.kind) { now += VirtualClock.nanosecondsPerExit }
            switch e.kind {
            case "clock": values.append(now)
            case "timer": deadline = e.u("deadline").flatMap { $0 == 0 ? nil : $0 }
            case "hlt": if let d = deadline, d > now { now = d }
            case "interrupt": deadline = nil
            default: break
            }
        }
        return values
    }
}

/// The chunk layout of a journal file (docs/JOURNAL.md), walked
/// independently of VMRRJournal (whose own is `ChunkMap`) so tests can aim damage at known places.
struct ChunkScan {
    struct Chunk {
        var offset: Int
        var type: UInt8
        var payloadLength: Int
        var first: UInt64
        var count: UInt32
        var end: Int { offset + 25 + payloadLength }
    }
    let size: Int
    let headerEnd: Int
    let chunks: [Chunk]

    init(path: String) throws {
        let b = try FileIO.read(path)
        func u32(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 | Int(b[o + 2]) << 16 | Int(b[o + 3]) << 24 }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }
        guard b.count >= 20, Array(b[0..<8]) == Array("VMRRJRNL".utf8) else { throw TestFailure("\(path): not a journal") }
        size = b.count
        headerEnd = 16 + u32(12) + 4
        var off = headerEnd
        var chunks: [Chunk] = []
        while off + 25 <= b.count, Array(b[off..<off + 4]) == Array("CHNK".utf8) {
            let c = Chunk(offset: off, type: b[off + 4], payloadLength: u32(off + 5), first: u64(off + 9),
                          count: UInt32(u32(off + 17)))
            chunks.append(c)
            off = c.end
        }
        self.chunks = chunks
    }

    var eventChunks: [Chunk] { chunks.filter { $0.type == 1 } }
    var checkpointChunks: [Chunk] { chunks.filter { $0.type == 2 } }
    var indexChunk: Chunk? { chunks.first { $0.type == 3 } }
    /// Events in the events chunks that lie wholly before `cut`.
    func eventsReadable(cutAt cut: Int) -> UInt64 {
        eventChunks.filter { $0.end <= cut }.reduce(0) { $0 + UInt64($1.count) }
    }
}
