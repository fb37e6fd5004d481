import CKVM
import Glibc
import Testing
@testable import VMRRKVM
import VMRRJournal

/// The owners of the kernel resources on real /dev/kvm: the system fd, a VM,
/// a vCPU and its run page, memory slots, and the state a vCPU saves.
@Suite("VMRRKVM resources on /dev/kvm", .serialized, .enabled(if: kvmAvailable, "requires /dev/kvm"))
struct ResourceTests {
    /// A capability number far beyond any KVM defines.
    static let unknownCapability: Int32 = 100_000

    @Test("the system: API version accepted, capabilities vmrr relies on, run-page size, CPUID and MSR lists")
    func system() throws {
        let kvm = try KVMSystem()
        for cap in [CKVM_CAP_USER_MEMORY, CKVM_CAP_SYNC_REGS, CKVM_CAP_IMMEDIATE_EXIT, CKVM_CAP_SET_GUEST_DEBUG] {
            #expect(kvm.checkExtension(cap) > 0, "capability \(cap)")
        }
        #expect(kvm.checkExtension(Self.unknownCapability) == 0, "an unknown capability reads as unsupported")
        #expect(try kvm.vcpuMmapSize() >= MemoryLayout<kvm_run>.size)
        let cpuid = try kvm.supportedCPUID()
        #expect(cpuid.contains { $0.function == 0 } && cpuid.contains { $0.function == 1 })
        #expect(!(try kvm.msrIndexList()).isEmpty)
    }

    @Test("a VM and a vCPU: CPUID set and read back, registers and special registers round-trip")
    func vmAndVCPU() throws {
        let guest = try TinyGuest(code: Code.hlt)
        let set = try guest.vcpu.getCPUID()
        #expect(set.contains { $0.function == 0 })
        var regs = try guest.vcpu.getRegisters()
        regs.rbx = 0x0123_4567_89ab_cdef
        regs.r15 = UInt64.max
        try guest.vcpu.setRegisters(regs)
        #expect(try guest.vcpu.getRegisters() == regs)
        let sregs = try guest.vcpu.getSpecialRegisters()
        #expect(sregs.cr3 == TinyGuest.pml4 && sregs.cs.l && sregs.cs.selector == TinyGuest.codeSelector)
    }

    @Test("state blobs: every named blob is read, and written back unchanged")
    func stateBlobs() throws {
        let guest = try TinyGuest(code: Code.hlt)
        let blobs = try guest.vcpu.getStateBlobs()
        #expect(Set(blobs.keys) == Set(VCPU.blobNames))
        try guest.vcpu.setStateBlobs(blobs)
        #expect(try guest.vcpu.getStateBlobs()["debugregs"] == blobs["debugregs"])
    }

    /// IA32_STAR: saved by KVM, any value is accepted in long mode.
    static let star: UInt32 = 0xc000_0081

    @Test("MSRs: the index list reads back, and KVM_SET_MSRS counts what it set")
    func msrs() throws {
        let guest = try TinyGuest(code: Code.hlt)
        let list = try guest.system.msrIndexList()
        let values = try guest.vcpu.getMSRs(list)
        #expect(!values.isEmpty && values.count <= list.count)
        try #require(list.contains(Self.star), "STAR is saved")
        let star = MSREntry(index: Self.star, value: 0x0023_0010_0000_0000)
        #expect(try guest.vcpu.setMSRs([star]) == 1)
        #expect(try guest.vcpu.getMSRs([Self.star]) == [star])
    }

    @Test("memory slots: a second slot beside the first, and guest RAM seen by the guest's translation")
    func memorySlots() throws {
        let guest = try TinyGuest(code: Code.hlt)
        let extra = try GuestRAM(ranges: [0x4000_0000..<0x4010_0000])
        try guest.vm.setUserMemoryRegion(slot: 1, guestPhysical: 0x4000_0000, size: 0x10_0000,
                                         hostAddress: extra.hostAddress(ofRange: 0), flags: [.readOnly])
        // Removing a slot is a region of size 0.
        try guest.vm.setUserMemoryRegion(slot: 1, guestPhysical: 0x4000_0000, size: 0, hostAddress: 0, flags: [])
        #expect(guest.ram.read(TinyGuest.codeAddress, count: 1) == Code.hlt)
    }
}
