/// RFLAGS bits the run loop looks at.
public enum RFlags {
    /// TF: a single-step trap after each instruction.
    public static let trap: UInt64 = 1 << 8
    /// IF: maskable interrupts enabled.
    public static let interruptEnable: UInt64 = 1 << 9
    /// RF: instruction breakpoints are suppressed for the next instruction.
    public static let resume: UInt64 = 1 << 16
    /// AC: alignment check / SMAP access override (CLAC, STAC).
    public static let alignmentCheck: UInt64 = 1 << 18
}
