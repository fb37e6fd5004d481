import CLibElf
#if canImport(Glibc)
import Glibc
#endif
import VMRRBase

/// Why a guest image could not be loaded: one line naming the file, the
/// offset or segment at fault, and the reason.
public struct GuestImageError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "guest image \(path): \(reason)" }
}

/// Permissions of a PT_LOAD segment (the ELF `p_flags`).
public struct SegmentFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let execute = SegmentFlags(rawValue: 1 << 0)
    public static let write = SegmentFlags(rawValue: 1 << 1)
    public static let read = SegmentFlags(rawValue: 1 << 2)
    /// `R`, `W`, `X` or `-` for each permission, like readelf.
    public var description: String {
        (contains(.read) ? "R" : "-") + (contains(.write) ? "W" : "-") + (contains(.execute) ? "X" : "-")
    }
}

/// One PT_LOAD segment: `fileBytes` go to `paddr`, the rest of `memsz` is zeroed.
public struct LoadSegment: Sendable, Equatable {
    /// Index of the program header in the file.
    public let index: Int
    public let paddr: UInt64
    public let vaddr: UInt64
    public let fileOffset: UInt64
    /// The segment's bytes of the file, sharing the file's storage (indices
    /// are the slice's own: start at `fileBytes.startIndex`).
    public let fileBytes: ArraySlice<UInt8>
    public let memsz: UInt64
    public let flags: SegmentFlags

    /// Guest-physical bytes covered, `[paddr, paddr + memsz)`.
    public var physicalRange: Range<UInt64> { paddr..<(paddr + memsz) }

    /// How the segment is named in errors.
    var summary: String {
        "segment \(index) (paddr \(hex(paddr)), filesz \(hex(UInt64(fileBytes.count))), memsz \(hex(memsz)))"
    }
}

/// A guest image: an ELF64 x86-64 ET_EXEC file, checked and decoded.
public struct GuestImage: Sendable {
    public let path: String
    /// The whole file.
    public let bytes: [UInt8]
    /// SHA-256 of `bytes`.
    public let sha256: [UInt8]
    /// The ELF entry point; RIP at entry.
    public let entry: UInt64
    /// The PT_LOAD segments in program-header order (empty ones included).
    public let segments: [LoadSegment]
    /// Symbols from `.symtab`; empty when the image is stripped.
    public let symbols: SymbolTable

    /// Reads and decodes the image at `path`.
    public static func load(path: String) throws -> GuestImage {
        try parse(bytes: try readImageFile(path), path: path)
    }

    /// The bytes of the image file at `path`, or an error naming it.
    static func readImageFile(_ path: String) throws(GuestImageError) -> [UInt8] {
        do { return try FileIO.read(path) } catch { throw GuestImageError(path: path, reason: error.description) }
    }

    /// Decodes an image already in memory; `path` names it in errors.
    public static func parse(bytes: [UInt8], path: String) throws -> GuestImage {
        try parseELF(bytes: bytes, path: path, classes: .elf64Only)
    }

    /// Decodes an ELF image of the classes `classes` allows (the multiboot
    /// loader also takes ELF32 i386 containers).
    static func parseELF(bytes: [UInt8], path: String, classes: ELFClasses) throws -> GuestImage {
        var reader = ELFReader(bytes: bytes, path: path, classes: classes)
        let parsed = try reader.read()
        return GuestImage(path: path, bytes: bytes, sha256: SHA256.hash(bytes), entry: parsed.entry,
                          segments: parsed.segments, symbols: SymbolTable(parsed.symbols))
    }

