import VMRRGuest
import VMRRKVM
import VMRRMMU

/// Reads a vCPU's instruction bytes at a linear address through the guest's
/// page tables, for the IN a switch defers (`Runner.plainINCompletion`). It
/// keeps its last walk: the paging registers, the 4 KiB page and every paging
/// entry the walk read, with the value it read. A walk is a function of those
/// registers and those entries, so while all of them are unchanged it would
/// read the same entries and reach the same page: the next fetch from that
/// page re-reads the entries and compares them instead of walking. Any
/// difference (the guest changed a table, or the CPU set an accessed bit)
/// walks again. One per vCPU.
final class InstructionFetch {
    /// What a walk depends on besides the entries it reads.
    struct Key: Equatable {
        var page: UInt64
        var cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64
    }

    private var key: Key?
    /// The entries the kept walk read: guest-physical address and value.
    private var entries: [(address: UInt64, raw: UInt64)] = []
    /// The guest-physical address of the kept walk's 4 KiB page.
    private var pageGPA: UInt64 = 0

    /// Walks (`walks`) and fetches that reused the kept walk (`reused`): what the tests look at.
    private(set) var walks = 0, reused = 0

    /// Up to `count` bytes at `linear`, all inside its 4 KiB page (nil when
    /// the page does not map or lies outside RAM).
    func bytes(at linear: UInt64, count: Int, control: (cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64),
               facts: CPUIDFacts, ram: GuestRAM) -> [UInt8]? {
        let offset = linear & (Layout.pageSize - 1)
        precondition(offset + UInt64(count) <= Layout.pageSize, "a fetch stays inside its page")
        let k = Key(page: linear & ~(Layout.pageSize - 1), cr0: control.cr0, cr3: control.cr3, cr4: control.cr4,
                    efer: control.efer)
        if k == key, entries.allSatisfy({ ram.read64($0.address) == $0.raw }) {
            reused += 1
            return ram.read(pageGPA + offset, count: count)
        }
        walks += 1
        key = nil
        let context = PagingContext(cr0: control.cr0, cr3: control.cr3, cr4: control.cr4, efer: control.efer,
                                    rflags: 0, facts: facts)
        let walk = PageWalker.lookup(linear, context: context, memory: LiveMemory(ram))
        guard let t = walk.translation else { return nil }
        key = k
        entries = walk.steps.map { ($0.entryAddress, $0.raw) }
        pageGPA = t.address & ~(Layout.pageSize - 1)
        return ram.read(pageGPA + offset, count: count)
    }
}
