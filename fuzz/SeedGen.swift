// Writes the synthetic seeds of fuzz/corpus: small journals and a bundle that
// reach every event kind, both layout paths (index tail and scan), zero-page
// runs, digests and unfinished files. Compiled into the VMRRJournal module by
// make-corpus.sh, so it may use the codec's internals.
#if canImport(Glibc)
import Glibc
#endif

@main struct SeedGen {
    static func regs(_ i: Int) -> GPRegisters {
        var r = GPRegisters()
        r.rip = 0x10_0000 + UInt64(i % 7) * 11
        r.rflags = 0x202
        r.rax = UInt64(i) * 3
        r.rdx = 0x3f8
        r.rsp = 0x7_f000
        if i % 5 == 0 { r.r15 = UInt64(i) << 40 }
        return r
    }

    static let everyKind: [Event] = [
        .io(port: 0x3fd, size: 1, direction: .read, value: 0x60),
        .io(port: 0x3f8, size: 1, direction: .write, value: 0x48),
        .io(port: 0x3fd, size: 1, direction: .read, value: 0x60),
        .io(port: 0xcf8, size: 4, direction: .write, value: 0x8000_0000),
        .mmio(gpa: 0xfee0_0000, size: 4, direction: .read, value: 0xffff_ffff),
        .mmio(gpa: 0xfee0_0000, size: 8, direction: .write, value: 0x1234_5678_9abc_def0),
        .hlt,
        .interrupt(vector: 0x20),
        .pageFault(gva: 0x40_1000, errorCode: 2, cr3: 0x1000, faultingRIP: 0x10_0007),
        .pageFault(gva: 0x40_2000, errorCode: 6, cr3: 0x1000, faultingRIP: 0x10_0016),
        .stage2Fault(gpa: 0x1_0000_0000, size: 8, direction: .read, value: UInt64.max),
        .stage2Fault(gpa: 0x1_0000_0000, size: 1, direction: .write, value: 0),
        .clock(ns: 1_000_000),
        .clock(ns: 999_000),
        .timer(deadline: 2_000_000),
        .timer(deadline: 0),
        .input(port: 0x3f8, byte: 0x41),
        .error(reason: 17, suberror: 1, data: [0x0f, 0x0b]),
        // Format 2 and later (the kinds FrontEndCheck can replay without a machine).
        .msr(index: 0x1b, direction: .read, value: 0xfee0_0900, fault: false),
        .assist(action: .breakpoint, length: 1),
        .nmi,
        .warmReset(segment: 0, offset: 0x7000),
        .shutdown,
    ]

    static func checkpoint(_ id: UInt32, _ eventIndex: UInt64, digest: UInt64?) -> Checkpoint {
        var s = VCPUState()
        s.regs = regs(Int(eventIndex))
        s.sregs.cs = SegmentRegister(base: 0, limit: 0xffff_ffff, selector: 8, type: 11, present: true, dpl: 0, db: false, s: true, l: true, g: true)
        s.sregs.cr0 = 0x8005_0033; s.sregs.cr4 = 0x620; s.sregs.efer = 0xd01; s.sregs.cr3 = 0x9000
        s.msrs = [MSREntry(index: 0xc000_0080, value: 0xd01)]
        s.blobs = ["xcrs": [1, 0, 0, 0, 7, 0, 0, 0], "events": [0, 1, 2, 3]]
        var page = [UInt8](repeating: 0, count: 4096)
        for k in stride(from: 0, to: 4096, by: 97) { page[k] = UInt8(truncatingIfNeeded: k | 1) }
        let zero = [UInt8](repeating: 0, count: 4096)
        let pages = [PageRecord(gpa: 0x1000, bytes: page), PageRecord(gpa: 0x2000, bytes: zero),
                     PageRecord(gpa: 0x3000, bytes: zero), PageRecord(gpa: 0x0, bytes: page)]
        return Checkpoint(id: id, eventIndex: eventIndex, full: id == 0, state: s, pages: pages,
                          deviceState: [1, 2, 3, 4], memoryDigest: digest)
    }

    static func header() -> JournalHeader {
        var h = JournalHeader()
        h.imageSHA256 = [UInt8](repeating: 0xab, count: 32)
        h.imagePath = "/guests/seed.elf"
        h.memorySize = 4 << 20
        h.clock = .virtual
        h.checkpointInterval = 20
        h.cpuidSet = [CPUIDEntry(function: 0, index: 0, flags: 0, eax: 0xd, ebx: 1, ecx: 2, edx: 3)]
        h.vmrrVersion = "0.1.0"
        return h
    }

    /// Writes a journal; returns its bytes.
    static func journal(_ path: String, _ events: [Event], checkpointsAfter: [Int: Checkpoint] = [:],
                        finish: Bool = true, end: Event? = .end(reason: .debugExit, status: 0)) throws -> [UInt8] {
        let w = try JournalWriter(path: path, header: header())
        for (i, e) in events.enumerated() {
            try w.append(e, regs: regs(i))
            if let c = checkpointsAfter[i] {
                let idx = try w.append(.checkpoint(id: c.id), regs: c.state.regs)
                var c2 = c; c2.eventIndex = idx
                try w.appendCheckpoint(c2)
            }
        }
        if let end { try w.append(end, regs: regs(events.count)) }
        if finish { try w.finish() } else { try w.flush() }
        return try FileIO.read(path)
    }

    static func main() throws {
        let dir = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "fuzz/corpus"
        let kinds = everyKind.filter { if case .shutdown = $0 { return false } else { return true } }
        _ = try journal("\(dir)/seed-every-kind.vmrr", kinds)
        _ = try journal("\(dir)/seed-every-kind-unfinished.vmrr", kinds, finish: false)
        _ = try journal("\(dir)/seed-shutdown.vmrr", [.io(port: 0x80, size: 1, direction: .write, value: 1), .shutdown],
                        end: .end(reason: .shutdown, status: 130))
        _ = try journal("\(dir)/seed-no-end.vmrr", Array(kinds.prefix(6)), end: nil)
        let withCheckpoints = try journal("\(dir)/seed-checkpoints.vmrr", kinds + kinds,
                                          checkpointsAfter: [0: checkpoint(0, 0, digest: 0x1234), 20: checkpoint(1, 0, digest: nil)])
        _ = try journal("\(dir)/seed-checkpoints-unfinished.vmrr", kinds,
                        checkpointsAfter: [3: checkpoint(0, 0, digest: nil)], finish: false)
        _ = try journal("\(dir)/seed-empty.vmrr", [], end: nil)
        let image = Array("\u{7f}ELF seed image, not a real one".utf8)
        let manifest = VMRRBundle.makeManifest(header: header(), journal: withCheckpoints, image: image,
                                              journalName: "seed-checkpoints.vmrr", vmrrVersion: "0.1.0")
        let bundle = VMRRBundle(manifest: manifest, journal: withCheckpoints, image: image).encode()
        let fd = open("\(dir)/seed-checkpoints.vmrrpack", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { fatalError("cannot write the bundle seed") }
        // bundle is a live array for the whole call.
        _ = bundle.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        print("wrote seeds to \(dir)")
    }
}
