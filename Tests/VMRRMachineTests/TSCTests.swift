import Foundation
import Testing

/// This host cannot trap RDTSC, so a guest that reads the TSC diverges on
/// replay; `vmrr replay` must say that the TSC is why, and where the value
/// first reached a register (docs/GUEST.md, "Time").
extension KVMEndToEnd {
    @Test("a replay that diverges after RDTSC names the rdtsc and its address")
    func tscDivergenceIsExplained() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Print "A", then a few ordinary instructions, then the TSC's low byte to port 0x80, then stop.
        let image = try TinyMultiboot.build("tsc", tail: """
                mov $5, %ecx
            spin:
                dec %ecx
                jnz spin
                .globl read_tsc
            read_tsc:
                rdtsc
                out %al, $0x80
                mov $0, %al
                out %al, $0xf4
            """, in: dir)
        let (rec, journal) = try E2E.record(image, in: dir, name: "tsc", options: ["--clock", "virtual", "--quiet"])
        #expect(rec.status == 1, "\(rec.stderr)")
        // The TSC differs at every run: the first replay that diverges is checked
        // (two TSC reads agreeing in all of EDX:EAX cannot happen on a running clock).
        let r = try Fixtures.vmrr(["replay", journal])
        #expect(r.status == 3, "expected a divergence: \(r.stderr)")
        let d = try E2E.dump(journal)
        let out80 = try #require(d.of("io").first { $0.u("port") == 0x80 })
        // The divergent exit is the OUT to 0x80 (its RIP is past the 2-byte OUT); rdtsc, 2 bytes, is just before.
        #expect(r.stderr.contains("replay diverged at event \(out80.index)"), "\(r.stderr)")
        let rdtscRIP = out80.rip - 4
        #expect(r.stderr.contains("note: the guest read the TSC: rdtsc at rip 0x\(String(rdtscRIP, radix: 16)) (read_tsc)"), "\(r.stderr)")
        #expect(r.stderr.contains("differs between recording and replay"))
        // Every line is one line: the note is the last.
        #expect(r.stderr.split(separator: "\n").last?.contains("note: the guest read the TSC") == true)
    }

    @Test("a divergence without a TSC read gets no TSC note")
    func divergenceWithoutTSCHasNoNote() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try TinyMultiboot.build("same", tail: "mov $1, %al\nout %al, $0x80\nmov $0, %al\nout %al, $0xf4", in: dir)
        let (_, journal) = try E2E.record(a, in: dir, name: "same", options: ["--clock", "virtual", "--quiet"])
        let b = try TinyMultiboot.build("other", tail: "mov $2, %al\nout %al, $0x80\nmov $0, %al\nout %al, $0xf4", in: dir)
        let r = try Fixtures.vmrr(["replay", "--image", b, journal])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(!r.stderr.contains("note: the guest read the TSC"), "\(r.stderr)")
    }
}
