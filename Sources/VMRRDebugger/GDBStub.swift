import Glibc
import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRReplay

/// The gdb remote protocol over a `DebugTarget`: what each packet means for a
/// replay (docs/DEBUGGER.md, "gdb"). Transport-free: `handle` takes one
/// packet's payload and returns the replies, so it is tested without sockets.
///
/// Each vCPU is a thread (thread k+1 is vCPU k: GDBStub+Threads.swift) of an x86-64 machine. Registers and
/// memory are read-only, as in rr: a recorded execution cannot be changed.
/// Forward and reverse motions (`c`, `s`, `bc`, `bs`) move the replay;
/// `Z0`/`Z1` set hardware execution breakpoints, `Z2` write watchpoints;
/// stop replies say `replaylog:begin`/`replaylog:end` at the ends of the
/// history. `monitor CMD` runs a vmrr debugger command (`info sregs`,
/// `pt ADDR`, `walk2d ADDR`, `events`, ...) and shows its output.
public final class GDBStub {
    public let session: DebuggerSession
    let captured: CapturedOutput
    var target: DebugTarget { session.target }
    /// gdb's breakpoints and watchpoints by (type, address), mapped to the target's ids.
    var installed: [String: Int] = [:]
    /// Watchpoint ids to the virtual address gdb asked for.
    var watchAddresses: [Int: UInt64] = [:]
    /// Ids of gdb's software breakpoints (`Z0`), reported as `swbreak`.
    var softwareIDs: Set<Int> = []
    /// After `!` (`target extended-remote`): `k` keeps the session, `vRun` moves.
    var extendedMode = false
    /// `monitor checkpoint` positions, by number (from 1).
    var checkpoints: [Int: Position] = [:]
    /// Set by `vRun`: the continue gdb sends right after it does not move.
    var holdNextContinue = false
    /// Why the target last stopped, for `?` (at the start: SIGTRAP).
    var lastStop = "T05thread:01;"
    /// False after `QStartNoAckMode`.
    public private(set) var acknowledging = true
    /// The guest image offered to gdb (`qXfer:exec-file:read`): the one the
    /// session uses, as an ELF64 file gdb can take its architecture from.
    lazy var executable: GDBExecutable = {
        let e = GDBExecutable(image: session.image)
        if let note = e.note { StandardOutput().error("vmrr: \(note)") }
        return e
    }()

    /// Runs a motion; the transport wraps it to watch for gdb's interrupt byte.
    public var runMotion: (() throws -> StopReason) throws -> StopReason = { try $0() }

    public enum Reply: Equatable {
        case packet(String)
        /// The session ends after this reply (`k`, `D`).
        case close(String?)
    }

    /// `session` must write to `captured` (see `GDBStub.makeSession`).
    public init(session: DebuggerSession, captured: CapturedOutput) {
        self.session = session
        self.captured = captured
    }

    /// The stop reply for a motion's outcome.
    func stopReply(_ r: StopReason) -> String {
        let thread = stopThread
        switch r {
        case .done, .eventBreakpoint: return "T05" + thread
        case let .breakpoint(id, _): return (softwareIDs.contains(id) ? "T05swbreak:;" : "T05hwbreak:;") + thread
        case let .watchpoint(id, _, _, _):
            let a = watchAddresses[id].map { String($0, radix: 16) } ?? "0"
            return "T05watch:\(a);" + thread
        case .startOfHistory: return "T05replaylog:begin;" + thread
        case .endOfHistory: return "T05replaylog:end;" + thread
        case .interrupted: return "T02" + thread
        }
    }

    /// The kinds of write ("registers", "memory") already explained on stderr.
    var explainedWrites: Set<String> = []
    /// Refused breakpoints already explained on stderr.
    var explainedRefusals: Set<String> = []

    /// Why the last motion failed, shown on gdb's console (an `O` packet,
    /// which gdb accepts while it waits for a stop reply) before the error.
    var motionFailure: String?

    /// Explanations for gdb's console that could not be sent when they
    /// arose (outside a stop-reply wait): sent as `O` packets before the next
    /// stop reply (gdb inserts breakpoints right before it resumes).
    var pendingConsole: [String] = []

    func motion(_ body: @escaping () throws -> StopReason) -> String {
        holdNextContinue = false
        do {
            let r = try runMotion(body)
            // The selected thread follows the vCPU running at the stop, as gdb's does.
            target.selectedVCPU = nil
            lastStop = stopReply(r)
        } catch {
            motionFailure = "vmrr: \(error)\n"
            target.settleAfterFailedMotion()
            return "E01"
        }
        return lastStop
    }

