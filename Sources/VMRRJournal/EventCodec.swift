import VMRRBase
/// Event records: the encoder (writer's hot path) and the decoder side by
/// side, so the two cannot drift. Layout in docs/JOURNAL.md, "Event records".
///
///     varint length | u8 kind+flags | register delta | payload
///
/// Everything is delta-coded against `EventCodec`'s chunk-local state, which
/// resets at the start of every events chunk. From format version 4 the
/// register delta may instead be a correction to a prediction: the previous
/// record of the same kind's register delta, repeated. The length varint's
/// low bit then says which (`varint length << 1 | predicted`), so that the
/// common short record pays nothing for it.

/// The high three bits of a record's kind byte. Their meaning depends on the kind.
struct RecordFlags: OptionSet {
    let rawValue: UInt8

    /// The low five bits hold the EventKind raw value.
    static let kindMask: UInt8 = 0b0001_1111
    static let all = RecordFlags(rawValue: ~kindMask)

    // io, mmio, stage2_fault
    /// OUT or MMIO write (else IN / read).
    static let write = RecordFlags(rawValue: 1 << 5)
    // io, input
    /// The port equals the low 16 bits of RDX (`in`/`out` with DX); no port field.
    static let portInRDX = RecordFlags(rawValue: 1 << 6)
    // io
    /// Size 1 and the value is implied: for OUT, AL; for IN, the previous IN value in the chunk.
    static let compact = RecordFlags(rawValue: 1 << 7)
    // mmio, stage2_fault
    /// Same guest-physical address as the previous mmio/stage2_fault record; no address field.
    static let sameGPA = RecordFlags(rawValue: 1 << 6)
    /// The value is all ones over `size` bytes; no value field.
    static let allOnes = RecordFlags(rawValue: 1 << 7)
    // clock
    /// The clock went backwards: ns = previous - delta.
    static let backwards = RecordFlags(rawValue: 1 << 5)
    // timer
    /// Deadline 0 (disarm); no payload.
    static let disarm = RecordFlags(rawValue: 1 << 5)
    /// The deadline lies before the previous clock value: deadline = clock - delta.
    static let beforeClock = RecordFlags(rawValue: 1 << 6)
    // page_fault
    /// Same CR3 as the previous page_fault record in the chunk; no cr3 field.
    static let sameCR3 = RecordFlags(rawValue: 1 << 5)
    /// The faulting RIP equals the record's RIP; no fault_rip field.
    static let faultAtRIP = RecordFlags(rawValue: 1 << 6)
    // msr (also uses .write)
    /// The access raised #GP; a read has no value field.
    static let fault = RecordFlags(rawValue: 1 << 6)
    /// The index equals ECX and, for a write, the value equals EDX:EAX (as
    /// RDMSR/WRMSR always have them); no index field, no write value field.
    static let operandsInRegisters = RecordFlags(rawValue: 1 << 7)
    // switch (v3): the three flag bits are the vCPU number.
    static let vcpuShift: UInt8 = 5

    /// The flags a kind may carry; anything else is corruption.
    static func allowed(for kind: EventKind) -> RecordFlags {
        switch kind {
        case .io: return [.write, .portInRDX, .compact]
        case .mmio, .stage2Fault: return [.write, .sameGPA, .allOnes]
        case .clock: return [.backwards]
        case .timer: return [.disarm, .beforeClock]
        case .pageFault: return [.sameCR3, .faultAtRIP]
        case .input: return [.portInRDX]
        case .msr: return [.write, .fault, .operandsInRegisters]
        case .switchVCPU: return .all   // the vCPU number, 0-7
        case .hlt, .shutdown, .interrupt, .checkpoint, .error, .end, .assist, .startup, .nmi, .warmReset, .preempt: return []
        }
    }
}

/// All ones over `size` bytes (size 0 gives 0; 8 or more gives all 64 bits).
@inline(__always) func sizeMask(_ size: UInt8) -> UInt64 {
    size >= 8 ? UInt64.max : (UInt64(1) << (UInt64(size) * 8)) &- 1
}

