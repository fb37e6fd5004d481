import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRTestSupport

/// `vmrr unpack` of hostile bundles (issue 18): the names written are vmrr's
/// (BASE.vmrr, BASE.image, BASE.manifest.txt), never the journal header's,
/// nothing is written outside the target directory, through a link, or over
/// the bundle, and an image that fails the journal's SHA-256 is refused
/// before anything is written. No KVM needed.
@Suite("vmrr unpack of hostile bundles")
struct HostileUnpackTests {
    static let journal = Fixtures.journalPath("pcdev"), image = Fixtures.guest("pcdev")

    /// A bundle of the pcdev journal rewritten under `imagePath`, with `image` bytes.
    static func bundle(in dir: URL, imagePath: String, image: [UInt8]? = nil) throws -> String {
        let reader = try JournalReader(path: journal)
        var header = reader.header
        header.imagePath = imagePath
        let rewritten = dir.appendingPathComponent("rewritten.vmrr").path
        try JournalRewrite.write(reader, header: header, to: rewritten)
        let j = try FileIO.read(rewritten)
        try FileManager.default.removeItem(atPath: rewritten)
        let bytes = VMRRBundle(manifest: "hostile\n", journal: j, image: try image ?? FileIO.read(Self.image)).encode()
        let path = dir.appendingPathComponent("report.vmrrpack").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func listing(_ dir: URL) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }

    @Test("names from the journal header are never used", arguments: [
        "/tmp/../../.bashrc", "/x/report.vmrr", "/x/report.manifest.txt", "/x/evil\u{1b}]0;owned\u{07}\nname.elf", "/x/..", "/",
    ])
    func headerNamesAreNotUsed(imagePath: String) throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bundle = try Self.bundle(in: dir, imagePath: imagePath)
        let target = dir.appendingPathComponent("out")
        let r = try Fixtures.vmrr(["unpack", bundle, "-d", target.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Self.listing(target) == ["report.image", "report.manifest.txt", "report.vmrr"])
        #expect(Self.listing(dir) == ["out", "out/report.image", "out/report.manifest.txt", "out/report.vmrr", "report.vmrrpack"])
        #expect(try FileIO.read(target.appendingPathComponent("report.image").path) == (try FileIO.read(Self.image)))
        #expect(!r.stderr.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 }, "\(r.stderr)")
        // The unpacked journal finds its image beside it (BASE.image, by SHA-256): symbols with no --image.
        let sym = try Fixtures.vmrr(["debug", target.appendingPathComponent("report.vmrr").path, "--no-kvm", "--batch", "-x", "/dev/stdin"],
                                    stdin: "info symbol $pc\n")
        #expect(sym.status == 0 && sym.stdout.contains("_start"), "\(sym.stdout)\(sym.stderr)")
    }

    @Test func anImageFailingTheJournalsSHA256IsRefusedBeforeAnythingIsWritten() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        var other = try FileIO.read(Self.image)
        other[other.count / 2] ^= 1
        let bundle = try Self.bundle(in: dir, imagePath: "/x/pcdev.elf", image: other)
        let target = dir.appendingPathComponent("out")
        let r = try Fixtures.vmrr(["unpack", bundle, "-d", target.path])
        #expect(r.status == ExitStatus.unusableInput && r.stderrLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("SHA-256") && r.stderr.contains("nothing unpacked"), "\(r.stderr)")
        #expect(Self.listing(target).isEmpty)
    }

    @Test func aSymbolicLinkInTheTargetIsNotFollowed() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bundle = try Self.bundle(in: dir, imagePath: "/x/pcdev.elf")
        let target = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let victim = dir.appendingPathComponent("victim").path
        try Data("keep".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: target.appendingPathComponent("report.vmrr").path, withDestinationPath: victim)
        let r = try Fixtures.vmrr(["unpack", bundle, "-d", target.path])
        #expect(r.status == ExitStatus.unusableInput && r.stderrLines.count == 1 && r.stderr.contains("symbolic link"), "\(r.stderr)")
        #expect(try FileIO.readText(victim) == "keep")
    }

    @Test func theBundleItselfIsNeverOverwritten() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bundle = try Self.bundle(in: dir, imagePath: "/x/pcdev.elf")
        let before = try FileIO.read(bundle)
        // A hard link to the bundle under the name the journal would get.
        let target = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        #expect(link(bundle, target.appendingPathComponent("report.vmrr").path) == 0)
        let r = try Fixtures.vmrr(["unpack", bundle, "-d", target.path])
        #expect(r.status == ExitStatus.unusableInput && r.stderr.contains("is the bundle"), "\(r.stderr)")
        #expect(try FileIO.read(bundle) == before)
        // pack refuses to write the bundle over its journal.
        let j = dir.appendingPathComponent("j.vmrr").path
        try FileManager.default.copyItem(atPath: Self.journal, toPath: j)
        let p = try Fixtures.vmrr(["pack", j, "--image", Self.image, "-o", j])
        #expect(p.status == ExitStatus.unusableInput && p.stderr.contains("is the journal"), "\(p.stderr)")
        #expect(try FileIO.read(j) == (try FileIO.read(Self.journal)))
    }
}

/// Inputs that never end (issue 18: /dev/zero as a journal grew past 6 GB).
struct EndlessInputTests {
    @Test(arguments: ["/dev/zero", "/dev/urandom"])
    func aDeviceIsNotAJournal(device: String) throws {
        for args in [["dump", device], ["dump", "--json", device], ["debug", device, "--no-kvm", "--batch", "-x", "/dev/null"],
                     ["mmu", device, "--no-kvm", "pt", "0"], ["unpack", device, "-d", "/nonexistent"], ["pack", device]] {
            let r = try Fixtures.vmrr(args, timeout: 120)
            #expect(r.status == ExitStatus.unusableInput && r.stderrLines.count == 1 && r.stderr.contains("a device, not a journal"),
                    "\(args): \(r.status): \(r.stderr)")
        }
    }
}
