import Foundation
import Testing
import VMRRTestSupport
import VMRRBase
import VMRRJournal

/// The checks of the one-vCPU cost and of repetition (issue 15):
/// the smp fixture records and replays identically many times in a row
/// under both clocks, and a one-vCPU journal of every fixture is the size it
/// was before format version 3.
extension KVMEndToEnd {
    /// Rounds per configuration: 20 (the count) under
    /// VMRR_LONG_TESTS=1; 3 otherwise, since 4 configurations x 20 rounds of
    /// a record and a replay take several minutes on a loaded 2-core host.
    static let smpRounds = ProcessInfo.processInfo.environment["VMRR_LONG_TESTS"] != nil ? 20 : 3

    @Test("the smp fixture with 2 and 4 vCPUs records and replays identically many times in a row under both clocks (20 with VMRR_LONG_TESTS=1)",
          arguments: [("2", "virtual"), ("4", "virtual"), ("2", "host"), ("4", "host")])
    func smpRecordsAndReplaysRepeatedly(_ setup: (cpus: String, clock: String)) throws {
        let dir = Fixtures.scratch("smp-rounds-\(setup.cpus)-\(setup.clock)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cpus = Int(setup.cpus)!
        var firstEvents: String?
        for round in 0..<Self.smpRounds {
            let (r, journal) = try E2E.record(Fixtures.guest("smp"), in: dir, name: "smp",
                                              options: ["--cpus", setup.cpus, "--clock", setup.clock, "--quiet"])
            #expect(r.status == 1, "round \(round): status \(r.status): \(r.stderr)")
            #expect(r.stdout.contains("smp: counter \(cpus * 40) (expected \(cpus * 40))"), "round \(round): \(r.stdout)")
            let replay = try Fixtures.vmrr(["replay", journal])
            #expect(replay.status == ExitStatus.replayedIdentically && replay.stdout == r.stdout,
                    "round \(round): replay status \(replay.status): \(replay.stderr)")
            // Under the virtual clock every round schedules the same way: the same events, the same registers.
            if setup.clock == "virtual" {
                let events = try Fixtures.vmrr(["dump", "--json", "--registers", journal]).stdout
                if let firstEvents { #expect(events == firstEvents, "round \(round) recorded other events than round 0") }
                else { firstEvents = events }
            }
            if r.status != 1 || replay.status != ExitStatus.replayedIdentically { break }
        }
    }

    /// One record line of fixtures/journals/record-all.sh: the journal's
    /// name, the guest, the expected status, the record options and the
    /// guest arguments.
    struct RecordLine {
        var name: String, guest: String, status: Int32, options: [String], guestArgs: [String]
    }

    /// The one-vCPU lines of record-all.sh, so that the re-recording uses
    /// exactly the options the committed journals were made with ($dir is
    /// fixtures/journals, relative to the root).
    static func oneVCPURecordLines() throws -> [RecordLine] {
        let script = try String(contentsOf: E2E.journalsDir.appendingPathComponent("record-all.sh"), encoding: .utf8)
        return script.split(separator: "\n").compactMap { line -> RecordLine? in
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard words.count >= 4, words[0] == "record", let status = Int32(words[3]), !words.contains("--cpus") else { return nil }
            let rest = words.dropFirst(4).map { $0.replacingOccurrences(of: "\"$dir/", with: "fixtures/journals/").replacingOccurrences(of: "\"", with: "") }
            let dash = rest.firstIndex(of: "--")
            return RecordLine(name: words[1], guest: words[2], status: status,
                              options: dash.map { Array(rest[..<$0]) } ?? rest, guestArgs: dash.map { Array(rest[($0 + 1)...]) } ?? [])
        }
    }

    /// Before format version 3: each one-vCPU journal of record-all.sh as the
    /// vmrr of commit cd8882e (the last before version 3) recorded it on
    /// 2026-12-02, with record-all.sh's options and the image path relative
    /// to the repository root: its events, the bytes of its events chunks
    /// (frames included) and the file's size. The platform fixture is left
    /// out: its guest now uses devices that vmrr did not have then (NMI,
    /// warm reset), so it runs differently. To re-measure: `git archive
    /// cd8882e | tar -x -C DIR`, `swift build --product vmrr` there, then
    /// record each line of record-all.sh with that vmrr from this root.
    static let beforeV3: [String: (events: UInt64, eventBytes: UInt64, file: UInt64)] = [
        "demo": (296, 2471, 87876), "paging": (804, 7090, 201_686), "timer": (687, 6023, 114_553),
        "echo": (462, 4463, 85743), "bug": (239, 2124, 87439), "exits": (1042, 9890, 117_052),
        "strict": (4, 164, 81409), "multiboot": (1705, 15014, 133_714), "assist": (836, 7101, 119_762),
        "noassist": (450, 3996, 93445), "pcdev": (1876, 16542, 146_941), "lockstep": (1709, 13827, 131_907),
        "tsc": (967, 7721, 103_987), "spin": (364, 2416, 87778), "bench": (404, 3722, 101_376),
        "hostile": (36, 416, 85766),
    ]

    /// The issue: "a one-vCPU journal of every existing fixture is unchanged
    /// in size within 1% (the vCPU field must cost nothing for N = 1)".
    /// This vmrr records every one-vCPU line of record-all.sh as that script
    /// does (from the root, the image path relative, since a multiboot guest
    /// prints its command line); each journal must have the same events as
    /// before version 3, its events chunks and the whole file no more than
    /// 1% larger than then. (Format 2, measured then: equal event bytes, files
    /// 10 to 20 bytes apart, from the paths and the version string in the
    /// header. Format 4, since 2026-12-03, predicts register deltas, so its
    /// events chunks are smaller.)
    @Test("a one-vCPU journal of every fixture has its events, and sizes no more than 1% above the vmrr before format version 3")
    func oneVCPUJournalsKeepTheirSize() throws {
        let dir = Fixtures.scratch("one-vcpu-size")
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = try Self.oneVCPURecordLines().filter { $0.name != "platform" }
        #expect(Set(lines.map(\.name)) == Set(Self.beforeV3.keys), "record-all.sh's one-vCPU journals changed: re-measure beforeV3")
        for line in lines {
            guard let before = Self.beforeV3[line.name] else { continue }
            let journal = dir.appendingPathComponent("\(line.name).vmrr").path
            var args = ["-C", Fixtures.root.path, Fixtures.vmrrBinary, "record", "fixtures/guests/\(line.guest)/\(line.guest).elf", "-o", journal,
                        "--clock", "virtual", "--checkpoint-every", "500", "--quiet"] + line.options
            if !line.guestArgs.isEmpty { args += ["--"] + line.guestArgs }
            let r = try Fixtures.run("/usr/bin/env", args, stdin: "")
            #expect(r.status == line.status, "\(line.name): status \(r.status), expected \(line.status): \(r.stderr)")
            let reader = try JournalReader(path: journal)
            #expect(reader.formatVersion == JournalFormat.version, "\(line.name): format version \(reader.formatVersion)")
            #expect(reader.eventCount == before.events, "\(line.name): \(reader.eventCount) events, \(before.events) before v3")
            #expect(reader.eventBytes * 100 <= before.eventBytes * 101,
                    "\(line.name): \(reader.eventBytes) bytes of events chunks, \(before.eventBytes) before v3")
            #expect(reader.fileSize * 100 <= before.file * 101,
                    "\(line.name): \(reader.fileSize) bytes, \(before.file) before v3")
            print("one-vCPU journal \(line.name): \(reader.eventBytes) bytes of events chunks (\(before.eventBytes) in format 2), \(reader.fileSize) bytes (\(before.file))")
        }
    }
}
