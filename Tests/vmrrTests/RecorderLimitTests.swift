import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRTestSupport

/// More recorder faults (issue 18): SIGQUIT, a file-size limit standing in
/// for a full disk, and readers of a journal that is still being written.
/// A full disk is `ulimit -f` here (RLIMIT_FSIZE, set by /bin/sh before it
/// execs vmrr): mounting a small tmpfs needs privileges a test cannot
/// assume, and the recorder sees the same thing either way, a write(2) that
/// fails (EFBIG instead of ENOSPC; SIGXFSZ is ignored). Assertions are on
/// statuses and events, never on host time.
extension KVMEndToEnd {
    @Test("SIGQUIT while the guest spins ends the recording as SIGTERM does: an end record, status 133, and it replays")
    func sigquitWhileSpinning() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("spin.vmrr").path
        let p = try startSpinning(journal, options: ["--clock", "virtual"])
        p.signal(SIGQUIT)
        #expect(p.wait(timeout: 120) == ExitStatus.interrupted, "\(p.stderr)")
        let d = try E2E.dump(journal)
        #expect(d.of("io").filter { $0.u("port") == 0x80 }.count == Self.spinExits)
        E2E.checkShape(d, status: ExitStatus.interrupted, reason: "interrupted")
        let replay = try Fixtures.vmrr(["replay", journal, "--image", Fixtures.guest("spin")])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout == Self.spinLine)
    }

    @Test("a file-size limit (a full disk) mid-recording: one line, status 2, and a journal that replays")
    func fileSizeLimitMidRecording() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("echo.vmrr").path
        let input = Fixtures.journalsDir.appendingPathComponent("echo.input").path
        // 60 KiB: checkpoint 0 fits, the final checkpoint does not.
        let r = try Fixtures.spawn("/bin/sh", ["-c", "ulimit -f 60 && exec \"$0\" \"$@\"", Fixtures.vmrrBinary, "record", Fixtures.guest("echo"),
                                               "--clock", "virtual", "--input", input, "-o", journal, "--quiet"])
        #expect(r.status == ExitStatus.unusableInput, "status \(r.status): \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && r.stderr.contains("File too large"), "\(r.stderr)")
        let reader = try JournalReader(path: journal)
        #expect(reader.eventCount >= 1, "the events before the limit are readable")
        let replay = try Fixtures.vmrr(["replay", journal, "--image", Fixtures.guest("echo"), "-q"])
        #expect(replay.status == 0 && replay.stderr.contains("cut short"), "\(replay.stderr)")
    }

    @Test("readers of a journal being written get a result or one line, never a crash")
    func readersWhileRecording() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("spin.vmrr").path
        let p = try startSpinning(journal, options: ["--clock", "virtual"])
        defer { p.signal(SIGKILL); _ = p.wait(timeout: 60) }
        let script = dir.appendingPathComponent("script").path
        try "goto end\ninfo registers\n".write(toFile: script, atomically: true, encoding: .utf8)
        for args in [["dump", "--summary"], ["dump", "--json"], ["debug", "--no-kvm", "--batch", "-x", script],
                     ["mmu", "--no-kvm", "pt", "0x100000"], ["replay", "-q", "--image", Fixtures.guest("spin")]] {
            let r = try Fixtures.vmrr([args[0], journal] + args.dropFirst())
            #expect([0, 2, 3].contains(r.status), "\(args): status \(r.status): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").allSatisfy { !$0.hasPrefix("Fatal error") && !$0.contains("Program crashed") },
                    "\(args): \(r.stderr)")
        }
    }
}