/// The chunk-local state records are delta-coded against.
struct EventCodec {
    /// The format version of the journal being read (kinds newer than it are corruption).
    let formatVersion: UInt16
    var regs = GPRegisters()
    /// Previous io port.
    var ioPort: UInt16 = 0
    /// Previous IN value.
    var ioReadValue: UInt64 = 0
    /// Previous mmio/stage2_fault address.
    var gpa: UInt64 = 0
    /// Previous clock value.
    var clock: UInt64 = 0
    /// Previous page_fault CR3.
    var cr3: UInt64 = 0
    /// The vCPU the next record belongs to (v3; always 0 before).
    var vcpu: UInt8 = 0
    /// Decoding: vCPU numbers must lie below this (the header's vCPU count).
    var vcpuCount: UInt8 = UInt8(JournalFormat.maxVCPUs)
    /// The other vCPUs' previous registers in the chunk (v3: each vCPU's
    /// records are delta-coded against its own; empty until the first switch).
    var otherRegs: [GPRegisters] = []
    /// v4: indexed by kind code, the register delta (new &- old) of the
    /// running vCPU's previous record of that kind in the chunk, all zeros
    /// before the first; a record's registers may be coded against old &+ it.
    /// Empty until the first record of the chunk.
    var kindDeltas: [GPRegisters] = []
    /// The other vCPUs' `kindDeltas` (v4, more than one vCPU).
    var otherKindDeltas: [[GPRegisters]] = []
    /// Whether register deltas may be predicted (format version 4 and later).
    let predicts: Bool
    /// Encoding, v4: whether the last record encoded was coded against the
    /// prediction (the writer puts it in the length field).
    private(set) var lastRecordPredicted = false

    /// One slot per kind code the kind byte can hold.
    static let kindSlots = Int(RecordFlags.kindMask) + 1

    init(formatVersion: UInt16 = JournalFormat.version, vcpuCount: UInt32 = JournalFormat.maxVCPUs) {
        self.formatVersion = formatVersion
        self.vcpuCount = UInt8(clamping: vcpuCount)
        predicts = formatVersion >= JournalFormat.predictedRegistersVersion
    }

    /// Starts a new chunk; the running vCPU stays the same.
    mutating func reset() {
        let running = vcpu
        self = EventCodec(formatVersion: formatVersion, vcpuCount: UInt32(vcpuCount))
        vcpu = running
    }

    /// A `switch` record: later records (this one included) are `k`'s, delta-coded against its registers.
    @inline(__always)
    mutating func select(vcpu k: UInt8) {
        if otherRegs.isEmpty { otherRegs = Array(repeating: GPRegisters(), count: Int(JournalFormat.maxVCPUs)) }
        otherRegs[Int(vcpu)] = regs
        regs = otherRegs[Int(k)]
        if predicts {
            if otherKindDeltas.isEmpty { otherKindDeltas = Array(repeating: [], count: Int(JournalFormat.maxVCPUs)) }
            otherKindDeltas[Int(vcpu)] = kindDeltas
            kindDeltas = otherKindDeltas[Int(k)]
        }
        vcpu = k
    }

    /// The value WRMSR writes: EDX:EAX.
    @inline(__always) static func msrOperand(_ regs: GPRegisters) -> UInt64 {
        (regs.rdx & 0xFFFF_FFFF) << 32 | (regs.rax & 0xFFFF_FFFF)
    }

    /// An upper bound on the encoded size of a record, its length varint included.
    @inline(__always) static func maxRecordSize(_ event: Event) -> Int {
        // length and prediction bit(3) + kind(1) + mask(3) + 18 deltas(10 each) + fixed payload(<= 40)
        let fixed = 3 + 1 + 3 + GPRegisters.count * varintMaxBytes + 48
        if case let .error(_, _, data) = event { return fixed + data.count }
        return fixed
    }

