import Testing
import VMRRJournal
import VMRRKVM
import VMRRMachine
import VMRRReplay

/// The run loop's handling of one exit, driven with synthetic exits: no KVM.
@Suite struct ExitHandlingTests {
    /// A responder that answers from a script and records what it was asked.
    final class ScriptedResponder: ExitResponder {
        var asked: [Access] = []
        var msrs: [MSRAccess] = []
        var assists: [AssistRequest] = []
        var answers: [UInt64] = []
        var msrAnswer = MSRAnswer(value: 0, fault: false)
        var assistAnswer: (action: AssistAction, length: UInt8)?
        /// End the run after this many `respond` calls.
        var endAfter: Int?
        var end: RunEnd?

        func interruptBeforeRun(regs: GPRegisters, ready: Bool) throws -> UInt8? { nil }
        func respond(to access: Access, regs: GPRegisters) throws -> UInt64 {
            asked.append(access)
            if let n = endAfter, asked.count >= n { end = RunEnd(reason: .limit, status: 0) }
            return answers.isEmpty ? 0 : answers.removeFirst()
        }
        func respondToMSR(_ access: MSRAccess, regs: GPRegisters) throws -> MSRAnswer { msrs.append(access); return msrAnswer }
        func assist(_ request: AssistRequest, regs: GPRegisters) throws -> (action: AssistAction, length: UInt8)? {
            assists.append(request)
            return assistAnswer
        }
        var wantsCheckpoint: Bool { false }
        func checkpoint(state: MachineStateSource, regs: GPRegisters) throws {}
    }

    /// A vCPU side that records completions.
    final class FakeSite: ExitSite {
        var ioReads: [[UInt64]] = []
        var mmioReads: [UInt64] = []
        var msrCompletions: [MSRAnswer] = []
        var pageFaultHandler: UInt64?
        var steppedOver = 0
        var assisted: [(AssistAction, UInt8)] = []
        var specialRegisters = SpecialRegisters()

        func completeIORead(_ values: IOValues) { ioReads.append(Array(values)) }
        func completeMMIORead(_ value: UInt64) { mmioReads.append(value) }
        func completeMSR(value: UInt64, fault: Bool) { msrCompletions.append(MSRAnswer(value: value, fault: fault)) }
        func caughtPageFault(pc: UInt64, regs: GPRegisters) throws -> Event? {
            pc == pageFaultHandler ? .pageFault(gva: 0xdead_0000, errorCode: 2, cr3: 0x1000, faultingRIP: 0x4000) : nil
        }
        func stepOverPageFaultHandler() throws { steppedOver += 1 }
        func applyAssist(_ action: AssistAction, length: UInt8) throws -> GPRegisters {
            assisted.append((action, length))
            var r = ExitHandlingTests.regs
            r.rip &+= UInt64(length)
            return r
        }
        func symbolize(_ address: UInt64) -> String? { address == ExitHandlingTests.regs.rip ? "main+0x10" : nil }
    }

    static let regs: GPRegisters = {
        var r = GPRegisters()
        r.rip = 0x10_0010
        r.rflags = 0x202
        return r
    }()

    func handle(_ exit: VMExit, _ responder: ScriptedResponder = ScriptedResponder(), _ site: FakeSite = FakeSite(),
                regs: GPRegisters = regs) throws -> (ExitHandling.Outcome, ScriptedResponder, FakeSite) {
        let outcome = try ExitHandling.handle(exit, regs: regs, responder: responder, site: site)
        return (outcome, responder, site)
    }

    @Test func portReadsAreAnsweredOneElementAtATime() throws {
        let r = ScriptedResponder()
        r.answers = [0x41, 0x42, 0x43]
        let (o, _, site) = try handle(.io(port: 0x3f8, size: 1, direction: .read, count: 3, values: []), r)
        #expect(r.asked == Array(repeating: .portRead(port: 0x3f8, size: 1), count: 3))
        #expect(site.ioReads == [[0x41, 0x42, 0x43]])
        #expect(o == ExitHandling.Outcome(pendingRead: true, regs: Self.regs))
    }

    @Test func aRepInsStopsWhenTheResponderEndsTheRun() throws {
        let r = ScriptedResponder()
        r.endAfter = 2
        let (_, _, site) = try handle(.io(port: 0x60, size: 2, direction: .read, count: 5, values: []), r)
        #expect(r.asked.count == 2)
        #expect(site.ioReads == [[0, 0]])
    }

    @Test func portWritesHandEveryValueOver() throws {
        let (o, r, site) = try handle(.io(port: 0x3f8, size: 1, direction: .write, count: 2, values: [0x48, 0x69]))
        #expect(r.asked == [.portWrite(port: 0x3f8, size: 1, value: 0x48), .portWrite(port: 0x3f8, size: 1, value: 0x69)])
        #expect(site.ioReads.isEmpty)
        #expect(!o.pendingRead)
    }

    @Test func mmioReadsAndWrites() throws {
        let r = ScriptedResponder()
        r.answers = [0xdead_beef]
        let (read, _, site) = try handle(.mmio(gpa: 0xfed0_0000, size: 4, direction: .read, value: 0), r)
        #expect(r.asked == [.mmioRead(gpa: 0xfed0_0000, size: 4)])
        #expect(site.mmioReads == [0xdead_beef])
        #expect(read.pendingRead)
        let (write, w, wsite) = try handle(.mmio(gpa: 0xfed0_0008, size: 8, direction: .write, value: 7))
        #expect(w.asked == [.mmioWrite(gpa: 0xfed0_0008, size: 8, value: 7)])
        #expect(wsite.mmioReads.isEmpty && !write.pendingRead)
    }

