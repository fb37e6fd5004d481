import VMRRBase
// The MMU views' JSON: walks, dumps and diffs as `JSONValue` trees (VMRRBase).

extension JSONValue {
    static func optional(_ v: UInt64?) -> JSONValue { v.map { .integer($0) } ?? .null }
    static func optional(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
}

enum JSONEncoding {
    static func permissions(_ p: Permissions) -> JSONValue {
        .object([("read", .bool(p.contains(.read))), ("write", .bool(p.contains(.write))),
                 ("execute", .bool(p.contains(.execute))), ("user", .bool(p.contains(.user)))])
    }

    static func flagNames(_ f: EntryFlags, ept: Bool) -> JSONValue {
        let names = (ept ? EntryFlags.eptNames : EntryFlags.x86Names).filter { f.contains($0.0) }.map(\.1)
        return .array(names.map { .string($0) })
    }

    static func step(_ s: WalkStep, ept: Bool = false) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("level", .string(s.name)), ("table", .integer(s.tableAddress)), ("index", .integer(UInt64(s.index))),
            ("entryAddress", .integer(s.entryAddress)), ("value", .integer(s.raw)),
            ("flags", flagNames(s.flags, ept: ept)), ("permissions", permissions(s.permissions)),
        ]
        if let k = s.protectionKey { members.append(("protectionKey", .integer(UInt64(k)))) }
        if let t = s.memoryType { members.append(("memoryType", .string(t.name))) }
        if let size = s.pageSize { members.append(("pageSize", .integer(size.bytes))) }
        if let note = s.note { members.append(("note", .string(note))) }
        return .object(members)
    }

    static func outcome(_ o: WalkOutcome) -> JSONValue {
        switch o {
        case .translated(let t):
            var m: [(String, JSONValue)] = [
                ("result", .string("translated")), ("gpa", .integer(t.address)), ("pageBase", .integer(t.pageBase)),
                ("pageSize", .integer(t.pageSize.bytes)), ("permissions", permissions(t.permissions)),
                ("global", .bool(t.global)),
            ]
            if let k = t.protectionKey { m.append(("protectionKey", .integer(UInt64(k)))) }
            return .object(m)
        case .pageFault(let f):
            return .object([("result", .string("pageFault")), ("errorCode", .integer(UInt64(f.errorCode.rawValue))),
                            ("errorBits", .string(f.errorCode.names)), ("level", .optional(f.level?.entryName)),
                            ("reason", .string(f.reason))])
        case .generalProtection(let reason):
            return .object([("result", .string("generalProtection")), ("reason", .string(reason))])
        case .walkFailed(let level, let address, let reason):
            return .object([("result", .string("walkFailed")), ("level", .optional(level?.entryName)),
                            ("address", .integer(address)), ("reason", .string(reason))])
        }
    }

    static func walk(_ w: WalkResult) -> JSONValue {
        .object([("gva", .integer(w.linearAddress)), ("mode", .string(w.mode.name)),
                 ("access", .optional(w.access?.description)), ("steps", .array(w.steps.map { step($0) })),
                 ("outcome", outcome(w.outcome)), ("notes", .array(w.notes.map { .string($0) }))])
    }

    static func hostFrame(_ r: Result<UInt64, HostFrameError>) -> JSONValue {
        switch r {
        case .success(let pfn): .object([("frame", .integer(pfn))])
        case .failure(let e): .object([("frame", .null), ("reason", .string(e.reason))])
        }
    }

    static func secondStage(_ w: SecondStageWalk, frames: any HostFrameResolver) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("gpa", .integer(w.guestPhysicalAddress)), ("format", .string(w.format.name)),
            ("steps", .array(w.steps.map { step($0, ept: w.format == .ept) })),
        ]
        switch w.outcome {
        case .mapped(let m):
            members.append(("outcome", .object([
                ("result", .string("mapped")), ("slot", .string(m.slot.name)), ("hva", .integer(m.hostAddress)),
                ("pageSize", .integer(m.pageSize.bytes)), ("permissions", permissions(m.permissions)),
                ("hostFrame", hostFrame(frames.hostFrame(forHostAddress: m.hostAddress))),
            ])))
        case .violation(let level, let reason):
            members.append(("outcome", .object([("result", .string("violation")),
                                                ("level", .optional(level?.entryName)),
                                                ("reason", .string(reason))])))
        }
        return .object(members)
    }

    static func range(_ r: MappingRange) -> JSONValue {
        .object([("start", .integer(r.start)), ("size", .integer(r.size)), ("target", .optional(r.target)),
                 ("permissions", permissions(r.permissions)), ("attributes", .array(r.attributes.map { .string($0) })),
                 ("level", .string(r.level)), ("slot", .optional(r.label))])
    }
}
