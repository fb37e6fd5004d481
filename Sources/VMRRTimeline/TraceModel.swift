import VMRRBase
import VMRRJournal

/// Where items sit on a trace's horizontal axis (`vmrr timeline --axis`).
public enum TraceAxis: String, Sendable, CaseIterable {
    /// Guest time, from the paravirtual clock reads (interpolated between them).
    case time
    /// One microsecond per event index: for `--clock virtual` journals, where
    /// the event index is the natural clock.
    case events
}

/// What a replay found at its first divergence, for the trace's marker
/// (`vmrr replay --timeline`): the recorded exit and the one execution made.
public struct TraceDivergence: Sendable, Equatable {
    public var index: UInt64
    /// "registers differ", "different port written", ... (`Divergence.Reason`).
    public var reason: String
    /// The recorded event at `index` as `vmrr dump` prints it; nil past the journal's end.
    public var recorded: String?
    /// The exit execution made there.
    public var replayed: String
    /// "rax expected 0x1 actual 0x2" lines, for the registers that differ.
    public var registers: [String]
    public init(index: UInt64, reason: String, recorded: String?, replayed: String, registers: [String]) {
        self.index = index; self.reason = reason; self.recorded = recorded; self.replayed = replayed; self.registers = registers
    }
}

/// One track: the events of one kind of one vCPU.
public struct TraceTrack: Hashable, Sendable {
    public var vcpu: Int
    public var kind: EventKind
    public init(vcpu: Int, kind: EventKind) { self.vcpu = vcpu; self.kind = kind }
}

/// A journal's events as columns, placed on an axis: the one model the
/// trace-event JSON and the HTML view are both written from. Building it
/// reads every event once; a truncated journal gives the events up to its
/// last complete record, with `truncation` saying so.
public struct TraceModel {
    public let journalName: String
    public let axis: TraceAxis
    public let vcpuCount: Int
    public let clockName: String
    /// Per event, by index: kind, RIP, the kind's address-like field (port,
    /// guest-physical or guest-virtual address, MSR, vector, checkpoint id,
    /// end reason), its value, and size, direction and fault as `TraceDetail`.
    public private(set) var kinds: [EventKind] = []
    public private(set) var rips: [UInt64] = []
    public private(set) var addresses: [UInt64] = []
    public private(set) var values: [UInt64] = []
    public private(set) var details: [TraceDetail] = []
    /// The vCPU of each event (all 0 for one vCPU).
    public private(set) var vcpus: [UInt8] = []
    /// The (vCPU, kind) pairs the journal has: one track each.
    public private(set) var trackSet: Set<TraceTrack> = []
    /// Nanoseconds on the axis: where each event starts, and where its slice
    /// ends (when the guest runs again: at the next event).
    public private(set) var starts: [UInt64] = []
    public private(set) var ends: [UInt64] = []
    public private(set) var countsByKind: [EventKind: UInt64] = [:]
    /// The journal's truncation note (a killed recorder), if any.
    public let truncation: String?
    /// How the time axis was derived, in words (shown in both outputs).
    public private(set) var placement = ""
    public var divergence: TraceDivergence?
    /// Symbol labels (`main+0x12`) for RIPs, when an image was available.
    public let symbolize: ((UInt64) -> String?)?

    public var count: Int { kinds.count }

    public init(reader: JournalReader, name: String, axis: TraceAxis, symbolize: ((UInt64) -> String?)? = nil) throws {
        journalName = name
        self.axis = axis
        vcpuCount = max(1, Int(reader.header.vcpuCount))
        clockName = reader.header.clock.name
        truncation = reader.truncationNote
        self.symbolize = symbolize
        let n = Int(min(reader.eventCount, UInt64(Int32.max)))
        kinds.reserveCapacity(n); rips.reserveCapacity(n); addresses.reserveCapacity(n)
        values.reserveCapacity(n); details.reserveCapacity(n)
        try reader.forEachEvent { r in
            append(r)
            return true
        }
        place()
    }

    /// The kinds that are VM exits (`Event.isExit`), among those the journal has.
    public private(set) var exitKinds: Set<EventKind> = []

    /// Exits are slices, except those shown as points: stage-2 faults,
    /// assists, KVM errors and the triple fault. The other kinds are instants.
    public func isSlice(_ k: EventKind) -> Bool {
        switch k {
        case .stage2Fault, .assist, .error, .shutdown: return false
        default: return exitKinds.contains(k)
        }
    }

