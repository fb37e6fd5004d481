import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

// The actions of the inspection commands. Each reads the target and writes
// through `out` with `Render`'s wording.

extension DebuggerSession {
    // MARK: MMU views

    func mmu(_ typed: [String]) throws {
        var args = typed
        let name = args[0]
        var context = try target.mmuContext()
        let positional = args.indices.dropFirst().filter { !args[$0].hasPrefix("--") }
        if name != "ptdump", let k = positional.first, !(name == "shadow" && args[k] == "dump") {
            if MMUCommands.parseAddress(args[k]) == nil {
                let e: AddressExpression
                do { e = try AddressExpression.parse(args[k]) } catch { throw DebugError("\(name): \(error)") }
                args[k] = hex(try evaluate(e))
            }
        } else if name == "pt", positional.isEmpty,
                  case let .pageFault(gva, code, cr3, _) = try target.currentEvent().event {
            // pt at a page_fault event: the walk of the faulting access.
            out.line("page fault at event \(target.position.event): gva \(hex(gva)), error code \(hex(code))")
            context.paging.cr3 = cr3
            args.append(hex(gva))
            if code & Self.pfUser != 0 { args.append("--user") }
            if code & Self.pfFetch != 0 {
                args.append("--fetch")
            } else if code & Self.pfWrite != 0 {
                args.append("--write")
            }
        }
        do {
            emit(try MMUCommands.run(args, context: context))
        } catch let e as MMUCommandError {
            throw DebugError(e.message)
        }
    }

    static let pfWrite: UInt64 = 1 << 1
    static let pfUser: UInt64 = 1 << 2
    static let pfFetch: UInt64 = 1 << 4
}
