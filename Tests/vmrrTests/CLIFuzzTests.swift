import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// The whole-CLI fuzz run (issue 18): every reading command over mutated
/// journals and bundles from fuzz/corpus (checksums repaired three times in
/// four, so damage reaches the decoders), and `record` over mutated fixture
/// guest images (with KVM), each case a separate `vmrr`
/// process under a budget (address space and CPU seconds limited in the
/// child, a wall-clock limit for hangs). A case fails on a signal (a trap, a
/// memory or CPU overrun), a hang, an exit status outside
/// `ExitStatus.documented`, control characters on stderr, or a file written
/// outside the unpack target, or "0x0x" in a message. Deterministic: the
/// cases follow from the seed.
///
/// The suite runs a short slice with budgets for a loaded debug build; the
/// long run is `scripts/fuzz` (a release build, 2 s and 256 MiB per case),
/// whose figures are in docs/RELIABILITY.md. Settings: VMRR_CLI_FUZZ_CASES,
/// VMRR_CLI_FUZZ_SEED, VMRR_CLI_FUZZ_CPU (seconds), VMRR_CLI_FUZZ_MEM_MIB,
/// VMRR_CLI_FUZZ_WALL (seconds), VMRR_CLI_FUZZ_REPLAY (1: replay too, with KVM),
/// VMRR_CLI_FUZZ_IMAGES (0: no `record` of mutated images; 1, the default, with KVM).
struct CLIFuzzTests {
    static func setting(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? fallback
    }

    static let debugScript = "info registers\nnext-event\nprev-event\ngoto end\nx/4gx $rsp\nbt\ninfo symbol $pc\ngoto 0\nstepi\n"

    /// What a command reads: a journal or bundle from fuzz/corpus, or a guest image.
    enum Input { case journal, image }

    /// The commands, each given the case file and a scratch directory.
    static func commands(replay: Bool, record: Bool) -> [(name: String, input: Input, args: (String, URL) -> [String])] {
        var c: [(String, Input, (String, URL) -> [String])] = [
            ("dump", .journal, { f, _ in ["dump", f] }),
            ("dump --json", .journal, { f, _ in ["dump", "--json", f] }),
            ("dump --summary --json", .journal, { f, _ in ["dump", "--summary", "--json", f] }),
            ("debug --no-kvm", .journal, { f, d in ["debug", f, "--no-kvm", "--batch", "-x", d.appendingPathComponent("script").path] }),
            ("mmu --no-kvm pt", .journal, { f, _ in ["mmu", f, "--no-kvm", "pt", "0x100000"] }),
            ("mmu --no-kvm ptdump", .journal, { f, _ in ["mmu", f, "--no-kvm", "--at", "3", "ptdump"] }),
            ("unpack", .journal, { f, d in ["unpack", f, "-d", d.appendingPathComponent("out").path] }),
        ]
        if replay { c.append(("replay", .journal, { f, _ in ["replay", f] })) }
        // A mutated guest image, recorded for at most 200 exits or 1 s of host
        // time (a mutated guest may spin without exits; --max-time stops it).
        if record {
            c.append(("record (image)", .image, { f, d in
                ["record", f, "-o", d.appendingPathComponent("rec.vmrr").path, "--clock", "virtual", "--memory", "16M",
                 "--max-exits", "200", "--max-time", "1", "-q"]
            }))
        }
        return c
    }

    /// The guest images a `record` case mutates: fixture ELFs, one of them multiboot.
    static let imageSeeds = ["demo", "exits", "timer", "echo", "paging", "multiboot"]

    /// True when `record` exited with the status the mutated guest chose
    /// (docs/GUEST.md: record passes it on, 0 to 255), as its journal's end
    /// event says. Seed 2218's case 3428, a mutated ELF, ended with
    /// debug-exit status 60, which is the guest's, not vmrr's.
    static func guestChose(_ status: Int32, command: String, dir: URL) -> Bool {
        guard command == "record (image)", (0...255).contains(status),
              let s = try? Fixtures.vmrr(["dump", "--summary", dir.appendingPathComponent("rec.vmrr").path]),
              s.exited, s.status == 0 else { return false }
        return s.stdout.split(separator: "\n").contains { $0.hasPrefix("end:") && $0.hasSuffix("debug-exit, status \(status)") }
    }

    struct Worst { var count = 0; var wall = 0.0; var cpu = 0.0; var rssKiB = 0 }

    /// The per-command worst wall time, CPU time and resident memory, and the count.
    static func report(_ worst: [String: Worst], cases: Int, seed: UInt64, failures: Int, progress: Bool = false) {
        for (command, w) in worst.sorted(by: { $0.key < $1.key }) {
            print("cli fuzz: \(command): \(w.count) cases, worst wall \(String(format: "%.2f", w.wall)) s, worst CPU \(String(format: "%.2f", w.cpu)) s, worst RSS \(w.rssKiB / 1024) MiB")
        }
        print("cli fuzz: \(progress ? "so far " : "")\(cases) cases (seed \(seed)), \(failures) failures")
        fflush(nil)
    }

