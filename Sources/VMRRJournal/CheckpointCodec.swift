import VMRRBase
/// Checkpoint chunk payloads, encoder and decoder side by side.
/// Layout in docs/JOURNAL.md, "Checkpoint chunks".

struct CheckpointFlags: OptionSet {
    let rawValue: UInt8
    /// `Checkpoint.full`.
    static let full = CheckpointFlags(rawValue: 1 << 0)
    /// A u64 memory digest follows the flags.
    static let hasDigest = CheckpointFlags(rawValue: 1 << 1)
    /// Every vCPU's state follows the device state (`Checkpoint.allVCPUs`; format 3 only).
    static let allVCPUs = CheckpointFlags(rawValue: 1 << 2)
    static let all: CheckpointFlags = [.full, .hasDigest, .allVCPUs]
}

/// The boolean attributes of a segment register, one byte.
struct SegmentFlags: OptionSet {
    let rawValue: UInt8
    static let present = SegmentFlags(rawValue: 1 << 0)
    static let db = SegmentFlags(rawValue: 1 << 1)
    static let s = SegmentFlags(rawValue: 1 << 2)
    static let l = SegmentFlags(rawValue: 1 << 3)
    static let g = SegmentFlags(rawValue: 1 << 4)
    static let avl = SegmentFlags(rawValue: 1 << 5)
    static let unusable = SegmentFlags(rawValue: 1 << 6)
    static let all: SegmentFlags = [.present, .db, .s, .l, .g, .avl, .unusable]
}

/// A page entry's head varint: (zigzag page-number delta << 1) | this bit.
let pageEntryZeroRunBit: UInt64 = 1

/// The fixed prefix readers peek at when opening a journal: u32 id, u64 event index, u8 flags.
let checkpointPeekSize = 13

enum CheckpointCodec {
    static let pageShift: UInt64 = 12
    /// The highest page number whose address fits in 64 bits.
    static let maxPageNumber: UInt64 = UInt64.max >> pageShift

    /// What encoding a checkpoint takes: its exact size, and how its pages
    /// group into entries. Made by `plan`, which also checks every page.
    struct Plan {
        /// Payload bytes.
        var size: Int
        /// The page entries, in order.
        var entries: [Entry]
    }

    /// One page entry of a plan.
    enum Entry {
        /// The next page of `pages`, stored raw.
        case raw
        /// The next `n` pages of `pages`, all zero, as one run.
        case zeroPages(UInt64)
        /// `zeroRuns[k]`.
        case run(Int)
    }

    /// The fixed part: id, event index, flags, 18 registers, 8 segments of 17 bytes,
    /// GDTR and IDTR, 7 control registers (the digest adds 8).
    static let fixedSize = 4 + 8 + 1 + 8 * GPRegisters.count + 8 * 17 + 2 * 10 + 7 * 8

// One piece: the size of every field in the encoder's order, then the page entries, which
// must be grouped exactly as `encode` writes them.
    /// Checks every page and groups the pages into entries, without copying
    /// anything: pages in the order given, adjacent zero pages coalesced into
    /// runs, and each of `zeroRuns` placed before the first page above it.
    /// Throws (naming `path`) when a page is not page-aligned or not exactly
    /// one page, or a zero run is empty, unaligned or beyond 64 bits.
    static func plan(_ c: Checkpoint, path: String) throws -> Plan {
        try plan(c, pages: .records(c.pages), path: path)
    }

