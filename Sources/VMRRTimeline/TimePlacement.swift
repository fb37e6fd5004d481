/// The time axis between clock anchors: (event index, guest ns) points
/// where the journal knows the guest clock exactly.
enum TimePlacement {
    /// Start times for `count` events: exact at each anchor; from 0 ns at
    /// event 0 before the first; after the last at the usual pace (below),
    /// or `fallbackStep` apart without any anchors.
    ///
    /// Between two anchors the events are spread evenly, unless the stretch
    /// holds a HLT (`halts[i]`): then the guest spent the stretch halted, so
    /// the events before the HLT follow the first anchor and those after it
    /// precede the second at the usual pace (the stretches without a HLT),
    /// and the HLT's slice covers the rest.
    static func interpolate(count: Int, anchors: [(index: Int, ns: UInt64)], halts: [Bool] = [], fallbackStep: UInt64) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: count)
        guard !anchors.isEmpty else {
            for i in 0..<count { out[i] = UInt64(i) * fallbackStep }
            return out
        }
        var points = anchors
        if points[0].index > 0 { points.insert((0, 0), at: 0) }
        func lastHalt(_ a: Int, _ b: Int) -> Int? {
            guard halts.count >= b else { return nil }
            return (a..<b).last { halts[$0] }
        }
        // The usual pace: nanoseconds per event over the stretches without a HLT.
        var busyNs: UInt64 = 0, busyEvents: UInt64 = 0
        for p in 0..<(points.count - 1) where lastHalt(points[p].index, points[p + 1].index) == nil {
            busyNs += points[p + 1].ns - points[p].ns
            busyEvents += UInt64(points[p + 1].index - points[p].index)
        }
        let pace = busyEvents > 0 ? max(1, busyNs / busyEvents) : fallbackStep
        for p in 0..<(points.count - 1) {
            let a = points[p], b = points[p + 1]
            let span = UInt64(b.index - a.index), dt = b.ns - a.ns
            if let h = lastHalt(a.index, b.index) {
                let step = min(pace, dt / span)
                for i in a.index...h { out[i] = a.ns + UInt64(i - a.index) * step }
                for i in (h + 1)..<b.index { out[i] = max(out[h], b.ns - UInt64(b.index - i) * step) }
                continue
            }
            for i in a.index..<b.index {
                out[i] = a.ns + span.dividingFullWidth(dt.multipliedFullWidth(by: UInt64(i - a.index))).quotient
            }
        }
        let last = points[points.count - 1]
        for i in last.index..<count { out[i] = last.ns + UInt64(i - last.index) * pace }
        return out
    }
}
