import Foundation
import Testing
import VMRRJournal
import VMRRTestSupport
import VMRRBase

/// Bug-report bundles: one file that replays anywhere, and unpacks back.
@Suite("KVM bundles", .serialized, .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct BundleTests {
    @Test func aBundleReplaysWithNoOtherFilePresent() throws {
        let dir = Fixtures.scratch("bundle")
        // Record from a private copy of the image, so that deleting it proves the bundle carries it.
        let image = dir.appendingPathComponent("bug.elf").path
        try FileManager.default.copyItem(atPath: Fixtures.guest("bug"), toPath: image)
        let journal = dir.appendingPathComponent("bug.vmrr").path
        let rec = try Fixtures.vmrr(["record", image, "-o", journal, "--clock", "virtual"])
        #expect(rec.status == 0)
        let bundle = dir.appendingPathComponent("bug.vmrrpack").path
        let pack = try Fixtures.vmrr(["pack", journal, "-o", bundle])
        #expect(pack.status == 0, "\(pack.stderr)")

        // Move the bundle to another directory, delete everything else.
        let elsewhere = Fixtures.scratch("bundle-elsewhere")
        let moved = elsewhere.appendingPathComponent("report.vmrrpack").path
        try FileManager.default.moveItem(atPath: bundle, toPath: moved)
        try FileManager.default.removeItem(atPath: image)
        try FileManager.default.removeItem(atPath: journal)

        let replay = try Fixtures.vmrr(["replay", moved])
        #expect(replay.status == 0 && replay.stderr.contains("guest status \(rec.status) ("), "\(replay.stderr)")
        #expect(replay.stdout == rec.stdout)
        #expect(!replay.stderr.contains("warning"))
        let dump = try Fixtures.vmrr(["dump", moved, "--json"])
        #expect(dump.status == 0)
        #expect(try Fixtures.jsonEvents(dump.stdout).count > 10)

        // unpack reverses pack: the journal and image come back byte for byte.
        let out = Fixtures.scratch("bundle-unpacked")
        let unpack = try Fixtures.vmrr(["unpack", moved, "-d", out.path])
        #expect(unpack.status == 0, "\(unpack.stderr)")
        let j = try FileIO.read(out.appendingPathComponent("report.vmrr").path)
        let i = try FileIO.read(out.appendingPathComponent("report.image").path)
        #expect(i == (try FileIO.read(Fixtures.guest("bug"))))
        let reader = try JournalReader(bytes: Array(j), name: "unpacked")
        #expect(reader.header.imageSHA256 == SHA256.hash(Array(i)))
        let manifest = try FileIO.readText(out.appendingPathComponent("report.manifest.txt").path)
        #expect(manifest.contains("journal-sha256: \(SHA256.hex(SHA256.hash(Array(j))))"))
        #expect(manifest.contains("image-sha256: \(SHA256.hex(SHA256.hash(Array(i))))"))
        let again = try Fixtures.vmrr(["replay", out.appendingPathComponent("report.vmrr").path,
                                       "--image", out.appendingPathComponent("report.image").path, "--quiet", "--exit-with-guest-status"])
        #expect(again.status == rec.status, "\(again.stderr)")
    }

    @Test func aDamagedBundleIsRefusedInOneLine() throws {
        let dir = Fixtures.scratch("bundle-bad")
        let journal = dir.appendingPathComponent("demo.vmrr").path
        _ = try Fixtures.vmrr(["record", Fixtures.guest("demo"), "-o", journal, "--clock", "virtual"])
        let bundle = dir.appendingPathComponent("demo.vmrrpack").path
        #expect(try Fixtures.vmrr(["pack", journal, "-o", bundle]).status == 0)
        var bytes = try FileIO.read(bundle)
        bytes[bytes.count - 100] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: bundle))
        let r = try Fixtures.vmrr(["replay", bundle])
        #expect(r.status == 2)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(r.stderr.contains("image.elf") && r.stderr.contains("corrupt"))
        // A bundle cannot be packed from a journal whose image changed.
        let other = dir.appendingPathComponent("x.vmrrpack").path
        let p = try Fixtures.vmrr(["pack", journal, "--image", Fixtures.guest("echo"), "-o", other])
        #expect(p.status == 2)
        #expect(p.stderr.contains("SHA-256"))
    }
}