    // MARK: encoding

// One piece: one switch over the event kinds, mirrored by decodePayload below, so that the
// writer and the reader of each kind sit in matching cases.
    /// Encodes the record body (kind byte through payload; no length prefix).
    @inline(__always)
    mutating func encode(_ event: Event, regs new: GPRegisters, into e: inout RawEncoder) {
        let kindByte = e.p
        e.p += 1
        if case let .switchVCPU(k) = event { select(vcpu: k) }
        if predicts { encodePredictedRegisters(new, kind: event.kind, into: &e) } else { encodeRegisters(new, into: &e) }
        var flags = RecordFlags()
        switch event {
        case let .io(port, size, direction, value):
            if direction == .write { flags.insert(.write) }
            if port == UInt16(truncatingIfNeeded: new.rdx) {
                flags.insert(.portInRDX)
            } else {
                e.zigzag(Int64(port) - Int64(ioPort))
            }
            ioPort = port
            let implied = direction == .write ? new.rax & sizeMask(1) : ioReadValue
            if size == 1 && value == implied {
                flags.insert(.compact)
            } else {
                e.u8(size)
                e.varint(value)
            }
            if direction == .read { ioReadValue = value }
        case let .mmio(gpa, size, direction, value), let .stage2Fault(gpa, size, direction, value):
            if direction == .write { flags.insert(.write) }
            if gpa == self.gpa {
                flags.insert(.sameGPA)
            } else {
                e.zigzag(Int64(bitPattern: gpa &- self.gpa))
            }
            self.gpa = gpa
            e.u8(size)
            if value == sizeMask(size) { flags.insert(.allOnes) } else { e.varint(value) }
        case .hlt, .shutdown:
            break
        case let .pageFault(gva, errorCode, cr3, faultingRIP):
            e.varint(gva)
            e.varint(errorCode)
            if cr3 == self.cr3 { flags.insert(.sameCR3) } else { e.varint(cr3) }
            self.cr3 = cr3
            if faultingRIP == new.rip { flags.insert(.faultAtRIP) } else { e.varint(faultingRIP) }
        case let .clock(ns):
            if ns >= clock {
                e.varint(ns - clock)
            } else {
                flags.insert(.backwards)
                e.varint(clock - ns)
            }
            clock = ns
        case let .timer(deadline):
            if deadline == 0 {
                flags.insert(.disarm)
            } else if deadline >= clock {
                e.varint(deadline - clock)
            } else {
                flags.insert(.beforeClock)
                e.varint(clock - deadline)
            }
        case let .interrupt(vector):
            e.u8(vector)
        case let .input(port, byte):
            if port == UInt16(truncatingIfNeeded: new.rdx) { flags.insert(.portInRDX) } else { e.varint(UInt64(port)) }
            e.u8(byte)
        case let .checkpoint(id):
            e.varint(UInt64(id))
        case let .error(reason, suberror, data):
            e.varint(UInt64(reason))
            e.varint(UInt64(suberror))
            e.varint(UInt64(data.count))
            e.bytes(data)
        case let .end(reason, status):
            e.u8(reason.rawValue)
            e.zigzag(Int64(status))
        case let .msr(index, direction, value, fault):
            if direction == .write { flags.insert(.write) }
            if fault { flags.insert(.fault) }
            let implied = UInt64(index) == new.rcx & 0xFFFF_FFFF
                && (direction == .read || value == Self.msrOperand(new))
            if implied { flags.insert(.operandsInRegisters) } else { e.varint(UInt64(index)) }
            if direction == .read ? !fault : !implied { e.varint(value) }
        case let .assist(action, length):
            e.u8(action.rawValue)
            e.u8(length)
        case let .switchVCPU(k):
            flags = RecordFlags(rawValue: k << RecordFlags.vcpuShift)
        case let .startup(k, vector):
            e.u8(k)
            e.u8(vector)
        case .nmi:
            break
        case let .warmReset(segment, offset):
            e.varint(UInt64(segment))
            e.varint(UInt64(offset))
        case let .preempt(digest):
            e.u64(digest)
        }
        kindByte.pointee = event.kind.rawValue | flags.rawValue
    }

    /// Change mask over the 18 registers, then a zigzag delta per changed one.
    @inline(__always)
    private mutating func encodeRegisters(_ new: GPRegisters, into e: inout RawEncoder) {
        var mask: UInt64 = 0
        for i in 0..<GPRegisters.count where new[i] != regs[i] { mask |= 1 << UInt64(i) }
        e.varint(mask)
        if mask != 0 {
            for i in 0..<GPRegisters.count where mask & (1 << UInt64(i)) != 0 {
                e.zigzag(Int64(bitPattern: new[i] &- regs[i]))
            }
            regs = new
        }
    }

    /// A register delta of all zeros.
    static let unchanged = GPRegisters()

