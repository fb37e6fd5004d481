import VMRRBase
import ArgumentParser
import Glibc
import VMRRGuest
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
/// A header whose RAM size no guest can have is refused here, so that every
/// command refuses it the same way (`dump` included).
func openJournal(_ path: String) -> OpenedJournal {
    // A regular file that is not a bundle is read at offsets, never loaded:
    // a journal of millions of events opens in constant memory.
    var st = stat()
    if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, !VMRRBundle.looksLikeBundle(path: path) {
        do { return checkedMemorySize(OpenedJournal(reader: try JournalReader(path: path), bundledImage: nil)) } catch {
            fail("\(error)")
        }
    }
    let bytes = readInput(path)
    let opened: OpenedJournal
    do {
        if VMRRBundle.looksLikeBundle(bytes) {
            let b = try VMRRBundle.decode(bytes, name: path)
            opened = OpenedJournal(reader: try JournalReader(bytes: b.journal, name: "\(path) (journal.vmrr)"), bundledImage: b.image)
        } else {
            opened = OpenedJournal(reader: try JournalReader(bytes: bytes, name: path), bundledImage: nil)
        }
    } catch {
        fail("\(error)")
    }
    return checkedMemorySize(opened)
}

/// `opened`, when its header's memory size is one vmrr can run.
private func checkedMemorySize(_ opened: OpenedJournal) -> OpenedJournal {
    let ram = opened.reader.header.memorySize
    guard Layout.isValidMemorySize(ram) else { fail(Layout.memorySizeRefusal(ram, journal: opened.reader.path)) }
    return opened
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
        // Regular files only: a recorded path naming a FIFO would block the open.
        do { ibytes = try FileIO.read(imagePath) } catch {
            fail("\(shown(imagePath)): cannot read the guest image: \(error); pass --image PATH")
        }
        let sha = SHA256.hash(ibytes)
        guard sha == reader.header.imageSHA256 else {
            fail("\(shown(imagePath)): SHA-256 \(SHA256.hex(sha)) is not the recorded image's \(SHA256.hex(reader.header.imageSHA256)); a bundle must hold the image the journal was recorded from")
        }
        let manifest = VMRRBundle.makeManifest(header: reader.header, journal: jbytes, image: ibytes,
                                               journalName: journal.split(separator: "/").last.map(String.init) ?? journal,
                                               vmrrVersion: VMRRVersion.string)
        let bundle = VMRRBundle(manifest: manifest, journal: jbytes, image: ibytes).encode()
        let out = output ?? Record.defaultJournalPath(journal).replacingSuffix(".vmrr", with: "") + ".vmrrpack"
        refuseSameFile(out, as: journal, what: "the journal")
        refuseSameFile(out, as: imagePath, what: "the guest image")
        writeFileOrFail(out, bundle)
        warn("vmrr: packed \(shown(journal)) (\(jbytes.count) bytes) and \(shown(imagePath)) (\(ibytes.count) bytes) into \(out) (\(bundle.count) bytes)")
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
        let sha = SHA256.hash(b.image)
        guard sha == reader.header.imageSHA256 else {
            fail("\(bundle): the bundled image's SHA-256 \(SHA256.hex(sha)) is not the journal's \(SHA256.hex(reader.header.imageSHA256)); nothing unpacked")
        }
        makeDirectories(directory)
        // Every name is vmrr's: the bundle's own file name plus a fixed suffix, never a
        // name from the bundle or the journal header, so nothing lands outside DIR and the
        // three files are always distinct. A replay finds BASE.image beside BASE.vmrr.
        let files = Self.unpackedNames(bundle: bundle).map { "\(directory)/\($0)" }
        let (jpath, ipath, mpath) = (files[0], files[1], files[2])
        for path in files { refuseSameFile(path, as: bundle, what: "the bundle") }
        writeFileOrFail(jpath, b.journal)
        writeFileOrFail(ipath, b.image)
        writeFileOrFail(mpath, Array(b.manifest.utf8))
        warn("vmrr: unpacked \(shown(jpath)), \(shown(ipath)) and \(shown(mpath))")
        warn("vmrr: replay with: vmrr replay \(shown(jpath)) (the image beside it is found by its SHA-256)")
    }

    /// The journal, image and manifest names for `bundle`: `BASE.vmrr`,
    /// `BASE.image`, `BASE.manifest.txt`, BASE being the bundle's file name
    /// without `.vmrrpack`.
    static func unpackedNames(bundle: String) -> [String] {
        var base = (bundle.split(separator: "/").last.map(String.init) ?? bundle).replacingSuffix(".vmrrpack", with: "")
        if base.isEmpty || base == "." || base == ".." { base = "bundle" }
        return ["\(base).vmrr", "\(base)\(ReplayImage.besideJournalSuffix)", "\(base).manifest.txt"]
    }
}

/// Exits with a one-line error when `path` is the same file as `other` (by device and inode).
func refuseSameFile(_ path: String, as other: String, what: String) {
    var a = stat(), b = stat()
    guard stat(path, &a) == 0, stat(other, &b) == 0, a.st_dev == b.st_dev, a.st_ino == b.st_ino else { return }
    fail("\(shown(path)): is \(what) (\(shown(other))); refusing to write over it")
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

/// Writes `bytes` to `path`, a regular file (created, or truncated): never
/// through a symbolic link, never into a FIFO or device (opening does not
/// block), or exits with a one-line error.
func writeFileOrFail(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        let why = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
        fail("\(shown(path)): cannot create: \(why)")
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { fail("\(shown(path)): cannot create: not a regular file") }
    guard ftruncate(fd, 0) == 0 else { fail("\(shown(path)): cannot truncate: \(String(cString: strerror(errno)))") }
    do { try FileIO.writeAll(fd: fd, bytes) } catch { fail("\(shown(path)): write failed: \(error.errno)") }
}

extension String {
    func replacingSuffix(_ suffix: String, with new: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + new : self
    }
}

/// The most read from a journal or bundle that is a pipe (`<(...)`); a
/// regular file is read whole, and a device is refused.
let maxStreamedInput = 1 << 30

/// A journal or bundle named on the command line, or a one-line error.
func readInput(_ path: String) -> [UInt8] {
    // A journal is never a device: /dev/zero or /dev/urandom would be read without end.
    var st = stat()
    if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFCHR || (st.st_mode & S_IFMT) == S_IFBLK {
        fail("\(shown(path)): cannot read: a device, not a journal or bundle")
    }
    do { return try FileIO.read(path, regularOnly: false, maxBytes: maxStreamedInput) } catch {
        fail("\(shown(path)): cannot read: \(error.errno == Errno(EFBIG) ? "not a file, and longer than \(maxStreamedInput >> 20) MiB" : "\(error.errno)")")
    }
}
