import Glibc
import VMRRBase

/// `vmrr bench` checkpoint part (also `--checkpoints-only`): how a checkpoint
/// finds the pages the guest wrote, the dirty bitmap (`KVM_GET_DIRTY_LOG`,
/// vmrr's way) against the dirty ring (`KVM_CAP_DIRTY_LOG_RING`), measured in
/// the reference C VMM (`refvmm --dirty-log bitmap|ring`) on the bench guest's
/// `dirty N P` mode: P pages written, then one exit, after which the pages are
/// collected. Alternating rounds; measured and printed, never asserted.
extension Bench {
    func dirtyTrackingFigures(_ out: StdoutBuffer) throws {
        let binary = try buildReference()
        defer { unlink(binary) }
        out.line("dirty tracking (refvmm --dirty-log, bench guest 'dirty \(dirtyIterations) P': P pages written per exit;")
        out.line("  CPU time of the collection per page, and of the run loop per exit, guest writes and faults included;")
        out.line("  median of \(rounds) alternating rounds [lowest-highest]):")
        for pages in [256, 4096] {
            var harvest: [String: [Double]] = [:], loop: [String: [Double]] = [:], ratio: [Double] = []
            for _ in 0..<rounds {
                var perPage: [String: Double] = [:]
                for mode in ["bitmap", "ring"] {
                    let r = try dirtyOnce(binary, mode: mode, pages: pages)
                    guard r.pages > 0 else { fail("bench: refvmm --dirty-log \(mode) collected no pages") }
                    perPage[mode] = r.harvestCPU / Double(r.pages)
                    harvest[mode, default: []].append(r.harvestCPU / Double(r.pages))
                    loop[mode, default: []].append(r.loopCPU / Double(r.exits))
                }
                ratio.append(perPage["ring"]! / max(perPage["bitmap"]!, 1))
            }
            for mode in ["bitmap", "ring"] {
                let h = harvest[mode]!, l = loop[mode]!
                out.line(row("  P=\(pages) \(mode)", "\(f2(median(h))) ns/page",
                             "[\(f2(h.min()!))-\(f2(h.max()!))]; loop \(f2(median(l) / 1000)) µs/exit [\(f2(l.min()! / 1000))-\(f2(l.max()! / 1000))]"))
            }
            out.line(row("  P=\(pages) ring / bitmap", Spread(ratio).text, "(collection CPU per page, per-round ratios)"))
            out.flush()
        }
        out.line("")
    }

    struct DirtyRun { var exits: UInt64; var loopCPU: Double; var pages: UInt64; var harvestCPU: Double }

    /// One run of `refvmm --dirty-log MODE` on the bench guest's dirty mode.
    func dirtyOnce(_ binary: String, mode: String, pages: Int) throws -> DirtyRun {
        let report = "\(scratch)/vmrr-refvmm-dirty-\(getpid()).out"
        defer { unlink(report) }
        let status = system("'\(binary)' --dirty-log \(mode) '\(benchGuest)' dirty \(dirtyIterations) \(pages) >/dev/null 2>'\(report)'")
        let text = (try? FileIO.readText(report)) ?? ""
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard status == 0, words.count >= 15, words[0] == "refvmm:", let exits = UInt64(words[2]), let cpu = Double(words[6]),
              words[9] == "dirty_pages", let n = UInt64(words[10]), let harvest = Double(words[14]) else {
            fail("bench: refvmm --dirty-log \(mode) on \(benchGuest) failed (status \(status)): \(text)")
        }
        return DirtyRun(exits: exits, loopCPU: cpu, pages: n, harvestCPU: harvest)
    }
}
