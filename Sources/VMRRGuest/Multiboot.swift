import VMRRBase
import VMRRJournal

/// Multiboot version 1: the header a kernel carries in its first 8 KiB, the
/// image loader (ELF32, ELF64, or the header's address fields), and the
/// entry state with the multiboot information structure. docs/GUEST.md,
/// section "Multiboot", is the contract; the numbers are in `Layout`.

/// A multiboot v1 header as found in an image.
public struct MultibootHeader: Sendable, Equatable {
    /// The header's flags field. Bits 0-15 are requirements a loader must
    /// refuse when it cannot meet them; bits 16-31 are optional features.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Bit 0: load modules on page boundaries (vmrr always does).
        public static let pageAlignModules = Flags(rawValue: 1 << 0)
        /// Bit 1: pass mem_lower/mem_upper and the memory map (vmrr always does).
        public static let memoryInfo = Flags(rawValue: 1 << 1)
        /// Bit 2: the kernel requires a video mode (vmrr has no display).
        public static let videoMode = Flags(rawValue: 1 << 2)
        /// Bit 16: the address fields are valid and say where to load the image.
        public static let addressFields = Flags(rawValue: 1 << 16)
        /// The requirement bits vmrr can meet.
        public static let supportedRequirements: Flags = [.pageAlignModules, .memoryInfo]
        /// Bits 0-15: requirements.
        public static let requirementMask = Flags(rawValue: 0xFFFF)
    }

    /// File offset of the header (of its magic).
    public let offset: Int
    public let flags: Flags
    public let checksum: UInt32
    /// The address fields (offsets 12-28); meaningful when `flags` has `.addressFields`.
    public let headerAddress: UInt32
    public let loadAddress: UInt32
    public let loadEndAddress: UInt32
    public let bssEndAddress: UInt32
    public let entryAddress: UInt32

    /// Size of the fixed part (magic, flags, checksum).
    static let fixedSize = 12
    /// Size with the address fields.
    static let addressFieldsSize = 32
}

/// What a scan of an image's first bytes found.
public enum MultibootScan: Sendable, Equatable {
    /// A v1 header with a correct checksum.
    case found(MultibootHeader)
    /// The v1 magic at `offset`, but magic + flags + checksum is `sum`, not 0.
    case badChecksum(offset: Int, flags: UInt32, checksum: UInt32, sum: UInt32)
    /// A Multiboot 2 header (valid checksum) and no v1 header.
    case multiboot2(offset: Int)
    /// No multiboot header at all.
    case none

    /// Scans `bytes` for a multiboot v1 header: 4-byte aligned, wholly within
    /// the first `Layout.multibootSearchLimit` bytes. The first header with
    /// a correct checksum wins; a bad one is reported only when no good one exists.
    public static func scan(_ bytes: [UInt8]) -> MultibootScan {
        let limit = min(bytes.count, Layout.multibootSearchLimit)
        var bad: MultibootScan?
        var offset = 0
        while offset + MultibootHeader.fixedSize <= limit {
            if le32(bytes, offset) == Layout.multibootHeaderMagic {
                let flags = le32(bytes, offset + 4), checksum = le32(bytes, offset + 8)
                let sum = Layout.multibootHeaderMagic &+ flags &+ checksum
                if sum == 0 {
                    let f = MultibootHeader.Flags(rawValue: flags)
                    // Address fields past the end of the file read as 0 here;
                    // the loader reports them as truncated.
                    func field(_ i: Int) -> UInt32 {
                        let o = offset + 12 + 4 * i
                        return o + 4 <= bytes.count ? le32(bytes, o) : 0
                    }
                    return .found(MultibootHeader(offset: offset, flags: f, checksum: checksum,
                                                  headerAddress: field(0), loadAddress: field(1),
                                                  loadEndAddress: field(2), bssEndAddress: field(3),
                                                  entryAddress: field(4)))
                }
                if bad == nil { bad = .badChecksum(offset: offset, flags: flags, checksum: checksum, sum: sum) }
            }
            offset += Layout.multibootHeaderAlignment
        }
        if let bad { return bad }
        // Multiboot 2: magic, architecture, header length, checksum; 8-byte aligned.
        let limit2 = min(bytes.count, Layout.multiboot2SearchLimit)
        offset = 0
        while offset + 16 <= limit2 {
            if le32(bytes, offset) == Layout.multiboot2HeaderMagic,
               Layout.multiboot2HeaderMagic &+ le32(bytes, offset + 4) &+ le32(bytes, offset + 8) &+ le32(bytes, offset + 12) == 0 {
                return .multiboot2(offset: offset)
            }
            offset += 8
        }
        return .none
    }

