import Foundation
import Testing
import VMRRJournal
import VMRRKVM

/// Paths and helpers shared by the KVM end-to-end tests.
enum Fixtures {
    /// The repository root, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func guest(_ name: String) -> String {
        root.appendingPathComponent("fixtures/guests/\(name)/\(name).elf").path
    }

    /// Probed once: whether this machine can run KVM guests.
    static let kvmAvailable: Bool = KVMSystem.isAvailable

    /// A fresh scratch directory for one test.
    static func scratch(_ name: String = #function) -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("vmrr-tests-\(getpid())-\(safe)-\(UInt32.random(in: 0...UInt32.max))")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A scratch directory that lives until the test process exits (for
    /// downloads shared by several tests), then is removed.
    static func processScratch(_ name: String) -> URL {
        let dir = scratch(name)
        processScratchLock.lock()
        defer { processScratchLock.unlock() }
        if processScratchDirs.isEmpty {
            atexit {
                for d in Fixtures.processScratchDirs { try? FileManager.default.removeItem(atPath: d) }
            }
        }
        processScratchDirs.append(dir.path)
        return dir
    }
    nonisolated(unsafe) static var processScratchDirs: [String] = []
    static let processScratchLock = NSLock()

    /// The vmrr executable built next to the test bundle.
    static var vmrrBinary: String {
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

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// False when the process ended by a signal (a crash, or the timeout's SIGKILL).
        var exited: Bool = true
        /// True when the timeout killed the process.
        var timedOut: Bool = false
        /// stderr without trailing newlines, split into lines.
        var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    }

    /// Runs the vmrr executable with arguments and optional stdin bytes. A run
    /// still going after `timeout` seconds is killed (and `timedOut` is set),
    /// so a hung guest fails its test instead of hanging the whole run.
    static func vmrr(_ args: [String], stdin: String? = nil, timeout: Double = 180) throws -> Result {
        try run(vmrrBinary, args, stdin: stdin, timeout: timeout)
    }

    /// The same for any executable.
    static func run(_ executable: String, _ args: [String], stdin: String? = nil, timeout: Double = 180) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let inPipe = Pipe()
        p.standardInput = inPipe
        try p.run()
        let killed = KillFlag()
        let pid = p.processIdentifier
        let watchdog = DispatchWorkItem {
            killed.set()
            kill(pid, SIGKILL)
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inPipe.fileHandleForWriting.close()
        // Read both pipes concurrently so neither fills up.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        watchdog.cancel()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self),
                      exited: p.terminationReason == .exit, timedOut: killed.isSet)
    }

    /// Parses `vmrr dump --json` output into dictionaries.
    static func jsonEvents(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8))
            guard let dict = obj as? [String: Any] else { throw TestFailure("not a JSON object: \(line)") }
            return dict
        }
    }
}

/// A flag set from the watchdog's queue and read after the process ended.
final class KillFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ k: String) -> UInt64? {
        if let n = self[k] as? NSNumber { return n.uint64Value }
        return nil
    }
    func str(_ k: String) -> String? { self[k] as? String }
}
