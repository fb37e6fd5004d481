/// A failure with a message ready for the user (one line).
public struct VMRRError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
