import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRKVM
import VMRRReplay

/// What handling one exit needs from the vCPU and the machine: completing
/// reads, the #PF trap, applying assists, and what an error report shows.
/// The run loop implements it over KVM; tests implement it over values, so
/// exit handling runs there with synthetic exits.
public protocol ExitSite {
    /// Answers an IN (one value per element of a `rep ins`).
    func completeIORead(_ values: IOValues)
    /// Answers an MMIO read.
    func completeMMIORead(_ value: UInt64)
    /// Answers an RDMSR or WRMSR: the value read, or a #GP.
    func completeMSR(value: UInt64, fault: Bool)
    /// The guest wrote IA32_APIC_BASE and the model took it: KVM, which
    /// answers CPUID, must learn the APIC's global enable so that
    /// CPUID.1:EDX.APIC follows it.
    func apicBaseWritten(_ value: UInt64) throws
    /// The page fault the guest is taking when a debug exit at `pc` is the
    /// #PF trap's breakpoint; nil when it is not.
    func caughtPageFault(pc: UInt64, regs: GPRegisters) throws -> Event?
    /// Steps over the #PF handler's breakpoint once its fault was handled.
    func stepOverPageFaultHandler() throws
    /// Emulates an assist (docs/GUEST.md, "Assists"); returns the registers after it.
    func applyAssist(_ action: AssistAction, length: UInt8) throws -> GPRegisters
    /// The special registers at the exit (for an emulation-failure report).
    var specialRegisters: SpecialRegisters { get }
    /// Names a guest address ("main+0x12") for reports, when the image has symbols.
    func symbolize(_ address: UInt64) -> String?
}

/// The handling of one decoded exit: it turns a `VMExit` into what the
/// responder is asked (`Access`, `MSRAccess`, `AssistRequest`), and hands the
/// answers back to the vCPU side. Plain logic over a `VMExit`, without KVM.
public enum ExitHandling {
    /// What handling an exit left behind.
    public struct Outcome: Equatable, Sendable {
        /// True after an IN, MMIO-read or MSR exit whose answer KVM puts in
        /// place at the next KVM_RUN.
        public var pendingRead: Bool
        /// The registers after the exit (changed only by an assist).
        public var regs: GPRegisters
        public init(pendingRead: Bool, regs: GPRegisters) { self.pendingRead = pendingRead; self.regs = regs }
    }

    /// Handles `exit`, taken with registers `regs`: asks `responder`, then
    /// completes the exit through `site`.
    public static func handle(_ exit: VMExit, regs: GPRegisters, responder: ExitResponder,
                              site: some ExitSite) throws -> Outcome {
        var pendingRead = false
        switch exit {
        case let .io(port, size, direction, count, values):
            if direction == .read {
                let read = Access.portRead(port: port, size: size)
                if count == 1 {
                    // A plain IN: the answer stays inline, nothing is allocated.
                    site.completeIORead(IOValues(single: try responder.respond(to: read, regs: regs)))
                } else {
                    var answers: [UInt64] = []
                    answers.reserveCapacity(Int(count))
                    for _ in 0..<count {
                        answers.append(try responder.respond(to: read, regs: regs))
                        if responder.hasEnded { break }
                    }
                    site.completeIORead(IOValues(answers))
                }
                pendingRead = true
            } else {
                for v in values {
                    _ = try responder.respond(to: .portWrite(port: port, size: size, value: v), regs: regs)
                    if responder.hasEnded { break }
                }
            }
        case let .mmio(gpa, size, direction, value):
            if direction == .read {
                site.completeMMIORead(try responder.respond(to: .mmioRead(gpa: gpa, size: size), regs: regs))
                pendingRead = true
            } else {
                _ = try responder.respond(to: .mmioWrite(gpa: gpa, size: size, value: value), regs: regs)
            }
        case let .msr(index, direction, value, _):
            let answer = try responder.respondToMSR(MSRAccess(index: index, direction: direction, value: value), regs: regs)
            site.completeMSR(value: answer.value, fault: answer.fault)
            if index == Layout.MSR.apicBase, direction == .write, !answer.fault { try site.apicBaseWritten(value) }
            pendingRead = true
        case let .debug(exception, pc, dr6, _):
            if let fault = try site.caughtPageFault(pc: pc, regs: regs) {
                _ = try responder.respond(to: .pageFault(fault), regs: regs)
                try site.stepOverPageFaultHandler()
            } else {
                _ = try responder.respond(to: .kvmError(reason: KVMExitReason.debug, suberror: exception, data: [],
                    description: "unexpected debug exit at \(hex(pc)) (exception \(exception), dr6 \(hex(dr6)))"), regs: regs)
            }
        case let .internalError(suberror, data):
            return try internalError(suberror: suberror, data: data, regs: regs, responder: responder, site: site)
        case .irqWindowOpen:
            break
        default:
            if let access = access(for: exit, regs: regs) { _ = try responder.respond(to: access, regs: regs) }
        }
        return Outcome(pendingRead: pendingRead, regs: regs)
    }

    /// The access for an exit that needs nothing back from the responder
    /// (HLT, shutdown, interruption, entry failures, system events,
    /// unsupported exits); nil for the others.
    public static func access(for exit: VMExit, regs: GPRegisters) -> Access? {
        switch exit {
        case .hlt:
            return .halt(interruptsEnabled: regs.rflags & RFlags.interruptEnable != 0)
        case .shutdown:
            return .shutdown
        case .interrupted:
            return .interrupted
        case let .failEntry(reason):
            return .kvmError(reason: KVMExitReason.failEntry, suberror: UInt32(truncatingIfNeeded: reason), data: [],
                             description: "KVM could not enter the guest (hardware entry failure reason \(hex(reason)))")
        case let .systemEvent(type):
            return .kvmError(reason: KVMExitReason.systemEvent, suberror: type, data: [], description: "KVM system event \(type)")
        case let .unsupported(reason):
            return .kvmError(reason: reason, suberror: 0, data: [], description: "unsupported KVM exit reason \(reason)")
        case .io, .mmio, .debug, .internalError, .irqWindowOpen, .msr:
            return nil
        }
    }

    /// An internal error: an emulation failure is first offered for an
    /// assist; otherwise (or when none applies) it is reported as a KVM error.
    static func internalError(suberror: UInt32, data: [UInt64], regs: GPRegisters, responder: ExitResponder,
                              site: some ExitSite) throws -> Outcome {
        let emulation = suberror == VMExit.InternalError.emulation
        let bytes = emulation ? VMExit.emulationFailureBytes(data) : []
        if emulation, let a = try responder.assist(AssistRequest(bytes: bytes), regs: regs) {
            return Outcome(pendingRead: false, regs: try site.applyAssist(a.action, length: a.length))
        }
        if responder.hasEnded { return Outcome(pendingRead: false, regs: regs) }
        let description: String
        if emulation {
            description = EmulationFailureReport.summary(bytes: bytes, regs: regs, sregs: site.specialRegisters,
                                                         symbol: site.symbolize(regs.rip))
        } else {
            description = "KVM internal error, suberror \(suberror), at rip \(hex(regs.rip))\(site.symbolize(regs.rip).map { " (\($0))" } ?? "")"
        }
        _ = try responder.respond(to: .kvmError(reason: KVMExitReason.internalError, suberror: suberror, data: bytes,
                                                description: description), regs: regs)
        return Outcome(pendingRead: false, regs: regs)
    }
}

extension ExitSite {
    /// Sites without a KVM vCPU (tests over values) have no CPUID to update.
    public func apicBaseWritten(_ value: UInt64) throws {}
}
