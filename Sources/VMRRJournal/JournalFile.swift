#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import VMRRBase

/// Bytes on their way to the journal file: filled by the recording thread,
/// then written by `JournalFile`'s thread. While `inFlight` (guarded by the
/// file's lock) only the writer touches the bytes; the filler waits for the
/// buffer (`JournalFile.waitUntilFree`) before it writes into it again.
final class JournalBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    /// What the next write takes: `count` bytes at file offset `offset`.
    fileprivate var count = 0
    fileprivate var offset: UInt64 = 0
    fileprivate var inFlight = false

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    convenience init(copying bytes: [UInt8]) {
        self.init(capacity: bytes.count)
        bytes.withUnsafeBufferPointer { b in
            // `base` holds at least bytes.count bytes.
            if let src = b.baseAddress { base.update(from: src, count: b.count) }
        }
    }

    deinit { base.deallocate() }

    /// Room for at least `bytes` (the contents are not kept); only while not in flight.
    func reserve(_ bytes: Int) {
        guard bytes > capacity else { return }
        base.deallocate()
        capacity = bytes
        base = .allocate(capacity: bytes)
    }
}

/// Time spent writing the journal, on whichever thread wrote it.
public struct JournalWriteStats: Sendable, Equatable {
    public var writes: UInt64 = 0
    public var bytes: UInt64 = 0
    /// Wall time inside write(2), and the writing thread's CPU time over the same calls.
    public var wallNanoseconds: UInt64 = 0
    public var cpuNanoseconds: UInt64 = 0
    public init() {}
}

/// The journal file's one owner. It writes buffers at their offsets in the
/// order they were submitted, on a thread of its own, so that the recording
/// thread (the vCPU) encodes and hands over while the kernel copies into the
/// page cache. With `background: false`, or when no thread can be started,
/// each submit writes at once on the caller's thread: the same writes in
/// the same order, so the file is the same bytes either way.
///
/// The queue is bounded by its buffers: a buffer in flight is not refilled
/// until it is written, and the submitter waits for it (no busy-waiting:
/// one mutex and one condition variable). The first write error is kept:
/// later buffers are dropped, `failed` turns true for the submitter's cheap
/// check on its hot path, and every later call throws it.
final class JournalFile: @unchecked Sendable {
    // @unchecked: `queue`, `firstError`, `stopping`, `stats` and every
    // buffer's `inFlight` are used only under `mutex`; `fd`, `path` and
    // `thread` are set before the thread starts or after it is joined.
    let path: String
    private(set) var fd: Int32
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    /// Broadcast when a buffer is queued, when one is written, and at stop.
    private let changed: UnsafeMutablePointer<pthread_cond_t>
    private var queue: [JournalBuffer] = []
    private var firstError: JournalError?
    private var stopping = false
    private var thread: pthread_t?
    private var stats = JournalWriteStats()
    /// True once a write has failed (the error itself is `firstError`).
    let failed = Atomic<Bool>(false)

    var background: Bool { thread != nil }

    /// Takes ownership of `fd` (open for writing); it is closed by `close()`.
    init(fd: Int32, path: String, background: Bool) {
        self.fd = fd
        self.path = path
        mutex = .allocate(capacity: 1)
        changed = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
        if background { startThread() }
    }

    deinit {
        // `close()` joined the thread (it holds a reference to self while it runs).
        if fd >= 0 { _ = closeDescriptor(fd) }
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// The writer thread, with every signal blocked (process signals go to
    /// the recorder's other threads; a write to a regular file is not
    /// interrupted anyway). Without a thread, writes happen on submit.
    private func startThread() {
        var all = sigset_t(), old = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_BLOCK, &all, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        var t = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&t, nil, { arg in
            // `arg` is the retained file passed below; released when the loop ends.
            let f = Unmanaged<JournalFile>.fromOpaque(arg!).takeRetainedValue()
            f.loop()
            return nil
        }, context)
        if rc == 0 { thread = t } else { Unmanaged<JournalFile>.fromOpaque(context).release() }
    }

