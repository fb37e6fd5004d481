import VMRRBase
import VMRRJournal

/// The Linux x86 boot protocol (Documentation/x86/boot.rst): a bzImage
/// (real-mode setup sectors, then the protected-mode kernel loaded at 1 MiB)
/// or an uncompressed `vmlinux` ELF, entered with a zero page (struct
/// boot_params). docs/GUEST.md, section "Linux", is the contract.

/// Offsets in a bzImage's first sectors and in the zero page (they coincide:
/// the setup header sits at the same offsets in both).
public enum LinuxBootParams {
    /// Size of the zero page.
    public static let size = 4096
    // struct boot_params
    /// acpi_rsdp_addr (u64): where the RSDP is, so the kernel need not search.
    public static let acpiRSDPAddr = 0x070
    public static let extRamdiskImage = 0x0C0, extRamdiskSize = 0x0C4, extCmdLinePtr = 0x0C8
    public static let e820Entries = 0x1E8
    public static let e820Table = 0x2D0
    public static let e820EntrySize = 20
    public static let e820MaxEntries = 128
    // struct setup_header
    public static let setupHeaderStart = 0x1F1
    public static let setupSects = 0x1F1
    public static let bootFlag = 0x1FE
    public static let jump = 0x200
    public static let header = 0x202
    public static let version = 0x206
    public static let typeOfLoader = 0x210
    public static let loadflags = 0x211
    public static let code32Start = 0x214
    public static let ramdiskImage = 0x218
    public static let ramdiskSize = 0x21C
    public static let heapEndPtr = 0x224
    public static let cmdLinePtr = 0x228
    public static let initrdAddrMax = 0x22C
    public static let kernelAlignment = 0x230
    public static let relocatableKernel = 0x234
    public static let xloadflags = 0x236
    public static let cmdlineSize = 0x238
    public static let prefAddress = 0x258
    public static let initSize = 0x260
    /// boot_flag's value.
    public static let bootFlagValue: UInt16 = 0xAA55
    /// setup_sects of 0 means 4.
    public static let defaultSetupSects = 4
    public static let sectorSize = 512

    /// loadflags bits.
    public static let loadedHigh: UInt8 = 1 << 0
    public static let keepSegments: UInt8 = 1 << 6
    public static let canUseHeap: UInt8 = 1 << 7
    /// xloadflags bit 0: the kernel has the 64-bit entry at +0x200.
    public static let xlfKernel64: UInt16 = 1 << 0
    /// heap_end_ptr vmrr gives: the end of the setup heap, relative to the
    /// real-mode code (0x9800 is the recommended real-mode stack top - 0x200).
    public static let heapEnd: UInt16 = 0xFE00
}

/// A Linux kernel image, checked and decoded.
public struct LinuxImage: Sendable {
    public enum Kind: String, Sendable, Equatable { case bzImage, vmlinux }

    /// Path, bytes, SHA-256, symbols, and the segments to load (a bzImage's
    /// protected-mode kernel at 1 MiB, or the vmlinux's PT_LOAD segments at
    /// their physical addresses). `entry` is the physical entry address.
    public let image: GuestImage
    public let kind: Kind
    /// The boot protocol version (0x020F is 2.15); a vmlinux gets vmrr's own header.
    public let protocolVersion: UInt16
    /// The setup header's bytes (offsets 0x1F1 up to the end the header's jump gives).
    public let setupHeader: [UInt8]
    /// True when entered at the 64-bit entry (long mode), false for the 32-bit one.
    public let longMode: Bool
    /// Bytes the kernel needs from where it runs (init_size), or the image's extent.
    public let initSize: UInt64
    /// Where the kernel will decompress and run, at the earliest.
    public let runAddress: UInt64
    /// cmdline_size: the longest command line, NUL excluded.
    public let commandLineMax: UInt64
    /// initrd_addr_max: the highest address an initrd's last byte may occupy.
    public let initrdAddressMax: UInt64
    /// For a bzImage: the payload's compressor, and whether vmrr decompressed
    /// it on the host and loads the vmlinux inside (entered at startup_64).
    public var payloadCompression: LinuxPayload.Compression? = nil
    public var decompressedOnHost = false

    /// True when `bytes` hold the "HdrS" magic at offset 0x202.
    public static func isBzImage(_ bytes: [UInt8]) -> Bool {
        bytes.count >= LinuxBootParams.header + 4 && le32(bytes, LinuxBootParams.header) == Layout.linuxHeaderMagic
    }

