import VMRRBase
import VMRRReplay

// Threads: gdb's threads are vmrr's vCPUs, thread N being vCPU N-1
// (docs/DEBUGGER.md, "Threads"). The selected thread is whose state the
// other commands show; a motion selects the vCPU that runs where it stops.

extension DebuggerSession {
    /// `info threads`, in gdb's layout: the selected thread marked `*`.
    func infoThreads() throws {
        var rows = [["", "Id", "Target Id", "Frame"]]
        for k in 0..<target.vcpuCount {
            var id = "vCPU \(k)"
            if k == target.runningVCPU { id += " (running)" }
            let frame: String
            do {
                let rip = try target.registers(vcpu: k).rip
                frame = Render.address(rip, symbolic(rip))
            } catch {
                frame = "(\(error))"
            }
            rows.append([k == target.shownVCPU ? "*" : "", "\(k + 1)", id, frame])
        }
        for l in Render.table(rows, gap: 1) { out.line(l) }
    }

    /// `thread [N]`: selects thread N, or names the selected one.
    func thread(_ n: Int?) throws {
        guard let n else {
            out.line("[Current thread is \(target.shownVCPU + 1) (vCPU \(target.shownVCPU))]")
            return
        }
        let k = n - 1
        guard k < target.vcpuCount else {
            throw DebugError("thread \(n): no such thread: the journal has \(target.vcpuCount) vCPUs (threads 1 to \(target.vcpuCount))")
        }
        try target.selectVCPU(k == target.runningVCPU ? nil : k)
        selectedFrame = 0
        out.line("[Switching to thread \(n) (vCPU \(k))]")
        try showPosition(withEvent: false)
    }

    /// After a motion: the selection follows the running vCPU, and a change
    /// of the shown vCPU is said as gdb says it.
    func followRunningVCPU(shown before: Int) {
        target.selectedVCPU = nil
        let now = target.shownVCPU
        if now != before && target.vcpuCount > 1 { out.line("[Switching to thread \(now + 1) (vCPU \(now))]") }
    }
}
