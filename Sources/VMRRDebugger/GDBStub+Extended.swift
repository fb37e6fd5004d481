import VMRRBase
import VMRRReplay

/// `vCont`, `vRun` (rr's `run EVENT`: a jump gdb follows, as for a new run),
/// and the monitor commands that only make sense under gdb (`when`,
/// `checkpoint`, `restart N`).
extension GDBStub {
    /// The actions `vCont?` offers (no `t`: the single thread never runs alone;
    /// no `r`: range stepping is gdb's `s` loop here).
    static let vContActions = "vCont;c;C;s;S"

    func vPacket(_ p: String) -> String {
        if p == "vCont?" { return Self.vContActions }
        if p.hasPrefix("vCont;") { return vCont(p.dropFirst("vCont;".count)) }
        if p.hasPrefix("vRun;") { return vRun(p.dropFirst("vRun;".count)) }
        if p.hasPrefix("vKill") { return "OK" }   // extended-remote: the replay stays, gdb's `run` follows
        return ""   // vMustReplyEmpty, vFile, ...: not supported
    }

    /// `vCont;ACTION[:THREAD][;ACTION[:THREAD]]...`: the first action that
    /// names a thread of the recording (or none) moves the one history: a
    /// step is one instruction of the vCPU running there, whichever thread
    /// it names (the recording decides which vCPU runs).
    func vCont(_ actions: Substring) -> String {
        for action in actions.split(separator: ";") {
            let parts = action.split(separator: ":", maxSplits: 1)
            if parts.count == 2, !namesAThread(parts[1]) { continue }
            switch parts.first?.first {
            case "c", "C": return continueMotion()
            case "s", "S": return motion { [target] in try target.stepInstructions(1) }
            default: return "E01"
            }
        }
        return "E01"
    }

    /// `vRun;FILE;ARG...` (gdb's `run ARG` over `target extended-remote`):
    /// moves to the position ARG names, `EVENT`, `EVENT+K` or `cN` (a
    /// `monitor checkpoint`), or to the start with no argument, and answers
    /// with a stop reply, so gdb reads every register afresh.
    func vRun(_ rest: Substring) -> String {
        let fields = rest.split(separator: ";", omittingEmptySubsequences: false)
        let args = fields.dropFirst().compactMap { GDBPacket.unhex(String($0)).map { String(decoding: $0, as: UTF8.self) } }
        let words = args.joined(separator: " ").split(separator: " ").map(String.init)
        let destination: Position
        do { destination = try runDestination(words) } catch {
            motionFailure = "vmrr: \(error)\n"
            return "E01"
        }
        let reply = motion { [target] in
            try target.goto(destination)
            return destination == Position(event: 0) ? .startOfHistory : .done
        }
        // gdb's `run` resumes the new process right after vRun; the replay stays at the position asked for.
        holdNextContinue = !reply.hasPrefix("E")
        return reply
    }

    /// A forward continue: none right after `vRun` (gdb's `run` resumes at
    /// once), where it answers the same stop again.
    func continueMotion() -> String {
        if holdNextContinue {
            holdNextContinue = false
            return lastStop
        }
        return motion { [target] in try target.continueForward() }
    }

    /// What `run` with these arguments names.
    func runDestination(_ words: [String]) throws -> Position {
        guard let w = words.first else { return Position(event: 0) }
        guard words.count == 1 else { throw DebugError("run takes one position: EVENT, EVENT+K or cN (a monitor checkpoint)") }
        if w.hasPrefix("c"), let n = Int(w.dropFirst()) { return try checkpoint(n) }
        guard let p = Position(parsing: w) else {
            throw DebugError("run \(w): not a position: EVENT, EVENT+K or cN (a monitor checkpoint)")
        }
        return p
    }

    func checkpoint(_ n: Int) throws -> Position {
        guard let p = checkpoints[n] else {
            let have = checkpoints.keys.sorted().map(String.init).joined(separator: ", ")
            throw DebugError("no checkpoint \(n)\(have.isEmpty ? " (monitor checkpoint makes one)" : "; there are \(have)")")
        }
        return p
    }

    /// The monitor commands the stub answers itself; nil for the session's.
    func stubMonitor(_ line: String) -> String? {
        let words = line.split(separator: " ").map(String.init)
        switch words.first {
        case "when":
            let p = target.position
            let rip = (try? target.registers().rip).map { " at rip \(hex($0))" } ?? ""
            return "Current event: \(p.event)\nCurrent instruction: \(p.instructions) after it (position \(p))\(rip)\n"
        case "checkpoint":
            let n = (checkpoints.keys.max() ?? 0) + 1
            checkpoints[n] = target.position
            return "Checkpoint \(n) at position \(target.position)\n"
        case "restart":
            guard words.count == 2, let n = Int(words[1].hasPrefix("c") ? String(words[1].dropFirst()) : words[1]) else {
                return "restart N: N is a number from monitor checkpoint\n"
            }
            do {
                let p = try checkpoint(n)
                try target.goto(p)
                lastStop = stopReply(.done)
                // gdb 13 re-reads registers only after a stop reply, and
                // accepts no unsolicited one in all-stop mode (a `%Stop`
                // notification there is an internal error): so a restart gdb
                // follows is `run cN` (vRun), the `restart N` of scripts/vmrr.gdb.
                return "At checkpoint \(n), position \(p). gdb keeps showing the registers it read before a monitor command; "
                    + "over `target extended-remote`, `run c\(n)` (`restart \(n)` with scripts/vmrr.gdb) moves and gdb re-reads them.\n"
            } catch {
                return "restart \(n): \(error)\n"
            }
        default: return nil
        }
    }
}