    /// The plan of `c` with `pages` in place of `c.pages`.
    static func plan(_ c: Checkpoint, pages: PageList, path: String) throws -> Plan {
        var size = fixedSize + (c.memoryDigest == nil ? 0 : 8)
        size += variableStateSize(c.state)
        size += varintSize(UInt64(c.deviceState.count)) + c.deviceState.count
        size += try vcpusSize(c, path: path)

        var entries: [Entry] = []
        var nextPage: UInt64 = 0
        var nextRun = 0
        // The zero runs below `gpa` (nil: all that are left), in their order.
        func addRuns(below gpa: UInt64?) throws {
            while nextRun < c.zeroRuns.count, gpa.map({ c.zeroRuns[nextRun].gpa < $0 }) ?? true {
                let z = c.zeroRuns[nextRun]
                let page = z.gpa >> pageShift
                guard z.gpa % Checkpoint.pageSize == 0, z.count >= 1, z.count - 1 <= maxPageNumber - page else {
                    throw JournalError(path: path, offset: nil, reason: "checkpoint \(c.id): zero run of \(z.count) pages at \(hex(z.gpa)) is not a run of whole pages within 64 bits")
                }
                let head = zigzagEncode(Int64(bitPattern: page &- nextPage)) << 1
                size += varintSize(head | pageEntryZeroRunBit) + varintSize(z.count)
                entries.append(.run(nextRun))
                nextPage = page &+ z.count
                nextRun += 1
            }
        }
        var i = 0
        let pageBytes = Int(Checkpoint.pageSize)
        while i < pages.count {
            let gpa = pages.gpa(i)
            guard gpa % Checkpoint.pageSize == 0 else {
                throw JournalError(path: path, offset: nil, reason: "checkpoint \(c.id): page gpa \(hex(gpa)) is not page-aligned")
            }
            guard let length = pages.withBytes(i, { $0.count }) else {
                throw JournalError(path: path, offset: nil, reason: "checkpoint \(c.id): page \(hex(gpa)) is not in guest RAM")
            }
            guard length == pageBytes else {
                throw JournalError(path: path, offset: nil, reason: "checkpoint \(c.id): page \(hex(gpa)) has \(length) bytes, not \(Checkpoint.pageSize)")
            }
            try addRuns(below: gpa)
            let page = gpa >> pageShift
            let head = zigzagEncode(Int64(bitPattern: page &- nextPage)) << 1
            if pages.isZeroPage(i) {
                var run: UInt64 = 1
                while i + Int(run) < pages.count, pages.gpa(i + Int(run)) == gpa &+ run * Checkpoint.pageSize,
                      pages.isZeroPage(i + Int(run)) {
                    run += 1
                }
                entries.append(.zeroPages(run))
                size += varintSize(head | pageEntryZeroRunBit) + varintSize(run)
                nextPage = page &+ run
                i += Int(run)
            } else {
                entries.append(.raw)
                size += varintSize(head) + pageBytes
                nextPage = page &+ 1
                i += 1
            }
        }
        try addRuns(below: nil)
        size += varintSize(UInt64(entries.count))
        return Plan(size: size, entries: entries)
    }

    /// Writes the payload `plan` describes at `out`, which has room for
    /// `plan.size` bytes; returns the bytes written (always `plan.size`).
    /// Pages go in with one copy each; nothing is allocated but the sorted
    /// blob names.
    static func encode(_ c: Checkpoint, plan: Plan, into out: UnsafeMutablePointer<UInt8>) -> Int {
        encode(c, pages: .records(c.pages), plan: plan, into: out)
    }

    /// The same, with `pages` (the ones `plan` was made from) in place of `c.pages`.
    static func encode(_ c: Checkpoint, pages: PageList, plan: Plan, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var e = RawEncoder(p: out)
        e.u32(c.id)
        e.u64(c.eventIndex)
        var flags = CheckpointFlags()
        if c.full { flags.insert(.full) }
        if c.memoryDigest != nil { flags.insert(.hasDigest) }
        if c.allVCPUs != nil { flags.insert(.allVCPUs) }
        e.u8(flags.rawValue)
        if let d = c.memoryDigest { e.u64(d) }
        encodeState(c.state, into: &e)
        e.lengthPrefixed(c.deviceState)
        if let all = c.allVCPUs {
            e.u8(UInt8(all.running))
            e.u8(UInt8(all.vcpus.count))
            for v in all.vcpus { e.u8(v.runState.rawValue) }
            for (k, v) in all.vcpus.enumerated() where k != all.running { encodeState(v.state, into: &e) }
        }

        e.varint(UInt64(plan.entries.count))
        var nextPage: UInt64 = 0
        var i = 0
        for entry in plan.entries {
            let gpa: UInt64, run: UInt64
            switch entry {
            case .raw: gpa = pages.gpa(i); run = 0
            case let .zeroPages(n): gpa = pages.gpa(i); run = n
            case let .run(k): gpa = c.zeroRuns[k].gpa; run = c.zeroRuns[k].count
            }
            let page = gpa >> pageShift
            let head = zigzagEncode(Int64(bitPattern: page &- nextPage)) << 1
            if run == 0 {
                e.varint(head)
                // `plan` checked that every page is there and one page long.
                _ = pages.withBytes(i) { e.raw($0) }
                nextPage = page &+ 1
                i += 1
            } else {
                e.varint(head | pageEntryZeroRunBit)
                e.varint(run)
                nextPage = page &+ run
                if case .zeroPages = entry { i += Int(run) }
            }
        }
        let written = e.p - out
        precondition(written == plan.size, "checkpoint \(c.id): encoded \(written) bytes, planned \(plan.size)")
        return written
    }

