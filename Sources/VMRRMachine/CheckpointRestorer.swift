import VMRRBase
import VMRRJournal

/// The one way a journal checkpoint is put back into a machine, for a replay
/// that starts there and for a timeline that seeks there.
///
/// Checkpoint 0 holds every non-zero page of the boot image; each later
/// checkpoint holds the pages written since the one before. So checkpoint K
/// is rebuilt from zeroed RAM by applying checkpoints 0 ... K in order, or,
/// when the machine already holds a state at or after checkpoint J < K (and
/// before K), by applying only J+1 ... K: every page that changed since J is
/// in one of them, with its content as of the last.
public struct CheckpointRestorer {
    public let reader: JournalReader

    public init(reader: JournalReader) { self.reader = reader }

    /// Restores memory and vCPU state as of checkpoint `id` into `machine`
    /// (over checkpoint `base` when given, else from zeroed RAM), and clears
    /// the dirty log. Returns the guest-physical pages it wrote with bytes
    /// (not those of zero runs: a page a run zeroes was either zero already
    /// or written before, so the caller knows it).
    ///
    /// With `verifyDigest`, the memory put back is checked against checkpoint
    /// `id`'s recorded digest (docs/JOURNAL.md) before its vCPU state is
    /// restored: a page changed after the checkpoint was written (a flipped
    /// bit whose chunk CRC was repaired, a forged page) is refused on one line
    /// instead of running damaged code, which could spin without an exit until
    /// the replay watchdog stopped it. It costs one pass over guest RAM, so
    /// replays check the checkpoint they start from, not every seek.
    @discardableResult
    public func restore(_ id: UInt32, into machine: Machine, over base: UInt32? = nil,
                        verifyDigest: Bool = false) throws -> [UInt64] {
        do {
            let lowest = base.map { $0 + 1 } ?? 0
            let infos = reader.checkpoints.filter { $0.id >= lowest && $0.id <= id }.sorted { $0.id < $1.id }
            if base == nil {
                guard let first = infos.first, first.full else {
                    throw VMRRError("\(reader.path): checkpoint 0 is not a full memory image")
                }
                machine.ram.zeroAll()
            }
            var written: [UInt64] = []
            var last: Checkpoint?
            for info in infos {
                let cp = try reader.checkpoint(id: info.id)
                try machine.zeroPages(cp.zeroRuns)
                try machine.restorePages(cp.pages)
                written += cp.pages.map(\.gpa)
                last = cp
            }
            if verifyDigest, let cp = last, cp.id == id, let want = cp.memoryDigest {
                let got = machine.memoryDigest()
                guard got == want else { throw VMRRError(Self.digestRefusal(reader.path, id, recorded: want, restored: got)) }
            }
            if let last { try restoreVCPUs(last, into: machine) }
            machine.clearDirtyLog()
            return written
        } catch let e as VMRRError { throw e } catch {
            throw VMRRError("\(reader.path): restoring checkpoint \(id): \(error)")
        }
    }

    /// Puts back the vCPUs of checkpoint `cp`: every vCPU's state and the
    /// running one for a machine of more than one vCPU (refused, in one line,
    /// for a checkpoint written before checkpoints held them all, except the
    /// boot's into a fresh machine), else the one.
    func restoreVCPUs(_ cp: Checkpoint, into machine: Machine) throws {
        guard machine.vcpus.count > 1 else { return try machine.restoreState(cp.state) }
        guard let all = cp.allVCPUs else {
            // The boot: into a fresh machine, whose APs wait for a SIPI in KVM's reset state.
            if cp.id == 0 {
                machine.select(0)
                return try machine.restoreState(cp.state)
            }
            throw VMRRError(Self.onlyRunningVCPU(reader, id: cp.id))
        }
        try machine.restoreStates(all.vcpus.map(\.state), running: all.running)
    }

    /// Why checkpoint `id` of a journal of more than one vCPU cannot be restored: one line.
    public static func onlyRunningVCPU(_ reader: JournalReader, id: UInt32) -> String {
        "\(reader.path): checkpoint \(id) holds only the running vCPU's state of \(reader.header.vcpuCount) (a format-3 journal written before 2026-12-02); replay it from the start, or record it again (docs/SMP.md)"
    }

    /// Why checkpoint `id` is refused: its restored memory is not what was recorded. One line.
    static func digestRefusal(_ path: String, _ id: UInt32, recorded: UInt64, restored: UInt64) -> String {
        "\(path): checkpoint \(id) restores memory whose digest \(hex(restored, digits: 16)) differs from the recorded "
            + "\(hex(recorded, digits: 16)): its pages changed after it was written (damaged, with its checksums repaired, "
            + "or forged)" + (id > 0 ? "; replay from an earlier checkpoint or the start" : "")
    }
}
