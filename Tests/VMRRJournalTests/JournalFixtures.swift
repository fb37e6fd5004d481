import Foundation
@testable import VMRRJournal
import VMRRTestSupport
import VMRRBase


/// Journal fixtures for the format tests: a full header, one event of every
/// kind, checkpoints with every field set, and a writer that drifts registers.
extension Fixtures {
    /// A fresh path in the temporary directory.
    static func tempPath(_ tag: String = "j") -> String {
        NSTemporaryDirectory() + "vmrr-journal-test-\(tag)-\(UUID().uuidString).vmrr"
    }

    static func header() -> JournalHeader {
        var h = JournalHeader()
        h.imageSHA256 = (0..<32).map { UInt8($0 &* 7 &+ 3) }
        h.imagePath = "/guests/hello.elf"
        h.memorySize = 64 << 20
        h.vcpuCount = 1
        h.clock = .virtual
        h.bootProtocol = .multiboot
        h.strict = true
        h.checkpointInterval = 5000
        h.guestCommandLine = "console=ttyS0 \"quoted\" ünïcode"
        h.cpuidSet = [CPUIDEntry(function: 0, index: 0, flags: 0, eax: 0xd, ebx: 0x756e_6547, ecx: 0x6c65_746e, edx: 0x4965_6e69),
                      CPUIDEntry(function: 7, index: 0, flags: 1, eax: 0, ebx: 0x29c_67af, ecx: 0, edx: 0)]
        h.cpuidEffective = [CPUIDEntry(function: 1, index: 0, flags: 0, eax: 0x906ea, ebx: 0x800, ecx: 0xf7fa_3223, edx: 0x78bf_bff)]
        h.hostKernel = "Linux 6.1.0-18-amd64 #1 SMP x86_64"
        h.hostCPU = "Intel(R) Xeon(R) CPU"
        h.hostMMU = .paravirtual
        h.hostMMUDetail = "kvm_pvm tdp_mmu=N"
        h.recordedAt = 1_795_000_000
        h.commandLine = "vmrr record -o trace.vmrr hello.elf"
        h.vmrrVersion = "0.1.0"
        return h
    }

    static func regs(_ seed: UInt64) -> GPRegisters {
        var g = SplitMix64(seed: seed)
        var r = GPRegisters()
        for i in 0..<GPRegisters.count { r[i] = g.next() >> (g.next() % 64) }
        return r
    }

    /// One of every event kind, with edge values.
    static let everyKind: [Event] = [
        .io(port: 0x3f8, size: 1, direction: .write, value: 0x48),
        .io(port: 0x3fd, size: 1, direction: .read, value: 0x60),
        .io(port: 0xcf8, size: 4, direction: .write, value: 0x8000_0000),
        .io(port: 0x0, size: 2, direction: .read, value: 0xffff),
        .mmio(gpa: 0xfee0_0000, size: 4, direction: .read, value: 0xffff_ffff),
        .mmio(gpa: 0xfee0_0000, size: 8, direction: .write, value: 0x1234_5678_9abc_def0),
        .hlt,
        .shutdown,
        .pageFault(gva: 0xffff_8000_0000_1000, errorCode: 2, cr3: 0x1000, faultingRIP: 0x40_1000),
        .pageFault(gva: 0x7fff_ffff_f000, errorCode: 0x15, cr3: 0x1000, faultingRIP: 0x40_2000),
        .stage2Fault(gpa: 0x1_0000_0000, size: 1, direction: .write, value: 0),
        .stage2Fault(gpa: 0xffff_ffff_ffff_fff8, size: 8, direction: .read, value: UInt64.max),
        .clock(ns: 1_000_000),
        .clock(ns: 999_000),  // backwards
        .clock(ns: UInt64.max),
        .timer(deadline: 0),
        .timer(deadline: 5),
        .timer(deadline: UInt64.max),
        .interrupt(vector: 0x20),
        .input(port: 0x3f8, byte: 0x41),
        .input(port: 0x2f8, byte: 0xff),
        .checkpoint(id: 0),
        .checkpoint(id: UInt32.max),
        .error(reason: 17, suberror: 1, data: [0x0f, 0x0b, 0xcc]),
        .error(reason: UInt32.max, suberror: 0, data: []),
        .end(reason: .debugExit, status: 0),
        .end(reason: .interrupted, status: Int32.min),
        .end(reason: .strict, status: Int32.max),
        // Format version 2.
        .msr(index: 0x1b, direction: .read, value: 0xfee0_0900, fault: false),
        .msr(index: 0x802, direction: .read, value: 0, fault: true),
        .msr(index: 0x800 + 0x3f, direction: .write, value: 0x40, fault: false),
        .msr(index: UInt32.max, direction: .write, value: UInt64.max, fault: true),
        .assist(action: .breakpoint, length: 1),
        .assist(action: .skip, length: 1),
        .assist(action: .clearAC, length: 3),
        .assist(action: .setAC, length: 3),
        // Added to format version 2 later (not in the golden v2 journal).
        .nmi,
        .warmReset(segment: 0, offset: 0x7000),
        .warmReset(segment: UInt16.max, offset: UInt16.max),
        .preempt(digest: 0),
        .preempt(digest: 0x8000_0000_dead_beef),
    ]

