import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRReplay
import VMRRTestSupport

/// fuzz/hostile: one reproducer for each hostile input of issue 18, and what
/// every reading command must do with it: a one-line error with status 2, or
/// a clean result, within a budget, with no control characters on stderr
/// (fuzz/hostile/README.md lists them). The files are made by `generate`
/// (VMRR_WRITE_HOSTILE_CORPUS=1) from the committed pcdev journal and guest.
struct HostileCorpusTests {
    static let dir = Fixtures.root.appendingPathComponent("fuzz/hostile")

    /// What the reading commands must do with each file.
    enum Outcome {
        /// Every command refuses it: status 2, one line.
        case refused
        /// `dump` shows the header (and no events); every other command refuses it.
        case shownByDumpOnly
        /// Every command reads it cleanly (`unpack` refuses an image failing its SHA-256).
        case readable
    }
    static let expectations: [String: Outcome] = [
        "zero-events.vmrr": .shownByDumpOnly,
        "ram-near-2e64.vmrr": .refused,
        "checkpoint-crc.vmrr": .refused,
        "events-crc.vmrr": .refused,
        "escapes-in-header.vmrr": .readable,
        "overlapping-entries.vmrrpack": .refused,
        "repeated-entry.vmrrpack": .refused,
        "header-names.vmrrpack": .readable,
        "image-sha-mismatch.vmrrpack": .readable,
        "zero-runs-1tib.vmrr": .refused,
        "zero-runs-10k.vmrr": .readable,
        "zero-runs-100k.vmrr": .readable,
        "zero-runs-64g-50.vmrr": .readable,
        "zero-runs-many.vmrr": .readable,
        "forged-checkpoint-spins.vmrr": .readable,
    ]

    /// The committed timer journal with checkpoint 1 forged: the code page
    /// at its RIP now holds `jmp .` there. Every checksum is right (the file
    /// is written by the writer), the checkpoint's registers match its
    /// event, and a replay started there never exits again.
    static func forgedCheckpoint(path: String) throws {
        let reader = try JournalReader(path: Fixtures.journalsDir.appendingPathComponent("timer.vmrr").path)
        let w = try JournalWriter(path: path, header: reader.header)
        try reader.forEachEvent { r in
            try w.append(r.event, regs: r.regs)
            if case let .checkpoint(id) = r.event {
                var c = try reader.checkpoint(id: id)
                if id == 1 {
                    let rip = c.state.regs.rip, page = rip & ~(Checkpoint.pageSize - 1)
                    var bytes = try #require(JournalMemory(reader: reader, checkpoint: 1).readBytes(page, count: Int(Checkpoint.pageSize)))
                    bytes[Int(rip - page)] = 0xEB; bytes[Int(rip - page) + 1] = 0xFE   // jmp .
                    c.pages.removeAll { $0.gpa == page }
                    c.pages.append(PageRecord(gpa: page, bytes: bytes))
                }
                try w.appendCheckpoint(c)
            }
            return true
        }
        try w.finish()
    }

    /// Zero-run bombs: a minimal header declaring `memory` bytes of RAM,
    /// checkpoint 0 full and empty, then `count` checkpoints each naming all
    /// of RAM as zero runs (`runs` runs per RAM range, pieces with one-page
    /// gaps when more than one), each after its checkpoint event.
    static func zeroRunBomb(path: String, memory: UInt64, count: Int, runs: Int = 1) throws {
        var h = JournalHeader()
        h.memorySize = memory
        // The spin guest, so that replay (given --image) gets as far as restoring checkpoints.
        h.imagePath = "/nonexistent/spin.elf"
        h.imageSHA256 = SHA256.hash(try FileIO.read(Fixtures.guest("spin")))
        h.cpuidSet = [CPUIDEntry(function: 0, index: 0, flags: 0, eax: 1, ebx: 0, ecx: 0, edx: 0)]
        h.clock = .virtual
        let w = try JournalWriter(path: path, header: h)
        let ranges: [Range<UInt64>] = memory <= 3 << 30 ? [0..<memory] : [0..<(3 << 30), (4 << 30)..<(memory + (1 << 30))]
        for id in 0...count {
            let at = try w.append(.checkpoint(id: UInt32(id)), regs: GPRegisters())
            var zero: [ZeroRun] = []
            if id > 0 {
                for r in ranges {
                    let pages = UInt64(r.count) / 4096
                    let step = pages / UInt64(runs)
                    for k in 0..<UInt64(runs) {
                        let n = runs == 1 ? pages : 1
                        zero.append(ZeroRun(gpa: r.lowerBound + k * step * 4096, count: n))
                    }
                }
            }
            try w.appendCheckpoint(Checkpoint(id: UInt32(id), eventIndex: at, full: id == 0, state: VCPUState(), pages: [],
                                              zeroRuns: zero))
        }
        try w.finish()
    }

