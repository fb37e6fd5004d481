import Glibc
import Testing
@testable import VMRRKVM
import VMRRJournal

/// Tiny guests on real /dev/kvm, each a few bytes of long-mode code, and the
/// `VMExit` that `VCPU.run()` decodes from the run page for each of them.
@Suite("VMRRKVM exits on /dev/kvm", .serialized, .enabled(if: kvmAvailable, "requires /dev/kvm"))
struct VMExitTests {
    static let port: UInt8 = 0x10

    @Test("out then hlt: an io write with its port, size and value, the registers in the run page, then hlt")
    func outThenHalt() throws {
        let guest = try TinyGuest(code: Code.movAL(0x42) + Code.outAL(Self.port) + Code.hlt)
        guest.vcpu.enableSyncRegs()
        let exit = try guest.runToExit()
        #expect(exit == .io(port: UInt16(Self.port), size: 1, direction: .write, count: 1, values: [0x42]))
        #expect(exit.name == "io")
        let regs = guest.vcpu.syncedRegisters
        #expect(regs.rip == TinyGuest.codeAddress + 4, "RIP after the OUT")
        #expect(regs.rax & 0xff == 0x42)
        #expect(guest.vcpu.syncedCR3 == TinyGuest.pml4)
        #expect(guest.vcpu.syncedSpecialRegisters.efer & TinyGuest.efer == TinyGuest.efer)
        #expect(try guest.vcpu.getRegisters() == regs, "KVM_GET_REGS agrees with the run page")
        #expect(try guest.runToExit() == .hlt)
    }

    /// `currentRegisters` (a vCPU switched to) reads the run page only while
    /// KVM's copy there is the vCPU's: after an exit, not after registers were set.
    @Test("currentRegisters: the run page after an exit, KVM_GET_REGS after KVM_SET_REGS or before any run")
    func currentRegistersFollowsTheRunPage() throws {
        let guest = try TinyGuest(code: Code.movAL(0x42) + Code.outAL(Self.port) + Code.hlt)
        guest.vcpu.enableSyncRegs()
        #expect(!guest.vcpu.runPageCurrent, "nothing ran yet")
        let entry = try guest.vcpu.currentRegisters()
        #expect(entry.rip == TinyGuest.codeAddress)
        _ = try guest.runToExit()
        #expect(guest.vcpu.runPageCurrent)
        #expect(try guest.vcpu.currentRegisters() == guest.vcpu.getRegisters())
        var changed = try guest.vcpu.currentRegisters()
        changed.rbx = 0x1234_5678
        try guest.vcpu.setRegisters(changed)
        #expect(!guest.vcpu.runPageCurrent, "KVM_SET_REGS does not write the run page")
        #expect(guest.vcpu.syncedRegisters.rbx != 0x1234_5678)
        #expect(try guest.vcpu.currentRegisters().rbx == 0x1234_5678)
        #expect(try guest.runToExit() == .hlt)
        #expect(guest.vcpu.runPageCurrent && guest.vcpu.syncedRegisters.rbx == 0x1234_5678)
    }

    @Test("rep outsb: one io exit carrying every element the guest wrote")
    func repOuts() throws {
        let data: [UInt8] = [0x61, 0x62, 0x63]
        let guest = try TinyGuest(code: Code.movRSI(TinyGuest.dataAddress) + Code.movECX(UInt32(data.count))
                                  + Code.movEDX(UInt32(Self.port)) + Code.repOutsb + Code.hlt)
        #expect(guest.ram.write(TinyGuest.dataAddress, data))
        var values: [UInt64] = []
        var exit = try guest.runToExit()
        // KVM may split the string into several exits; together they carry all the bytes.
        while case let .io(port, size, direction, count, v) = exit {
            #expect(port == UInt16(Self.port) && size == 1 && direction == .write && Int(count) == v.count)
            values += v
            exit = try guest.runToExit()
        }
        #expect(values == data.map(UInt64.init))
        #expect(exit == .hlt)
    }

    @Test("in: an io read exit; the answer written with completeIORead reaches AL")
    func inAnswered() throws {
        let guest = try TinyGuest(code: Code.inAL(Self.port + 1) + Code.hlt)
        #expect(try guest.runToExit() == .io(port: UInt16(Self.port + 1), size: 1, direction: .read, count: 1, values: []))
        guest.vcpu.completeIORead([0x5a])
        #expect(try guest.runToExit() == .hlt)
        #expect(try guest.vcpu.getRegisters().rax & 0xff == 0x5a)
    }

    @Test("mmio: a write to an address without a slot, then a read answered with completeMMIORead")
    func mmio() throws {
        let guest = try TinyGuest(code: Code.movRBX(TinyGuest.mmioAddress) + Code.storeToRBX(0xdead_beef)
                                  + Code.loadFromRBX + Code.hlt)
        #expect(try guest.runToExit() == .mmio(gpa: TinyGuest.mmioAddress, size: 4, direction: .write, value: 0xdead_beef))
        #expect(try guest.runToExit() == .mmio(gpa: TinyGuest.mmioAddress, size: 4, direction: .read, value: 0))
        guest.vcpu.completeMMIORead(0x1234_5678)
        #expect(try guest.runToExit() == .hlt)
        #expect(try guest.vcpu.getRegisters().rax == 0x1234_5678)
    }

