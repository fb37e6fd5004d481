import Glibc
import VMRRBase
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRKVM
import VMRRMMU
import VMRRReplay

/// A KVM virtual machine with vmrr's memory map: RAM slots with dirty
/// logging, nothing else (every device access exits to userspace), and one
/// or more vCPUs of which exactly one runs at a time (docs/SMP.md).
public final class Machine: MachineStateSource, CheckpointPageSource {
    public let kvm: KVMSystem
    public let vm: VirtualMachine
    /// Every vCPU; index k has APIC ID k, and 0 is the BSP.
    public let vcpus: [VCPU]
    /// The vCPU that runs next (`select`).
    public private(set) var current = 0
    /// The running vCPU: every vCPU operation of the run loop goes to it.
    public var vcpu: VCPU { vcpus[current] }
    /// Per vCPU that is not running: the registers KVM gives it when it
    /// completes the plain IN it was left with at a switch (KVM does so at
    /// its next KVM_RUN; `PortReadCompletion`), or nil. Every access to such
    /// a vCPU's state completes the read first (`settle`).
    private var deferredReads: [GPRegisters?]
    public let ram: GuestRAM
    public let memorySize: UInt64
    /// The CPUID table given to KVM_SET_CPUID2 and the one KVM_GET_CPUID2 returned.
    public let cpuidSet: [CPUIDEntry]
    public let cpuidEffective: [CPUIDEntry]
    /// What `cpuidEffective` says about paging, read once.
    public let cpuidFacts: CPUIDFacts
    /// MSRs saved in checkpoints.
    public let msrIndices: [UInt32]
    /// Where the XSAVE area holds each extended component (for `XSaveArea.normalize`).
    let xsaveComponents: [XSaveArea.Component]
    /// The XSTATE_BV bits KVM_SET_XSAVE accepts for this guest (nil: no leaf 0xD).
    let xsavePermitted: UInt64?
    var dirtyBitmaps: [[UInt64]]
    /// The pages dirtied since the last clean mark (a checkpoint event, the
    /// boot, a restore), whoever read the dirty log: the set a `preempt`
    /// record's digest covers (docs/SMP.md).
    public internal(set) var dirtySinceMark = Set<UInt64>()
    /// Pages `markClean` or `preemptionDigest` read from KVM that no
    /// `dirtyPages()` caller (checkpoints, the debugger's snapshots) has had yet.
    var unconsumed = Set<UInt64>()

    /// MSRs that KVM lists but refuses to restore on this host (docs/HOST.md).
    static let msrsNotRestored: Set<UInt32> = [0x4b56_4d06]  // MSR_KVM_ASYNC_PF_INT
    /// MSRs left out of checkpoints: IA32_TSC (0x10) follows the host's TSC,
    /// differs between otherwise identical recordings, and cannot be set on
    /// this kind of host anyway.
    static let msrsNotCheckpointed: Set<UInt32> = [0x10]

    /// Whether MSR accesses KVM refuses, and those vmrr models
    /// (`PCPlatform.filteredMSRs`), exit to userspace (journal format 2 on).
    public let userspaceMSRs: Bool

    /// Creates the VM. `cpuid` is the table to set (from a journal), or nil
    /// to take KVM's supported set normalized (`GuestCPUID.normalize`). `userspaceMSRs` is false only to replay
    /// a format-1 journal, recorded before MSR exits existed.
    /// With `vcpuCount` above 1 the APs get the BSP's table normalized to their APIC IDs.
    public init(memorySize: UInt64, cpuid: [CPUIDEntry]? = nil, userspaceMSRs: Bool = true, vcpuCount: Int = 1) throws {
        let kvm = try KVMSystem()
        self.kvm = kvm
        self.memorySize = memorySize
        vm = try kvm.createVM()
        self.userspaceMSRs = userspaceMSRs
        if userspaceMSRs {
            try vm.enableUserSpaceMSRExits([.invalid, .unknown, .filter])
            try vm.setMSRFilter(denied: PCPlatform.filteredMSRs)
        }
        let ranges = Layout.ramRanges(memorySize: memorySize)
        ram = try GuestRAM(ranges: ranges)
        for (i, r) in ranges.enumerated() {
            try vm.setUserMemoryRegion(slot: UInt32(i), guestPhysical: r.lowerBound, size: UInt64(r.count),
                                       hostAddress: ram.hostAddress(ofRange: i), flags: [.logDirtyPages])
        }
        dirtyBitmaps = ranges.map { _ in [] }
        let bsp = try vm.createVCPU()
        let table = try cpuid ?? GuestCPUID.normalize(kvm.supportedCPUID())
        try bsp.setCPUID(table)
        cpuidSet = table
        cpuidEffective = try bsp.getCPUID()
        cpuidFacts = CPUIDFacts(cpuidEffective)
        xsaveComponents = XSaveArea.components(cpuid: cpuidEffective)
        xsavePermitted = XSaveArea.permittedFeatures(cpuid: cpuidEffective)
        msrIndices = try kvm.msrIndexList().filter { !Self.msrsNotCheckpointed.contains($0) }
        bsp.enableSyncRegs()
        var all = [bsp]
        for k in 1..<max(1, vcpuCount) {
            let ap = try vm.createVCPU(id: UInt32(k))
            try ap.setCPUID(GuestCPUID.normalize(table, vcpuID: UInt32(k), processors: UInt32(vcpuCount)))
            ap.enableSyncRegs()
            all.append(ap)
        }
        vcpus = all
        deferredReads = Array(repeating: nil, count: all.count)
    }

