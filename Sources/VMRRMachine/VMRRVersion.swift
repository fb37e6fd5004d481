/// vmrr's version, written into every journal header.
public enum VMRRVersion {
    public static let string = "0.1.0"
}
