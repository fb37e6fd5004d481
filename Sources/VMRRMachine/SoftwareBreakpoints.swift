import VMRRKVM

/// Debugger execution breakpoints beyond the hardware debug registers: an
/// `int3` (0xCC) byte patched over the first byte of the instruction, only
/// while a run-mode pass runs the vCPU.
///
/// The bytes go in when `Runner.runUntilStop` starts and come out before it
/// returns, and around every checkpoint check inside it: the replayer's
/// checkpoint comparisons, memory digests, debugger snapshots, memory reads
/// and single-steps (which never patch) all see the guest's own bytes, and
/// watched bytes are read through `unpatched`. Device answers at exits do not
/// read guest code. Only guest code itself could read a patched byte while it
/// runs (a guest that checksums or copies its own code would see 0xCC:
/// docs/DEBUGGER.md). The paging registers are compared at every exit (four
/// loads from the run page), and addresses are translated again when they change.
///
/// The breakpoint's exit, with `KVM_GUESTDBG_USE_SW_BP`: on an ordinary KVM
/// host a #BP becomes `KVM_EXIT_DEBUG` with exception 3 at the `int3`; on
/// this kind of host (docs/HOST.md) ring-0 code is emulated and the emulator
/// cannot run `int3`, so the exit is an emulation failure with RIP at the
/// `int3`. Both are recognised by RIP being a patched address.
final class SoftwareBreakpoints {
    /// The int3 opcode.
    static let int3: UInt8 = 0xCC
    /// #BP.
    static let breakpointVector: UInt32 = 3

    /// The guest-virtual addresses wanted.
    var addresses: [UInt64] = [] {
        didSet { if addresses != oldValue { translated = nil } }
    }

    /// One patched byte: where, and what was there.
    struct Patch {
        var gva: UInt64
        var gpa: UInt64
        var original: UInt8
    }
    private(set) var patched: [Patch] = []
    /// The guest-physical address of each wanted address (nil: not mapped),
    /// for the paging state in `translatedFor`.
    private var translated: [UInt64?]?
    private var translatedFor: (cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64) = (0, 0, 0, 0)

    var isEmpty: Bool { addresses.isEmpty }

    /// Writes the int3 bytes. Addresses are translated through the vCPU's
    /// paging state; an unmapped address is skipped until it maps.
    func insert(machine: Machine) throws {
        guard !addresses.isEmpty, patched.isEmpty else { return }
        let control = machine.vcpu.syncedPagingControl
        if translated == nil || control != translatedFor {
            translated = try addresses.map { try machine.vcpu.translate($0) }
            translatedFor = control
        }
        for (gva, gpa) in zip(addresses, translated ?? []) {
            guard let gpa, let b = machine.ram.read(gpa, count: 1)?.first else { continue }
            // The guest's own int3 needs no patch (and must not be undone).
            if b == Self.int3 || patched.contains(where: { $0.gpa == gpa }) { continue }
            if machine.ram.write(gpa, [Self.int3]) { patched.append(Patch(gva: gva, gpa: gpa, original: b)) }
        }
    }

    /// After an exit: when the paging registers changed, the bytes move to
    /// where the addresses now translate.
    func follow(machine: Machine) throws {
        guard !patched.isEmpty || translated != nil, machine.vcpu.syncedPagingControl != translatedFor else { return }
        remove(machine: machine)
        try insert(machine: machine)
    }

    /// Puts the guest's bytes back. A byte the guest itself overwrote
    /// meanwhile is left as the guest wrote it.
    func remove(machine: Machine) {
        for p in patched where machine.ram.read(p.gpa, count: 1)?.first == Self.int3 {
            _ = machine.ram.write(p.gpa, [p.original])
        }
        patched.removeAll(keepingCapacity: true)
    }

    /// `bytes` read at guest-physical `gpa`, with any patched byte in them
    /// shown as the guest's own.
    func unpatched(_ bytes: [UInt8], at gpa: UInt64) -> [UInt8] {
        guard !patched.isEmpty else { return bytes }
        var b = bytes
        for p in patched where p.gpa >= gpa && p.gpa < gpa + UInt64(b.count) { b[Int(p.gpa - gpa)] = p.original }
        return b
    }

    /// The breakpoint address an exit stopped at, if it was one of the
    /// patched bytes: a #BP debug exit, or an emulation failure at the int3.
    func hit(_ exit: VMExit, rip: UInt64) -> UInt64? {
        let pc: UInt64
        switch exit {
        case let .debug(exception, at, _, _) where exception == Self.breakpointVector: pc = at
        case let .internalError(suberror, _) where suberror == VMExit.InternalError.emulation: pc = rip
        default: return nil
        }
        return patched.contains { $0.gva == pc } ? pc : nil
    }
}