    /// The bytes of a zigzag varint.
    @inline(__always) static func zigzagSize(_ d: UInt64) -> Int {
        let z = zigzagEncode(Int64(bitPattern: d))
        return (64 - (z | 1).leadingZeroBitCount + 6) / 7
    }

    /// Format 4: `varint mask`, then a zigzag per set bit of the mask, as in
    /// `encodeRegisters`. Unpredicted, the deltas are against the previous
    /// registers; predicted (`lastRecordPredicted`), against the previous
    /// registers plus this kind's previous delta. The smaller form wins; a
    /// tie is unpredicted.
    @inline(__always)
    private mutating func encodePredictedRegisters(_ new: GPRegisters, kind: EventKind, into e: inout RawEncoder) {
        if kindDeltas.isEmpty { kindDeltas = Array(repeating: GPRegisters(), count: Self.kindSlots) }
        let k = Int(kind.rawValue)
        let delta = new.wrappingDifference(regs)
        let guess = kindDeltas[k]
        // The two common cases without weighing the forms: a loop repeating
        // its changes (predicted, nothing to correct; unpredicted if nothing
        // changed, a tie), and no prediction to make (unpredicted).
        if delta == guess {
            lastRecordPredicted = delta != Self.unchanged
            e.varint(0)
            regs = new
            return
        }
        if guess == Self.unchanged {
            lastRecordPredicted = false
            encodeRegisters(new, into: &e)
            kindDeltas[k] = delta
            return
        }
        var plainMask: UInt64 = 0, guessMask: UInt64 = 0
        var plainCost = 0, guessCost = 0
        for i in 0..<GPRegisters.count {
            let d = delta[i]
            if d != 0 { plainMask |= 1 << UInt64(i); plainCost += Self.zigzagSize(d) }
            let c = d &- guess[i]
            if c != 0 { guessMask |= 1 << UInt64(i); guessCost += Self.zigzagSize(c) }
        }
        plainCost += varintSize(plainMask)
        guessCost += varintSize(guessMask)
        lastRecordPredicted = guessCost < plainCost
        if lastRecordPredicted {
            e.varint(guessMask)
            for i in 0..<GPRegisters.count where guessMask & (1 << UInt64(i)) != 0 {
                e.zigzag(Int64(bitPattern: delta[i] &- guess[i]))
            }
            regs = new
        } else {
            encodeRegisters(new, into: &e)
        }
        kindDeltas[k] = delta
    }

    // MARK: decoding

    /// The register mask may only name the 18 registers.
    static let registerMaskLimit: UInt64 = 1 << UInt64(GPRegisters.count)

