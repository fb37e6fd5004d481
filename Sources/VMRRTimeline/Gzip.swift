import CZlib

/// gzip (RFC 1952) through zlib, for `vmrr timeline -o FILE.json.gz`.
public enum Gzip {
    public struct Failure: Error, CustomStringConvertible {
        public let operation: String
        public let code: Int32
        public var description: String { "zlib \(operation) failed (\(code))" }
    }

    /// `bytes` as one gzip member, at zlib's default level.
    public static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        let initStatus = vmrr_deflate_init_gzip(&stream, Z_DEFAULT_COMPRESSION)
        guard initStatus == Z_OK else { throw Failure(operation: "deflateInit2", code: initStatus) }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
        var input = bytes
        let status: Int32 = input.withUnsafeMutableBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                // Both buffers outlive the single deflate call that reads and fills them.
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { throw Failure(operation: "deflate", code: status) }
        out.removeSubrange(Int(stream.total_out)...)
        return out
    }
}
