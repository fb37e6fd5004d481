import CKVM
import Glibc
import VMRRBase
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
            throw KVMError("KVM_SET_USER_MEMORY_REGION", errno: ckvm_errno(), detail: "slot \(slot) gpa \(hex(guestPhysical)) size \(hex(size))")
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

    /// Which refused MSR accesses KVM_CAP_X86_USER_SPACE_MSR sends to userspace.
    public struct MSRExitReasons: OptionSet, Sendable {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        /// KVM knows the MSR but refuses the access (a #GP it would inject).
        public static let invalid = MSRExitReasons(rawValue: CKVM_MSR_EXIT_REASON_INVAL)
        /// KVM does not know the MSR.
        public static let unknown = MSRExitReasons(rawValue: CKVM_MSR_EXIT_REASON_UNKNOWN)
        /// The MSR filter denied the access.
        public static let filter = MSRExitReasons(rawValue: CKVM_MSR_EXIT_REASON_FILTER)
    }

    /// KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR): the chosen refused MSR
    /// accesses become KVM_EXIT_X86_RDMSR / KVM_EXIT_X86_WRMSR.
    public func enableUserSpaceMSRExits(_ reasons: MSRExitReasons) throws {
        var cap = kvm_enable_cap()
        cap.cap = UInt32(CKVM_CAP_X86_USER_SPACE_MSR)
        cap.args.0 = reasons.rawValue
        guard ckvm_ioctl_ptr(fd, CKVM_ENABLE_CAP, &cap) == 0 else {
            throw KVMError("KVM_ENABLE_CAP", errno: ckvm_errno(), detail: "KVM_CAP_X86_USER_SPACE_MSR \(hex(reasons.rawValue))")
        }
    }

    /// KVM_X86_SET_MSR_FILTER: every MSR is allowed except those in
    /// `denied`, whose reads and writes exit to userspace (with the
    /// `.filter` exit reason enabled).
    public func setMSRFilter(denied: [ClosedRange<UInt32>]) throws {
        precondition(denied.count <= Int(CKVM_MSR_FILTER_MAX_RANGES))
        // One bit per MSR, all clear (deny); KVM copies the bitmaps during the call.
        let bitmaps = denied.map { r -> UnsafeMutablePointer<UInt8> in
            let n = (Int(r.count) + 7) / 8
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        defer { bitmaps.forEach { $0.deallocate() } }
        let filter = UnsafeMutablePointer<kvm_msr_filter>.allocate(capacity: 1)
        defer { filter.deallocate() }
        filter.initialize(to: kvm_msr_filter())
        filter.pointee.flags = CKVM_MSR_FILTER_DEFAULT_ALLOW
        // `ranges` is a C array (a tuple in Swift) of KVM_MSR_FILTER_MAX_RANGES entries.
        let ranges = UnsafeMutableRawPointer(filter).advanced(by: MemoryLayout<kvm_msr_filter>.offset(of: \kvm_msr_filter.ranges)!)
            .assumingMemoryBound(to: kvm_msr_filter_range.self)
        for (i, r) in denied.enumerated() {
            ranges[i].flags = CKVM_MSR_FILTER_READ | CKVM_MSR_FILTER_WRITE
            ranges[i].nmsrs = UInt32(r.count)
            ranges[i].base = r.lowerBound
            ranges[i].bitmap = bitmaps[i]
        }
        let rc = ckvm_ioctl_ptr(fd, CKVM_X86_SET_MSR_FILTER, filter)
        guard rc == 0 else {
            throw KVMError("KVM_X86_SET_MSR_FILTER", errno: ckvm_errno(),
                           detail: denied.map { "\(hex($0.lowerBound))-\(hex($0.upperBound))" }.joined(separator: ","))
        }
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
