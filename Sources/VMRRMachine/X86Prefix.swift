/// The x86 instruction prefixes the small decoders here read (SDM vol. 2A,
/// 2.1.1 and 2.2.1): `FailingInstruction` and `PortReadCompletion`.
enum X86Prefix {
    static let operandSize: UInt8 = 0x66
    static let addressSize: UInt8 = 0x67
    static let lock: UInt8 = 0xF0
    static let repne: UInt8 = 0xF2
    static let rep: UInt8 = 0xF3
    /// CS, SS, DS, ES, FS, GS.
    static let segmentOverrides: Set<UInt8> = [0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65]

    /// REX (0x40-0x4F), a prefix in 64-bit code only.
    static func isREX(_ b: UInt8) -> Bool { b & 0xF0 == 0x40 }
    /// REX.W: 64-bit operand size.
    static let rexW: UInt8 = 1 << 3
}