    @Test func generate() throws {
        guard ProcessInfo.processInfo.environment["VMRR_WRITE_HOSTILE_CORPUS"] == "1" else { return }
        let reader = try JournalReader(path: Fixtures.root.appendingPathComponent("fuzz/corpus/seed-checkpoints.vmrr").path)
        let image = Array(String(repeating: "the image of a hostile bundle\n", count: 8).utf8)
        let tmp = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: tmp) }
        func rewritten(_ edit: (inout JournalHeader) -> Void) throws -> [UInt8] {
            var h = reader.header
            h.imageSHA256 = SHA256.hash(image)
            edit(&h)
            let p = tmp.appendingPathComponent("r.vmrr").path
            try JournalRewrite.write(reader, header: h, to: p)
            return try FileIO.read(p)
        }
        func put(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: Self.dir.appendingPathComponent(name)) }
        let plain = try rewritten { $0.imagePath = "/nonexistent/image.elf" }
        // A recorder killed right after the header.
        let w = try JournalWriter(path: tmp.appendingPathComponent("z.vmrr").path, header: reader.header)
        try w.flush()
        try put("zero-events.vmrr", try FileIO.read(tmp.appendingPathComponent("z.vmrr").path))
        try put("ram-near-2e64.vmrr", try rewritten { $0.memorySize = UInt64.max - 4095 })
        try put("escapes-in-header.vmrr", try rewritten {
            $0.imagePath = "/tmp/\u{1b}]0;owned\u{07}\u{1b}[2J\nfake.elf"; $0.hostCPU = String(repeating: "A", count: 10_000)
        })
        let chunks = OneJournalCheckTests.chunks(plain)
        for (type, name) in [(UInt8(2), "checkpoint-crc.vmrr"), (1, "events-crc.vmrr")] {
            var b = plain
            let c = try #require(chunks.last { $0.type == type })
            b[c.offset + 25 + c.length / 2] ^= 0x04
            try put(name, b)
        }
        let bundle = VMRRBundle(manifest: "hostile\n", journal: plain, image: image).encode()
        var overlapping = bundle
        // Entry 2 (image.elf) points at entry 1's bytes.
        for k in 0..<8 { overlapping[16 + 2 * 64 + 32 + k] = overlapping[16 + 64 + 32 + k] }
        try put("overlapping-entries.vmrrpack", overlapping)
        var repeated = bundle
        for k in 0..<32 { repeated[16 + 2 * 64 + k] = repeated[16 + 64 + k] }
        try put("repeated-entry.vmrrpack", repeated)
        let named = try rewritten { $0.imagePath = "/x/../../.bashrc" }
        try put("header-names.vmrrpack", VMRRBundle(manifest: "hostile\n", journal: named, image: image).encode())
        for (name, memory, count, runs) in [("zero-runs-1tib.vmrr", UInt64(1) << 40, 1, 1), ("zero-runs-10k.vmrr", 64 << 30, 20, 1),
                                            ("zero-runs-100k.vmrr", 64 << 30, 200, 1), ("zero-runs-64g-50.vmrr", 64 << 30, 50, 1),
                                            ("zero-runs-many.vmrr", 64 << 30, 1, 8_000)] {
            let p = tmp.appendingPathComponent(name).path
            try Self.zeroRunBomb(path: p, memory: memory, count: count, runs: runs)
            try put(name, try FileIO.read(p))
        }
        let forged = tmp.appendingPathComponent("forged.vmrr").path
        try Self.forgedCheckpoint(path: forged)
        try put("forged-checkpoint-spins.vmrr", try FileIO.read(forged))
        var other = image
        other[other.count / 2] ^= 1
        try put("image-sha-mismatch.vmrrpack", VMRRBundle(manifest: "hostile\n", journal: plain, image: other).encode())
    }

    /// Zero runs stay ranges: each bomb (up to 200 checkpoints each naming
    /// 64 GiB of zero pages, or 16,000 runs) costs every command that reads
    /// checkpoints less than 64 MiB resident, replay from a late checkpoint
    /// included. (Before, 25 KB cost 3.4 GB and minutes; the CPU budget here
    /// is a bound for a hang, not a timing.)
    @Test func zeroRunBombsStayRanges() throws {
        let scratch = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        try Data("info registers\nnext-event\ngoto end\nx/4gx $rsp\ngoto 0\n".utf8).write(to: scratch.appendingPathComponent("script"))
        var commands: [[String]] = [["debug", "--no-kvm", "--batch", "-x", scratch.appendingPathComponent("script").path],
                                    ["mmu", "--no-kvm", "pt", "0x100000"], ["mmu", "--no-kvm", "--at", "3", "ptdump"],
                                    ["dump", "--summary"]]
        if Fixtures.kvmAvailable {
            commands.append(["replay", "--image", Fixtures.guest("spin")])
            commands.append(["replay", "--image", Fixtures.guest("spin"), "--from-event", "15"])
        }
        for name in ["zero-runs-10k.vmrr", "zero-runs-100k.vmrr", "zero-runs-64g-50.vmrr", "zero-runs-many.vmrr"] {
            let file = Self.dir.appendingPathComponent(name).path
            for args in commands {
                // Address space is not the budget (a 64 GiB guest maps 64 GiB); resident memory is.
                let r = try BudgetedRun.run(Fixtures.vmrrBinary, [args[0], file] + args.dropFirst(), memoryMiB: 1 << 20,
                                            cpuSeconds: 30, wallSeconds: 300, scratch: scratch)
                let what = "\(args.prefix(3).joined(separator: " ")) on \(name)"
                #expect(r.signal == nil && !r.hung && [0, 2, 3].contains(r.status), "\(what): status \(r.status): \(r.stderr.prefix(300))")
                #expect(r.maxRSSKiB < 64 << 10, "\(what): \(r.maxRSSKiB) KiB resident")
            }
        }
    }

    /// The replay watchdog: a forged checkpoint that puts the guest in a
    /// loop without exits used to replay forever. It ends with status 3 and
    /// one line naming the event it waited for, RIP and the last exit.
    @Test(.enabled(if: Fixtures.kvmAvailable)) func watchdogStopsAReplayThatMakesNoProgress() throws {
        let scratch = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let file = Self.dir.appendingPathComponent("forged-checkpoint-spins.vmrr").path
        let r = try BudgetedRun.run(Fixtures.vmrrBinary, ["replay", file, "--image", Fixtures.guest("timer"), "--from-checkpoint", "1",
                                                          "--watchdog", "2", "-q"],
                                    memoryMiB: 1 << 20, cpuSeconds: 600, wallSeconds: 600, scratch: scratch)
        #expect(r.signal == nil && !r.hung)
        #expect(r.status == ExitStatus.divergence, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("replay watchdog: no journal event consumed for 2 s of host time: stopped after event 501, waiting for event 502 (io), at rip 0x10005d"),
                "\(r.stderr)")
    }

    @Test func everyCommandEndsCleanlyOnEveryReproducer() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.dir.path).filter { !$0.hasSuffix(".md") }.sorted()
        #expect(Set(files) == Set(Self.expectations.keys), "fuzz/hostile holds \(files)")
        for name in files {
            let outcome = try #require(Self.expectations[name])
            let scratch = Fixtures.scratch()
            defer { try? FileManager.default.removeItem(at: scratch) }
            let file = Self.dir.appendingPathComponent(name).path
            try Data(CLIFuzzTests.debugScript.utf8).write(to: scratch.appendingPathComponent("script"))
            for (command, _, args) in CLIFuzzTests.commands(replay: false, record: false) {
                let r = try BudgetedRun.run(Fixtures.vmrrBinary, args(file, scratch), memoryMiB: 1024, cpuSeconds: 60,
                                            wallSeconds: 300, scratch: scratch)
                let what = "\(command) on \(name)"
                #expect(r.signal == nil && !r.hung, "\(what): signal \(r.signal ?? 0): \(r.stderr.prefix(300))")
                #expect(!r.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(what): control characters")
                #expect(!r.stderr.split(separator: "\n").contains { $0.count > 2100 }, "\(what): an overlong line")
                #expect(!r.stderr.contains("0x0x"), "\(what): a doubled hex prefix: \(r.stderr.prefix(300))")
                let refused = outcome == .refused || (outcome == .shownByDumpOnly && !command.hasPrefix("dump"))
                    || (command == "unpack" && name == "image-sha-mismatch.vmrrpack")
                if refused {
                    #expect(r.status == ExitStatus.unusableInput && r.stderr.split(separator: "\n").count == 1,
                            "\(what): status \(r.status): \(r.stderr.prefix(500))")
                } else {
                    #expect(Set(ExitStatus.documented.map(\.status)).contains(r.status), "\(what): status \(r.status)")
                }
            }
            let out = scratch.appendingPathComponent("out").path
            let written = Set((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [])
            #expect(written.isSubset(of: ["case.vmrr", "case.image", "case.manifest.txt", "\(name.split(separator: ".")[0]).vmrr",
                                          "\(name.split(separator: ".")[0]).image", "\(name.split(separator: ".")[0]).manifest.txt"]),
                    "unpack of \(name) wrote \(written.sorted())")
        }
    }
}
