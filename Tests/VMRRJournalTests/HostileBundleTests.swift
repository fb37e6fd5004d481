import Foundation
import Testing
@testable import VMRRJournal
import VMRRTestSupport
import VMRRBase

/// Bundles built by hand, entry table and all (issue 18, "a bundle never
/// writes outside its target or over its own files"): overlapping or
/// repeated entries, entries inside the table, are refused on one line.
struct HostileBundleTests {
    struct Entry { var name: String; var offset: UInt64; var size: UInt64; var hashOf: [UInt8] }

    /// A version 1 bundle with exactly these table rows, followed by `data`.
    static func bundle(_ entries: [Entry], data: [UInt8]) -> [UInt8] {
        var out = VMRRBundle.magic
        func le(_ v: UInt64, _ n: Int) { for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        le(1, 2); le(UInt64(entries.count), 2); le(0, 4)
        for e in entries {
            var n = Array(e.name.utf8.prefix(32))
            n += [UInt8](repeating: 0, count: 32 - n.count)
            out += n
            le(e.offset, 8); le(e.size, 8)
            out += SHA256.hash(e.hashOf).prefix(16)
        }
        return out + data
    }

    static let manifest = Array("m\n".utf8), journal = Array("JOURNAL!".utf8), image = Array("IMAGE".utf8)
    static func tableEnd(_ n: Int) -> UInt64 { UInt64(VMRRBundle.headerSize + n * VMRRBundle.entrySize) }

    /// The three entries laid end to end after a table of `n` rows.
    static func honest(_ n: Int = 3) -> [Entry] {
        let t = tableEnd(n)
        return [Entry(name: "manifest.txt", offset: t, size: 2, hashOf: manifest),
                Entry(name: "journal.vmrr", offset: t + 2, size: 8, hashOf: journal),
                Entry(name: "image.elf", offset: t + 10, size: 5, hashOf: image)]
    }

    static func refusal(_ bytes: [UInt8]) -> String? {
        do { _ = try VMRRBundle.decode(bytes, name: "hostile.vmrrpack"); return nil } catch { return "\(error)" }
    }

    @Test func anHonestHandBuiltBundleDecodes() throws {
        let b = try VMRRBundle.decode(Self.bundle(Self.honest(), data: Self.manifest + Self.journal + Self.image), name: "ok")
        #expect(b.journal == Self.journal && b.image == Self.image && b.manifest == "m\n")
    }

    @Test func overlappingEntriesAreRefused() throws {
        var e = Self.honest()
        e[2] = Entry(name: "image.elf", offset: e[1].offset + 4, size: 4, hashOf: Array(Self.journal[4..<8]))
        let why = try #require(Self.refusal(Self.bundle(e, data: Self.manifest + Self.journal)))
        #expect(why.contains("overlaps entry 'journal.vmrr'") && !why.contains("\n"), "\(why)")
    }

    @Test func sixteenEntriesOverTheSameBytesAreRefusedWithoutCopyingThem() throws {
        // The attack: 16 rows naming one blob cost 16 copies of it to read.
        let blob = [UInt8](repeating: 0x41, count: 4096)
        let t = Self.tableEnd(16)
        let rows = (0..<16).map { Entry(name: "e\($0)", offset: t, size: UInt64(blob.count), hashOf: blob) }
        let why = try #require(Self.refusal(Self.bundle(rows, data: blob)))
        #expect(why.contains("overlaps entry 'e0'"), "\(why)")
    }

    @Test func anEntryInsideTheTableIsRefused() throws {
        var e = Self.honest()
        let bytes = Self.bundle(e, data: Self.manifest + Self.journal + Self.image)
        e[1] = Entry(name: "journal.vmrr", offset: 16, size: 8, hashOf: Array(bytes[16..<24]))
        let why = try #require(Self.refusal(Self.bundle(e, data: Self.manifest + Self.journal + Self.image)))
        #expect(why.contains("overlaps the bundle's entry table"), "\(why)")
    }

    @Test func aRepeatedNameIsRefused() throws {
        var e = Self.honest(4)
        e.append(Entry(name: "journal.vmrr", offset: e[2].offset + 5, size: 2, hashOf: Self.manifest))
        let why = try #require(Self.refusal(Self.bundle(e, data: Self.manifest + Self.journal + Self.image + Self.manifest)))
        #expect(why.contains("entry 'journal.vmrr' appears twice"), "\(why)")
    }

    @Test func escapesInAnEntryNameStayEscaped() throws {
        var e = Self.honest()
        e[0].name = "\u{1b}]0;owned\u{07}\n"
        e[0].offset = 1   // inside the header: refused, quoting the name
        let why = try #require(Self.refusal(Self.bundle(e, data: Self.manifest + Self.journal + Self.image)))
        #expect(!why.unicodeScalars.contains { $0.value < 0x20 }, "\(why)")
        #expect(why.contains("\\x1b]0;owned\\x07\\x0a"))
    }

    @Test func unknownEntriesAreCheckedAndSkipped() throws {
        var e = Self.honest(4)
        e.append(Entry(name: "future.bin", offset: e[2].offset + 5, size: 2, hashOf: [1, 2]))
        let b = try VMRRBundle.decode(Self.bundle(e, data: Self.manifest + Self.journal + Self.image + [1, 2]), name: "ok")
        #expect(b.image == Self.image)
        e[3].hashOf = [9, 9]
        #expect(Self.refusal(Self.bundle(e, data: Self.manifest + Self.journal + Self.image + [1, 2]))?.contains("future.bin") == true)
    }
}
