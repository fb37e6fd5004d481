import Foundation
import Testing
import VMRRGuest
import VMRRTestSupport

/// Damaged journals and images through the CLI: a readable prefix with a
/// note, or one line naming the file and offset with status 2. Never a crash.
extension KVMEndToEnd {
    /// A timer journal with many chunks (a checkpoint every 50 events).
    func chunkyJournal(in dir: URL) throws -> (journal: String, dump: Dumped, map: ChunkScan) {
        let (r, journal) = try E2E.record(Fixtures.guest("timer"), in: dir, name: "full",
                                          options: ["--clock", "virtual", "--checkpoint-every", "50", "--quiet"])
        #expect(r.status == 0)
        let map = try ChunkScan(path: journal)
        try #require(map.eventChunks.count >= 6 && map.checkpointChunks.count >= 6 && map.indexChunk != nil)
        return (journal, try E2E.dump(journal), map)
    }

    @Test("a truncated journal dumps its readable prefix with a note, or fails in one line")
    func truncatedJournals() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, full, map) = try chunkyJournal(in: dir)
        let bytes = try E2E.read(journal)
        let mid = map.eventChunks[map.eventChunks.count / 2]
        let lastEvents = try #require(map.eventChunks.last)
        let index = try #require(map.indexChunk)
        let cuts = [0, 10, 100, map.headerEnd - 1, map.headerEnd, map.headerEnd + 10,
                    mid.offset + 25 + mid.payloadLength / 2, mid.end,
                    map.checkpointChunks[3].offset + 1000,
                    lastEvents.offset + 25 + lastEvents.payloadLength / 2, lastEvents.offset + 3,
                    index.offset, index.offset + 30, map.size - 10, map.size - 1]
        var prefixes = 0
        for cut in cuts {
            let path = dir.appendingPathComponent("cut\(cut).vmrr").path
            try E2E.write(Array(bytes[..<cut]), to: path)
            let r = try Fixtures.vmrr(["dump", "--json", path])
            #expect(r.exited && !r.timedOut, "cut at \(cut): ended by a signal")
            if cut < map.headerEnd {
                #expect(r.status == 2, "cut at \(cut) inside the header: \(r.stderr)")
                #expect(r.stderrLines.count == 1 && r.stderr.contains(path) && r.stderr.contains("offset"),
                        "cut at \(cut): \(r.stderr)")
                #expect(r.stdout.isEmpty)
                continue
            }
            #expect(r.status == 0, "cut at \(cut): \(r.stderr)")
            guard r.status == 0 else { continue }
            let lines = r.stdout.split(separator: "\n").map(String.init)
            let readable = Int(map.eventsReadable(cutAt: cut))
            #expect(lines.count == readable, "cut at \(cut): \(lines.count) events, expected the \(readable) in complete chunks")
            #expect(Array(full.lines.prefix(lines.count)) == lines, "cut at \(cut): not a prefix of the full dump")
            #expect(r.stderrLines.count == 1, "cut at \(cut): \(r.stderr)")
            #expect(r.stderr.contains(path) && r.stderr.contains("offset \(cut)") && r.stderr.contains("\(readable) events readable"),
                    "cut at \(cut): \(r.stderr)")
            prefixes += 1
        }
        #expect(prefixes >= 8)

        // A journal cut inside a chunk replays what it has, then says it was cut short.
        let cut = mid.offset + 25 + mid.payloadLength / 2
        let r = try Fixtures.vmrr(["replay", dir.appendingPathComponent("cut\(cut).vmrr").path])
        #expect(r.exited && r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("cut short"), "\(r.stderr)")
        let readable = map.eventsReadable(cutAt: cut)
        #expect(E2E.replayedRange(r.stderr)?.last == readable - 1, "\(r.stderr)")
        #expect(r.stdout == full.consoleText(from: 0, through: readable - 1))
    }

    @Test("a flipped bit is a one-line CRC error naming the offset")
    func bitFlips() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (journal, _, map) = try chunkyJournal(in: dir)
        let bytes = try E2E.read(journal)
        func flipped(_ offset: Int, _ name: String) throws -> String {
            var b = bytes
            b[offset] ^= 0x10
            let path = dir.appendingPathComponent("\(name).vmrr").path
            try E2E.write(b, to: path)
            return path
        }
        func expectOneLineError(_ r: Fixtures.Result, _ what: String, naming: [String],
                                sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.exited && r.status == 2, "\(what): status \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
            #expect(r.stderrLines.count == 1, "\(what): \(r.stderr)", sourceLocation: sourceLocation)
            for s in naming { #expect(r.stderr.contains(s), "\(what): no '\(s)' in \(r.stderr)", sourceLocation: sourceLocation) }
        }

        let header = try flipped(20, "header")
        expectOneLineError(try Fixtures.vmrr(["dump", "--json", header]), "header flip", naming: [header, "header CRC mismatch", "offset"])
        expectOneLineError(try Fixtures.vmrr(["replay", header]), "header flip (replay)", naming: [header, "CRC"])

        for (name, chunk) in [("middle", map.eventChunks[map.eventChunks.count / 2]), ("last", map.eventChunks.last!)] {
            let path = try flipped(chunk.offset + 25 + chunk.payloadLength / 2, name)
            expectOneLineError(try Fixtures.vmrr(["dump", "--json", path]), "\(name) events chunk",
                               naming: [path, "CRC mismatch", "offset \(chunk.offset)"])
            expectOneLineError(try Fixtures.vmrr(["replay", "--quiet", path]), "\(name) events chunk (replay)",
                               naming: [path, "CRC mismatch", "offset \(chunk.offset)"])
        }

        // A checkpoint is checked when it is used.
        let cp = map.checkpointChunks[4]
        let path = try flipped(cp.offset + 25 + cp.payloadLength / 2, "checkpoint")
        expectOneLineError(try Fixtures.vmrr(["replay", "--quiet", "--from-checkpoint", "\(cp.first)", path]),
                           "checkpoint \(cp.first)", naming: [path, "CRC mismatch", "offset \(cp.offset)"])
        expectOneLineError(try Fixtures.vmrr(["replay", "--quiet", "--verify", path]),
                           "checkpoint \(cp.first) (--verify)", naming: [path, "CRC mismatch", "offset \(cp.offset)"])

        let index = try flipped(map.indexChunk!.offset + 30, "index")
        expectOneLineError(try Fixtures.vmrr(["dump", "--json", index]), "index chunk", naming: [index, "CRC mismatch"])
    }

    @Test("files that are not journals, and images that are not usable ELFs")
    func notJournalsNotImages() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty").path
        try E2E.write([], to: empty)
        let source = E2E.guestsDir.appendingPathComponent("demo/demo.c").path
        let elf = Fixtures.guest("demo")
        let nowhere = dir.appendingPathComponent("missing.vmrr").path
        for (file, says) in [(source, "not a vmrr journal"), (elf, "not a vmrr journal"), (empty, "too short"), (nowhere, "No such file")] {
            for command in ["dump", "replay"] {
                let r = try Fixtures.vmrr([command, file])
                #expect(r.exited && r.status == 2, "\(command) \(file): \(r.stderr)")
                #expect(r.stderrLines.count == 1 && r.stderr.contains(file) && r.stderr.contains(says), "\(command) \(file): \(r.stderr)")
                #expect(r.stdout.isEmpty)
            }
        }

        var images: [String] = [source, empty, nowhere]
        let demo = try E2E.read(elf)
        func variant(_ name: String, _ bytes: [UInt8]) throws {
            let p = dir.appendingPathComponent(name).path
            try E2E.write(bytes, to: p)
            images.append(p)
        }
        try variant("truncated.elf", Array(demo.prefix(3000)))
        try variant("header-only.elf", Array(demo.prefix(64)))
        var arm = demo
        arm[18] = 0xb7                      // e_machine: AArch64
        try variant("aarch64.elf", arm)
        var elf32 = demo
        elf32[4] = 1                        // EI_CLASS: ELF32
        try variant("elf32.elf", elf32)
        var relocatable = demo
        relocatable[16] = 1                 // e_type: ET_REL
        try variant("relocatable.elf", relocatable)
        for image in images {
            let out = dir.appendingPathComponent("out.vmrr").path
            let r = try Fixtures.vmrr(["record", image, "-o", out])
            #expect(r.exited && r.status == 2, "record \(image): status \(r.status): \(r.stderr)")
            #expect(r.stderrLines.count == 1 && r.stderr.contains(image), "record \(image): \(r.stderr)")
        }
    }

    /// Under --clock host pending records are flushed by wall time, under
    /// --clock virtual every 256 events: either way a prefix survives.
    @Test("a recorder killed with SIGKILL leaves a readable, replayable prefix", arguments: ["host", "virtual"])
    func killedRecorder(clock: String) throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("killed.vmrr").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Fixtures.vmrrBinary)
        p.arguments = ["record", Fixtures.guest("exits"), "-o", journal, "--clock", clock, "--quiet", "--", "2000000"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Let it write a few chunks (about 1.5 s), then kill it.
        func size() -> Int { (try? FileManager.default.attributesOfItem(atPath: journal))?[.size] as? Int ?? 0 }
        let started = Date()
        Thread.sleep(forTimeInterval: 1.5)
        while Date().timeIntervalSince(started) < 20, size() < 300_000 {
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(p.isRunning, "the recording ended before it could be killed")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL)

        let r = try Fixtures.vmrr(["dump", "--json", journal])
        #expect(r.exited && r.status == 0, "\(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains("recorder was probably killed"), "\(r.stderr)")
        let d = try E2E.parse(r)
        let k = try #require(d.events.last?.index)
        #expect(k > 100, "only \(d.events.count) events survived")
        #expect(d.events.map(\.index) == Array(0...k), "events are not a prefix 0...k")
        #expect(d.events.first?.kind == "checkpoint" && d.of("end").isEmpty)
        // They are the loop's first iterations, in order.
        let port80: [UInt64?] = d.of("io").filter { $0.u("port") == 0x80 }.map { $0.u("value") }
        let loop: [UInt64?] = (0..<2_000_000).lazy.filter { $0 & 7 != 7 }.prefix(port80.count).map { UInt64($0 & 0xff) }
        #expect(!port80.isEmpty && port80 == loop)

        let rr = try Fixtures.vmrr(["replay", "--quiet", journal])
        #expect(rr.exited && rr.status == 0, "\(rr.stderr)")
        #expect(rr.stderr.contains("cut short") && !rr.stderr.contains("diverged"), "\(rr.stderr)")
        #expect(E2E.replayedRange(rr.stderr)?.start == 0 && E2E.replayedRange(rr.stderr)?.last == k, "\(rr.stderr)")
    }
}
