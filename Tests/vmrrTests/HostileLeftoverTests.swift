import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRTestSupport

/// Items of issue 18's "What was seen" that no other test pinned through the
/// command line: an image path in the header naming a FIFO, `--console
/// /dev/full`, a journal with two end events, `record --max-time 2e10`,
/// `--module /dev/zero`, and "0x0x" in the KVM debugger's errors.
struct HostileLeftoverTests {
    /// replay, debug and pack of a journal whose header names a FIFO as its
    /// image end without blocking in open(): a FIFO is not the recorded image.
    @Test(.enabled(if: Fixtures.kvmAvailable)) func aHeaderImagePathNamingAFIFONeverBlocks() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("image.fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let reader = try JournalReader(path: Fixtures.journalPath("demo"))
        var header = reader.header
        header.imagePath = fifo
        let journal = dir.appendingPathComponent("fifo.vmrr").path
        try JournalRewrite.write(reader, header: header, to: journal)
        let commands: [[String]] = [["replay", journal, "-q"], ["debug", journal, "--batch"],
                                    ["debug", journal, "--no-kvm", "--batch"], ["pack", journal, "-o", dir.appendingPathComponent("p.vmrrpack").path]]
        for args in commands {
            let r = try Fixtures.spawn(Fixtures.vmrrBinary, args, stdin: "", timeout: 120)
            #expect(!r.timedOut && r.exited, "\(args) blocked")
            #expect(Set(ExitStatus.documented.map(\.status)).contains(r.status), "\(args): status \(r.status): \(r.stderr)")
            #expect(!r.stderr.split(separator: "\n").contains { $0.hasPrefix("vmrr:") && $0.count > 2100 })
        }
    }

    /// `record --console /dev/full`: the first failed console write is
    /// reported once on stderr, and the journal keeps every byte.
    @Test(.enabled(if: Fixtures.kvmAvailable)) func aFullConsoleIsReportedOnce() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("full.vmrr").path
        let r = try Fixtures.spawn(Fixtures.vmrrBinary, ["record", Fixtures.guest("demo"), "-o", journal, "--clock", "virtual",
                                                         "--console", "/dev/full"], timeout: 180)
        #expect(!r.timedOut && r.exited, "status \(r.status): \(r.stderr)")
        let consoleErrors = r.stderr.split(separator: "\n").filter { $0.contains("/dev/full") }
        #expect(consoleErrors.count == 1, "\(r.stderr)")
        let replay = try Fixtures.vmrr(["replay", journal, "--image", Fixtures.guest("demo")])
        #expect(replay.status == 0 && replay.stdout.hasPrefix("vmrr demo guest") && replay.stdout.hasSuffix("demo: done\n"),
                "\(replay.stdout)\(replay.stderr)")
    }

    /// A journal with a second `end` event after the first: every command ends
    /// with a documented status (issue 18 saw an undocumented 5) and one line.
    @Test func twoEndEventsGiveADocumentedStatus() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reader = try JournalReader(path: Fixtures.journalPath("demo"))
        let journal = dir.appendingPathComponent("two-ends.vmrr").path
        let w = try JournalWriter(path: journal, header: reader.header)
        try reader.forEachEvent { r in
            try w.append(r.event, regs: r.regs)
            if case let .checkpoint(id) = r.event { try w.appendCheckpoint(try reader.checkpoint(id: id)) }
            if case .end = r.event { try w.append(.end(reason: .debugExit, status: 5), regs: r.regs) }
            return true
        }
        try w.finish()
        let allowed = Set(ExitStatus.documented.map(\.status))
        var commands: [[String]] = [["dump", journal], ["dump", "--json", journal], ["debug", journal, "--no-kvm", "--batch"],
                                    ["mmu", journal, "--no-kvm", "pt", "0x100000"]]
        if Fixtures.kvmAvailable { commands.append(["replay", journal, "--image", Fixtures.guest("demo"), "-q"]) }
        for args in commands {
            let r = try Fixtures.vmrr(args, stdin: "goto end\n")
            #expect(r.exited && allowed.contains(r.status), "\(args): status \(r.status): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").filter { $0.hasPrefix("vmrr:") }.count <= 1, "\(args): \(r.stderr)")
        }
    }

    /// `record --max-time 2e10` (more seconds than a UInt64 of nanoseconds
    /// holds; it used to trap converting Double to UInt64) is a usage error
    /// naming the limit, and nothing is written.
    @Test func aHugeMaxTimeIsAUsageError() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let journal = dir.appendingPathComponent("t.vmrr").path
        let r = try Fixtures.vmrr(["record", Fixtures.guest("demo"), "-o", journal, "--clock", "virtual", "--max-time", "2e10", "-q"])
        #expect(r.exited && r.status == ExitStatus.usage, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("--max-time 20000000000.0 is longer than vmrr can count"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: journal))
    }

    /// `--module` naming a device or a FIFO (it used to say "Is a directory"
    /// for /dev/zero, and a FIFO would block) is "not a regular file", one
    /// line, status 2, before a journal is created.
    @Test(.enabled(if: Fixtures.kvmAvailable)) func aModuleThatIsNotARegularFileIsRefused() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("module.fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        for module in ["/dev/zero", fifo] {
            let journal = dir.appendingPathComponent("m.vmrr").path
            let r = try Fixtures.spawn(Fixtures.vmrrBinary, ["record", Fixtures.guest("multiboot"), "-o", journal, "--module", module, "-q"],
                                       timeout: 120)
            #expect(!r.timedOut && r.status == ExitStatus.unusableInput, "\(module): status \(r.status): \(r.stderr)")
            #expect(r.stderrLines.count == 1 && r.stderr.contains("module \(module): not a regular file"), "\(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: journal))
        }
    }

    /// The KVM debugger's errors at bad addresses, breakpoints, watches and
    /// disassembly never say "0x0x" (hex() writes the prefix once).
    @Test(.enabled(if: Fixtures.kvmAvailable)) func debuggerErrorsNeverDoubleTheHexPrefix() throws {
        let script = ["x/4gx 0xffffffffffff0000", "x/i 0xdead0000000", "break *0xffffffffffffffff", "watch *(long *)0xfffffffffff0",
                      "info symbol 0xffffffff00000000", "goto 999999", "x/s 0", "p/x *(char *)0xfffffffffffffff", "info line *0x1",
                      "disassemble 0xffffffffffff0000,+16", "stepi", "x/2gx $rsp", "bt"].joined(separator: "\n") + "\n"
        for extra in [[String](), ["--no-kvm"]] {
            let r = try Fixtures.vmrr(["debug", Fixtures.journalPath("paging"), "--image", Fixtures.guest("paging"), "--batch"] + extra,
                                      stdin: script)
            #expect(r.exited, "\(extra): \(r.stderr)")
            #expect(!(r.stdout + r.stderr).contains("0x0x"), "\(extra): \(r.stdout)\(r.stderr)")
        }
    }
}
