import Foundation
import Testing
import VMRRTestSupport

/// GNU Mach from Debian's gnumach-image package, fetched with apt-get at
/// test time (never committed): a multiboot kernel that vmrr did not build.
enum GNUMach {
    static let metapackage = "gnumach-image-1-486"

    /// The decompressed kernel, or why there is none.
    static let fetched: Result<String, TestFailure> = fetch()

    static func fetch() -> Result<String, TestFailure> {
        let dir = Fixtures.processScratch("gnumach")
        do {
            let depends = try E2E.shell("apt-cache depends \(metapackage)", cwd: dir)
            guard let package = depends.split(separator: "\n").compactMap({ line -> String? in
                let t = line.trimmingCharacters(in: .whitespaces)
                guard t.hasPrefix("Depends: gnumach-image-") else { return nil }
                return String(t.dropFirst("Depends: ".count))
            }).first else {
                return .failure(TestFailure("apt-cache depends \(metapackage) names no gnumach-image package: \(depends)"))
            }
            try E2E.shell("apt-get download \(package) && mkdir root && dpkg-deb --fsys-tarfile \(package)_*.deb | tar -x -C root ./boot && rm -f \(package)_*.deb", cwd: dir)
            try E2E.shell("gunzip -c root/boot/gnumach-*.gz > gnumach", cwd: dir)
            return .success(dir.appendingPathComponent("gnumach").path)
        } catch let e as TestFailure {
            return .failure(TestFailure("cannot fetch GNU Mach (no network or no apt?): \(e.description.prefix(300))"))
        } catch {
            return .failure(TestFailure("cannot fetch GNU Mach: \(error)"))
        }
    }

    static var available: Bool { if case .success = fetched { return true } else { return false } }
    static var skipReason: Comment {
        if case .failure(let e) = fetched { return Comment(rawValue: e.description) }
        return "fetched"
    }
}

extension KVMEndToEnd {
    /// It prints its banner and memory map on COM1 (`console=com0`), then
    /// stops at its x87 probe (`fnstsw`), which this host's ring-0 emulator
    /// cannot run: an honest emulation-failure report, status 131. The
    /// replay reproduces every exit and the console output.
    @Test("GNU Mach (Debian's multiboot kernel) starts, records and replays identically",
          .enabled(if: GNUMach.available, GNUMach.skipReason))
    func gnuMachStartsAndReplays() throws {
        let kernel = try GNUMach.fetched.get()
        let dir = Fixtures.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (r, journal) = try E2E.record(kernel, in: dir, name: "mach",
                                          options: ["--clock", "virtual", "--max-time", "300"], guestArgs: ["console=com0"])
        #expect(r.stdout.hasPrefix("GNU Mach "), "\(r.stdout.prefix(300))")
        #expect(r.stdout.contains("biosmem: physical memory map:"), "\(r.stdout.prefix(600))")
        let d = try E2E.dump(journal)
        E2E.checkShape(d, status: r.status)
        let summary = try Fixtures.vmrr(["dump", "--summary", journal])
        #expect(summary.stdout.contains("boot multiboot"), "\(summary.stdout)")
        if r.status == 131 {
            #expect(r.stderr.contains("KVM could not emulate"), "\(r.stderr)")
        } else {
            #expect(r.status == 0, "\(r.stderr)")
        }
        try E2E.checkReplay(journal, status: r.status, console: r.stdout)
    }
}
