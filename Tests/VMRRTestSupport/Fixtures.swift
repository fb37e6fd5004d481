import Foundation
import VMRRKVM

/// Where the repository's fixtures are, whether this machine runs KVM
/// guests, and scratch directories: shared by every test target.
public enum Fixtures {
    /// The repository root, found from this file's path.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// fixtures/guests: one directory per fixture guest (source, build script, ELF).
    public static var guestsDir: URL { root.appendingPathComponent("fixtures/guests") }
    /// fixtures/journals: the committed regression journals.
    public static var journalsDir: URL { root.appendingPathComponent("fixtures/journals") }

    /// The ELF of fixture guest `name`.
    public static func guest(_ name: String) -> String {
        guestsDir.appendingPathComponent("\(name)/\(name).elf").path
    }

    /// The committed journal `name` (recorded with --clock virtual), or the
    /// one in $VMRR_DEBUG_JOURNALS when that is set.
    public static func journalPath(_ name: String) -> String {
        if let dir = ProcessInfo.processInfo.environment["VMRR_DEBUG_JOURNALS"] { return "\(dir)/\(name).vmrr" }
        return journalsDir.appendingPathComponent("\(name).vmrr").path
    }

    /// Probed once: whether this machine can run KVM guests.
    public static let kvmAvailable: Bool = KVMSystem.isAvailable

    /// A fresh scratch directory for one test. A test may remove it when it
    /// is done; whatever is left is removed when the test process exits.
    public static func scratch(_ name: String = #function) -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("vmrr-tests-\(getpid())-\(safe)-\(UInt32.random(in: 0...UInt32.max))")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        removeAtExit(dir)
        return dir
    }

    /// A scratch directory that lives until the test process exits (for
    /// downloads shared by several tests), then is removed.
    public static func processScratch(_ name: String) -> URL { scratch(name) }

    /// Removes `dir` when the test process exits.
    static func removeAtExit(_ dir: URL) {
        processScratchLock.lock()
        defer { processScratchLock.unlock() }
        if processScratchDirs.isEmpty {
            atexit {
                for d in Fixtures.processScratchDirs { try? FileManager.default.removeItem(atPath: d) }
            }
        }
        processScratchDirs.append(dir.path)
    }
    nonisolated(unsafe) static var processScratchDirs: [String] = []
    static let processScratchLock = NSLock()

    /// The vmrr executable built next to the test bundle (or $VMRR_BIN).
    public static var vmrrBinary: String {
        if let env = ProcessInfo.processInfo.environment["VMRR_BIN"] { return env }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = testBinary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("vmrr")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            dir = dir.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/vmrr").path
    }
}

/// A test's own failure, thrown where #require does not fit.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
