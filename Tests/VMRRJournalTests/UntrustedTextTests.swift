import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport

/// Names and strings read from a damaged or hostile file reach error
/// messages escaped, so an error stays one line and cannot carry terminal
/// escapes. Found by the 100,000-case property run (bundle entry names);
/// the other two places were found by looking for the same pattern.
@Suite struct UntrustedTextTests {
    static let hostile = "a\nb\u{1b}[31mc\\"

    @Test func bundleEntryNamesAreEscaped() throws {
        var b = VMRRBundle(manifest: "m\n", journal: [1, 2, 3], image: [4]).encode()
        // Rename the first entry and break its hash.
        let name = Array(Self.hostile.utf8)
        for k in 0..<32 { b[16 + k] = k < name.count ? name[k] : 0 }
        b[16 + 48] ^= 1
        do {
            _ = try VMRRBundle.decode(b, name: "x.vmrrpack")
            Issue.record("no error")
        } catch let e as JournalError {
            #expect(e.reason == #"entry 'a\x0ab\x1b[31mc\x5c' is corrupt (SHA-256 mismatch)"#)
        }
        // Past the end, too.
        for k in 0..<8 { b[16 + 40 + k] = 0xff }
        #expect { try VMRRBundle.decode(b, name: "x.vmrrpack") } throws: {
            ($0 as? JournalError)?.reason.hasPrefix(#"entry 'a\x0ab\x1b[31mc\x5c' (offset"#) == true
        }
    }

    @Test func aFutureVersionsVmrrVersionIsEscaped() throws {
        var tlv = ByteSink()
        tlv.varint(18); tlv.lengthPrefixed(Array("9.9\n\u{1b}]0;owned\u{07}".utf8))
        var s = ByteSink()
        s.raw(JournalFormat.fileMagic)
        s.u16(5); s.u16(5)
        s.u32(UInt32(tlv.bytes.count))
        s.raw(tlv.bytes)
        s.u32(CRC32C.checksum(s.bytes))
        #expect { try JournalReader(bytes: s.bytes, name: "f.vmrr") } throws: {
            ($0 as? JournalError)?.reason == #"journal format version 5 needs vmrr 9.9\x0a\x1b]0;owned\x07 or newer; this vmrr reads versions up to 4"#
        }
    }

    @Test func aHugeVersionStringIsCappedInTheMessage() throws {
        var tlv = ByteSink()
        tlv.varint(18); tlv.lengthPrefixed(Array(String(repeating: "9", count: 100_000).utf8))
        var s = ByteSink()
        s.raw(JournalFormat.fileMagic)
        s.u16(99); s.u16(99)
        s.u32(UInt32(tlv.bytes.count))
        s.raw(tlv.bytes)
        s.u32(CRC32C.checksum(s.bytes))
        #expect { try JournalReader(bytes: s.bytes, name: "f.vmrr") } throws: { e in
            let reason = (e as? JournalError)?.reason ?? ""
            return reason.count < 400 && reason.contains("(99800 more bytes)")
        }
    }

    @Test func checkpointBlobNamesAreEscaped() throws {
        var c = Fixtures.checkpoint(id: 1, eventIndex: 0)
        c.state.blobs = [Self.hostile: [1], "z": [2]]
        var bytes = try CheckpointCodec.encode(c, path: "t")
        // Rename "z" to the hostile name: the second blob now repeats the first.
        let hostile = Array(Self.hostile.utf8)
        let at = try #require((0..<bytes.count).first { bytes[$0] == 1 && bytes[$0 + 1] == UInt8(ascii: "z") })
        bytes.replaceSubrange(at..<(at + 2), with: [UInt8(hostile.count)] + hostile)
        var r = ByteReader(bytes, name: "t")
        #expect { try CheckpointCodec.decode(&r, pageLimit: UInt64(c.pages.count)) } throws: {
            ($0 as? JournalError)?.reason == #"checkpoint 1: blob a\x0ab\x1b[31mc\x5c appears twice"#
        }
    }
}
