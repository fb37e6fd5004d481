import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// `vmrr debug --gdb`: a real gdb (Debian's, installed by scripts/deps)
/// drives a replay on KVM through the remote protocol, over a pipe and over
/// TCP. Every position gdb reports is checked against the journal or against
/// the vmrr REPL at the same position.
extension KVMEndToEnd {
    static let gdb = "/usr/bin/gdb"

    static var demoJournal: String { E2E.journalsDir.appendingPathComponent("demo.vmrr").path }

    /// gdb in batch mode, connected through `target` (a pipe command or host:port), running `commands`.
    static func gdbSession(_ target: String, _ commands: [String], loadFile: Bool = true) throws -> Fixtures.Result {
        var args = ["-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off"]
        if loadFile { args += ["-ex", "file \(Fixtures.guest("demo"))"] }
        args += ["-ex", "target remote \(target)"]
        for c in commands { args += ["-ex", c] }
        return try Fixtures.run(gdb, args, timeout: 120)
    }

    /// The values gdb printed, in order: "$3 = 0x100052" (p/x) and
    /// "$5 = (void (*)()) 0x1002a7 <main+39>" (p $pc) both give the hex number.
    static func printed(_ text: String) -> [UInt64] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("$"), let eq = line.range(of: " = ") else { return nil }
            var value = line[eq.upperBound...]
            if value.hasPrefix("("), let close = value.range(of: ") ") { value = value[close.upperBound...] }
            guard value.hasPrefix("0x") else { return nil }
            return UInt64(value.dropFirst(2).prefix { $0.isHexDigit }, radix: 16)
        }
    }

    @Test("gdb over a pipe: registers, stepi and reverse-stepi, breakpoints and watchpoints both ways, monitor, the ends of the history")
    func gdbDrivesTheReplay() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.gdb), "gdb is missing: scripts/deps installs it")
        let journal = Self.demoJournal
        // What the vmrr REPL says after one stepi from the start.
        let repl = try Fixtures.vmrr(["debug", journal, "--batch", "-x", "/dev/stdin"], stdin: "stepi\ninfo registers rip\n")
        let replRip = try #require(repl.stdout.split(separator: "\n").last { $0.hasPrefix("rip") }
            .flatMap { UInt64($0.split(separator: " ", omittingEmptySubsequences: true)[1].dropFirst(2), radix: 16) },
                                   "REPL: \(repl.stdout) \(repl.stderr)")
        let start = try #require(try E2E.dump(journal).events.first?.u("rip"))

        let pipe = "| \(Fixtures.vmrrBinary) debug \(journal) --gdb -"
        let r = try Self.gdbSession(pipe, [
            "p/x $rip",                              // 1: the start
            "stepi", "p/x $rip",                     // 2: one instruction on
            "reverse-stepi", "p/x $rip",             // 3: back
            "break *0x100052", "continue", "p/x $rip",   // 4: the IN of serial_putc's LSR poll
            "continue", "p/x $rip",                  // 5: its next execution
            "reverse-continue", "p/x $rip",          // 6: back to the first
            "delete",
            "watch -l *(long*)0x7ffc8", "continue", "reverse-continue", "delete",
            "monitor pt 0x100052",
            "continue",                              // to the end of the history
            "reverse-continue", "p/x $rip",          // 7: back to the start
            "info registers cs",
        ])
        #expect(r.exited && !r.timedOut, "gdb: \(r.stderr)")
        let values = Self.printed(r.stdout)
        #expect(values.count == 7, "\(r.stdout)\n\(r.stderr)")
        guard values.count == 7 else { return }
        #expect(values[0] == start)
        #expect(values[1] == replRip, "gdb's stepi and the REPL's stepi agree")
        #expect(values[1] != start)
        #expect(values[2] == start, "reverse-stepi returns to the start")
        #expect(values[3] == 0x100052 && values[4] == 0x100052 && values[5] == 0x100052)
        #expect(r.stdout.components(separatedBy: "Breakpoint 1, 0x0000000000100052").count - 1 == 3, "\(r.stdout)")
        #expect(values[6] == start)
        // The watchpoint fires forward, then backward, each with the old and new value.
        let hits = r.stdout.components(separatedBy: "Hardware watchpoint 2: -location *(long*)0x7ffc8\n\nOld value = ").count - 1
        #expect(hits == 2, "\(r.stdout)")
        // gdb prints a monitor command's output on its stderr.
        #expect((r.stdout + r.stderr).contains("=> gpa 0x0000000000100052"), "monitor pt runs vmrr's page walk: \(r.stderr)")
        #expect(r.stdout.components(separatedBy: "No more reverse-execution history.").count - 1 == 2, "\(r.stdout)")
        #expect(r.stdout.contains("cs             0x8"), "\(r.stdout)")
        #expect(!r.stderr.contains("Remote connection closed") && !r.stderr.contains("protocol error"), "\(r.stderr)")
    }

    @Test("gdb over TCP (port 0 picks one, announced on stderr); the server exits 0 when gdb leaves")
    func gdbOverTCP() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Fixtures.vmrrBinary)
        p.arguments = ["debug", Self.demoJournal, "--gdb", "127.0.0.1:0"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        // The announcement: "vmrr: gdb server listening on 127.0.0.1:PORT; ...".
        var announced = ""
        let reader = err.fileHandleForReading
        let deadline = Date().addingTimeInterval(30)
        while !announced.contains("\n") && Date() < deadline {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            announced += String(decoding: chunk, as: UTF8.self)
        }
        let port = try #require(announced.range(of: "listening on 127.0.0.1:").flatMap {
            UInt16(announced[$0.upperBound...].prefix { $0.isNumber })
        }, "no announcement: \(announced)")
        #expect(port != 0)
        // No `file` command: gdb asks for the executable (qXfer:exec-file:read) and loads the guest's symbols.
        let r = try Self.gdbSession("127.0.0.1:\(port)", ["p/x $rip", "stepi", "p/x $rip", "info symbol 0x100280", "kill"], loadFile: false)
        let values = Self.printed(r.stdout)
        #expect(values.count == 2 && values[0] != values[1], "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("main in section .text"), "\(r.stdout)\n\(r.stderr)")
        let waited = Date().addingTimeInterval(30)
        while p.isRunning && Date() < waited { usleep(50_000) }
        #expect(!p.isRunning && p.terminationStatus == 0, "the server should exit 0 after kill")
        // A bad endpoint is a one-line usage error.
        let bad = try Fixtures.vmrr(["debug", Self.demoJournal, "--gdb", "nowhere"])
        #expect(bad.status != 0 && bad.stderr.contains("--gdb must be PORT, HOST:PORT or -"), "\(bad.stderr)")
    }
}

