import VMRRBase

/// Why guest-virtual memory could not be read: one line for the user.
public struct VirtualReadError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Reads guest-virtual memory through the guest's page tables, page by page
/// (each piece stays inside the page its walk mapped, whatever that page's
/// size). The one reader for every debug target.
public enum VirtualReader {
    public static func read(_ gva: UInt64, count: Int, context: PagingContext,
                            memory: some GuestPhysicalMemory) throws(VirtualReadError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(max(count, 0))
        var address = gva
        var left = max(count, 0)
        while left > 0 {
            let walk = PageWalker.lookup(address, context: context, memory: memory)
            guard let t = walk.translation else {
                throw VirtualReadError("cannot read memory at \(hex(address)): \(walk.outcome.summary)")
            }
            let inPage = Int(t.pageSize.bytes - (t.address - t.pageBase))
            let n = min(left, inPage)
            guard let bytes = memory.readBytes(t.address, count: n) else {
                throw VirtualReadError("cannot read memory at \(hex(address)): it maps to guest-physical "
                                       + "\(hex(t.address)), outside guest memory")
            }
            out += bytes
            left -= n
            address &+= UInt64(n)
        }
        return out
    }
}

extension WalkOutcome {
    /// The outcome in one phrase, e.g. "PDE 3 is not present (#PF, error
    /// code 0x0000)": the wording of every message about a failed walk.
    public var summary: String {
        switch self {
        case .translated(let t): return "translated to \(hex(t.address))"
        case .pageFault(let f): return "\(f.reason) (#PF, error code \(f.errorCodeText))"
        case .generalProtection(let reason): return reason
        case .walkFailed(_, _, let reason): return reason
        }
    }
}

extension PageFault {
    /// The error code as the views print it: 0x and four digits.
    public var errorCodeText: String { hex(errorCode.rawValue, digits: 4) }
}