    /// Why this scan does not give a bootable v1 header (nil for `.found`).
    public var problem: String? {
        switch self {
        case .found: return nil
        case let .badChecksum(offset, flags, checksum, sum):
            return "multiboot header at offset \(hex(UInt64(offset))) has a bad checksum: magic \(hex(UInt64(Layout.multibootHeaderMagic))) + flags \(hex(UInt64(flags))) + checksum \(hex(UInt64(checksum))) = \(hex(UInt64(sum))) (mod 2^32), not 0"
        case let .multiboot2(offset):
            return "multiboot2 header (magic \(hex(UInt64(Layout.multiboot2HeaderMagic)))) at offset \(hex(UInt64(offset))): vmrr boots multiboot version 1 only (header magic \(hex(UInt64(Layout.multibootHeaderMagic))))"
        case .none:
            return "no multiboot header: magic \(hex(UInt64(Layout.multibootHeaderMagic))) is not at any 4-byte-aligned offset in the first \(Layout.multibootSearchLimit) bytes"
        }
    }
}

/// A multiboot module given with `--module FILE[,ARGS]`.
public struct MultibootModule: Sendable, Equatable {
    public let path: String
    public let arguments: String?
    public let bytes: [UInt8]

    public init(path: String, arguments: String?, bytes: [UInt8]) {
        self.path = path; self.arguments = arguments; self.bytes = bytes
    }

    /// Splits `FILE[,ARGS]` at its first comma.
    public static func parseSpec(_ spec: String) -> (path: String, arguments: String?) {
        guard let comma = spec.firstIndex(of: ",") else { return (spec, nil) }
        return (String(spec[..<comma]), String(spec[spec.index(after: comma)...]))
    }

    /// Reads the module file named by `spec` (`FILE[,ARGS]`).
    public static func load(spec: String) throws -> MultibootModule {
        let (path, arguments) = parseSpec(spec)
        guard !path.isEmpty else { throw BootPlanError(reason: "--module '\(spec)': no file name before the comma") }
        do {
            return MultibootModule(path: path, arguments: arguments, bytes: try FileIO.read(path))
        } catch {
            throw BootPlanError(reason: "module \(path): \(error.description)")
        }
    }

    /// The module's string: `FILE ARGS`, as QEMU and GRUB pass it.
    public var string: String { arguments.map { "\(path) \($0)" } ?? path }
}

/// A multiboot kernel image, checked and decoded.
public struct MultibootImage: Sendable {
    /// How the image says where it loads.
    public enum Format: String, Sendable, Equatable {
        case elf32 = "ELF32", elf64 = "ELF64"
        /// The header's address fields (flag 16), the "a.out kludge".
        case addressFields = "address fields"
    }

    /// Path, bytes, SHA-256, symbols, and the segments to load. `entry` is the
    /// physical entry address (an ELF entry is translated through the
    /// segment that contains it, as GRUB does).
    public let image: GuestImage
    public let header: MultibootHeader
    public let format: Format

    /// Reads and decodes the image at `path`.
    public static func load(path: String) throws -> MultibootImage {
        try parse(bytes: try GuestImage.readImageFile(path), path: path)
    }

