import Foundation
import Testing
import VMRRBase
import VMRRTestSupport

/// Debian's gdb on the multiboot fixture (an ELF32 container with a 32-bit
/// entry and 64-bit code with DWARF), connected with no `file` command, over
/// a pipe and over TCP: software breakpoints beyond the hardware slots, both
/// ways; source-level stepping with breakpoints set; the replay unchanged
/// under ten breakpoints; the 32-bit entry disassembled as objdump -m i386.
extension KVMEndToEnd {
    static var multibootJournal: String { E2E.journalsDir.appendingPathComponent("multiboot.vmrr").path }

    /// A `vmrr debug --gdb` server on TCP port 0: the process and the port it announced.
    static func tcpServer(_ args: [String]) throws -> (Process, UInt16) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Fixtures.vmrrBinary)
        p.arguments = ["debug"] + args + ["--gdb", "127.0.0.1:0"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        var announced = ""
        let deadline = Date().addingTimeInterval(60)
        while !announced.contains("\n") && Date() < deadline {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            announced += String(decoding: chunk, as: UTF8.self)
        }
        guard let port = announced.range(of: "listening on 127.0.0.1:").flatMap({
            UInt16(announced[$0.upperBound...].prefix { $0.isNumber })
        }) else {
            p.terminate()
            throw DebugTestError("no announcement: \(announced)")
        }
        return (p, port)
    }

    struct DebugTestError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// gdb with no `file` command on the multiboot journal, over `transport` ("pipe" or "tcp").
    static func multibootGDB(_ transport: String, _ commands: [String]) throws -> Fixtures.Result {
        let args = [multibootJournal, "--image", Fixtures.guest("multiboot")]
        if transport == "pipe" {
            return try gdbSession("| \(Fixtures.vmrrBinary) debug \(args.joined(separator: " ")) --gdb -", commands, loadFile: false)
        }
        let (server, port) = try tcpServer(args)
        defer {
            // gdb detaches at its end; the server then removes its files and exits 0.
            let deadline = Date().addingTimeInterval(30)
            while server.isRunning && Date() < deadline { usleep(20_000) }
            if server.isRunning { server.terminate() }
            #expect(server.terminationStatus == 0, "the server exits 0 when gdb detaches")
        }
        return try gdbSession("127.0.0.1:\(port)", commands, loadFile: false)
    }

    /// The breakpoint numbers gdb reported, in order ("Breakpoint 3, main (...)").
    static func hitNumbers(_ text: String) -> [Int] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("Breakpoint ") else { return nil }
            let number = line.dropFirst("Breakpoint ".count).prefix { $0.isNumber }
            guard line.dropFirst("Breakpoint ".count + number.count).hasPrefix(",") else { return nil }
            return Int(number)
        }
    }

    @Test("gdb, no file command: six software breakpoints (more than the debug registers) all hit in order forward, then in reverse",
          arguments: ["pipe", "tcp"])
    func gdbSixBreakpointsBothWays(transport: String) throws {
        // Six lines of main run once each (337's code is merged into 338's).
        let lines = [332, 333, 334, 335, 336, 338].map { "break multiboot.c:\($0)" }
        let r = try Self.multibootGDB(transport, lines + Array(repeating: "continue", count: 7)
                                      + Array(repeating: "reverse-continue", count: 7) + ["monitor when"])
        #expect(r.exited && !r.timedOut, "\(r.stderr)")
        let hits = Self.hitNumbers(r.stdout)
        #expect(hits == Array(1...6) + Array((1...6).reversed()), "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.components(separatedBy: "No more reverse-execution history.").count - 1 == 2, "both ends: \(r.stdout)")
        #expect((r.stdout + r.stderr).contains("Current event: 0\n"), "back at the start: \(r.stderr)")
        #expect(!r.stderr.contains("Cannot insert breakpoint") && !r.stderr.contains("diverged"), "\(r.stderr)")
    }

    @Test("gdb: next, step, finish, reverse-next and reverse-finish with five breakpoints set", arguments: ["pipe", "tcp"])
    func gdbSteppingWithBreakpoints(transport: String) throws {
        let r = try Self.multibootGDB(transport, [
            "break serial_put_hex", "break multiboot.c:334", "break multiboot.c:335", "break multiboot.c:336", "break multiboot.c:337",
            "continue", "bt", "p $pc",        // 0: in serial_put_hex, called from show_multiboot (inlined in main)
            "finish", "p $pc",                // 1: back at the return address
            "next", "p $pc",                  // 2
            "next", "p $pc",                  // 3
            "step", "step", "p $pc",          // 4: into serial_puts (the first step enters an inlined frame)
            "p/x &serial_puts",               // 5
            "next", "p $pc",                  // 6: inside it
            "reverse-finish", "p $pc",        // 7: back at the call in main
            "x/i $pc",
            "reverse-next", "p $pc",          // 8: back a line
        ])
        #expect(r.exited && !r.timedOut, "\(r.stderr)")
        var v = Self.printed(r.stdout)
        try #require(v.count == 9, "\(r.stdout)\n\(r.stderr)")
        let entry = v.removeFirst()
        let caller = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("#1  0x") }
            .flatMap { UInt64($0.dropFirst(6).prefix { $0.isHexDigit }, radix: 16) }, "\(r.stdout)")
        #expect(v[0] == caller, "finish returns where bt said: \(r.stdout)")
        #expect(v[1] > v[0] && v[2] > v[1], "next moves on: \(v)")
        #expect(v[3] == v[4], "step enters serial_puts at its first instruction: \(v)")
        #expect(v[5] > v[4], "next inside serial_puts: \(v)")
        #expect(v[6] < v[2] + 16 && v[6] >= v[1], "reverse-finish returns to the call: \(v)")
        #expect(r.stdout.contains("call   0x\(String(v[4], radix: 16)) <serial_puts>"), "the instruction is the call: \(r.stdout)")
        #expect(v[7] < v[6] && v[7] != entry, "reverse-next goes back a line in main: \(v)")
        #expect(Self.hitNumbers(r.stdout) == [1], "only serial_put_hex's breakpoint is hit, once: \(r.stdout)")
    }

    @Test("the journal replays identically while ten software breakpoints are set; x/3i at the 32-bit entry matches objdump -m i386",
          arguments: ["pipe", "tcp"])
    func gdbTenBreakpointsLeaveTheReplayAlone(transport: String) throws {
        // Ten breakpoints in functions main never calls: the run passes them all.
        let never = ["clock_ns", "timer_arm", "memset", "memcpy", "serial_getc", "vmrr_exit"].map { "break \($0)" }
            + ["break *clock_ns+4", "break *timer_arm+4", "break *memset+4", "break *memcpy+4"]
        let r = try Self.multibootGDB(transport, ["monitor x/3i $pc"] + never + ["continue", "monitor when", "info registers rip",
                                      "delete", "reverse-continue", "monitor when"])
        #expect(r.exited && !r.timedOut, "\(r.stderr)")
        let all = r.stdout + r.stderr
        // Every event matched (a divergence stops the replay with an error): gdb reaches the end.
        let last = try E2E.dump(Self.multibootJournal).events.count - 1
        #expect(all.contains("Current event: \(last)\n"), "ran to the last event \(last): \(all)")
        #expect(Self.hitNumbers(r.stdout).isEmpty && !all.contains("diverged"), "\(all)")
        #expect(all.contains("Current event: 0\n"), "\(all)")

        // The entry, in 32-bit protected mode (CS.L=0, CS.D=1), against objdump -m i386.
        let listed = all.split(separator: "\n").filter { $0.contains("<_start") && $0.contains(">:  ") }
        try #require(listed.count == 3, "\(all)")
        let od = try Fixtures.run("/usr/bin/objdump", ["-d", "-m", "i386", "--start-address=0x40000c", "--stop-address=0x400030",
                                                       Fixtures.guest("multiboot")], timeout: 60)
        let reference = od.stdout.split(separator: "\n").filter { $0.hasPrefix("  4000") }
        for (ours, theirs) in zip(listed, reference) {
            let address = String(theirs.prefix { $0 != ":" }.trimmingCharacters(in: .whitespaces))
            #expect(ours.contains("0x\(address)"), "\(ours) vs \(theirs)")
            let mnemonic = theirs.split(separator: "\t").last?.split(separator: " ").first.map(String.init) ?? "?"
            #expect(ours.contains(mnemonic), "\(ours) vs \(theirs)")
            #expect(!ours.contains("%rip") && !ours.contains("movabs"), "decoded as 64-bit code: \(ours)")
        }
    }
}

