import Foundation
import Testing
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRTestSupport

/// The multiboot loader, the PC devices and the new end conditions, end to
/// end on KVM: record, dump, replay, compare.
extension KVMEndToEnd {
    @Test("multiboot fixture: ELF32 container, long mode, PC devices; records and replays identically")
    func multibootFixture() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let module = dir.appendingPathComponent("mod.txt")
        try "module text\nsecond line\n".write(to: module, atomically: true, encoding: .utf8)
        let image = Fixtures.guest("multiboot")
        let options = ["--clock", "virtual", "--module", "\(module.path),one=1,two"]
        let (r, journal) = try E2E.record(image, in: dir, name: "mb", options: options, guestArgs: ["x", "y"])
        #expect(r.status == 1, "isa-debug-exit 0 gives (0 << 1) | 1 = 1: \(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let expected = [
            "multiboot: hello from long mode (magic 0x2badb002)",
            "multiboot: flags 0x24d mem_lower 640 KiB mem_upper 64512 KiB",
            "multiboot: mmap 0x0-0xa0000 type 1",
            "multiboot: mmap 0xa0000-0x100000 type 2",
            "multiboot: mmap 0x100000-0x4000000 type 1",
            "multiboot: mmap 0xc0000000-0x100000000 type 2",
            "multiboot: cmdline \"\(image) x y\"",
            "multiboot: modules 1",
            "multiboot: module 0: 0x40d000-0x40d018 \"\(module.path) one=1,two\" bytes \"module text\"",
            "multiboot: loader \"vmrr\"",
            "fw_cfg: signature QEMU cpus 1 ram 64 MiB cmdline \"x y\"",
            "apic: id 0 version 0x50014",
            "x2apic: base 0xfee00d00 id 0 version 0x50014",
            "testdev: scratch 0x12345678 bytes 0x78 0x56 0x34 0x12 ok",
            "testdev: mmio 0xdeadbeef 0x123456789abcdef ok",
            "pci: 00:00.0 vendor 0x8086 device 0x1237 class 0x600",
            "pci: 00:01.0 vendor 0xffff (no device)",
            "rtc: 2025-01-01 00:00:00",
            "multiboot: all checks passed",
        ]
        #expect(lines == expected)
        #expect(r.stderr.contains("debug-exit, status 1") && r.stderr.contains("isa-debug-exit"), "\(r.stderr)")

        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 1, reason: "debug-exit")
        #expect(d.consoleText == r.stdout)
        // Port devices give io events, MMIO devices mmio events, each with the value the guest got.
        let io = d.of("io")
        #expect(io.contains { $0.u("port") == 0x511 && $0.s("dir") == "in" && $0.u("value") == UInt64(UInt8(ascii: "Q")) })
        #expect(io.contains { $0.u("port") == 0xE0 && $0.s("dir") == "in" && $0.u("value") == 0x1234_5678 })
        #expect(io.last?.u("port") == 0xF4 && io.last?.s("dir") == "out")
        let mmio = d.of("mmio")
        #expect(mmio.contains { $0.u("gpa") == 0xFEE0_0020 && $0.s("dir") == "read" && $0.u("value") == 0 })
        #expect(mmio.contains { $0.u("gpa") == 0xFF00_0000 && $0.s("dir") == "read" && $0.u("value") == 0xDEAD_BEEF })
        #expect(d.of("stage2_fault").isEmpty)
        // x2APIC (offered by default): IA32_APIC_BASE and the x2APIC ID and version MSRs, answered by vmrr's APIC model.
        let msrs = d.of("msr").map { "\($0.s("dir") ?? "?") \(String($0.u("msr") ?? 0, radix: 16))" }
        #expect(msrs == ["read 1b", "write 1b", "read 1b", "read 802", "read 803"], "\(msrs)")
        let summary = try Fixtures.vmrr(["dump", "--summary", journal])
        #expect(summary.stdout.contains("boot multiboot"), "\(summary.stdout)")

        try E2E.checkReplay(journal, status: 1, console: r.stdout)
        // From a later checkpoint too.
        let fromCheckpoint = try Fixtures.vmrr(["replay", "--quiet", "--from-checkpoint", "1", journal])
        #expect(fromCheckpoint.status == 0 && fromCheckpoint.stderr.contains("guest status 1 (debug-exit)"), "\(fromCheckpoint.stderr)")

        // --clock virtual: a second recording gives the same events.
        let (r2, journal2) = try E2E.record(image, in: dir, name: "mb2", options: options, guestArgs: ["x", "y"])
        #expect(r2.stdout == r.stdout)
        #expect(try E2E.dump(journal2).lines == d.lines)
    }

    @Test("--x2apic off clears CPUID.1:ECX.x2APIC: the guest sees no x2APIC and stays in xAPIC mode")
    func x2apicOff() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(Fixtures.guest("multiboot"), in: dir, name: "nox2", options: ["--clock", "virtual", "--x2apic", "off"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stdout.contains("apic: id 0 version 0x50014\nx2apic: not offered\n"), "\(r.stdout)")
        #expect(r.stdout.contains("multiboot: all checks passed"))
        let d = try E2E.dump(journal)
        #expect(d.of("msr").isEmpty)
        try E2E.checkReplay(journal, status: 1, console: r.stdout)
        let bad = try Fixtures.vmrr(["record", "--x2apic", "maybe", Fixtures.guest("multiboot"), "-o", dir.appendingPathComponent("x.vmrr").path])
        #expect(bad.status != 0 && bad.stderr.contains("--x2apic must be 'on' or 'off'"), "\(bad.stderr)")
    }

    @Test("--boot: auto picks multiboot from the header; the wrong protocol is a one-line error")
    func bootSelection() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, _) = try E2E.record(Fixtures.guest("multiboot"), in: dir, name: "auto", options: ["--boot", "multiboot", "--quiet"])
        #expect(r.status == 1)
        let asVMRR = try Fixtures.vmrr(["record", "--boot", "vmrr", Fixtures.guest("multiboot"), "-o", dir.appendingPathComponent("x.vmrr").path])
        #expect(asVMRR.status == 2 && asVMRR.stderrLines.count == 1 && asVMRR.stderr.contains("32-bit ELF"), "\(asVMRR.stderr)")
        let asMB = try Fixtures.vmrr(["record", "--boot", "multiboot", Fixtures.guest("demo"), "-o", dir.appendingPathComponent("y.vmrr").path])
        #expect(asMB.status == 2 && asMB.stderrLines.count == 1 && asMB.stderr.contains("no multiboot header"), "\(asMB.stderr)")
        let bad = try Fixtures.vmrr(["record", "--boot", "bogus", Fixtures.guest("demo")])
        #expect(bad.status != 0 && bad.stderr.contains("--boot must be"), "\(bad.stderr)")
        let module = try Fixtures.vmrr(["record", "--module", "/nonexistent", Fixtures.guest("multiboot"), "-o", dir.appendingPathComponent("z.vmrr").path])
        #expect(module.status == 2 && module.stderrLines.count == 1 && module.stderr.contains("module /nonexistent"), "\(module.stderr)")
    }

    @Test("int3 at CPL 0: the report names the instruction, its symbol and the registers; status 131; replays")
    func emulationFailureReport() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try TinyMultiboot.build("int3", tail: "    int3\n", in: dir)
        let (r, journal) = try E2E.record(image, in: dir, name: "int3")
        #expect(r.status == 131, "\(r.stderr)")
        #expect(r.stdout == "A")
        #expect(r.stderr.contains("KVM could not emulate int3 at rip 0x100013 (tail_start) in 32-bit protected mode, CPL 0, paging off (bytes: cc)"),
                "\(r.stderr)")
        #expect(r.stderr.contains("guest registers at the failing instruction"))
        #expect(r.stderr.contains("rip    0000000000100013") && r.stderr.contains("rax    000000002badb041")
                && r.stderr.contains("cr0    0000000000000011"), "\(r.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 131, reason: "error")
        let error = try #require(d.of("error").first)
        #expect(error.s("data")?.hasPrefix("cc") == true && error.rip == 0x10_0013, "\(error.line)")
        try E2E.checkReplay(journal, status: 131, console: "A")
    }

    @Test("--max-time stops a vCPU spinning in vmcall with a signal kick; the journal is complete and replays")
    func maxTimeStopsVmcall() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try TinyMultiboot.build("vmcall", tail: "    vmcall\n", in: dir)
        let started = Date()
        let (r, journal) = try E2E.record(image, in: dir, name: "vmcall", options: ["--max-time", "0.5"])
        let elapsed = Date().timeIntervalSince(started)
        #expect(r.status == 0 && !r.timedOut, "\(r.stderr)")
        #expect(elapsed < 30, "took \(elapsed) s")
        #expect(r.stderr.contains("stopped after 0.5 s (--max-time)") && r.stderr.contains("signal"), "\(r.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "limit")
        #expect(d.checkpoints.count == 2, "boot and final checkpoints")
        #expect(d.consoleText == "A")
        try E2E.checkReplay(journal, status: 0, console: "A")
    }

    @Test("--max-time in a loop that makes no exit: the replay reproduces everything up to the last exit")
    func maxTimeStopsLoop() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try TinyMultiboot.build("loop", tail: "1:  inc %ecx\n    jmp 1b\n", in: dir)
        let (r, journal) = try E2E.record(image, in: dir, name: "loop", options: ["--max-time", "0.3"])
        #expect(r.status == 0, "\(r.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "limit")
        let replay = try Fixtures.vmrr(["replay", journal])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout == "A")
        #expect(replay.stderr.contains("stopped between exits") && !replay.stderr.contains("diverged"), "\(replay.stderr)")
    }

    @Test("--max-time with a guest that keeps making exits ends at an exit, so the whole journal replays")
    func maxTimeAtAnExit() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try TinyMultiboot.build("outs", tail: "1:  out %al, $0x80\n    jmp 1b\n", in: dir)
        let (r, journal) = try E2E.record(image, in: dir, name: "outs", options: ["--max-time", "0.3", "--checkpoint-every", "5000"])
        #expect(r.status == 0 && r.stderr.contains("(--max-time), at exit"), "\(r.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "limit")
        #expect(d.of("io").count > 100)
        try E2E.checkReplay(journal, status: 0, console: "A")
    }

    @Test("a reset through port 0x64 or 0xcf9 ends the run with status 134")
    func resetEndsTheRun() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, tail) in [("kbd", "    mov $0xfe, %al\n    out %al, $0x64\n    hlt\n"),
                             ("cf9", "    mov $0xcf9, %dx\n    mov $0x06, %al\n    out %al, %dx\n    hlt\n")] {
            let image = try TinyMultiboot.build(name, tail: tail, in: dir)
            let (r, journal) = try E2E.record(image, in: dir, name: name)
            #expect(r.status == 134 && r.stderr.contains("reset requested"), "\(name): \(r.stderr)")
            E2E.checkShape(try E2E.dump(journal), status: 134, reason: "shutdown")
            try E2E.checkReplay(journal, status: 134, console: "A")
        }
    }
}