    public var vcpuCount: Int { vcpus.count }
    public var runningVCPU: Int { current }

    /// Makes vCPU `k` the running one.
    public func select(_ k: Int) {
        precondition(k >= 0 && k < vcpus.count, "vCPU \(k) of \(vcpus.count)")
        current = k
    }

    /// Leaves the running vCPU's plain IN for KVM to complete at its next
    /// KVM_RUN; `registersAfter` are the registers that gives
    /// (`PortReadCompletion`). Call just before selecting another vCPU.
    public func deferPendingRead(registersAfter: GPRegisters) { deferredReads[current] = registersAfter }

    /// The running vCPU's deferred read, handed back to the run loop: KVM
    /// still has it pending, and these are the registers it will give.
    public func takeDeferredRead() -> GPRegisters? {
        defer { deferredReads[current] = nil }
        return deferredReads[current]
    }

    /// Completes vCPU `k`'s deferred read now (KVM_RUN with immediate_exit,
    /// no guest code), so that its state can be read or written, and checks
    /// that KVM gave the registers vmrr computed: a difference would make
    /// a recording's `switch` registers wrong, so it stops the run.
    func settle(_ k: Int) throws {
        guard let expected = deferredReads[k] else { return }
        deferredReads[k] = nil
        try refreshRunPage(vcpus[k])
        try Self.check(deferredRead: expected, completed: vcpus[k].syncedRegisters, vcpu: k)
    }

    /// Stops the run when KVM completed a deferred IN to registers other
    /// than the ones vmrr computed and journaled.
    static func check(deferredRead expected: GPRegisters, completed got: GPRegisters, vcpu k: Int) throws {
        guard got != expected else { return }
        throw KVMUnsupported("vCPU \(k): KVM completed the IN deferred at a switch to rip \(hex(got.rip)), "
                             + "rax \(hex(got.rax)), not rip \(hex(expected.rip)), rax \(hex(expected.rax)) as vmrr "
                             + "computed (docs/SMP.md, \"A switch makes no system call\")")
    }

    /// vCPU `k`'s registers, its deferred read completed first.
    public func registers(vcpu k: Int) throws -> GPRegisters {
        try settle(k)
        return try vcpus[k].getRegisters()
    }

    /// Starts AP `k` as a SIPI with `vector` does (SDM vol. 3, 9.4.4.1 and
    /// table 10-1): the state INIT leaves (`RealModeEntry`: real mode, paging
    /// off, EFER 0, general registers 0), then CS = vector << 8 (base
    /// vector << 12), IP = 0. So an AP that has run, then been sent INIT,
    /// starts again in real mode, not where it stopped. EDX holds the
    /// signature KVM gives every vCPU it creates (`RealModeEntry.apSignature`).
    public func startAP(_ k: Int, vector: UInt8) throws {
        try settle(k)
        let ap = vcpus[k]
        var regs = try ap.enterRealMode(segment: UInt16(vector) << 8, offset: 0, dataSegment: 0)
        regs.rdx = RealModeEntry.apSignature
        try ap.setRegisters(regs)
    }

    /// Writes a boot plan into fresh RAM and sets the entry registers.
    public func load(_ plan: BootPlan) throws {
        for z in plan.zeroFills {
            guard ram.zero(z.lowerBound, count: z.upperBound - z.lowerBound) else {
                throw KVMUnsupported("boot zero fill of \(z.count) bytes at \(hex(z.lowerBound)) lies outside RAM")
            }
        }
        for w in plan.writes {
            guard ram.write(w.gpa, w.bytes) else {
                throw KVMUnsupported("boot write of \(w.bytes.count) bytes at \(hex(w.gpa)) lies outside RAM")
            }
        }
        try vcpu.setSpecialRegisters(plan.sregs)
        try vcpu.setRegisters(plan.regs)
        clearDirtyLog()
    }

    // MARK: state

