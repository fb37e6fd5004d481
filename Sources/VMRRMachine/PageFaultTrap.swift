import VMRRJournal
import VMRRKVM

/// Captures guest page faults without guest cooperation: a hardware execution
/// breakpoint sits on the #PF handler that the guest's IDT names for vector
/// 14. When it fires, CR2 holds the faulting address and the stack holds the
/// error code and the faulting RIP. The breakpoint is then stepped over
/// (disarm, single-step, re-arm), because on this host a hardware breakpoint
/// fires again at the same RIP on every re-entry.
///
/// What can be missed (docs/GUEST.md): the IDT is re-read only at journal
/// events (`refresh`), never at an exit that leaves no record (a kick, a
/// step over a breakpoint, a debugger's single-step: `rearm`), so that record
/// and replay arm the same handler at the same points whatever the host's
/// timing. Faults taken after `lidt` (or after the #PF gate changes) but
/// before the next event are not journaled; a handler shared by several vectors is
/// reported for each of them; faults while the guest runs at CPL3 are caught
/// the same way (the handler runs at CPL0).
final class PageFaultTrap {
    /// 64-bit IDT gates are 16 bytes.
    static let gateSize: UInt64 = 16
    static let pageFaultVector: UInt64 = 14
    /// Gate byte 5 bit 7: present.
    static let gatePresent: UInt8 = 1 << 7

    struct Key: Equatable {
        var idtBase: UInt64
        var idtLimit: UInt16
        var cr3: UInt64
    }

    private var key: Key?
    private var gateGPA: UInt64?
    private(set) var armedHandler: UInt64?
    private(set) var steppingOver = false
    private var mustArm = true
    /// The host's hardware execution breakpoints (DR0-DR3).
    static let hardwareBreakpoints = 4
    /// Those left for a debugger: one is kept for the #PF handler.
    static let debuggerBreakpointCapacity = hardwareBreakpoints - 1
    /// Other execution breakpoints a debugger wants armed as well (DR1-DR3).
    var extraBreakpoints: [UInt64] = []
    /// Replay's breakpoint at the next `preempt` record's RIP (docs/SMP.md),
    /// in a slot the debugger does not hold (`Runner.armPreemptionPoint`).
    var preemptBreakpoint: UInt64?

    /// At a journal event: re-reads IDT entry 14 if IDTR or CR3 changed, and
    /// re-arms the breakpoint if the handler moved. Cheap when nothing
    /// changed: one 16-byte read of guest RAM.
    func refresh(machine: Machine) throws {
        if steppingOver { return }
        let idt = machine.vcpu.syncedIDT
        let k = Key(idtBase: idt.base, idtLimit: idt.limit, cr3: machine.vcpu.syncedCR3)
        if k != key {
            key = k
            gateGPA = nil
            let gateOffset = Self.pageFaultVector * Self.gateSize
            if UInt64(idt.limit) >= gateOffset + Self.gateSize - 1 {
                gateGPA = try machine.vcpu.translate(idt.base &+ gateOffset)
            }
        }
        var handler: UInt64?
        // The gate as two little-endian words (no copy: this runs at every exit).
        if let g = gateGPA, let low = machine.ram.read64(g), let high = machine.ram.read64(g &+ 8) {
            handler = Self.handler(gateLow: low, gateHigh: high)
        }
        if handler != armedHandler || mustArm {
            armedHandler = handler
            mustArm = false
            try arm(machine)
        }
    }

    /// Between journal events: re-arms the breakpoints the last event chose
    /// (after a step, or when the breakpoint list changed) without looking
    /// at the IDT, which record and replay may see at different instructions
    /// here. Right after `reset` (a checkpoint restore, itself an event
    /// boundary) nothing was read yet, so it reads as `refresh` does.
    func rearm(machine: Machine) throws {
        if steppingOver { return }
        if key == nil { return try refresh(machine: machine) }
        if mustArm {
            mustArm = false
            try arm(machine)
        }
    }

