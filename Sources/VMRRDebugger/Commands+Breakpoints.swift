import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

// The actions of the inspection commands. Each reads the target and writes
// through `out` with `Render`'s wording.

extension DebuggerSession {
    // MARK: breakpoints

    func watch(_ e: AddressExpression, length: UInt64, physical: Bool) throws {
        let a = try evaluate(e)
        var gpa = a
        if !physical {
            gpa = try Self.watchedPhysical(a, length: length, context: try target.mmuContext(), at: target.position)
        }
        let id = try target.addBreakpoint(.watch(gpa: gpa, length: length, virtual: physical ? nil : a))
        out.line("Hardware watchpoint \(id): " + Self.watched(gpa: gpa, length: length, virtual: physical ? nil : a))
    }

    /// The guest-physical address a watchpoint on `length` bytes at virtual
    /// `a` watches (the REPL's `watch` and gdb's `Z2`); they must lie in one page.
    static func watchedPhysical(_ a: UInt64, length: UInt64, context ctx: MMUCommandContext, at position: Position) throws -> UInt64 {
        let w = PageWalker.lookup(a, context: ctx.paging, memory: ctx.memory)
        guard let t = w.translation else {
            throw DebugError("watch: cannot translate \(hex(a)) at \(position): " + w.outcome.summary)
        }
        guard t.address - t.pageBase + length <= t.pageSize.bytes else {
            throw DebugError("watch: \(length) bytes at \(hex(a)) cross a page boundary: watch each page separately")
        }
        return t.address
    }

    static func watched(gpa: UInt64, length: UInt64, virtual: UInt64?) -> String {
        "\(length) bytes at " + (virtual.map { "\(hex($0)) (guest-physical \(hex(gpa)))" }
                                 ?? "guest-physical \(hex(gpa))")
    }

    /// delete: all of them, or the numbers given. As gdb, every existing one
    /// is deleted, then the first missing number is reported.
    func deleteBreakpoints(_ ids: [Int]) throws {
        if ids.isEmpty {
            target.deleteAllBreakpoints()
            temporaryBreakpoints = []
        }
        var missing: (any Error)?
        for id in ids {
            do { try target.deleteBreakpoint(id) } catch { missing = missing ?? error }
            temporaryBreakpoints.remove(id)
        }
        if let missing { throw missing }
    }

    func tbreak(_ e: AddressExpression) throws {
        let a = try evaluate(e)
        let id = try target.addBreakpoint(.address(a))
        temporaryBreakpoints.insert(id)
        out.line("Temporary breakpoint \(id) at \(Render.address(a, symbolic(a)))")
    }

    func infoBreakpoints() {
        let bps = target.breakpoints
        guard !bps.isEmpty else {
            out.line("No breakpoints or watchpoints.")
            return
        }
        var rows = [["Num", "Type", "Hits", "What"]]
        for b in bps {
            let what: String
            switch b.kind {
            case .address(let a):
                what = Render.address(a, symbolic(a)) + (temporaryBreakpoints.contains(b.id) ? " (temporary)" : "")
            case .event(let k, let f): what = Render.query(k, f)
            case .watch(let gpa, let length, let v): what = Self.watched(gpa: gpa, length: length, virtual: v)
            }
            rows.append([String(b.id), Render.breakpointType(b.kind), String(b.hits), what])
        }
        for l in Render.table(rows) { out.line(l) }
    }
}
