import Foundation
@testable import VMRRGuest
import VMRRBase

/// The repository's fixtures/guests directory.
let fixturesDirectory: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("fixtures/guests").path
}()

func fixturePath(_ name: String) -> String { "\(fixturesDirectory)/\(name)/\(name).elf" }

func fixtureBytes(_ name: String) throws -> [UInt8] { try FileIO.read(fixturePath(name)) }

let fixtureNames = ["demo", "paging", "timer", "echo", "bug"]

/// Guest-physical memory as a BootPlan's writes describe it (zero elsewhere).
struct WrittenMemory {
    let writes: [(gpa: UInt64, bytes: ArraySlice<UInt8>)]

    func byte(_ gpa: UInt64) -> UInt8 {
        for w in writes where w.gpa <= gpa && gpa < w.gpa + UInt64(w.bytes.count) {
            return w.bytes[w.bytes.startIndex + Int(gpa - w.gpa)]
        }
        return 0
    }

    func read32(_ gpa: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: read64(gpa)) }

    func read64(_ gpa: UInt64) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(byte(gpa + UInt64($1))) << (UInt64($1) * 8) }
    }

    /// Walks 4-level tables from `cr3`; nil when a level is not present.
    /// 1 GiB pages are not expected, so a PDPTE with PS set also fails the walk.
    func translate(_ va: UInt64, cr3: UInt64) -> UInt64? {
        var table = cr3 & GuestArch.pageAddressMask
        for level in stride(from: 3, through: 0, by: -1) {
            let index = (va >> UInt64(12 + 9 * level)) & 511
            let entry = read64(table + index * 8)
            let flags = PageEntry.flags(of: entry)
            guard flags.contains(.present) else { return nil }
            if level == 1 && flags.contains(.pageSize) {
                return PageEntry.address(of: entry) | (va & (Layout.largePageSize - 1))
            }
            if level == 2 && flags.contains(.pageSize) { return nil }
            table = PageEntry.address(of: entry)
            if level == 0 { return table | (va & (Layout.pageSize - 1)) }
        }
        return nil
    }
}

extension [UInt8] {
    /// A copy with `value` stored little-endian in `size` bytes at `offset`.
    func patched(at offset: Int, _ value: UInt64, size: Int) -> [UInt8] {
        var copy = self
        for i in 0..<size { copy[offset + i] = UInt8(truncatingIfNeeded: value >> (UInt64(i) * 8)) }
        return copy
    }

    func le64(at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(self[offset + $1]) << (UInt64($1) * 8) }
    }
}