    /// Checks that the image fits a machine with `memorySize` bytes of RAM:
    /// every segment inside RAM (see `Layout.ramRanges`) and clear of
    /// vmrr's boot structures (`Layout.vmrrBootStructures`), and the entry
    /// point inside a segment.
    public func validate(memorySize: UInt64) throws {
        try checkSegmentsDisjoint()
        let ram = Layout.ramRanges(memorySize: memorySize)
        for seg in segments where seg.memsz > 0 {
            let (end, overflow) = seg.paddr.addingReportingOverflow(seg.memsz)
            if !overflow, let s = Layout.vmrrBootStructures.first(where: { $0.range.overlaps(seg.paddr..<end) }) {
                throw GuestImageError(path: path, reason: "\(seg.summary) at \(hex(seg.paddr))-\(hex(end)) overlaps \(s.what) at \(hex(s.range.lowerBound))-\(hex(s.range.upperBound))")
            }
            guard ram.contains(where: { $0.lowerBound <= seg.paddr && seg.paddr + seg.memsz <= $0.upperBound }) else {
                throw GuestImageError(path: path, reason: "\(seg.summary) does not fit in guest RAM (\(hex(memorySize)) bytes, RAM ranges \(ram.map { "\(hex($0.lowerBound))-\(hex($0.upperBound))" }.joined(separator: ", ")))")
            }
        }
        guard segments.contains(where: { $0.memsz > 0 && $0.vaddr <= entry && entry < $0.vaddr + $0.memsz }) else {
            throw GuestImageError(path: path, reason: "entry point \(hex(entry)) is not inside any PT_LOAD segment")
        }
    }
}

extension GuestImage {
    /// Refuses non-empty segments whose guest-physical ranges overlap: each
    /// is loaded once, its bss zeroed as a range, so none may cover another
    /// (a file of overlapping headers once cost gigabytes). Sorting makes it
    /// O(n log n) in the number of headers.
    public func checkSegmentsDisjoint() throws {
        let loaded = segments.filter { $0.memsz > 0 }.sorted { $0.paddr < $1.paddr }
        for (a, b) in zip(loaded, loaded.dropFirst()) where b.paddr < a.paddr &+ a.memsz {
            throw GuestImageError(path: path, reason: "\(b.summary) overlaps \(a.summary)")
        }
    }
}

// MARK: - ELF decoding

extension GuestImage {
    /// True when `bytes` start with the ELF magic (0x7F "ELF").
    public static func isELF(_ bytes: [UInt8]) -> Bool { bytes.starts(with: ELFReader.ELF.magic) }
}

/// Reads an ELF image with libelf after checking, by hand, every offset and
/// size libelf will follow, so that a malformed file gives an error, not a crash.
/// Which ELF classes a loader accepts.
enum ELFClasses {
    /// ELF64 x86-64 only (the vmrr protocol).
    case elf64Only
    /// ELF64 x86-64, or ELF32 i386 (multiboot: an ELF32 container may hold 64-bit code).
    case elf32OrElf64
}

private struct ELFReader {
    let bytes: [UInt8]
    let path: String
    let classes: ELFClasses
    /// Layout of the file's class, set once the class byte has been checked.
    var layout = ClassLayout.elf64

    struct Parsed {
        var entry: UInt64
        var segments: [LoadSegment]
        var symbols: [Symbol]
    }

    /// ELF constants used here, named after <elf.h>.
    enum ELF {
        static let identSize = 16
        static let classOffset = 4, dataOffset = 5, typeOffset = 16, machineOffset = 18
        static let class64: UInt8 = 2, class32: UInt8 = 1
        static let littleEndian: UInt8 = 1
        static let typeExec: UInt16 = 2
        static let machineX86_64: UInt16 = 62
        static let machine386: UInt16 = 3
        static let ptLoad: UInt32 = 1
        static let shtSymtab: UInt32 = 2
        static let shnUndef: UInt16 = 0
        /// st_shndx of an absolute symbol (a constant, not in any section).
        static let shnAbs: UInt16 = 0xfff1
        static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
    }

    /// Sizes and offsets that differ between ELF32 and ELF64 (<elf.h>).
    struct ClassLayout {
        var ehdrSize: Int, phdrSize: Int, shdrSize: Int, symSize: Int
        /// Offsets of e_phentsize, e_phnum and e_shentsize in the ELF header.
        var phentsizeOffset: Int, phnumOffset: Int, shentsizeOffset: Int
        /// Offsets and width of sh_offset and sh_size in a section header.
        var shOffsetOffset: Int, shSizeOffset: Int, wordSize: Int
        var machine: UInt16, machineName: String, className: String

