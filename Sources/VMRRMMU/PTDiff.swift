// Differences between two dumps of the same view: ranges added, removed or changed.

public struct MappingChange: Sendable, Equatable {
    public enum Kind: String, Sendable { case added, removed, changed }
    public var kind: Kind
    /// The mapping before (nil when added).
    public var old: MappingRange?
    /// The mapping after (nil when removed).
    public var new: MappingRange?

    public var start: UInt64 { (new ?? old)!.start }
    public var size: UInt64 { (new ?? old)!.size }
}

public enum PTDiff {
    /// The changes from `before` to `after`, in address order, with adjacent changes merged.
    public static func diff(_ before: [MappingRange], _ after: [MappingRange]) -> [MappingChange] {
        var points = Set<UInt64>()
        for r in before + after {
            points.insert(r.start)
            if r.end != 0 { points.insert(r.end) }
        }
        let boundaries = points.sorted()
        var changes: [MappingChange] = []
        for (k, p) in boundaries.enumerated() {
            let next: UInt64 = k + 1 < boundaries.count ? boundaries[k + 1] : 0
            let size = next &- p
            guard size != 0 || k + 1 == boundaries.count else { continue }
            let old = clip(cover(before, p), p, size)
            let new = clip(cover(after, p), p, size)
            let kind: MappingChange.Kind
            switch (old, new) {
            case (nil, nil): continue
            case (nil, _): kind = .added
            case (_, nil): kind = .removed
            case (let o?, let n?):
                if o.sameKind(n) && o.target == n.target { continue }
                kind = .changed
            }
            let change = MappingChange(kind: kind, old: old, new: new)
            if let last = changes.last, last.kind == kind, continues(last.old, old), continues(last.new, new) {
                changes[changes.count - 1].old = grow(last.old, old)
                changes[changes.count - 1].new = grow(last.new, new)
            } else {
                changes.append(change)
            }
        }
        return changes
    }

    /// The range of the sorted list that contains `p`.
    static func cover(_ ranges: [MappingRange], _ p: UInt64) -> MappingRange? {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].start <= p { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let r = ranges[lo - 1]
        return p - r.start < r.size || r.end == 0 ? r : nil
    }

    /// `r` restricted to [p, p + size) (size 0 means to the top of the address space).
    static func clip(_ r: MappingRange?, _ p: UInt64, _ size: UInt64) -> MappingRange? {
        guard var r else { return nil }
        let offset = p - r.start
        r.target = r.target.map { $0 &+ offset }
        r.start = p
        r.size = size == 0 ? 0 &- p : size
        return r
    }

    static func continues(_ a: MappingRange?, _ b: MappingRange?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case (let a?, let b?): a.isContinued(by: b)
        default: false
        }
    }

    static func grow(_ a: MappingRange?, _ b: MappingRange?) -> MappingRange? {
        guard var a, let b else { return nil }
        a.size &+= b.size
        return a
    }
}
