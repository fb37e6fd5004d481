import Foundation
import Testing
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRBase

/// `vmrr record` of every fixture guest: console output, exit status, and the
/// journal's events as `vmrr dump --json` shows them. Every recording is then
/// replayed (with and without --quiet) and must reproduce status and console.
extension KVMEndToEnd {
    @Test("demo: console, clock reads, command line, memory size")
    func recordDemo() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(Fixtures.guest("demo"), in: dir, name: "demo", options: ["--memory", "128M"],
                                          guestArgs: ["hello", "from", "the", "tests"])
        #expect(r.status == 0, "\(r.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "debug-exit")
        let clocks = d.of("clock").compactMap { $0.u("ns") }
        try #require(clocks.count == 2, "demo reads the clock twice")
        #expect(clocks[0] <= clocks[1], "the host clock went backwards")
        let expected = [
            "vmrr demo guest: hello from long mode",
            "ram: 128 MiB",
            "clock: t0=\(clocks[0]) t1=\(clocks[1]) elapsed=\(clocks[1] &- clocks[0]) ns",
            "cmdline: hello from the tests",
            "demo: done",
        ]
        #expect(r.stdout == expected.joined(separator: "\n") + "\n")
        #expect(d.consoleText == r.stdout, "THR writes in the journal are not the console output")
        let exitWrites = d.of("io").filter { $0.u("port") == UInt64(Layout.debugExitPort) }
        #expect(exitWrites.count == 1 && exitWrites.first?.u("value") == 0 && exitWrites.first?.s("dir") == "out")
        #expect(Set(d.events.map(\.kind)) == ["checkpoint", "io", "clock", "end"])
        #expect(r.stderr.contains("debug-exit, status 0"), "\(r.stderr)")
        try E2E.checkReplay(journal, status: 0, console: r.stdout)
    }

    @Test("demo with --clock virtual: two recordings give identical journals but for the header")
    func demoVirtualDeterministic() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r1, j1) = try E2E.record(Fixtures.guest("demo"), in: dir, name: "one", options: ["--clock", "virtual"])
        let (r2, j2) = try E2E.record(Fixtures.guest("demo"), in: dir, name: "two", options: ["--clock", "virtual"])
        #expect(r1.status == 0 && r2.status == 0)
        #expect(r1.stdout == r2.stdout)
        let d1 = try E2E.dump(j1), d2 = try E2E.dump(j2)
        #expect(!d1.events.isEmpty)
        #expect(d1.lines == d2.lines, "dump --json differs between two --clock virtual recordings")

        // The clock values follow the virtual clock's rule exactly.
        let clocks = d1.of("clock").compactMap { $0.u("ns") }
        #expect(clocks == VirtualClockModel.expectedClockValues(d1.events))
        try #require(clocks.count == 2)
        let expected = [
            "vmrr demo guest: hello from long mode",
            "ram: 64 MiB",
            "clock: t0=\(clocks[0]) t1=\(clocks[1]) elapsed=\(VirtualClock.nanosecondsPerExit) ns",
            "cmdline: (none)",
            "demo: done",
        ]
        #expect(r1.stdout == expected.joined(separator: "\n") + "\n")

        // Byte level: every events chunk is identical (checkpoints hold vCPU
        // MSRs such as the TSC, which differ run to run).
        let m1 = try ChunkMap(path: j1), m2 = try ChunkMap(path: j2)
        let b1 = try E2E.read(j1), b2 = try E2E.read(j2)
        #expect(m1.eventChunks.count == m2.eventChunks.count && !m1.eventChunks.isEmpty)
        for (c1, c2) in zip(m1.eventChunks, m2.eventChunks) {
            #expect(b1[c1.offset..<c1.end] == b2[c2.offset..<c2.end], "events chunk at \(c1.offset) differs")
        }
        // The headers differ only in the journal name, the date and the command line.
        func summary(_ j: String) throws -> [String] {
            let s = try Fixtures.vmrr(["dump", "--summary", j])
            #expect(s.status == 0)
            return s.stdout.split(separator: "\n").map(String.init)
                .filter { !$0.hasPrefix("journal:") && !$0.hasPrefix("recorded at:") && !$0.hasPrefix("command:") }
        }
        let s1 = try summary(j1)
        #expect(s1.count > 5)
        #expect(s1 == (try summary(j2)))
        try E2E.checkReplay(j1, status: 0, console: r1.stdout)
    }

    @Test("paging: every page fault with its CR2, error code and faulting RIP")
    func recordPaging() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(Fixtures.guest("paging"), in: dir, name: "paging")
        #expect(r.status == 0, "\(r.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "debug-exit")

        // From paging.c's header: the GVAs touched, and the pages mapped for them.
        let gvas: [UInt64] = [0x600000, 0x4000_0000, 0x4000_1008, 0x7f00_0000_0000, 0xffff_8000_0000_5000]
        let gpas: [UInt64] = [0x401000, 0x404000, 0x405000, 0x409000, 0x40a000]
        let image = try GuestImage.load(path: Fixtures.guest("paging"))
        let pml4 = try #require(image.symbols.lookup("pml4"))
        let handler = try #require(image.symbols.lookup("isr_page_fault"))
        let text = try #require(image.segments.first { $0.flags.contains(.execute) })

        let faults = d.of("page_fault")
        let faultGVAs: [UInt64?] = faults.map { $0.u("gva") }
        #expect(faultGVAs == gvas)
        for f in faults {
            #expect(f.u("error_code") == 0x2, "write to a not-present page, supervisor: \(f.line)")
            #expect(f.u("cr3") == pml4, "CR3 is the guest's own pml4: \(f.line)")
            #expect(f.rip == handler, "the event is taken at the #PF handler: \(f.line)")
            let faultRIP = try #require(f.u("fault_rip"))
            #expect(text.physicalRange.contains(faultRIP), "fault_rip outside the code: \(f.line)")
            #expect(image.symbols.symbolize(faultRIP)?.name == "main", "the faulting write is in main: \(f.line)")
        }
        var expected = [
            "paging: tables built, cr3=\(E2E.hex(pml4))",
            "paging: idt loaded",
            "paging: higher half ok",
        ]
        for (i, (gva, gpa)) in zip(gvas, gpas).enumerated() {
            expected.append("paging: fault \(i + 1) cr2=\(E2E.hex(gva)) error=0x2 gpa=\(E2E.hex(gpa)) ok")
        }
        expected.append("paging: 5 faults handled")
        #expect(r.stdout == expected.joined(separator: "\n") + "\n")
        #expect(d.consoleText == r.stdout)
        try E2E.checkReplay(journal, status: 0, console: r.stdout)
    }

    /// Checks timer.c's behaviour in a journal: 10 interrupts, each right
    /// after a halt, deadlines 1 ms after the clock read before them, ticks
    /// printed with the clock read after each wake-up. Returns the wake-up times.
    func checkTimer(_ d: Dumped, stdout: String) throws -> [(deadline: UInt64, wake: UInt64)] {
        let interrupts = d.of("interrupt")
        #expect(interrupts.count == 10)
        var ticks: [(deadline: UInt64, wake: UInt64)] = []
        for irq in interrupts {
            #expect(irq.u("vector") == UInt64(Layout.timerVector))
            let i = Int(irq.index)
            try #require(i > 0 && i + 1 < d.events.count)
            #expect(d.events[i - 1].kind == "hlt", "interrupt \(irq.line) does not follow a hlt")
            let timer = try #require(d.events[..<i].last { $0.kind == "timer" })
            let armedAt = try #require(d.events[..<Int(timer.index)].last { $0.kind == "clock" }?.u("ns"))
            let deadline = try #require(timer.u("deadline"))
            #expect(deadline == armedAt + 1_000_000, "the guest arms clock + 1 ms: \(timer.line)")
            let wake = try #require(d.events[(i + 1)...].first { $0.kind == "clock" }?.u("ns"))
            #expect(wake >= deadline, "woke at \(wake) before the deadline \(deadline)")
            ticks.append((deadline, wake))
        }
        #expect(d.of("timer").count == 10 && d.of("hlt").count == 10)
        var expected = ["timer: idt loaded"]
        for (n, t) in ticks.enumerated() { expected.append("timer: tick \(n + 1) at \(t.wake) ns") }
        expected.append("timer: 10 ticks")
        #expect(stdout == expected.joined(separator: "\n") + "\n")
        #expect(d.consoleText == stdout)
        return ticks
    }

    @Test("timer with --clock virtual: 10 interrupts after halts, exact clock values")
    func recordTimerVirtual() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(Fixtures.guest("timer"), in: dir, name: "timer", options: ["--clock", "virtual"])
        #expect(r.status == 0, "\(r.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "debug-exit")
        let clocks = d.of("clock").compactMap { $0.u("ns") }
        #expect(clocks.count == 20)
        #expect(clocks == VirtualClockModel.expectedClockValues(d.events))
        let ticks = try checkTimer(d, stdout: r.stdout)
        // On the virtual clock a halt jumps to the deadline; the clock read
        // after the wake-up is the next exit.
        for t in ticks { #expect(t.wake == t.deadline + VirtualClock.nanosecondsPerExit) }
        try E2E.checkReplay(journal, status: 0, console: r.stdout)
    }

    @Test("timer with the host clock: every tick wakes after its deadline")
    func recordTimerHost() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(Fixtures.guest("timer"), in: dir, name: "timer")
        #expect(r.status == 0, "\(r.stderr)")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "debug-exit")
        let clocks = d.of("clock").compactMap { $0.u("ns") }
        #expect(clocks == clocks.sorted(), "the host clock went backwards")
        _ = try checkTimer(d, stdout: r.stdout)
        try E2E.checkReplay(journal, status: 0, console: r.stdout)
    }

    /// echo.c's output for `input`: each line upper-cased (ASCII a-z), then the counts.
    static func echoOutput(_ input: String) -> String {
        var out = "", line = "", lines = 0
        func upper(_ s: String) -> String {
            String(String.UnicodeScalarView(s.unicodeScalars.map { ("a"..."z").contains($0) ? Unicode.Scalar($0.value - 32)! : $0 }))
        }
        for c in input {
            if c == "\n" { out += upper(line) + "\n"; line = ""; lines += 1 } else { line.append(c) }
        }
        if !line.isEmpty { out += upper(line) + "\n"; lines += 1 }
        return out + "echo: \(lines) lines, \(input.utf8.count) bytes\n"
    }

    @Test("echo: the input bytes, then EOT, from --input and from stdin")
    func recordEcho() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = "hello, vmrr\nMixed Case 42\n\nno newline at the end"
        let inputPath = dir.appendingPathComponent("input.txt").path
        try E2E.write(Array(input.utf8), to: inputPath)
        let expected = Self.echoOutput(input)
        #expect(expected.hasSuffix("echo: 4 lines, \(input.utf8.count) bytes\n"))

        let (r, journal) = try E2E.record(Fixtures.guest("echo"), in: dir, name: "echo", options: ["--input", inputPath])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == expected)
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "debug-exit")
        let inputs = d.of("input")
        #expect(inputs.map { UInt8(truncatingIfNeeded: $0.u("byte") ?? 0xffff) } == Array(input.utf8) + [Layout.eotByte])
        #expect(inputs.allSatisfy { $0.u("port") == UInt64(Layout.com1Base + Layout.uartRBR) })
        #expect(d.consoleText == r.stdout)
        try E2E.checkReplay(journal, status: 0, console: r.stdout)

        // The same bytes through stdin give the same input events and output.
        let (r2, journal2) = try E2E.record(Fixtures.guest("echo"), in: dir, name: "stdin", stdin: input)
        #expect(r2.status == 0 && r2.stdout == expected, "\(r2.stderr)")
        let d2 = try E2E.dump(journal2)
        #expect(d2.of("input").map { $0.u("byte") } == inputs.map { $0.u("byte") })
    }

    @Test("bug with --clock virtual: the same outcome every time")
    func recordBugVirtual() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r1, j1) = try E2E.record(Fixtures.guest("bug"), in: dir, name: "one", options: ["--clock", "virtual"])
        let (r2, j2) = try E2E.record(Fixtures.guest("bug"), in: dir, name: "two", options: ["--clock", "virtual"])
        #expect(r1.status == r2.status && r1.stdout == r2.stdout)
        let d1 = try E2E.dump(j1), d2 = try E2E.dump(j2)
        #expect(d1.lines == d2.lines)
        let t = d1.of("clock").compactMap { $0.u("ns") }
        try #require(t.count == 5)
        #expect(t == VirtualClockModel.expectedClockValues(d1.events))
        let elapsed = t[4] - t[0]
        let crashes = elapsed & (1 << 6) != 0
        var expected = [
            "bug: clock t0=\(t[0]) t1=\(t[1]) t2=\(t[2]) t3=\(t[3]) t4=\(t[4])",
            "bug: deltas \(t[1] - t[0]) \(t[2] - t[1]) \(t[3] - t[2]) \(t[4] - t[3])",
            "bug: elapsed \(elapsed)",
        ]
        if !crashes { expected.append("bug: survived") }
        #expect(r1.stdout == expected.joined(separator: "\n") + "\n")
        #expect(r1.status == (crashes ? ExitStatus.shutdown : 0))
        E2E.checkShape(d1, status: r1.status, reason: crashes ? "shutdown" : "debug-exit")
        try E2E.checkReplay(j1, status: r1.status, console: r1.stdout)
    }

    @Test("exits: N port writes and N/8 clock reads, in loop order")
    func recordExits() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let n = 100
        let (r, journal) = try E2E.record(Fixtures.guest("exits"), in: dir, name: "exits", guestArgs: ["\(n)"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "exits: \(n) exits\n")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "debug-exit")
        let port80 = d.of("io").filter { $0.u("port") == 0x80 }
        let written: [UInt64?] = port80.map { $0.u("value") }
        let loopValues: [UInt64?] = (0..<n).filter { $0 & 7 != 7 }.map { UInt64($0 & 0xff) }
        #expect(written == loopValues)
        #expect(port80.allSatisfy { $0.s("dir") == "out" && $0.u("size") == 1 })
        #expect(d.of("clock").count == n / 8)
        // Loop order: a clock read after every 7 port writes.
        let loop = d.events.filter { ($0.kind == "io" && $0.u("port") == 0x80) || $0.kind == "clock" }
        #expect(loop.count == n)
        #expect(loop.enumerated().allSatisfy { ($0.offset & 7 == 7) == ($0.element.kind == "clock") })
        try E2E.checkReplay(journal, status: 0, console: r.stdout)
    }

    @Test("--strict: stops at the first unknown port, status 132, naming the port")
    func strictStops() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(Fixtures.guest("exits"), in: dir, name: "strict", options: ["--strict"],
                                          guestArgs: ["10"])
        #expect(r.status == 132)
        #expect(r.stdout.isEmpty)
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 132, reason: "strict")
        // The stopping access is the last exit: the first write to port 0x80.
        let last = try #require(d.events.last { VirtualClockModel.exitKinds.contains($0.kind) })
        #expect(last.kind == "io" && last.u("port") == 0x80 && last.u("value") == 0 && last.s("dir") == "out")
        #expect(d.of("io").count == 1)
        let lines = r.stderr.split(separator: "\n").filter { $0.contains("0x80") }
        #expect(lines.count == 1, "one line names the port: \(r.stderr)")
        #expect(lines.first?.contains("unknown port") == true)
        #expect(lines.first?.contains("rip 0x\(String(last.rip, radix: 16))") == true, "the line names the RIP: \(r.stderr)")
        try E2E.checkReplay(journal, status: 132, console: "")

        // A guest that touches only vmrr's devices is not stopped by --strict.
        let (ok, _) = try E2E.record(Fixtures.guest("demo"), in: dir, name: "demo", options: ["--strict", "--quiet"])
        #expect(ok.status == 0 && ok.stdout.hasSuffix("demo: done\n"), "\(ok.stderr)")
    }
}