    /// Decodes a multiboot image already in memory; `path` names it in errors.
    public static func parse(bytes: [UInt8], path: String) throws -> MultibootImage {
        func fail(_ reason: String) -> GuestImageError { GuestImageError(path: path, reason: reason) }
        let scan = MultibootScan.scan(bytes)
        guard case let .found(header) = scan else { throw fail(scan.problem!) }
        let at = "multiboot header at offset \(hex(UInt64(header.offset)))"

        let unsupported = header.flags.intersection(.requirementMask).subtracting(.supportedRequirements)
        if unsupported.contains(.videoMode) {
            throw fail("\(at): flag 2 (video mode) is set: the kernel requires a graphics mode, and vmrr has no display (a multiboot loader must refuse such a kernel)")
        }
        if !unsupported.isEmpty {
            throw fail("\(at): flags \(hex(UInt64(header.flags.rawValue))) require features vmrr does not know (bits \(bitList(unsupported.rawValue))); a multiboot loader must refuse them")
        }

        let isELF = GuestImage.isELF(bytes)
        if header.flags.contains(.addressFields) {
            guard header.offset + MultibootHeader.addressFieldsSize <= bytes.count else {
                throw fail("truncated: \(at): flag 16 is set but the address fields (offsets 12-31) extend past the end of the file (\(bytes.count) bytes)")
            }
            // Symbols from the ELF view when the file is also a readable ELF.
            let symbols = isELF ? ((try? GuestImage.parseELF(bytes: bytes, path: path, classes: .elf32OrElf64))?.symbols ?? SymbolTable([])) : SymbolTable([])
            let segment = try addressFieldSegment(header, bytes: bytes, fail: fail)
            let image = GuestImage(path: path, bytes: bytes, sha256: SHA256.hash(bytes), entry: UInt64(header.entryAddress),
                                   segments: [segment], symbols: symbols)
            return MultibootImage(image: image, header: header, format: .addressFields)
        }
        guard isELF else {
            throw fail("not an ELF file, and the \(at) has no address fields (flag 16 is clear), so nothing says where to load it")
        }
        let elf = try GuestImage.parseELF(bytes: bytes, path: path, classes: .elf32OrElf64)
        let format: Format = bytes[4] == 1 ? .elf32 : .elf64
        // The ELF entry may be virtual: translate it through its segment.
        guard let seg = elf.segments.first(where: { $0.memsz > 0 && $0.vaddr <= elf.entry && elf.entry - $0.vaddr < $0.memsz }) else {
            throw fail("entry point \(hex(elf.entry)) is not inside any PT_LOAD segment")
        }
        let entry = seg.paddr + (elf.entry - seg.vaddr)
        guard entry < Layout.identityMapSize else {
            throw fail("entry point \(hex(entry)) (physical) lies above 4 GiB, out of reach of a 32-bit multiboot entry")
        }
        let image = GuestImage(path: path, bytes: bytes, sha256: elf.sha256, entry: entry, segments: elf.segments, symbols: elf.symbols)
        return MultibootImage(image: image, header: header, format: format)
    }

