import VMRRJournal

/// SHA-256 lives in VMRRJournal (bundles need it without the ELF loader);
/// this keeps `VMRRGuest.SHA256` working for guest-side code.
public typealias SHA256 = VMRRJournal.SHA256
