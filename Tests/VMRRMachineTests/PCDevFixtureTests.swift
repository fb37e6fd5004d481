import Foundation
import Testing

/// The legacy PC chips on real KVM with fixtures/guests/pcdev: the guest
/// checks what it reads and which interrupts it takes, the journal holds
/// each injection at an exit, and the replay reproduces all of it.
extension KVMEndToEnd {
    @Test("pcdev: 16550, PIC pair, PIT, testdev IRQ lines and a self-IPI, recorded and replayed", arguments: ["virtual", "host"])
    func pcdevFixture(clock: String) throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(Fixtures.guest("pcdev"), in: dir, name: "pcdev", options: ["--clock", clock, "--quiet"])
        // The guest times five PIT ticks against the paravirtual clock. Under
        // the host clock that interval depends on how loaded the machine is,
        // so only the virtual clock asserts it; every other check must pass
        // under both clocks, and the replay must reproduce whatever happened.
        let timing = "pcdev: pit 1 kHz FAILED\n"
        let failed = r.stdout.split(separator: "\n").filter { $0.hasSuffix(" FAILED") && $0 != "pcdev: FAILED" }
        let timingOnly = clock == "host" && failed == [Substring(timing.dropLast())]
        let status: Int32 = timingOnly ? 1 : 0
        #expect(r.status == status, "\(r.stdout)\(r.stderr)")
        #expect(failed.isEmpty || timingOnly, "\(r.stdout)")
        #expect(r.stdout.hasSuffix(timingOnly ? "pcdev: FAILED\n" : "pcdev: done\n"))
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: status)
        let vectors = d.of("interrupt").compactMap { $0.u("vector") }
        // Five PIT ticks (vector 0x20), testdev IRQ 5 (0x25) and IRQ 10 (0x2a), COM1 (0x24), the self-IPI (0x61).
        #expect(vectors.filter { $0 == 0x20 }.count == 5, "\(vectors)")
        for v: UInt64 in [0x25, 0x2A, 0x61] { #expect(vectors.filter { $0 == v }.count == 1, "vector \(v): \(vectors)") }
        #expect(vectors.contains(0x24))
        // Every injection follows an exit with IF set: the HLT the guest waits in.
        for i in d.of("interrupt") {
            let before = try #require(d.events.last { $0.index < i.index && $0.kind != "checkpoint" })
            #expect(before.kind == "hlt" || before.kind == "io" || before.kind == "mmio", "\(before.line)")
        }
        try E2E.checkReplay(journal, status: status, console: r.stdout)
    }
}