    /// True for packets after which gdb waits for a stop reply.
    static func awaitsStopReply(_ p: String) -> Bool {
        p == "c" || p == "s" || p == "bc" || p == "bs" || p.hasPrefix("vCont;") || p.hasPrefix("vRun;")
            || p.hasPrefix("c") || p.hasPrefix("s") || p.hasPrefix("C") || p.hasPrefix("S")
    }

    /// Parses "ADDR,LEN" (hex).
    static func addressAndLength<S: StringProtocol>(_ s: S) -> (UInt64, UInt64)? {
        let parts = s.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = UInt64(parts[0], radix: 16), let n = UInt64(parts[1], radix: 16) else { return nil }
        return (a, n)
    }

    /// The replies to one packet (already unescaped). Output of `monitor`
    /// comes as `O` packets before the final reply.
    public func handle(_ payload: [UInt8]) -> [Reply] {
        let p = String(decoding: payload, as: UTF8.self)
        if p.hasPrefix("qRcmd,") { return monitor(String(p.dropFirst(6))) }
        var console: [Reply] = []
        if Self.awaitsStopReply(p) {
            console = pendingConsole.map { .packet("O" + GDBPacket.hex(Array($0.utf8))) }
            pendingConsole = []
        }
        let reply = handleOne(p)
        if let why = motionFailure {
            motionFailure = nil
            console.append(.packet("O" + GDBPacket.hex(Array(why.utf8))))
        }
        return console + [reply]
    }

    func handleOne(_ p: String) -> Reply {
        guard let first = p.first else { return .packet("") }
        switch first {
        case "?": return .packet(lastStop)
        case "g":
            do {
                let gp = try target.registers()
                let s = try? target.specialRegisters()
                return .packet((0...GDBTargetDescription.lastInGPacket).compactMap { GDBTargetDescription.value($0, gp: gp, sregs: s) }.joined())
            } catch { return .packet("E01") }
        case "p":
            guard let n = Int(p.dropFirst(), radix: 16), n >= 0 else { return .packet("E01") }
            do {
                let gp = try target.registers()
                return .packet(GDBTargetDescription.value(n, gp: gp, sregs: try? target.specialRegisters()) ?? "E45")
            } catch { return .packet("E01") }
        case "G", "P", "M", "X":
            // A recorded execution is read-only. gdb accepts `O` output only
            // while it waits for a stop reply, so the reason goes to vmrr's
            // stderr (gdb's terminal over a pipe) at once and to gdb's console
            // with the next stop reply, once per kind.
            let what = first == "G" || first == "P" ? "registers" : "memory"
            if !explainedWrites.contains(what) {
                explainedWrites.insert(what)
                let why = "vmrr: the recorded execution is read-only: its \(what) cannot be changed "
                    + "(vmrr replays what was recorded; change the guest and record again)"
                StandardOutput().error(why)
                pendingConsole.append(why + "\n")
            }
            return .packet("E01")
        case "m":
            guard let (a, n) = Self.addressAndLength(p.dropFirst()), n <= 0x10000 else { return .packet("E01") }
            // As many bytes as are readable from the start (gdb accepts a short read).
            var out: [UInt8] = []
            var at = a
            while UInt64(out.count) < n {
                let chunk = Int(min(n - UInt64(out.count), Checkpoint.pageSize - (at % Checkpoint.pageSize)))
                guard let bytes = try? target.readVirtual(at, count: chunk) else { break }
                out += bytes
                at &+= UInt64(chunk)
            }
            return .packet(out.isEmpty && n > 0 ? "E14" : GDBPacket.hex(out))
        // `c ADDR`, `C sig`, `S sig`: gdb never resumes at another address
        // here (the history cannot change), and signals mean nothing to a replay.
        case "c", "C": return .packet(continueMotion())
        case "s", "S": return .packet(motion { [target] in try target.stepInstructions(1) })
        case "b":
            if p == "bc" { return .packet(motion { [target] in try target.reverseContinue() }) }
            if p == "bs" { return .packet(motion { [target] in try target.reverseStepInstructions(1) }) }
            return .packet("")
        case "Z", "z": return .packet(breakpoint(p))
        case "H": return .packet(setThread(p))
        case "T": return .packet(threadAlive(p))
        case "k": return extendedMode ? .packet("OK") : .close(nil)
        case "D": return .close("OK")
        case "!": extendedMode = true; return .packet("OK")
        case "v": return .packet(vPacket(p))
        case "q", "Q": return .packet(query(p))
        default: return .packet("")
        }
    }

