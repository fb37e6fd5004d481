import VMRRBase
import ArgumentParser
import Glibc
import VMRRJournal
import VMRRMachine

/// A journal opened from a journal file or from a bundle.
struct OpenedJournal {
    var reader: JournalReader
    /// The image bytes, when the journal came from a bundle.
    var bundledImage: [UInt8]?
}

/// Opens `path` as a journal or a `.vmrrpack` bundle; exits with status 2
/// and a one-line error when it cannot.
func openJournal(_ path: String) -> OpenedJournal {
    let bytes = readInput(path)
    do {
        if VMRRBundle.looksLikeBundle(bytes) {
            let b = try VMRRBundle.decode(bytes, name: path)
            return OpenedJournal(reader: try JournalReader(bytes: b.journal, name: "\(path) (journal.vmrr)"), bundledImage: b.image)
        }
        return OpenedJournal(reader: try JournalReader(bytes: bytes, name: path), bundledImage: nil)
    } catch {
        fail("\(error)")
    }
}

struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pack a journal and its guest image into one self-contained bug-report bundle.",
        discussion: "The bundle replays anywhere: vmrr replay FILE.vmrrpack needs no other file.")

    @Argument(help: "The journal file.")
    var journal: String

    @Option(name: [.short, .customLong("output")], help: "The bundle to write (default: JOURNAL-NAME.vmrrpack).")
    var output: String?

    @Option(help: "The guest image (default: the path recorded in the journal). Its SHA-256 must match the journal's.")
    var image: String?

    func run() throws {
        let jbytes = readInput(journal)
        let reader: JournalReader
        do { reader = try JournalReader(bytes: jbytes, name: journal) } catch { fail("\(error)") }
        let imagePath = image ?? reader.header.imagePath
        let ibytes: [UInt8]
        do { ibytes = try FileIO.read(imagePath, regularOnly: false) } catch {
            fail("\(imagePath): cannot read the guest image: \(error.errno); pass --image PATH")
        }
        let sha = SHA256.hash(ibytes)
        guard sha == reader.header.imageSHA256 else {
            fail("\(imagePath): SHA-256 \(SHA256.hex(sha)) is not the recorded image's \(SHA256.hex(reader.header.imageSHA256)); a bundle must hold the image the journal was recorded from")
        }
        let manifest = VMRRBundle.makeManifest(header: reader.header, journal: jbytes, image: ibytes,
                                               journalName: journal.split(separator: "/").last.map(String.init) ?? journal,
                                               vmrrVersion: VMRRVersion.string)
        let bundle = VMRRBundle(manifest: manifest, journal: jbytes, image: ibytes).encode()
        let out = output ?? Record.defaultJournalPath(journal).replacingSuffix(".vmrr", with: "") + ".vmrrpack"
        writeFileOrFail(out, bundle)
        warn("vmrr: packed \(journal) (\(jbytes.count) bytes) and \(imagePath) (\(ibytes.count) bytes) into \(out) (\(bundle.count) bytes)")
    }
}

struct Unpack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Unpack a bundle into its journal, guest image and manifest.")

    @Argument(help: "The bundle (.vmrrpack).")
    var bundle: String

    @Option(name: [.short, .customLong("directory")], help: "Directory to write into (default: the current one).")
    var directory: String = "."

    func run() throws {
        let bytes = readInput(bundle)
        let b: VMRRBundle
        do { b = try VMRRBundle.decode(bytes, name: bundle) } catch { fail("\(error)") }
        let reader: JournalReader
        do { reader = try JournalReader(bytes: b.journal, name: "\(bundle) (journal.vmrr)") } catch { fail("\(error)") }
        let base = (bundle.split(separator: "/").last.map(String.init) ?? bundle).replacingSuffix(".vmrrpack", with: "")
        let imageName = reader.header.imagePath.split(separator: "/").last.map(String.init) ?? "image.elf"
        makeDirectories(directory)
        let jpath = "\(directory)/\(base).vmrr", ipath = "\(directory)/\(imageName)", mpath = "\(directory)/\(base).manifest.txt"
        writeFileOrFail(jpath, b.journal)
        writeFileOrFail(ipath, b.image)
        writeFileOrFail(mpath, Array(b.manifest.utf8))
        warn("vmrr: unpacked \(jpath), \(ipath) and \(mpath)")
        warn("vmrr: replay with: vmrr replay \(jpath) (the image beside it is found by its name and SHA-256)")
    }
}

/// Creates `path` and its missing parents (as `mkdir -p`), or exits with a one-line error.
func makeDirectories(_ path: String) {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") where !part.isEmpty {
        prefix += part + "/"
        var st = stat()
        if stat(prefix, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { fail("\(path): cannot create the directory: \(prefix.dropLast()) is not a directory") }
            continue
        }
        guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
            fail("\(path): cannot create the directory: \(String(cString: strerror(errno)))")
        }
    }
}

func writeFileOrFail(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { fail("\(path): cannot create: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    do { try FileIO.writeAll(fd: fd, bytes) } catch { fail("\(path): write failed: \(error.errno)") }
}

extension String {
    func replacingSuffix(_ suffix: String, with new: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + new : self
    }
}

/// A journal or bundle named on the command line, or a one-line error.
func readInput(_ path: String) -> [UInt8] {
    do { return try FileIO.read(path, regularOnly: false) } catch { fail("\(path): cannot read: \(error.errno)") }
}
