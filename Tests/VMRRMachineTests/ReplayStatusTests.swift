import Foundation
import Testing
import VMRRBase

/// `vmrr replay`'s exit status means one thing (README, "Replay as a
/// regression check in your CI"): 0 identical, 3 diverged, 2 unusable, 4 only
/// a `--verify` digest differs; `--exit-with-guest-status` passes the
/// guest's own status on. And no false passes: another build is never
/// reported as passing from a checkpoint whose memory replaced it.
extension KVMEndToEnd {
    /// The committed multiboot journal: its guest passes and ends with
    /// isa-debug-exit status 1.
    var multibootJournal: String { E2E.journalsDir.appendingPathComponent("multiboot.vmrr").path }

    /// A copy of the multiboot fixture with one byte of `string` (in
    /// .rodata) changed: another SHA-256, the same code.
    func multibootVariant(changing string: String, in dir: URL, name: String) throws -> String {
        var bytes = try E2E.read(Fixtures.guest("multiboot"))
        let needle = Array(string.utf8)
        let hits = (0...(bytes.count - needle.count)).filter { Array(bytes[$0..<$0 + needle.count]) == needle }
        try #require(hits.count == 1, "\"\(string)\" occurs \(hits.count) times in multiboot.elf")
        bytes[hits[0]] ^= 0x20   // an ASCII letter's case
        let path = dir.appendingPathComponent(name).path
        try E2E.write(bytes, to: path)
        // The loader still accepts it (it records, and passes).
        let recorded = try Fixtures.vmrr(["record", "--quiet", path, "-o", dir.appendingPathComponent("\(name).vmrr").path])
        #expect(recorded.status == 1, "the variant does not run as the fixture does: \(recorded.stderr)")
        return path
    }

    @Test("a guest that ends with status 1 replays with exit 0 and names its status; --exit-with-guest-status gives 1")
    func guestStatusIsReportedNotPassedThrough() throws {
        let image = Fixtures.guest("multiboot")
        let summary = try Fixtures.vmrr(["dump", "--summary", multibootJournal])
        #expect(summary.stdout.contains("end:            debug-exit, status 1"), "\(summary.stdout)")
        let console = try FileIO.readText(E2E.journalsDir.appendingPathComponent("multiboot.console").path)

        let plain = try Fixtures.vmrr(["replay", "--image", image, multibootJournal])
        #expect(plain.exited && plain.status == ExitStatus.replayedIdentically, "\(plain.stderr)")
        #expect(plain.stdout == console)
        #expect(plain.stderrLines.count == 1 && plain.stderr.contains("identically")
                && plain.stderr.contains("; guest status 1 (debug-exit)"), "\(plain.stderr)")

        let passed = try Fixtures.vmrr(["replay", "--quiet", "--exit-with-guest-status", "--image", image, multibootJournal])
        #expect(passed.exited && passed.status == 1, "\(passed.stderr)")