    /// The complete vCPU state. Call only at a clean boundary (no pending IN
    /// or MMIO read: see `completePendingIO()`). The XSAVE area's header is
    /// normalized, so that equal register contents give equal bytes.
    public func captureState() throws -> VCPUState { try captureState(vcpu: current) }

    /// vCPU `k`'s complete state (`captureState()`): a vCPU that is not
    /// running has its deferred read completed first (`settle`).
    public func captureState(vcpu k: Int) throws -> VCPUState {
        try settle(k)
        let vcpu = vcpus[k]
        var state = VCPUState(regs: try vcpu.getRegisters(), sregs: try vcpu.getSpecialRegisters(),
                              msrs: try vcpu.getMSRs(msrIndices), blobs: try vcpu.getStateBlobs())
        if let xsave = state.blobs[Self.xsaveBlob] {
            state.blobs[Self.xsaveBlob] = XSaveArea.normalize(xsave, components: xsaveComponents)
        }
        return state
    }

    /// The name of the XSAVE area among `VCPU.blobNames`.
    static let xsaveBlob = "xsave"

    /// Restores a vCPU state captured by `captureState()` into the running vCPU.
    public func restoreState(_ s: VCPUState) throws { try restoreState(s, vcpu: current) }

    /// Every vCPU's state, the running one's first restored last (so that
    /// callers reading the run page see it), and selects `running`.
    public func restoreStates(_ states: [VCPUState], running: Int) throws {
        precondition(states.count == vcpus.count && running < vcpus.count, "\(states.count) states for \(vcpus.count) vCPUs")
        for k in states.indices where k != running {
            try restoreState(states[k], vcpu: k)
            // Its run page still says what it said before the restore (nothing, in a new
            // machine): KVM_RUN with immediate_exit fills it from the restored state, as its
            // last exit did when recording. Injecting into it at its next switch reads the
            // page's ready_for_interrupt_injection (docs/SMP.md, "Journal format version 3").
            try refreshRunPage(vcpus[k])
        }
        select(running)
        try restoreState(states[running], vcpu: running)
    }

    /// Restores a vCPU state captured by `captureState(vcpu:)` into vCPU `k`.
    public func restoreState(_ s: VCPUState, vcpu k: Int) throws {
        // KVM would complete a pending read over the restored state.
        try settle(k)
        let vcpu = vcpus[k]
        try vcpu.setSpecialRegisters(s.sregs)
        try vcpu.setRegisters(s.regs)
        let msrs = s.msrs.filter { !Self.msrsNotRestored.contains($0.index) }
        var rest = msrs[...]
        while !rest.isEmpty {
            let n = try vcpu.setMSRs(Array(rest))
            rest = rest.dropFirst(n + 1)   // skip one KVM refuses and go on
        }
        var blobs = s.blobs
        if let xsave = blobs[Self.xsaveBlob], let permitted = xsavePermitted {
            blobs[Self.xsaveBlob] = XSaveArea.restorable(xsave, permitted: permitted)
        }
        try vcpu.setStateBlobs(blobs)
    }

    /// Lets KVM finish an IN or MMIO read it is waiting to complete, without
    /// running guest code (KVM_RUN with immediate_exit).
    public func completePendingIO() throws { try refreshRunPage(vcpu) }

    /// KVM_RUN with immediate_exit: completes a pending read and fills the
    /// run page (registers, interrupt readiness) without running guest code.
    func refreshRunPage(_ v: VCPU) throws {
        v.immediateExit = true
        defer { v.immediateExit = false }
        _ = try v.run()
    }

    // MARK: memory

    /// Forgets the pages dirtied so far, and makes this a clean mark.
    public func clearDirtyLog() {
        _ = try? readDirtyLog()
        unconsumed.removeAll(keepingCapacity: true)
        dirtySinceMark.removeAll(keepingCapacity: true)
    }

    /// A clean mark at a checkpoint event: recording and replay both make
    /// one there, so the preemption digests cover the same pages. The pages
    /// read here are still handed to the next `dirtyPages()` caller.
    public func markClean() throws {
        unconsumed.formUnion(try readDirtyLog())
        dirtySinceMark.removeAll(keepingCapacity: true)
    }

    /// Puts back the set of a snapshot taken between marks (the debugger's).
    public func restoreDirtyMark(_ pages: Set<UInt64>) { dirtySinceMark = pages }

    /// The `preempt` record's digest: the pages dirtied since the last clean
    /// mark, with their contents, in address order (`MemoryDigest.dirtyPages`).
    public func preemptionDigest() throws -> UInt64 {
        unconsumed.formUnion(try readDirtyLog())
        return MemoryDigest.dirtyPages(pages(dirtySinceMark.sorted()))
    }

