//! Timestamps in the two forms the admin UI reads: JavaScript's `Date` as JSON
//! (`2026-12-06T18:36:13.120Z`) on socket and room events, milliseconds since the epoch in the
//! aggregated counts of `server_stats`.

use std::time::{SystemTime, UNIX_EPOCH};

const MILLIS_PER_DAY: i64 = 86_400_000;
/// Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar.
const EPOCH_SHIFT_DAYS: i64 = 719_468;
const DAYS_PER_ERA: i64 = 146_097;

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// Now, as `Date.prototype.toJSON` writes it.
pub fn now_iso() -> String {
    iso(now_millis())
}

/// A time (milliseconds since the epoch) as `Date.prototype.toJSON` writes it.
pub fn iso(millis: i64) -> String {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let in_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60,
        in_day % 1000
    )
}

/// The date of a day number (days since 1970-01-01), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + EPOCH_SHIFT_DAYS;
    let era = z.div_euclid(DAYS_PER_ERA);
    let day_of_era = z.rem_euclid(DAYS_PER_ERA);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_dates_as_javascript_does() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        // new Date(1796581000123).toJSON()
        assert_eq!(iso(1_796_581_000_123), "2026-12-06T18:16:40.123Z");
        // A leap day: new Date(951782400000).toJSON()
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
