import VMRRBase
/// The file header: fixed prefix, then JournalHeader as a CRC-checked TLV list.
///
///     "VMRRJRNL" | u16 version | u16 min reader | u32 TLV length L | TLV[L] | u32 CRC32C(bytes 0 ..< 16+L)
///
/// The prefix layout and tag 18 (vmrr version) are frozen for every format
/// version, so any reader can say which vmrr it would take to read a file.

/// TLV tags of JournalHeader fields. Never renumber; new fields get new tags.
enum HeaderTag: UInt64, CaseIterable {
    case imageSHA256 = 1
    case imagePath = 2
    case memorySize = 3
    case vcpuCount = 4
    case clock = 5
    case bootProtocol = 6
    case strict = 7
    case checkpointInterval = 8
    case guestCommandLine = 9
    case cpuidSet = 10
    case cpuidEffective = 11
    case hostKernel = 12
    case hostCPU = 13
    case hostMMU = 14
    case hostMMUDetail = 15
    case recordedAt = 16
    case commandLine = 17
    case vmrrVersion = 18
    case linuxPayloadOnHost = 19
    case cpuidHidden = 20
    case chaosSeed = 21

    /// Tags a v1 reader refuses to do without: what replay needs to rebuild the machine.
    static let required: [HeaderTag] = [.memorySize, .vcpuCount, .clock, .bootProtocol]
}

/// Each CPUID entry is seven u32s.
let cpuidEntrySize = 28

enum HeaderCodec {
    static func encode(_ h: JournalHeader) -> [UInt8] {
        var tlv = ByteSink()
        func field(_ tag: HeaderTag, _ value: [UInt8]) {
            tlv.varint(tag.rawValue)
            tlv.lengthPrefixed(value)
        }
        func number(_ tag: HeaderTag, _ v: UInt64) {
            var s = ByteSink(); s.varint(v); field(tag, s.bytes)
        }
        func cpuid(_ tag: HeaderTag, _ entries: [CPUIDEntry]) {
            var s = ByteSink()
            for e in entries {
                for v in [e.function, e.index, e.flags, e.eax, e.ebx, e.ecx, e.edx] { s.u32(v) }
            }
            field(tag, s.bytes)
        }
        field(.imageSHA256, h.imageSHA256)
        field(.imagePath, Array(h.imagePath.utf8))
        number(.memorySize, h.memorySize)
        number(.vcpuCount, UInt64(h.vcpuCount))
        number(.clock, UInt64(h.clock.rawValue))
        number(.bootProtocol, UInt64(h.bootProtocol.rawValue))
        number(.strict, h.strict ? 1 : 0)
        number(.checkpointInterval, UInt64(h.checkpointInterval))
        field(.guestCommandLine, Array(h.guestCommandLine.utf8))
        cpuid(.cpuidSet, h.cpuidSet)
        cpuid(.cpuidEffective, h.cpuidEffective)
        field(.hostKernel, Array(h.hostKernel.utf8))
        field(.hostCPU, Array(h.hostCPU.utf8))
        number(.hostMMU, UInt64(h.hostMMU.rawValue))
        field(.hostMMUDetail, Array(h.hostMMUDetail.utf8))
        if h.recordedAt != 0 { number(.recordedAt, h.recordedAt) }   // 0: no recording time (--clock virtual)
        field(.commandLine, Array(h.commandLine.utf8))
        field(.vmrrVersion, Array(h.vmrrVersion.utf8))
        if h.linuxPayloadOnHost { number(.linuxPayloadOnHost, 1) }   // written only when set: older files stay byte-identical
        if !h.cpuidHidden.isEmpty { field(.cpuidHidden, Array(h.cpuidHidden.joined(separator: "\n").utf8)) }
        if let seed = h.chaosSeed { number(.chaosSeed, seed) }   // written only under --chaos

        var out = ByteSink()
        out.raw(JournalFormat.fileMagic)
        out.u16(JournalFormat.version)
        out.u16(JournalFormat.minReaderVersion)
        out.u32(UInt32(tlv.bytes.count))
        out.raw(tlv.bytes)
        out.u32(CRC32C.checksum(out.bytes))
        return out.bytes
    }

