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
    }

    public let boot: BootImage
    public let origin: Origin
    public var image: GuestImage { boot.image }

    /// The image for a journal with `header`: `override`, else the bundle's
    /// copy, else the recorded path when it is readable. Nil when there is
    /// none of these; errors reading or parsing the chosen image are thrown.
    public static func choose(header h: JournalHeader, override: String?, bundled: [UInt8]?) throws -> ReplayImage? {
        let boot = h.bootProtocol, onHost = h.linuxPayloadOnHost
        if let p = override {
            return ReplayImage(boot: try BootImage.load(path: p, bootProtocol: boot, linuxDecompressOnHost: onHost),
                               origin: .override(p))
        }
        if let bytes = bundled {
            return ReplayImage(boot: try BootImage.parse(bytes: bytes, path: h.imagePath, bootProtocol: boot,
                                                          linuxDecompressOnHost: onHost), origin: .bundle)
        }
        guard access(h.imagePath, R_OK) == 0 else { return nil }
        return ReplayImage(boot: try BootImage.load(path: h.imagePath, bootProtocol: boot, linuxDecompressOnHost: onHost),
                           origin: .recordedPath)
    }

    /// True when the image is the one the header recorded (by SHA-256).
    public func isRecorded(_ h: JournalHeader) -> Bool { image.sha256 == h.imageSHA256 }
}
