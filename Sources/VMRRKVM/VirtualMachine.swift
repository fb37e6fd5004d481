import CKVM
import Glibc
import VMRRJournal

/// Owner of a VM file descriptor.
public final class VirtualMachine {
    let fd: Int32
    let system: KVMSystem

    init(fd: Int32, system: KVMSystem) {
        self.fd = fd
        self.system = system
    }

    deinit { close(fd) }

    public struct SlotFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let logDirtyPages = SlotFlags(rawValue: CKVM_MEM_LOG_DIRTY_PAGES)
        public static let readOnly = SlotFlags(rawValue: CKVM_MEM_READONLY)
    }

    /// KVM_SET_USER_MEMORY_REGION
    public func setUserMemoryRegion(slot: UInt32, guestPhysical: UInt64, size: UInt64, hostAddress: UInt64, flags: SlotFlags) throws {
        var region = kvm_userspace_memory_region(slot: slot, flags: flags.rawValue, guest_phys_addr: guestPhysical,
                                                 memory_size: size, userspace_addr: hostAddress)
        guard ckvm_ioctl_ptr(fd, CKVM_SET_USER_MEMORY_REGION, &region) == 0 else {
            throw KVMError("KVM_SET_USER_MEMORY_REGION", errno: ckvm_errno(), detail: "slot \(slot) gpa 0x\(String(guestPhysical, radix: 16)) size 0x\(String(size, radix: 16))")
        }
    }

    /// KVM_SET_TSS_ADDR (required on Intel hosts before running real-mode code; harmless elsewhere).
    public func setTSSAddress(_ gpa: UInt64) throws {
        guard ckvm_ioctl_val(fd, CKVM_SET_TSS_ADDR, UInt(gpa)) == 0 else {
            throw KVMError("KVM_SET_TSS_ADDR", errno: ckvm_errno())
        }
    }

    /// KVM_GET_DIRTY_LOG: the pages of `slot` written since the previous call,
    /// as a bitmap of 64-bit words (bit i of word w = page w*64+i).
    public func dirtyLog(slot: UInt32, pages: Int, into bitmap: inout [UInt64]) throws {
        let words = (pages + 63) / 64
        if bitmap.count != words { bitmap = [UInt64](repeating: 0, count: words) }
        let rc = bitmap.withUnsafeMutableBytes { buf -> Int32 in
            var log = kvm_dirty_log()
            log.slot = slot
            // The bitmap buffer holds one bit per page of the slot, rounded up to 64 bits.
            log.dirty_bitmap = buf.baseAddress
            return ckvm_ioctl_ptr(fd, CKVM_GET_DIRTY_LOG, &log)
        }
        guard rc == 0 else { throw KVMError("KVM_GET_DIRTY_LOG", errno: ckvm_errno(), detail: "slot \(slot)") }
    }

    /// KVM_CREATE_VCPU, plus the mmap of its run page.
    public func createVCPU(id: UInt32 = 0) throws -> VCPU {
        let vfd = ckvm_ioctl_val(fd, CKVM_CREATE_VCPU, UInt(id))
        guard vfd >= 0 else { throw KVMError("KVM_CREATE_VCPU", errno: ckvm_errno()) }
        let size: Int
        do { size = try system.vcpuMmapSize() } catch { close(vfd); throw error }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, vfd, 0)
        guard let p, p != MAP_FAILED else {
            let e = errno
            close(vfd)
            throw KVMError("mmap kvm_run", errno: e)
        }
        return VCPU(fd: vfd, run: p, runSize: size, vm: self)
    }
}
