import Foundation
import Testing
import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRTestSupport

/// The recorder under faults (issue 18, "nothing recorded is lost"): killed
/// while the guest spins without exits, stopped by SIGHUP and SIGPIPE, a
/// second recorder on the same journal, and a journal path that names an
/// input. Every assertion is on the journal's events and the exit status,
/// never on host time: the tests wait for what the guest printed and for
/// events to appear, each wait bounded so that a broken recorder fails.
extension KVMEndToEnd {
    /// Events the spin guest makes before it stops exiting (300 port 0x80 writes).
    static let spinExits = 300
    static let spinLine = "spin: 300 exits, now spinning\n"

    /// Starts `vmrr record spin.elf -o journal` with `options` and waits until the guest spins.
    func startSpinning(_ journal: String, options: [String] = []) throws -> BackgroundProcess {
        let p = try BackgroundProcess(Fixtures.vmrrBinary, ["record", Fixtures.guest("spin"), "-o", journal, "--quiet"] + options)
        let spinning = BackgroundProcess.poll(timeout: 120) { p.stdout.contains("now spinning") }
        try #require(spinning, "the spin guest never said it spins: \(p.stderr)")
        // The line reaches stdout at the exit of its newline, a few instructions before the spin: a
        // signal sent at once may still find the recorder at that exit (it failed that way once under
        // load). The spin is certain once the recorder has used 300 ms more CPU (about 300,000 guest
        // instructions at this host's ring-0 speed, far more than the path from the line to the loop).
        let start = Self.cpuTicks(p.pid)
        let inSpin = BackgroundProcess.poll(timeout: 120) { Self.cpuTicks(p.pid) >= start + 30 }
        try #require(inSpin, "the recorder used no CPU after the spin began: \(p.stderr)")
        return p
    }

    /// The process's user plus system time, in clock ticks (/proc/PID/stat fields 14 and 15; 100 per second).
    static func cpuTicks(_ pid: pid_t) -> UInt64 {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command's closing parenthesis: field 3 (state) is index 0, so 14 and 15 are 11 and 12.
        guard fields.count > 12, let u = UInt64(fields[11]), let s = UInt64(fields[12]) else { return 0 }
        return u + s
    }

    /// The journal as it is on disk now, read in process (nil while unreadable).
    static func consoleInJournal(_ path: String) -> String? {
        guard let r = try? JournalReader(path: path), let d = try? Fixtures.vmrr(["dump", "--json", path]), d.status == 0,
              r.eventCount > 0, let parsed = try? E2E.parse(d) else { return nil }
        return parsed.consoleText
    }

