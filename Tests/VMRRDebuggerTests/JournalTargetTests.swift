import Testing
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay
import VMRRTestSupport

/// JournalTarget on the fixture journals: what it knows where, and how it moves.
struct JournalTargetTests {
    static func target(_ name: String = "paging") throws -> JournalTarget {
        let reader = try JournalReader(path: Fixtures.journalPath(name))
        return try JournalTarget(reader: reader, ramRanges: Layout.ramRanges(memorySize: reader.header.memorySize))
    }

    @Test func registersAtEveryEventAreTheJournalRecords() throws {
        let t = try Self.target()
        let records = try t.journal.events()
        #expect(t.position == Position(event: 0))
        #expect(t.lastEvent == UInt64(records.count - 1))
        for r in records {
            try t.goto(Position(event: r.index))
            #expect(try t.registers() == r.regs)
            #expect(try t.currentEvent() == r)
        }
    }

    @Test func memoryAndSpecialRegistersAtCheckpointsOnly() throws {
        let t = try Self.target()
        let cp = try #require(t.journal.checkpoints.first { $0.id == 1 })
        try t.goto(Position(event: cp.eventIndex))
        let state = try t.journal.checkpoint(id: 1).state
        #expect(try t.specialRegisters() == state.sregs)
        // The page table root the guest built (pml4 at 0x10a000) maps 0x109000 with P W A.
        #expect(try t.readPhysical(0x10a000, count: 8) == [0x23, 0x90, 0x10, 0, 0, 0, 0, 0])
        // Through the guest's tables: fault 1's page holds the value the guest wrote.
        #expect(try t.readVirtual(0x600000, count: 8) == [1, 0, 0, 0, 0x1e, 0xab, 0xa1, 0x5c])

        try t.goto(Position(event: 155))
        #expect(throws: DebugError("memory at event 155 needs a replay on KVM; the nearest checkpoint is 0 at event 0: goto 0")) {
            try t.readPhysical(0, count: 1)
        }
        #expect(throws: DebugError("special registers at event 155 need a replay on KVM; the nearest checkpoint is 0 at event 0: goto 0")) {
            try t.specialRegisters()
        }
        try t.goto(Position(event: 700))
        #expect(throws: DebugError("memory at event 700 needs a replay on KVM; the nearest checkpoint is 2 at event 802: goto 802")) {
            try t.readVirtual(0x1000, count: 1)
        }
    }

    @Test func readVirtualNamesTheAddressAndTheFault() throws {
        let t = try Self.target()
        try t.goto(Position(event: 501))
        #expect(throws: DebugError("cannot read memory at 0xdead0000: PDPTE 3 is not present (#PF, error code 0x0000)")) {
            try t.readVirtual(0xdead_0000, count: 4)
        }
        // A read across a mapped page into an unmapped one names the first unmapped byte.
        #expect(throws: DebugError("cannot read memory at 0x601000: PTE 1 is not present (#PF, error code 0x0000)")) {
            try t.readVirtual(0x600ff8, count: 16)
        }
        #expect(throws: DebugError("cannot read 8 bytes at guest-physical 0x4000000: outside guest memory (0x4000000 bytes)")) {
            try t.readPhysical(0x400_0000, count: 8)
        }
    }

    @Test func mmuContextIsTheCheckpointAtOrBefore() throws {
        let t = try Self.target()
        try t.goto(Position(event: 501))
        #expect(try t.mmuContext().positionLabel == "checkpoint 1 (event 501)")
        #expect(try t.mmuContext().paging.cr3 == 0x10a000)
        let earlier = try t.mmuContext(at: Position(event: 155))
        #expect(earlier.positionLabel
                == "checkpoint 0 (event 0), the nearest at or before 155: replaying to the exact position needs /dev/kvm")
        #expect(throws: DebugError("position: no such event: the journal has events 0 to 803")) {
            try t.mmuContext(at: Position(event: 804))
        }
    }

    @Test func eventMotionCountsAndStopsAtTheEnds() throws {
        let t = try Self.target()
        #expect(try t.nextEvents(10) == .done)
        #expect(t.position == Position(event: 10))
        #expect(try t.previousEvents(3) == .done)
        #expect(t.position == Position(event: 7))
        #expect(try t.previousEvents(8) == .startOfHistory)
        #expect(t.position == Position(event: 0))
        #expect(try t.previousEvents(1) == .startOfHistory)
        #expect(try t.nextEvents(803) == .done)
        #expect(t.position == Position(event: 803))
        #expect(try t.nextEvents(1) == .endOfHistory)
        try t.goto(Position(event: 800))
        #expect(try t.nextEvents(5) == .endOfHistory)
        #expect(t.position == Position(event: 803))
        #expect(throws: DebugError("goto 804: no such event: the journal has events 0 to 803")) {
            try t.goto(Position(event: 804))
        }
    }

    /// reverse-continue lands exactly where forward continue had stopped, in reverse order.
    @Test func reverseContinueRetracesForwardStops() throws {
        let t = try Self.target()
        let id = try t.addBreakpoint(.event(.pageFault, EventFilter()))
        var forward: [UInt64] = []
        while case .eventBreakpoint(id, let e) = try t.continueForward() {
            #expect(t.position == Position(event: e))
            forward.append(e)
        }
        #expect(forward == [155, 266, 381, 496, 620])
        #expect(t.position == Position(event: t.lastEvent))
        var backward: [UInt64] = []
        while case .eventBreakpoint(id, let e) = try t.reverseContinue() { backward.append(e) }
        #expect(backward == forward.reversed())
        #expect(t.position == Position(event: 0))
        #expect(t.breakpoints.first?.hits == 10)
    }

    @Test func eventBreakpointsStopEventSteps() throws {
        let t = try Self.target()
        var f = EventFilter()
        f.port = 0x501...0x501
        _ = try t.addBreakpoint(.event(.io, f))
        #expect(try t.nextEvents(10_000) == .eventBreakpoint(id: 1, event: 801))
        #expect(try t.previousEvents(10_000) == .startOfHistory)
        try t.deleteBreakpoint(1)
        #expect(t.breakpoints.isEmpty)
        #expect(throws: DebugError("no breakpoint number 1")) { try t.deleteBreakpoint(1) }
    }

    @Test func executionNeedsKVM() throws {
        let reader = try JournalReader(path: Fixtures.journalPath("paging"))
        let t = try JournalTarget(reader: reader, executionUnavailableReason: "--no-kvm was given")
        #expect(throws: DebugError("stepi needs execution on KVM: --no-kvm was given")) { try t.stepInstructions(1) }
        #expect(throws: DebugError("reverse-stepi needs execution on KVM: --no-kvm was given")) {
            try t.reverseStepInstructions(1)
        }
        #expect(throws: DebugError("an address breakpoint needs execution on KVM: --no-kvm was given")) {
            try t.addBreakpoint(.address(0x100000))
        }
        #expect(throws: DebugError("a watchpoint needs execution on KVM: --no-kvm was given")) {
            try t.addBreakpoint(.watch(gpa: 0x1000, length: 8, virtual: nil))
        }
        #expect(throws: DebugError("goto 5+1 needs execution on KVM: --no-kvm was given")) {
            try t.goto(Position(event: 5, instructions: 1))
        }
        #expect(t.position == Position(event: 0))
        #expect(t.executionUnavailableReason == "--no-kvm was given")
        #expect(t.snapshotPositions == [Position(event: 0), Position(event: 501), Position(event: 802)])
    }

    /// A request made before a motion does not stop it; during a long scan it does.
    @Test func interruptsAreClearedWhenAMotionStarts() throws {
        let t = try Self.target()
        t.requestInterrupt()
        #expect(try t.continueForward() == .endOfHistory)
    }
}
