import Foundation
import Testing
import VMRRBase
import VMRRJournal
import VMRRTestSupport

/// `vmrr dump` for tools: the registers of every event in JSON, the summary
/// as one JSON object, and the event kinds its help lists. No KVM needed:
/// these read the committed journals.
@Suite("vmrr dump and unpack for tools")
struct DumpTests {
    static let journal = Fixtures.journalPath("pcdev")

    static func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
    }

    @Test("--json --registers: each event's 18 registers, equal to what the journal reader decodes")
    func registers() throws {
        let r = try Fixtures.vmrr(["dump", "--json", "--registers", Self.journal])
        #expect(r.status == 0, "\(r.stderr)")
        let objects = try Self.objects(r.stdout)
        let reader = try JournalReader(path: Self.journal)
        #expect(UInt64(objects.count) == reader.eventCount)
        for (i, o) in objects.enumerated() where i % 7 == 0 || i == objects.count - 1 {
            let regs = try #require(o["regs"] as? [String: NSNumber], "event \(i): \(o)")
            #expect(regs.count == GPRegisters.names.count)
            let record = try reader.event(at: UInt64(i))
            for (k, name) in GPRegisters.names.enumerated() {
                #expect(regs[name]?.uint64Value == record.regs[k], "event \(i) \(name)")
            }
            #expect((o["rip"] as? NSNumber)?.uint64Value == record.regs.rip)
        }
        // Without --registers the objects stay as they were.
        let plain = try Fixtures.vmrr(["dump", "--json", "--count", "3", Self.journal])
        #expect(try Self.objects(plain.stdout).allSatisfy { $0["regs"] == nil })
    }

    @Test("--registers without --json is refused with a one-line reason")
    func registersNeedJSON() throws {
        let r = try Fixtures.vmrr(["dump", "--registers", Self.journal])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--registers needs --json"), "\(r.stderr)")
    }

    @Test("--summary --json: one object whose counts agree with the events listed")
    func summaryJSON() throws {
        let r = try Fixtures.vmrr(["dump", "--summary", "--json", Self.journal])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let events = try Self.objects(try Fixtures.vmrr(["dump", "--json", Self.journal]).stdout)
        #expect((o["events"] as? NSNumber)?.intValue == events.count)
        let byKind = try #require(o["eventsByKind"] as? [String: NSNumber])
        #expect(Set(byKind.keys) == Set(EventKind.allCases.map(\.name)))
        for kind in EventKind.allCases {
            #expect(byKind[kind.name]?.intValue == events.filter { $0["kind"] as? String == kind.name }.count, "\(kind.name)")
        }
        let end = try #require(o["end"] as? [String: Any])
        #expect(end["reason"] as? String == (events.last?["reason"] as? String))
        #expect((o["formatVersion"] as? NSNumber)?.intValue == 2)
        #expect(o["truncated"] is NSNull)
        // The text summary is still the default.
        let text = try Fixtures.vmrr(["dump", "--summary", Self.journal])
        #expect(text.stdout.hasPrefix("journal:"), "\(text.stdout.prefix(80))")
    }

    @Test("dump --help lists every event kind, msr and assist included")
    func helpListsKinds() throws {
        let r = try Fixtures.vmrr(["dump", "--help"])
        let help = r.stdout.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for kind in EventKind.allCases { #expect(help.contains(kind.name), "\(kind.name) missing from: \(help)") }
    }

    @Test("unpack -d creates a missing directory, and refuses one under a file with one line")
    func unpackCreatesDirectory() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bundle = dir.appendingPathComponent("pcdev.vmrrpack").path
        let pack = try Fixtures.vmrr(["pack", Self.journal, "--image", Fixtures.guest("pcdev"), "-o", bundle])
        #expect(pack.status == 0, "\(pack.stderr)")
        let target = dir.appendingPathComponent("new/deeper").path
        let r = try Fixtures.vmrr(["unpack", bundle, "-d", target])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: target + "/pcdev.vmrr"))
        #expect(FileManager.default.fileExists(atPath: target + "/pcdev.image"))
        // The unpacked journal finds the unpacked image beside it (by name and SHA-256), not
        // only at the recorded path: its symbols are there with no --image.
        let moved = dir.appendingPathComponent("moved")
        try FileManager.default.createDirectory(at: moved, withIntermediateDirectories: true)
        let journal = moved.appendingPathComponent("pcdev.vmrr").path, image = moved.appendingPathComponent("pcdev.elf").path
        try FileManager.default.copyItem(atPath: target + "/pcdev.vmrr", toPath: journal)
        try FileManager.default.copyItem(atPath: target + "/pcdev.image", toPath: image)
        // A header naming a path that does not exist, as on another machine.
        let reader = try JournalReader(path: journal)
        var header = reader.header
        header.imagePath = "/nonexistent/build/pcdev.elf"
        let renamed = moved.appendingPathComponent("elsewhere.vmrr").path
        try JournalRewrite.write(reader, header: header, to: renamed)
        let sym = try Fixtures.vmrr(["debug", renamed, "--no-kvm", "--batch", "-x", "/dev/stdin"], stdin: "info symbol $pc\n")
        #expect(sym.status == 0 && sym.stdout.contains("_start") && !sym.stdout.contains("No symbol"), "\(sym.stdout)\(sym.stderr)")
        // A file of that name whose bytes differ is not taken for it.
        try FileManager.default.removeItem(atPath: image)
        #expect(FileManager.default.createFile(atPath: image, contents: Data("not the image".utf8)))
        let other = try Fixtures.vmrr(["debug", renamed, "--no-kvm", "--batch", "-x", "/dev/stdin"], stdin: "info symbol $pc\n")
        #expect(other.stdout.contains("No symbol matches"), "\(other.stdout)\(other.stderr)")
        let file = dir.appendingPathComponent("plain").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        let refused = try Fixtures.vmrr(["unpack", bundle, "-d", file + "/sub"])
        #expect(refused.status == 2)
        #expect(refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("cannot create the directory"), "\(refused.stderr)")
    }
}