    /// The one segment the address fields describe (multiboot spec 3.1.3).
    static func addressFieldSegment(_ h: MultibootHeader, bytes: [UInt8],
                                    fail: (String) -> GuestImageError) throws -> LoadSegment {
        let at = "multiboot header at offset \(hex(UInt64(h.offset)))"
        guard h.loadAddress <= h.headerAddress else {
            throw fail("\(at): load_addr \(hex(UInt64(h.loadAddress))) is above header_addr \(hex(UInt64(h.headerAddress)))")
        }
        let before = UInt64(h.headerAddress - h.loadAddress)
        guard before <= UInt64(h.offset) else {
            throw fail("\(at): load_addr \(hex(UInt64(h.loadAddress))) is \(hex(before)) bytes below header_addr \(hex(UInt64(h.headerAddress))), which would start loading before the beginning of the file (the header is at offset \(hex(UInt64(h.offset))))")
        }
        let fileOffset = UInt64(h.offset) - before
        let loadSize: UInt64
        if h.loadEndAddress == 0 {
            loadSize = UInt64(bytes.count) - fileOffset
        } else {
            guard h.loadEndAddress > h.loadAddress else {
                throw fail("\(at): load_end_addr \(hex(UInt64(h.loadEndAddress))) is not above load_addr \(hex(UInt64(h.loadAddress)))")
            }
            loadSize = UInt64(h.loadEndAddress - h.loadAddress)
            guard fileOffset + loadSize <= UInt64(bytes.count) else {
                throw fail("truncated: \(at): the address fields load \(hex(loadSize)) bytes from file offset \(hex(fileOffset)) (load_addr \(hex(UInt64(h.loadAddress))) to load_end_addr \(hex(UInt64(h.loadEndAddress)))), past the end of the file (\(bytes.count) bytes)")
            }
        }
        let loadEnd = UInt64(h.loadAddress) + loadSize
        var memsz = loadSize
        if h.bssEndAddress != 0 {
            guard UInt64(h.bssEndAddress) >= loadEnd else {
                throw fail("\(at): bss_end_addr \(hex(UInt64(h.bssEndAddress))) is below the end of the loaded data (\(hex(loadEnd)))")
            }
            memsz = UInt64(h.bssEndAddress) - UInt64(h.loadAddress)
        }
        guard memsz > 0 else { throw fail("\(at): the address fields describe an empty image") }
        guard UInt64(h.entryAddress) >= UInt64(h.loadAddress), UInt64(h.entryAddress) < UInt64(h.loadAddress) + memsz else {
            throw fail("\(at): entry_addr \(hex(UInt64(h.entryAddress))) is outside the loaded image (\(hex(UInt64(h.loadAddress)))-\(hex(UInt64(h.loadAddress) + memsz)))")
        }
        let start = Int(fileOffset)
        return LoadSegment(index: 0, paddr: UInt64(h.loadAddress), vaddr: UInt64(h.loadAddress), fileOffset: fileOffset,
                           fileBytes: bytes[start..<(start + Int(loadSize))], memsz: memsz,
                           flags: [.read, .write, .execute])
    }

    /// One past the highest byte the image occupies.
    public var end: UInt64 {
        image.segments.filter { $0.memsz > 0 }.map { $0.paddr + $0.memsz }.max() ?? Layout.imageMinimumAddress
    }

    /// Checks that the image fits a machine with `memorySize` bytes of RAM:
    /// every segment in RAM and below 4 GiB. Segments below 1 MiB are
    /// allowed: vmrr's structures move clear of them (`BootPlan.multiboot`).
    public func validate(memorySize: UInt64) throws {
        try image.checkSegmentsDisjoint()
        let ram = Layout.ramRanges(memorySize: memorySize)
        for seg in image.segments where seg.memsz > 0 {
            guard seg.paddr + seg.memsz <= Layout.identityMapSize else {
                throw GuestImageError(path: image.path, reason: "\(seg.summary) extends above 4 GiB, out of reach of a 32-bit multiboot loader")
            }
            guard ram.contains(where: { $0.lowerBound <= seg.paddr && seg.paddr + seg.memsz <= $0.upperBound }) else {
                throw GuestImageError(path: image.path, reason: "\(seg.summary) does not fit in guest RAM (\(hex(memorySize)) bytes, RAM ranges \(ram.map { "\(hex($0.lowerBound))-\(hex($0.upperBound))" }.joined(separator: ", ")))")
            }
        }
    }
}