    /// True when an ELF64 image is a Linux kernel: its symbols name
    /// startup_64 or linux_banner, or (stripped) a PT_NOTE holds a note
    /// named "Linux" (the kernel's ELF notes).
    static func looksLikeVmlinux(_ g: GuestImage) -> Bool {
        g.symbols.lookup("startup_64") != nil || g.symbols.lookup("linux_banner") != nil || hasLinuxNote(g.bytes)
    }

    /// True when an ELF64 file has a PT_NOTE segment holding a note named "Linux".
    static func hasLinuxNote(_ b: [UInt8]) -> Bool {
        let ptNote: UInt32 = 4, phentsize = 56
        guard b.count >= 64, b[4] == 2 else { return false }
        let phoff = le64(b, 32), phnum = Int(le16(b, 56))
        guard le16(b, 54) == UInt16(phentsize), phoff < UInt64(b.count), UInt64(b.count) - phoff >= UInt64(phnum * phentsize) else { return false }
        for i in 0..<phnum {
            let ph = Int(phoff) + i * phentsize
            guard le32(b, ph) == ptNote else { continue }
            let off = le64(b, ph + 8), size = le64(b, ph + 32)
            guard off < UInt64(b.count), size <= UInt64(b.count) - off else { continue }
            var n = Int(off)
            let end = Int(off + size)
            while n + 12 <= end {
                let namesz = Int(le32(b, n)), descsz = Int(le32(b, n + 4))
                let name = n + 12
                guard namesz <= end - name else { break }
                if namesz == 6, Array(b[name..<(name + 5)]) == Array("Linux".utf8) { return true }
                n = name + ((namesz + 3) & ~3)
                guard descsz <= end - n else { break }
                n += (descsz + 3) & ~3
            }
        }
        return false
    }

    /// Decodes a bzImage, or an ELF64 vmlinux, already in memory.
    /// `decompressOnHost` (the default; `vmrr record --linux-decompress guest`
    /// turns it off) decompresses a 64-bit bzImage's LZ4 payload on the host.
    public static func parse(bytes: [UInt8], path: String, decompressOnHost: Bool = true) throws -> LinuxImage {
        if GuestImage.isELF(bytes) {
            return try parseVmlinux(bytes: bytes, path: path)
        }
        return try parseBzImage(bytes: bytes, path: path, decompressOnHost: decompressOnHost)
    }