    @Test("immediate_exit: KVM_RUN returns at once as interrupted, and the guest runs on afterwards")
    func immediateExit() throws {
        let guest = try TinyGuest(code: Code.hlt)
        guest.vcpu.immediateExit = true
        #expect(guest.vcpu.immediateExit)
        #expect(try guest.vcpu.run() == .interrupted)
        #expect(try guest.vcpu.getRegisters().rip == TinyGuest.codeAddress, "nothing ran")
        guest.vcpu.immediateExit = false
        #expect(try guest.runToExit() == .hlt)
    }

    @Test("single-step: a debug exit per instruction, with the next instruction's address")
    func singleStep() throws {
        let guest = try TinyGuest(code: Code.nop + Code.nop + Code.hlt)
        try guest.vcpu.setGuestDebug([.enable, .singleStep])
        guard case let .debug(_, pc1, _, _) = try guest.runToExit() else { Issue.record("no debug exit"); return }
        guard case let .debug(_, pc2, _, _) = try guest.runToExit() else { Issue.record("no second debug exit"); return }
        #expect(pc1 == TinyGuest.codeAddress + 1 && pc2 == TinyGuest.codeAddress + 2)
        try guest.vcpu.setGuestDebug([])
        #expect(try guest.runToExit() == .hlt)
    }

    @Test("rdmsr of a filtered MSR: an msr exit; the value given with completeMSR lands in EDX:EAX")
    func filteredMSR() throws {
        let msr: UInt32 = 0x1234
        let guest = try TinyGuest(code: Code.movECX(msr) + Code.rdmsr + Code.hlt)
        try guest.vm.enableUserSpaceMSRExits([.filter])
        try guest.vm.setMSRFilter(denied: [msr...msr])
        let exit = try guest.runToExit()
        #expect(exit == .msr(index: msr, direction: .read, value: 0, reason: UInt32(VirtualMachine.MSRExitReasons.filter.rawValue)))
        #expect(exit.name == "rdmsr")
        guest.vcpu.completeMSR(value: 0x1122_3344_5566_7788, fault: false)
        #expect(try guest.runToExit() == .hlt)
        let regs = try guest.vcpu.getRegisters()
        #expect(regs.rax == 0x5566_7788 && regs.rdx == 0x1122_3344)
    }

    @Test("int3 at CPL0: an internal error (emulation failure) carrying the instruction bytes")
    func emulationFailure() throws {
        let guest = try TinyGuest(code: Code.int3 + Code.hlt)
        let exit = try guest.runToExit()
        guard case let .internalError(suberror, data) = exit else { Issue.record("expected an internal error, got \(exit)"); return }
        #expect(suberror == VMExit.InternalError.emulation)
        #expect(VMExit.emulationFailureBytes(data).first == Code.int3[0], "\(data)")
        #expect(exit.name == "internal-error")
    }

    @Test("a page fault with an empty IDT: triple fault, decoded as shutdown")
    func tripleFault() throws {
        let guest = try TinyGuest(code: Code.movRBX(TinyGuest.unmappedAddress) + Code.loadFromRBX + Code.hlt)
        #expect(try guest.runToExit() == .shutdown)
    }

    @Test("the dirty log names the page the guest wrote, and only once")
    func dirtyLog() throws {
        let guest = try TinyGuest(code: Code.movRBX(TinyGuest.dataAddress) + Code.storeToRBX(1) + Code.hlt, dirtyLog: true)
        let pages = Int(TinyGuest.ramSize / 4096)
        var bitmap: [UInt64] = []
        try guest.vm.dirtyLog(slot: TinyGuest.slot, pages: pages, into: &bitmap)   // clears what the set-up wrote
        #expect(try guest.runToExit() == .hlt)
        try guest.vm.dirtyLog(slot: TinyGuest.slot, pages: pages, into: &bitmap)
        let page = Int(TinyGuest.dataAddress / 4096)
        #expect(bitmap.count == (pages + 63) / 64)
        #expect(bitmap[page / 64] >> UInt64(page % 64) & 1 == 1, "the written page is dirty")
        try guest.vm.dirtyLog(slot: TinyGuest.slot, pages: pages, into: &bitmap)
        #expect(bitmap[page / 64] >> UInt64(page % 64) & 1 == 0, "the log was reset by the previous read")
    }

    @Test("KVM_TRANSLATE walks the guest's tables: identity below 1 GiB, nothing above")
    func translate() throws {
        let guest = try TinyGuest(code: Code.hlt)
        #expect(try guest.vcpu.translate(TinyGuest.codeAddress + 5) == TinyGuest.codeAddress + 5)
        #expect(try guest.vcpu.translate(TinyGuest.unmappedAddress) == nil)
    }
}
