import Glibc
import Testing
@testable import VMRRJournal
import VMRRTestSupport

/// Header tag 19 (a Linux bzImage decompressed on the host): written only
/// when set, read back, and checked. Tag 16 (the recording time): omitted
/// when 0, as under --clock virtual, and shown as "-" and null.
@Suite struct HeaderFieldTests {
    @Test func linuxPayloadFlagRoundTripsAndIsOnlyWrittenWhenSet() throws {
        var h = Fixtures.header()
        let plain = Build.header(h)
        h.linuxPayloadOnHost = true
        let flagged = Build.header(h)
        // Tag 19, length 1, value 1: three bytes more than the same header without it.
        #expect(flagged.count == plain.count + 3)
        let r = try JournalReader(bytes: flagged, name: "h.vmrr")
        #expect(r.header.linuxPayloadOnHost)
        #expect(r.header == h)
        #expect(try JournalReader(bytes: plain, name: "h.vmrr").header.linuxPayloadOnHost == false)
    }

    @Test func hiddenCPUIDFeaturesRoundTripAndAreListedByTheSummary() throws {
        var h = Fixtures.header()
        let plain = Build.header(h)
        h.cpuidHidden = ["kvmclock (KVM 0x40000001:EAX[0]): reads the host TSC", "tsc-deadline (CPUID.1:ECX[24]): no such timer"]
        let listed = Build.header(h)
        #expect(listed.count > plain.count)
        #expect(try JournalReader(bytes: listed, name: "h.vmrr").header == h)
        #expect(try JournalReader(bytes: plain, name: "h.vmrr").header.cpuidHidden.isEmpty)
        let path = Fixtures.tempPath("hidden")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: h)
        try w.append(.end(reason: .debugExit, status: 0), regs: GPRegisters())
        try w.finish()
        let summary = try JournalSummary(reader: try JournalReader(path: path))
        let lines = summary.render().split(separator: "\n").filter { $0.hasPrefix("cpuid hidden:") }
        #expect(lines.count == 2 && lines[0].hasSuffix("kvmclock (KVM 0x40000001:EAX[0]): reads the host TSC"))
        #expect(summary.json().contains("\"kvmclock (KVM 0x40000001:EAX[0]): reads the host TSC\""))
    }

    @Test func linuxPayloadFlagOtherThanZeroOrOneIsRefused() throws {
        var extra = ByteSink()
        extra.varint(19); extra.lengthPrefixed([2])
        let bytes = Build.header(version: JournalFormat.version, minReader: JournalFormat.minReaderVersion, extraTLV: extra.bytes)
        let (_, _, err) = openAndReadAll(bytes, name: "h.vmrr")
        let e = try #require(err as? JournalError)
        #expect(e.reason == "linux payload flag 2 is not 0 or 1")
        #expect(e.offset != nil)
    }

    @Test func noRecordingTimeIsOmittedAndShownAsADash() throws {
        var h = Fixtures.header()
        let dated = Build.header(h)
        h.recordedAt = 0
        let undated = Build.header(h)
        // Tag 16, length 5, the 5-byte varint of 1_795_000_000: seven bytes.
        #expect(undated.count == dated.count - 7)
        #expect(try JournalReader(bytes: undated, name: "h.vmrr").header == h)

        let path = Fixtures.tempPath("undated")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: h)
        try w.append(.end(reason: .debugExit, status: 0), regs: GPRegisters())
        try w.finish()
        let s = try JournalSummary(reader: try JournalReader(path: path))
        #expect(s.render().split(separator: "\n").contains { $0.hasPrefix("recorded at:") && $0.hasSuffix(" -") }, "\(s.render())")
        #expect(s.json().contains("\"recordedAt\": null"), "\(s.json())")
    }
}

/// Header tag 21 (`--chaos SEED`): written only under chaos, so every other
/// journal stays byte-identical; read back; shown by the summary.
@Suite struct ChaosSeedHeaderTests {
    @Test func theSeedRoundTripsAndIsOnlyWrittenWhenSet() throws {
        var h = Fixtures.header()
        let plain = Build.header(h)
        h.chaosSeed = 300
        let seeded = Build.header(h)
        // Tag 21, length 2, the 2-byte varint of 300: four bytes more.
        #expect(seeded.count == plain.count + 4)
        #expect(try JournalReader(bytes: seeded, name: "h.vmrr").header == h)
        #expect(try JournalReader(bytes: plain, name: "h.vmrr").header.chaosSeed == nil)
        h.chaosSeed = UInt64.max
        #expect(try JournalReader(bytes: Build.header(h), name: "h.vmrr").header.chaosSeed == UInt64.max)
    }

    @Test func theSummaryShowsTheSeed() throws {
        var h = Fixtures.header()
        h.chaosSeed = 17
        let path = Fixtures.tempPath("chaos")
        defer { unlink(path) }
        let w = try JournalWriter(path: path, header: h)
        try w.append(.end(reason: .debugExit, status: 0), regs: GPRegisters())
        try w.finish()
        let s = try JournalSummary(reader: try JournalReader(path: path))
        #expect(s.render().split(separator: "\n").contains { $0.hasPrefix("chaos seed:") && $0.hasSuffix(" 17") }, "\(s.render())")
        #expect(s.json().contains("\"chaosSeed\": 17"), "\(s.json())")
        h.chaosSeed = nil
        let plainPath = Fixtures.tempPath("plain")
        defer { unlink(plainPath) }
        let p = try JournalWriter(path: plainPath, header: h)
        try p.append(.end(reason: .debugExit, status: 0), regs: GPRegisters())
        try p.finish()
        let ps = try JournalSummary(reader: try JournalReader(path: plainPath))
        #expect(!ps.render().contains("chaos seed"))
        #expect(ps.json().contains("\"chaosSeed\": null"))
    }

    @Test func aSeedThatIsNotOneVarintIsRefused() throws {
        var extra = ByteSink()
        extra.varint(21); extra.lengthPrefixed([1, 2])
        let bytes = Build.header(version: JournalFormat.version, minReader: JournalFormat.minReaderVersion, extraTLV: extra.bytes)
        let (_, _, err) = openAndReadAll(bytes, name: "h.vmrr")
        let e = try #require(err as? JournalError)
        #expect(e.reason == "header field 21 has 1 extra bytes", "\(e.reason)")
    }
}