    static func parseBzImage(bytes: [UInt8], path: String, decompressOnHost: Bool) throws -> LinuxImage {
        typealias P = LinuxBootParams
        func fail(_ reason: String) -> GuestImageError { GuestImageError(path: path, reason: reason) }
        guard bytes.count >= P.header + 4 else {
            throw fail("truncated at offset \(hex(UInt64(bytes.count))): a bzImage's setup header needs at least \(hex(UInt64(P.header + 4))) bytes")
        }
        guard le32(bytes, P.header) == Layout.linuxHeaderMagic else {
            throw fail("not a Linux bzImage: no \"HdrS\" magic at offset 0x202 (found \(hex(UInt64(le32(bytes, P.header)))))")
        }
        guard bytes.count >= P.version + 2 else { throw fail("truncated at offset \(hex(UInt64(bytes.count))): no protocol version at 0x206") }
        let version = le16(bytes, P.version)
        guard version >= Layout.linuxMinimumProtocol else {
            throw fail("boot protocol \(versionString(version)) (offset 0x206) is older than \(versionString(Layout.linuxMinimumProtocol)), the oldest vmrr loads")
        }
        let headerEnd = P.header + Int(bytes[P.jump + 1])
        guard headerEnd > P.initSize + 4, bytes.count >= headerEnd else {
            throw fail("truncated: the setup header ends at \(hex(UInt64(headerEnd))) (from the jump at 0x200), past the end of the file (\(bytes.count) bytes) or before init_size")
        }
        var sects = Int(bytes[P.setupSects])
        if sects == 0 { sects = P.defaultSetupSects }
        let kernelOffset = (sects + 1) * P.sectorSize
        guard kernelOffset < bytes.count else {
            throw fail("truncated: \(sects) setup sectors (offset 0x1f1) put the protected-mode kernel at \(hex(UInt64(kernelOffset))), past the end of the file (\(bytes.count) bytes)")
        }
        let xload = version >= 0x020C ? le16(bytes, P.xloadflags) : 0
        let longMode = xload & P.xlfKernel64 != 0
        let kernel = Array(bytes[kernelOffset...])
        let initSize = version >= 0x020A ? UInt64(le32(bytes, P.initSize)) : UInt64(kernel.count) * 4
        let alignment = version >= 0x0205 ? UInt64(max(le32(bytes, P.kernelAlignment), 1)) : 1
        let relocatable = version >= 0x0205 && bytes[P.relocatableKernel] != 0
        let pref = version >= 0x020A ? le64(bytes, P.prefAddress) : Layout.linuxKernelLoadAddress
        // A relocatable kernel decompresses at its load address rounded up to
        // kernel_alignment, but never below pref_address (LOAD_PHYSICAL_ADDR).
        let load = Layout.linuxKernelLoadAddress
        let run = relocatable ? max(alignUp(load, alignment.nonzeroBitCount == 1 ? alignment : 1), pref) : max(pref, load)
        let segment = LoadSegment(index: 0, paddr: load, vaddr: load, fileOffset: UInt64(kernelOffset),
                                  fileBytes: kernel[...], memsz: UInt64(kernel.count), flags: [.read, .write, .execute])
        let entry = longMode ? load + Layout.linuxEntry64Offset : load
        let sha = SHA256.hash(bytes)
        let header = Array(bytes[P.setupHeaderStart..<headerEnd])
        let commandLineMax = version >= 0x0206 ? UInt64(le32(bytes, P.cmdlineSize)) : 255
        let initrdMax = version >= 0x0203 ? UInt64(le32(bytes, P.initrdAddrMax)) : 0x37FF_FFFF
        let payload = LinuxPayload.compression(bzImage: bytes, kernelOffset: kernelOffset, version: version)
        if decompressOnHost, longMode, let (compression, range) = payload, compression == .lz4 {
            // The vmlinux inside, at its physical addresses, entered at startup_64 with this bzImage's setup header.
            let vmlinux: [UInt8]
            do { vmlinux = try LinuxPayload.lz4Legacy(bytes, range: range) } catch {
                throw fail("LZ4 payload at \(error.description)")
            }
            let inner = try parseVmlinux(bytes: vmlinux, path: path)
            let image = GuestImage(path: path, bytes: bytes, sha256: sha, entry: inner.image.entry,
                                   segments: inner.image.segments, symbols: inner.image.symbols)
            var l = LinuxImage(image: image, kind: .bzImage, protocolVersion: version, setupHeader: header, longMode: true,
                               initSize: max(initSize, inner.initSize), runAddress: inner.runAddress,
                               commandLineMax: commandLineMax, initrdAddressMax: initrdMax)
            l.payloadCompression = compression
            l.decompressedOnHost = true
            return l
        }
        let image = GuestImage(path: path, bytes: bytes, sha256: sha, entry: entry,
                               segments: [segment], symbols: SymbolTable([]))
        var l = LinuxImage(image: image, kind: .bzImage, protocolVersion: version,
                           setupHeader: header, longMode: longMode,
                           initSize: max(initSize, UInt64(kernel.count)), runAddress: run,
                           commandLineMax: commandLineMax, initrdAddressMax: initrdMax)
        l.payloadCompression = payload?.0
        return l
    }

    static func parseVmlinux(bytes: [UInt8], path: String) throws -> LinuxImage {
        let elf = try GuestImage.parseELF(bytes: bytes, path: path, classes: .elf64Only)
        guard looksLikeVmlinux(elf) else {
            throw GuestImageError(path: path, reason: "not a Linux kernel: an ELF64 file with no \"Linux\" ELF note and no startup_64 or linux_banner symbol (a bzImage has \"HdrS\" at offset 0x202)")
        }
        // The ELF entry of a vmlinux is physical (startup_64); translate it if it is virtual.
        var entry = elf.entry
        if let seg = elf.segments.first(where: { $0.memsz > 0 && $0.vaddr <= entry && entry - $0.vaddr < $0.memsz }),
           !elf.segments.contains(where: { $0.memsz > 0 && $0.paddr <= entry && entry - $0.paddr < $0.memsz }) {
            entry = seg.paddr + (entry - seg.vaddr)
        }
        guard elf.segments.contains(where: { $0.memsz > 0 && $0.paddr <= entry && entry - $0.paddr < $0.memsz }) else {
            throw GuestImageError(path: path, reason: "entry point \(hex(elf.entry)) is not inside any PT_LOAD segment")
        }
        let loaded = elf.segments.filter { $0.memsz > 0 }
        let low = loaded.map(\.paddr).min()!, high = loaded.map { $0.paddr + $0.memsz }.max()!
        let image = GuestImage(path: path, bytes: bytes, sha256: elf.sha256, entry: entry, segments: elf.segments, symbols: elf.symbols)
        return LinuxImage(image: image, kind: .vmlinux, protocolVersion: 0x020F,
                          setupHeader: vmlinuxSetupHeader(), longMode: true,
                          initSize: high - low, runAddress: low, commandLineMax: 2047, initrdAddressMax: 0x7FFF_FFFF)
    }