extension KVMEndToEnd {
    /// Frames a packet the way gdb does.
    static func framed(_ payload: String) -> Data {
        let sum = payload.utf8.reduce(UInt8(0)) { $0 &+ $1 }
        return Data(("$" + payload + "#" + String(format: "%02x", sum)).utf8)
    }

    @Test("Ctrl-C (byte 0x03) during a long continue stops the replay with T02 where it is; the session goes on")
    func gdbInterruptsAContinue() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        // About 300,000 exits: seconds of replay, so the interrupt lands mid-way.
        let (rec, journal) = try E2E.record(Fixtures.guest("exits"), in: dir, name: "long", options: ["--clock", "virtual", "--quiet"],
                                            guestArgs: ["300000"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Fixtures.vmrrBinary)
        p.arguments = ["debug", journal, "--gdb", "-"]
        let toServer = Pipe(), fromServer = Pipe()
        p.standardInput = toServer
        p.standardOutput = fromServer
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() } }
        let w = toServer.fileHandleForWriting, r = fromServer.fileHandleForReading
        /// Reads until a complete packet ("$...#xx") has arrived; returns its payload.
        var buffered = ""
        func reply() -> String? {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if let s = buffered.firstIndex(of: "$"), let h = buffered[s...].firstIndex(of: "#"),
                   buffered.distance(from: h, to: buffered.endIndex) >= 3 {
                    let payload = String(buffered[buffered.index(after: s)..<h])
                    buffered = String(buffered[buffered.index(h, offsetBy: 3)...])
                    return payload
                }
                let chunk = r.availableData
                if chunk.isEmpty { return nil }
                buffered += String(decoding: chunk, as: UTF8.self)
            }
            return nil
        }
        w.write(Self.framed("QStartNoAckMode"))
        #expect(reply() == "OK")
        w.write(Self.framed("g"))
        let before = try #require(reply())
        let started = Date()
        w.write(Self.framed("c"))
        usleep(300_000)
        w.write(Data([3]))
        let stop = reply()
        let took = Date().timeIntervalSince(started)
        #expect(stop == "T02thread:01;", "\(stop ?? "no reply") after \(took) s")
        w.write(Self.framed("g"))
        let after = try #require(reply())
        #expect(after != before, "the replay moved before it stopped")
        w.write(Self.framed("c"))
        #expect(reply() == "T05replaylog:end;thread:01;", "continue after the interrupt runs to the end")
        w.write(Self.framed("k"))
        let deadline = Date().addingTimeInterval(30)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        #expect(!p.isRunning && p.terminationStatus == 0)
    }
}