/// The multiboot information structure and what it points at, as bytes for
/// `Layout.multibootInfoAddress`, plus where each module goes.
public struct MultibootInfo: Sendable {
    /// `flags` bits of the information structure.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// mem_lower and mem_upper are valid.
        public static let memory = Flags(rawValue: 1 << 0)
        /// cmdline is valid.
        public static let commandLine = Flags(rawValue: 1 << 2)
        /// mods_count and mods_addr are valid.
        public static let modules = Flags(rawValue: 1 << 3)
        /// mmap_length and mmap_addr are valid.
        public static let memoryMap = Flags(rawValue: 1 << 6)
        /// boot_loader_name is valid.
        public static let bootLoaderName = Flags(rawValue: 1 << 9)
    }

    /// One memory map entry (`size` = 20, then base, length, type).
    public struct MemoryRegion: Sendable, Equatable {
        public enum Kind: UInt32, Sendable { case available = 1, reserved = 2 }
        public let base: UInt64
        public let length: UInt64
        public let kind: Kind
    }

    /// Field offsets in the structure (multiboot spec 3.3).
    public enum Offset {
        public static let flags = 0, memLower = 4, memUpper = 8, cmdline = 16, modsCount = 20, modsAddr = 24
        public static let mmapLength = 44, mmapAddr = 48, bootLoaderName = 64
    }
    /// Size reserved for the structure (through the framebuffer fields).
    public static let structureSize = 120
    /// Size of one memory map entry, including its leading `size` field.
    public static let memoryMapEntrySize = 24
    /// Size of one module entry.
    public static let moduleEntrySize = 16

    /// Where `bytes` go: `Layout.multibootInfoAddress` unless the image covers it.
    public let base: UInt64
    /// Bytes to write at `base`.
    public let bytes: [UInt8]
    public let memoryMap: [MemoryRegion]
    /// Where each module's bytes go, in order.
    public let modulePlacements: [(gpa: UInt64, bytes: [UInt8])]
    public let memLowerKiB: UInt32
    public let memUpperKiB: UInt32

    /// The memory map for `memorySize` bytes of RAM: conventional memory,
    /// the reserved 640 KiB - 1 MiB hole, RAM from 1 MiB to the 3 GiB hole,
    /// the reserved device hole to 4 GiB, and RAM above 4 GiB when there is any.
    public static func memoryMap(memorySize: UInt64) -> [MemoryRegion] {
        let ram = Layout.ramRanges(memorySize: memorySize)
        var map: [MemoryRegion] = [
            MemoryRegion(base: 0, length: Layout.conventionalMemoryEnd, kind: .available),
            MemoryRegion(base: Layout.conventionalMemoryEnd, length: Layout.legacyHoleEnd - Layout.conventionalMemoryEnd, kind: .reserved),
        ]
        let low = ram[0]
        if low.upperBound > Layout.legacyHoleEnd {
            map.append(MemoryRegion(base: Layout.legacyHoleEnd, length: low.upperBound - Layout.legacyHoleEnd, kind: .available))
        }
        map.append(MemoryRegion(base: Layout.memoryHoleStart, length: Layout.highMemoryStart - Layout.memoryHoleStart, kind: .reserved))
        if ram.count > 1 {
            map.append(MemoryRegion(base: ram[1].lowerBound, length: UInt64(ram[1].count), kind: .available))
        }
        return map
    }

    /// Builds the structure for `image` on `memorySize` bytes of RAM, at
    /// `base`, with the command line `commandLine` and `modules` placed
    /// page-aligned after the image (and at or above 1 MiB).
    public static func make(image: MultibootImage, memorySize: UInt64, commandLine: String,
                            modules: [MultibootModule], base: UInt64 = Layout.multibootInfoAddress) throws -> MultibootInfo {
        let map = memoryMap(memorySize: memorySize)
        let lowRAMEnd = Layout.ramRanges(memorySize: memorySize)[0].upperBound
        let memLower = UInt32(Layout.conventionalMemoryEnd / 1024)
        let memUpper = UInt32((lowRAMEnd - Layout.legacyHoleEnd) / 1024)

        // Modules: page-aligned, one after another, after the image, in low RAM.
        var placements: [(gpa: UInt64, bytes: [UInt8])] = []
        var next = alignUp(max(image.end, Layout.legacyHoleEnd), Layout.multibootModuleAlignment)
        for m in modules {
            let end = next + UInt64(m.bytes.count)
            guard end <= lowRAMEnd else {
                throw BootPlanError(reason: "module \(m.path) (\(m.bytes.count) bytes) does not fit in guest RAM: it would occupy \(hex(next))-\(hex(end)), and RAM below the 3 GiB hole ends at \(hex(lowRAMEnd))")
            }
            placements.append((next, m.bytes))
            next = alignUp(max(end, next + 1), Layout.multibootModuleAlignment)
        }

        // The area: structure, memory map, module list, then strings.
        var area = [UInt8](repeating: 0, count: structureSize)
        func put32(_ offset: Int, _ v: UInt32) {
            for i in 0..<4 { area[offset + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
        }
        func append32(_ v: UInt32) { for i in 0..<4 { area.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
        func append64(_ v: UInt64) { append32(UInt32(truncatingIfNeeded: v)); append32(UInt32(truncatingIfNeeded: v >> 32)) }
        func here() -> UInt32 { UInt32(base + UInt64(area.count)) }
        func appendString(_ s: String) throws -> UInt32 {
            let bytes = Array(s.utf8)
            guard !bytes.contains(0) else { throw BootPlanError(reason: "multiboot string '\(s)' contains a NUL byte") }
            let at = here()
            area.append(contentsOf: bytes + [0])
            return at
        }
        func align(_ n: Int) { while area.count % n != 0 { area.append(0) } }

        let mmapAddr = here()
        for r in map {
            append32(UInt32(memoryMapEntrySize - 4))
            append64(r.base); append64(r.length); append32(r.kind.rawValue)
        }
        let modsAddr = here()
        let modsStart = area.count
        area.append(contentsOf: repeatElement(0, count: moduleEntrySize * modules.count))
        let cmdline = try appendString(commandLine)
        var moduleStrings: [UInt32] = []
        for m in modules { moduleStrings.append(try appendString(m.string)) }
        let loaderName = try appendString(Layout.multibootLoaderName)
        align(4)
        for (i, p) in placements.enumerated() {
            let e = modsStart + i * moduleEntrySize
            for (j, v) in [UInt32(p.gpa), UInt32(p.gpa + UInt64(p.bytes.count)), moduleStrings[i], 0].enumerated() {
                for k in 0..<4 { area[e + 4 * j + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) }
            }
        }
        guard UInt64(area.count) <= Layout.multibootInfoAreaEnd - Layout.multibootInfoAddress else {
            throw BootPlanError(reason: "the multiboot information (\(area.count) bytes: command line, \(modules.count) modules and their strings) does not fit in \(hex(Layout.multibootInfoAddress))-\(hex(Layout.multibootInfoAreaEnd))")
        }
        let flags: Flags = [.memory, .commandLine, .modules, .memoryMap, .bootLoaderName]
        put32(Offset.flags, flags.rawValue)
        put32(Offset.memLower, memLower)
        put32(Offset.memUpper, memUpper)
        put32(Offset.cmdline, cmdline)
        put32(Offset.modsCount, UInt32(modules.count))
        put32(Offset.modsAddr, modsAddr)
        put32(Offset.mmapLength, UInt32(map.count * memoryMapEntrySize))
        put32(Offset.mmapAddr, mmapAddr)
        put32(Offset.bootLoaderName, loaderName)
        return MultibootInfo(base: base, bytes: area, memoryMap: map, modulePlacements: placements,
                             memLowerKiB: memLower, memUpperKiB: memUpper)
    }
}

/// `v` rounded up to a multiple of `alignment` (a power of two).
func alignUp(_ v: UInt64, _ alignment: UInt64) -> UInt64 { (v + alignment - 1) & ~(alignment - 1) }

/// "2, 5, 7" for the set bits of `v`.
func bitList(_ v: UInt32) -> String {
    (0..<32).filter { v & (1 << UInt32($0)) != 0 }.map(String.init).joined(separator: ", ")
}

func le32(_ b: [UInt8], _ o: Int) -> UInt32 {
    UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
}
