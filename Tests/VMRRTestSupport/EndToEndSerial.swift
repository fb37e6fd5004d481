import Testing

/// One end-to-end KVM test at a time across test targets, as when they were
/// one suite. The tests that drive the vmrr executable on KVM live in two
/// suites (vmrrTests' and VMRRMachineTests'), each `.serialized`; both are
/// linked into one test process, so this trait, on both, keeps their guests
/// from running side by side on a 2-core machine.
public struct EndToEndSerial: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        // The suite's own scope passes through; each test case takes the lock.
        guard testCase != nil else { return try await function() }
        await EndToEndLock.shared.acquire()
        do {
            try await function()
        } catch {
            await EndToEndLock.shared.release()
            throw error
        }
        await EndToEndLock.shared.release()
    }
}

extension Trait where Self == EndToEndSerial {
    /// One end-to-end KVM test at a time, across the suites that carry this trait.
    public static var endToEndSerial: Self { EndToEndSerial() }
}

/// A FIFO lock that suspends instead of blocking a thread.
actor EndToEndLock {
    static let shared = EndToEndLock()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard busy else { busy = true; return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
    }
}
