import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRKVM
import VMRRMMU
import VMRRReplay

/// The one run loop shared by record and replay: it runs the vCPU, turns
/// exits into accesses for the responder, completes reads, keeps the #PF
/// breakpoint armed, and takes checkpoints at clean boundaries.
public final class Runner {
    public let machine: Machine
    /// One #PF trap per vCPU: each has its own IDT, CR3 and debug registers.
    let traps: [PageFaultTrap]
    /// The running vCPU's trap.
    var trap: PageFaultTrap { traps[machine.current] }
    /// One instruction fetch per vCPU, for the IN a switch defers.
    let fetches: [InstructionFetch]
    /// The registers at the most recent exit (or as last restored).
    public private(set) var regs: GPRegisters
    /// The most recent exit other than a kick (the replay watchdog names it).
    public private(set) var lastExit: VMExit?
    /// Names a guest address (`main+0x12`) in error reports, when the image has symbols.
    public var symbolize: ((UInt64) -> String?)?

    public init(machine: Machine, regs: GPRegisters) {
        self.machine = machine
        self.regs = regs
        traps = machine.vcpus.map { _ in PageFaultTrap() }
        fetches = machine.vcpus.map { _ in InstructionFetch() }
    }

    /// Call after restoring a checkpoint into the machine.
    public func didRestore(regs: GPRegisters) {
        self.regs = regs
        pendingRead = false
        for t in traps { t.reset() }
    }

    /// True after an IN or MMIO-read exit whose data KVM has not yet put in
    /// place (it does so at the next KVM_RUN).
    public private(set) var pendingRead = false {
        didSet { if !pendingRead { pendingReadRegisters = nil } }
    }
    /// The registers the pending read gives when KVM completes it, when the
    /// run loop knows them: a plain IN deferred at a switch (`regs` holds
    /// them already). Nil whenever `pendingRead` is false.
    private var pendingReadRegisters: GPRegisters?
    /// Switches that left the vCPU's plain IN pending in KVM (`leaveRunningVCPU`).
    public private(set) var deferredReads: UInt64 = 0

    /// Completes a pending IN or MMIO read without running guest code, so that
    /// the state at an event is the same however it was reached (the
    /// debugger's canonical state at position (E, 0)).
    public func completePendingRead() throws {
        guard pendingRead else { return }
        let expected = pendingReadRegisters
        try machine.completePendingIO()
        pendingRead = false
        regs = machine.vcpu.syncedRegisters
        if let expected { try Machine.check(deferredRead: expected, completed: regs, vcpu: machine.current) }
    }

    /// Runs until the responder reports an end.
    public func run(_ responder: ExitResponder) throws -> RunEnd {
        while true {
            switch try runUntilStop(responder) {
            case .ended(let end): return end
            case .breakpoint, .watch: continue
            }
        }
    }

    /// Why `runUntilStop` returned.
    public enum Stop: Equatable {
        case ended(RunEnd)
        /// A debugger execution breakpoint fired at this address; the
        /// instruction there has not run yet.
        case breakpoint(UInt64)
        /// The watch check said stop, after the exit just handled.
        case watch
    }

    /// Debugger execution breakpoints (at most `PageFaultTrap.debuggerBreakpointCapacity`, beside the #PF breakpoint).
    /// Every vCPU's trap holds them, so that they fire on whichever runs.
    public var breakpoints: [UInt64] {
        get { trap.extraBreakpoints }
        set {
            for t in traps {
                t.extraBreakpoints = Array(newValue.prefix(PageFaultTrap.debuggerBreakpointCapacity))
                t.forceArm()
            }
        }
    }

    /// Debugger software breakpoints (any number): int3 bytes patched in
    /// only while the vCPU runs (`SoftwareBreakpoints`).
    public var softwareBreakpoints: [UInt64] {
        get { software.addresses }
        set {
            software.addresses = newValue
            for t in traps where t.useSoftwareBreakpoints != !newValue.isEmpty {
                t.useSoftwareBreakpoints = !newValue.isEmpty
                t.forceArm()
            }
        }
    }
    let software = SoftwareBreakpoints()

