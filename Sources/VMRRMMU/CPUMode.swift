import VMRRJournal

/// The mode the CPU decodes instructions in (SDM vol. 3, 2.2 and 5.2.1):
/// from CR0.PE, EFER.LMA, CS.L and CS.D. A multiboot kernel's entry runs in
/// 32-bit protected mode; its long-mode code in 64-bit mode. The one
/// owner of this rule: the disassembler, the TSC check and the run loop's
/// deferred IN (`PortReadCompletion`) all ask it.
public enum CPUMode: String, Equatable, Sendable {
    case real = "real mode (16-bit)"
    case protected16 = "16-bit protected mode"
    case protected32 = "32-bit protected mode"
    case compatibility16 = "16-bit compatibility mode"
    case compatibility32 = "32-bit compatibility mode"
    case long64 = "64-bit mode"

    public init(_ s: SpecialRegisters) { self.init(cr0: s.cr0, efer: s.efer, cs: s.cs) }

    public init(cr0 rawCR0: UInt64, efer rawEFER: UInt64, cs: SegmentRegister) {
        let cr0 = CR0Flags(rawValue: rawCR0), efer = EFERFlags(rawValue: rawEFER)
        if !cr0.contains(.protectionEnable) {
            self = .real
        } else if efer.contains(.longModeActive) {
            self = cs.l ? .long64 : (cs.db ? .compatibility32 : .compatibility16)
        } else {
            self = cs.db ? .protected32 : .protected16
        }
    }

    /// The width instructions decode at: 16, 32 or 64 bits.
    public var bits: Int {
        switch self {
        case .real, .protected16, .compatibility16: 16
        case .protected32, .compatibility32: 32
        case .long64: 64
        }
    }
}
