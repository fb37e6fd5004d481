import VMRRJournal

/// A journal written again under another header (a different RAM size, an
/// image path that does not exist here): every event in order, each
/// checkpoint chunk right after its `checkpoint` event, as the recorder
/// writes them. For tests of how commands treat such headers.
public enum JournalRewrite {
    public static func write(_ reader: JournalReader, header: JournalHeader, to path: String) throws {
        let w = try JournalWriter(path: path, header: header)
        try reader.forEachEvent { r in
            try w.append(r.event, regs: r.regs)
            if case let .checkpoint(id) = r.event { try w.appendCheckpoint(try reader.checkpoint(id: id)) }
            return true
        }
        try w.finish()
    }
}