    /// Runs until the responder ends the run, a debugger breakpoint fires, or
    /// `watch` (called after each handled exit) returns true.
    public func runUntilStop(_ responder: ExitResponder, watch: (() -> Bool)? = nil) throws -> Stop {
        // The run may start between events (after a debugger's steps): no IDT read here.
        try trap.rearm(machine: machine)
        // A replay that starts at the boot checkpoint checks it before the first instruction.
        if responder.wantsCheckpoint { try responder.checkpoint(state: machine, regs: regs) }
        if let end = ended(responder) { return .ended(end) }
        // Software breakpoints are in memory only inside this call.
        defer { software.remove(machine: machine) }
        // Leaving a breakpoint address: step over it first, as the #PF breakpoint is.
        if (trap.extraBreakpoints.contains(regs.rip) || software.addresses.contains(regs.rip)) && !trap.steppingOver {
            if case let .ended(end) = try stepOnce(responder) { return .ended(end) }
            if let w = watch, w() { return .watch }
        }
        let scheduler = machine.vcpus.count > 1 ? responder as? VCPUScheduling : nil
        while true {
            if let end = ended(responder) { return .ended(end) }
            // Switch points are exits (docs/SMP.md); never inside a step over the #PF handler.
            if let scheduler, !trap.steppingOver {
                try schedule(scheduler)
                if let end = ended(responder) { return .ended(end) }
            }
            let vcpu = machine.vcpu
            // Interrupts are injected only here, at exits: an interrupt that
            // cannot be taken yet waits for a later exit (docs/DETERMINISM.md).
            try injectBeforeRun(responder)
            // An injection can be the last event to replay (`--until`, a debugger's goto):
            // the vCPU stays at it, the interrupt pending in KVM, as after a step.
            if let end = ended(responder) { return .ended(end) }
            if !software.isEmpty && !trap.steppingOver { try software.insert(machine: machine) }
            try armPreemptionPoint(responder)
            preemption?.willRun()
            let exit = try vcpu.run()
            if exit != .interrupted { lastExit = exit }
            pendingRead = false
            regs = vcpu.syncedRegisters
            if !software.isEmpty {
                if let pc = software.hit(exit, rip: regs.rip) { return .breakpoint(pc) }
                try software.follow(machine: machine)
            }
            if trap.steppingOver {
                // A kick before the step ran: the step is still to do (else the #PF breakpoint fires twice).
                if exit == .interrupted { try trap.beginStepOver(machine: machine) } else {
                    try trap.endStepOver(machine: machine)
                    if case .debug = exit { try trap.rearm(machine: machine); continue }
                }
            }
            if case let .debug(_, pc, _, _) = exit, !trap.isHandlerHit(pc: pc), pc == trap.preemptBreakpoint {
                try preemptionHit(responder)
                if let w = watch, !responder.hasEnded, w() { return .watch }
                continue
            }
            if case let .debug(_, pc, _, _) = exit, !trap.isHandlerHit(pc: pc), trap.extraBreakpoints.contains(pc) {
                return .breakpoint(pc)
            }
            // A kick is an event only when it is journaled as a preemption.
            var atEvent = exit != .interrupted
            if exit == .interrupted, !trap.steppingOver, inRingZero, let p = preemption, p.takeRequest() {
                atEvent = try responder.preempted(regs: regs, digest: { try self.machine.preemptionDigest() })
            }
            try afterExit(exit, responder, atEvent: atEvent)
            if let w = watch, !responder.hasEnded, w() { return .watch }
        }
    }

    /// Takes the scheduler's steps at a switch point: AP start-ups, then at
    /// most a switch, after which the new vCPU's registers are reported.
    /// The running vCPU's pending read is completed before it is left.
    /// True when it took any step (each is a journal event); with `once`,
    /// at most one (a single-step's event).
    @discardableResult
    func schedule(_ scheduler: VCPUScheduling, once: Bool = false) throws -> Bool {
        var took = false
        while let step = try scheduler.nextSchedulingStep(vcpu: UInt8(machine.current), regs: regs) {
            took = true
            switch step {
            case let .startup(k, vector):
                try machine.startAP(Int(k), vector: vector)
            case let .switchTo(k):
                try leaveRunningVCPU()
                machine.select(Int(k))
                // From k's run page when KVM wrote it at k's last exit and
                // nothing set k's registers since (no system call), or as
                // k's deferred IN leaves them, and k's breakpoints as its own
                // trap last armed them, unless they changed: a switch costs
                // no ioctl of its own.
                if let after = machine.takeDeferredRead() {
                    regs = after
                    pendingRead = true
                    pendingReadRegisters = after
                } else {
                    regs = try machine.vcpu.currentRegisters()
                }
                try trap.refresh(machine: machine)
                try scheduler.switched(to: k, regs: regs)
            }
            if once { break }
        }
        return took
    }

