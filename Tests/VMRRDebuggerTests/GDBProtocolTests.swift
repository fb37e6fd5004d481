import Testing
import VMRRDebugger
import VMRRGuest
import VMRRJournal
import VMRRReplay
import VMRRTestSupport

/// The gdb remote protocol: framing on synthetic bytes, and the stub's
/// answers over a journal-only target (the real-gdb session on KVM is in
/// VMRRMachineTests/GDBTests.swift).
struct GDBPacketTests {
    @Test func framingComputesTheChecksumAndEscapes() {
        #expect(String(decoding: GDBPacket.frame("OK"), as: UTF8.self) == "$OK#9a")
        #expect(String(decoding: GDBPacket.frame(""), as: UTF8.self) == "$#00")
        // '#', '$', '}' and '*' are sent as '}' and the byte XOR 0x20; the checksum covers the escaped form.
        let framed = String(decoding: GDBPacket.frame("a#b$c}d*"), as: UTF8.self)
        #expect(framed.hasPrefix("$a}\u{03}b}\u{04}c}]d}\u{0A}#"))
        let body = Array(framed.utf8.dropFirst().prefix { $0 != UInt8(ascii: "#") })
        #expect(framed.hasSuffix("#" + GDBPacket.hex([GDBPacket.checksum(body)])))
    }

    @Test func decoderRoundTripsFramedPacketsFedByteByByte() {
        var d = GDBPacketDecoder()
        for payload in ["", "qSupported:multiprocess+;swbreak+", "a#b$c}d*", "m100000,40", String(repeating: "x", count: 3000)] {
            var items: [GDBPacketDecoder.Item] = []
            for b in GDBPacket.frame(payload) { if let i = d.feed(b) { items.append(i) } }
            #expect(items == [.packet(Array(payload.utf8))], "\(payload.prefix(40))")
        }
    }

    @Test func decoderReportsAcksInterruptsAndCorruption() {
        var d = GDBPacketDecoder()
        var items: [GDBPacketDecoder.Item] = []
        for b in Array("+-".utf8) + [3] + Array("$OK#00$OK#9a$OK#zz".utf8) { if let i = d.feed(b) { items.append(i) } }
        #expect(items == [.ack, .nack, .interrupt,
                          .corrupt(reason: "checksum 00 but the packet sums to 9a"),
                          .packet(Array("OK".utf8)),
                          .corrupt(reason: "bad checksum digit")])
        var small = GDBPacketDecoder(maxPayload: 8)
        var last: GDBPacketDecoder.Item?
        for b in GDBPacket.frame("0123456789") { if let i = small.feed(b) { last = i; break } }
        #expect(last == .corrupt(reason: "packet longer than 8 bytes"))
    }

    @Test func hexHelpersRejectOddOrNonHexText() {
        #expect(GDBPacket.unhex("00ff7A") == [0, 255, 0x7a])
        #expect(GDBPacket.unhex("abc") == nil)
        #expect(GDBPacket.unhex("zz") == nil)
        #expect(GDBPacket.hex([1, 0xab]) == "01ab")
    }

    @Test func endpoints() {
        #expect(GDBEndpoint.parse("-") == .stdio)
        #expect(GDBEndpoint.parse("1234") == .tcp(host: "127.0.0.1", port: 1234))
        #expect(GDBEndpoint.parse("0.0.0.0:0") == .tcp(host: "0.0.0.0", port: 0))
        #expect(GDBEndpoint.parse(":99") == .tcp(host: "127.0.0.1", port: 99))
        #expect(GDBEndpoint.parse("70000") == nil)
        #expect(GDBEndpoint.parse("a:b:c") == nil)
        #expect(GDBEndpoint.parse("host") == nil)
    }
}

struct GDBStubTests {
    static func stub(_ name: String = "paging") throws -> GDBStub {
        let reader = try JournalReader(path: Fixtures.journalPath(name))
        let target = try JournalTarget(reader: reader, ramRanges: Layout.ramRanges(memorySize: reader.header.memorySize))
        let out = CapturedOutput()
        return GDBStub(session: DebuggerSession(target: target, symbols: nil, image: nil, output: out), captured: out)
    }

