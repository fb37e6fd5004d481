import CKVM
import Glibc
import VMRRJournal

/// Owner of a vCPU file descriptor and its mmapped `kvm_run` page.
public final class VCPU {
    let fd: Int32
    let runPage: UnsafeMutableRawPointer
    let runSize: Int
    let vm: VirtualMachine
    /// The run page, typed. Valid for the lifetime of this object (unmapped in deinit).
    let rp: UnsafeMutablePointer<kvm_run>
    public private(set) var syncRegsEnabled = false
    /// True while the run page's synced registers are the vCPU's: KVM wrote
    /// them when the last KVM_RUN returned, and nothing set registers or
    /// state since (`currentRegisters`).
    public private(set) var runPageCurrent = false

    init(fd: Int32, run: UnsafeMutableRawPointer, runSize: Int, vm: VirtualMachine) {
        self.fd = fd
        self.runPage = run
        self.runSize = runSize
        self.vm = vm
        self.rp = run.assumingMemoryBound(to: kvm_run.self)
    }

    deinit {
        munmap(runPage, runSize)
        close(fd)
    }

    // MARK: running

    /// Asks KVM to keep regs and sregs in the run page on every exit
    /// (KVM_CAP_SYNC_REGS), which makes reading them at each exit nearly free:
    /// the registers go into every journal event, and IDTR and CR3 (the #PF
    /// trap's key) can change at any instruction without an exit. The vCPU
    /// events are not asked for: nothing reads them at exits, and KVM would
    /// fetch them at every one (`KVM_GET_VCPU_EVENTS` when a checkpoint needs them).
    public func enableSyncRegs() {
        rp.pointee.kvm_valid_regs = CKVM_SYNC_X86_REGS | CKVM_SYNC_X86_SREGS
        syncRegsEnabled = true
    }

    /// `immediate_exit`: when set, the next KVM_RUN returns EINTR at once
    /// (after completing a pending I/O read).
    public var immediateExit: Bool {
        get { rp.pointee.immediate_exit != 0 }
        set { rp.pointee.immediate_exit = newValue ? 1 : 0 }
    }

    public var readyForInterruptInjection: Bool { rp.pointee.ready_for_interrupt_injection != 0 }
    public var interruptFlag: Bool { rp.pointee.if_flag != 0 }
    public var requestInterruptWindow: Bool {
        get { rp.pointee.request_interrupt_window != 0 }
        set { rp.pointee.request_interrupt_window = newValue ? 1 : 0 }
    }

    /// KVM_RUN, then the one decode of the run page.
    /// KVM_RUN calls made so far (the debugger's exit counts, `vmrr bench`).
    public private(set) var runCount: UInt64 = 0

    public func run() throws -> VMExit {
        runCount &+= 1
        // KVM stores the synced registers on every return from KVM_RUN, EINTR included.
        if ckvm_ioctl_val(fd, CKVM_RUN, 0) != 0 {
            let e = ckvm_errno()
            if e == EINTR || e == EAGAIN { runPageCurrent = syncRegsEnabled; return .interrupted }
            runPageCurrent = false
            throw KVMError("KVM_RUN", errno: e)
        }
        runPageCurrent = syncRegsEnabled
        return decodeExit()
    }