        static let elf64 = ClassLayout(ehdrSize: 64, phdrSize: 56, shdrSize: 64, symSize: 24,
                                    phentsizeOffset: 54, phnumOffset: 56, shentsizeOffset: 58,
                                    shOffsetOffset: 24, shSizeOffset: 32, wordSize: 8,
                                    machine: ELF.machineX86_64, machineName: "x86-64", className: "ELF64")
        static let elf32 = ClassLayout(ehdrSize: 52, phdrSize: 32, shdrSize: 40, symSize: 16,
                                    phentsizeOffset: 42, phnumOffset: 44, shentsizeOffset: 46,
                                    shOffsetOffset: 16, shSizeOffset: 20, wordSize: 4,
                                    machine: ELF.machine386, machineName: "i386", className: "ELF32")
    }

    func fail(_ reason: String) -> GuestImageError { GuestImageError(path: path, reason: reason) }

    /// The longest symbol name kept as it is (a longer one is cut, saying how much was left out).
    static let symbolNameLimit = 512

    /// True when `[offset, offset + size)` lies inside the file (no overflow).
    func inFile(_ offset: UInt64, _ size: UInt64) -> Bool {
        let (end, overflow) = offset.addingReportingOverflow(size)
        return !overflow && end <= UInt64(bytes.count)
    }

    init(bytes: [UInt8], path: String, classes: ELFClasses) {
        self.bytes = bytes; self.path = path; self.classes = classes
    }

    mutating func read() throws -> Parsed {
        let size = UInt64(bytes.count)
        guard bytes.count >= ELF.identSize else {
            throw fail("truncated at offset \(size): the ELF identification needs \(ELF.identSize) bytes")
        }
        guard Array(bytes[0..<4]) == ELF.magic else { throw fail("not an ELF file (no ELF magic at offset 0)") }
        let cls = bytes[ELF.classOffset]
        switch (cls, classes) {
        case (ELF.class64, _): layout = .elf64
        case (ELF.class32, .elf32OrElf64): layout = .elf32
        case (ELF.class32, .elf64Only): throw fail("32-bit ELF (class 1 at offset 4); vmrr needs ELF64")
        default:
            throw fail("unknown ELF class \(cls) at offset 4; vmrr needs \(classes == .elf64Only ? "ELF64" : "ELF32 or ELF64")")
        }
        guard bytes[ELF.dataOffset] == ELF.littleEndian else {
            throw fail("ELF data encoding \(bytes[ELF.dataOffset]) at offset 5 is not little-endian")
        }
        guard bytes.count >= layout.ehdrSize else {
            throw fail("truncated at offset \(size): the \(layout.className) header needs \(layout.ehdrSize) bytes")
        }
        let type = le16(ELF.typeOffset), machine = le16(ELF.machineOffset)
        guard machine == layout.machine else {
            throw fail("e_machine \(machine) at offset 18 is not \(layout.machineName) (\(layout.machine))"
                       + (layout.machine == ELF.machine386 ? "; an ELF32 image must be EM_386 (it may hold 64-bit code)" : ""))
        }
        guard type == ELF.typeExec else {
            throw fail("e_type \(type) at offset 16 is not ET_EXEC (2); link the guest as a static, non-PIE executable")
        }

        var copy = bytes
        let reader = self
        return try copy.withUnsafeMutableBytes { raw -> Parsed in
            _ = elf_version(UInt32(EV_CURRENT))
            // The buffer outlives the Elf handle: elf_end runs before the closure returns.
            guard let base = raw.baseAddress?.assumingMemoryBound(to: CChar.self),
                  let elf = elf_memory(base, raw.count) else {
                throw fail("libelf: \(libelfError())")
            }
            defer { elf_end(elf) }
            guard elf_kind(elf) == ELF_K_ELF else { throw reader.fail("libelf does not recognise the file as ELF") }
            return try reader.read(elf: elf)
        }
    }

