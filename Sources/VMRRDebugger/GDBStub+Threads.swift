import VMRRReplay

/// gdb's threads over the stub: one thread per vCPU, thread id k+1 for
/// vCPU k (docs/DEBUGGER.md, "Threads"). There is one recorded history, in
/// which exactly one vCPU runs at a time: a motion moves that history (a
/// continue or a step on any thread runs whichever vCPU the recording ran),
/// and a stop reply names the vCPU running where it stopped.
extension GDBStub {
    /// A thread id as the protocol writes it (hex).
    static func threadID(_ vcpu: Int) -> String {
        let s = String(vcpu + 1, radix: 16)
        return s.count < 2 ? "0" + s : s
    }

    /// The `thread:ID;` of a stop reply: the vCPU running at the stop.
    var stopThread: String { "thread:\(Self.threadID(target.runningVCPU));" }

    /// The vCPU a thread id names: nil for "any" (0) and "all" (-1), and
    /// for `pP.T` forms the thread part; throws (as E01) for another id.
    func vcpu(threadID raw: Substring) throws -> Int? {
        var s = raw
        if s.hasPrefix("p"), let dot = s.firstIndex(of: ".") { s = s[s.index(after: dot)...] }
        if s == "0" || s == "-1" { return nil }
        guard let n = Int(s, radix: 16), n >= 1, n <= target.vcpuCount else { throw DebugError("no thread \(raw)") }
        return n - 1
    }

    /// `Hg ID` selects the thread `g`, `p` and `m` read; `Hc ID` names the
    /// thread to resume, which changes nothing here (the history moves as recorded).
    func setThread(_ p: String) -> String {
        guard p.count >= 2 else { return "E01" }
        let op = p[p.index(after: p.startIndex)]
        let k: Int?
        do { k = try vcpu(threadID: p.dropFirst(2)) } catch { return "E01" }
        if op == "g" { target.selectedVCPU = k }
        return op == "g" || op == "c" ? "OK" : ""
    }

    /// Whether a `vCont` action's thread is one of the recording's (or any, or all).
    func namesAThread(_ raw: Substring) -> Bool {
        do { _ = try vcpu(threadID: raw); return true } catch { return false }
    }

    /// `T ID`: every vCPU of the recording is alive.
    func threadAlive(_ p: String) -> String {
        do { _ = try vcpu(threadID: p.dropFirst()); return "OK" } catch { return "E01" }
    }

    /// The thread queries: `qC`, `qfThreadInfo`/`qsThreadInfo`, `qThreadExtraInfo`.
    func threadQuery(_ p: String) -> String? {
        if p == "qC" { return "QC" + Self.threadID(target.shownVCPU) }
        if p == "qfThreadInfo" { return "m" + (0..<target.vcpuCount).map(Self.threadID).joined(separator: ",") }
        if p == "qsThreadInfo" { return "l" }
        if p.hasPrefix("qThreadExtraInfo,") {
            guard let k = try? vcpu(threadID: p.dropFirst("qThreadExtraInfo,".count)) else { return "E01" }
            let words = "vCPU \(k)" + (k == target.runningVCPU ? ", running" : "")
            return GDBPacket.hex(Array(words.utf8))
        }
        return nil
    }
}
