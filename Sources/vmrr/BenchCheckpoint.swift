import Glibc
import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMachine

/// `vmrr bench` part 2 (also `--checkpoints-only`): a checkpoint's cost per
/// MiB of dirty memory. 16 MiB of non-zero pages in a real VM's RAM,
/// captured, encoded, checksummed and written, the ways compared
/// alternating in the same rounds; measured and printed, never asserted.
extension Bench {
    func checkpointFigures(_ out: StdoutBuffer) throws {
        let rig = try CheckpointRig(scratch: scratch)
        defer { rig.remove() }
        let cp = try checkpointCost(rig)
        out.line("checkpoints (16 MiB of non-zero pages; capture + encode + CRC + write(2) in the call; ms per MiB, median of \(rounds) alternating rounds [lowest-highest]):")
        out.line(row("pages copied to records", "CPU \(ms(cp.records.map(\.cpu)))", "wall \(ms(cp.records.map(\.wall))) (each page copied to a PageRecord, then into the chunk)"))
        out.line(row("pages from guest RAM", "CPU \(ms(cp.ram.map(\.cpu)))", "wall \(ms(cp.ram.map(\.wall))) (one copy per page)"))
        out.line(row("from RAM / to records", "CPU " + Spread(zip(cp.ram, cp.records).map { $0.cpu / $1.cpu }).text,
                     "wall " + Spread(zip(cp.ram, cp.records).map { $0.wall / $1.wall }).text + " (per-round ratios)"))
        out.line(row("write(2) alone", "CPU \(ms(cp.write.map(\.cpu)))", "wall \(ms(cp.write.map(\.wall))) (16 MiB of the same bytes appended to another file: the kernel's part)"))
        out.line(row("from RAM minus write(2)", "CPU \(ms(zip(cp.ram, cp.write).map { $0.cpu - $1.cpu }))", "(per round: vmrr's own part, capture + encode + CRC)"))
        out.line("")
        out.flush()
        try handoffFigures(out, rig)
    }

    /// The recorder's path with the write(2) in the call (inline, as before
    /// the writer thread) against handed over to the journal's writer thread.
    func handoffFigures(_ out: StdoutBuffer, _ rig: CheckpointRig) throws {
        let h = try handoffCost(rig)
        out.line("checkpoint hand-over (the same 16 MiB from guest RAM; write(2) inline in the call (before) against on the journal's writer thread (now);")
        out.line("  the recording thread's time in the checkpoint, capture to return; the write(2)s timed where they ran; ms per MiB, \(rounds) alternating rounds):")
        out.line(row("vCPU, write inline", "CPU \(ms(h.inline.map(\.vcpu.cpu)))", "wall \(ms(h.inline.map(\.vcpu.wall))) (capture + encode + CRC + write(2))"))
        out.line(row("vCPU, handed over", "CPU \(ms(h.handed.map(\.vcpu.cpu)))", "wall \(ms(h.handed.map(\.vcpu.wall))) (capture + encode + CRC + hand-over; goal <= 1 ms/MiB)"))
        out.line(row("handed over / inline", "CPU " + Spread(zip(h.handed, h.inline).map { $0.vcpu.cpu / $1.vcpu.cpu }).text,
                     "wall " + Spread(zip(h.handed, h.inline).map { $0.vcpu.wall / $1.vcpu.wall }).text + " (vCPU thread, per-round ratios)"))
        out.line(row("write(2), inline", "CPU \(ms(h.inline.map(\.write.cpu)))", "wall \(ms(h.inline.map(\.write.wall))) (on the vCPU thread, inside the call)"))
        out.line(row("write(2), writer thread", "CPU \(ms(h.handed.map(\.write.cpu)))", "wall \(ms(h.handed.map(\.write.wall))) (on the writer thread, after the hand-over)"))
        out.line(row("CPU in all, handed over", "CPU \(ms(h.handed.map { $0.vcpu.cpu + $0.write.cpu }))", "(per round: vCPU thread + writer thread)"))
        out.line("")
        out.flush()
    }

    func ms(_ xs: [Double]) -> String { "\(f2(median(xs) / 1e6)) [\(f2(xs.min()! / 1e6))-\(f2(xs.max()! / 1e6))]" }

    /// A VM with 16 MiB of non-zero pages and a journal path to write them to.
    final class CheckpointRig {
        let machine: Machine
        let gpas: [UInt64]
        let mib: UInt64 = 16
        let path: String
        var header = JournalHeader()
        var id: UInt32 = 0

