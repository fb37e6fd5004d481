import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// The exit-kind bench guest (fixtures/guests/bench) and the reference C VMM
/// (bench/refvmm.c) that `vmrr bench` compares vmrr with: every mode makes
/// the exits it says, vmrr records and replays each, and the C VMM answers
/// the same exits with the same values (the guest checks them and exits
/// with status 2 when one is wrong). Nothing here measures time.
extension KVMEndToEnd {
    static let benchIterations = 40

    /// Exits per loop iteration of each mode, and the journal event that
    /// stands for one iteration (kind and a field check).
    static let benchModes: [(mode: String, exitsPerIteration: Int, kind: String, matches: @Sendable (DumpEvent) -> Bool)] = [
        ("out", 1, "io", { $0.u("port") == 0x80 && $0.s("dir") == "out" }),
        ("in", 1, "io", { $0.u("port") == 0x80 && $0.s("dir") == "in" && $0.u("value") == 0xff }),
        ("mmio-read", 1, "mmio", { $0.u("gpa") == 0xfeb0_0010 && $0.s("dir") == "read" && $0.u("value") == 0xffff_ffff }),
        ("mmio-write", 1, "mmio", { $0.u("gpa") == 0xfeb0_0010 && $0.s("dir") == "write" }),
        ("clock", 1, "clock", { _ in true }),
        ("msr", 1, "msr", { $0.u("msr") == 0x1b && $0.s("dir") == "read" && $0.u("value") == 0xfee0_0900 }),
        ("hlt", 3, "interrupt", { $0.u("vector") == 0x20 }),
    ]

    /// Event kinds that are not exits.
    static let notExits: Set<String> = ["checkpoint", "end", "interrupt"]

    @Test("bench guest: every exit kind records the exits it names, and replays identically")
    func benchGuestModes() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let n = Self.benchIterations
        for m in Self.benchModes {
            let (r, journal) = try E2E.record(Fixtures.guest("bench"), in: dir, name: m.mode, options: ["--clock", "virtual"],
                                              guestArgs: [m.mode, "\(n)"])
            #expect(r.status == 0, "\(m.mode): \(r.stderr)")
            let d = try E2E.dump(journal)
            #expect(d.of(m.kind).filter(m.matches).count == n, "\(m.mode): \(d.of(m.kind).count) \(m.kind) events")
            // N iterations plus the debug-exit write.
            #expect(d.events.filter { !Self.notExits.contains($0.kind) }.count == n * m.exitsPerIteration + 1, "\(m.mode)")
            try E2E.checkReplay(journal, status: 0, console: "")
        }
        let bad = try Fixtures.vmrr(["record", Fixtures.guest("bench"), "-o", dir.appendingPathComponent("bad.vmrr").path,
                                     "--clock", "virtual", "--quiet", "--", "nonsense"])
        #expect(bad.status == 1 && bad.stdout.contains("bench: unknown mode"), "\(bad.stdout)")
    }

    /// Compiles bench/refvmm.c into `dir`.
    static func buildReferenceVMM(in dir: URL) throws -> String {
        let binary = dir.appendingPathComponent("refvmm").path
        let source = Fixtures.root.appendingPathComponent("bench/refvmm.c").path
        let cc = try Fixtures.run("/usr/bin/env", ["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary, source])
        try #require(cc.status == 0, "cc bench/refvmm.c: \(cc.stderr)")
        return binary
    }

    @Test("the reference C VMM runs every mode with vmrr's answers and makes the same number of exits, plain and --like-vmrr")
    func referenceVMMModes() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let refvmm = try Self.buildReferenceVMM(in: dir)
        let n = Self.benchIterations
        // Plain, and with vmrr's KVM set-up (sync regs, dirty logging, the #PF handler's breakpoint).
        for m in Self.benchModes {
            for flags in [[], ["--like-vmrr"]] {
                let r = try Fixtures.run(refvmm, flags + [Fixtures.guest("bench"), m.mode, "\(n)"])
                #expect(r.status == 0, "refvmm \(flags) \(m.mode): status \(r.status): \(r.stderr)")
                let words = r.stderr.split(separator: " ")
                try #require(words.count >= 9 && words[0] == "refvmm:" && words[1] == "exits", "refvmm \(m.mode): \(r.stderr)")
                #expect(UInt64(words[2]) == UInt64(n * m.exitsPerIteration + 1), "refvmm \(flags) \(m.mode): \(r.stderr)")
            }
        }
        // A guest with a wrong answer would exit 2; an unknown mode exits 1 and says so on COM1.
        let bad = try Fixtures.run(refvmm, [Fixtures.guest("bench"), "nonsense"])
        #expect(bad.status == 1 && bad.stdout.contains("bench: unknown mode"), "\(bad.stdout) \(bad.stderr)")
        let missing = try Fixtures.run(refvmm, [dir.appendingPathComponent("absent.elf").path])
        #expect(missing.status != 0 && missing.stderr.hasPrefix("refvmm: "), "\(missing.stderr)")
    }

    @Test("vmrr bench --exit-kinds-only prints one row per exit kind, with ratios and spreads")
    func benchExitKindsCommand() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try Fixtures.vmrr(["bench", "--exit-kinds-only", "--kind-iterations", "20", "--rounds", "2", "--kinds", "out,hlt",
                                   "--bench-guest", Fixtures.guest("bench"),
                                   "--reference-source", Fixtures.root.appendingPathComponent("bench/refvmm.c").path,
                                   "--scratch", dir.path])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").filter { $0.hasPrefix("  out ") || $0.hasPrefix("  hlt ") }
        #expect(rows.count == 2, "\(r.stdout)")
        for row in rows { #expect(row.split(separator: "x [").count == 4, "\(row)") }
        #expect(r.stdout.split(separator: "\n").filter { $0.contains(" cpu ") }.count == 2, "\(r.stdout)")
        let unknown = try Fixtures.vmrr(["bench", "--exit-kinds-only", "--kinds", "out,cpuid"])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown exit kind 'cpuid'"), "\(unknown.stderr)")
        // Nothing is left in the scratch directory.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.isEmpty == true)
    }
}
