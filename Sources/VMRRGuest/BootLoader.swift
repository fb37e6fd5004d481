import VMRRBase
import VMRRJournal

/// `--boot`: the boot protocol to use, or `auto` to choose from the image.
public enum BootSelection: String, Sendable, CaseIterable {
    case auto, vmrr, multiboot, linux
}

/// A guest image loaded for one boot protocol. The loaders sit side by side:
/// `GuestImage` (vmrr protocol), `MultibootImage` (multiboot v1) and
/// `LinuxImage` (the Linux x86 boot protocol).
public enum BootImage: Sendable {
    case vmrr(GuestImage)
    case multiboot(MultibootImage)
    case linux(LinuxImage)

    /// Path, bytes, SHA-256, entry, segments and symbols.
    public var image: GuestImage {
        switch self {
        case .vmrr(let g): return g
        case .multiboot(let m): return m.image
        case .linux(let l): return l.image
        }
    }

    public var bootProtocol: BootProtocol {
        switch self {
        case .vmrr: return .vmrr
        case .multiboot: return .multiboot
        case .linux: return .linux
        }
    }

    /// Reads the image at `path` and loads it for `selection`.
    /// `linuxDecompressOnHost` is passed to `LinuxImage.parse`.
    public static func load(path: String, selection: BootSelection, linuxDecompressOnHost: Bool = true) throws -> BootImage {
        let bytes = try GuestImage.readImageFile(path)
        return try parse(bytes: bytes, path: path, selection: selection, linuxDecompressOnHost: linuxDecompressOnHost)
    }

    /// Loads an image already in memory for `selection`.
    ///
    /// `auto` chooses multiboot when the first 8 KiB hold a multiboot v1
    /// header with a correct checksum, and the vmrr protocol otherwise. When
    /// the image is not a vmrr image either but shows signs of multiboot (a
    /// header with a bad checksum, a multiboot2 header), the multiboot
    /// problem is the error reported.
    public static func parse(bytes: [UInt8], path: String, selection: BootSelection,
                             linuxDecompressOnHost: Bool = true) throws -> BootImage {
        switch selection {
        case .vmrr:
            return .vmrr(try GuestImage.parse(bytes: bytes, path: path))
        case .multiboot:
            return .multiboot(try MultibootImage.parse(bytes: bytes, path: path))
        case .linux:
            return .linux(try LinuxImage.parse(bytes: bytes, path: path, decompressOnHost: linuxDecompressOnHost))
        case .auto:
            if LinuxImage.isBzImage(bytes) { return .linux(try LinuxImage.parse(bytes: bytes, path: path, decompressOnHost: linuxDecompressOnHost)) }
            let scan = MultibootScan.scan(bytes)
            if case .found = scan { return .multiboot(try MultibootImage.parse(bytes: bytes, path: path)) }
            do {
                let g = try GuestImage.parse(bytes: bytes, path: path)
                if LinuxImage.looksLikeVmlinux(g) { return .linux(try LinuxImage.parse(bytes: bytes, path: path, decompressOnHost: linuxDecompressOnHost)) }
                return .vmrr(g)
            } catch let vmrrError as GuestImageError {
                if scan != .none, let problem = scan.problem {
                    throw GuestImageError(path: path, reason: "\(problem) (and as a vmrr-protocol image: \(vmrrError.reason))")
                }
                if bytes.count > 4, bytes[4] == 1 {   // ELF32: only multiboot could boot it
                    throw GuestImageError(path: path, reason: "\(vmrrError.reason), and it is not a multiboot image either: \(scan.problem ?? "")")
                }
                throw vmrrError
            }
        }
    }

    /// Loads an image for a protocol already chosen (a journal's header).
    /// `linuxDecompressOnHost` is the journal's choice (header tag 19).
    public static func parse(bytes: [UInt8], path: String, bootProtocol: BootProtocol,
                             linuxDecompressOnHost: Bool = true) throws -> BootImage {
        switch bootProtocol {
        case .vmrr: return try parse(bytes: bytes, path: path, selection: .vmrr)
        case .multiboot: return try parse(bytes: bytes, path: path, selection: .multiboot)
        case .linux: return try parse(bytes: bytes, path: path, selection: .linux, linuxDecompressOnHost: linuxDecompressOnHost)
        }
    }

    public static func load(path: String, bootProtocol: BootProtocol, linuxDecompressOnHost: Bool = true) throws -> BootImage {
        let bytes = try GuestImage.readImageFile(path)
        return try parse(bytes: bytes, path: path, bootProtocol: bootProtocol, linuxDecompressOnHost: linuxDecompressOnHost)
    }

    /// The entry state. `arguments` is the guest's command line (words after
    /// `--`); a multiboot kernel sees `IMAGE-NAME ARGS` with the image path
    /// as given, as QEMU passes it. Modules are for multiboot only, an
    /// initrd for Linux only.
    /// With `acpi`, multiboot and Linux guests get ACPI tables for that
    /// platform (vmrr-protocol guests never do: their replay rebuilds the
    /// boot state from the image alone).
    public func plan(memorySize: UInt64, arguments: [String], modules: [MultibootModule],
                     initrd: LinuxInitrd? = nil, acpi: ACPIPlatform? = nil) throws -> BootPlan {
        if initrd != nil, case .linux = self {} else if let initrd {
            throw BootPlanError(reason: "--initrd \(initrd.path) needs a Linux kernel; this image boots with the \(bootProtocol.name) protocol")
        }
        switch self {
        case .linux(let l):
            guard modules.isEmpty else { throw BootPlanError(reason: "--module needs a multiboot guest; this image boots with the Linux protocol (use --initrd)") }
            return try BootPlan.linux(image: l, memorySize: memorySize, commandLine: guestCommandLine(arguments: arguments), initrd: initrd, acpi: acpi)
        case .vmrr(let g):
            guard modules.isEmpty else { throw BootPlanError(reason: "--module needs a multiboot guest; this image boots with the vmrr protocol") }
            return try BootPlan.make(image: g, memorySize: memorySize, commandLine: guestCommandLine(arguments: arguments))
        case .multiboot(let m):
            return try BootPlan.multiboot(image: m, memorySize: memorySize,
                                          commandLine: guestCommandLine(arguments: arguments), modules: modules, acpi: acpi)
        }
    }

    /// The command line the guest receives: the arguments joined by spaces
    /// (vmrr protocol), or `IMAGE-NAME ARGS` (multiboot, as QEMU passes it).
    public func guestCommandLine(arguments: [String]) -> String {
        let args = arguments.joined(separator: " ")
        switch self {
        case .vmrr, .linux: return args
        case .multiboot(let m): return "\(m.image.path) \(args)"
        }
    }
}