    /// Leaves the running vCPU at a switch with no read pending in the run
    /// loop. A plain IN stays pending in KVM, which completes it at the
    /// vCPU's next KVM_RUN (`Machine.deferPendingRead`), since completing it
    /// now would cost a KVM_RUN of its own; the registers it gives are
    /// computed (`PortReadCompletion`). Any other read is completed now.
    func leaveRunningVCPU() throws {
        guard pendingRead else { return }
        guard let after = pendingReadRegisters ?? plainINCompletion() else { return try completePendingRead() }
        machine.deferPendingRead(registersAfter: after)
        pendingRead = false
        deferredReads += 1
    }

    /// The registers completing the running vCPU's pending IN gives, when it
    /// is a plain IN (one element) after which the vCPU's readiness for an
    /// interrupt is the same as at the exit (ready, or IF clear: so no
    /// interrupt shadow ends with it), so that nothing but its registers
    /// depends on when KVM completes it. Nil otherwise.
    func plainINCompletion() -> GPRegisters? {
        guard case let .io(_, size, .read, 1, _)? = lastExit else { return nil }
        let vcpu = machine.vcpu
        guard vcpu.readyForInterruptInjection || regs.rflags & RFlags.interruptEnable == 0 else { return nil }
        let control = vcpu.syncedPagingControl, cs = vcpu.syncedCodeSegment
        let bits = CPUMode(cr0: control.cr0, efer: control.efer, cs: cs).bits
        let linear = bits == 64 ? regs.rip : cs.base &+ regs.rip
        let fetch = fetches[machine.current], facts = machine.cpuidFacts, ram = machine.ram
        // The instruction's bytes up to its page's end, and on into the next page only when that maps.
        let inPage = Int(Layout.pageSize - (linear & (Layout.pageSize - 1)))
        let first = min(PortReadCompletion.maxInstructionLength, inPage)
        guard var bytes = fetch.bytes(at: linear, count: first, control: control, facts: facts, ram: ram) else { return nil }
        if first < PortReadCompletion.maxInstructionLength,
           let more = fetch.bytes(at: linear &+ UInt64(inPage), count: PortReadCompletion.maxInstructionLength - first,
                                  control: control, facts: facts, ram: ram) {
            bytes += more
        }
        return PortReadCompletion.registers(after: regs, instruction: bytes, bits: bits, size: Int(size),
                                            value: vcpu.pendingIOReadValue)
    }

    /// What happens before a KVM_RUN, at an exit, each a journal event: a
    /// warm reset the responder asks for (the vCPU re-enters real mode at the
    /// far pointer at 0x467, `RealModeEntry`), then an NMI (KVM_NMI), or else
    /// an interrupt. True when any of them happened.
    @discardableResult
    func injectBeforeRun(_ responder: ExitResponder) throws -> Bool {
        let vcpu = machine.vcpu
        var happened = false
        if let v = try responder.warmResetBeforeRun(regs: regs, vectorInMemory: machine.warmResetVector) {
            // KVM must finish the exit's instruction on the old state first.
            try machine.completePendingIO()
            pendingRead = false
            regs = try vcpu.enterRealMode(segment: v.segment, offset: v.offset, dataSegment: Layout.biosDataSegment)
            try trap.refresh(machine: machine)
            if responder.hasEnded { return true }
            happened = true
        }
        if try responder.nmiBeforeRun(regs: regs) {
            try vcpu.nmi()
            return true
        }
        if let vector = try responder.interruptBeforeRun(regs: regs, ready: vcpu.readyForInterruptInjection) {
            try vcpu.interrupt(vector: vector)
            return true
        }
        return happened
    }

    /// Handles an exit, then re-arms the #PF breakpoint (re-reading the IDT
    /// only when the exit was a journal event: `PageFaultTrap.refresh`) and
    /// takes a checkpoint if the responder wants one.
    func afterExit(_ exit: VMExit, _ responder: ExitResponder, atEvent: Bool = true) throws {
        try handle(exit, responder)
        if !responder.hasEnded {
            if atEvent { try trap.refresh(machine: machine) } else { try trap.rearm(machine: machine) }
            try checkpointIfWanted(responder)
        }
    }

    /// Takes the checkpoint the responder wants here, at a clean boundary.
    func checkpointIfWanted(_ responder: ExitResponder) throws {
        if responder.wantsCheckpoint && !trap.steppingOver {
            try machine.completePendingIO()
            pendingRead = false
            // The checkpoint check compares memory: without software breakpoints.
            software.remove(machine: machine)
            try responder.checkpoint(state: machine, regs: regs)
        }
    }

