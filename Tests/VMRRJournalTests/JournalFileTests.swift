import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport
import VMRRBase
import Synchronization

/// The journal's writer thread (`JournalFile`, owned by `JournalWriter`):
/// writes happen in the order they were handed over, the first error comes
/// back to the submitting side, `finish()` waits for every write, and what
/// is in flight is bounded. On synthetic data; no assertion on host time.
@Suite struct JournalFileTests {
    static func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix64(seed: seed)
        return (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    }

    static func openFile(_ path: String) -> Int32 {
        open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    }

    @Test(arguments: [true, false])
    func writesLandInTheOrderTheyWereHandedOver(background: Bool) throws {
        let path = Fixtures.tempPath("file-order")
        defer { unlink(path) }
        let file = JournalFile(fd: Self.openFile(path), path: path, background: background)
        #expect(file.background == background)
        var model = [UInt8]()
        var g = SplitMix64(seed: 16)
        // Three buffers in rotation, at overlapping offsets: a later write over an earlier one must win.
        let buffers = (0..<3).map { _ in JournalBuffer(capacity: 70_000) }
        for i in 0..<200 {
            let b = buffers[i % 3]
            file.waitUntilFree(b)
            let n = 1 + Int(g.next() % 70_000)
            let at = Int(g.next() % UInt64(max(1, model.count + 1)))
            let data = Self.bytes(n, seed: UInt64(i))
            data.withUnsafeBufferPointer { b.base.update(from: $0.baseAddress!, count: n) }
            try file.submit(b, count: n, at: UInt64(at))
            if model.count < at + n { model += [UInt8](repeating: 0, count: at + n - model.count) }
            model.replaceSubrange(at..<(at + n), with: data)
        }
        try file.drain()
        #expect(try FileIO.read(path) == model)
        #expect(file.writeStats.writes == 200)
        try file.close()
        try file.close()
    }

    @Test func waitingForABufferMeansItIsWritten() throws {
        let path = Fixtures.tempPath("file-wait")
        defer { unlink(path) }
        let file = JournalFile(fd: Self.openFile(path), path: path, background: true)
        let a = JournalBuffer(copying: Self.bytes(3 << 20, seed: 1))
        let b = JournalBuffer(copying: Self.bytes(100, seed: 2))
        try file.submit(a, count: 3 << 20, at: 0)
        try file.submit(b, count: 100, at: 3 << 20)
        file.waitUntilFree(a)
        // A is on disk once it is free again, whatever B is doing.
        let stats = file.writeStats
        #expect(stats.writes >= 1 && stats.bytes >= 3 << 20)
        #expect(Array(try FileIO.read(path).prefix(3 << 20)) == Self.bytes(3 << 20, seed: 1))
        try file.close()
        #expect(try FileIO.read(path).count == (3 << 20) + 100)
    }