    @Test func budgetedRunsOverMutatedJournalsAndBundles() throws {
        let cases = Self.setting("VMRR_CLI_FUZZ_CASES", 48)
        let seed = UInt64(Self.setting("VMRR_CLI_FUZZ_SEED", 18))
        let cpu = Self.setting("VMRR_CLI_FUZZ_CPU", 60)
        let memory = Self.setting("VMRR_CLI_FUZZ_MEM_MIB", 1024)
        let wall = Double(Self.setting("VMRR_CLI_FUZZ_WALL", 300))
        let replay = Fixtures.kvmAvailable && Self.setting("VMRR_CLI_FUZZ_REPLAY", 0) == 1
        let record = Fixtures.kvmAvailable && Self.setting("VMRR_CLI_FUZZ_IMAGES", 1) == 1
        let corpusDir = Fixtures.root.appendingPathComponent("fuzz/corpus")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: corpusDir.path).sorted()
            .filter { $0.hasSuffix(".vmrr") || $0.hasSuffix(".vmrrpack") }
            .map { ($0, try FileIO.read(corpusDir.appendingPathComponent($0).path)) }
        try #require(seeds.count >= 4)
        let images = try Self.imageSeeds.map { ("\($0).elf", try FileIO.read(Fixtures.guest($0))) }
        let commands = Self.commands(replay: replay, record: record)
        let allowed = Set(ExitStatus.documented.map(\.status))
        var g = SplitMix64(seed: seed)
        var worst: [String: Worst] = [:]
        var failures = 0
        for i in 0..<cases {
            let (command, kind, args) = commands[i % commands.count]
            let pool = kind == .image ? images : seeds
            let (name, input) = pool[Int(g.next() % UInt64(pool.count))]
            let other = pool[Int(g.next() % UInt64(pool.count))].1
            var bytes = Corruptor.mutate(input, other: other, using: &g)
            if g.next() % 4 != 0 { ChecksumRepair.repair(&bytes) }
            let dir = Fixtures.scratch("clifuzz")
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent(name.hasSuffix(".vmrrpack") ? "case.vmrrpack" : kind == .image ? "case.elf" : "case.vmrr").path
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            try Data(Self.debugScript.utf8).write(to: dir.appendingPathComponent("script"))
            let r = try BudgetedRun.run(Fixtures.vmrrBinary, args(file, dir), memoryMiB: memory, cpuSeconds: cpu,
                                        wallSeconds: wall, scratch: dir)
            var w = worst[command] ?? Worst()
            w.count += 1; w.wall = max(w.wall, r.wallSeconds); w.cpu = max(w.cpu, r.cpuSeconds); w.rssKiB = max(w.rssKiB, r.maxRSSKiB)
            worst[command] = w
            var problems: [String] = []
            if r.hung { problems.append("hung (killed after \(Int(wall)) s)") }
            if let s = r.signal, !r.hung { problems.append("killed by signal \(s) (a trap, or over \(memory) MiB / \(cpu) CPU s)") }
            if r.signal == nil && !allowed.contains(r.status) && !Self.guestChose(r.status, command: command, dir: dir) {
                problems.append("exit status \(r.status) is not documented")
            }
            if r.stderr.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) {
                problems.append("control characters on stderr")
            }
            // hex() already writes the prefix: a message never says "0x0x".
            if r.stderr.contains("0x0x") { problems.append("a doubled hex prefix (0x0x) on stderr") }
            let left = Set((try? FileManager.default.subpathsOfDirectory(atPath: dir.path)) ?? [])
            let expected: Set<String> = ["stderr", "script", (file as NSString).lastPathComponent, "out",
                                         "out/case.vmrr", "out/case.image", "out/case.manifest.txt", "rec.vmrr"]
            if !left.isSubset(of: expected) { problems.append("unexpected files: \(left.subtracting(expected).sorted())") }
            if !problems.isEmpty {
                failures += 1
                let keep = FileManager.default.temporaryDirectory.appendingPathComponent("vmrr-clifuzz-failure-\(seed)-\(i)")
                try? FileManager.default.removeItem(at: keep)
                try? FileManager.default.copyItem(atPath: file, toPath: keep.path)
                if failures <= 5 {
                    Issue.record("case \(i) (\(command) on mutated \(name)): \(problems.joined(separator: "; ")); kept as \(keep.path); stderr: \(r.stderr.prefix(300))")
                }
            }
            // A long run (scripts/fuzz) says how far it got every 1,000 cases.
            if (i + 1) % 1000 == 0 && i + 1 < cases { Self.report(worst, cases: i + 1, seed: seed, failures: failures, progress: true) }
        }
        Self.report(worst, cases: cases, seed: seed, failures: failures)
        #expect(failures == 0)
    }
}