    func read(elf: OpaquePointer) throws -> Parsed {
        var ehdr = GElf_Ehdr()
        guard gelf_getehdr(elf, &ehdr) != nil else { throw fail("ELF header: libelf: \(libelfError())") }

        // Program headers.
        let phnum = UInt64(ehdr.e_phnum)
        guard phnum > 0 else { throw fail("no program headers (e_phnum 0 at offset \(layout.phnumOffset))") }
        guard ehdr.e_phentsize == UInt16(layout.phdrSize) else {
            throw fail("e_phentsize \(ehdr.e_phentsize) at offset \(layout.phentsizeOffset) is not \(layout.phdrSize)")
        }
        guard inFile(ehdr.e_phoff, phnum * UInt64(layout.phdrSize)) else {
            throw fail("truncated: program header table at offset \(hex(ehdr.e_phoff)) (\(phnum) entries) extends past the end of the file (\(bytes.count) bytes)")
        }
        var segments: [LoadSegment] = []
        for i in 0..<Int(phnum) {
            var ph = GElf_Phdr()
            guard gelf_getphdr(elf, Int32(i), &ph) != nil else {
                throw fail("program header \(i): libelf: \(libelfError())")
            }
            guard ph.p_type == ELF.ptLoad else { continue }
            let what = "segment \(i) (offset \(hex(ph.p_offset)), paddr \(hex(ph.p_paddr)), filesz \(hex(ph.p_filesz)), memsz \(hex(ph.p_memsz)))"
            guard ph.p_filesz <= ph.p_memsz else { throw fail("\(what): filesz is larger than memsz") }
            guard inFile(ph.p_offset, ph.p_filesz) else {
                throw fail("truncated: \(what): data extends past the end of the file (\(bytes.count) bytes)")
            }
            guard !ph.p_paddr.addingReportingOverflow(ph.p_memsz).overflow,
                  !ph.p_vaddr.addingReportingOverflow(ph.p_memsz).overflow else {
                throw fail("\(what): address plus memsz overflows 64 bits")
            }
            let start = Int(ph.p_offset)
            segments.append(LoadSegment(
                index: i, paddr: ph.p_paddr, vaddr: ph.p_vaddr, fileOffset: ph.p_offset,
                fileBytes: bytes[start..<(start + Int(ph.p_filesz))], memsz: ph.p_memsz,
                flags: SegmentFlags(rawValue: ph.p_flags & (SegmentFlags.read.rawValue | SegmentFlags.write.rawValue | SegmentFlags.execute.rawValue))))
        }
        guard segments.contains(where: { $0.memsz > 0 }) else { throw fail("no non-empty PT_LOAD segment") }

        return Parsed(entry: ehdr.e_entry, segments: segments, symbols: try readSymbols(elf: elf, ehdr: ehdr))
    }