        // --until stops before the guest's end: 0, with or without the flag.
        let until = try Fixtures.vmrr(["replay", "--quiet", "--exit-with-guest-status", "--until", "100", "--image", image, multibootJournal])
        #expect(until.exited && until.status == 0 && until.stderr.contains("stopped after event 100"), "\(until.stderr)")
        #expect(!until.stderr.contains("guest status"), "the guest did not end: \(until.stderr)")
    }

    @Test("--image of another build from a checkpoint other than 0 is refused (exit 2); the recorded image is not")
    func anotherBuildFromACheckpointIsRefused() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = try multibootVariant(changing: "WRONG", in: dir, name: "other.elf")
        let d = try E2E.dump(multibootJournal)
        let cps = d.checkpoints
        try #require(cps.count >= 3)
        for (args, option) in [(["--from-checkpoint", "1"], "--from-checkpoint 1"),
                               (["--from-event", "\(cps[2].index + 3)"], "--from-event \(cps[2].index + 3)")] {
            let r = try Fixtures.vmrr(["replay", "--image", other] + args + [multibootJournal])
            #expect(r.exited && r.status == ExitStatus.unusableInput, "\(args): \(r.stderr)")
            #expect(r.stderrLines.count == 1, "one line: \(r.stderr)")
            #expect(r.stderr.contains(option) && r.stderr.contains("memory replaces the image") && r.stderr.contains(other)
                    && r.stderr.contains("replay from the start, or without --image"), "\(r.stderr)")
            #expect(!r.stderr.contains("identically") && r.stdout.isEmpty)
        }
        // From the boot, the other build runs (its code is the same: it passes); checkpoint 0 is the boot.
        for args in [[String](), ["--from-checkpoint", "0"], ["--from-event", "\(cps[1].index - 1)"]] {
            let r = try Fixtures.vmrr(["replay", "--quiet", "--image", other] + args + [multibootJournal])
            #expect(r.exited && r.status == 0 && r.stderr.contains("not the recorded image")
                    && r.stderr.contains("guest status 1 (debug-exit)"), "\(args): \(r.stderr)")
        }
        // The recorded image from a checkpoint stays allowed.
        let exits = E2E.journalsDir.appendingPathComponent("exits.vmrr").path
        let same = try Fixtures.vmrr(["replay", "--quiet", "--from-checkpoint", "1", "--image", Fixtures.guest("exits"), exits])
        #expect(same.exited && same.status == 0 && same.stderr.contains("guest status 0 (debug-exit)"), "\(same.stderr)")
        #expect(E2E.replayedRange(same.stderr)?.start ?? 0 > 1, "\(same.stderr)")
    }

    @Test("--verify --image of another build: exit 4, and the report names the image as the digest's cause")
    func verifyWithAnotherImageExplainsTheDigest() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = try multibootVariant(changing: "WRONG", in: dir, name: "other.elf")
        for extra in [[String](), ["--exit-with-guest-status"]] {
            let r = try Fixtures.vmrr(["replay", "--quiet", "--verify", "--image", other] + extra + [multibootJournal])
            #expect(r.exited && r.status == ExitStatus.verifyDigestOnly, "\(extra): \(r.stderr)")
            #expect(r.stderr.contains("replay diverged at event 0: memory digest differs"), "\(r.stderr)")
            #expect(r.stderr.contains("  cause: --image \(other) is not the recorded image")
                    && r.stderr.contains("part of guest memory"), "\(r.stderr)")
            let last = try #require(r.stderrLines.last)
            #expect(last.contains("replayed events 0–\(try E2E.dump(multibootJournal).events.count - 1)")
                    && last.contains("every event and register matched, but the memory digest differs (first at event 0)")
                    && last.hasSuffix("; guest status 1 (debug-exit)"), "\(last)")
        }
        // With the recorded image every digest matches.
        let same = try Fixtures.vmrr(["replay", "--quiet", "--verify", "--image", Fixtures.guest("multiboot"), multibootJournal])
        #expect(same.exited && same.status == 0 && same.stderr.contains("final memory digest matches")
                && !same.stderr.contains("cause:"), "\(same.stderr)")
    }

    @Test("a divergence exits 3, also with --exit-with-guest-status and --verify")
    func aDivergenceStillExitsThree() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A printed string: the console write that carries it differs.
        let other = try multibootVariant(changing: "all checks passed", in: dir, name: "printed.elf")
        for extra in [[String](), ["--exit-with-guest-status"], ["--exit-with-guest-status", "--verify"]] {
            let r = try Fixtures.vmrr(["replay", "--quiet", "--image", other] + extra + [multibootJournal])
            #expect(r.exited && r.status == ExitStatus.divergence, "\(extra): \(r.stderr)")
            #expect(r.stderr.contains("replay diverged at event ") && r.stderr.contains("registers that differ"), "\(r.stderr)")
            #expect(!r.stderr.contains("identically") && !r.stderr.contains("guest status"), "\(r.stderr)")
        }
    }
}