    /// Decodes one record (length prefix included) at `r.pos`, which must lie inside a chunk payload
    /// whose end is `r.end`.
    mutating func decode(_ r: inout ByteReader, index: UInt64) throws -> EventRecord {
        let start = r.pos
        let length: Int
        var predicted = false
        if predicts {
            let field = try r.length("event \(index) record length", limit: JournalFormat.maxRecordLength << 1 | 1)
            length = field >> 1
            predicted = field & 1 != 0
        } else {
            length = try r.length("event \(index) record length", limit: JournalFormat.maxRecordLength)
        }
        guard length >= 1, length <= r.remaining else {
            throw r.error("event \(index): record of \(length) bytes runs past the end of its chunk (\(r.remaining) bytes remain)", at: start)
        }
        let outerEnd = r.end
        r.end = r.pos + length
        defer { r.end = outerEnd }

        let kindAt = r.pos
        let kindByte = try r.u8("event \(index) kind")
        guard let kind = EventKind(rawValue: kindByte & RecordFlags.kindMask) else {
            throw r.error("event \(index): unknown event kind \(kindByte & RecordFlags.kindMask)", at: kindAt)
        }
        guard kind.sinceFormatVersion <= formatVersion else {
            throw r.error("event \(index): event kind \(kind.rawValue) (\(kind.name)) does not exist in format version \(formatVersion)", at: kindAt)
        }
        let flags = RecordFlags(rawValue: kindByte & ~RecordFlags.kindMask)
        guard RecordFlags.allowed(for: kind).isSuperset(of: flags) else {
            throw r.error("event \(index): flags \(hex(flags.rawValue)) are not defined for \(kind.name)", at: kindAt)
        }

        if kind == .switchVCPU {
            let k = flags.rawValue >> RecordFlags.vcpuShift
            guard k < vcpuCount else {
                throw r.error("event \(index): switch to vCPU \(k), but the journal has \(vcpuCount)", at: kindAt)
            }
            select(vcpu: k)
        }
        let maskAt = r.pos
        let mask = try r.varint("event \(index) register mask")
        guard mask < Self.registerMaskLimit else {
            throw r.error("event \(index): register mask \(hex(mask)) names more than \(GPRegisters.count) registers", at: maskAt)
        }
        // The deltas are against the previous registers, or in format 4 with
        // the length's bit set, against them plus this kind's previous delta.
        if predicts && kindDeltas.isEmpty { kindDeltas = Array(repeating: GPRegisters(), count: Self.kindSlots) }
        let base = predicted ? regs.wrappingSum(kindDeltas[Int(kind.rawValue)]) : regs
        var new = base
        for i in 0..<GPRegisters.count where mask & (1 << UInt64(i)) != 0 {
            let d = try r.zigzag("event \(index) \(GPRegisters.names[i]) delta")
            new[i] = base[i] &+ UInt64(bitPattern: d)
        }
        if predicts { kindDeltas[Int(kind.rawValue)] = new.wrappingDifference(regs) }
        regs = new

        let event = try decodePayload(kind, flags, &r, index: index)
        guard r.atEnd else {
            throw r.error("event \(index): \(r.remaining) unexpected bytes at the end of a \(kind.name) record")
        }
        return EventRecord(index: index, regs: regs, event: event, vcpu: vcpu)
    }

// One piece: one switch over the event kinds, the mirror of encode above.
    private mutating func decodePayload(_ kind: EventKind, _ flags: RecordFlags, _ r: inout ByteReader, index: UInt64) throws -> Event {
        let direction: IODirection = flags.contains(.write) ? .write : .read
        switch kind {
        case .io:
            if flags.contains(.portInRDX) {
                ioPort = UInt16(truncatingIfNeeded: regs.rdx)
            } else {
                let at = r.pos
                let d = try r.zigzag("event \(index) io port delta")
                let port = Int64(ioPort).addingReportingOverflow(d)
                guard !port.overflow, let p = UInt16(exactly: port.partialValue) else {
                    throw r.error("event \(index): io port delta \(d) leaves the port range", at: at)
                }
                ioPort = p
            }
            let size: UInt8
            let value: UInt64
            if flags.contains(.compact) {
                size = 1
                value = direction == .write ? regs.rax & sizeMask(1) : ioReadValue
            } else {
                size = try r.u8("event \(index) io size")
                value = try r.varint("event \(index) io value")
            }
            if direction == .read { ioReadValue = value }
            return .io(port: ioPort, size: size, direction: direction, value: value)
        case .mmio, .stage2Fault:
            if !flags.contains(.sameGPA) {
                gpa = gpa &+ UInt64(bitPattern: try r.zigzag("event \(index) gpa delta"))
            }
            let size = try r.u8("event \(index) access size")
            let value = flags.contains(.allOnes) ? sizeMask(size) : try r.varint("event \(index) value")
            return kind == .mmio
                ? .mmio(gpa: gpa, size: size, direction: direction, value: value)
                : .stage2Fault(gpa: gpa, size: size, direction: direction, value: value)
        case .hlt:
            return .hlt
        case .shutdown:
            return .shutdown
        case .pageFault:
            let gva = try r.varint("event \(index) gva")
            let code = try r.varint("event \(index) error code")
            if !flags.contains(.sameCR3) { cr3 = try r.varint("event \(index) cr3") }
            let rip = flags.contains(.faultAtRIP) ? regs.rip : try r.varint("event \(index) faulting rip")
            return .pageFault(gva: gva, errorCode: code, cr3: cr3, faultingRIP: rip)
        case .clock:
            let at = r.pos
            let d = try r.varint("event \(index) clock delta")
            let next = flags.contains(.backwards) ? clock.subtractingReportingOverflow(d) : clock.addingReportingOverflow(d)
            guard !next.overflow else { throw r.error("event \(index): clock delta \(d) overflows", at: at) }
            clock = next.partialValue
            return .clock(ns: clock)
        case .timer:
            if flags.contains(.disarm) {
                guard !flags.contains(.beforeClock) else { throw r.error("event \(index): timer flags contradict") }
                return .timer(deadline: 0)
            }
            let at = r.pos
            let d = try r.varint("event \(index) timer deadline delta")
            let v = flags.contains(.beforeClock) ? clock.subtractingReportingOverflow(d) : clock.addingReportingOverflow(d)
            guard !v.overflow else { throw r.error("event \(index): timer deadline delta \(d) overflows", at: at) }
            return .timer(deadline: v.partialValue)
        case .interrupt:
            return .interrupt(vector: try r.u8("event \(index) vector"))
        case .input:
            let port: UInt16
            if flags.contains(.portInRDX) {
                port = UInt16(truncatingIfNeeded: regs.rdx)
            } else {
                let at = r.pos
                guard let p = UInt16(exactly: try r.varint("event \(index) input port")) else {
                    throw r.error("event \(index): input port out of range", at: at)
                }
                port = p
            }
            return .input(port: port, byte: try r.u8("event \(index) input byte"))
        case .checkpoint:
            let at = r.pos
            guard let id = UInt32(exactly: try r.varint("event \(index) checkpoint id")) else {
                throw r.error("event \(index): checkpoint id out of range", at: at)
            }
            return .checkpoint(id: id)
        case .error:
            let at = r.pos
            guard let reason = UInt32(exactly: try r.varint("event \(index) error reason")),
                  let sub = UInt32(exactly: try r.varint("event \(index) error suberror")) else {
                throw r.error("event \(index): error reason out of range", at: at)
            }
            let data = try r.lengthPrefixed("event \(index) error data")
            return .error(reason: reason, suberror: sub, data: data)
        case .end:
            let at = r.pos
            let code = try r.u8("event \(index) end reason")
            guard let reason = EndReason(rawValue: code) else {
                throw r.error("event \(index): unknown end reason \(code)", at: at)
            }
            let sAt = r.pos
            guard let status = Int32(exactly: try r.zigzag("event \(index) end status")) else {
                throw r.error("event \(index): end status out of range", at: sAt)
            }
            return .end(reason: reason, status: status)
        case .msr:
            let msrIndex: UInt32
            if flags.contains(.operandsInRegisters) {
                msrIndex = UInt32(truncatingIfNeeded: regs.rcx)
            } else {
                let at = r.pos
                guard let i = UInt32(exactly: try r.varint("event \(index) msr index")) else {
                    throw r.error("event \(index): msr index out of range", at: at)
                }
                msrIndex = i
            }
            let fault = flags.contains(.fault)
            let value: UInt64
            if direction == .read {
                value = fault ? 0 : try r.varint("event \(index) msr value")
            } else {
                value = flags.contains(.operandsInRegisters) ? Self.msrOperand(regs) : try r.varint("event \(index) msr value")
            }
            return .msr(index: msrIndex, direction: direction, value: value, fault: fault)
        case .assist:
            let at = r.pos
            let code = try r.u8("event \(index) assist action")
            guard let action = AssistAction(rawValue: code) else {
                throw r.error("event \(index): unknown assist action \(code)", at: at)
            }
            let lAt = r.pos
            let length = try r.u8("event \(index) assist length")
            guard length >= 1, length <= 15 else {
                throw r.error("event \(index): assist length \(length) is not an instruction length (1-15)", at: lAt)
            }
            return .assist(action: action, length: length)
        case .switchVCPU:
            return .switchVCPU(vcpu: vcpu)
        case .startup:
            let at = r.pos
            let k = try r.u8("event \(index) startup vCPU")
            guard k < vcpuCount else { throw r.error("event \(index): startup of vCPU \(k), but the journal has \(vcpuCount)", at: at) }
            return .startup(vcpu: k, vector: try r.u8("event \(index) startup vector"))
        case .nmi:
            return .nmi
        case .warmReset:
            let at = r.pos
            guard let segment = UInt16(exactly: try r.varint("event \(index) warm reset segment")),
                  let offset = UInt16(exactly: try r.varint("event \(index) warm reset offset")) else {
                throw r.error("event \(index): warm reset vector out of range (16-bit segment and offset)", at: at)
            }
            return .warmReset(segment: segment, offset: offset)
        case .preempt:
            return .preempt(digest: try r.u64("event \(index) preempt digest"))
        }
    }
}