    func decodeExit() -> VMExit {
        let reason = rp.pointee.exit_reason
        switch reason {
        case CKVM_EXIT_IO:
            let size = rp.pointee.io.size
            let count = rp.pointee.io.count
            let dir: IODirection = rp.pointee.io.direction == CKVM_EXIT_IO_OUT ? .write : .read
            var values: IOValues = []
            if dir == .write {
                // data_offset points inside the mmapped run page, count*size bytes long.
                let data = UnsafeRawPointer(ckvm_run_io_data(rp)!)
                if count == 1 {
                    values = IOValues(single: Self.load(data, size: Int(size)))
                } else {
                    values = IOValues((0..<Int(count)).map { Self.load(data + $0 * Int(size), size: Int(size)) })
                }
            }
            return .io(port: rp.pointee.io.port, size: size, direction: dir, count: count, values: values)
        case CKVM_EXIT_MMIO:
            let len = rp.pointee.mmio.len
            let write = rp.pointee.mmio.is_write != 0
            var value: UInt64 = 0
            if write {
                // mmio.data is an 8-byte array inside the run page.
                value = Self.load(UnsafeRawPointer(ckvm_run_mmio_data(rp)!), size: Int(min(len, 8)))
            }
            return .mmio(gpa: rp.pointee.mmio.phys_addr, size: UInt8(truncatingIfNeeded: len),
                         direction: write ? .write : .read, value: value)
        case CKVM_EXIT_HLT:
            return .hlt
        case CKVM_EXIT_SHUTDOWN:
            return .shutdown
        case CKVM_EXIT_DEBUG:
            let arch = rp.pointee.debug.arch
            return .debug(exception: arch.exception, pc: arch.pc, dr6: arch.dr6, dr7: arch.dr7)
        case CKVM_EXIT_INTERNAL_ERROR:
            let sub = rp.pointee.internal.suberror
            let n = min(Int(rp.pointee.internal.ndata), 16)
            // internal.data is a 16-word array inside the run page.
            let words = ckvm_run_internal_data(rp)!
            return .internalError(suberror: sub, data: (0..<n).map { words[$0] })
        case CKVM_EXIT_FAIL_ENTRY:
            return .failEntry(reason: rp.pointee.fail_entry.hardware_entry_failure_reason)
        case CKVM_EXIT_IRQ_WINDOW_OPEN:
            return .irqWindowOpen
        case CKVM_EXIT_INTR:
            return .interrupted
        case CKVM_EXIT_X86_RDMSR, CKVM_EXIT_X86_WRMSR:
            let write = reason == CKVM_EXIT_X86_WRMSR
            return .msr(index: ckvm_run_msr_index(rp), direction: write ? .write : .read,
                        value: write ? ckvm_run_msr_data(rp) : 0, reason: ckvm_run_msr_reason(rp))
        case CKVM_EXIT_SYSTEM_EVENT:
            return .systemEvent(type: rp.pointee.system_event.type)
        default:
            return .unsupported(reason: reason)
        }
    }

    @inline(__always)
    static func load(_ p: UnsafeRawPointer, size: Int) -> UInt64 {
        switch size {
        case 1: return UInt64(p.load(as: UInt8.self))
        case 2: return UInt64(p.loadUnaligned(as: UInt16.self))
        case 4: return UInt64(p.loadUnaligned(as: UInt32.self))
        case 8: return p.loadUnaligned(as: UInt64.self)
        default:
            var v: UInt64 = 0
            for i in 0..<min(size, 8) { v |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << (8 * UInt64(i)) }
            return v
        }
    }

