/// A UTC date and time from Unix seconds (proleptic Gregorian calendar), the
/// one civil-date conversion of vmrr: the CMOS RTC shows it to the guest and
/// the journal summary prints it.
public struct CivilTime: Equatable, Sendable {
    public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    /// 0 = Sunday.
    public var weekday: Int

    public init(unixSeconds: UInt64) {
        let clamped = min(unixSeconds, UInt64(Int64.max))
        let days = Int(clamped / 86_400), rest = Int(clamped % 86_400)
        hour = rest / 3600; minute = rest % 3600 / 60; second = rest % 60
        weekday = (days + 4) % 7   // 1970-01-01 was a Thursday
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// ISO 8601 in UTC, e.g. `2026-11-24T09:05:00Z`.
    public var iso8601: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))Z"
    }
}