    /// The setup header vmrr writes for a vmlinux, which carries none:
    /// boot_flag, "HdrS", protocol 2.15.
    static func vmlinuxSetupHeader() -> [UInt8] {
        typealias P = LinuxBootParams
        var h = [UInt8](repeating: 0, count: P.initSize + 4 - P.setupHeaderStart)
        func put(_ o: Int, _ v: UInt64, _ n: Int) { for i in 0..<n { h[o - P.setupHeaderStart + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        put(P.bootFlag, UInt64(P.bootFlagValue), 2)
        put(P.header, UInt64(Layout.linuxHeaderMagic), 4)
        put(P.version, 0x020F, 2)
        put(P.kernelAlignment, 0x20_0000, 4)
        put(P.cmdlineSize, 2047, 4)
        return h
    }

    /// Checks that the kernel, where it runs (init_size bytes from its run
    /// address), fits in RAM below the 3 GiB hole.
    public func validate(memorySize: UInt64) throws {
        try image.checkSegmentsDisjoint()
        let lowEnd = Layout.ramRanges(memorySize: memorySize)[0].upperBound
        for seg in image.segments where seg.memsz > 0 {
            let (segEnd, segOverflow) = seg.paddr.addingReportingOverflow(seg.memsz)
            guard seg.paddr >= Layout.imageMinimumAddress, !segOverflow, segEnd <= lowEnd else {
                throw GuestImageError(path: image.path, reason: "\(seg.summary) does not fit in guest RAM below \(hex(lowEnd)) (\(memorySize >> 20) MiB); give more with --memory")
            }
        }
        // pref_address and init_size come from the file: a hostile one must not overflow.
        let (end, overflow) = runAddress.addingReportingOverflow(initSize)
        guard !overflow else {
            throw GuestImageError(path: image.path, reason: "the kernel's run address \(hex(runAddress)) (pref_address, offset 0x258) plus init_size \(hex(initSize)) lies beyond 2^64")
        }
        guard end <= lowEnd else {
            throw GuestImageError(path: image.path, reason: "the kernel does not fit in RAM: it runs at \(hex(runAddress)) and needs init_size \(hex(initSize)) bytes, up to \(hex(end)), but RAM ends at \(hex(lowEnd)) (\(memorySize >> 20) MiB); use --memory \(alignUp(min(end, Layout.maximumMemorySize) &+ (16 << 20), 64 << 20) >> 20)M or more")
        }
    }

    /// "2.06" for 0x0206.
    static func versionString(_ v: UInt16) -> String {
        let minor = v & 0xFF
        return "\(v >> 8).\(minor < 10 ? "0" : "")\(minor)"
    }
}

/// An initial RAM disk given with `--initrd FILE`.
public struct LinuxInitrd: Sendable, Equatable {
    public let path: String
    public let bytes: [UInt8]
    public init(path: String, bytes: [UInt8]) { self.path = path; self.bytes = bytes }
    public static func load(path: String) throws -> LinuxInitrd {
        do { return LinuxInitrd(path: path, bytes: try FileIO.read(path)) } catch {
            throw BootPlanError(reason: "initrd \(path): \(error.description)")
        }
    }
}

extension BootPlan {
    /// The zero page for `image`: the setup header with vmrr's loader
    /// fields, the e820 map, the command line and the initrd pointers.
    public static func linuxZeroPage(image: LinuxImage, memorySize: UInt64,
                                     initrd: (gpa: UInt64, size: UInt64)?) -> [UInt8] {
        typealias P = LinuxBootParams
        var z = [UInt8](repeating: 0, count: P.size)
        func put(_ o: Int, _ v: UInt64, _ n: Int) { for i in 0..<n { z[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        z.replaceSubrange(P.setupHeaderStart..<(P.setupHeaderStart + image.setupHeader.count), with: image.setupHeader)
        z[P.typeOfLoader] = Layout.linuxLoaderType
        z[P.loadflags] = (z[P.loadflags] | P.loadedHigh | P.canUseHeap) & ~P.keepSegments
        put(P.heapEndPtr, UInt64(P.heapEnd), 2)
        put(P.code32Start, Layout.linuxKernelLoadAddress, 4)
        put(P.cmdLinePtr, Layout.linuxCommandLineAddress, 4)
        put(P.extCmdLinePtr, Layout.linuxCommandLineAddress >> 32, 4)
        if let initrd {
            put(P.ramdiskImage, initrd.gpa, 4); put(P.extRamdiskImage, initrd.gpa >> 32, 4)
            put(P.ramdiskSize, initrd.size, 4); put(P.extRamdiskSize, initrd.size >> 32, 4)
        }
        let map = MultibootInfo.memoryMap(memorySize: memorySize)
        z[P.e820Entries] = UInt8(map.count)
        for (i, r) in map.enumerated() {
            let o = P.e820Table + i * P.e820EntrySize
            put(o, r.base, 8); put(o + 8, r.length, 8); put(o + 16, UInt64(r.kind.rawValue), 4)
        }
        return z
    }

    /// The Linux entry state: the zero page at `Layout.linuxZeroPageAddress`,
    /// the command line, the kernel at 1 MiB (bzImage) or at its physical
    /// addresses (vmlinux), the initrd at the top of RAM below the 3 GiB hole
    /// and initrd_addr_max, then either long mode with the identity map and
    /// RSI = zero page (64-bit entry), or protected mode with paging off and
    /// ESI = zero page (32-bit entry). Both use __BOOT_CS 0x10 and __BOOT_DS
    /// 0x18, IF = 0.
    /// With `acpi`, the ACPI tables go at `Layout.acpiTablesAddress` (the
    /// kernel, at or above 1 MiB, never covers it) and the zero page's
    /// acpi_rsdp_addr points at the RSDP.
    public static func linux(image: LinuxImage, memorySize: UInt64, commandLine: String,
                             initrd: LinuxInitrd?, acpi: ACPIPlatform? = nil) throws -> BootPlan {
        try image.validate(memorySize: memorySize)
        let cmdline = Array(commandLine.utf8)
        let max = min(image.commandLineMax, Layout.linuxCommandLineArea - 1)
        guard UInt64(cmdline.count) <= max else {
            throw BootPlanError(reason: "command line is \(cmdline.count) bytes; this kernel takes at most \(max) (cmdline_size)")
        }
        guard !cmdline.contains(0) else { throw BootPlanError(reason: "command line contains a NUL byte") }
        let lowEnd = Layout.ramRanges(memorySize: memorySize)[0].upperBound
        var placed: (gpa: UInt64, size: UInt64)?
        if let initrd {
            let size = UInt64(initrd.bytes.count)
            let top = Swift.min(lowEnd, image.initrdAddressMax &+ 1)
            let kernelEnd = image.runAddress &+ image.initSize   // validate(memorySize:) has checked it fits
            guard size <= top, (top - size) & ~(Layout.pageSize - 1) >= kernelEnd else {
                throw BootPlanError(reason: "initrd \(initrd.path) (\(size) bytes) does not fit between the kernel (up to \(hex(kernelEnd))) and \(hex(top)); give more RAM with --memory")
            }
            placed = ((top - size) & ~(Layout.pageSize - 1), size)
        }
        var writes: [(gpa: UInt64, bytes: ArraySlice<UInt8>)] = []
        writes.append((Layout.gdtAddress, linuxGDTBytes(longMode: image.longMode)[...]))
        writes.append((Layout.tssAddress, [UInt8](repeating: 0, count: Int(Layout.tssSize))[...]))
        if image.longMode { writes.append(contentsOf: identityMapTables().map { ($0.gpa, $0.bytes[...]) }) }
        let tables = acpi.map { ACPITables.build(platform: $0, base: Layout.acpiTablesAddress) }
        var zeroPage = linuxZeroPage(image: image, memorySize: memorySize, initrd: placed)
        if let tables {
            writes.append((tables.base, tables.bytes[...]))
            zeroPage.replaceSubrange(LinuxBootParams.acpiRSDPAddr..<(LinuxBootParams.acpiRSDPAddr + 8), with: littleEndianBytes(tables.rsdp))
        }
        writes.append((Layout.linuxZeroPageAddress, zeroPage[...]))
        writes.append((Layout.linuxCommandLineAddress, (cmdline + [0])[...]))
        let (segmentWrites, zeroFills) = segmentWrites(image.image)
        writes += segmentWrites
        if let initrd, let placed { writes.append((placed.gpa, initrd.bytes[...])) }

        var regs = GPRegisters()
        regs.rip = image.image.entry
        regs.rflags = GuestArch.RFlags.reserved1.rawValue
        regs.rsi = Layout.linuxZeroPageAddress
        regs.rsp = Layout.bootStackTop
        var plan = BootPlan(writes: writes, zeroFills: zeroFills, regs: regs, sregs: linuxSpecialRegisters(longMode: image.longMode))
        plan.acpi = tables
        return plan
    }

    /// __BOOT_CS for the 64-bit entry.
    public static let linuxCode64Segment = SegmentRegister(
        base: 0, limit: 0xFFFF_FFFF, selector: Layout.linuxBootCodeSelector,
        type: GuestArch.SegmentType.codeExecuteReadAccessed, present: true, dpl: 0,
        db: false, s: true, l: true, g: true)
    /// __BOOT_CS for the 32-bit entry.
    public static let linuxCode32Segment = SegmentRegister(
        base: 0, limit: 0xFFFF_FFFF, selector: Layout.linuxBootCodeSelector,
        type: GuestArch.SegmentType.codeExecuteReadAccessed, present: true, dpl: 0,
        db: true, s: true, l: false, g: true)
    /// __BOOT_DS, flat 4 GiB read/write.
    public static let linuxDataSegment = SegmentRegister(
        base: 0, limit: 0xFFFF_FFFF, selector: Layout.linuxBootDataSelector,
        type: GuestArch.SegmentType.dataReadWriteAccessed, present: true, dpl: 0,
        db: true, s: true, l: false, g: true)
    static func linuxTaskSegment(longMode: Bool) -> SegmentRegister {
        SegmentRegister(base: Layout.tssAddress, limit: UInt32(Layout.tssSize - 1), selector: Layout.linuxTSSSelector,
                        type: longMode ? GuestArch.SegmentType.tss64Busy : GuestArch.SegmentType.tss32Busy,
                        present: true, dpl: 0, db: false, s: false, l: false, g: false)
    }

    /// The special registers at a Linux entry.
    public static func linuxSpecialRegisters(longMode: Bool) -> SpecialRegisters {
        var s = longMode ? entrySpecialRegisters() : multibootSpecialRegisters()
        s.cs = longMode ? linuxCode64Segment : linuxCode32Segment
        s.ds = linuxDataSegment; s.es = linuxDataSegment; s.fs = linuxDataSegment
        s.gs = linuxDataSegment; s.ss = linuxDataSegment
        s.tr = linuxTaskSegment(longMode: longMode)
        s.gdt = DescriptorTableRegister(base: Layout.gdtAddress, limit: Layout.linuxGDTLimit)
        return s
    }

    /// The Linux boot GDT: null, null, __BOOT_CS (64-bit code), __BOOT_DS,
    /// and the TSS descriptor (16 bytes; its upper half is zero for a 32-bit TSS).
    /// The code descriptor is 64-bit or 32-bit to match the entry.
    public static func linuxGDTBytes(longMode: Bool) -> [UInt8] {
        let tss = SegmentDescriptor.packSystem(linuxTaskSegment(longMode: longMode))
        let entries: [UInt64] = [0, 0, SegmentDescriptor.pack(longMode ? linuxCode64Segment : linuxCode32Segment), SegmentDescriptor.pack(linuxDataSegment), tss.low, tss.high]
        precondition(entries.count == Layout.linuxGDTEntryCount)
        return entries.flatMap(littleEndianBytes)
    }
}

func le16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
func le64(_ b: [UInt8], _ o: Int) -> UInt64 { UInt64(le32(b, o)) | UInt64(le32(b, o + 4)) << 32 }
