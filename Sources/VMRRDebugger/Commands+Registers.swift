import VMRRBase
import VMRRGuest
import VMRRJournal
import VMRRMMU
import VMRRReplay

// The actions of the inspection commands. Each reads the target and writes
// through `out` with `Render`'s wording.

extension DebuggerSession {
    // MARK: registers

    /// gdb's order for `info registers`.
    static let generalOrder = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
                               "r12", "r13", "r14", "r15", "rip", "eflags"]
    static let segmentNames = ["cs", "ss", "ds", "es", "fs", "gs", "fs_base", "gs_base"]

    func infoRegisters(_ typed: [String]) throws {
        let names = typed.map { $0.lowercased() }
        for n in names {
            let canonical = Self.registerAliases[n] ?? n
            guard GPRegisters.index(named: canonical) != nil || Self.specialNames.contains(n)
                    || Self.segmentNames.contains(n) || SubRegister.table[n] != nil else {
                var message = "info registers: unknown register '\(n)'"
                if let near = nearest(n, in: Completion.registerNames) { message += ": did you mean '\(near)'?" }
                throw DebugError(message + ": expected names such as rax, rip, eflags, cr3 or cs")
            }
        }
        let regs = try frameRegisters()
        if names.isEmpty {
            for n in Self.generalOrder { out.line(generalRow(n, regs)) }
            if let s = try? target.specialRegisters() {
                for n in Self.segmentNames { out.line(segmentRow(n, s)) }
            }
            return
        }
        var sregs: SpecialRegisters?
        for n in names {
            if GPRegisters.index(named: Self.registerAliases[n] ?? n) != nil {
                out.line(generalRow(n, regs))
                continue
            }
            if let sub = SubRegister.table[n] {
                let v = sub.value(of: regs[GPRegisters.index(named: sub.full)!])
                out.line(Render.registerRow(n, v, n == "eip" ? Render.address(v, symbolic(v)) : String(sub.signed(v))))
                continue
            }
            if sregs == nil { sregs = try target.specialRegisters() }
            let s = sregs!
            if Self.segmentNames.contains(n) {
                out.line(segmentRow(n, s))
                continue
            }
            switch n {
            case "cr0": out.line(Render.registerRow(n, s.cr0, Render.flags(s.cr0, Render.cr0Bits)))
            case "cr2": out.line(Render.registerRow(n, s.cr2, hex(s.cr2)))
            case "cr3": out.line(Render.registerRow(n, s.cr3, Render.cr3(s.cr3, cr4: s.cr4)))
            case "cr4": out.line(Render.registerRow(n, s.cr4, Render.flags(s.cr4, Render.cr4Bits)))
            case "cr8": out.line(Render.registerRow(n, s.cr8, String(s.cr8)))
            default: out.line(Render.registerRow(n, s.efer, Render.flags(s.efer, Render.eferBits)))
            }
        }
    }

    func generalRow(_ typed: String, _ r: GPRegisters) -> String {
        let name = Self.registerAliases[typed] ?? typed
        let v = r[GPRegisters.index(named: name)!]
        let shown = name == "rflags" ? "eflags" : name
        switch name {
        case "rip": return Render.registerRow(shown, v, Render.address(v, symbolic(v)))
        case "rflags": return Render.registerRow(shown, v, Render.rflags(v))
        case "rsp", "rbp": return Render.registerRow(shown, v, hex(v))
        default: return Render.registerRow(shown, v, String(Int64(bitPattern: v)))
        }
    }

    func segmentRow(_ name: String, _ s: SpecialRegisters) -> String {
        let v: UInt64
        switch name {
        case "cs": v = UInt64(s.cs.selector)
        case "ss": v = UInt64(s.ss.selector)
        case "ds": v = UInt64(s.ds.selector)
        case "es": v = UInt64(s.es.selector)
        case "fs": v = UInt64(s.fs.selector)
        case "gs": v = UInt64(s.gs.selector)
        case "fs_base": v = s.fs.base
        default: v = s.gs.base
        }
        return Render.registerRow(name, v, String(v))
    }
}
