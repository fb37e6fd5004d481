/// Why a `--memory` value was refused.
public struct MemorySizeError: Error, CustomStringConvertible, Equatable, Sendable {
    public let input: String
    public let reason: String
    public var description: String { "invalid memory size '\(input)': \(reason)" }
}

/// Parses a RAM size such as `256M`, `1G`, `65536K` or plain bytes (`67108864`).
/// Suffixes K, M, G, T (case-insensitive, optionally followed by `iB` or `B`)
/// are binary multiples. The size must be a multiple of 2 MiB, between 2 MiB
/// and 64 GiB.
public func parseMemorySize(_ s: String) throws -> UInt64 {
    func fail(_ reason: String) -> MemorySizeError { MemorySizeError(input: s, reason: reason) }
    let text = s.trimmingSpaces()
    guard !text.isEmpty else { throw fail("empty") }
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty else { throw fail("expected a number, optionally followed by K, M or G") }
    let suffix = text.dropFirst(digits.count).lowercased()
    let shift: UInt64
    switch suffix {
    case "", "b": shift = 0
    case "k", "kb", "kib": shift = 10
    case "m", "mb", "mib": shift = 20
    case "g", "gb", "gib": shift = 30
    case "t", "tb", "tib": shift = 40
    default: throw fail("unknown suffix '\(text.dropFirst(digits.count))' (use K, M or G)")
    }
    guard let number = UInt64(digits) else { throw fail("number too large") }
    let (bytes, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
    guard !overflow else { throw fail("number too large") }
    guard bytes >= Layout.minimumMemorySize else { throw fail("\(bytes) bytes is less than the minimum of 2 MiB") }
    guard bytes <= Layout.maximumMemorySize else { throw fail("\(bytes) bytes is more than the maximum of 64 GiB") }
    guard bytes % Layout.memorySizeGranularity == 0 else {
        throw fail("\(bytes) bytes is not a multiple of 2 MiB")
    }
    return bytes
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
