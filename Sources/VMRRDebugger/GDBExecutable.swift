import Glibc
import VMRRBase
import VMRRGuest

/// The executable the gdb stub offers gdb (`qXfer:exec-file:read`), so that
/// gdb loads the guest's symbols with no `file` command.
///
/// gdb takes its architecture from the executable before the target
/// description: offered a multiboot kernel's ELF32 container it picks i386,
/// and then `rip` is an invalid register. So an ELF32 image is offered as an
/// ELF64 copy (`objcopy -O elf64-x86-64`, which keeps the symbols and the
/// DWARF line tables) made in a private directory that is removed when the
/// stub goes away. An image that is not on disk (a bundle's) is written
/// there too. ELF64 images on disk are offered as they are.
final class GDBExecutable {
    /// The path gdb is given; nil when there is nothing to offer (no image,
    /// or a bzImage).
    private(set) var path: String?
    /// Why the offered file is not what gdb needs, for gdb's console; nil when it is.
    private(set) var note: String?
    private var directory: String?

    static let elfClassOffset = 4
    static let elfClass32: UInt8 = 1

    init(image: GuestImage?) {
        guard let image, GuestImage.isELF(image.bytes) else { return }
        let is32 = image.bytes.count > Self.elfClassOffset && image.bytes[Self.elfClassOffset] == Self.elfClass32
        let onDisk = access(image.path, R_OK) == 0
        if !is32 && onDisk { path = image.path; return }
        do {
            let dir = try Self.makeDirectory()
            directory = dir
            let name = image.path.split(separator: "/").last.map(String.init) ?? "image.elf"
            var source = image.path
            if !onDisk {
                source = "\(dir)/\(is32 ? "elf32-" : "")\(name)"
                try Self.write(image.bytes, to: source)
            }
            guard is32 else { path = source; return }
            let copy = "\(dir)/\(name).elf64"
            try Self.run(["objcopy", "-O", "elf64-x86-64", source, copy])
            path = copy
        } catch {
            path = onDisk ? image.path : nil
            note = "\(image.path) is an ELF32 file and no ELF64 copy could be made (\(error)): "
                + "after connecting, type 'set architecture i386:x86-64' before reading registers"
        }
    }

    deinit {
        guard let directory else { return }
        for f in (try? Self.entries(directory)) ?? [] { unlink("\(directory)/\(f)") }
        rmdir(directory)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func makeDirectory() throws -> String {
        let base = (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/vmrr-gdb-XXXXXX"
        var template = Array(base.utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure(description: "mkdtemp \(base): \(Errno.current)")
        }
        return String(cString: made)
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "\(path): \(Errno.current)") }
        defer { close(fd) }
        try FileIO.writeAll(fd: fd, bytes)
    }

    /// Runs a tool found on PATH and waits for it; its output goes to /dev/null.
    static func run(_ argv: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
        var cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cargs, environ)
        guard rc == 0 else { throw Failure(description: "\(argv[0]): \(Errno(rc))") }
        var status: Int32 = 0
        guard case .success = valueOrErrno({ waitpid(pid, &status, 0) }) else {
            throw Failure(description: "\(argv[0]): waitpid: \(Errno.current)")
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else { throw Failure(description: "\(argv.joined(separator: " ")) failed (status \(status))") }
    }

    static func entries(_ directory: String) throws -> [String] {
        guard let d = opendir(directory) else { throw Failure(description: "\(directory): \(Errno.current)") }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
