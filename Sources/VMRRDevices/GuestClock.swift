/// Where guest time comes from while recording: the paravirtual clock, the
/// PIT, the RTC and the timers all read it. Two implementations:
/// `HostClock` (`--clock host`) and `VirtualClock` (`--clock virtual`).
public protocol GuestClock: AnyObject {
    /// Marks boot: the guest's first instruction runs next.
    func begin()
    /// Nanoseconds since boot.
    func now() -> UInt64
    /// Called once per VM exit.
    func exitTick()
    /// The guest halted until `deadline`: skip or sleep to it.
    func waitUntil(_ deadline: UInt64)
}