    /// Symbols of `.symtab` (nothing when there is no section table or no symtab).
    func readSymbols(elf: OpaquePointer, ehdr: GElf_Ehdr) throws -> [Symbol] {
        guard ehdr.e_shoff != 0 else { return [] }
        guard ehdr.e_shentsize == UInt16(layout.shdrSize) else {
            throw fail("e_shentsize \(ehdr.e_shentsize) at offset \(layout.shentsizeOffset) is not \(layout.shdrSize)")
        }
        // A section count of 0 with a table present means the count is in section 0's sh_size.
        var shnum = UInt64(ehdr.e_shnum)
        if shnum == 0 {
            guard inFile(ehdr.e_shoff, UInt64(layout.shdrSize)) else {
                throw fail("truncated: section header table at offset \(hex(ehdr.e_shoff)) extends past the end of the file (\(bytes.count) bytes)")
            }
            shnum = word(Int(ehdr.e_shoff) + layout.shSizeOffset)
        }
        guard shnum <= UInt64(bytes.count) / UInt64(layout.shdrSize),
              inFile(ehdr.e_shoff, shnum * UInt64(layout.shdrSize)) else {
            throw fail("truncated: section header table at offset \(hex(ehdr.e_shoff)) (\(shnum) entries) extends past the end of the file (\(bytes.count) bytes)")
        }
        // Check every section's link and, for symtab and its strings, the data range.
        var symbols: [Symbol] = []
        var scn: OpaquePointer? = nil
        while let s = elf_nextscn(elf, scn) {
            scn = s
            var sh = GElf_Shdr()
            guard gelf_getshdr(s, &sh) != nil else { throw fail("section header: libelf: \(libelfError())") }
            guard sh.sh_type == ELF.shtSymtab else { continue }
            let index = elf_ndxscn(s)
            guard sh.sh_entsize == UInt64(layout.symSize) else {
                throw fail("symbol table (section \(index)) has entry size \(sh.sh_entsize), expected \(layout.symSize)")
            }
            guard inFile(sh.sh_offset, sh.sh_size) else {
                throw fail("truncated: symbol table (section \(index)) at offset \(hex(sh.sh_offset)), size \(hex(sh.sh_size)) extends past the end of the file (\(bytes.count) bytes)")
            }
            guard UInt64(sh.sh_link) < shnum, UInt64(sh.sh_link) != 0 else {
                throw fail("symbol table (section \(index)) links to string section \(sh.sh_link), which does not exist")
            }
            let strHeader = Int(ehdr.e_shoff) + Int(sh.sh_link) * layout.shdrSize
            let strOffset = word(strHeader + layout.shOffsetOffset)
            let strSize = word(strHeader + layout.shSizeOffset)
            guard inFile(strOffset, strSize) else {
                throw fail("truncated: string table (section \(sh.sh_link)) at offset \(hex(strOffset)), size \(hex(strSize)) extends past the end of the file (\(bytes.count) bytes)")
            }
            guard let data = elf_getdata(s, nil) else {
                throw fail("symbol table (section \(index)): libelf: \(libelfError())")
            }
            let count = Int(sh.sh_size / UInt64(layout.symSize))
            for i in 0..<count {
                var sym = GElf_Sym()
                guard gelf_getsym(data, Int32(i), &sym) != nil else {
                    throw fail("symbol \(i) of section \(index): libelf: \(libelfError())")
                }
                guard sym.st_name != 0, sym.st_shndx != ELF.shnUndef else { continue }
                guard UInt64(sym.st_name) < strSize else {
                    throw fail("symbol \(i) of section \(index): name offset \(sym.st_name) is outside its string table")
                }
                guard let cname = elf_strptr(elf, Int(sh.sh_link), Int(sym.st_name)) else { continue }
                // ELF64_ST_TYPE and ELF64_ST_BIND are macros: type in the low nibble, binding in the high.
                let kind = Symbol.Kind(elfType: sym.st_info & 0xF)
                let binding = Symbol.Binding(elfBinding: sym.st_info >> 4)
                // A name is untrusted text bound for terminals (the debugger, mmu, replay reports):
                // control characters escaped as \xNN and the length capped, once, here.
                symbols.append(Symbol(name: displaySafe(String(cString: cname), limit: Self.symbolNameLimit), value: sym.st_value, size: sym.st_size,
                                      kind: kind, binding: binding, absolute: sym.st_shndx == ELF.shnAbs))
            }
        }
        return symbols
    }

    func le16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8 }
    /// A little-endian word of the file's class (4 bytes for ELF32, 8 for ELF64).
    func word(_ offset: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in (0..<layout.wordSize).reversed() { v = v << 8 | UInt64(bytes[offset + i]) }
        return v
    }
}

private func libelfError() -> String {
    guard let msg = elf_errmsg(-1) else { return "unknown error" }
    return String(cString: msg)
}

/// `0x`-prefixed lower-case hexadecimal.

// MARK: - Reading files
