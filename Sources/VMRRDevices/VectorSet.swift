/// 256 interrupt vectors as bits (IRR, ISR).
struct VectorSet: Equatable {
    private var words = [UInt64](repeating: 0, count: 4)
    init() {}
    /// From the eight 32-bit register words (`word(0)` to `word(7)`).
    init(words w: [UInt32]) {
        for k in 0..<min(8, w.count) { words[k / 2] |= UInt64(w[k]) << (k % 2 == 0 ? 0 : 32) }
    }
    mutating func insert(_ v: UInt8) { words[Int(v >> 6)] |= 1 << UInt64(v & 63) }
    mutating func remove(_ v: UInt8) { words[Int(v >> 6)] &= ~(1 << UInt64(v & 63)) }
    func contains(_ v: UInt8) -> Bool { words[Int(v >> 6)] & (1 << UInt64(v & 63)) != 0 }
    var highest: UInt8? {
        for w in (0..<4).reversed() where words[w] != 0 { return UInt8(w * 64 + 63 - words[w].leadingZeroBitCount) }
        return nil
    }
    /// The 32-bit register word `k` (vectors 32k ..< 32k+32).
    func word(_ k: Int) -> UInt32 { UInt32(truncatingIfNeeded: words[k / 2] >> (k % 2 == 0 ? 0 : 32)) }
}