    private func lock() { pthread_mutex_lock(mutex) }
    private func unlock() { pthread_mutex_unlock(mutex) }
    private func wait() { pthread_cond_wait(changed, mutex) }
    private func wake() { pthread_cond_broadcast(changed) }

    /// The writer: takes the oldest buffer, writes it outside the lock, and
    /// marks it free; after the first error it only drops buffers.
    private func loop() {
        lock()
        while true {
            while queue.isEmpty && !stopping { wait() }
            guard let job = queue.first else { break }
            let skip = firstError != nil
            unlock()
            let result = skip ? nil : perform(job)
            lock()
            queue.removeFirst()
            job.inFlight = false
            if let result { record(result) }
            wake()
        }
        unlock()
    }

    private struct Outcome { var error: JournalError?; var wall: UInt64; var cpu: UInt64; var bytes: Int }

    /// One buffer to disk: pwrite(2) at its offset (EINTR and short writes retried).
    private func perform(_ b: JournalBuffer) -> Outcome {
        let t0 = monotonicNanoseconds(), c0 = threadCPUNanoseconds()
        var failure: JournalError?
        do { try FileIO.writeAll(fd: fd, UnsafeRawBufferPointer(start: b.base, count: b.count), at: b.offset) } catch {
            failure = JournalError(path: path, offset: b.offset + (error.offset ?? 0), reason: "write: \(error.errno)")
        }
        return Outcome(error: failure, wall: monotonicNanoseconds() &- t0, cpu: threadCPUNanoseconds() &- c0, bytes: b.count)
    }

    /// Under the lock.
    private func record(_ o: Outcome) {
        stats.writes += 1
        stats.bytes += UInt64(o.bytes)
        stats.wallNanoseconds += o.wall
        stats.cpuNanoseconds += o.cpu
        if let e = o.error, firstError == nil {
            firstError = e
            failed.store(true, ordering: .releasing)
        }
    }

    /// Queues `count` bytes of `buffer` for file offset `offset` (or writes
    /// them now, without a thread). The buffer must be free (`waitUntilFree`).
    /// Throws the first write error, this one's or an earlier one's.
    func submit(_ buffer: JournalBuffer, count: Int, at offset: UInt64) throws {
        lock()
        precondition(!buffer.inFlight, "a journal buffer was refilled while it was being written")
        if let e = firstError { unlock(); throw e }
        buffer.count = count
        buffer.offset = offset
        guard background, !stopping else {
            unlock()
            let o = perform(buffer)
            lock()
            record(o)
            unlock()
            if let e = o.error { throw e }
            return
        }
        buffer.inFlight = true
        queue.append(buffer)
        wake()
        unlock()
    }

    /// Waits until `buffer` is written (at once when it is not queued).
    func waitUntilFree(_ buffer: JournalBuffer) {
        lock()
        while buffer.inFlight { wait() }
        unlock()
    }

    /// Waits until every queued buffer is written; throws the first write error.
    func drain() throws {
        lock()
        while !queue.isEmpty { wait() }
        let e = firstError
        unlock()
        if let e { throw e }
    }

    /// The first write error, if any (the writer refuses further work after it).
    var error: JournalError? {
        lock()
        defer { unlock() }
        return firstError
    }

    /// The writes so far (those still queued not counted).
    var writeStats: JournalWriteStats {
        lock()
        defer { unlock() }
        return stats
    }

    /// Writes what is queued, stops and joins the thread, and closes the
    /// file. Throws the first write error, or close(2)'s. Idempotent.
    func close() throws {
        lock()
        stopping = true
        wake()
        unlock()
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
        if let e = error {
            if fd >= 0 { _ = closeDescriptor(fd); fd = -1 }
            throw e
        }
        guard fd >= 0 else { return }
        let rc = closeDescriptor(fd)
        let e = errno
        fd = -1
        if rc != 0 { throw JournalError(path: path, offset: nil, reason: "close: \(String(cString: strerror(e)))") }
    }
}

/// close(2), outside `JournalFile` (whose own `close()` would shadow it).
private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }
