import Foundation
import Testing
import VMRRTestSupport

/// The Debian cloud kernel, fetched with apt-get at test time and unpacked
/// into a scratch directory (never committed), booted with the Linux boot
/// protocol to its `Linux version` line, then replayed.
enum DebianKernel {
    /// The metapackage; the test downloads the real package it depends on.
    static let metapackage = "linux-image-cloud-amd64"

    /// The command line this host needs (docs/GUEST.md, "Linux"): the console
    /// on COM1, the early console there too (the banner is printed before
    /// the 8250 driver exists, and the early console replays it), and no
    /// KASLR, so the decompressor reads no TSC or RDRAND entropy.
    static let commandLine = ["console=ttyS0", "earlyprintk=serial,ttyS0,115200", "nokaslr"]

    /// Exits to reach `Linux version`: with the payload decompressed on the
    /// host, the kernel's early PCI probe and UART set-up, then one LSR read
    /// and one THR write per character of `[    0.000000] Linux version`;
    /// through the kernel's own decompressor, about 120 more (its UART
    /// set-up and "KASLR disabled"): measured 184. 200 covers both.
    static let maxExits = 200

    /// Each vmrr run's CPU budget (`Fixtures.vmrrCPUBound`): the bound for
    /// runaway work. Unloaded, the decompressor's record takes about 135 CPU s.
    static let cpuSeconds = 1800

    /// Each test's wall-clock limit: only a bound for a hang. On this 2-core
    /// machine at a load of 20 a process gets a tenth of a core, and the
    /// decompressor's record took over 20 minutes of wall time.
    static let testMinutes = 360

    /// The kernel's init_size is 0x3378000 above its 16 MiB run address:
    /// 64 MiB is too little.
    static let memory = "256M"

    /// `vmlinuz-*` unpacked in a fresh directory (removed when the test process exits), or why there is none.
    static let fetched: Result<String, TestFailure> = fetch()

    static func fetch() -> Result<String, TestFailure> {
        let dir = Fixtures.processScratch("debian-kernel")
        do {
            let depends = try E2E.shell("apt-cache depends \(metapackage)", cwd: dir)
            guard let package = depends.split(separator: "\n").compactMap({ line -> String? in
                let t = line.trimmingCharacters(in: .whitespaces)
                guard t.hasPrefix("Depends: linux-image-") else { return nil }
                return String(t.dropFirst("Depends: ".count))
            }).first else {
                return .failure(TestFailure("apt-cache depends \(metapackage) names no linux-image package: \(depends)"))
            }
            try E2E.shell("apt-get download \(package)", cwd: dir)
            // Only /boot (the kernel, its config and System.map), not the 100 MB of modules.
            try E2E.shell("mkdir root && dpkg-deb --fsys-tarfile \(package)_*.deb | tar -x -C root ./boot && rm -f \(package)_*.deb", cwd: dir)

            let boot = dir.appendingPathComponent("root/boot")
            guard let name = try FileManager.default.contentsOfDirectory(atPath: boot.path).first(where: { $0.hasPrefix("vmlinuz-") }) else {
                return .failure(TestFailure("\(package) holds no /boot/vmlinuz-*"))
            }
            return .success(boot.appendingPathComponent(name).path)
        } catch let e as TestFailure {
            return .failure(TestFailure("cannot fetch the Debian kernel (no network or no apt?): \(e.description.prefix(300))"))
        } catch {
            return .failure(TestFailure("cannot fetch the Debian kernel: \(error)"))
        }
    }

    static var available: Bool { if case .success = fetched { return true } else { return false } }
    static var skipReason: Comment {
        if case .failure(let e) = fetched { return Comment(rawValue: e.description) }
        return "fetched"
    }
}

@Suite("Linux kernel (Debian cloud kernel)", .serialized,
       .enabled(if: Fixtures.kvmAvailable, "requires /dev/kvm"))
struct LinuxKernelTests {
    /// Records the kernel to its banner and checks the journal's shape; returns the run and the journal.
    func recordToBanner(_ vmlinuz: String, in dir: URL, decompress: String) throws -> (Fixtures.Result, String, Dumped) {
        let journal = dir.appendingPathComponent("linux-\(decompress).vmrr").path
        let started = Date()
        // Bounded by CPU time (the decompressor takes about 135 CPU s here), not wall time: under load it takes many times that.
        let r = try Fixtures.vmrrCPUBound(["record", "--boot", "linux", "--linux-decompress", decompress, vmlinuz, "-o", journal,
                                           "--memory", DebianKernel.memory, "--max-exits", "\(DebianKernel.maxExits)", "--"]
                                          + DebianKernel.commandLine, cpuSeconds: DebianKernel.cpuSeconds)
        let seconds = Date().timeIntervalSince(started)
        #expect(r.exited && !r.timedOut, "record ended by a signal or timed out: \(r.stderr)")
        #expect(r.status == 0, "record status \(r.status): \(r.stderr)")
        #expect(r.stdout.contains("Linux version"), "no Linux version line in \(DebianKernel.maxExits) exits (\(Int(seconds)) s): \(r.stdout.suffix(400)) \(r.stderr)")
        #expect(r.stderr.contains("stopped after \(DebianKernel.maxExits) exits"), "\(r.stderr)")
        print("Debian kernel, payload decompressed on the \(decompress): \(DebianKernel.maxExits) exits recorded in \(Int(seconds)) s")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: 0, reason: "limit")
        // The header records where the payload was decompressed, so a replay with --image loads it the same way.
        let summary = try Fixtures.vmrr(["dump", "--summary", journal])
        #expect(summary.status == 0 && summary.stdout.contains("boot linux"), "\(summary.stderr)")
        #expect(summary.stdout.contains("payload decompressed on the host") == (decompress == "host"), "\(summary.stdout)")
        return (r, journal, d)
    }

    func checkReplay(_ journal: String, console: String) throws {
        let replay = try Fixtures.vmrrCPUBound(["replay", journal], cpuSeconds: DebianKernel.cpuSeconds)
        #expect(replay.exited && replay.status == 0, "replay status \(replay.status): \(replay.stderr)")
        #expect(replay.stdout == console, "replay console output differs from the recording's")
        #expect(replay.stderr.contains("identically"), "no success line: \(replay.stderr)")
        #expect(!replay.stderr.contains("diverged"), "\(replay.stderr)")
    }

    @Test("the Debian bzImage (payload decompressed on the host) boots to its Linux version line, replays identically, and vmrr mmu walks its page tables",
          .enabled(if: DebianKernel.available, DebianKernel.skipReason), .timeLimit(.minutes(DebianKernel.testMinutes)))
    func debianKernelBootsAndReplays() throws {
        let vmlinuz = try DebianKernel.fetched.get()
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal, d) = try recordToBanner(vmlinuz, in: dir, decompress: "host")
        // The vmlinux inside is entered at startup_64, at its physical load address: pref_address (0x258).
        let image = try E2E.read(vmlinuz)
        let prefAddressOffset = 0x258
        let pref = (0..<8).reduce(UInt64(0)) { $0 | UInt64(image[prefAddressOffset + $1]) << (8 * UInt64($1)) }
        #expect(d.events.first?.u("rip") == pref, "the vmlinux is entered at startup_64 = pref_address 0x\(String(pref, radix: 16))")
        try checkReplay(journal, console: r.stdout)
        // The kernel's own page tables: at the last event (printing the banner in
        // start_kernel) CR3 is the kernel's. With nokaslr its text starts at
        // __START_KERNEL_map + pref_address (the setup header's field at 0x258,
        // LOAD_PHYSICAL_ADDR) and maps to pref_address. (Debian's System.map is
        // a placeholder, so the image's own header says where.)
        let startKernelMap: UInt64 = 0xffff_ffff_8000_0000
        let text = startKernelMap + pref
        // The final checkpoint holds the memory at the end exactly, so --no-kvm reads it without a replay.
        let last = try #require(d.events.last { $0.kind == "checkpoint" })
        let mmu = try Fixtures.vmrrCPUBound(["mmu", journal, "--at", "\(last.index)", "--no-kvm", "pt", "0x" + String(text, radix: 16)],
                                           cpuSeconds: DebianKernel.cpuSeconds)
        #expect(mmu.status == 0, "vmrr mmu: \(mmu.stderr)")
        let want = "=> gpa 0x" + String(repeating: "0", count: 16 - String(text - startKernelMap, radix: 16).count) + String(text - startKernelMap, radix: 16)
        #expect(mmu.stdout.contains(want), "kernel text 0x\(String(text, radix: 16)) should map to \(want):\n\(mmu.stdout)")
        #expect(mmu.stdout.contains("4-level paging"), "\(mmu.stdout)")
        let dump = try Fixtures.vmrrCPUBound(["mmu", journal, "--at", "\(last.index)", "--no-kvm", "ptdump"],
                                             cpuSeconds: DebianKernel.cpuSeconds)
        #expect(dump.status == 0 && dump.stdout.contains("0xffffffff8"), "vmrr mmu ptdump: \(dump.stderr)\(dump.stdout.prefix(800))")
    }

    /// The kernel's own decompressor, run by this host's ring-0 emulator
    /// (about 135 CPU s here): the bzImage is entered at 1 MiB + 0x200.
    @Test("the Debian bzImage through its own decompressor (--linux-decompress guest) boots to its banner and replays identically",
          .enabled(if: DebianKernel.available, DebianKernel.skipReason), .timeLimit(.minutes(DebianKernel.testMinutes)))
    func debianKernelThroughItsDecompressor() throws {
        let vmlinuz = try DebianKernel.fetched.get()
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal, d) = try recordToBanner(vmlinuz, in: dir, decompress: "guest")
        #expect(d.events.first?.u("rip") == 0x10_0200, "the bzImage is entered at its startup_64, 1 MiB + 0x200")
        #expect(r.stdout.contains("KASLR disabled"), "the decompressor's own message: \(r.stdout.prefix(300))")
        try checkReplay(journal, console: r.stdout)
    }
}

extension KVMEndToEnd {
    @Test("--boot linux refuses a vmrr-protocol ELF, and --initrd a non-Linux guest, in one line")
    func linuxBootRefusesOtherImages() throws {
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let asLinux = try Fixtures.vmrr(["record", "--boot", "linux", Fixtures.guest("demo"), "-o", dir.appendingPathComponent("x.vmrr").path])
        #expect(asLinux.status == 2 && asLinux.stderrLines.count == 1 && asLinux.stderr.contains("not a Linux kernel"), "\(asLinux.stderr)")
        let rd = dir.appendingPathComponent("rd").path
        try E2E.write([1, 2, 3], to: rd)
        let initrd = try Fixtures.vmrr(["record", "--initrd", rd, Fixtures.guest("demo"), "-o", dir.appendingPathComponent("y.vmrr").path])
        #expect(initrd.status == 2 && initrd.stderrLines.count == 1 && initrd.stderr.contains("needs a Linux kernel"), "\(initrd.stderr)")
    }
}
