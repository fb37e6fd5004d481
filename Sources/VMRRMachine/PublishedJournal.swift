import Glibc
import Synchronization
import VMRRBase
import VMRRJournal

/// The recorder's journal, published on a wall-clock timer so that a
/// recorder killed at any moment (SIGKILL, the OOM killer) loses at most
/// the last `publishIntervalNanoseconds` or so of events, whatever the guest
/// does: a guest that exits rarely, or spins without exits, leaves its
/// events in the writer's pending chunk, and only a thread outside the vCPU
/// can write them while the vCPU thread sits in KVM_RUN.
///
/// The thread calls `JournalWriter.publish()`, which writes the pending
/// chunk in place without ending it, so the finished file does not depend
/// on when it ran: `--clock virtual` recordings stay byte-identical. Every
/// use of the writer, from either thread, holds one lock.
///
/// The same thread turns a stop request (SIGINT, SIGTERM, SIGHUP, SIGPIPE:
/// `Recorder.stopRequested`) into kicks of the vCPU thread (`TimeLimit`'s
/// signal), so a guest spinning without exits is stopped too: the signal
/// itself may have been delivered to any thread.
public final class PublishedJournal: EventSink, @unchecked Sendable {
    // @unchecked: `writer` is used only inside `lock`; the rest is atomics and
    // values set before the thread starts.
    private let writer: JournalWriter
    private let lock = Mutex(())
    private var stopper = WatcherStop()
    private var thread: pthread_t?
    private var target = pthread_t()

    /// The longest a pending event waits before it is on disk (plus a poll).
    public static let publishIntervalNanoseconds: UInt64 = 250_000_000
    /// How often the thread wakes to check for a stop request.
    static let pollNanoseconds: UInt64 = 10_000_000

    public init(_ writer: JournalWriter) { self.writer = writer }

    deinit { stop() }

    /// Starts the publishing thread; the calling thread is the vCPU thread to
    /// kick on a stop request. Without a thread (pthread_create failed) the
    /// journal is still written, flushed only by count and at the end.
    public func start() {
        guard thread == nil else { return }
        TimeLimit.installKickHandler()
        target = pthread_self()
        stopper = WatcherStop()
        var t = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&t, nil, { arg in
            // `arg` is the retained journal passed below; released here.
            let j = Unmanaged<PublishedJournal>.fromOpaque(arg!).takeRetainedValue()
            j.loop()
            return nil
        }, context)
        if rc == 0 { thread = t } else { Unmanaged<PublishedJournal>.fromOpaque(context).release() }
    }

    /// Stops and joins the thread (idempotent).
    public func stop() {
        guard let t = thread else { return }
        stopper.stop()   // ends the thread's sleep at once
        pthread_join(t, nil)
        thread = nil
    }

    private func loop() {
        let stop = stopper
        var last = monotonicNanoseconds()
        while stop.sleep(Self.pollNanoseconds) {
            if Recorder.stopRequested != 0 {
                pthread_kill(target, TimeLimit.kickSignal)
            }
            let now = monotonicNanoseconds()
            if now &- last >= Self.publishIntervalNanoseconds {
                last = now
                // A failure is kept by the writer and thrown to the vCPU thread at its next append.
                lock.withLock { _ in try? writer.publish() }
            }
        }
    }

    @discardableResult
    public func append(_ event: Event, regs: GPRegisters) throws -> UInt64 {
        try lock.withLock { _ in try writer.append(event, regs: regs) }
    }
    public func appendCheckpoint(_ checkpoint: Checkpoint) throws {
        try lock.withLock { _ in try writer.appendCheckpoint(checkpoint) }
    }
    public func appendCheckpoint(_ checkpoint: Checkpoint, pagesAt gpas: [UInt64], in source: any CheckpointPageSource) throws {
        try lock.withLock { _ in try writer.appendCheckpoint(checkpoint, pagesAt: gpas, in: source) }
    }
    /// Ends the pending chunk and leaves its write to the journal's writer thread.
    public func flush() throws { try lock.withLock { _ in try writer.flush(waiting: false) } }
    public func finish() throws {
        stop()
        try lock.withLock { _ in try writer.finish() }
    }
    public var eventCount: UInt64 { lock.withLock { _ in writer.eventCount } }
    public var keepsCheckpoints: Bool { true }
    public var bytesWritten: UInt64 { lock.withLock { _ in writer.bytesWritten } }
    public var checkpointBytes: UInt64 { lock.withLock { _ in writer.checkpointBytes } }
}
