import Testing
import VMRRJournal
import VMRRReplay

/// The breakpoint bookkeeping both debug targets share.
@Suite struct BreakpointTableTests {
    func portFilter(_ port: UInt64) -> EventFilter {
        var f = EventFilter()
        f.port = port...port
        return f
    }

    @Test func idsCountUpAndAreNeverReused() throws {
        var t = BreakpointTable()
        #expect(t.add(.address(0x1000)) == 1)
        #expect(t.add(.event(.hlt, EventFilter())) == 2)
        try t.delete(2)
        #expect(t.add(.watch(gpa: 0x2000, length: 4, virtual: nil)) == 3)
        #expect(t.all.map(\.id) == [1, 3])
        t.deleteAll()
        #expect(t.all.isEmpty)
        #expect(t.add(.address(0x1000)) == 4)
    }

    @Test func deletingAnUnknownIdSaysSo() {
        var t = BreakpointTable()
        #expect(throws: DebugError("no breakpoint number 7")) { try t.delete(7) }
        #expect(throws: DebugError("delete 7: no breakpoint number 7")) { try t.delete(7, command: "delete 7") }
    }

    @Test func hitsAreCountedPerBreakpoint() {
        var t = BreakpointTable()
        let a = t.add(.address(0x1000)), b = t.add(.address(0x2000))
        t.recordHit(b); t.recordHit(b); t.recordHit(a)
        t.recordHit(99)
        #expect(t.breakpoint(id: a)?.hits == 1)
        #expect(t.breakpoint(id: b)?.hits == 2)
    }

    @Test func kindsAreSeparated() {
        var t = BreakpointTable()
        _ = t.add(.address(0x1000))
        let w = t.add(.watch(gpa: 0x2000, length: 8, virtual: 0xffff_8000_0000_2000))
        _ = t.add(.event(.io, portFilter(0x3f8)))
        _ = t.add(.address(0x3000))
        #expect(t.addresses == [0x1000, 0x3000])
        #expect(t.atAddress(0x3000)?.id == 4)
        #expect(t.atAddress(0x3001) == nil)
        #expect(t.watches.map(\.id) == [w] && t.watches.first?.gpa == 0x2000 && t.watches.first?.length == 8)
        #expect(t.eventBreakpoints.map(\.id) == [3])
        #expect(t.withoutEventBreakpoints.all.map(\.id) == [1, 2, 4])
    }

    @Test func eventBreakpointsMatchKindAndFilter() throws {
        var t = BreakpointTable()
        _ = t.add(.event(.io, portFilter(0x80)))
        let any = t.add(.event(.hlt, EventFilter()))
        let io = EventRecord(index: 3, regs: GPRegisters(), event: .io(port: 0x3f8, size: 1, direction: .write, value: 0x41))
        let hlt = EventRecord(index: 4, regs: GPRegisters(), event: .hlt)
        #expect(t.eventBreakpoint(matching: io) == nil)
        #expect(t.eventBreakpoint(matching: hlt)?.id == any)
    }

    @Test func eventBreakpointsAreFoundInAJournalRange() throws {
        let s = steps([
            .io(port: 0x80, size: 1, direction: .write, value: 1),   // 0
            .hlt,                                                     // 1
            .io(port: 0x3f8, size: 1, direction: .write, value: 2),  // 2
            .end(reason: .debugExit, status: 0),                     // 3
        ])
        let j = try makeJournal(s)
        var t = BreakpointTable()
        #expect(t.eventBreakpoint(in: j, from: 0, through: 3) == nil)
        let serial = t.add(.event(.io, portFilter(0x3f8)))
        #expect(t.eventBreakpoint(in: j, from: 0, through: 1) == nil)
        #expect(t.eventBreakpoint(in: j, from: 0, through: 3)?.id == serial)
        #expect(t.eventBreakpoint(in: j, from: 3, through: 2) == nil)
    }
}