    /// The bytes of a vCPU state after its fixed part (registers, segments,
    /// tables, control registers): the MSRs and the blobs.
    static func variableStateSize(_ s: VCPUState) -> Int {
        var size = varintSize(UInt64(s.msrs.count)) + 12 * s.msrs.count
        size += varintSize(UInt64(s.blobs.count))
        for (name, value) in s.blobs {
            let n = name.utf8.count
            size += varintSize(UInt64(n)) + n + varintSize(UInt64(value.count)) + value.count
        }
        return size
    }

    /// The fixed part of a vCPU state: 18 registers, 8 segments, GDTR and IDTR, 7 control registers.
    static let fixedStateSize = 8 * GPRegisters.count + 8 * 17 + 2 * 10 + 7 * 8

    /// The bytes of `allVCPUs` (0 without it); checks it is consistent with the checkpoint.
    static func vcpusSize(_ c: Checkpoint, path: String) throws -> Int {
        guard let all = c.allVCPUs else { return 0 }
        guard all.vcpus.count >= 2, all.vcpus.count <= Int(JournalFormat.maxVCPUs), all.running >= 0, all.running < all.vcpus.count,
              all.vcpus[all.running].state == c.state else {
            throw JournalError(path: path, offset: nil, reason: "checkpoint \(c.id): \(all.vcpus.count) vCPUs with vCPU \(all.running) running is not a checkpoint of 2 to \(JournalFormat.maxVCPUs) vCPUs whose running vCPU holds its state")
        }
        var size = 2 + all.vcpus.count
        for (k, v) in all.vcpus.enumerated() where k != all.running { size += fixedStateSize + variableStateSize(v.state) }
        return size
    }

    /// One vCPU state in docs/JOURNAL.md's order.
    static func encodeState(_ state: VCPUState, into e: inout RawEncoder) {
        for i in 0..<GPRegisters.count { e.u64(state.regs[i]) }
        let sr = state.sregs
        for seg in [sr.cs, sr.ds, sr.es, sr.fs, sr.gs, sr.ss, sr.tr, sr.ldt] {
            e.u64(seg.base); e.u32(seg.limit); e.u16(seg.selector); e.u8(seg.type); e.u8(seg.dpl)
            var f = SegmentFlags()
            if seg.present { f.insert(.present) }
            if seg.db { f.insert(.db) }
            if seg.s { f.insert(.s) }
            if seg.l { f.insert(.l) }
            if seg.g { f.insert(.g) }
            if seg.avl { f.insert(.avl) }
            if seg.unusable { f.insert(.unusable) }
            e.u8(f.rawValue)
        }
        for dt in [sr.gdt, sr.idt] { e.u64(dt.base); e.u16(dt.limit) }
        for v in [sr.cr0, sr.cr2, sr.cr3, sr.cr4, sr.cr8, sr.efer, sr.apicBase] { e.u64(v) }

        e.varint(UInt64(state.msrs.count))
        for m in state.msrs { e.u32(m.index); e.u64(m.value) }

        let names = state.blobs.keys.sorted()
        e.varint(UInt64(names.count))
        for n in names {
            e.lengthPrefixed(Array(n.utf8))
            e.lengthPrefixed(state.blobs[n] ?? [])
        }
    }

    /// Encodes a checkpoint payload into a new array.
    /// Throws (naming `path`) when a page is not page-aligned or not exactly one page.
    static func encode(_ c: Checkpoint, path: String) throws -> [UInt8] {
        let plan = try plan(c, path: path)
        return [UInt8](unsafeUninitializedCapacity: plan.size) { buf, count in
            // buf has plan.size bytes of capacity, and encode writes exactly that many.
            count = encode(c, plan: plan, into: buf.baseAddress!)
        }
    }

