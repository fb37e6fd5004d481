/// RFLAGS bits the run loop looks at.
public enum RFlags {
    /// IF: maskable interrupts enabled.
    public static let interruptEnable: UInt64 = 1 << 9
    /// AC: alignment check / SMAP access override (CLAC, STAC).
    public static let alignmentCheck: UInt64 = 1 << 18
}