    /// A descriptor open read-only: every write(2) fails with EBADF, as a full disk fails with ENOSPC.
    @Test(arguments: [true, false])
    func theFirstWriteErrorComesBackToTheSubmitter(background: Bool) throws {
        let path = Fixtures.tempPath("file-error")
        defer { unlink(path) }
        close(Self.openFile(path))
        let file = JournalFile(fd: open(path, O_RDONLY | O_CLOEXEC), path: path, background: background)
        let a = JournalBuffer(copying: Self.bytes(10, seed: 1)), b = JournalBuffer(copying: Self.bytes(10, seed: 2))
        do { try file.submit(a, count: 10, at: 4096) } catch { #expect(!background, "a queued write fails later, not here") }
        do { try file.submit(b, count: 10, at: 8192) } catch {}
        var caught: JournalError?
        do { try file.drain() } catch let e as JournalError { caught = e }
        let failed = file.failed.load(ordering: .relaxed)
        #expect(failed)
        #expect(caught?.offset == 4096, "the first failure, naming its offset: \(String(describing: caught))")
        #expect(caught.map { "\($0)".contains("write: ") && !"\($0)".contains("\n") } == true)
        // Every later call throws the same error; close reports it too.
        #expect(throws: JournalError.self) { try file.submit(a, count: 10, at: 0) }
        #expect(throws: JournalError.self) { try file.close() }
    }

    /// The same journal, byte for byte, with the writes on the writer's thread
    /// or on the caller's: events, publishes and checkpoints interleaved.
    @Test func backgroundAndInlineWritesMakeTheSameFile() throws {
        let paths = [Fixtures.tempPath("bg"), Fixtures.tempPath("inline")]
        defer { paths.forEach { unlink($0) } }
        for (path, background) in zip(paths, [true, false]) {
            let w = try JournalWriter(path: path, header: Fixtures.header(), writesInBackground: background)
            #expect(w.writesInBackground == background)
            var id: UInt32 = 0
            for i in 0..<12_000 {
                try w.append(PublishTests.events[i % PublishTests.events.count], regs: Fixtures.regs(UInt64(i)))
                if i % 997 == 0 { try w.publish() }
                if i % 2500 == 1 {
                    try w.append(.checkpoint(id: id), regs: Fixtures.regs(0))
                    try w.appendCheckpoint(Self.checkpoint(id: id, eventIndex: w.eventCount - 1, pages: 64 + Int(id) * 200))
                    id += 1
                }
            }
            try w.finish()
        }
        #expect(try FileIO.read(paths[0]) == FileIO.read(paths[1]))
        let r = try JournalReader(path: paths[0])
        #expect(r.eventCount == 12_000 + 5 && r.truncationNote == nil)
    }

    static func checkpoint(id: UInt32, eventIndex: UInt64, pages: Int) -> Checkpoint {
        var cp = Fixtures.checkpoint(id: id, eventIndex: eventIndex)
        cp.pages = (0..<pages).map { PageRecord(gpa: UInt64($0) << 12, bytes: Fixtures.page(UInt64($0) &+ UInt64(id))) }
        return cp
    }

    /// At most one checkpoint is in flight: when `appendCheckpoint` returns,
    /// every earlier chunk is written, and what is queued is this one alone.
    @Test func atMostOneCheckpointIsInFlight() throws {
        let path = Fixtures.tempPath("bounded")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Fixtures.header())
        var before = w.bytesWritten
        for id in UInt32(0)..<6 {
            try w.appendCheckpoint(Self.checkpoint(id: id, eventIndex: 0, pages: 512))
            let written = w.writeStats.bytes
            // Everything before this checkpoint's chunk is on disk: what is queued is at most this chunk.
            #expect(written >= before, "checkpoint \(id): \(w.bytesWritten - written) bytes queued, more than its chunk")
            before = w.bytesWritten
        }
        try w.finish()
        // finish waited for every write: the file is whole and has its index.
        let r = try JournalReader(path: path)
        #expect(r.truncationNote == nil && r.checkpoints.count == 6)
        #expect(UInt64(try FileIO.read(path).count) == w.bytesWritten)
    }

    /// `finish()` and `waitForWrites()` return only when the bytes are in the file.
    @Test func waitForWritesAndFinishLeaveEverythingInTheFile() throws {
        let path = Fixtures.tempPath("finish")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Fixtures.header())
        try w.appendCheckpoint(Self.checkpoint(id: 0, eventIndex: 0, pages: 2048))
        for i in 0..<5000 { try w.append(PublishTests.events[i], regs: Fixtures.regs(UInt64(i))) }
        try w.flush()
        try w.waitForWrites()
        #expect(UInt64(try FileIO.read(path).count) == w.bytesWritten)
        #expect(try JournalReader(path: path).eventCount == 5000)
        try w.finish()
        #expect(try JournalReader(path: path).eventCount == 5000)
    }
}

/// A write error in a `JournalWriter`: the writer's descriptor is swapped
/// (dup2) for one open read-only after the header, so every later write(2)
/// fails with EBADF, as a full disk fails with ENOSPC, wherever it runs.
@Suite struct JournalWriterErrorTests {
    @Test(arguments: [true, false])
    func aWriteErrorIsThrownByTheNextCallsAndByFinish(background: Bool) throws {
        let path = Fixtures.tempPath("write-error")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: Fixtures.header(), writesInBackground: background)
        let readOnly = open(path, O_RDONLY | O_CLOEXEC)
        #expect(dup2(readOnly, w.file.fd) == w.file.fd)
        close(readOnly)
        var thrown: JournalError?
        // Chunks end every 4096 records: the first fails inline at once, or on the writer thread, and the
        // flush after next waits for that buffer, so the error is thrown by the third flush at the latest.
        for i in 0..<20_000 where thrown == nil {
            do { try w.append(PublishTests.events[i % PublishTests.events.count], regs: Fixtures.regs(UInt64(i))) } catch let e as JournalError { thrown = e }
        }
        let e = try #require(thrown)
        #expect(e.offset != nil && "\(e)".contains("write: ") && !"\(e)".contains("\n"), "\(e)")
        // The same error from every later call, finish included.
        let calls: [() throws -> Void] = [{ _ = try w.append(.hlt, regs: GPRegisters()) }, { try w.publish() }, { try w.flush() }, { try w.finish() }]
        for call in calls {
            do { try call(); Issue.record("a call after the write error succeeded") } catch let again as JournalError {
                #expect(again == e, "\(again)")
            }
        }
    }
}
