import Foundation
import Testing
import VMRRBase
import VMRRGuest
import VMRRTestSupport

/// The same views at exact events, replayed on KVM. Every run names the committed ELF with
/// --image, so these pass wherever the checkout is (the journal's header holds the path
/// it was recorded from).
extension MMUViewTests {
    @Suite("KVM MMU views", .serialized, .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
    struct KVM {
        /// `vmrr mmu` replaying on KVM.
        static func live(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            try MMURun.text(["--image", PagingGuest.image] + args, sourceLocation: sourceLocation)
        }
        static func liveJSON(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
            try MMURun.json(["--image", PagingGuest.image] + args, sourceLocation: sourceLocation)
        }

        /// The journal's page_fault events (`vmrr dump --json --kind page_fault`), checked
        /// against the header's fault table, paired with its rows.
        static func faultEvents() throws -> [(fault: PagingGuest.Fault, event: DumpEvent)] {
            let r = try Fixtures.vmrr(["dump", "--json", "--kind", "page_fault", PagingGuest.journal])
            try #require(r.status == 0, "\(r.stderr)")
            let events = try E2E.parse(r).events
            try #require(events.count == PagingGuest.faults.count, "\(events.map(\.line))")
            let pml4 = try #require(try GuestImage.load(path: PagingGuest.image).symbols.lookup("pml4"))
            for (f, e) in zip(PagingGuest.faults, events) {
                #expect(e.kind == "page_fault" && e.u("gva") == f.cr2 && e.u("error_code") == PagingGuest.faultErrorCode,
                        "\(f.testDescription): \(e.line)")
                #expect(e.u("cr3") == pml4, "\(e.line)")
            }
            return Array(zip(PagingGuest.faults, events))
        }

        static func positionLabel(_ event: UInt64) -> String { "event \(event) (replayed on KVM)" }

        @Test("fault at each page_fault event: the recorded gva and error code, and a walk failing where the guest had no entry yet")
        func faults() throws {
            for (f, e) in try Self.faultEvents() {
                let text = try Self.live(["--at", String(e.index), "fault"])
                let lines = text.split(separator: "\n").map(String.init)
                let rip = try #require(e.u("fault_rip")), cr3 = try #require(e.u("cr3"))
                #expect(lines.first == "page fault at event \(e.index): gva \(hex(f.cr2)), error code 0x2 "
                        + "(not present, write, supervisor), faulting rip \(hex(rip)), cr3 \(hex(cr3))", "\(text)")
                #expect(lines.count > 1 && lines[1].hasPrefix("pt \(MMUOutput.hex16(f.cr2)): 4-level paging")
                        && lines[1].hasSuffix(", supervisor write, at \(Self.positionLabel(e.index))"), "\(text)")
                #expect(MMUOutput.outcome(text) == "  => #PF, error code 0x0002 (W) at \(f.failingLevel): "
                        + "\(f.failingLevel) \(f.failingIndex) is not present", "\(f.testDescription):\n\(text)")
                // Every level above the missing entry is present; the missing one is zero.
                let rows = MMUOutput.rows(text)
                #expect(rows.count == 4 - f.newTables.count, "\(text)")
                #expect(rows.dropLast().allSatisfy { $0.flags.contains("P") } && rows.last?.value == 0)
                #expect(rows.first?.table == cr3)