extension KVMEndToEnd {
    @Test("gdb's run EVENT and run cN (target extended-remote) jump in the history, and gdb shows the new registers with no flushregs")
    func gdbRunJumpsToAnEvent() throws {
        let journal = Self.multibootJournal, image = Fixtures.guest("multiboot")
        let repl = try Fixtures.vmrr(["debug", journal, "--image", image, "--batch", "-x", "/dev/stdin"], stdin: "goto 900\ninfo registers rip\n")
        let rip900 = try #require(repl.stdout.split(separator: "\n").last { $0.hasPrefix("rip") }
            .flatMap { UInt64($0.split(separator: " ", omittingEmptySubsequences: true)[1].dropFirst(2), radix: 16) }, "\(repl.stdout)")
        var args = ["-nx", "-batch", "-ex", "set pagination off", "-ex", "set confirm off",
                    "-ex", "target extended-remote | \(Fixtures.vmrrBinary) debug \(journal) --image \(image) --gdb -"]
        for c in ["break serial_put_dec", "continue", "monitor checkpoint", "p $pc", "run 900", "p $pc", "monitor when",
                  "run c1", "p $pc", "monitor when"] { args += ["-ex", c] }
        let r = try Fixtures.run(Self.gdb, args, timeout: 120)
        let all = r.stdout + r.stderr
        let v = Self.printed(r.stdout)
        try #require(v.count == 3, "\(all)")
        #expect(v[1] == rip900, "run 900: gdb shows event 900's rip: \(all)")
        #expect(all.contains("Current event: 900\nCurrent instruction: 0 after it (position 900)"), "\(all)")
        #expect(v[2] == v[0], "run c1 goes back to the checkpoint: \(all)")
        let checkpoint = try #require(all.split(separator: "\n").first { $0.hasPrefix("Checkpoint 1 at position ") }, "\(all)")
        #expect(all.contains("(position \(checkpoint.dropFirst("Checkpoint 1 at position ".count)))"), "\(all)")
    }
}
