import Testing
import VMRRBase
import VMRRJournal
@testable import VMRRMachine

/// Preemption without a counter (docs/SMP.md), its pure parts: the dirty-page
/// digest, the scheduler's "end the slice now", and the watcher's kick.
@Suite struct PreemptionLogicTests {
    static func page(_ fill: UInt8) -> [UInt8] { [UInt8](repeating: fill, count: 4096) }

    @Test func theDigestCoversAddressesAndContentsInOrder() {
        let a = PageRecord(gpa: 0x1000, bytes: Self.page(1)), b = PageRecord(gpa: 0x5000, bytes: Self.page(2))
        #expect(MemoryDigest.dirtyPages([]) == MemoryDigest.offsetBasis, "no page dirtied: the FNV-1a offset basis")
        let ab = MemoryDigest.dirtyPages([a, b])
        #expect(ab == MemoryDigest.dirtyPages([a, b]), "deterministic")
        #expect(ab != MemoryDigest.dirtyPages([b, a]), "the order is part of it (callers pass ascending addresses)")
        #expect(ab != MemoryDigest.dirtyPages([a]), "every page counts")
        // The same contents at another address differ.
        #expect(MemoryDigest.dirtyPages([a]) != MemoryDigest.dirtyPages([PageRecord(gpa: 0x2000, bytes: Self.page(1))]))
        // One byte changed anywhere in a page changes the digest.
        var changed = Self.page(2)
        changed[4095] ^= 0x80
        #expect(ab != MemoryDigest.dirtyPages([a, PageRecord(gpa: 0x5000, bytes: changed)]))
    }

    @Test func endingTheSliceSwitchesWhenAnotherVCPUCanRun() {
        let s = Scheduler(vcpus: 2)
        // Alone (the AP waits for its SIPI): the preempted vCPU goes on.
        s.endSlice()
        #expect(s.decide { _ in false } == .stay)
        _ = s.apply(.startup(cpu: 1, vector: 8))
        s.exited()
        #expect(s.decide { _ in false } == .stay, "one exit into the slice")
        s.endSlice()
        // The kick that preempted is not an exit: the recorder takes it back, and the slice stays over.
        s.notAnExit(); s.exited()
        #expect(s.decide { _ in false } == .switchTo(1))
        s.switched(to: 1)
        #expect(s.exitsInSlice == 0 && s.decide { _ in false } == .stay, "the next vCPU has a fresh slice")
    }

    @Test func theSliceIsClampedAndTheWatcherKicksARunThatLastsASlice() throws {
        #expect(Preemption(milliseconds: 0).sliceNanoseconds == 1_000_000)
        #expect(Preemption(milliseconds: UInt64.max).sliceNanoseconds == Preemption.maximumMilliseconds * 1_000_000)
        // A "run" that never ends (this thread computing) is kicked: behaviour, not a rate.
        let p = Preemption(milliseconds: 2)
        let started = monotonicNanoseconds()
        var kicked = false
        var sink: UInt64 = 0
        try p.run {
            p.willRun()
            while !kicked && monotonicNanoseconds() - started < 120_000_000_000 {
                for i in 0..<10_000 { sink = sink &+ UInt64(i) }
                kicked = p.takeRequest()
            }
        }
        #expect(kicked, "no preemption request after two minutes of CPU-bound run (sink \(sink))")
        #expect(p.kickCount >= 1)
        #expect(!p.takeRequest(), "a request is taken once")
    }
}
