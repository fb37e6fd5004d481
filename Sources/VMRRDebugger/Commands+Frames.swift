import VMRRBase
import VMRRJournal
import VMRRReplay

// The stack frames: the frame-pointer walk that backtrace prints, the frame
// that up, down and frame select, and finish, which runs until the selected
// frame returns.

/// One frame of the frame-pointer walk: where it executes, its stack pointer
/// (for a caller, the canonical frame address: the callee's frame pointer
/// plus 16, where RSP is after the callee's `ret`) and its frame pointer.
struct StackFrame: Equatable {
    var pc: UInt64
    var sp: UInt64
    var fp: UInt64
}

extension DebuggerSession {
    /// The walk: frames from the innermost, an explanation when frame 1 came
    /// from the stack before the prologue, and why the walk stopped (nil when
    /// it reached `limit`).
    func unwind(limit: Int) throws -> (frames: [StackFrame], note: String?, stop: String?) {
        let r = try target.registers()
        var frames = [StackFrame(pc: r.rip, sp: r.rsp, fp: r.rbp)]
        var fp = r.rbp
        var stop: String?
        func word(_ a: UInt64) throws -> UInt64 {
            try target.readVirtual(a, count: 8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        // Until a function has run `mov %rsp, %rbp` (and again at its `ret`),
        // RBP still belongs to its caller: the return address is on the stack,
        // at [rsp], or at [rsp+8] after `push %rbp`.
        var note: String?
        if limit > 1, let f = function(containing: r.rip), let slot = returnSlot(f, rip: r.rip, rsp: r.rsp) {
            if let ret = try? word(slot), symbolize(ret) != nil {
                frames.append(StackFrame(pc: ret, sp: slot &+ 8, fp: r.rbp))
                note = "frame 1 is the return address at \(hex(slot)): \(f.name) has not set up its frame at "
                    + "\(hex(r.rip))"
            }
        }
        while frames.count < limit {
            if fp == 0 {
                stop = "rbp is 0 (the outermost frame, or code built without frame pointers)"
                break
            }
            let saved: UInt64, ret: UInt64
            do {
                saved = try word(fp)
                ret = try word(fp &+ 8)
            } catch {
                stop = "cannot read the frame at rbp \(hex(fp)): \(error)"
                break
            }
            if ret == 0 {
                stop = "the return address at \(hex(fp &+ 8)) is 0"
                break
            }
            frames.append(StackFrame(pc: ret, sp: fp &+ 16, fp: saved))
            if saved != 0, saved <= fp {
                stop = "the saved rbp \(hex(saved)) at \(hex(fp)) does not go up the stack "
                    + "(a loop or a corrupt frame)"
                break
            }
            fp = saved
        }
        return (frames, note, stop)
    }

    /// "#1  0x000000000010034d in main+18". A return address can lie just past
    /// its function (a call to a function that does not return): a caller
    /// frame names the call's function.
    func frameLine(_ n: Int, _ pc: UInt64) -> String {
        let name = n == 0 ? symbolic(pc) : symbolize(pc &- 1).map { "\($0.0)+\($0.1 + 1)" }
        return "#\(n)  " + hex(pc, digits: 16) + (name.map { " in \($0)" } ?? "")
    }

    func backtrace(limit: Int) throws {
        let (frames, note, stop) = try unwind(limit: limit)
        for (n, f) in frames.enumerated() { out.line(frameLine(n, f.pc)) }
        if let note { out.line("(\(note))") }
        if let stop {
            out.line("Backtrace stopped: \(stop)")
        } else if frames.count >= limit {
            out.line("(More stack frames follow...)")
        }
    }

    /// The registers as the selected frame sees them: its pc, stack pointer
    /// and frame pointer; the other registers are the current ones (the
    /// frame-pointer walk does not know where callees saved them).
    func frameRegisters() throws -> GPRegisters {
        var r = try target.registers()
        guard selectedFrame > 0 else { return r }
        let frames = try unwind(limit: selectedFrame + 1).frames
        guard selectedFrame < frames.count else {
            // The walk no longer reaches it (memory is not known here): back to the innermost frame.
            selectedFrame = 0
            return r
        }
        let f = frames[selectedFrame]
        r.rip = f.pc
        r.rsp = f.sp
        r.rbp = f.fp
        return r
    }

    /// up (positive) and down (negative), as gdb: up past the outermost frame
    /// stops there, and only an attempt to move from the end fails.
    func selectFrame(relative n: Int) throws {
        if n < 0 {
            guard selectedFrame > 0 else { throw DebugError("Bottom (innermost) frame selected; you cannot go down.") }
            selectedFrame = max(0, selectedFrame + n)
        } else {
            let (frames, _, stop) = try unwind(limit: selectedFrame + n + 1)
            guard frames.count > selectedFrame + 1 else {
                throw DebugError("Initial frame selected; you cannot go up" + (stop.map { "; the frame walk stops there: \($0)" } ?? "") + ".")
            }
            selectedFrame = min(frames.count - 1, selectedFrame + n)
        }
        try showFrame()
    }

    /// frame N selects; frame alone shows the selected one.
    func selectFrame(_ level: Int?) throws {
        if let level {
            let (frames, _, stop) = try unwind(limit: level + 1)
            guard level < frames.count else {
                throw DebugError("No frame at level \(level)" + (stop.map { "; the frame walk stops there: \($0)" } ?? "") + ".")
            }
            selectedFrame = level
        }
        try showFrame()
    }

    func showFrame() throws {
        let frames = try unwind(limit: selectedFrame + 1).frames
        guard selectedFrame < frames.count else { throw DebugError("No frame at level \(selectedFrame).") }
        out.line(frameLine(selectedFrame, frames[selectedFrame].pc))
    }

    /// Runs until the selected frame returns: to its caller's pc with the
    /// stack pointer back at the caller frame's (a deeper, recursive return to
    /// the same address has a lower stack pointer and is run past).
    func finish() throws {
        if let why = target.executionUnavailableReason { throw DebugError("finish needs execution on KVM: \(why)") }
        let level = selectedFrame
        let (frames, _, stop) = try unwind(limit: level + 2)
        guard frames.count > level + 1 else {
            throw DebugError("\"finish\" not meaningful in the outermost frame" + (stop.map { "; the frame walk stops there: \($0)" } ?? "") + ".")
        }
        let caller = frames[level + 1]
        out.line("Run till exit from " + frameLine(level, frames[level].pc))
        let id: Int
        do { id = try target.addBreakpoint(.address(caller.pc)) } catch { throw DebugError("finish: \(error)") }
        defer { try? target.deleteBreakpoint(id) }
        let before = target.position.event
        selectedFrame = 0
        var reason = try target.continueForward()
        while reason == .breakpoint(id: id, address: caller.pc), try target.registers().rsp < caller.sp {
            reason = try target.continueForward()
        }
        guard reason == .breakpoint(id: id, address: caller.pc) else {
            try stopped(reason, eventChanged: target.position.event != before)
            showDisplays()
            return
        }
        try showPosition(withEvent: target.position.event != before)
        let rax = try target.registers().rax
        out.line("Value returned is $rax = \(hex(rax)) (\(Int64(bitPattern: rax)))")
        showDisplays()
    }
}
