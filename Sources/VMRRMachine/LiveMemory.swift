import VMRRKVM
import VMRRMMU

/// The live guest RAM of a KVM machine, for the MMU views.
public struct LiveMemory: GuestPhysicalMemory {
    let ram: GuestRAM
    public init(_ ram: GuestRAM) { self.ram = ram }
    public var size: UInt64 { ram.ranges.last?.upperBound ?? 0 }
    public func readBytes(_ gpa: UInt64, count: Int) -> [UInt8]? { ram.read(gpa, count: count) }
    public func read64(_ gpa: UInt64) -> UInt64? { ram.read64(gpa) }
    public func read32(_ gpa: UInt64) -> UInt32? { ram.read32(gpa) }
}

extension Machine {
    /// The machine's memory slots as the MMU's second stage sees them.
    public var memorySlots: [MemorySlot] {
        ram.ranges.enumerated().map { i, r in
            MemorySlot(gpa: r.lowerBound, size: UInt64(r.count), hostAddress: ram.hostAddress(ofRange: i), name: "ram\(i)")
        }
    }
}
