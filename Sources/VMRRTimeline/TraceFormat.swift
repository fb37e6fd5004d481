/// The file formats `vmrr timeline` and `vmrr replay --timeline` write.
public enum TraceFormat: String, Sendable, CaseIterable {
    /// Chrome trace-event JSON (Perfetto, chrome://tracing).
    case json
    /// The same, gzip-compressed.
    case jsonGzip = "json.gz"
    /// The self-contained HTML view.
    case html

    /// The format a file name asks for by its extension; nil for any other.
    public init?(fileName: String) {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".json.gz") { self = .jsonGzip }
        else if lower.hasSuffix(".json") { self = .json }
        else if lower.hasSuffix(".html") || lower.hasSuffix(".htm") { self = .html }
        else { return nil }
    }

    /// The file's bytes for a model.
    public func render(_ m: TraceModel) throws -> [UInt8] {
        switch self {
        case .json: return TraceEventJSON.render(m)
        case .jsonGzip: return try Gzip.compress(TraceEventJSON.render(m))
        case .html: return TraceHTML.render(m)
        }
    }
}