extension KVMEndToEnd {
    @Test("gdb's source-level next, step, finish and reverse-next work on the replay (built from s, bs and breakpoints)")
    func gdbSourceLevelStepping() throws {
        let pipe = "| \(Fixtures.vmrrBinary) debug \(Self.demoJournal) --gdb -"
        let r = try Self.gdbSession(pipe, ["break main", "continue", "delete", "p $pc",
                                           "next", "p $pc", "next", "p $pc", "reverse-next", "p $pc",
                                           "step", "bt", "finish", "p $pc"])
        #expect(r.exited && !r.timedOut, "\(r.stderr)")
        // gdb prints "$N = (void (*)()) 0x1002a0 <main+32>": the function and offset of each stop.
        let stops = r.stdout.split(separator: "\n").filter { $0.hasPrefix("$") }.compactMap { line -> String? in
            guard let lt = line.firstIndex(of: "<"), let gt = line.lastIndex(of: ">") else { return nil }
            return String(line[line.index(after: lt)..<gt])
        }
        #expect(stops.count == 5, "\(r.stdout)\n\(r.stderr)")
        guard stops.count == 5 else { return }
        #expect(stops[0] == "main")
        #expect(stops[1].hasPrefix("main+") && stops[2].hasPrefix("main+") && stops[1] != stops[2], "next moves within main: \(stops)")
        #expect(stops[3] == stops[1], "reverse-next comes back to the previous line's start: \(stops)")
        // step enters a callee; bt shows main as its caller; finish returns into main.
        #expect(r.stdout.contains("#1  0x"), "\(r.stdout)")
        #expect(r.stdout.contains("in main ("), "\(r.stdout)")
        // finish returns to the return address bt showed for frame #1.
        let caller = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("#1  0x") }
            .flatMap { UInt64($0.dropFirst(6).prefix { $0.isHexDigit }, radix: 16) }, "\(r.stdout)")
        let finished = Self.printed(r.stdout).last
        #expect(finished == caller && stops[4].hasPrefix("main+"), "finish returns into main at 0x\(String(caller, radix: 16)): \(stops)")
    }
}

/// gdb on a multiboot kernel: an ELF32 container holding 64-bit code. With
/// no `file` command gdb must still take the x86-64 description (the stub
/// offers an ELF64 copy of the image), number registers as the stub does,
/// and show the system registers, all equal to the REPL's.
extension KVMEndToEnd {
    @Test("gdb on an ELF32 multiboot kernel with no file command: x86-64, fs_base, gs_base and the system registers equal the REPL's")
    func gdbOnAnELF32MultibootKernel() throws {
        let journal = E2E.journalsDir.appendingPathComponent("multiboot.vmrr").path
        let image = Fixtures.guest("multiboot")
        let names = ["rip", "rsp", "fs_base", "gs_base", "cr0", "cr3", "cr4", "efer"]
        // Somewhere past the switch to long mode: event 60.
        let repl = try Fixtures.vmrr(["debug", journal, "--image", image, "--batch", "-x", "/dev/stdin"],
                                     stdin: "goto 60\ninfo registers\ninfo sregs\n")
        #expect(repl.status == 0, "\(repl.stderr)")
        var expected: [String: UInt64] = [:]
        for line in repl.stdout.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            for (i, w) in words.enumerated() where i + 1 < words.count {
                let name = w.hasSuffix(":") || w.hasSuffix("=") ? String(w.dropLast()) : String(w)
                let key = name == "fs.base" ? "fs_base" : name == "gs.base" ? "gs_base" : name
                if names.contains(key), expected[key] == nil, words[i + 1].hasPrefix("0x"),
                   let v = UInt64(words[i + 1].dropFirst(2).prefix { $0.isHexDigit }, radix: 16) { expected[key] = v }
            }
        }
        let pipe = "| \(Fixtures.vmrrBinary) debug \(journal) --image \(image) --gdb -"
        let r = try Self.gdbSession(pipe, ["monitor goto 60", "flushregs", "show architecture"] + names.map { "p/x $\($0)" }
                                    + ["set var $rax = 5"], loadFile: false)
        // A write is refused, and vmrr says why (on its stderr: gdb's terminal over a pipe).
        #expect(r.stderr.contains("read-only: its registers cannot be changed"), "\(r.stderr)")
        #expect(r.stdout.contains("i386:x86-64"), "\(r.stdout)\(r.stderr)")
        #expect(!r.stdout.contains("Invalid register") && !r.stderr.contains("Invalid register"), "\(r.stderr)")
        let got = Self.printed(r.stdout)
        #expect(got.count == names.count, "gdb printed \(got) for \(names): \(r.stdout)\(r.stderr)")
        for (name, value) in zip(names, got) where expected[name] != nil {
            #expect(value == expected[name], "\(name): gdb \(hex(value)), REPL \(hex(expected[name]!))")
        }
        #expect(["rip", "cr3", "efer"].allSatisfy { expected[$0] != nil }, "the REPL's registers: \(repl.stdout)")
        // The ELF64 copy is removed when the stub ends.
        let tmp = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        let left = (try? FileManager.default.contentsOfDirectory(atPath: tmp).filter { $0.hasPrefix("vmrr-gdb-") }) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
    }
}
