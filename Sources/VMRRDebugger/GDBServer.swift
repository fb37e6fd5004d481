import VMRRBase
import Glibc
import Synchronization
import VMRRGuest
import VMRRReplay

/// Where `vmrr debug --gdb` listens: a TCP address, or standard input and
/// output (for gdb's `target remote | vmrr debug JOURNAL --gdb -`).
public enum GDBEndpoint: Equatable, Sendable {
    case stdio
    case tcp(host: String, port: UInt16)

    /// `-`, `PORT`, `HOST:PORT` (the host defaults to 127.0.0.1).
    public static func parse(_ s: String) -> GDBEndpoint? {
        if s == "-" { return .stdio }
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return UInt16(parts[0]).map { .tcp(host: "127.0.0.1", port: $0) }
        case 2:
            guard let port = UInt16(parts[1]) else { return nil }
            return .tcp(host: parts[0].isEmpty ? "127.0.0.1" : String(parts[0]), port: port)
        default: return nil
        }
    }
}

/// A failure of the gdb transport, with the system call and errno.
public struct GDBServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ call: String, _ what: String) { description = "gdb server: \(call) \(what): \(String(cString: strerror(errno)))" }
    init(message: String) { description = message }
}

/// Serves one gdb connection with a `GDBStub`, until gdb kills, detaches or
/// hangs up.
public final class GDBServer {
    let stub: GDBStub
    let input: Int32
    let output: Int32
    var decoder = GDBPacketDecoder()
    /// Non-zero fds this server opened (closed by `deinit`).
    var owned: [Int32] = []

    init(stub: GDBStub, input: Int32, output: Int32) {
        self.stub = stub
        self.input = input
        self.output = output
    }

    deinit { for fd in owned { close(fd) } }

    /// Listens at `endpoint` (announcing the address through `announce`),
    /// accepts one connection and serves it. Returns when gdb leaves.
    public static func serve(_ stub: GDBStub, at endpoint: GDBEndpoint, announce: (String) -> Void) throws {
        switch endpoint {
        case .stdio:
            let s = GDBServer(stub: stub, input: STDIN_FILENO, output: STDOUT_FILENO)
            try s.run()
        case let .tcp(host, port):
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard listener >= 0 else { throw GDBServerError("socket", "") }
            defer { close(listener) }
            var one: Int32 = 1
            setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
                throw GDBServerError(message: "gdb server: \(host) is not an IPv4 address")
            }
            let bound = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw GDBServerError("bind", "\(host):\(port)") }
            guard listen(listener, 1) == 0 else { throw GDBServerError("listen", "\(host):\(port)") }
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) }
            }
            let actual = UInt16(bigEndian: addr.sin_port)
            announce("gdb server listening on \(host):\(actual); connect with: gdb -ex 'target remote \(host):\(actual)'")
            guard case .success(let conn) = valueOrErrno({ accept(listener, nil, nil) }) else {
                throw GDBServerError("accept", "\(host):\(actual)")
            }
            _ = fcntl(conn, F_SETFD, FD_CLOEXEC)
            setsockopt(conn, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let s = GDBServer(stub: stub, input: conn, output: conn)
            s.owned = [conn]
            try s.run()
        }
    }

    func send(_ bytes: [UInt8]) throws {
        do { try FileIO.writeAll(fd: output, bytes) } catch { throw GDBServerError("write", "to gdb") }
    }

    /// Reads and answers packets until gdb leaves.
    func run() throws {
        stub.runMotion = { [unowned self] body in try self.watchingForInterrupts(body) }
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            guard case .success(let n) = valueOrErrno({ buf.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) } }) else {
                throw GDBServerError("read", "from gdb")
            }
            if n == 0 { return }   // gdb hung up
            if try consume(buf[0..<n]) { return }
            while !pendingAfterMotion.isEmpty {
                let early = pendingAfterMotion
                pendingAfterMotion = []
                if try consume(early[...]) { return }
            }
        }
    }

    /// Feeds bytes to the decoder and answers what completes. True when the session is over.
    func consume(_ bytes: ArraySlice<UInt8>) throws -> Bool {
        for b in bytes {
            guard let item = decoder.feed(b) else { continue }
            switch item {
            case .ack, .nack, .interrupt: continue   // no retransmission: the transport is reliable
            case .corrupt: if stub.acknowledging { try send([GDBPacket.nack]) }
            case let .packet(payload):
                if stub.acknowledging { try send([GDBPacket.ack]) }
                for reply in stub.handle(payload) {
                    switch reply {
                    case let .packet(text): try send(GDBPacket.frame(text))
                    case let .close(text):
                        if let text { try send(GDBPacket.frame(text)) }
                        return true
                    }
                }
            }
        }
        return false
    }

    /// Runs a motion while a second thread watches the connection for
    /// gdb's interrupt byte (Ctrl-C), which asks the target to stop at the
    /// next consistent position. Other bytes are kept for afterwards.
    func watchingForInterrupts(_ body: () throws -> StopReason) throws -> StopReason {
        let watch = InterruptWatch(fd: input, target: stub.target)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(watch).toOpaque()
        let rc = pthread_create(&thread, nil, { arg in
            // `arg` is the retained InterruptWatch passed below; released here.
            Unmanaged<InterruptWatch>.fromOpaque(arg!).takeRetainedValue().watch()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<InterruptWatch>.fromOpaque(context).release()
            return try body()   // no watcher: the motion cannot be interrupted, but still runs
        }
        defer {
            watch.done.store(true, ordering: .releasing)
            pthread_join(thread, nil)
            pendingAfterMotion += watch.early.withLock { $0 }
        }
        return try body()
    }

    /// Bytes that arrived during a motion (other than the interrupt).
    var pendingAfterMotion: [UInt8] = []
}

