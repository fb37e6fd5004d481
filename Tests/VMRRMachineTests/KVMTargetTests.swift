import Foundation
import Testing
import VMRRDevices
import VMRRGuest
import VMRRJournal
import VMRRMachine
import VMRRReplay

/// Time travel on KVM: the debugger's target must land exactly where forward
/// execution had been.
@Suite("KVM time travel", .serialized, .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct KVMTargetTests {
    static func record(_ guest: String, interval: UInt64 = 200, input: [UInt8] = []) throws -> String {
        let dir = Fixtures.scratch("target-\(guest)")
        let path = dir.appendingPathComponent("\(guest).vmrr").path
        var o = RecordOptions(imagePath: Fixtures.guest(guest), journalPath: path)
        o.clock = .virtual
        o.checkpointInterval = interval
        _ = try RecordSession.record(o, input: BufferedInput(bytes: input), output: CapturedOutput())
        return path
    }

    @Test func aCheckpointRestoredOverAnEarlierOneEqualsOneRestoredFromZero() throws {
        let reader = try JournalReader(path: try Self.record("paging", interval: 50))
        #expect(reader.checkpoints.count >= 3)
        let restorer = CheckpointRestorer(reader: reader)
        let last = reader.checkpoints.map(\.id).max()!
        func machine() throws -> Machine {
            try Machine(memorySize: reader.header.memorySize, cpuid: reader.header.cpuidSet)
        }
        let full = try machine(), delta = try machine()
        let fullPages = try restorer.restore(last, into: full)
        var deltaPages = try restorer.restore(1, into: delta)
        deltaPages += try restorer.restore(last, into: delta, over: 1)
        #expect(Set(fullPages) == Set(deltaPages))
        #expect(full.memoryDigest() == delta.memoryDigest())
        #expect(try full.captureState().regs == (try delta.captureState().regs))
        #expect(try full.captureState().regs == (try reader.checkpoint(id: last).state.regs))
    }

    @Test func theTimelineSeeksBackAndForthToTheSameState() throws {
        let reader = try JournalReader(path: try Self.record("paging", interval: 50))
        let timeline = try Timeline(reader: reader)
        #expect(timeline.position == Position(event: 0))
        #expect(timeline.snapshotPositions == [Position(event: 0)])
        let far = min(timeline.lastEvent, 180)
        try timeline.goto(Position(event: far))
        let forward = try KVMTargetTests.regsAt(timeline)
        try timeline.goto(Position(event: 3))
        #expect(timeline.position == Position(event: 3))
        try timeline.goto(Position(event: far))
        #expect(try KVMTargetTests.regsAt(timeline) == forward)
        #expect(timeline.session.replayer.lastMatched?.index == far)
        #expect(throws: DebugError("goto \(timeline.lastEvent + 1): no such event: the journal has events 0 to \(timeline.lastEvent)")) {
            try timeline.goto(Position(event: timeline.lastEvent + 1))
        }
    }

    static func regsAt(_ t: Timeline) throws -> GPRegisters { t.session.runner.regs }

    @Test func reverseStepiRetracesForwardSteps() throws {
        let target = try KVMTarget(reader: try JournalReader(path: try Self.record("paging")))
        try target.goto(Position(event: 150))
        var rips: [UInt64] = [try target.registers().rip]
        var positions: [Position] = [target.position]
        for _ in 0..<40 {
            let s = try target.stepInstructions(1); #expect(s == .done, "stopped at \(target.position)")
            rips.append(try target.registers().rip)
            positions.append(target.position)
        }
        // The walk crossed at least one event (the page fault at 155).
        #expect(positions.last!.event > 150)
        for i in stride(from: 39, through: 0, by: -1) {
            _ = try target.reverseStepInstructions(1)
            #expect(target.position == positions[i], "reverse step \(39 - i)")
            #expect(try target.registers().rip == rips[i], "rip after reverse step \(39 - i)")
        }
    }

    @Test func gotoIsExactFromAnyDirection() throws {
        let target = try KVMTarget(reader: try JournalReader(path: try Self.record("paging")))
        try target.goto(Position(event: 500, instructions: 3))
        let a = try target.registers()
        try target.goto(Position(event: 700))
        try target.goto(Position(event: 100))
        try target.goto(Position(event: 500, instructions: 3))
        #expect(try target.registers() == a)
        let rec = try target.journal.event(at: 500)
        try target.goto(Position(event: 499))
        _ = try target.nextEvents(1)
        #expect(target.position == Position(event: 500))
        #expect(try target.currentEvent().index == rec.index)
    }

    /// At an interrupt event the vCPU stays where the journal says, the
    /// interrupt pending in KVM, however it was reached; `continue` goes on
    /// from there to the end. (The run loop used to enter KVM_RUN after the
    /// injection that ended a goto, so the position held the next exit's
    /// state and the continue diverged at the next event.)
    @Test func anInterruptEventIsAPlaceToStopAndGoOnFrom() throws {
        let reader = try JournalReader(path: try Self.record("timer"))
        let interrupts = try (0..<reader.eventCount).filter {
            if case .interrupt = try reader.event(at: $0).event { return true } else { return false }
        }
        #expect(interrupts.count == 10)
        let target = try KVMTarget(reader: reader)
        for (i, e) in [interrupts[0], interrupts[5], interrupts[1]].enumerated() {
            try target.goto(Position(event: e))
            #expect(target.position == Position(event: e))
            #expect(try target.registers() == reader.event(at: e).regs, "registers at interrupt event \(e) (goto \(i))")
        }
        let stop = try target.continueForward()
        #expect(stop == .endOfHistory, "continue from an interrupt event stopped with \(stop)")
        #expect(target.position.event == target.lastEvent)
        // Stepping from it enters the handler: one instruction, no event.
        try target.goto(Position(event: interrupts[2]))
        #expect(try target.stepInstructions(1) == .done)
        #expect(target.position == Position(event: interrupts[2], instructions: 1))
    }

    @Test func reverseContinueFindsTheLastBreakpointHit() throws {
        let path = try Self.record("paging")
        let target = try KVMTarget(reader: try JournalReader(path: path))
        let image = try GuestImage.load(path: Fixtures.guest("paging"))
        let handler = try #require(image.symbols.lookup("serial_puts"))
        _ = try target.addBreakpoint(.address(handler))
        // Forward: collect a few hits.
        var hits: [Position] = []
        for _ in 0..<3 {
            let stop = try target.continueForward()
            guard case .breakpoint = stop else { Issue.record("stopped with \(stop)"); return }
            #expect(try target.registers().rip == handler)
            hits.append(target.position)
        }
        #expect(hits == hits.sorted() && Set(hits).count == 3)
        // Backward: the most recent hit before the current one.
        let back = try target.reverseContinue()
        guard case .breakpoint = back else { Issue.record("reverse-continue stopped with \(back)"); return }
        #expect(target.position == hits[1])
    }

    @Test func watchFindsTheWriterForwardAndBackward() throws {
        let target = try KVMTarget(reader: try JournalReader(path: try Self.record("paging")))
        // The paging guest maps 0x600000 to gpa 0x401000 at its first fault and writes through it.
        _ = try target.addBreakpoint(.watch(gpa: 0x401000, length: 8, virtual: nil))
        let stop = try target.continueForward()
        guard case let .watchpoint(_, addr, old, new) = stop else { Issue.record("stopped with \(stop)"); return }
        #expect(addr == 0x401000)
        #expect(old != new)
        let writer = target.position
        #expect(try target.readPhysical(0x401000, count: 8) == new)
        // Go well past, then find the same write backward.
        try target.goto(Position(event: writer.event + 40))
        let back = try target.reverseContinue()
        guard case .watchpoint = back else { Issue.record("reverse-continue stopped with \(back)"); return }
        #expect(target.position == writer)
    }
}