    /// `record --preempt-ms`: the watcher's kicks (nil: no preemption).
    public var preemption: Preemption?

    /// True when the vCPU runs ring-0 code (or real mode), the only code a
    /// hardware breakpoint stops at a chosen instruction on this host
    /// (docs/HOST.md): a stop elsewhere is not journaled, since replay could
    /// never reach it, and the request waits for a stop in ring 0.
    var inRingZero: Bool {
        let s = machine.vcpu.syncedSpecialRegisters
        return s.cr0 & CR0Flags.protectionEnable.rawValue == 0 || s.ss.dpl == 0
    }

    /// Replay: keeps a hardware breakpoint at the next `preempt` record's
    /// RIP while that record is next (docs/SMP.md). It needs a debug
    /// register of its own: with all the debugger's taken, the replay stops
    /// with an error saying so.
    func armPreemptionPoint(_ responder: ExitResponder) throws {
        guard !trap.steppingOver else { return }
        let point = try responder.preemptionPoint()
        guard point != trap.preemptBreakpoint else { return }
        if let point, trap.extraBreakpoints.count >= PageFaultTrap.debuggerBreakpointCapacity {
            throw VMRRError("replay must reach a preemption point at rip \(hex(point)) with a hardware breakpoint, but the debugger holds all \(PageFaultTrap.debuggerBreakpointCapacity): delete one, or use a software breakpoint")
        }
        trap.preemptBreakpoint = point
        trap.forceArm()
        try trap.rearm(machine: machine)
    }

    /// The vCPU stopped at the preemption point's breakpoint: the responder
    /// accepts it (registers, then the dirty-page digest) and the run goes on
    /// from there, or it steps over the breakpoint and runs on.
    func preemptionHit(_ responder: ExitResponder) throws {
        if try responder.reachedPreemption(regs: regs, digest: { try self.machine.preemptionDigest() }) {
            // An event, as the recorder's kick was: the IDT is read here as it was there.
            try trap.refresh(machine: machine)
            try armPreemptionPoint(responder)
            try checkpointIfWanted(responder)
        } else if !responder.hasEnded {
            try trap.beginStepOver(machine: machine)
        }
    }

    /// #BP.
    static let breakpointVector: UInt8 = 3

    /// The HLT opcode.
    static let haltOpcode: UInt8 = 0xF4

    /// True when the instruction at RIP is HLT.
    func nextInstructionIsHalt() -> Bool {
        guard let gpa = try? machine.vcpu.translate(regs.rip), let b = machine.ram.read(gpa, count: 1) else { return false }
        return b[0] == Self.haltOpcode
    }

    /// What one single-step did.
    public enum StepOutcome: Equatable {
        /// One instruction retired; no journal event.
        case instruction
        /// A journal event happened instead (an exit, an injection, a page fault).
        case event
        case ended(RunEnd)
    }

    /// Executes at most one guest instruction with KVM's single-step, or
    /// consumes the journal event that comes first (an interrupt injection
    /// happens without executing anything).
    public func stepOnce(_ responder: ExitResponder) throws -> StepOutcome {
        if let end = ended(responder) { return .ended(end) }
        // A switch point comes first: a start-up or a switch is the step's event.
        if machine.vcpus.count > 1, let scheduler = responder as? VCPUScheduling, !trap.steppingOver,
           try schedule(scheduler, once: true) {
            return ended(responder).map { .ended($0) } ?? .event
        }
        let vcpu = machine.vcpu
        if try injectBeforeRun(responder) { return ended(responder).map { .ended($0) } ?? .event }
        if let end = ended(responder) { return .ended(end) }
        try completePendingRead()
        // Right after a restore the trap reads the IDT here, at the event boundary.
        try trap.readIfUnread(machine: machine)
        // At the next preemption point: the record is taken here or not at all (docs/SMP.md).
        if !trap.steppingOver, try responder.preemptionPoint() == regs.rip,
           try responder.reachedPreemption(regs: regs, digest: { try self.machine.preemptionDigest() }) {
            try trap.refresh(machine: machine)
            try checkpointIfWanted(responder)
            return ended(responder).map { .ended($0) } ?? .event
        }
        if let end = ended(responder) { return .ended(end) }
        // KVM turns a single-stepped HLT into a debug exit and never halts,
        // which would change the journal's events: run a HLT normally.
        if !trap.steppingOver && nextInstructionIsHalt() {
            trap.forceArm()
            try trap.rearm(machine: machine)
            let exit = try vcpu.run()
            if exit != .interrupted { lastExit = exit }
            pendingRead = false
            regs = vcpu.syncedRegisters
            if case let .debug(_, pc, _, _) = exit, !trap.isHandlerHit(pc: pc) { return .instruction }
            try afterExit(exit, responder)
            return ended(responder).map { .ended($0) } ?? .event
        }
        let wasSteppingOver = trap.steppingOver
        try trap.armForStep(machine: machine)
        let exit = try vcpu.run()
        pendingRead = false
        regs = vcpu.syncedRegisters
        if wasSteppingOver { trap.finishStepOverWithoutArming() }
        if case let .debug(_, pc, _, _) = exit {
            if !wasSteppingOver && trap.isHandlerHit(pc: pc) {
                try afterExit(exit, responder)   // the page-fault event
                return ended(responder).map { .ended($0) } ?? .event
            }
            try trap.rearm(machine: machine)
            return .instruction
        }
        try afterExit(exit, responder)
        return ended(responder).map { .ended($0) } ?? .event
    }