    /// Parses the header at the start of `bytes` (the file's first bytes, at
    /// least the whole header when the file holds it; `fileSize`, the whole
    /// file's size, defaults to `bytes.count`); returns it, the file's format
    /// version and the offset where the chunks start.
    static func decode(_ bytes: [UInt8], name: String, fileSize: Int? = nil) throws -> (JournalHeader, UInt16, Int) {
        var r = ByteReader(bytes, name: name)
        guard bytes.count >= JournalFormat.fileMagic.count else {
            throw r.error("file of \(bytes.count) bytes is too short to be a vmrr journal", at: 0)
        }
        let magic = try r.bytes(JournalFormat.fileMagic.count, "file magic")
        guard magic == JournalFormat.fileMagic else {
            throw r.error("not a vmrr journal (bad magic \(hexBytes(magic)), expected \"VMRRJRNL\")", at: 0)
        }
        let version = try r.u16("format version")
        let minReader = try r.u16("minimum reader version")
        let tlvLength = Int(try r.u32("header length"))
        let tlvStart = r.pos
        let crcAt = tlvStart + tlvLength
        // The TLV and CRC, when present and intact (used for the version message too).
        let intactTLV: Bool = {
            guard tlvLength <= JournalFormat.maxHeaderTLVLength, crcAt + 4 <= bytes.count else { return false }
            var c = ByteReader(bytes, name: name, from: crcAt)
            guard let stored = try? c.u32("header CRC") else { return false }
            return stored == CRC32C.checksum(bytes, range: 0..<crcAt)
        }()

        if minReader > JournalFormat.readableVersion {
            var needs = "a newer vmrr"
            if intactTLV, let v = try? lenientVersionString(bytes, name: name, from: tlvStart, to: crcAt), !v.isEmpty {
                needs = "vmrr \(v) or newer"
            }
            throw r.error("journal format version \(version) needs \(needs); this vmrr reads versions up to \(JournalFormat.readableVersion)", at: 8)
        }
        guard version >= 1, minReader >= 1, minReader <= version else {
            throw r.error("invalid format version \(version) (minimum reader version \(minReader))", at: 8)
        }
        guard tlvLength <= JournalFormat.maxHeaderTLVLength else {
            throw r.error("header length \(tlvLength) exceeds the limit \(JournalFormat.maxHeaderTLVLength)", at: 12)
        }
        guard crcAt + JournalFormat.headerCRCSize <= bytes.count else {
            throw r.error("header of \(tlvLength) bytes runs past the end of the file (\(fileSize ?? bytes.count) bytes): the journal is truncated inside its header", at: 12)
        }
        var c = ByteReader(bytes, name: name, from: crcAt)
        let stored = try c.u32("header CRC")
        let computed = CRC32C.checksum(bytes, range: 0..<crcAt)
        guard stored == computed else {
            throw r.error("header CRC mismatch (stored \(hex(stored, digits: 8)), computed \(hex(computed, digits: 8)))", at: crcAt)
        }
        r.end = crcAt
        let h = try decodeTLV(&r)
        guard h.vcpuCount >= 1, h.vcpuCount <= JournalFormat.maxVCPUs else {
            throw r.error("header asks for \(h.vcpuCount) vCPUs (vmrr runs 1 to \(JournalFormat.maxVCPUs))", at: JournalFormat.headerPrefixSize)
        }
        guard h.vcpuCount == 1 || version >= JournalFormat.smpVersion else {
            throw r.error("header asks for \(h.vcpuCount) vCPUs, which format version \(version) cannot record (version \(JournalFormat.smpVersion) can)", at: 8)
        }
        return (h, version, crcAt + JournalFormat.headerCRCSize)
    }

    /// Reads only tag 18 from a TLV list of a future version, ignoring everything else.
    private static func lenientVersionString(_ bytes: [UInt8], name: String, from: Int, to: Int) throws -> String? {
        var r = ByteReader(bytes, name: name, from: from, to: to)
        while !r.atEnd {
            let tag = try r.varint("tag")
            let value = try r.lengthPrefixed("value")
            if tag == HeaderTag.vmrrVersion.rawValue { return escapedForMessage(value) }   // shown in an error
        }
        return nil
    }