    /// One `qXfer` reply: `length` bytes of `object` from `offset`, "m" when
    /// more follows, "l" for the last part.
    static func xferChunk(_ object: [UInt8], offset: UInt64, length: UInt64) -> String {
        let from = Int(min(offset, UInt64(object.count)))
        let to = from + Int(min(length, UInt64(object.count - from)))
        return (to == object.count ? "l" : "m") + String(decoding: object[from..<to], as: UTF8.self)
    }

    func query(_ p: String) -> String {
        if p.hasPrefix("qSupported") {
            return "PacketSize=4000;qXfer:features:read+;qXfer:exec-file:read+;QStartNoAckMode+;ReverseStep+;ReverseContinue+;swbreak+;hwbreak+;vContSupported+"
        }
        if p == "QStartNoAckMode" { acknowledging = false; return "OK" }
        if p.hasPrefix("qXfer:features:read:target.xml:") {
            guard let (off, len) = Self.addressAndLength(p.dropFirst("qXfer:features:read:target.xml:".count)) else { return "E01" }
            return Self.xferChunk(Array(GDBTargetDescription.xml.utf8), offset: off, length: len)
        }
        if p.hasPrefix("qXfer:exec-file:read:") {
            // The guest image, when it is an ELF file on disk (gdb then loads its symbols itself).
            let rest = p.dropFirst("qXfer:exec-file:read:".count)
            guard let colon = rest.firstIndex(of: ":"), let (off, len) = Self.addressAndLength(rest[rest.index(after: colon)...]),
                  let path = executable.path else { return "E00" }
            return Self.xferChunk(Array(path.utf8), offset: off, length: len)
        }
        if p.hasPrefix("qXfer:") { return "E00" }
        if let threads = threadQuery(p) { return threads }
        switch p {
        case "qAttached": return "1"
        case "qSymbol::": return "OK"
        default: return ""
        }
    }

    /// Z0 (software: an int3 byte while the guest runs, any number), Z1
    /// (hardware: a debug register, a few), Z2 (write watchpoint); z removes.
    func breakpoint(_ p: String) -> String {
        let insert = p.first == "Z"
        let fields = p.dropFirst().split(separator: ",")
        guard fields.count >= 3, let type = Int(fields[0]), let addr = UInt64(fields[1], radix: 16),
              let kind = UInt64(fields[2].prefix { $0 != ";" }, radix: 16) else { return "E01" }
        guard type <= 2 else { return "" }   // read and access watchpoints: not supported
        if type == 2 { guard [1, 2, 4, 8].contains(kind) else { return "E01" } }
        let key = "\(type):\(String(addr, radix: 16)):\(type == 2 ? kind : 0)"
        if !insert {
            guard let id = installed.removeValue(forKey: key) else { return "OK" }
            try? target.deleteBreakpoint(id)
            watchAddresses[id] = nil
            softwareIDs.remove(id)
            return "OK"
        }
        if installed[key] != nil { return "OK" }
        do {
            let id: Int
            if type == 2 {
                let ctx = try target.mmuContext()
                guard let gpa = try? DebuggerSession.watchedPhysical(addr, length: kind, context: ctx, at: target.position) else {
                    return "E14"
                }
                id = try target.addBreakpoint(.watch(gpa: gpa, length: kind, virtual: addr))
                watchAddresses[id] = addr
            } else {
                id = try target.addBreakpoint(.address(addr), mechanism: type == 0 ? .software : .hardware)
                if type == 0 { softwareIDs.insert(id) }
            }
            installed[key] = id
            return "OK"
        } catch {
            // gdb only says "Cannot insert breakpoint"; the reason (the debug
            // registers are all in use, say) goes to gdb's console with the
            // next stop reply, and to vmrr's stderr.
            let why = "vmrr: cannot insert \(type == 2 ? "watchpoint" : "breakpoint") at \(hex(addr)): \(error)"
            if explainedRefusals.insert(why).inserted {
                StandardOutput().error(why)
                pendingConsole.append(why + "\n")
            }
            return "E01"
        }
    }

    /// `monitor LINE`: a vmrr debugger command; its output as `O` packets.
    func monitor(_ hex: String) -> [Reply] {
        guard let bytes = GDBPacket.unhex(hex) else { return [.packet("E01")] }
        let line = String(decoding: bytes, as: UTF8.self)
        _ = captured.take()
        var text: String
        if let own = stubMonitor(line) {
            text = own
        } else {
            let keepGoing = session.execute(line)
            text = captured.take()
            if !keepGoing { text += "(quit is not available here: use gdb's kill or detach)\n" }
        }
        var replies: [Reply] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            let end = min(utf8.count, i + 1024)
            replies.append(.packet("O" + GDBPacket.hex(Array(utf8[i..<end]))))
            i = end
        }
        replies.append(.packet("OK"))
        return replies
    }
}