    static func isZero(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var i = 0
            let n = raw.count
            while i + 8 <= n {
                if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
                i += 8
            }
            while i < n {
                if raw[i] != 0 { return false }
                i += 1
            }
            return true
        }
    }

    /// Peeks at id, event index and the full flag of a checkpoint payload.
    static func peek(_ r: inout ByteReader) throws -> (id: UInt32, eventIndex: UInt64, full: Bool) {
        let id = try r.u32("checkpoint id")
        let ev = try r.u64("checkpoint event index")
        let flagsAt = r.pos
        let f = CheckpointFlags(rawValue: try r.u8("checkpoint flags"))
        guard CheckpointFlags.all.isSuperset(of: f) else {
            throw r.error("checkpoint \(id): unknown flags \(hex(f.rawValue))", at: flagsAt)
        }
        return (id, ev, f.contains(.full))
    }

// One piece: the decoder reads the checkpoint payload field by field in docs/JOURNAL.md's order,
// beside the encoder above, so that the two can be compared line by line.
    /// Decodes a checkpoint payload spanning `r.pos ..< r.end`. `pageLimit` bounds
    /// the number of pages it may expand to (the frame's count).
    static func decode(_ r: inout ByteReader, pageLimit: UInt64) throws -> Checkpoint {
        let id = try r.u32("checkpoint id")
        let eventIndex = try r.u64("checkpoint event index")
        let flagsAt = r.pos
        let flags = CheckpointFlags(rawValue: try r.u8("checkpoint flags"))
        guard CheckpointFlags.all.isSuperset(of: flags) else {
            throw r.error("checkpoint \(id): unknown flags \(hex(flags.rawValue))", at: flagsAt)
        }
        let digest = flags.contains(.hasDigest) ? try r.u64("checkpoint memory digest") : nil

        let state = try decodeState(&r, label: "checkpoint \(id)")
        let device = try r.lengthPrefixed("checkpoint \(id) device state")
        let all = flags.contains(.allVCPUs) ? try decodeVCPUs(&r, id: id, running: state) : nil

        // Each page entry takes at least two bytes.
        let entryCount = try r.length("checkpoint \(id) page entry count", limit: r.remaining / 2)
        var pages: [PageRecord] = []
        var zeroRuns: [ZeroRun] = []
        var listed: UInt64 = 0
        var nextPage: UInt64 = 0
        for _ in 0..<entryCount {
            let at = r.pos
            let head = try r.varint("checkpoint \(id) page entry")
            let page = nextPage &+ UInt64(bitPattern: zigzagDecode(head >> 1))
            guard page <= maxPageNumber else {
                throw r.error("checkpoint \(id): page address beyond 64 bits", at: at)
            }
            let run: UInt64
            if head & pageEntryZeroRunBit != 0 {
                let runAt = r.pos
                run = try r.varint("checkpoint \(id) zero run length")
                guard run >= 1, run <= pageLimit &- listed, run - 1 <= maxPageNumber - page else {
                    throw r.error("checkpoint \(id): zero run of \(run) pages exceeds the \(pageLimit) pages the chunk declares", at: runAt)
                }
                // Kept as a range: never expanded into pages.
                zeroRuns.append(ZeroRun(gpa: page << pageShift, count: run))
            } else {
                guard listed < pageLimit else {
                    throw r.error("checkpoint \(id): more pages than the \(pageLimit) the chunk declares", at: at)
                }
                run = 1
                let bytes = try r.bytes(Int(Checkpoint.pageSize), "checkpoint \(id) page \(hex(page << pageShift))")
                pages.append(PageRecord(gpa: page << pageShift, bytes: bytes))
            }
            listed += run
            nextPage = page &+ run
        }
        guard r.atEnd else {
            throw r.error("checkpoint \(id): \(r.remaining) unexpected bytes after the pages")
        }
        guard listed == pageLimit else {
            throw r.error("checkpoint \(id): \(listed) pages, but the chunk declares \(pageLimit)")
        }
        return Checkpoint(id: id, eventIndex: eventIndex, full: flags.contains(.full), state: state,
                          pages: pages, deviceState: device, memoryDigest: digest, zeroRuns: zeroRuns, allVCPUs: all)
    }

    /// Decodes `allVCPUs`: the running vCPU, the count, each run state, then
    /// every other vCPU's state (the running one's is `running`).
    static func decodeVCPUs(_ r: inout ByteReader, id: UInt32, running state: VCPUState) throws -> CheckpointVCPUs {
        let at = r.pos
        let running = Int(try r.u8("checkpoint \(id) running vCPU"))
        let n = Int(try r.u8("checkpoint \(id) vCPU count"))
        guard n >= 2, n <= Int(JournalFormat.maxVCPUs), running < n else {
            throw r.error("checkpoint \(id): \(n) vCPUs with vCPU \(running) running; expected 2 to \(JournalFormat.maxVCPUs) vCPUs, one of them running", at: at)
        }
        var runStates: [VCPURunState] = []
        for k in 0..<n {
            let sat = r.pos
            let raw = try r.u8("checkpoint \(id) vCPU \(k) run state")
            guard let rs = VCPURunState(rawValue: raw) else {
                throw r.error("checkpoint \(id): vCPU \(k) has unknown run state \(raw)", at: sat)
            }
            runStates.append(rs)
        }
        var vcpus: [CheckpointVCPU] = []
        for k in 0..<n {
            let s = k == running ? state : try decodeState(&r, label: "checkpoint \(id) vCPU \(k)")
            vcpus.append(CheckpointVCPU(runState: runStates[k], state: s))
        }
        return CheckpointVCPUs(running: running, vcpus: vcpus)
    }

    /// Decodes one vCPU state in docs/JOURNAL.md's order; `label` starts every error.
    static func decodeState(_ r: inout ByteReader, label: String) throws -> VCPUState {
        var state = VCPUState()
        for i in 0..<GPRegisters.count { state.regs[i] = try r.u64("\(label) \(GPRegisters.names[i])") }
        var segs: [SegmentRegister] = []
        for name in ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"] {
            var seg = SegmentRegister()
            seg.base = try r.u64("\(label) \(name).base")
            seg.limit = try r.u32("\(label) \(name).limit")
            seg.selector = try r.u16("\(label) \(name).selector")
            seg.type = try r.u8("\(label) \(name).type")
            seg.dpl = try r.u8("\(label) \(name).dpl")
            let at = r.pos
            let f = SegmentFlags(rawValue: try r.u8("\(label) \(name) flags"))
            guard SegmentFlags.all.isSuperset(of: f) else {
                throw r.error("\(label): \(name) has unknown flags \(hex(f.rawValue))", at: at)
            }
            seg.present = f.contains(.present); seg.db = f.contains(.db); seg.s = f.contains(.s)
            seg.l = f.contains(.l); seg.g = f.contains(.g); seg.avl = f.contains(.avl); seg.unusable = f.contains(.unusable)
            segs.append(seg)
        }
        var sr = SpecialRegisters()
        sr.cs = segs[0]; sr.ds = segs[1]; sr.es = segs[2]; sr.fs = segs[3]
        sr.gs = segs[4]; sr.ss = segs[5]; sr.tr = segs[6]; sr.ldt = segs[7]
        sr.gdt = DescriptorTableRegister(base: try r.u64("\(label) gdt.base"), limit: try r.u16("\(label) gdt.limit"))
        sr.idt = DescriptorTableRegister(base: try r.u64("\(label) idt.base"), limit: try r.u16("\(label) idt.limit"))
        sr.cr0 = try r.u64("\(label) cr0")
        sr.cr2 = try r.u64("\(label) cr2")
        sr.cr3 = try r.u64("\(label) cr3")
        sr.cr4 = try r.u64("\(label) cr4")
        sr.cr8 = try r.u64("\(label) cr8")
        sr.efer = try r.u64("\(label) efer")
        sr.apicBase = try r.u64("\(label) apic base")
        state.sregs = sr

        let msrEntrySize = 12
        let msrCount = try r.length("\(label) MSR count", limit: r.remaining / msrEntrySize)
        state.msrs.reserveCapacity(msrCount)
        for _ in 0..<msrCount {
            state.msrs.append(MSREntry(index: try r.u32("\(label) MSR index"), value: try r.u64("\(label) MSR value")))
        }

        // Each blob takes at least two length bytes.
        let blobCount = try r.length("\(label) blob count", limit: r.remaining / 2)
        for _ in 0..<blobCount {
            let at = r.pos
            let raw = try r.lengthPrefixed("\(label) blob name")
            let name = String(decoding: raw, as: UTF8.self)
            let value = try r.lengthPrefixed("\(label) blob \(escapedForMessage(raw))")
            guard state.blobs[name] == nil else {
                throw r.error("\(label): blob \(escapedForMessage(raw)) appears twice", at: at)
            }
            state.blobs[name] = value
        }
        return state
    }

    /// The number of pages a checkpoint lists (the chunk frame's count).
    static func pageCount(_ c: Checkpoint) -> UInt32 { UInt32(clamping: c.pageCount) }
}