    private static func decodeTLV(_ r: inout ByteReader) throws -> JournalHeader {
        var h = JournalHeader()
        var seen = Set<UInt64>()
        while !r.atEnd {
            let tagAt = r.pos
            let tag = try r.varint("header tag")
            let value = try r.lengthPrefixed("header field \(tag)")
            let valueOffset = r.pos - value.count
            guard seen.insert(tag).inserted else { throw r.error("header field \(tag) appears twice", at: tagAt) }
            guard let known = HeaderTag(rawValue: tag) else { continue }  // a later version's field
            func text() -> String { String(decoding: value, as: UTF8.self) }
            func number() throws -> UInt64 {
                var v = ByteReader(r.bytes, name: r.name, from: valueOffset, to: r.pos)
                let n = try v.varint("header field \(tag)")
                guard v.atEnd else { throw r.error("header field \(tag) has \(v.remaining) extra bytes", at: valueOffset) }
                return n
            }
            func small<T: FixedWidthInteger>(_: T.Type) throws -> T {
                let n = try number()
                guard let v = T(exactly: n) else { throw r.error("header field \(tag) value \(n) is out of range", at: valueOffset) }
                return v
            }
            func cpuid() throws -> [CPUIDEntry] {
                guard value.count % cpuidEntrySize == 0 else {
                    throw r.error("CPUID table of \(value.count) bytes is not a whole number of \(cpuidEntrySize)-byte entries", at: valueOffset)
                }
                var v = ByteReader(r.bytes, name: r.name, from: valueOffset, to: r.pos)
                var out: [CPUIDEntry] = []
                out.reserveCapacity(value.count / cpuidEntrySize)
                while !v.atEnd {
                    out.append(CPUIDEntry(function: try v.u32("cpuid"), index: try v.u32("cpuid"), flags: try v.u32("cpuid"),
                                          eax: try v.u32("cpuid"), ebx: try v.u32("cpuid"), ecx: try v.u32("cpuid"), edx: try v.u32("cpuid")))
                }
                return out
            }
            switch known {
            case .imageSHA256: h.imageSHA256 = value
            case .imagePath: h.imagePath = text()
            case .memorySize: h.memorySize = try number()
            case .vcpuCount: h.vcpuCount = try small(UInt32.self)
            case .clock:
                let n = try small(UInt8.self)
                guard let c = ClockSource(rawValue: n) else { throw r.error("unknown clock source \(n)", at: valueOffset) }
                h.clock = c
            case .bootProtocol:
                let n = try small(UInt8.self)
                guard let b = BootProtocol(rawValue: n) else { throw r.error("unknown boot protocol \(n)", at: valueOffset) }
                h.bootProtocol = b
            case .strict:
                let n = try number()
                guard n <= 1 else { throw r.error("strict flag \(n) is not 0 or 1", at: valueOffset) }
                h.strict = n == 1
            case .checkpointInterval: h.checkpointInterval = try small(UInt32.self)
            case .guestCommandLine: h.guestCommandLine = text()
            case .cpuidSet: h.cpuidSet = try cpuid()
            case .cpuidEffective: h.cpuidEffective = try cpuid()
            case .hostKernel: h.hostKernel = text()
            case .hostCPU: h.hostCPU = text()
            case .hostMMU:
                let n = try small(UInt8.self)
                guard let m = HostMMUModel(rawValue: n) else { throw r.error("unknown host MMU model \(n)", at: valueOffset) }
                h.hostMMU = m
            case .hostMMUDetail: h.hostMMUDetail = text()
            case .recordedAt: h.recordedAt = try number()
            case .commandLine: h.commandLine = text()
            case .vmrrVersion: h.vmrrVersion = text()
            case .linuxPayloadOnHost:
                let n = try number()
                guard n <= 1 else { throw r.error("linux payload flag \(n) is not 0 or 1", at: valueOffset) }
                h.linuxPayloadOnHost = n == 1
            case .cpuidHidden:
                h.cpuidHidden = text().split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            case .chaosSeed: h.chaosSeed = try number()
            }
        }
        for t in HeaderTag.required where !seen.contains(t.rawValue) {
            throw r.error("header lacks required field \(t) (tag \(t.rawValue))", at: JournalFormat.headerPrefixSize)
        }
        return h
    }
}