    @inline(__always)
    static func store(_ p: UnsafeMutableRawPointer, size: Int, value: UInt64) {
        for i in 0..<min(size, 8) { p.storeBytes(of: UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))), toByteOffset: i, as: UInt8.self) }
    }

    /// Supplies the data of a port IN exit (one value per element) before the next KVM_RUN.
    public func completeIORead(_ values: IOValues) {
        let size = Int(rp.pointee.io.size)
        let count = Int(rp.pointee.io.count)
        // data_offset points inside the run page, count*size bytes long.
        let data = UnsafeMutableRawPointer(ckvm_run_io_data(rp)!)
        for i in 0..<min(count, values.count) { Self.store(data + i * size, size: size, value: values[i]) }
    }

    /// The first element of the data a port IN was answered with
    /// (`completeIORead`), as KVM will read it at the next KVM_RUN.
    public var pendingIOReadValue: UInt64 {
        let size = min(Int(rp.pointee.io.size), 8)
        let data = UnsafeRawPointer(ckvm_run_io_data(rp)!)
        var v: UInt64 = 0
        for i in 0..<size { v |= UInt64(data.load(fromByteOffset: i, as: UInt8.self)) << (8 * UInt64(i)) }
        return v
    }

    /// Supplies the data of an MMIO read exit before the next KVM_RUN.
    public func completeMMIORead(_ value: UInt64) {
        let len = Int(min(rp.pointee.mmio.len, 8))
        // mmio.data is an 8-byte array inside the run page.
        Self.store(UnsafeMutableRawPointer(ckvm_run_mmio_data(rp)!), size: len, value: value)
    }

    /// Answers an RDMSR/WRMSR exit before the next KVM_RUN: the value a read
    /// returns, or `fault` to have KVM inject #GP(0) instead.
    public func completeMSR(value: UInt64, fault: Bool) {
        ckvm_run_msr_complete(rp, value, fault ? 1 : 0)
    }

    /// Queues exception `vector` (with `errorCode` when it has one) for
    /// delivery at the next KVM_RUN, through KVM_GET/SET_VCPU_EVENTS.
    public func injectException(vector: UInt8, errorCode: UInt32? = nil) throws {
        var ev = kvm_vcpu_events()
        guard ckvm_ioctl_ptr(fd, CKVM_GET_VCPU_EVENTS, &ev) == 0 else { throw KVMError("KVM_GET_VCPU_EVENTS", errno: ckvm_errno()) }
        // Without KVM_CAP_EXCEPTION_PAYLOAD, KVM ignores `pending` and takes
        // `injected`: the exception is delivered at the next entry.
        ev.exception.injected = 1
        ev.exception.pending = 0
        ev.exception.nr = vector
        ev.exception.has_error_code = errorCode == nil ? 0 : 1
        ev.exception.error_code = errorCode ?? 0
        ev.flags = 0
        guard ckvm_ioctl_ptr(fd, CKVM_SET_VCPU_EVENTS, &ev) == 0 else {
            throw KVMError("KVM_SET_VCPU_EVENTS", errno: ckvm_errno(), detail: "exception \(vector)")
        }
    }

    // MARK: registers

    /// General registers from the run page (requires `enableSyncRegs()`).
    public var syncedRegisters: GPRegisters {
        // The sync area is inside the run page and valid after KVM_RUN returned.
        RegisterConversion.regs(ckvm_run_sync_regs(rp)!.pointee)
    }

    /// Special registers from the run page (requires `enableSyncRegs()`).
    public var syncedSpecialRegisters: SpecialRegisters {
        RegisterConversion.sregs(ckvm_run_sync_sregs(rp)!.pointee)
    }

    /// CS from the run page (the code's width and base) without converting everything.
    public var syncedCodeSegment: SegmentRegister { RegisterConversion.segment(ckvm_run_sync_sregs(rp)!.pointee.cs) }

    /// CR3 and IDTR from the run page without converting everything.
    public var syncedCR3: UInt64 { ckvm_run_sync_sregs(rp)!.pointee.cr3 }
    public var syncedCR2: UInt64 { ckvm_run_sync_sregs(rp)!.pointee.cr2 }
    /// The registers that decide how a virtual address translates (CR0, CR3, CR4, EFER), from the run page.
    public var syncedPagingControl: (cr0: UInt64, cr3: UInt64, cr4: UInt64, efer: UInt64) {
        let s = ckvm_run_sync_sregs(rp)!.pointee
        return (s.cr0, s.cr3, s.cr4, s.efer)
    }
    public var syncedIDT: DescriptorTableRegister {
        let d = ckvm_run_sync_sregs(rp)!.pointee.idt
        return DescriptorTableRegister(base: d.base, limit: d.limit)
    }

    /// The general registers: from the run page when it is current (no
    /// system call), else KVM_GET_REGS. A vCPU switched to after it exited
    /// takes the first path; one whose registers were set since (an AP's
    /// start-up, a restore) the second.
    public func currentRegisters() throws -> GPRegisters {
        runPageCurrent ? syncedRegisters : try getRegisters()
    }

    /// KVM_GET_REGS
    public func getRegisters() throws -> GPRegisters {
        var r = kvm_regs()
        guard ckvm_ioctl_ptr(fd, CKVM_GET_REGS, &r) == 0 else { throw KVMError("KVM_GET_REGS", errno: ckvm_errno()) }
        return RegisterConversion.regs(r)
    }

    /// KVM_SET_REGS
    public func setRegisters(_ regs: GPRegisters) throws {
        var r = RegisterConversion.kvmRegs(regs)
        runPageCurrent = false
        guard ckvm_ioctl_ptr(fd, CKVM_SET_REGS, &r) == 0 else { throw KVMError("KVM_SET_REGS", errno: ckvm_errno()) }
    }

    /// KVM_GET_SREGS
    public func getSpecialRegisters() throws -> SpecialRegisters {
        var s = kvm_sregs()
        guard ckvm_ioctl_ptr(fd, CKVM_GET_SREGS, &s) == 0 else { throw KVMError("KVM_GET_SREGS", errno: ckvm_errno()) }
        return RegisterConversion.sregs(s)
    }

    /// KVM_SET_SREGS. Reads the current sregs first so that fields vmrr does
    /// not model (the interrupt bitmap) keep KVM's values.
    public func setSpecialRegisters(_ sregs: SpecialRegisters) throws {
        var s = kvm_sregs()
        guard ckvm_ioctl_ptr(fd, CKVM_GET_SREGS, &s) == 0 else { throw KVMError("KVM_GET_SREGS", errno: ckvm_errno()) }
        RegisterConversion.apply(sregs, to: &s)
        runPageCurrent = false
        guard ckvm_ioctl_ptr(fd, CKVM_SET_SREGS, &s) == 0 else { throw KVMError("KVM_SET_SREGS", errno: ckvm_errno()) }
    }

    // MARK: opaque state blobs (FPU/XSAVE, XCRs, events, debug registers, MP state)

    func getBlob(size: Int, _ request: UInt, _ name: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        let rc = bytes.withUnsafeMutableBytes { buf in
            // The buffer is exactly the size of the kernel struct for this request.
            ckvm_ioctl_ptr(fd, request, buf.baseAddress)
        }
        guard rc == 0 else { throw KVMError(name, errno: ckvm_errno()) }
        return bytes
    }

    func setBlob(size: Int, _ request: UInt, _ name: String, _ bytes: [UInt8]) throws {
        guard bytes.count == size else {
            throw KVMUnsupported("\(name): state blob is \(bytes.count) bytes, this host's struct is \(size)")
        }
        var copy = bytes
        let rc = copy.withUnsafeMutableBytes { buf in
            // The buffer is exactly the size of the kernel struct for this request.
            ckvm_ioctl_ptr(fd, request, buf.baseAddress)
        }
        guard rc == 0 else { throw KVMError(name, errno: ckvm_errno()) }
    }

    /// The blob names used in checkpoints (`VCPUState.blobs`), in restore order.
    public static let blobNames = ["xsave", "xcrs", "events", "debugregs", "mp_state"]

    public func getStateBlobs() throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        out["xsave"] = try getBlob(size: MemoryLayout<kvm_xsave>.size, CKVM_GET_XSAVE, "KVM_GET_XSAVE")
        out["xcrs"] = try getBlob(size: MemoryLayout<kvm_xcrs>.size, CKVM_GET_XCRS, "KVM_GET_XCRS")
        out["events"] = try getBlob(size: MemoryLayout<kvm_vcpu_events>.size, CKVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS")
        out["debugregs"] = try getBlob(size: MemoryLayout<kvm_debugregs>.size, CKVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS")
        out["mp_state"] = try getBlob(size: MemoryLayout<kvm_mp_state>.size, CKVM_GET_MP_STATE, "KVM_GET_MP_STATE")
        return out
    }

    public func setStateBlobs(_ blobs: [String: [UInt8]]) throws {
        runPageCurrent = false
        if let b = blobs["xsave"] { try setBlob(size: MemoryLayout<kvm_xsave>.size, CKVM_SET_XSAVE, "KVM_SET_XSAVE", b) }
        if let b = blobs["xcrs"] { try setBlob(size: MemoryLayout<kvm_xcrs>.size, CKVM_SET_XCRS, "KVM_SET_XCRS", b) }
        if let b = blobs["debugregs"] { try setBlob(size: MemoryLayout<kvm_debugregs>.size, CKVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS", b) }
        if let b = blobs["mp_state"] { try setBlob(size: MemoryLayout<kvm_mp_state>.size, CKVM_SET_MP_STATE, "KVM_SET_MP_STATE", b) }
        if let b = blobs["events"] { try setBlob(size: MemoryLayout<kvm_vcpu_events>.size, CKVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS", b) }
    }

    // MARK: MSRs

    /// KVM_GET_MSRS for each index; MSRs KVM refuses to read are left out.
    public func getMSRs(_ indices: [UInt32]) throws -> [MSREntry] {
        var out: [MSREntry] = []
        var pending = indices[...]
        while !pending.isEmpty {
            let batch = Array(pending)
            let (n, values) = try msrIoctl(CKVM_GET_MSRS, "KVM_GET_MSRS", batch.map { MSREntry(index: $0, value: 0) })
            for i in 0..<n { out.append(MSREntry(index: batch[i], value: values[i])) }
            // KVM stops at the first MSR it cannot read: skip it and go on.
            pending = pending.dropFirst(n + 1)
        }
        return out
    }

    /// KVM_SET_MSRS; returns how many were set (KVM stops at the first failure).
    @discardableResult
    public func setMSRs(_ entries: [MSREntry]) throws -> Int {
        try msrIoctl(CKVM_SET_MSRS, "KVM_SET_MSRS", entries).0
    }

    func msrIoctl(_ request: UInt, _ name: String, _ entries: [MSREntry]) throws -> (Int, [UInt64]) {
        try FlexibleArray.with(kvm_msrs.self, kvm_msr_entry.self, count: entries.count) { header, e in
            header.pointee.nmsrs = UInt32(entries.count)
            for (i, m) in entries.enumerated() { e[i].index = m.index; e[i].data = m.value }
            let n = ckvm_ioctl_ptr(fd, request, header)
            guard n >= 0 else { throw KVMError(name, errno: ckvm_errno()) }
            return (Int(n), (0..<entries.count).map { e[$0].data })
        }
    }

    // MARK: CPUID

    /// KVM_SET_CPUID2
    public func setCPUID(_ entries: [CPUIDEntry]) throws {
        try CPUIDBuffer.withBuffer(capacity: max(entries.count, 1)) { p in
            CPUIDBuffer.fill(p, entries)
            guard ckvm_ioctl_ptr(fd, CKVM_SET_CPUID2, p) == 0 else { throw KVMError("KVM_SET_CPUID2", errno: ckvm_errno()) }
        }
    }

    /// KVM_GET_CPUID2
    public func getCPUID() throws -> [CPUIDEntry] {
        try CPUIDBuffer.withBuffer(capacity: Int(CKVM_MAX_CPUID_ENTRIES)) { p in
            guard ckvm_ioctl_ptr(fd, CKVM_GET_CPUID2, p) == 0 else { throw KVMError("KVM_GET_CPUID2", errno: ckvm_errno()) }
            return CPUIDBuffer.entries(p)
        }
    }

    // MARK: debugging, interrupts, translation

    public struct GuestDebugFlags: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let enable = GuestDebugFlags(rawValue: CKVM_GUESTDBG_ENABLE)
        public static let singleStep = GuestDebugFlags(rawValue: CKVM_GUESTDBG_SINGLESTEP)
        public static let useHardwareBreakpoints = GuestDebugFlags(rawValue: CKVM_GUESTDBG_USE_HW_BP)
        /// #BP (int3) exits to user space as KVM_EXIT_DEBUG (exception 3) instead of reaching the guest.
        public static let useSoftwareBreakpoints = GuestDebugFlags(rawValue: CKVM_GUESTDBG_USE_SW_BP)
    }

    /// KVM_SET_GUEST_DEBUG with up to four execution breakpoints (DR0-DR3).
    public func setGuestDebug(_ flags: GuestDebugFlags, executionBreakpoints: [UInt64] = []) throws {
        var dbg = kvm_guest_debug()
        dbg.control = flags.rawValue
        let bps = Array(executionBreakpoints.prefix(4))
        var dr7: UInt64 = 0
        withUnsafeMutableBytes(of: &dbg.arch.debugreg) { buf in
            for (i, addr) in bps.enumerated() {
                buf.storeBytes(of: addr, toByteOffset: i * 8, as: UInt64.self)
                dr7 |= DebugRegister7.localEnable(i)   // RW=00 (execute), LEN=00
            }
            buf.storeBytes(of: dr7, toByteOffset: 7 * 8, as: UInt64.self)
        }
        guard ckvm_ioctl_ptr(fd, CKVM_SET_GUEST_DEBUG, &dbg) == 0 else {
            throw KVMError("KVM_SET_GUEST_DEBUG", errno: ckvm_errno())
        }
    }

    /// KVM_INTERRUPT (no in-kernel irqchip): queue an external interrupt.
    public func interrupt(vector: UInt8) throws {
        var irq = kvm_interrupt(irq: UInt32(vector))
        guard ckvm_ioctl_ptr(fd, CKVM_INTERRUPT, &irq) == 0 else {
            throw KVMError("KVM_INTERRUPT", errno: ckvm_errno(), detail: "vector \(vector)")
        }
    }

    /// KVM_NMI: queues an NMI, which KVM delivers at the next entry unless
    /// NMIs are blocked (in an NMI handler until IRET). Well defined without
    /// an in-kernel irqchip, as vmrr runs.
    public func nmi() throws {
        guard ckvm_ioctl_val(fd, CKVM_NMI, 0) == 0 else { throw KVMError("KVM_NMI", errno: ckvm_errno()) }
    }

    /// KVM_TRANSLATE: the guest-physical address of a guest-virtual one under
    /// the vCPU's current paging state, or nil when it is not mapped.
    public func translate(_ gva: UInt64) throws -> UInt64? {
        var t = kvm_translation()
        t.linear_address = gva
        guard ckvm_ioctl_ptr(fd, CKVM_TRANSLATE, &t) == 0 else { throw KVMError("KVM_TRANSLATE", errno: ckvm_errno()) }
        return t.valid != 0 ? t.physical_address : nil
    }
}

/// DR7 bit helpers.
public enum DebugRegister7 {
    /// L0..L3: local enable of breakpoint i (bits 0, 2, 4, 6).
    public static func localEnable(_ i: Int) -> UInt64 { 1 << UInt64(2 * i) }
}
