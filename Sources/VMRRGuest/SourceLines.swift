import CDwarf
import VMRRBase

/// Source file and line for a code address, from the image's DWARF line
/// tables, read with elfutils' libdw (never a hand-written DWARF reader).
/// The tables of every compilation unit are read once into one sorted list
/// of rows; a lookup is a binary search. An image without DWARF, or whose
/// DWARF libdw refuses, has no rows: every lookup answers nil.
public final class SourceLines: @unchecked Sendable {
    /// Where an address's code came from.
    public struct Location: Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public init(file: String, line: Int) { self.file = file; self.line = line }
        public var description: String { "\(file):\(line)" }
    }

    /// One row of a line table: code from `address` up to the next row's
    /// address came from `file:line`; `endSequence` rows end a sequence.
    struct Row {
        var address: UInt64
        var file: Int
        var line: Int
        var endSequence: Bool
    }
    private let rows: [Row]
    private let files: [String]
    /// Why the image has no line information, when it has none.
    public let unavailableReason: String?
    /// Rows kept at most: a hostile image's tables cost bounded memory.
    public static let maximumRows = 4_000_000

    /// Reads the line tables of the ELF image `bytes`.
    public init(elf bytes: [UInt8]) {
        var copy = bytes
        var files: [String] = [], fileIndex: [String: Int] = [:], rows: [Row] = []
        let reason: String? = copy.withUnsafeMutableBytes { raw -> String? in
            _ = elf_version(UInt32(EV_CURRENT))
            // The buffer outlives the Elf and Dwarf handles: both end before the closure returns.
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self),
                  let elf = elf_memory(base, raw.count) else { return "libelf cannot read the image" }
            defer { elf_end(elf) }
            guard let dwarf = dwarf_begin_elf(elf, DWARF_C_READ, nil) else {
                return "no DWARF debugging information (build with -g)"
            }
            defer { dwarf_end(dwarf) }
            var offset: Dwarf_Off = 0, next: Dwarf_Off = 0, headerSize = 0
            while dwarf_nextcu(dwarf, offset, &next, &headerSize, nil, nil, nil) == 0 {
                defer { offset = next }
                var cu = Dwarf_Die()
                guard dwarf_offdie(dwarf, offset + Dwarf_Off(headerSize), &cu) != nil else { continue }
                var lines: OpaquePointer?
                var count = 0
                guard dwarf_getsrclines(&cu, &lines, &count) == 0, let table = lines else { continue }
                for i in 0..<count where rows.count < Self.maximumRows {
                    guard let line = dwarf_onesrcline(table, i) else { continue }
                    var address: Dwarf_Addr = 0, number: Int32 = 0, end = false
                    guard dwarf_lineaddr(line, &address) == 0, dwarf_lineno(line, &number) == 0 else { continue }
                    dwarf_lineendsequence(line, &end)
                    let name = dwarf_linesrc(line, nil, nil).map { String(cString: $0) } ?? "??"
                    let index: Int
                    if let known = fileIndex[name] { index = known } else {
                        index = files.count; files.append(name); fileIndex[name] = index
                    }
                    rows.append(Row(address: address, file: index, line: Int(number), endSequence: end))
                }
            }
            return rows.isEmpty ? "no DWARF line tables (build with -g)" : nil
        }
        // Stable: rows at one address keep table order, and an end of
        // sequence sorts before a row starting the next sequence there.
        self.rows = rows.enumerated().sorted {
            ($0.element.address, $0.element.endSequence ? 0 : 1, $0.offset) < ($1.element.address, $1.element.endSequence ? 0 : 1, $1.offset)
        }.map(\.element)
        self.files = files
        unavailableReason = reason
    }

    /// Whether any line information was found.
    public var isEmpty: Bool { rows.isEmpty }

    /// The file and line of the code at `address`: the last row at or
    /// before it, unless that row ends a sequence (the address is in no
    /// described code).
    public func location(of address: UInt64) -> Location? {
        var low = 0, high = rows.count
        while low < high {
            let mid = (low + high) / 2
            if rows[mid].address <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        let row = rows[low - 1]
        guard !row.endSequence else { return nil }
        return Location(file: files[row.file], line: row.line)
    }
}