    /// The responder's end, asking `hasEnded` first so that the run loop does
    /// not copy a `RunEnd` at every exit only to find none.
    @inline(__always)
    func ended(_ responder: ExitResponder) -> RunEnd? { responder.hasEnded ? responder.end : nil }

    /// Maps one decoded exit onto the responder (`ExitHandling`), with this
    /// machine as the vCPU side.
    func handle(_ exit: VMExit, _ responder: ExitResponder) throws {
        let site = KVMExitSite(machine: machine, trap: trap, symbolizer: symbolize)
        let outcome = try ExitHandling.handle(exit, regs: regs, responder: responder, site: site)
        regs = outcome.regs
        if outcome.pendingRead { pendingRead = true }
    }
}

/// The vCPU side of exit handling on KVM: the run page, the #PF trap, guest RAM.
struct KVMExitSite: ExitSite {
    let machine: Machine
    let trap: PageFaultTrap
    let symbolizer: ((UInt64) -> String?)?

    func completeIORead(_ values: IOValues) { machine.vcpu.completeIORead(values) }
    func completeMMIORead(_ value: UInt64) { machine.vcpu.completeMMIORead(value) }
    func completeMSR(value: UInt64, fault: Bool) { machine.vcpu.completeMSR(value: value, fault: fault) }

    /// KVM recomputes CPUID.1:EDX.APIC when IA32_APIC_BASE.EN changes
    /// (`kvm_update_cpuid_runtime`), but it never sees the guest's writes (the
    /// MSR filter sends them to vmrr's model). So the enable bit is passed on
    /// through KVM_SET_MSRS; the base and EXTD stay at their reset values in
    /// KVM, so guests that never disable the APIC keep KVM's state as before.
    func apicBaseWritten(_ value: UInt64) throws {
        let kvmValue = (Layout.apicBaseAtEntry & ~Layout.apicBaseEnable) | (value & Layout.apicBaseEnable)
        try machine.vcpu.setMSRs([MSREntry(index: Layout.MSR.apicBase, value: kvmValue)])
    }

    func caughtPageFault(pc: UInt64, regs: GPRegisters) throws -> Event? {
        trap.isHandlerHit(pc: pc) ? try trap.capture(machine: machine, regs: regs) : nil
    }

    func stepOverPageFaultHandler() throws { try trap.beginStepOver(machine: machine) }

    /// Emulates what KVM could not (`--assist`, docs/GUEST.md "Assists"):
    /// RIP moves past the instruction, CLAC/STAC change AC, and INT3 has
    /// #BP queued for delivery at the next KVM_RUN, which pushes the new RIP
    /// as the CPU's trap semantics do.
    func applyAssist(_ action: AssistAction, length: UInt8) throws -> GPRegisters {
        let vcpu = machine.vcpu
        var r = try vcpu.getRegisters()
        r.rip &+= UInt64(length)
        switch action {
        case .clearAC: r.rflags &= ~RFlags.alignmentCheck
        case .setAC: r.rflags |= RFlags.alignmentCheck
        case .breakpoint, .skip: break
        }
        try vcpu.setRegisters(r)
        if action == .breakpoint { try vcpu.injectException(vector: Runner.breakpointVector) }
        return r
    }

    var specialRegisters: SpecialRegisters { machine.vcpu.syncedSpecialRegisters }

    func symbolize(_ address: UInt64) -> String? { symbolizer?(address) }
}