    static func ask(_ s: GDBStub, _ packet: String) -> [GDBStub.Reply] { s.handle(Array(packet.utf8)) }
    static func one(_ s: GDBStub, _ packet: String) -> String {
        guard case let .packet(text)? = ask(s, packet).last else { return "<close>" }
        return text
    }

    static func le64(_ hex: Substring) -> UInt64 {
        let b = GDBPacket.unhex(hex)!
        return b.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    }

    @Test func handshake() throws {
        let s = try Self.stub()
        let supported = Self.one(s, "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386")
        for feature in ["ReverseStep+", "ReverseContinue+", "qXfer:features:read+", "QStartNoAckMode+", "PacketSize=",
                        "swbreak+", "hwbreak+", "vContSupported+"] {
            #expect(supported.contains(feature), "\(supported)")
        }
        #expect(s.acknowledging)
        #expect(Self.one(s, "QStartNoAckMode") == "OK")
        #expect(!s.acknowledging)
        #expect(Self.one(s, "?") == "T05thread:01;")
        #expect(Self.one(s, "qC") == "QC01")
        #expect(Self.one(s, "qfThreadInfo") == "m01")
        #expect(Self.one(s, "qsThreadInfo") == "l")
        #expect(Self.one(s, "Hg0") == "OK")
        #expect(Self.one(s, "qAttached") == "1")
        #expect(Self.one(s, "vCont?") == "vCont;c;C;s;S", "reverse motion stays bc and bs")
        #expect(Self.one(s, "vMustReplyEmpty") == "")
        #expect(Self.one(s, "qSomethingNew") == "")
        #expect(Self.ask(s, "D") == [.close("OK")])
        #expect(Self.ask(s, "k") == [.close(nil)])
    }