    /// Reads the IDT if nothing was read since `reset` (a restore, an event
    /// boundary); otherwise does nothing.
    func readIfUnread(machine: Machine) throws {
        if key == nil && !steppingOver { try refresh(machine: machine) }
    }

    /// The handler address of a present 64-bit interrupt gate, given as its
    /// two little-endian words; nil when the gate is not present.
    static func handler(gateLow w0: UInt64, gateHigh w1: UInt64) -> UInt64? {
        let attributes = UInt8(truncatingIfNeeded: w0 >> 40)   // byte 5: P, DPL, type
        guard attributes & gatePresent != 0 else { return nil }
        let offsetLow = w0 & 0xFFFF                             // bytes 0-1
        let offsetMid = (w0 >> 48) & 0xFFFF                     // bytes 6-7
        let offsetHigh = w1 & 0xFFFF_FFFF                       // bytes 8-11
        return offsetLow | offsetMid << 16 | offsetHigh << 32
    }

    /// Debugger software breakpoints are in use: #BP exits to vmrr
    /// (`SoftwareBreakpoints`) instead of reaching the guest.
    var useSoftwareBreakpoints = false

    func arm(_ machine: Machine) throws {
        let bps = (armedHandler.map { [$0] } ?? []) + (preemptBreakpoint.map { [$0] } ?? []) + extraBreakpoints
        let software: VCPU.GuestDebugFlags = useSoftwareBreakpoints ? [.enable, .useSoftwareBreakpoints] : []
        if bps.isEmpty {
            try machine.vcpu.setGuestDebug(software)
        } else {
            try machine.vcpu.setGuestDebug(software.union([.enable, .useHardwareBreakpoints]), executionBreakpoints: bps)
        }
    }

    /// Re-arms at the next refresh (the breakpoint list changed).
    func forceArm() { mustArm = true }

    /// Arms single-step for one instruction, with the #PF breakpoint unless
    /// it is being stepped over. Debugger breakpoints are not armed while
    /// stepping: the stepper checks RIP itself.
    func armForStep(machine: Machine) throws {
        mustArm = true   // the next refresh restores the run-mode breakpoints
        if !steppingOver, let h = armedHandler {
            try machine.vcpu.setGuestDebug([.enable, .singleStep, .useHardwareBreakpoints], executionBreakpoints: [h])
        } else {
            try machine.vcpu.setGuestDebug([.enable, .singleStep])
        }
    }

    /// Ends a step-over during single-stepping (the next step re-arms).
    func finishStepOverWithoutArming() { steppingOver = false }

    /// True when a debug exit at `pc` is the #PF handler breakpoint.
    func isHandlerHit(pc: UInt64) -> Bool { !steppingOver && armedHandler == pc }

    /// Reads the fault out of the vCPU at the handler's first instruction.
    func capture(machine: Machine, regs: GPRegisters) throws -> Event {
        let cr2 = machine.vcpu.syncedCR2
        let cr3 = machine.vcpu.syncedCR3
        var errorCode: UInt64 = 0
        var faultRIP: UInt64 = 0
        if let sp = try machine.vcpu.translate(regs.rsp) {
            errorCode = machine.ram.read64(sp) ?? 0
            if let sp8 = try machine.vcpu.translate(regs.rsp &+ 8) { faultRIP = machine.ram.read64(sp8) ?? 0 }
        }
        return .pageFault(gva: cr2, errorCode: errorCode, cr3: cr3, faultingRIP: faultRIP)
    }

    /// Disarms the handler breakpoint and single-steps one instruction.
    func beginStepOver(machine: Machine) throws {
        steppingOver = true
        try machine.vcpu.setGuestDebug([.enable, .singleStep])
    }

    /// After the step (whatever exit it produced), re-arms the breakpoints.
    func endStepOver(machine: Machine) throws {
        steppingOver = false
        try arm(machine)
    }

    /// Forgets cached state (after a checkpoint restore).
    func reset() {
        key = nil
        gateGPA = nil
        armedHandler = nil
        preemptBreakpoint = nil
        steppingOver = false
        mustArm = true
    }
}
