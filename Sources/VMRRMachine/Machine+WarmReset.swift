import VMRRBase
import VMRRGuest
import VMRRReplay

extension Machine {
    /// The warm-reset vector a BIOS jumps through after a reset with CMOS
    /// shutdown code 0x05 or 0x0A: the offset (16 bits) at 0x467 and the
    /// segment at 0x469 (docs/GUEST.md, "Resets").
    public func warmResetVector() throws -> WarmResetVector {
        guard let b = ram.read(Layout.warmResetVectorGPA, count: 4) else {
            throw VMRRError("warm reset: the vector at \(hex(Layout.warmResetVectorGPA)) is outside guest RAM")
        }
        return WarmResetVector(segment: UInt16(b[2]) | UInt16(b[3]) << 8, offset: UInt16(b[0]) | UInt16(b[1]) << 8)
    }
}