    @Test func targetDescriptionIsServedInChunks() throws {
        let s = try Self.stub()
        var xml = "", off = 0
        while true {
            let r = Self.one(s, "qXfer:features:read:target.xml:\(String(off, radix: 16)),10")
            #expect(r.first == "m" || r.first == "l")
            xml += r.dropFirst()
            off += r.count - 1
            if r.first == "l" { break }
            #expect(off < 10_000)
        }
        #expect(xml.contains("<architecture>i386:x86-64</architecture>"))
        #expect(Self.one(s, "qXfer:features:read:other.xml:0,100").hasPrefix("E"))
        // Every register carries its number, 0 to the last, each once, in the
        // features gdb requires, so gdb numbers them as the stub does.
        let regs = xml.split(separator: "\n").filter { $0.hasPrefix("<reg ") }
        let numbers = regs.compactMap { r in r.range(of: "regnum=\"").flatMap { Int(r[$0.upperBound...].prefix { $0.isNumber }) } }
        #expect(numbers == Array(0..<regs.count), "\(numbers)")
        func number(_ name: String) -> Int? {
            regs.firstIndex { $0.contains("name=\"\(name)\"") }.map { numbers[$0] }
        }
        #expect(number("rip") == 16 && number("eflags") == 17 && number("gs") == 23)
        #expect(number("fs_base") == 57 && number("gs_base") == 58 && number("orig_rax") == nil)
        for name in ["cr0", "cr2", "cr3", "cr4", "cr8", "efer"] { #expect(number(name) != nil, "\(name)") }
        for feature in ["org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse", "org.gnu.gdb.i386.segments"] {
            #expect(xml.contains("<feature name=\"\(feature)\">"), "\(feature)")
        }
        #expect(xml.components(separatedBy: "<feature ").count == xml.components(separatedBy: "</feature>").count)
    }

    @Test func segmentBasesAndSystemRegistersByTheDescriptionsNumbers() throws {
        let s = try Self.stub()
        let t = s.session.target
        let cp = try #require(t.journal.checkpoints.last)
        try t.goto(Position(event: cp.eventIndex))
        let sr = try t.specialRegisters()
        #expect(Self.le64(Substring(Self.one(s, "p39"))) == sr.fs.base)   // 57
        #expect(Self.le64(Substring(Self.one(s, "p3a"))) == sr.gs.base)   // 58
        for (n, v) in [(0x3b, sr.cr0), (0x3c, sr.cr2), (0x3d, sr.cr3), (0x3e, sr.cr4), (0x3f, sr.cr8), (0x40, sr.efer)] {
            #expect(Self.le64(Substring(Self.one(s, "p" + String(n, radix: 16)))) == v, "register \(n)")
        }
        #expect(Self.one(s, "p41") == "E45")
    }

    @Test func registersInGDBsAMD64OrderMatchTheJournal() throws {
        let s = try Self.stub()
        let t = s.session.target
        for event in [UInt64(0), 3, t.lastEvent] {
            try t.goto(Position(event: event))
            let regs = try t.registers()
            let g = Self.one(s, "g")
            // 16 general registers and rip (8 bytes), eflags and 6 segments (4 bytes).
            #expect(g.count == 2 * (17 * 8 + 4 + 6 * 4), "\(g.count)")
            let order = [regs.rax, regs.rbx, regs.rcx, regs.rdx, regs.rsi, regs.rdi, regs.rbp, regs.rsp,
                         regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15, regs.rip]
            for (i, v) in order.enumerated() {
                let at = g.index(g.startIndex, offsetBy: 16 * i)
                #expect(Self.le64(g[at..<g.index(at, offsetBy: 16)]) == v, "register \(i) at event \(event)")
            }
            #expect(Self.le64(Substring(Self.one(s, "p10"))) == regs.rip)
            #expect(Self.le64(Substring(Self.one(s, "p11"))) == regs.rflags & 0xFFFF_FFFF)
        }
        // Registers vmrr does not record are "unavailable" (x), at gdb's sizes.
        #expect(Self.one(s, "p18") == String(repeating: "x", count: 20))   // st0
        #expect(Self.one(s, "p28") == String(repeating: "x", count: 32))   // xmm0
        #expect(Self.one(s, "p400") == "E45")
    }

    @Test func memoryReadsAtACheckpointAndRefusesWrites() throws {
        let s = try Self.stub()
        let t = s.session.target
        try t.goto(Position(event: 0))
        let rip = try t.registers().rip
        let expected = try t.readVirtual(rip, count: 16)
        #expect(Self.one(s, "m\(String(rip, radix: 16)),10") == GDBPacket.hex(expected))
        // Unmapped (no page tables there): an error, not a crash.
        #expect(Self.one(s, "mffff800000000000,8") == "E14")
        #expect(Self.one(s, "m100000") == "E01")
        for write in ["M100000,1:90", "X100000,1:a", "G00", "P10=0000000000000000"] {
            #expect(Self.one(s, write) == "E01", "\(write)")
        }
    }

    @Test func monitorRunsADebuggerCommandAndReturnsItsOutputAsOPackets() throws {
        let s = try Self.stub()
        let replies = Self.ask(s, "qRcmd," + GDBPacket.hex(Array("info events 0 2".utf8)))
        #expect(replies.last == .packet("OK"))
        let text = replies.dropLast().compactMap { r -> String? in
            guard case let .packet(p) = r, p.first == "O", let b = GDBPacket.unhex(p.dropFirst()) else { return nil }
            return String(decoding: b, as: UTF8.self)
        }.joined()
        #expect(text.contains("checkpoint"), "\(text)")
        #expect(replies.count >= 2)
        let bad = Self.ask(s, "qRcmd," + GDBPacket.hex(Array("frobnicate".utf8)))
        #expect(bad.last == .packet("OK"))
        #expect(Self.ask(s, "qRcmd,zz") == [.packet("E01")])
    }

    @Test func theGuestImageIsOfferedAsTheExecutable() throws {
        let (session, out) = try Fixtures.session("paging")
        let s = GDBStub(session: session, captured: out)
        #expect(Self.one(s, "qSupported").contains("qXfer:exec-file:read+"))
        let path = Fixtures.guest("paging")
        #expect(Self.one(s, "qXfer:exec-file:read:1:0,1000") == "l" + path)
        #expect(Self.one(s, "qXfer:exec-file:read:1:4,1") == "m" + String(path.dropFirst(4).prefix(1)))
        // No image in the session: an error gdb reports as "no executable".
        #expect(Self.one(try Self.stub(), "qXfer:exec-file:read:1:0,1000") == "E00")
        #expect(Self.one(s, "qXfer:exec-file:read:1:zz") == "E00")
    }

    @Test func aMotionTheTargetCannotMakeExplainsWhyOnGDBsConsole() throws {
        let s = try Self.stub()
        let replies = Self.ask(s, "s")
        #expect(replies.count == 2 && replies.last == .packet("E01"))
        guard case let .packet(o)? = replies.first, o.first == "O", let text = GDBPacket.unhex(o.dropFirst()) else {
            Issue.record("no O packet: \(replies)"); return
        }
        #expect(String(decoding: text, as: UTF8.self).contains("stepi needs execution on KVM"))
        #expect(Self.ask(s, "g").count == 1, "the note is not repeated")
    }

    @Test func reverseMotionsAtTheStartSayReplaylogBegin() throws {
        let s = try Self.stub()
        try s.session.target.goto(Position(event: 0))
        #expect(Self.one(s, "bc") == "T05replaylog:begin;thread:01;")
    }
}

/// Hostile and malformed packets: every one gets an answer, none crashes.
struct GDBStubRobustnessTests {
    @Test func malformedPacketsAreAnsweredWithoutCrashing() throws {
        let s = try GDBStubTests.stub()
        let fixed = ["p-1", "p", "pzz", "p7fffffffffffffff", "m", "m,", "mzz,1", "m0,ffffffffffffffff", "mffffffffffffffff,10",
                     "qXfer:features:read:target.xml:ffffffffffffffff,ffffffffffffffff",
                     "qXfer:features:read:target.xml:0,ffffffffffffffff", "qXfer:features:read:target.xml:x",
                     "Z0", "Z0,", "Z0,zz,1", "Z2,100000,ffffffffffffffff", "Z2,fffffffffffffff8,8", "Z9,0,0", "z0,0,0",
                     "qRcmd,", "qRcmd,0", "bx", "H", "v", "\u{0}", String(repeating: "g", count: 5000)]
        var g = SystemRandomNumberGenerator()
        var random: [String] = []
        let alphabet = Array("0123456789abcdefxzZmMpPgGqQsScCbkDvH,:;#$}*-=.?")
        for _ in 0..<3000 {
            random.append(String((0..<Int.random(in: 1...24, using: &g)).map { _ in alphabet.randomElement(using: &g)! }))
        }
        for p in fixed + random where !["k", "D"].contains(where: { p.hasPrefix($0) }) {
            let replies = s.handle(Array(p.utf8))
            #expect(!replies.isEmpty, "\(p)")
        }
        #expect(GDBStubTests.one(s, "qXfer:features:read:target.xml:0,ffffffffffffffff").hasPrefix("l<?xml"))
        #expect(GDBStubTests.one(s, "Z2,100000,ffffffffffffffff") == "E01")
    }
}

/// vCont, vRun, extended mode and the stub's own monitor commands, over the
/// journal-only target (motion there moves by events).
struct GDBStubExtendedTests {
    static func monitorText(_ s: GDBStub, _ line: String) -> String {
        let replies = GDBStubTests.ask(s, "qRcmd," + GDBPacket.hex(Array(line.utf8)))
        #expect(replies.last == .packet("OK"))
        return replies.dropLast().compactMap { r -> String? in
            guard case let .packet(p) = r, p.hasPrefix("O"), let b = GDBPacket.unhex(String(p.dropFirst())) else { return nil }
            return String(decoding: b, as: UTF8.self)
        }.joined()
    }

