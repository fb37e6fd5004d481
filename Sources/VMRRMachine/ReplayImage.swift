import Glibc
import VMRRGuest
import VMRRJournal

/// The guest image a replay runs (and a debugger takes symbols from): the
/// one place that chooses between `--image`, a bundle's copy and the
/// recorded path, and reads it with the journal's boot protocol (an ELF32
/// multiboot kernel, a bzImage's vmlinux...).
public struct ReplayImage: Sendable {
    /// Where the image came from.
    public enum Origin: Sendable, Equatable {
        /// `--image PATH`: another build, replayed until behaviour differs.
        case override(String)
        /// The copy inside a bundle (`vmrr pack`).
        case bundle
        /// The path the header recorded.
        case recordedPath
        /// A file with the recorded image's name and SHA-256 beside the
        /// journal (an unpacked bundle, or a journal copied with its image).
        case besideJournal(String)
    }

    public let boot: BootImage
    public let origin: Origin
    public var image: GuestImage { boot.image }

    /// The image for a journal with `header`: `override`, else the bundle's
    /// copy, else the recorded path when it is readable, else a file beside
    /// `journalPath` with the recorded image's name and SHA-256. Nil when
    /// there is none of these; errors reading or parsing the chosen image
    /// (other than the one beside the journal) are thrown.
    public static func choose(header h: JournalHeader, override: String?, bundled: [UInt8]?,
                              journalPath: String? = nil) throws -> ReplayImage? {
        let boot = h.bootProtocol, onHost = h.linuxPayloadOnHost
        if let p = override {
            return ReplayImage(boot: try BootImage.load(path: p, bootProtocol: boot, linuxDecompressOnHost: onHost),
                               origin: .override(p))
        }
        if let bytes = bundled {
            return ReplayImage(boot: try BootImage.parse(bytes: bytes, path: h.imagePath, bootProtocol: boot,
                                                          linuxDecompressOnHost: onHost), origin: .bundle)
        }
        // The recorded path is taken only when it is a readable regular file: a header naming a
        // FIFO would block the open forever, and a directory is no image.
        guard isRegularFile(h.imagePath), access(h.imagePath, R_OK) == 0 else { return try beside(journalPath, header: h) }
        return ReplayImage(boot: try BootImage.load(path: h.imagePath, bootProtocol: boot, linuxDecompressOnHost: onHost),
                           origin: .recordedPath)
    }

    /// The recorded image's file name in the journal's directory, when that
    /// file is the recorded image (same SHA-256); nil otherwise.
    /// Also `BASE.image` beside `BASE.vmrr`: the name `vmrr unpack` gives the image.
    static func beside(_ journalPath: String?, header h: JournalHeader) throws -> ReplayImage? {
        guard let journalPath else { return nil }
        let dir = journalPath.contains("/") ? String(journalPath[..<journalPath.lastIndex(of: "/")!]) : "."
        var candidates: [String] = []
        if let name = h.imagePath.split(separator: "/").last { candidates.append("\(dir)/\(name)") }
        let stem = journalPath.hasSuffix(".vmrr") ? String(journalPath.dropLast(5)) : journalPath
        candidates.append(stem + besideJournalSuffix)
        for candidate in candidates {
            // A regular file only: a FIFO with the recorded name would block the open.
            guard candidate != h.imagePath, isRegularFile(candidate),
                  let boot = try? BootImage.load(path: candidate, bootProtocol: h.bootProtocol, linuxDecompressOnHost: h.linuxPayloadOnHost),
                  boot.image.sha256 == h.imageSHA256 else { continue }
            return ReplayImage(boot: boot, origin: .besideJournal(candidate))
        }
        return nil
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// What `vmrr unpack` appends to a bundle's base name for the image.
    public static let besideJournalSuffix = ".image"

    /// True when the image is the one the header recorded (by SHA-256).
    public func isRecorded(_ h: JournalHeader) -> Bool { image.sha256 == h.imageSHA256 }
}
