import Foundation
import Testing
import VMRRGuest
import VMRRJournal

/// Replaying a journal against a different build of its guest.
extension KVMEndToEnd {
    /// Builds fixtures/guests/exits/exits.c with -DEXITS_STATUS=`status` in
    /// `dir`, through common/build-guest.sh (the committed build flags).
    static func buildExitsVariant(status: Int, in dir: URL) throws -> String {
        let fm = FileManager.default
        let common = dir.appendingPathComponent("common")
        if !fm.fileExists(atPath: common.path) {
            try fm.createSymbolicLink(at: common, withDestinationURL: E2E.guestsDir.appendingPathComponent("common"))
        }
        let sub = dir.appendingPathComponent("status\(status)")
        try fm.createDirectory(at: sub, withIntermediateDirectories: true)
        try fm.copyItem(at: E2E.guestsDir.appendingPathComponent("exits/exits.c"), to: sub.appendingPathComponent("exits.c"))
        try E2E.shell("../common/build-guest.sh exits exits.c", cwd: sub, env: ["EXTRA_CFLAGS": "-DEXITS_STATUS=\(status)"])
        return sub.appendingPathComponent("exits.elf").path
    }

    /// The instruction lines of `objdump -d`, without the file name line.
    static func disassembly(_ elf: String, in dir: URL) throws -> [String] {
        try E2E.shell("objdump -d --no-show-raw-insn '\(elf)'", cwd: dir)
            .split(separator: "\n").map(String.init).filter { !$0.contains("file format") }
    }

    @Test("a one-instruction change: the report names the first affected event, the registers, the last match")
    func divergenceReport() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try Self.buildExitsVariant(status: 1, in: dir)
        let variant = try Self.buildExitsVariant(status: 2, in: dir)
        let dis1 = try Self.disassembly(original, in: dir), dis2 = try Self.disassembly(variant, in: dir)
        #expect(dis1.count == dis2.count && dis1.count > 100)
        let changed = zip(dis1, dis2).filter { $0 != $1 }
        #expect(changed.count == 1, "the variants should differ in exactly one instruction: \(changed)")

        let n = 30
        let (r, journal) = try E2E.record(original, in: dir, name: "original", options: ["--clock", "virtual"],
                                          guestArgs: ["\(n)"])
        #expect(r.status == 1 && r.stdout == "exits: \(n) exits\n", "\(r.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 1, reason: "debug-exit")
        // The change is the exit status: the first event it affects is the debug-exit write.
        let exitWrite = try #require(d.events.first { $0.kind == "io" && $0.u("port") == UInt64(Layout.debugExitPort) })
        #expect(exitWrite.u("value") == 1)
        let first = exitWrite.index
        try #require(first > 1)

        // Against its own image the journal replays (the change is what diverges).
        let same = try Fixtures.vmrr(["replay", "--quiet", "--image", original, journal])
        #expect(same.status == 0 && same.stderr.contains("guest status 1 (debug-exit)") && !same.stderr.contains("diverged") && !same.stderr.contains("warning"), "\(same.stderr)")

        let rr = try Fixtures.vmrr(["replay", "--image", variant, journal])
        #expect(rr.exited && rr.status == 3, "status \(rr.status): \(rr.stderr)")
        #expect(rr.stderr.contains("warning") && rr.stderr.contains("not the recorded image"), "\(rr.stderr)")
        #expect(rr.stderr.contains("replay diverged at event \(first):"), "\(rr.stderr)")
        #expect(rr.stderr.contains("recorded 0x1, now 0x2"), "\(rr.stderr)")
        #expect(rr.stdout == d.consoleText(from: 0, through: first), "console output up to the divergence")

        // Registers, by name: "    rax    expected 0x...  actual 0x...".
        var regs: [String: (expected: UInt64, actual: UInt64)] = [:]
        for line in rr.stderrLines {
            let f = line.split(separator: " ")
            if f.count == 5, f[1] == "expected", f[3] == "actual", GPRegisters.names.contains(String(f[0])),
               let e = UInt64(f[2].dropFirst(2), radix: 16), let a = UInt64(f[4].dropFirst(2), radix: 16) {
                regs[String(f[0])] = (e, a)
            }
        }
        // OUT writes AL, so RAX must be among the registers that differ.
        let rax = try #require(regs["rax"], "rax not named in the report: \(rr.stderr)")
        #expect(rax.expected & 0xff == 1 && rax.actual & 0xff == 2)
        #expect(rr.stderr.contains("registers that differ (\(regs.count) of 18)"), "\(rr.stderr)")
        #expect(regs["rip"] == nil, "the same instruction, so the same RIP")

        // The last matching event is the one before.
        let lastLine = try #require(rr.stderrLines.first { $0.contains("last matching event:") })
        let lastIndex = lastLine.split(separator: "#").last?.split(separator: " ").first.flatMap { UInt64($0) }
        #expect(lastIndex == first - 1, "\(lastLine)")
    }

    @Test("replaying after the recorded image changed is a one-line error, status 2")
    func changedImage() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("guest.elf").path
        try FileManager.default.copyItem(atPath: Fixtures.guest("demo"), toPath: copy)
        let (r, journal) = try E2E.record(copy, in: dir, name: "guest", options: ["--quiet"])
        #expect(r.status == 0)
        // Same path, other bytes.
        try FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: Fixtures.guest("exits"), toPath: copy)
        let rr = try Fixtures.vmrr(["replay", journal])
        #expect(rr.exited && rr.status == 2, "\(rr.stderr)")
        #expect(rr.stderrLines.count == 1, "\(rr.stderr)")
        #expect(rr.stderr.contains("SHA-256") && rr.stderr.contains(copy) && rr.stderr.contains("--image"), "\(rr.stderr)")
        #expect(rr.stdout.isEmpty)
        // With --image the other build is replayed until it differs (at once: another program).
        let forced = try Fixtures.vmrr(["replay", "--quiet", "--image", copy, journal])
        #expect(forced.status == 3 && forced.stderr.contains("diverged"), "\(forced.stderr)")
        // Without the image at all: one line, status 2.
        try FileManager.default.removeItem(atPath: copy)
        let missing = try Fixtures.vmrr(["replay", journal])
        #expect(missing.exited && missing.status == 2 && missing.stderrLines.count == 1, "\(missing.stderr)")
        #expect(missing.stderr.contains(copy), "\(missing.stderr)")
    }
}
