import VMRRJournal

/// The debugger's breakpoints, watchpoints and event breakpoints, with
/// their ids and hit counts: the bookkeeping both debug targets share. What
/// a target can honour (the journal alone has no execution; KVM has three
/// free debug registers) is the target's to check before `add`.
public struct BreakpointTable: Sendable {
    /// Every breakpoint, in the order they were added.
    public private(set) var all: [Breakpoint] = []
    private var nextID = 1

    public init() {}

    /// The ids of execution breakpoints kept as software breakpoints (int3
    /// bytes) rather than in the hardware debug registers.
    public private(set) var software: Set<Int> = []

    /// Adds a breakpoint and returns its id (ids are never reused).
    /// `software` marks an execution breakpoint as an int3 breakpoint.
    public mutating func add(_ kind: BreakpointKind, software: Bool = false) -> Int {
        let id = nextID
        nextID += 1
        all.append(Breakpoint(id: id, kind: kind))
        if software, case .address = kind { self.software.insert(id) }
        return id
    }

    /// Deletes breakpoint `id`. `command` prefixes the error ("delete 7: ...").
    public mutating func delete(_ id: Int, command: String? = nil) throws {
        guard let i = all.firstIndex(where: { $0.id == id }) else {
            throw DebugError("\(command.map { "\($0): " } ?? "")no breakpoint number \(id)")
        }
        all.remove(at: i)
        software.remove(id)
    }

    public mutating func deleteAll() { all.removeAll(); software.removeAll() }

    /// Counts one hit of breakpoint `id` (nothing if it was deleted meanwhile).
    public mutating func recordHit(_ id: Int) {
        if let i = all.firstIndex(where: { $0.id == id }) { all[i].hits += 1 }
    }

    public func breakpoint(id: Int) -> Breakpoint? { all.first { $0.id == id } }

    // MARK: by kind

    /// The addresses of the execution breakpoints.
    public var addresses: [UInt64] {
        all.compactMap { if case let .address(a) = $0.kind { return a }; return nil }
    }

    /// The execution breakpoints in the hardware debug registers.
    public var hardwareAddresses: [UInt64] {
        all.compactMap { if case let .address(a) = $0.kind, !software.contains($0.id) { return a }; return nil }
    }

    /// The execution breakpoints kept as int3 bytes.
    public var softwareAddresses: [UInt64] {
        all.compactMap { if case let .address(a) = $0.kind, software.contains($0.id) { return a }; return nil }
    }

    /// The execution breakpoint at `address`, if any.
    public func atAddress(_ address: UInt64) -> Breakpoint? {
        all.first { $0.kind == .address(address) }
    }

    /// The watchpoints: id, guest-physical address and length.
    public var watches: [(id: Int, gpa: UInt64, length: Int)] {
        all.compactMap { if case let .watch(g, l, _) = $0.kind { return ($0.id, g, Int(l)) }; return nil }
    }

    public var eventBreakpoints: [Breakpoint] {
        all.filter { if case .event = $0.kind { return true }; return false }
    }

    /// The table without its event breakpoints (what needs execution to find).
    public var withoutEventBreakpoints: BreakpointTable {
        var t = self
        t.all = all.filter { if case .event = $0.kind { return false }; return true }
        return t
    }

    /// The first event breakpoint whose kind and filter match `record`.
    public func eventBreakpoint(matching record: EventRecord) -> Breakpoint? {
        Self.eventBreakpoint(in: all, matching: record)
    }

    /// The first of `breakpoints` that is an event breakpoint matching `record`.
    public static func eventBreakpoint(in breakpoints: [Breakpoint], matching record: EventRecord) -> Breakpoint? {
        breakpoints.first { b in
            if case let .event(kind, filter) = b.kind { return record.event.kind == kind && filter.matches(record.event) }
            return false
        }
    }

    /// The first event in `from...through` that an event breakpoint matches, and that breakpoint.
    public func eventBreakpoint(in journal: JournalReader, from: UInt64, through: UInt64) -> Breakpoint? {
        guard from <= through else { return nil }
        let evs = eventBreakpoints
        guard !evs.isEmpty else { return nil }
        for i in from...through {
            guard let r = try? journal.event(at: i) else { continue }
            if let b = Self.eventBreakpoint(in: evs, matching: r) { return b }
        }
        return nil
    }
}