    @Test("SIGKILL while the guest spins without exits: the journal keeps every event before the spin and replays",
          arguments: ["host", "virtual"])
    func sigkillWhileSpinning(clock: String) throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("spin.vmrr").path
        let p = try startSpinning(journal, options: ["--clock", clock])
        // The vCPU thread sits in KVM_RUN from here on; only the publishing thread can put the
        // pending events on disk. Without it they stay in memory (fewer than a chunk's 4096).
        let published = BackgroundProcess.poll(timeout: 60) { Self.consoleInJournal(journal) == Self.spinLine }
        p.signal(SIGKILL)
        #expect(p.wait(timeout: 60) == 128 + SIGKILL)
        #expect(published, "the events before the spin never reached the journal")
        let d = try E2E.dump(journal)
        #expect(d.consoleText == Self.spinLine)
        #expect(d.of("io").filter { $0.u("port") == 0x80 }.count == Self.spinExits)
        #expect(d.end == nil)
        let replay = try Fixtures.vmrr(["replay", journal])
        #expect(replay.status == 0 && replay.stderr.contains("cut short"), "\(replay.stderr)")
        #expect(replay.stdout == Self.spinLine)
    }

    @Test("SIGHUP, SIGINT and SIGTERM while the guest spins end the recording with an end record",
          arguments: [SIGHUP, SIGINT, SIGTERM])
    func stopSignalWhileSpinning(signal: Int32) throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("spin.vmrr").path
        // Without preemption the spin is one KVM_RUN, so the signal certainly lands between exits (with
        // it, a signal could land while a preemption point is journaled, and the replay would end there).
        let p = try startSpinning(journal, options: ["--preempt-ms", "0"])
        p.signal(signal)
        #expect(p.wait(timeout: 60) == ExitStatus.interrupted, "\(p.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: ExitStatus.interrupted, reason: "interrupted")
        #expect(d.consoleText == Self.spinLine)
        // Stopped between exits: replay checks every event up to the last exit.
        let replay = try Fixtures.vmrr(["replay", journal])
        #expect(replay.status == 0 && replay.stderr.contains("stopped between exits"), "\(replay.stderr)")
        #expect(replay.stdout == Self.spinLine)
    }

    @Test("SIGPIPE (stdout's reader gone) ends the recording with an end record")
    func sigpipeEndsTheRecording() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("exits.vmrr").path
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        close(fds[0])   // no reader: the guest's first console line raises SIGPIPE
        let p = try BackgroundProcess(Fixtures.vmrrBinary, ["record", Fixtures.guest("exits"), "-o", journal, "--quiet",
                                                            "--clock", "virtual", "--", "500"], stdoutFD: fds[1])
        close(fds[1])
        #expect(p.wait(timeout: 120) == ExitStatus.interrupted, "\(p.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: ExitStatus.interrupted, reason: "interrupted")
        #expect(d.consoleText == "exits: 500 exits\n")
        let replay = try Fixtures.vmrr(["replay", journal, "--quiet"])
        #expect(replay.status == 0, "\(replay.stderr)")
    }

    @Test("a second recorder on the same journal is refused and leaves the first one's journal whole")
    func secondRecorderIsRefused() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("spin.vmrr").path
        let p = try startSpinning(journal)
        let second = try Fixtures.vmrr(["record", Fixtures.guest("demo"), "-o", journal])
        #expect(second.status == ExitStatus.unusableInput && second.stderrLines.count == 1, "\(second.stderr)")
        #expect(second.stderr.contains("another vmrr is writing this journal"), "\(second.stderr)")
        p.signal(SIGINT)
        #expect(p.wait(timeout: 60) == ExitStatus.interrupted)
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: ExitStatus.interrupted)
        #expect(d.consoleText == Self.spinLine)
    }

    @Test("a journal path naming an input (the image, --input, --module, --initrd) is refused before anything is written")
    func outputEqualToAnInputIsRefused() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = dir.appendingPathComponent("demo.elf").path
        try FileManager.default.copyItem(atPath: Fixtures.guest("demo"), toPath: image)
        let original = try FileIO.read(image)
        let link = dir.appendingPathComponent("link.elf").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: image)
        let input = dir.appendingPathComponent("input.txt").path
        let fresh = dir.appendingPathComponent("new.vmrr").path
        let cases: [([String], String)] = [
            (["record", image, "-o", image], "the guest image"),
            (["record", image, "-o", link], "the guest image"),
            (["record", image, "-o", fresh, "--input", dir.path + "/./new.vmrr"], "the --input file"),
            (["record", image, "-o", fresh, "--console", fresh], "the --console file"),
            (["record", Fixtures.guest("multiboot"), "-o", image, "--module", image + ",args"], "a --module"),
            (["record", image, "-o", input, "--initrd", input], "the --initrd"),
        ]
        try Data("x".utf8).write(to: URL(fileURLWithPath: input))
        for (args, what) in cases {
            let r = try Fixtures.vmrr(args)
            #expect(r.status == ExitStatus.unusableInput && r.stderrLines.count == 1, "\(args): \(r.stderr)")
            #expect(r.stderr.contains("would overwrite \(what)"), "\(args): \(r.stderr)")
        }
        #expect(try FileIO.read(image) == original)
        #expect(try FileIO.readText(input) == "x")
        #expect(!FileManager.default.fileExists(atPath: fresh))
    }

    @Test("--input /dev/zero is read to a stated limit, then refused on one line")
    func endlessConsoleInputIsBounded() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try Fixtures.vmrr(["record", Fixtures.guest("demo"), "-o", dir.appendingPathComponent("d.vmrr").path,
                                   "--input", "/dev/zero"])
        #expect(r.status == ExitStatus.unusableInput && r.stderrLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("longer than 64 MiB"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("d.vmrr").path), "a refused input left a journal")
    }
}