        init(scratch: String) throws {
            machine = try Machine(memorySize: Layout.defaultMemorySize)
            let pages = Int(mib << 20 / Layout.pageSize)
            var pattern = [UInt8](repeating: 0, count: Int(Layout.pageSize))
            for i in 0..<pattern.count { pattern[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
            let base = Layout.imageMinimumAddress
            for p in 0..<pages { _ = machine.ram.write(base + UInt64(p) * Layout.pageSize, pattern) }
            gpas = (0..<pages).map { base + UInt64($0) * Layout.pageSize }
            path = "\(scratch)/vmrr-bench-cp-\(getpid())"
            header.memorySize = Layout.defaultMemorySize
        }

        func remove() { for s in ["", "-inline", "-handed"] { unlink(path + s + ".vmrr") } }

        /// One checkpoint through `w`, as the recorder takes it: the
        /// recording thread's wall and CPU per MiB, capture to return.
        func checkpoint(_ w: JournalWriter, fromRAM: Bool) throws -> LoopTime {
            let t0 = monotonicNanoseconds(), c0 = threadCPUNanoseconds()
            _ = try machine.dirtyPages()
            let state = try machine.captureState()
            let cp = Checkpoint(id: id, eventIndex: w.eventCount, full: false, state: state, pages: fromRAM ? [] : machine.pages(gpas))
            try w.append(.checkpoint(id: id), regs: state.regs)
            if fromRAM { try w.appendCheckpoint(cp, pagesAt: gpas, in: machine) } else { try w.appendCheckpoint(cp) }
            id += 1
            return LoopTime(wall: Double(monotonicNanoseconds() - t0) / Double(mib), cpu: Double(threadCPUNanoseconds() - c0) / Double(mib))
        }
    }

    /// Alternately through page records and straight from guest RAM, the
    /// write(2) inline; and a plain write(2) of as many bytes: ns per MiB.
    func checkpointCost(_ rig: CheckpointRig) throws -> (records: [LoopTime], ram: [LoopTime], write: [LoopTime]) {
        let w = try JournalWriter(path: rig.path + ".vmrr", header: rig.header, writesInBackground: false)
        var records: [LoopTime] = [], ram: [LoopTime] = [], write: [LoopTime] = []
        let plain = "\(scratch)/vmrr-bench-cp-write-\(getpid())"
        let plainFD = open(plain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard plainFD >= 0 else { fail("bench: cannot create \(plain): \(Errno.current)") }
        defer { close(plainFD); unlink(plain) }
        let same = [UInt8](repeating: 0x5a, count: rig.gpas.count * Int(Layout.pageSize))
        for _ in 0..<rounds {
            records.append(try rig.checkpoint(w, fromRAM: false))
            ram.append(try rig.checkpoint(w, fromRAM: true))
            let t0 = monotonicNanoseconds(), c0 = threadCPUNanoseconds()
            try FileIO.writeAll(fd: plainFD, same)
            write.append(LoopTime(wall: Double(monotonicNanoseconds() - t0) / Double(rig.mib), cpu: Double(threadCPUNanoseconds() - c0) / Double(rig.mib)))
        }
        try w.finish()
        return (records, ram, write)
    }

    /// One checkpoint's figures: the recording thread's, and its write(2)s', per MiB.
    struct HandoffRound { var vcpu: LoopTime; var write: LoopTime }

    /// The recorder's checkpoint with the write(2) inline and handed over,
    /// alternating (the order swapped every round), each into its own
    /// growing journal. After each hand-over the bench waits for the writer
    /// (outside the timed part), so no checkpoint waits for the one before.
    func handoffCost(_ rig: CheckpointRig) throws -> (inline: [HandoffRound], handed: [HandoffRound]) {
        let inline = try JournalWriter(path: rig.path + "-inline.vmrr", header: rig.header, writesInBackground: false)
        let handed = try JournalWriter(path: rig.path + "-handed.vmrr", header: rig.header, writesInBackground: true)
        guard handed.writesInBackground else { fail("bench: the journal's writer thread could not be started") }
        var a: [HandoffRound] = [], b: [HandoffRound] = []
        for r in 0..<rounds {
            for w in r % 2 == 0 ? [inline, handed] : [handed, inline] {
                let before = w.writeStats
                let t = try rig.checkpoint(w, fromRAM: true)
                try w.waitForWrites()
                let after = w.writeStats
                let mib = Double(rig.mib)
                let write = LoopTime(wall: Double(after.wallNanoseconds - before.wallNanoseconds) / mib,
                                     cpu: Double(after.cpuNanoseconds - before.cpuNanoseconds) / mib)
                if w === inline { a.append(HandoffRound(vcpu: t, write: write)) } else { b.append(HandoffRound(vcpu: t, write: write)) }
            }
        }
        try inline.finish()
        try handed.finish()
        return (a, b)
    }
}
