import CKVM
import Glibc
import VMRRJournal

/// Owner of the `/dev/kvm` file descriptor.
public final class KVMSystem {
    public static let devicePath = "/dev/kvm"
    let fd: Int32

    /// True when `/dev/kvm` exists and can be opened read-write by this process.
    public static var isAvailable: Bool {
        let fd = ckvm_open(devicePath, O_RDWR | O_CLOEXEC)
        if fd < 0 { return false }
        close(fd)
        return true
    }

    public init() throws {
        let fd = ckvm_open(Self.devicePath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw KVMError("open \(Self.devicePath)", errno: ckvm_errno()) }
        self.fd = fd
        let version = ckvm_ioctl_val(fd, CKVM_GET_API_VERSION, 0)
        guard version == CKVM_API_VERSION else {
            close(fd)
            throw KVMUnsupported("KVM_GET_API_VERSION: \(version), vmrr needs \(CKVM_API_VERSION)")
        }
    }

    deinit { close(fd) }

    /// KVM_CHECK_EXTENSION: 0 when unsupported, otherwise a capability-specific value.
    public func checkExtension(_ cap: Int32) -> Int32 {
        max(0, ckvm_ioctl_val(fd, CKVM_CHECK_EXTENSION, UInt(cap)))
    }

    /// KVM_GET_VCPU_MMAP_SIZE
    public func vcpuMmapSize() throws -> Int {
        let n = ckvm_ioctl_val(fd, CKVM_GET_VCPU_MMAP_SIZE, 0)
        guard n > 0 else { throw KVMError("KVM_GET_VCPU_MMAP_SIZE", errno: ckvm_errno()) }
        return Int(n)
    }

    /// KVM_GET_SUPPORTED_CPUID
    public func supportedCPUID() throws -> [CPUIDEntry] {
        try CPUIDBuffer.withBuffer(capacity: Int(CKVM_MAX_CPUID_ENTRIES)) { buf in
            guard ckvm_ioctl_ptr(fd, CKVM_GET_SUPPORTED_CPUID, buf) == 0 else {
                throw KVMError("KVM_GET_SUPPORTED_CPUID", errno: ckvm_errno())
            }
            return CPUIDBuffer.entries(buf)
        }
    }

    /// KVM_GET_MSR_INDEX_LIST: the MSRs KVM saves and restores for a vCPU.
    public func msrIndexList() throws -> [UInt32] {
        let capacity = Int(CKVM_MAX_MSR_ENTRIES)
        return try FlexibleArray.with(kvm_msr_list.self, UInt32.self, count: capacity) { list, indices in
            list.pointee.nmsrs = UInt32(capacity)
            // The allocation holds nmsrs indices after the header.
            guard ckvm_ioctl_ptr(fd, CKVM_GET_MSR_INDEX_LIST, list) == 0 else {
                throw KVMError("KVM_GET_MSR_INDEX_LIST", errno: ckvm_errno())
            }
            return (0..<min(Int(list.pointee.nmsrs), capacity)).map { indices[$0] }
        }
    }

    /// KVM_CREATE_VM
    public func createVM() throws -> VirtualMachine {
        let vmfd = ckvm_ioctl_val(fd, CKVM_CREATE_VM, 0)
        guard vmfd >= 0 else { throw KVMError("KVM_CREATE_VM", errno: ckvm_errno()) }
        return VirtualMachine(fd: vmfd, system: self)
    }
}

/// Helpers for the variable-length `struct kvm_cpuid2`.
enum CPUIDBuffer {
    static func withBuffer<R>(capacity: Int, _ body: (UnsafeMutablePointer<kvm_cpuid2>) throws -> R) throws -> R {
        try FlexibleArray.with(kvm_cpuid2.self, kvm_cpuid_entry2.self, count: capacity) { p, _ in
            p.pointee.nent = UInt32(capacity)
            return try body(p)
        }
    }

    static func entryPointer(_ p: UnsafeMutablePointer<kvm_cpuid2>) -> UnsafeMutablePointer<kvm_cpuid_entry2> {
        // The entries follow the 8-byte header of kvm_cpuid2 inside the same allocation.
        (UnsafeMutableRawPointer(p) + MemoryLayout<kvm_cpuid2>.size).assumingMemoryBound(to: kvm_cpuid_entry2.self)
    }

    static func entries(_ p: UnsafeMutablePointer<kvm_cpuid2>) -> [CPUIDEntry] {
        let e = entryPointer(p)
        return (0..<Int(p.pointee.nent)).map { i in
            CPUIDEntry(function: e[i].function, index: e[i].index, flags: e[i].flags,
                       eax: e[i].eax, ebx: e[i].ebx, ecx: e[i].ecx, edx: e[i].edx)
        }
    }

    static func fill(_ p: UnsafeMutablePointer<kvm_cpuid2>, _ entries: [CPUIDEntry]) {
        let e = entryPointer(p)
        p.pointee.nent = UInt32(entries.count)
        for (i, c) in entries.enumerated() {
            e[i] = kvm_cpuid_entry2()
            e[i].function = c.function; e[i].index = c.index; e[i].flags = c.flags
            e[i].eax = c.eax; e[i].ebx = c.ebx; e[i].ecx = c.ecx; e[i].edx = c.edx
        }
    }
}