    @Test func whenCheckpointAndRestart() throws {
        let s = try GDBStubTests.stub()
        #expect(Self.monitorText(s, "when").hasPrefix("Current event: 0\nCurrent instruction: 0 after it (position 0) at rip 0x"))
        #expect(Self.monitorText(s, "checkpoint") == "Checkpoint 1 at position 0\n")
        try s.session.target.goto(Position(event: 5))
        #expect(Self.monitorText(s, "when").hasPrefix("Current event: 5\n"))
        #expect(Self.monitorText(s, "checkpoint") == "Checkpoint 2 at position 5\n")
        #expect(Self.monitorText(s, "restart 1").hasPrefix("At checkpoint 1, position 0."))
        #expect(s.session.target.position == Position(event: 0))
        #expect(Self.monitorText(s, "restart 9") == "restart 9: no checkpoint 9; there are 1, 2\n")
        #expect(Self.monitorText(s, "restart") == "restart N: N is a number from monitor checkpoint\n")
    }

    @Test func vRunMovesToAnEventOrACheckpointWithAStopReply() throws {
        let s = try GDBStubTests.stub()
        #expect(GDBStubTests.one(s, "!") == "OK")
        let arg = { (t: String) in GDBPacket.hex(Array(t.utf8)) }
        #expect(GDBStubTests.one(s, "vRun;;" + arg("7")) == "T05thread:01;")
        #expect(s.session.target.position == Position(event: 7))
        // gdb's `run` continues right after vRun: that continue stays where vRun went; the next one moves.
        #expect(GDBStubTests.one(s, "vCont;c") == "T05thread:01;")
        #expect(s.session.target.position == Position(event: 7))
        #expect(GDBStubTests.one(s, "c") == "T05replaylog:end;thread:01;")
        #expect(GDBStubTests.one(s, "vRun;;" + arg("7")) == "T05thread:01;")
        _ = Self.monitorText(s, "checkpoint")
        #expect(GDBStubTests.one(s, "vRun;") == "T05replaylog:begin;thread:01;", "no argument: the start")
        #expect(GDBStubTests.one(s, "vRun;;" + arg("c1")) == "T05thread:01;")
        #expect(s.session.target.position == Position(event: 7))
        // A bad argument: the reason on gdb's console, then an error.
        let bad = GDBStubTests.ask(s, "vRun;;" + arg("soon"))
        #expect(bad.last == .packet("E01"))
        guard case let .packet(o)? = bad.first, let text = GDBPacket.unhex(String(o.dropFirst())) else { Issue.record("\(bad)"); return }
        #expect(String(decoding: text, as: UTF8.self).contains("run soon: not a position"))
        // In extended mode `k` (gdb's kill before a new run) keeps the session; so does vKill.
        #expect(GDBStubTests.ask(s, "vKill;1") == [.packet("OK")])
        #expect(GDBStubTests.ask(s, "k") == [.packet("OK")])
    }