    /// A page with some non-zero bytes.
    static func page(_ seed: UInt64) -> [UInt8] {
        var g = SplitMix64(seed: seed)
        var p = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<64 { p[Int(g.next() % 4096)] = UInt8(truncatingIfNeeded: g.next() | 1) }
        return p
    }

    static func checkpoint(id: UInt32, eventIndex: UInt64, full: Bool = false, digest: UInt64? = 0xfeed_beef) -> Checkpoint {
        var s = VCPUState()
        s.regs = regs(UInt64(id) + 100)
        s.sregs.cs = SegmentRegister(base: 0, limit: 0xffff_ffff, selector: 8, type: 11, present: true, dpl: 0, db: false, s: true, l: true, g: true)
        s.sregs.ds = SegmentRegister(base: 0x1000, limit: 0xfffff, selector: 0x10, type: 3, present: true, dpl: 3, db: true, s: true, l: false, g: true, avl: true)
        s.sregs.tr = SegmentRegister(base: 0xffff_8000_0000_0000, limit: 0x67, selector: 0x28, type: 11, present: true, dpl: 0, db: false, s: false, l: false, g: false)
        s.sregs.ldt.unusable = true
        s.sregs.gdt = DescriptorTableRegister(base: 0x500, limit: 0x37)
        s.sregs.idt = DescriptorTableRegister(base: 0x600, limit: 0xfff)
        s.sregs.cr0 = 0x8005_0033; s.sregs.cr3 = 0x9000; s.sregs.cr4 = 0x620; s.sregs.efer = 0xd01
        s.sregs.cr2 = 0xdead_b000; s.sregs.cr8 = 2; s.sregs.apicBase = 0xfee0_0900
        s.msrs = [MSREntry(index: 0xc000_0080, value: 0xd01), MSREntry(index: 0x4b56_4d01, value: UInt64.max)]
        s.blobs = ["xsave": [UInt8](repeating: 0xab, count: 4096), "xcrs": [1, 2, 3], "empty": []]
        let pages = [
            PageRecord(gpa: 0x1000, bytes: page(1)),
            PageRecord(gpa: 0x2000, bytes: [UInt8](repeating: 0, count: 4096)),
            PageRecord(gpa: 0x3000, bytes: [UInt8](repeating: 0, count: 4096)),
            PageRecord(gpa: 0x4000, bytes: [UInt8](repeating: 0, count: 4096)),
            PageRecord(gpa: 0x0, bytes: page(2)),
            PageRecord(gpa: 0x3ff_f000, bytes: [UInt8](repeating: 0, count: 4096)),
            PageRecord(gpa: 0x10_0000, bytes: page(3)),
        ]
        return Checkpoint(id: id, eventIndex: eventIndex, full: full, state: s, pages: pages,
                          deviceState: [9, 8, 7, 6], memoryDigest: digest)
    }

    /// Writes `events` (with registers that drift), inserting checkpoints at the
    /// given event indices. Returns the records written and the file's bytes.
    @discardableResult
    static func write(path: String, events: [Event], checkpointsAt: [UInt64: Checkpoint] = [:],
                      flushEvery: Int? = nil, finish: Bool = true) throws -> [EventRecord] {
        let w = try JournalWriter(path: path, header: header())
        var out: [EventRecord] = []
        var r = GPRegisters()
        r.rip = 0x10_0000
        for (i, e) in events.enumerated() {
            r.rip &+= UInt64(i % 3) * 7
            r.rax = UInt64(i * 13)
            if i % 5 == 0 { r.rsp &-= 8 }
            if i % 17 == 0 { r.r15 = UInt64.max - UInt64(i) }
            let idx = try w.append(e, regs: r)
            out.append(EventRecord(index: idx, regs: r, event: e))
            if let c = checkpointsAt[idx] { try w.appendCheckpoint(c) }
            if let n = flushEvery, (i + 1) % n == 0 { try w.flush() }
        }
        if finish { try w.finish() } else { try w.flush() }
        return out
    }

    static func read(_ path: String) throws -> [UInt8] {
        try FileIO.read(path)
    }

    /// Reads everything a reader offers (all events and checkpoints), so that
    /// lazily checked corruption surfaces.
    static func readAll(_ r: JournalReader) throws -> ([EventRecord], [Checkpoint]) {
        let events = try r.events()
        let cps = try r.checkpoints.map { try r.checkpoint(id: $0.id) }
        return (events, cps)
    }
}