    private mutating func append(_ r: EventRecord) {
        var address: UInt64 = 0, value: UInt64 = 0, detail = TraceDetail()
        switch r.event {
        case let .io(port, size, direction, v):
            address = UInt64(port); value = v; detail = TraceDetail(size: size, direction: direction)
        case let .mmio(gpa, size, direction, v), let .stage2Fault(gpa, size, direction, v):
            address = gpa; value = v; detail = TraceDetail(size: size, direction: direction)
        case .hlt, .shutdown: break
        case let .pageFault(gva, errorCode, _, faultingRIP):
            address = gva; value = errorCode
            if faultingRIP != r.rip { detail.faultingRIPDiffers = true }
        case let .clock(ns): value = ns
        case let .timer(deadline): value = deadline
        case let .interrupt(vector): address = UInt64(vector)
        case let .input(port, byte): address = UInt64(port); value = UInt64(byte); detail = TraceDetail(size: 1, direction: .read)
        case let .checkpoint(id): address = UInt64(id)
        case let .error(reason, suberror, _): address = UInt64(reason); value = UInt64(suberror)
        case let .end(reason, status): address = UInt64(reason.rawValue); value = UInt64(UInt32(bitPattern: status))
        case let .msr(index, direction, v, fault):
            address = UInt64(index); value = v; detail = TraceDetail(size: 8, direction: direction); detail.fault = fault
        case let .assist(action, length): address = UInt64(action.rawValue); value = UInt64(length)
        case let .switchVCPU(k): address = UInt64(k)
        case let .startup(k, vector): address = UInt64(k); value = UInt64(vector)
        case .nmi: break
        case let .warmReset(segment, offset): address = UInt64(segment); value = UInt64(offset)
        case let .preempt(digest): value = digest
        }
        kinds.append(r.event.kind); rips.append(r.rip); addresses.append(address); values.append(value); details.append(detail)
        vcpus.append(r.vcpu)
        trackSet.insert(TraceTrack(vcpu: Int(r.vcpu), kind: r.event.kind))
        countsByKind[r.event.kind, default: 0] += 1
        if r.event.isExit { exitKinds.insert(r.event.kind) }
    }

    /// Fills `starts` and `ends` for the axis.
    private mutating func place() {
        let n = kinds.count
        guard axis == .time else {
            starts = (0..<n).map { UInt64($0) * Self.nanosecondsPerEventIndex }
            ends = starts.map { $0 + Self.nanosecondsPerEventIndex }
            placement = "event index (1 µs per event)"
            return
        }
        let anchors = clockAnchors()
        let halts = kinds.map { $0 == .hlt }
        starts = TimePlacement.interpolate(count: n, anchors: anchors, halts: halts, fallbackStep: Self.nanosecondsPerEventIndex)
        ends = [UInt64](repeating: 0, count: n)
        let lastStep = n >= 2 && starts[n - 1] > starts[n - 2] ? starts[n - 1] - starts[n - 2] : Self.nanosecondsPerEventIndex
        for i in 0..<n { ends[i] = i + 1 < n ? starts[i + 1] : starts[i] + lastStep }
        placement = anchors.isEmpty
            ? "event index (the guest never read the paravirtual clock): 1 µs per event"
            : "guest time from \(countsByKind[.clock] ?? 0) paravirtual clock reads; events between two reads are spread evenly, a hlt lasts until the guest wakes"
    }

    /// (event index, guest ns) points the time axis goes through: every
    /// clock read, and the timer's deadline where an interrupt wakes a HLT.
    private func clockAnchors() -> [(index: Int, ns: UInt64)] {
        var out: [(index: Int, ns: UInt64)] = []
        var armed: UInt64 = 0
        var last: UInt64 = 0
        for i in 0..<kinds.count {
            var t: UInt64?
            switch kinds[i] {
            case .clock: t = values[i]
            case .timer: armed = values[i]
            case .interrupt where i > 0 && kinds[i - 1] == .hlt && armed != 0: t = armed; armed = 0
            default: break
            }
            // The axis never runs backwards: a read below the last anchor is not one.
            if let t, t >= last { out.append((i, t)); last = t }
        }
        return out
    }

    /// The `--axis events` spacing, and the step where no clock says better.
    public static let nanosecondsPerEventIndex: UInt64 = 1_000

    /// Exits per second of guest time (nil on the events axis or with no time).
    public var exitsPerSecond: Double? {
        guard axis == .time, let last = ends.last, last > 0, placement.hasPrefix("guest time") else { return nil }
        let exits = exitKinds.reduce(0) { $0 + (countsByKind[$1] ?? 0) }
        return Double(exits) / (Double(last) / 1e9)
    }

    /// The RIPs with the most exits, most first (ties by address).
    public func hottestRIPs(_ limit: Int) -> [(rip: UInt64, exits: Int)] {
        var counts: [UInt64: Int] = [:]
        for i in 0..<kinds.count where exitKinds.contains(kinds[i]) { counts[rips[i], default: 0] += 1 }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limit).map { ($0.key, $0.value) }
    }
}

/// Size, direction and the fault flags of one event, packed.
public struct TraceDetail: Sendable, Equatable {
    public var size: UInt8 = 0
    public var direction: IODirection?
    /// An MSR access that raised #GP.
    public var fault = false
    /// A page fault whose faulting RIP is not the record's RIP.
    public var faultingRIPDiffers = false
    public init() {}
    public init(size: UInt8, direction: IODirection) { self.size = size; self.direction = direction }
}