    @Test func vContStepsAndContinues() throws {
        let s = try GDBStubTests.stub()
        // The journal-only target moves by events: a step is refused there, and says why on gdb's console.
        let step = GDBStubTests.ask(s, "vCont;s:1;c")
        #expect(step.last == .packet("E01"))
        #expect(GDBStubTests.one(s, "vCont;c") == "T05replaylog:end;thread:01;")
        #expect(GDBStubTests.one(s, "vCont;t") == "E01")
        #expect(GDBStubTests.one(s, "vCont;c:2") == "E01", "no action for the one thread")
    }

    @Test func aRefusedBreakpointIsExplainedWithTheNextStopReply() throws {
        let s = try GDBStubTests.stub()
        #expect(GDBStubTests.one(s, "Z1,400000,1") == "E01")
        let replies = GDBStubTests.ask(s, "c")
        #expect(replies.count == 2)
        guard case let .packet(o)? = replies.first, o.hasPrefix("O"), let text = GDBPacket.unhex(String(o.dropFirst())) else {
            Issue.record("\(replies)"); return
        }
        #expect(String(decoding: text, as: UTF8.self).hasPrefix("vmrr: cannot insert breakpoint at 0x400000: "))
        // Said once: the next motion has no console output.
        #expect(GDBStubTests.ask(s, "bc").count == 1)
        // A refused write is explained the same way.
        #expect(GDBStubTests.one(s, "P0=0500000000000000") == "E01")
        let after = GDBStubTests.ask(s, "c")
        guard case let .packet(w)? = after.first, w.hasPrefix("O"), let said = GDBPacket.unhex(String(w.dropFirst())) else {
            Issue.record("\(after)"); return
        }
        #expect(String(decoding: said, as: UTF8.self).contains("read-only: its registers cannot be changed"))
    }
}
