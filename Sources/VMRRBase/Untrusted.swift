/// Text that may carry bytes from outside vmrr (a journal header's strings,
/// a file name, a symbol name, an error that quotes them), fit for a
/// terminal: C0 control characters, DEL and C1 control characters become
/// `\xNN`, so nothing from a file can move the cursor, set the window title
/// or clear the screen; with `keepNewlines`, `\n` stays (multi-line reports).
/// Text longer than `limit` Unicode scalars is cut, saying how much was left
/// out, so a 100 KB string cannot make a 100 KB message.
public func displaySafe(_ s: String, limit: Int = displaySafeLimit, keepNewlines: Bool = false) -> String {
    var out = ""
    var count = 0
    var omitted = 0
    for u in s.unicodeScalars {
        if count >= limit { omitted += 1; continue }
        let v = u.value
        if v == 0x0a && keepNewlines {
            out.unicodeScalars.append(u)
            count = 0   // the limit is per line
        } else if v < 0x20 || v == 0x7f || (0x80..<0xa0).contains(v) {
            out += "\\x" + (v < 0x10 ? "0" : "") + String(v, radix: 16)
            count += 1
        } else {
            out.unicodeScalars.append(u)
            count += 1
        }
    }
    if omitted > 0 { out += "… (\(omitted) more characters)" }
    return out
}

/// The longest line `displaySafe` keeps by default.
public let displaySafeLimit = 2000
