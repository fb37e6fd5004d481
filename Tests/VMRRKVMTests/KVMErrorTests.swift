import Glibc
import Testing
@testable import VMRRKVM
import VMRRJournal

/// Bad file descriptors and ioctls KVM refuses: each failure is a `KVMError`
/// naming the ioctl and carrying its errno.
@Suite("VMRRKVM errors on /dev/kvm", .serialized, .enabled(if: kvmAvailable, "requires /dev/kvm"))
struct KVMErrorTests {
    /// Runs `body`, which must throw a KVMError, and returns it.
    func kvmError(_ body: () throws -> Void) throws -> KVMError {
        do {
            try body()
        } catch let e as KVMError {
            return e
        }
        throw KVMUnsupported("no KVMError was thrown")
    }

    /// A descriptor that is not open: -1, as a closed one would be (a real
    /// closed number could be reused by another test's thread at any time).
    static let notOpen: Int32 = -1

    @Test("a VM on a descriptor that is not open: EBADF, named by the ioctl")
    func vmOnBadDescriptor() throws {
        let kvm = try KVMSystem()
        let vm = VirtualMachine(fd: Self.notOpen, system: kvm)
        let region = try kvmError { try vm.setUserMemoryRegion(slot: 0, guestPhysical: 0, size: 0x1000, hostAddress: 0, flags: []) }
        #expect(region.operation == "KVM_SET_USER_MEMORY_REGION" && region.errno == EBADF)
        #expect(region.description.hasPrefix("KVM_SET_USER_MEMORY_REGION: EBADF (Bad file descriptor)"))
        let vcpu = try kvmError { _ = try vm.createVCPU() }
        #expect(vcpu.operation == "KVM_CREATE_VCPU" && vcpu.errno == EBADF)
        let tss = try kvmError { try vm.setTSSAddress(0xfffb_d000) }
        #expect(tss.operation == "KVM_SET_TSS_ADDR" && tss.errno == EBADF)
    }

    @Test("a vCPU on a descriptor that is not open: KVM_RUN and the register ioctls fail with EBADF")
    func vcpuOnBadDescriptor() throws {
        let kvm = try KVMSystem()
        let vm = try kvm.createVM()
        let size = try kvm.vcpuMmapSize()
        // A private page stands in for the run page; the VCPU unmaps it in deinit.
        let page = try #require(mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
        try #require(page != MAP_FAILED)
        let vcpu = VCPU(fd: Self.notOpen, run: page, runSize: size, vm: vm)
        let run = try kvmError { _ = try vcpu.run() }
        #expect(run.operation == "KVM_RUN" && run.errno == EBADF, "EBADF is not taken for an interruption")
        #expect(try kvmError { _ = try vcpu.getRegisters() }.operation == "KVM_GET_REGS")
        #expect(try kvmError { try vcpu.setSpecialRegisters(SpecialRegisters()) }.operation == "KVM_GET_SREGS")
        #expect(try kvmError { _ = try vcpu.getStateBlobs() }.errno == EBADF)
    }

    @Test("KVM ioctls on a descriptor that is not KVM's: ENOTTY")
    func notAKVMDescriptor() throws {
        let kvm = try KVMSystem()
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        try #require(null >= 0)
        let vm = VirtualMachine(fd: null, system: kvm)   // closes /dev/null in deinit
        let e = try kvmError { _ = try vm.createVCPU() }
        #expect(e.operation == "KVM_CREATE_VCPU" && e.errno == ENOTTY)
        #expect(e.description.hasPrefix("KVM_CREATE_VCPU: ENOTTY"))
    }

    @Test("memory slots KVM refuses: an invalid slot number, an unaligned address, an overlap")
    func refusedMemorySlots() throws {
        let guest = try TinyGuest(code: Code.hlt)
        let host = guest.ram.hostAddress(ofRange: 0)
        let badSlot = try kvmError {
            try guest.vm.setUserMemoryRegion(slot: 0x7fff, guestPhysical: 0x8000_0000, size: 0x1000, hostAddress: host, flags: [])
        }
        #expect(badSlot.operation == "KVM_SET_USER_MEMORY_REGION" && badSlot.errno == EINVAL)
        #expect(badSlot.detail == "slot 32767 gpa 0x80000000 size 0x1000")
        let unaligned = try kvmError {
            try guest.vm.setUserMemoryRegion(slot: 2, guestPhysical: 0x8000_0123, size: 0x1000, hostAddress: host, flags: [])
        }
        #expect(unaligned.errno == EINVAL)
        let overlap = try kvmError {
            try guest.vm.setUserMemoryRegion(slot: 3, guestPhysical: 0x1000, size: 0x1000, hostAddress: host, flags: [])
        }
        #expect(overlap.errno == EEXIST, "\(overlap)")
    }

    @Test("KVM_SET_CPUID2 with more entries than KVM takes: E2BIG")
    func tooManyCPUIDEntries() throws {
        let guest = try TinyGuest(code: Code.hlt)
        let entries = (0..<1000).map { CPUIDEntry(function: UInt32($0), index: 0, flags: 0, eax: 0, ebx: 0, ecx: 0, edx: 0) }
        let e = try kvmError { try guest.vcpu.setCPUID(entries) }
        #expect(e.operation == "KVM_SET_CPUID2" && e.errno == E2BIG)
        #expect(e.description == "KVM_SET_CPUID2: E2BIG (Argument list too long)")
    }

    @Test("a second vCPU with the same id: EEXIST; the dirty log of a slot that does not log: ENOENT")
    func refusedVCPUAndDirtyLog() throws {
        let guest = try TinyGuest(code: Code.hlt)
        let again = try kvmError { _ = try guest.vm.createVCPU(id: 0) }
        #expect(again.operation == "KVM_CREATE_VCPU" && again.errno == EEXIST)
        var bitmap: [UInt64] = []
        let log = try kvmError { try guest.vm.dirtyLog(slot: TinyGuest.slot, pages: 512, into: &bitmap) }
        #expect(log.operation == "KVM_GET_DIRTY_LOG" && log.errno == ENOENT && log.detail == "slot 0")
    }

    @Test("a state blob of the wrong size is refused before any ioctl")
    func wrongBlobSize() throws {
        let guest = try TinyGuest(code: Code.hlt)
        #expect(throws: KVMUnsupported.self) { try guest.vcpu.setStateBlobs(["xcrs": [1, 2, 3]]) }
    }
}

/// KVMError's wording, without KVM.
@Suite("KVMError wording")
struct KVMErrorWordingTests {
    @Test("operation, errno name and text, then the detail")
    func wording() {
        #expect(KVMError("KVM_SET_SREGS", errno: EINVAL).description == "KVM_SET_SREGS: EINVAL (Invalid argument)")
        #expect(KVMError("KVM_INTERRUPT", errno: EFAULT, detail: "vector 32").description
                == "KVM_INTERRUPT: EFAULT (Bad address): vector 32")
        #expect(KVMError.errnoName(EBADF) == "EBADF" && KVMError.errnoName(ENOTTY) == "ENOTTY")
        #expect(KVMError.errnoName(9999) == "errno 9999")
    }
}
