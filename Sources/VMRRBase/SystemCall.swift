#if canImport(Glibc)
import Glibc
#endif

/// An errno value as a Swift error, named as the C headers name it.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    /// The current thread's errno.
    public static var current: Errno { Errno(errno) }
    /// `strerror`'s text, e.g. "No such file or directory".
    public var description: String { String(cString: strerror(code)) }
}

/// The one EINTR funnel (swift-system's `valueOrErrno(retryOnInterrupt:)`):
/// calls `body`, a system call that returns -1 and sets errno on failure,
/// again for as long as it fails with EINTR, and returns its value or the
/// errno. Pass `retryOnInterrupt: false` where a signal must end the wait
/// (the caller then sees `Errno(EINTR)`).
@inline(__always)
public func valueOrErrno<I: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ body: () -> I) -> Result<I, Errno> {
    while true {
        let r = body()
        if r >= 0 { return .success(r) }
        let e = errno
        if retryOnInterrupt && e == EINTR { continue }
        return .failure(Errno(e))
    }
}

/// Sleeps for `nanoseconds` of CLOCK_MONOTONIC. A signal ends the sleep early
/// when `interruptible` is true; otherwise the remaining time is slept.
/// Returns false when a signal cut the sleep short.
@discardableResult
public func sleepNanoseconds(_ nanoseconds: UInt64, interruptible: Bool = false) -> Bool {
    var req = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    var rem = timespec()
    while nanosleep(&req, &rem) != 0 {
        guard errno == EINTR else { return true }
        if interruptible { return false }
        req = rem
    }
    return true
}

/// The host's CLOCK_MONOTONIC in nanoseconds.
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// CPU time the calling thread has used, user and system (a vCPU thread's
/// includes the guest's time in KVM_RUN): unlike wall time, it does not grow
/// while the thread waits for a core on a loaded machine (`vmrr bench`).
public func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
