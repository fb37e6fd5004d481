/// Everything that goes wrong reading or writing a journal: one line naming the
/// file, the byte offset (when there is one) and the reason.
public struct JournalError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let offset: UInt64?
    public let reason: String

    public init(path: String, offset: UInt64?, reason: String) {
        self.path = path; self.offset = offset; self.reason = reason
    }

    public var description: String {
        if let offset { return "\(path): offset \(offset): \(reason)" }
        return "\(path): \(reason)"
    }
}


/// Bytes from a file, fit for an error message: printable ASCII as it is,
/// any other byte (and the backslash) as `\xNN`. Names and strings read from
/// a damaged or hostile file go through this, so an error stays one line and
/// cannot carry terminal escapes.
func escapedForMessage(_ bytes: [UInt8]) -> String {
    var s = ""
    // A name or version string in a message is capped: a 100 KB version string once gave a 100 KB error.
    for b in bytes.prefix(messageFieldLimit) {
        if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\\") {
            s.unicodeScalars.append(Unicode.Scalar(b))
        } else {
            s += "\\x" + (b < 0x10 ? "0" : "") + String(b, radix: 16)
        }
    }
    if bytes.count > messageFieldLimit { s += "... (\(bytes.count - messageFieldLimit) more bytes)" }
    return s
}

/// The most bytes of one untrusted field quoted in a message.
let messageFieldLimit = 200