    /// Guest-physical addresses of the pages written since the previous call,
    /// in ascending order (whatever `markClean` or `preemptionDigest` read
    /// from KVM in between included).
    public func dirtyPages() throws -> [UInt64] {
        let fresh = try readDirtyLog()
        guard !unconsumed.isEmpty else { return fresh }
        unconsumed.formUnion(fresh)
        defer { unconsumed.removeAll(keepingCapacity: true) }
        return unconsumed.sorted()
    }

    /// KVM_GET_DIRTY_LOG over every slot (which clears it): the pages in
    /// ascending order. They join the mark's set.
    private func readDirtyLog() throws -> [UInt64] {
        var out: [UInt64] = []
        for (i, r) in ram.ranges.enumerated() {
            let pages = Int(UInt64(r.count) / Layout.pageSize)
            try vm.dirtyLog(slot: UInt32(i), pages: pages, into: &dirtyBitmaps[i])
            for (w, word) in dirtyBitmaps[i].enumerated() where word != 0 {
                var bits = word
                while bits != 0 {
                    let b = bits.trailingZeroBitCount
                    bits &= bits - 1
                    out.append(r.lowerBound + UInt64(w * 64 + b) * Layout.pageSize)
                }
            }
        }
        dirtySinceMark.formUnion(out)
        return out
    }

    public func dirtyPageRecords() throws -> [PageRecord] { pages(try dirtyPages()) }

    /// The page at `gpa`, in place in guest RAM (a checkpoint's pages are encoded from here).
    public func withPage<R>(at gpa: UInt64, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        try ram.withBytes(gpa, count: Int(Layout.pageSize), body)
    }

    /// The contents of the given pages.
    public func pages(_ gpas: [UInt64]) -> [PageRecord] {
        gpas.compactMap { gpa in ram.read(gpa, count: Int(Layout.pageSize)).map { PageRecord(gpa: gpa, bytes: $0) } }
    }

    /// Every page of RAM that is not all zero.
    public func nonZeroPages() -> [PageRecord] {
        var out: [PageRecord] = []
        for r in ram.ranges {
            var gpa = r.lowerBound
            while gpa < r.upperBound {
                let nonZero = ram.withBytes(gpa, count: Int(Layout.pageSize)) { buf -> Bool in
                    let words = buf.bindMemory(to: UInt64.self)
                    return words.contains { $0 != 0 }
                } ?? false
                if nonZero, let bytes = ram.read(gpa, count: Int(Layout.pageSize)) { out.append(PageRecord(gpa: gpa, bytes: bytes)) }
                gpa += Layout.pageSize
            }
        }
        return out
    }

    /// Writes checkpoint pages back into RAM.
    public func restorePages(_ pages: [PageRecord]) throws {
        for p in pages {
            guard p.bytes.count == Int(Layout.pageSize), ram.write(p.gpa, p.bytes) else {
                throw KVMUnsupported("checkpoint page at guest-physical \(hex(p.gpa)) lies outside this machine's RAM")
            }
        }
    }

    /// Zeroes checkpoint zero runs in RAM, each as one range (never page by page).
    public func zeroPages(_ runs: [ZeroRun]) throws {
        for run in runs {
            let r = run.bytes
            guard r.upperBound - r.lowerBound == run.count &* Layout.pageSize, ram.zero(run.gpa, count: r.upperBound - r.lowerBound) else {
                throw KVMUnsupported("checkpoint zero run of \(run.count) pages at guest-physical \(hex(run.gpa)) lies outside this machine's RAM")
            }
        }
    }

    /// vmrr's memory digest: FNV-1a over the little-endian 64-bit words of all
    /// RAM ranges in address order (docs/JOURNAL.md).
    public func memoryDigest() -> UInt64 {
        var h = MemoryDigest.offsetBasis
        for r in ram.ranges {
            _ = ram.withBytes(r.lowerBound, count: r.count) { buf in
                h = MemoryDigest.update(h, buf)
            }
        }
        return h
    }
}

/// FNV-1a over 64-bit little-endian words.
public enum MemoryDigest {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x100_0000_01b3
    public static func update(_ hash: UInt64, _ buf: UnsafeRawBufferPointer) -> UInt64 {
        var h = hash
        let words = buf.count / 8
        for i in 0..<words {
            h = (h ^ buf.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian) &* prime
        }
        return h
    }

    /// The digest of a `preempt` record: FNV-1a over each page's
    /// guest-physical address, then its contents, pages in the order given
    /// (ascending addresses, as `Machine.preemptionDigest` passes them).
    public static func dirtyPages(_ pages: [PageRecord]) -> UInt64 {
        var h = offsetBasis
        for p in pages {
            h = (h ^ p.gpa) &* prime
            h = p.bytes.withUnsafeBytes { update(h, $0) }
        }
        return h
    }
}