    @Test func hltCarriesTheInterruptFlag() throws {
        let (_, on, _) = try handle(.hlt)
        #expect(on.asked == [.halt(interruptsEnabled: true)])
        var cleared = Self.regs
        cleared.rflags = 0x2
        let (_, off, _) = try handle(.hlt, regs: cleared)
        #expect(off.asked == [.halt(interruptsEnabled: false)])
    }

    @Test func shutdownInterruptionAndTheIRQWindow() throws {
        #expect(try handle(.shutdown).1.asked == [.shutdown])
        #expect(try handle(.interrupted).1.asked == [.interrupted])
        #expect(try handle(.irqWindowOpen).1.asked.isEmpty)
    }

    @Test func msrAccessesGoToTheMSRMethodAndAreCompleted() throws {
        let r = ScriptedResponder()
        r.msrAnswer = MSRAnswer(value: 0xfee0_0900, fault: false)
        let (o, _, site) = try handle(.msr(index: 0x1b, direction: .read, value: 0, reason: 0), r)
        #expect(r.msrs == [MSRAccess(index: 0x1b, direction: .read, value: 0)])
        #expect(r.asked.isEmpty)
        #expect(site.msrCompletions == [MSRAnswer(value: 0xfee0_0900, fault: false)])
        #expect(o.pendingRead)
        let f = ScriptedResponder()
        f.msrAnswer = MSRAnswer(value: 0, fault: true)
        let (_, _, fsite) = try handle(.msr(index: 0x802, direction: .write, value: 5, reason: 0), f)
        #expect(f.msrs == [MSRAccess(index: 0x802, direction: .write, value: 5)])
        #expect(fsite.msrCompletions == [MSRAnswer(value: 0, fault: true)])
    }

    @Test func aDebugExitAtThePageFaultHandlerIsAPageFault() throws {
        let site = FakeSite()
        site.pageFaultHandler = 0xffff_8000_0000_1000
        let (_, r, _) = try handle(.debug(exception: 1, pc: 0xffff_8000_0000_1000, dr6: 1, dr7: 0), ScriptedResponder(), site)
        #expect(r.asked == [.pageFault(.pageFault(gva: 0xdead_0000, errorCode: 2, cr3: 0x1000, faultingRIP: 0x4000))])
        #expect(site.steppedOver == 1)
    }

    @Test func anyOtherDebugExitIsAKVMError() throws {
        let (_, r, site) = try handle(.debug(exception: 1, pc: 0x5000, dr6: 0x4000, dr7: 0))
        #expect(r.asked == [.kvmError(reason: KVMExitReason.debug, suberror: 1, data: [],
                                      description: "unexpected debug exit at 0x5000 (exception 1, dr6 0x4000)")])
        #expect(site.steppedOver == 0)
    }

    /// KVM's emulation-failure data for one instruction byte (int3).
    static let int3Failure: [UInt64] = [1, 0x01 | 0xcc << 8, 0]

    @Test func anEmulationFailureIsOfferedForAnAssistFirst() throws {
        let r = ScriptedResponder()
        r.assistAnswer = (.breakpoint, 1)
        let (o, _, site) = try handle(.internalError(suberror: VMExit.InternalError.emulation, data: Self.int3Failure), r)
        #expect(r.assists == [AssistRequest(bytes: [0xcc])])
        #expect(r.asked.isEmpty)
        #expect(site.assisted.count == 1 && site.assisted[0].0 == .breakpoint && site.assisted[0].1 == 1)
        #expect(o.regs.rip == Self.regs.rip + 1)
        #expect(!o.pendingRead)
    }

    @Test func anEmulationFailureWithoutAnAssistIsReported() throws {
        let (o, r, site) = try handle(.internalError(suberror: VMExit.InternalError.emulation, data: Self.int3Failure))
        #expect(r.assists == [AssistRequest(bytes: [0xcc])])
        guard case let .kvmError(reason, suberror, data, description)? = r.asked.first else {
            Issue.record("no KVM error: \(r.asked)"); return
        }
        #expect(reason == KVMExitReason.internalError && suberror == VMExit.InternalError.emulation && data == [0xcc])
        #expect(description.hasPrefix("KVM could not emulate int3 at rip 0x100010 (main+0x10)"))
        #expect(site.assisted.isEmpty && o.regs == Self.regs)
    }

    @Test func otherInternalErrorsAreReportedWithoutAnAssist() throws {
        let (_, r, _) = try handle(.internalError(suberror: VMExit.InternalError.deliveryEv, data: [1, 2]))
        #expect(r.assists.isEmpty)
        #expect(r.asked == [.kvmError(reason: KVMExitReason.internalError, suberror: VMExit.InternalError.deliveryEv, data: [],
                                      description: "KVM internal error, suberror 3, at rip 0x100010 (main+0x10)")])
    }

    @Test func entryFailuresSystemEventsAndUnsupportedExitsAreKVMErrors() throws {
        #expect(try handle(.failEntry(reason: 0x21)).1.asked == [.kvmError(reason: KVMExitReason.failEntry, suberror: 0x21, data: [],
            description: "KVM could not enter the guest (hardware entry failure reason 0x21)")])
        #expect(try handle(.systemEvent(type: 2)).1.asked == [.kvmError(reason: KVMExitReason.systemEvent, suberror: 2, data: [],
            description: "KVM system event 2")])
        #expect(try handle(.unsupported(reason: 99)).1.asked == [.kvmError(reason: 99, suberror: 0, data: [],
            description: "unsupported KVM exit reason 99")])
    }
}
