// The two-dimensional walk a CPU with EPT/NPT performs on a TLB miss: every guest
// page-table reference (CR3's table, each level's table, and the final data page) is a
// guest-physical address that is itself translated through the second stage. Memory
// references are numbered in the order the hardware makes them.

/// One memory reference of a two-dimensional walk.
public struct MemoryReference: Sendable, Equatable {
    public enum Stage: String, Sendable { case nested, guest }
    /// 1-based position in the walk.
    public var number: Int
    public var stage: Stage
    public var step: WalkStep
}

/// The second-stage translation of one guest-physical address the walk needed.
public struct NestedTranslation: Sendable, Equatable {
    /// What the GPA is: "guest PML4E", "guest PTE", "data page".
    public var purpose: String
    public var guestPhysicalAddress: UInt64
    public var walk: SecondStageWalk
}

public enum TwoDimensionalOutcome: Sendable, Equatable {
    case translated(guestPhysical: UInt64, hostAddress: UInt64, permissions: Permissions,
                    guestPageSize: PageSize, nestedPageSize: PageSize)
    /// The guest walk itself failed (#PF, #GP, or an unreadable table).
    case guestFailure(WalkOutcome)
    /// A guest-physical address had no second-stage mapping.
    case nestedFailure(purpose: String, guestPhysical: UInt64, reason: String)
}

public struct TwoDimensionalWalk: Sendable, Equatable {
    public var linearAddress: UInt64
    public var guest: WalkResult
    /// One entry per guest-physical address translated, in walk order.
    public var nested: [NestedTranslation]
    /// Every memory reference, numbered 1...N.
    public var references: [MemoryReference]
    public var outcome: TwoDimensionalOutcome
    public var notes: [String]

    /// Memory references a TLB miss costs for this address.
    public var referenceCount: Int { references.count }

    /// "(4 guest) + (4+4+4+4+4 nested)" style breakdown.
    public var formula: String {
        let guestRefs = references.filter { $0.stage == .guest }.count
        let nestedRefs = nested.map { String($0.walk.steps.count) }.joined(separator: "+")
        return "\(guestRefs) guest + \(nestedRefs.isEmpty ? "0" : nestedRefs) nested"
    }
}

public enum TwoDimensionalWalker {
    public static func walk(_ gva: UInt64, context: PagingContext, memory: some GuestPhysicalMemory,
                            secondStage: SecondStage, access: AccessKind = .supervisorRead) -> TwoDimensionalWalk {
        let guest = PageWalker.translate(gva, context: context, memory: memory, access: access)
        var result = TwoDimensionalWalk(linearAddress: gva, guest: guest, nested: [], references: [],
                                        outcome: .guestFailure(guest.outcome), notes: [])
        func add(_ stage: MemoryReference.Stage, _ step: WalkStep) {
            result.references.append(MemoryReference(number: result.references.count + 1, stage: stage, step: step))
        }
        /// Translates one GPA through the second stage; false if that failed.
        func nested(_ gpa: UInt64, _ purpose: String) -> SecondStageWalk? {
            let walk = secondStage.walk(gpa)
            result.nested.append(NestedTranslation(purpose: purpose, guestPhysicalAddress: gpa, walk: walk))
            for step in walk.steps { add(.nested, step) }
            if case .violation(_, let reason) = walk.outcome {
                result.outcome = .nestedFailure(purpose: purpose, guestPhysical: gpa, reason: reason)
                return nil
            }
            return walk
        }

        for step in guest.steps {
            if context.mode == .pae && step.level == .pdpte {
                result.notes.append("PAE: the CPU loaded the four PDPTEs at MOV to CR3; "
                                    + "a TLB miss reads no PDPTE from memory")
                continue
            }
            guard nested(step.entryAddress, "guest \(step.level.entryName)") != nil else { return result }
            add(.guest, step)
        }
        switch guest.outcome {
        case .translated(let t):
            guard let data = nested(t.address, "data page"), let mapping = data.mapping else { return result }
            result.outcome = .translated(guestPhysical: t.address, hostAddress: mapping.hostAddress,
                                         permissions: t.permissions.intersection(mapping.permissions.union(.user)),
                                         guestPageSize: t.pageSize, nestedPageSize: mapping.pageSize)
        case .walkFailed(let level, let address, _) where level != nil:
            // The table the guest could not read: the second stage says why.
            _ = nested(address, "guest \(level!.entryName)")
            if case .nestedFailure = result.outcome { return result }
            result.outcome = .guestFailure(guest.outcome)
        default:
            result.outcome = .guestFailure(guest.outcome)
        }
        return result
    }
}
