import Foundation
import Testing
@testable import VMRRJournal
import VMRRBase
import VMRRTestSupport

@Suite struct FormatTests {
    static func records() -> [EventRecord] {
        Fixtures.everyKind.enumerated().map { i, e in
            var r = GPRegisters()
            r.rip = 0x10_0034 + UInt64(i)
            return EventRecord(index: UInt64(i), regs: r, event: e)
        }
    }

    /// The fields each kind must carry beyond index, kind and rip.
    static func expectedFields(_ k: EventKind) -> Set<String> {
        switch k {
        case .io: return ["port", "size", "dir", "value"]
        case .mmio, .stage2Fault: return ["gpa", "size", "dir", "value"]
        case .pageFault: return ["gva", "error_code", "cr3", "fault_rip"]
        case .clock: return ["ns"]
        case .timer: return ["deadline"]
        case .interrupt: return ["vector"]
        case .input: return ["byte", "port"]
        case .checkpoint: return ["id"]
        case .error: return ["reason", "suberror", "data"]
        case .end: return ["status", "reason"]
        case .msr: return ["msr", "dir", "value", "fault"]
        case .assist: return ["action", "length"]
        case .switchVCPU: return ["to"]
        case .startup: return ["target", "vector"]
        case .warmReset: return ["segment", "offset"]
        case .preempt: return ["digest"]
        case .hlt, .shutdown, .nmi: return []
        }
    }

    @Test func jsonIsValidAndComplete() throws {
        for r in Self.records() {
            let line = EventFormat.json(r)
            #expect(!line.contains("\n"))
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            let kind = r.event.kind
            #expect(Set(obj.keys) == Set(["index", "kind", "rip"]).union(Self.expectedFields(kind)), "\(line)")
            #expect((obj["index"] as? NSNumber)?.uint64Value == r.index)
            #expect(obj["kind"] as? String == kind.name)
            #expect((obj["rip"] as? NSNumber)?.uint64Value == r.rip)
            // Numbers are JSON numbers, never strings (data, dir, kind and end reason are the strings).
            for (k, v) in obj where !["kind", "dir", "data", "action", "fault"].contains(k) && !(kind == .end && k == "reason") {
                #expect(v is NSNumber, "\(k) in \(line)")
            }
            switch r.event {
            case let .io(port, size, direction, value):
                #expect((obj["port"] as? NSNumber)?.uint16Value == port)
                #expect((obj["size"] as? NSNumber)?.uint8Value == size)
                #expect(obj["dir"] as? String == (direction == .write ? "out" : "in"))
                #expect((obj["value"] as? NSNumber)?.uint64Value == value)
            case let .mmio(gpa, _, direction, value), let .stage2Fault(gpa, _, direction, value):
                #expect((obj["gpa"] as? NSNumber)?.uint64Value == gpa)
                #expect(obj["dir"] as? String == (direction == .write ? "write" : "read"))
                #expect((obj["value"] as? NSNumber)?.uint64Value == value)
            case let .error(_, _, data):
                #expect(obj["data"] as? String == data.map { String(format: "%02x", $0) }.joined())
            case let .msr(index, direction, value, fault):
                #expect((obj["msr"] as? NSNumber)?.uint32Value == index)
                #expect(obj["dir"] as? String == (direction == .write ? "write" : "read"))
                #expect((obj["value"] as? NSNumber)?.uint64Value == value)
                #expect(obj["fault"] as? Bool == fault, "\(line)")
            case let .assist(action, length):
                #expect(obj["action"] as? String == action.name)
                #expect((obj["length"] as? NSNumber)?.uint8Value == length)
            case let .end(reason, status):
                #expect(obj["reason"] as? String == reason.name)
                #expect((obj["status"] as? NSNumber)?.int32Value == status)
            case let .clock(ns):
                #expect((obj["ns"] as? NSNumber)?.uint64Value == ns)
            default: break
            }
        }
    }

    @Test func jsonEscapesStrings() throws {
        let s = "a\"b\\c\nd\u{1}é"
        let lit = EventFormat.jsonString(s)
        let back = try JSONSerialization.jsonObject(with: Data("[\(lit)]".utf8)) as? [String]
        #expect(back == [s])
    }

    @Test func textLinesAreAligned() {
        var regs = GPRegisters()
        regs.rip = 0x10_0034
        let line = EventFormat.text(EventRecord(index: 12, regs: regs, event: .io(port: 0x3f8, size: 1, direction: .write, value: 0x48)))
        #expect(line.hasPrefix("#     12  rip=0x0000000000100034  io "))
        #expect(line.hasSuffix("out port=0x3f8 size=1 value=0x48 'H'"))
        let lines = Self.records().map { EventFormat.text($0) }
        // The kind starts at column 34 and the details at the same column on every line.
        let detailColumn = 34 + EventKind.allCases.map { $0.name.count }.max()! + 1
        for (l, r) in zip(lines, Self.records()) {
            let chars = Array(l)
            #expect(String(chars[34...]).hasPrefix(r.event.kind.name), "\(l)")
            if chars.count > detailColumn {
                #expect(chars[detailColumn - 1] == " " && chars[detailColumn] != " ", "\(l)")
            } else {
                #expect(l.count == 34 + r.event.kind.name.count, "\(l)")
            }
        }
        #expect(!lines.contains { $0.hasSuffix(" ") })
    }

    @Test func summaryHasTheFacts() throws {
        let path = Fixtures.tempPath("summary")
        defer { unlink(path) }
        let events: [Event] = [.clock(ns: 100), .io(port: 0x3f8, size: 1, direction: .write, value: 0x41),
                               .clock(ns: 2_500_000_000), .end(reason: .debugExit, status: 3)]
        try Fixtures.write(path: path, events: events, checkpointsAt: [0: Fixtures.checkpoint(id: 0, eventIndex: 0, full: true)])
        let s = try JournalSummary(reader: try JournalReader(path: path))
        #expect(s.countsByKind[.clock] == 2)
        #expect(s.lastClockNS == 2_500_000_000)
        let text = s.render()
        let h = Fixtures.header()
        for fragment in [h.imagePath, hexBytes(h.imageSHA256), "memory 64 MiB", "clock virtual", "boot multiboot", "strict yes",
                         "cpuid 2 leaves", "every 5000 events", h.guestCommandLine, h.hostKernel, h.hostCPU,
                         "MMU paravirtual (shadow paging) (kvm_pvm tdp_mmu=N)", "2026-11-18T", h.commandLine, "0.1.0",
                         "clock 2", "io 1", "end 1", "2500000000 ns", "debug-exit, status 3", "checkpoints:", "1, "] {
            #expect(text.contains(fragment), "missing \(fragment) in\n\(text)")
        }
        #expect(!text.contains("note:"))
    }

    @Test func iso8601() {
        #expect(JournalSummary.iso8601(0) == "1970-01-01T00:00:00Z")
        #expect(JournalSummary.iso8601(951_782_400) == "2000-02-29T00:00:00Z")
        #expect(JournalSummary.iso8601(1_795_000_000) == "2026-11-18T11:06:40Z")
    }
}