/// The interrupt watcher thread's state. `target` is only used for
/// `requestInterrupt()`, which sets a flag the motion polls.
final class InterruptWatch: @unchecked Sendable {
    let fd: Int32
    let target: DebugTarget
    let done = Atomic<Bool>(false)
    let early = Mutex<[UInt8]>([])
    init(fd: Int32, target: DebugTarget) { self.fd = fd; self.target = target }

    /// After an interrupt, how long the motion may take to stop at an event
    /// boundary before the vCPU is kicked out of KVM_RUN.
    static let kickAfterNanoseconds: UInt64 = 50_000_000

    func watch() {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var interruptedAt: UInt64?
        while !done.load(ordering: .acquiring) {
            if let t = interruptedAt, monotonicNanoseconds() - t > Self.kickAfterNanoseconds {
                target.interruptRunningGuest()
                interruptedAt = monotonicNanoseconds()
            }
            guard poll(&pfd, 1, 10) > 0 else { continue }
            var b: UInt8 = 0
            if read(fd, &b, 1) <= 0 { return }
            if b == GDBPacket.interrupt {
                target.requestInterrupt()
                interruptedAt = monotonicNanoseconds()
            } else {
                early.withLock { $0.append(b) }
            }
        }
    }
}

/// `vmrr debug --gdb ENDPOINT`: serves one gdb over `target`. Returns the
/// exit status (0 when gdb kills, detaches or hangs up).
public func runGDBServer(target: DebugTarget, symbols: SymbolTable?, image: GuestImage?, endpoint: GDBEndpoint) -> Int32 {
    let captured = CapturedOutput()
    let session = DebuggerSession(target: target, symbols: symbols, image: image, output: captured)
    for w in captured.errors { StandardOutput().error("vmrr: \(w)") }
    _ = captured.take()
    if let note = target.journal.truncationNote { StandardOutput().error("vmrr: warning: \(note)") }
    let stub = GDBStub(session: session, captured: captured)
    // gdb going away mid-write must be an error return, not SIGPIPE.
    signal(SIGPIPE, SIG_IGN)
    do {
        try GDBServer.serve(stub, at: endpoint) { StandardOutput().error("vmrr: \($0)") }
    } catch {
        StandardOutput().error("vmrr: \(error)")
        return 2
    }
    return 0
}
