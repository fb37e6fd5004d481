/// A deterministic clock: it advances by `nanosecondsPerExit` at every exit
/// and jumps to the deadline when the guest halts for the timer. Two
/// recordings of the same guest with the same input produce the same journal.
public final class VirtualClock: GuestClock {
    public static let nanosecondsPerExit: UInt64 = 1_000
    public private(set) var current: UInt64
    public init(start: UInt64 = 0) { current = start }
    public func begin() {}
    public func now() -> UInt64 { current }
    public func exitTick() { current &+= Self.nanosecondsPerExit }
    public func waitUntil(_ deadline: UInt64) { if deadline > current { current = deadline } }
}