                let j = try Self.liveJSON(["--at", String(e.index), "fault"])
                let fault = try #require(j.obj("fault"))
                #expect(fault.int("event") == e.index && fault.int("gva") == f.cr2 && fault.str("kind") == "page_fault")
                #expect(fault.int("errorCode") == PagingGuest.faultErrorCode && fault.int("cr3") == cr3 && fault.int("faultRip") == rip)
                let walk = try #require(j.obj("walk"))
                #expect(walk.str("command") == "pt" && walk.str("position") == Self.positionLabel(e.index))
                let outcome = try #require(walk.obj("result")?.obj("outcome"))
                // The walk's error code is the one the CPU pushed.
                #expect(outcome.str("result") == "pageFault" && outcome.int("errorCode") == PagingGuest.faultErrorCode)
                #expect(outcome.str("level") == f.failingLevel)
            }
        }

        @Test("pt between two faults: the first fault's page is mapped, the second's not (needs the replay to the exact event)")
        func ptBetweenFaults() throws {
            let faults = try Self.faultEvents()
            let checkpoints = Set(try E2E.dump(PagingGuest.journal).checkpoints.map(\.index))
            for (a, b) in zip(faults, faults.dropFirst()) {
                var at = (a.event.index + b.event.index) / 2
                while checkpoints.contains(at) { at += 1 }
                let mapped = try Self.liveJSON(["--at", String(at), "pt", hex(a.fault.leafGVA)])
                #expect(mapped.str("position") == Self.positionLabel(at))
                let m = try #require(mapped.obj("result")?.obj("outcome"))
                #expect(m.str("result") == "translated" && m.int("gpa") == a.fault.leafGPA && m.int("pageSize") == PagingGuest.kib4,
                        "\(a.fault.testDescription) at \(at): \(m)")
                let text = try Self.live(["--at", String(at), "pt", hex(b.fault.cr2), "--write"])
                #expect(MMUOutput.outcome(text) == "  => #PF, error code 0x0002 (W) at \(b.fault.failingLevel): "
                        + "\(b.fault.failingLevel) \(b.fault.failingIndex) is not present", "\(b.fault.testDescription) at \(at):\n\(text)")
                #expect(text.contains(", supervisor write, at \(Self.positionLabel(at))\n"))
                // Without KVM the same position shows the nearest checkpoint instead, and says so.
                let offline = try MMURun.offline(["--at", String(at), "pt", hex(a.fault.leafGVA)])
                #expect(offline.contains(", the nearest at or before event \(at): replaying to the exact event needs /dev/kvm"))
            }
        }

        @Test("ptdiff across a fault lists exactly the 4 KiB page the handler mapped", arguments: PagingGuest.faults)
        func ptdiffAcrossFault(_ f: PagingGuest.Fault) throws {
            let e = try #require(try Self.faultEvents().first { $0.fault.n == f.n }?.event)
            // Just before the fault's exit, and the next exit (the handler makes none: its first
            // exit after the fault is the guest's next console write, once the page is mapped).
            let before = e.index - 1, after = e.index + 1
            let text = try Self.live(["--at", String(after), "--compare-at", String(before), "ptdiff"])
            let expected = DumpRange(start: f.leafGVA, end: f.leafGVA &+ PagingGuest.kib4, rights: "RW kern x", level: "PTE",
                                     target: f.leafGPA)
            #expect(try MMUOutput.ranges(text, marker: "+") == [expected], "\(text)")
            #expect(try MMUOutput.ranges(text, marker: "-").isEmpty && MMUOutput.ranges(text, marker: "~").isEmpty)
            #expect(text.hasSuffix("\n1 added, 0 removed, 0 changed\n"), "\(text)")
            #expect(text.hasPrefix("ptdiff guest: \(Self.positionLabel(before)) -> \(Self.positionLabel(after))\n"))

            let j = try Self.liveJSON(["--at", String(after), "--compare-at", String(before), "ptdiff"])
            let changes = try #require(j.obj("result")?.list("changes"))
            #expect(changes.count == 1 && changes.first?.str("kind") == "added" && changes.first?["old"] is NSNull)
            let new = try #require(changes.first?.obj("new"))
            #expect(new.int("start") == f.leafGVA && new.int("size") == PagingGuest.kib4 && new.int("target") == f.leafGPA)
            #expect(new.str("level") == "PTE")
        }

        @Test("ept at a replayed position: a real host virtual address, and a host frame or n/a with a reason")
        func eptLive() throws {
            let faults = try Self.faultEvents()
            let at = faults[0].event.index + 1
            for gpa: UInt64 in [faults[0].fault.leafGPA, 0x10_a008, PagingGuest.memorySize - 8] {
                let text = try Self.live(["--at", String(at), "ept", hex(gpa)])
                #expect(text.split(separator: "\n").first?.hasSuffix(", at \(Self.positionLabel(at))") == true, "\(text)")
                let line = MMUOutput.outcome(text)
                let prefix = "  => slot \"ram0\" [0x0-\(hex(PagingGuest.memorySize))): hva "
                try #require(line.hasPrefix(prefix), "\(text)")
                let rest = line.dropFirst(prefix.count)
                let hva = try #require(MMUOutput.hexValue(rest.prefix { $0 != "," }))
                // A user-space address of the mmap'd RAM: not the journal's placeholder (0 + gpa),
                // page-aligned relative to the GPA.
                #expect(hva != gpa && hva > gpa && hva < 1 << 47, "\(hex(hva))")
                #expect((hva - gpa) & 0xfff == 0)
                let frame = rest.drop { $0 != "," }.dropFirst(2)
                if frame.hasPrefix("host frame n/a: ") {
                    let reason = frame.dropFirst("host frame n/a: ".count).prefix { $0 != ";" }
                    #expect(!reason.isEmpty, "\(line)")
                } else {
                    // "host frame 0xPFN (hpa 0xHPA)": the HPA is the frame plus the page offset.
                    let words = frame.split(separator: " ")
                    try #require(words.count >= 5 && words[0] == "host" && words[1] == "frame", "\(line)")
                    let pfn = try #require(MMUOutput.hexValue(words[2]))
                    let hpa = try #require(MMUOutput.hexValue(words[4].prefix { $0 != ")" }))
                    #expect(pfn != 0 && hpa == pfn << 12 | (hva & 0xfff), "\(line)")
                }
                let j = try Self.liveJSON(["--at", String(at), "ept", hex(gpa)])
                let outcome = try #require(j.obj("result")?.obj("walk")?.obj("outcome"))
                let jhva = try #require(outcome.int("hva"))
                #expect(jhva != gpa && (jhva - gpa) & 0xfff == 0 && jhva < 1 << 47)
                let hf = try #require(outcome.obj("hostFrame"))
                #expect((hf.int("frame") ?? 0) > 0 || hf.str("reason")?.isEmpty == false, "\(hf)")
            }
        }

        @Test("--image lets vmrr mmu replay a journal whose recorded image is gone")
        func imageOption() throws {
            let dir = Fixtures.scratch()
            defer { try? FileManager.default.removeItem(at: dir) }
            let copy = dir.appendingPathComponent("paging.elf").path
            try FileManager.default.copyItem(atPath: PagingGuest.image, toPath: copy)
            let (rec, journal) = try E2E.record(copy, in: dir, name: "gone", options: ["--clock", "virtual", "--quiet"])
            try #require(rec.status == 0, "\(rec.stderr)")
            try FileManager.default.removeItem(atPath: copy)
            let d = try E2E.dump(journal)
            let at = try #require(d.of("page_fault").first?.index) + 1
            let without = try Fixtures.vmrr(["mmu", journal, "--at", String(at), "pt", "0x600000"])
            #expect(without.status == 2 && without.stderrLines.count == 1 && without.stderr.contains("pass --image PATH"),
                    "\(without.stderr)")
            let with = try MMURun.json(["--image", PagingGuest.image, "--at", String(at), "pt", "0x600000"], journal: journal)
            #expect(with.str("position") == Self.positionLabel(at))
            #expect(with.obj("result")?.obj("outcome")?.int("gpa") == PagingGuest.faults[0].leafGPA)
        }
    }
}
