import Foundation
import Glibc
import Testing
import VMRRBase
import VMRRTestSupport

/// Ctrl-C (gdb's interrupt byte, 0x03) during a long forward continue and
/// during a reverse continue, over a pipe and over TCP: the replay stops at
/// the position it had reached (neither end), and says so with T02. The
/// latency is measured and printed, not asserted (the machine is shared:
/// docs/PERFORMANCE.md has the figure).
extension KVMEndToEnd {
    /// A raw remote-protocol client over two file descriptors.
    final class RawRemote {
        let input: FileHandle, output: FileHandle
        var buffered = ""
        init(input: FileHandle, output: FileHandle) { self.input = input; self.output = output }

        func send(_ payload: String) { output.write(KVMEndToEnd.framed(payload)) }
        func interrupt() { output.write(Data([3])) }

        /// The next complete packet's payload.
        func reply(timeout: Double = 120) -> String? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let s = buffered.firstIndex(of: "$"), let h = buffered[s...].firstIndex(of: "#"),
                   buffered.distance(from: h, to: buffered.endIndex) >= 3 {
                    let payload = String(buffered[buffered.index(after: s)..<h])
                    buffered = String(buffered[buffered.index(h, offsetBy: 3)...])
                    return payload
                }
                let chunk = input.availableData
                if chunk.isEmpty { return nil }
                buffered += String(decoding: chunk, as: UTF8.self)
            }
            return nil
        }

        /// A stop reply, skipping console output (`O` packets).
        func stop() -> String? {
            while let r = reply() { if !(r.hasPrefix("O") && r != "OK") { return r } }
            return nil
        }

        /// `monitor when`: the current event.
        func currentEvent() -> UInt64? {
            send("qRcmd," + Array("when".utf8).map { String(format: "%02x", $0) }.joined())
            var text = ""
            while let r = reply(), r != "OK" {
                guard r.hasPrefix("O"), let bytes = GDBHex.decode(String(r.dropFirst())) else { return nil }
                text += String(decoding: bytes, as: UTF8.self)
            }
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Current event: ") }) else { return nil }
            return UInt64(line.dropFirst("Current event: ".count))
        }
    }

    enum GDBHex {
        static func decode(_ s: String) -> [UInt8]? {
            let u = Array(s.utf8)
            guard u.count % 2 == 0 else { return nil }
            return stride(from: 0, to: u.count, by: 2).map { UInt8(String(decoding: u[$0..<$0 + 2], as: UTF8.self), radix: 16) ?? 0 }
        }
    }

    /// Connects to 127.0.0.1:port.
    static func connectTCP(_ port: UInt16) throws -> FileHandle {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, rc == 0 else { throw DebugTestError("connect 127.0.0.1:\(port): errno \(errno)") }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Sends `packet`, waits `after` seconds, interrupts; returns the stop reply and the seconds from the interrupt to it.
    static func interrupted(_ remote: RawRemote, _ packet: String, after: Double) -> (String?, Double) {
        remote.send(packet)
        usleep(UInt32(after * 1e6))
        let sent = Date()
        remote.interrupt()
        let stop = remote.stop()
        return (stop, Date().timeIntervalSince(sent))
    }

    @Test("Ctrl-C stops a 200,000-exit forward continue and a reverse continue where they are, over a pipe and over TCP; latency printed")
    func gdbInterruptsBothWays() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (rec, journal) = try E2E.record(Fixtures.guest("exits"), in: dir, name: "long", options: ["--clock", "virtual", "--quiet"],
                                            guestArgs: ["200000"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let last = try #require(try E2E.dump(journal).events.last?.u("index"))
        for transport in ["pipe", "tcp"] {
            let p: Process
            let remote: RawRemote
            if transport == "pipe" {
                p = Process()
                p.executableURL = URL(fileURLWithPath: Fixtures.vmrrBinary)
                p.arguments = ["debug", journal, "--gdb", "-"]
                let toServer = Pipe(), fromServer = Pipe()
                p.standardInput = toServer
                p.standardOutput = fromServer
                p.standardError = FileHandle.nullDevice
                try p.run()
                remote = RawRemote(input: fromServer.fileHandleForReading, output: toServer.fileHandleForWriting)
            } else {
                let (server, port) = try Self.tcpServer([journal])
                p = server
                let socket = try Self.connectTCP(port)
                remote = RawRemote(input: socket, output: socket)
            }
            defer { if p.isRunning { p.terminate() } }
            remote.send("QStartNoAckMode")
            #expect(remote.reply() == "OK")
            // A breakpoint that is never hit (an unmapped address), so that the reverse search executes every window.
            remote.send("Z0,7fff00000000,1")
            #expect(remote.reply() == "OK")
            // The interrupt must land while the motion runs; on a loaded machine the motion may not have
            // moved yet after a fixed delay, so a motion that has not moved is continued with a longer one
            // (behaviour, not a rate, is asserted: the stop is where the motion had got to).
            var (forward, forwardLatency) = Self.interrupted(remote, "c", after: 1.0)
            var reached = try #require(remote.currentEvent())
            for delay in [2.0, 4.0] where reached == 0 && forward == "T02thread:01;" {
                (forward, forwardLatency) = Self.interrupted(remote, "c", after: delay)
                reached = try #require(remote.currentEvent())
            }
            print("gdb Ctrl-C over \(transport): forward continue stopped \(Int(forwardLatency * 1000)) ms after the interrupt, at event \(reached) of \(last)")
            #expect(forward == "T02thread:01;", "\(forward ?? "no reply")")
            #expect(reached > 0 && reached < last, "stopped where it was: event \(reached)")
            // The reverse search starts near the end, reached by a jump (vRun, rr's `run EVENT`): from
            // wherever the forward continue stopped under load (event 7,634 once), it could get back
            // to the start before the interrupt.
            remote.send("vRun;;" + Array("\(last - 10)".utf8).map { String(format: "%02x", $0) }.joined())
            #expect(remote.reply()?.hasPrefix("T") == true)
            reached = try #require(remote.currentEvent())
            #expect(reached == last - 10)
            var (reverse, reverseLatency) = Self.interrupted(remote, "bc", after: 0.3)
            var back = try #require(remote.currentEvent())
            for delay in [1.0, 3.0] where back == reached && reverse == "T02thread:01;" {
                (reverse, reverseLatency) = Self.interrupted(remote, "bc", after: delay)
                back = try #require(remote.currentEvent())
            }
            print("gdb Ctrl-C over \(transport): reverse continue stopped \(Int(reverseLatency * 1000)) ms after the interrupt, at event \(back) (from \(reached))")
            #expect(reverse == "T02thread:01;", "\(reverse ?? "no reply")")
            #expect(back > 0 && back < reached, "stopped where the search had got to: event \(back)")
            remote.send("k")
            let deadline = Date().addingTimeInterval(30)
            while p.isRunning && Date() < deadline { usleep(20_000) }
            #expect(!p.isRunning && p.terminationStatus == 0)
        }
    }
}

/// The REPL's Ctrl-C during reverse-continue: the search stops where it had
/// got to, not back at the position it started from.
@Suite("REPL reverse Ctrl-C", .enabled(if: DebugBinary.tmux != nil, "tmux is not installed"),
       .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct REPLReverseInterruptTests {
    @Test func ctrlCStopsAReverseContinueWhereItIs() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (rec, journal) = try E2E.record(Fixtures.guest("exits"), in: dir, name: "rev", options: ["--clock", "virtual", "--quiet"],
                                            guestArgs: ["60000"])
        #expect(rec.status == 0, "\(rec.stderr)")
        let term = try Terminal(journal: journal, options: [])
        defer { term.close() }
        try term.wait(for: "(vmrr 0)", "the prompt")
        try term.keys("goto 50000", "Enter")
        try term.wait(for: "(vmrr 50000)", "at event 50000", timeout: 60)
        // A breakpoint that is never hit: the backward search executes every window.
        try term.keys("break *0x7fff00000000", "Enter")
        try term.keys("reverse-continue", "Enter")
        for _ in 0..<15 where !(try term.screen().contains("Interrupted.")) {
            usleep(500_000)
            try term.keys("C-c")
        }
        try term.wait(for: "Interrupted.", "the stop report", timeout: 30)
        try term.wait(for: "(vmrr ", "the prompt again")
        let screen = try term.screen()
        let prompts = screen.components(separatedBy: "(vmrr ").dropFirst().compactMap { UInt64($0.prefix { $0.isNumber }) }
        let stopped = try #require(prompts.last, "\(screen)")
        #expect(stopped > 0 && stopped < 50000, "stopped where the search had got to: \(screen)")
        try term.keys("quit", "Enter")
        try term.wait(for: "EXITED 0", "quit")
    }
}
