import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport
import VMRRBase

/// `JournalWriter.publish()`: the pending events reach the disk as a
/// complete chunk without ending it, so a recorder killed after a publish
/// leaves every event published so far, and the finished file is the same
/// bytes however often, and wherever, publish ran (issue 18: "nothing
/// recorded is lost"; `--clock virtual` recordings stay byte-identical).
struct PublishTests {
    static let events: [Event] = (0..<9000).map { i in
        switch i % 4 {
        case 0: .io(port: 0x80, size: 1, direction: .write, value: UInt64(i & 0xff))
        case 1: .clock(ns: UInt64(i) * 1_000)
        case 2: .io(port: 0x3f8, size: 1, direction: .write, value: 0x41)
        default: .mmio(gpa: 0xfee0_0000, size: 4, direction: .read, value: UInt64(i))
        }
    }

    /// Writes `events` with a publish after every index in `publishAfter`, a
    /// checkpoint-free run; `snapshot` sees the file right after each publish.
    static func write(_ path: String, publishAfter: Set<Int>, snapshot: ((Int, [UInt8]) throws -> Void)? = nil) throws {
        let w = try JournalWriter(path: path, header: Fixtures.header())
        for (i, e) in events.enumerated() {
            try w.append(e, regs: Fixtures.regs(UInt64(i)))
            if publishAfter.contains(i) {
                try w.publish()
                // The writer's thread writes what publish handed over; the test waits for it.
                if snapshot != nil { try w.waitForWrites() }
                try snapshot?(i, try FileIO.read(path))
            }
        }
        try w.finish()
    }

    @Test func publishingDoesNotChangeTheFinishedFile() throws {
        let plain = Fixtures.tempPath("plain"), published = Fixtures.tempPath("published")
        defer { unlink(plain); unlink(published) }
        try Self.write(plain, publishAfter: [])
        var g = SplitMix64(seed: 18)
        // Publishes at random points, several within one chunk, some twice in a row, one at the very start.
        var points: Set<Int> = [0, 1, 4095, 4096, 4097, 8999]
        for _ in 0..<60 { points.insert(Int(g.next() % UInt64(Self.events.count))) }
        try Self.write(published, publishAfter: points)
        #expect(try FileIO.read(plain) == (try FileIO.read(published)))
    }

    @Test func aFileCutRightAfterAPublishHoldsEveryEventSoFar() throws {
        let path = Fixtures.tempPath("cut")
        defer { unlink(path) }
        var checked = 0
        try Self.write(path, publishAfter: [0, 17, 300, 4095, 4200, 8998]) { i, bytes in
            // As if the recorder were killed here: the file as it is, with no index tail.
            let r = try JournalReader(bytes: bytes, name: "killed")
            #expect(r.eventCount == UInt64(i + 1), "after a publish at event \(i)")
            #expect(r.truncationNote != nil)
            let last = try r.event(at: UInt64(i))
            #expect(last.event == Self.events[i] && last.regs == Fixtures.regs(UInt64(i)))
            checked += 1
        }
        #expect(checked == 6)
    }

    @Test func aSecondWriterOnTheSamePathIsRefusedAndTheFirstIsUntouched() throws {
        let path = Fixtures.tempPath("locked")
        defer { unlink(path) }
        let first = try JournalWriter(path: path, header: Fixtures.header())
        try first.append(Self.events[0], regs: Fixtures.regs(0))
        #expect(throws: JournalError.self) { _ = try JournalWriter(path: path, header: Fixtures.header()) }
        do { _ = try JournalWriter(path: path, header: Fixtures.header()) } catch {
            #expect("\(error)".contains("another vmrr is writing this journal"), "\(error)")
        }
        try first.finish()
        let r = try JournalReader(path: path)
        #expect(r.eventCount == 1 && r.truncationNote == nil)
        // Once the first writer has finished, the path is free again.
        let again = try JournalWriter(path: path, header: Fixtures.header())
        try again.finish()
        #expect(try JournalReader(path: path).eventCount == 0)
    }

    @Test func onlyARegularFileIsWritten() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        for path in [fifo, "/dev/null", dir.path] {
            #expect(throws: JournalError.self, "\(path)") { _ = try JournalWriter(path: path, header: Fixtures.header()) }
        }
    }
}
