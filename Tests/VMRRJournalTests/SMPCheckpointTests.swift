import Foundation
import Testing
@testable import VMRRJournal
import VMRRBase
import VMRRTestSupport

/// Checkpoints of every vCPU (docs/JOURNAL.md, flag `allVCPUs`): each
/// vCPU's state and run state and the running vCPU, read back as written;
/// a checkpoint without them says so; inconsistent ones are refused.
@Suite struct SMPCheckpointTests {
    /// A checkpoint of `n` vCPUs with vCPU `running` running; each vCPU's registers differ.
    static func checkpoint(id: UInt32, eventIndex: UInt64, vcpus n: Int, running: Int) -> Checkpoint {
        var c = Fixtures.checkpoint(id: id, eventIndex: eventIndex)
        let states: [VCPUState] = (0..<n).map { k in
            var s = c.state
            s.regs.rip = 0x40_0000 + UInt64(k) * 0x100
            s.sregs.cr3 = 0x43_e000 + UInt64(k) * 0x1000
            s.blobs["mp_state"] = [UInt8(k)]
            return s
        }
        c.state = states[running]
        let runStates = VCPURunState.allCases
        c.allVCPUs = CheckpointVCPUs(running: running, vcpus: states.enumerated().map { k, s in
            CheckpointVCPU(runState: runStates[k % runStates.count], state: s)
        })
        return c
    }

    static func write(_ path: String, vcpus: UInt32, checkpoints: [Checkpoint]) throws {
        let w = try JournalWriter(path: path, header: SMPJournalTests.header(vcpus: vcpus))
        var regs = GPRegisters()
        for c in checkpoints {
            regs.rip = c.state.regs.rip
            while w.eventCount < c.eventIndex { try w.append(.io(port: 0x80, size: 1, direction: .read, value: 0), regs: regs) }
            try w.append(.checkpoint(id: c.id), regs: c.state.regs)
            try w.appendCheckpoint(c)
        }
        try w.finish()
    }

    @Test func everyVCPURoundTrips() throws {
        let path = Fixtures.tempPath("cpsmp")
        defer { unlink(path) }
        let c0 = Self.checkpoint(id: 0, eventIndex: 0, vcpus: 4, running: 0)
        let c1 = Self.checkpoint(id: 1, eventIndex: 7, vcpus: 4, running: 2)
        var old = Fixtures.checkpoint(id: 2, eventIndex: 12)
        old.allVCPUs = nil
        try Self.write(path, vcpus: 4, checkpoints: [c0, c1, old])
        let r = try JournalReader(path: path)
        #expect(try r.checkpoint(id: 0) == c0.compacted)
        let back = try r.checkpoint(id: 1)
        #expect(back == c1.compacted)
        #expect(back.allVCPUs?.running == 2)
        #expect(back.allVCPUs?.vcpus.map(\.runState) == [.runnable, .halted, .stopped, .waitingForSIPI])
        #expect(back.allVCPUs?.vcpus.map(\.state.sregs.cr3) == [0x43_e000, 0x43_f000, 0x44_0000, 0x44_1000])
        #expect(r.checkpointRestoresEveryVCPU(id: 0) && r.checkpointRestoresEveryVCPU(id: 1))
        #expect(!r.checkpointRestoresEveryVCPU(id: 2), "a checkpoint of the running vCPU only")
        #expect(try r.checkpoint(id: 2).allVCPUs == nil)
    }

    @Test func theRunningVCPUsStateIsStoredOnce() throws {
        let two = Self.checkpoint(id: 1, eventIndex: 3, vcpus: 2, running: 1)
        var one = two
        one.allVCPUs = nil
        let withAll = try CheckpointCodec.encode(two, path: "t")
        let without = try CheckpointCodec.encode(one, path: "t")
        let other = try CheckpointCodec.encode(Checkpoint(id: 0, eventIndex: 0, full: false, state: two.allVCPUs!.vcpus[0].state, pages: []), path: "t")
        let otherStateBytes = other.count - (CheckpointCodec.fixedSize - CheckpointCodec.fixedStateSize) - 2 // no device state, no pages
        #expect(withAll.count == without.count + 2 + 2 + otherStateBytes)
    }

    @Test func inconsistentCheckpointsAreRefused() throws {
        var c = Self.checkpoint(id: 1, eventIndex: 3, vcpus: 2, running: 0)
        c.state.regs.rax ^= 1   // no longer the running vCPU's state
        #expect(throws: JournalError.self) { try CheckpointCodec.encode(c, path: "t") }
        var big = Self.checkpoint(id: 1, eventIndex: 3, vcpus: 2, running: 0)
        big.allVCPUs?.running = 5
        #expect(throws: JournalError.self) { try CheckpointCodec.encode(big, path: "t") }
        // A header of 2 vCPUs and a checkpoint of 3: the reader names both.
        let path = Fixtures.tempPath("cpcount")
        defer { unlink(path) }
        try Self.write(path, vcpus: 2, checkpoints: [Self.checkpoint(id: 0, eventIndex: 0, vcpus: 3, running: 0)])
        let r = try JournalReader(path: path)
        #expect(throws: JournalError.self) { try r.checkpoint(id: 0) }
        do { _ = try r.checkpoint(id: 0) } catch {
            #expect("\(error)".contains("checkpoint 0 holds 3 vCPUs, but the header says 2"), "\(error)")
        }
    }

    @Test func anUnknownRunStateIsCorruptionAtItsOffset() throws {
        let c = Self.checkpoint(id: 1, eventIndex: 3, vcpus: 2, running: 0)
        var bytes = try CheckpointCodec.encode(c, path: "t")
        // The run states follow the device state: find vCPU 1's (halted, 1) after the running byte and the count.
        let deviceEnd = CheckpointCodec.fixedSize + 8 + CheckpointCodec.variableStateSize(c.state) + 1 + c.deviceState.count
        #expect(bytes[deviceEnd] == 0 && bytes[deviceEnd + 1] == 2 && bytes[deviceEnd + 3] == 1)
        bytes[deviceEnd + 3] = 9
        var r = ByteReader(bytes, name: "t", from: 0, to: bytes.count)
        #expect(throws: JournalError.self) { try CheckpointCodec.decode(&r, pageLimit: UInt64(c.pageCount)) }
    }
}
