import Glibc

/// An ioctl or syscall on a KVM file descriptor failed.
/// The description names the operation and the errno, e.g. "KVM_SET_SREGS: EINVAL (Invalid argument)".
public struct KVMError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let errno: Int32
    public let detail: String?

    public init(_ operation: String, errno: Int32, detail: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        let name = Self.errnoName(errno)
        let text = String(cString: strerror(errno))
        var s = "\(operation): \(name) (\(text))"
        if let detail { s += ": \(detail)" }
        return s
    }

    static func errnoName(_ e: Int32) -> String {
        switch e {
        case EPERM: return "EPERM"
        case ENOENT: return "ENOENT"
        case EINTR: return "EINTR"
        case EIO: return "EIO"
        case E2BIG: return "E2BIG"
        case EBADF: return "EBADF"
        case EAGAIN: return "EAGAIN"
        case ENOMEM: return "ENOMEM"
        case EACCES: return "EACCES"
        case EFAULT: return "EFAULT"
        case EBUSY: return "EBUSY"
        case EEXIST: return "EEXIST"
        case ENODEV: return "ENODEV"
        case EINVAL: return "EINVAL"
        case ENOSPC: return "ENOSPC"
        case ENOTTY: return "ENOTTY"
        case ENXIO: return "ENXIO"
        case EOPNOTSUPP: return "EOPNOTSUPP"
        default: return "errno \(e)"
        }
    }
}

/// A failure whose cause is outside KVM (a limit, a missing capability, bad state).
public struct KVMUnsupported: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
