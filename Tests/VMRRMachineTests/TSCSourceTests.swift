import Foundation
import Testing
import VMRRGuest
@testable import VMRRMachine
import VMRRTestSupport

/// The fixture guest `tsc` reads the TSC with rdtsc, with rdmsr of IA32_TSC,
/// with rdtsc and a store and a load, and reads RDRAND; each recording's
/// replay diverges (this host cannot trap these) and the note must name the
/// instruction, its address and symbol, each time.
extension KVMEndToEnd {
    @Test("the divergence note names the nondeterministic instruction, through registers and memory",
          arguments: [("rdtsc", NondeterministicSource.rdtsc, "via_rdtsc", false),
                      ("rdmsr", .rdmsrTSC, "via_rdmsr", false),
                      ("memory", .rdtsc, "via_memory", true),
                      ("rdrand", .rdrand, "via_rdrand", false)])
    func nondeterministicSourceIsNamed(_ mode: String, _ source: NondeterministicSource, _ function: String,
                                       _ throughMemory: Bool) throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = Fixtures.guest("tsc")
        let (rec, journal) = try E2E.record(image, in: dir, name: mode, options: ["--clock", "virtual", "--quiet"],
                                            guestArgs: [mode])
        #expect(rec.status == 0, "\(rec.stderr)")
        let r = try Fixtures.vmrr(["replay", journal])
        #expect(r.status == 3, "expected a divergence: \(r.stderr)")
        #expect(r.stderr.contains("r12    expected"), "R12 carries the value: \(r.stderr)")
        let note = try #require(r.stderr.split(separator: "\n").last.map(String.init))
        #expect(note.contains("note: the guest read \(source.what): \(TSCCheck.instructionName(source)) at rip 0x"),
                "\(r.stderr)")
        #expect(note.contains("produced the value in the divergent register r12"), "\(note)")
        #expect(note.contains("through memory") == throughMemory, "\(note)")
        // The address named holds that instruction, inside the function the note names.
        let ripText = try #require(note.firstRange(of: "at rip 0x").map { note[$0.upperBound...].prefix { $0.isHexDigit } })
        let rip = try #require(UInt64(ripText, radix: 16))
        let loaded = try GuestImage.load(path: image)
        let start = try #require(loaded.symbols.lookup(function))
        // The source line, as binutils' addr2line reads the fixture's DWARF.
        let a2l = try Fixtures.spawn("/usr/bin/addr2line", ["-e", image, "0x" + String(rip, radix: 16)])
        let line = try #require(a2l.stdout.split(separator: "/").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(line.hasPrefix("tsc.c:"), "\(a2l.stdout)")
        #expect(note.contains("(\(function)+0x\(String(rip - start, radix: 16)), at guests/tsc/\(line))"), "\(note)")
        let seg = try #require(loaded.segments.first { rip >= $0.vaddr && rip - $0.vaddr < UInt64($0.fileBytes.count) })
        let off = Int(rip - seg.vaddr)
        let bytes = Array(Array(seg.fileBytes)[off..<min(off + 15, seg.fileBytes.count)])
        #expect(NondeterministicSource.recognize(bytes, rcx: source == .rdmsrTSC ? 0x10 : 0)?.0 == source)
    }
}
