/// KVM exit reason numbers recorded in `error` events.
public enum KVMExitReason {
    public static let debug: UInt32 = 4
    public static let failEntry: UInt32 = 9
    public static let internalError: UInt32 = 17
    public static let systemEvent: UInt32 = 24
}
