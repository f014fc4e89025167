//! UTC timestamps for the history table, formatted `YYYY-MM-DD HH:MM:SS.mmm` (sortable as text,
//! castable to `timestamp` in PostgreSQL). Hand-rolled to avoid a date crate for one format.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current UTC time.
pub fn now_utc() -> String {
    format_system_time(SystemTime::now())
}

pub(crate) fn format_system_time(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let millis = d.subsec_millis();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, day) = civil_from_days(days);
    format!("{y:04}-{m:02}-{day:02} {:02}:{:02}:{:02}.{millis:03}", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// Howard Hinnant's days-since-epoch → (year, month, day) for the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_system_time(UNIX_EPOCH), "1970-01-01 00:00:00.000");
        // 2024-02-29 12:34:56.789 UTC (a leap day)
        let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(format_system_time(t), "2024-02-29 12:34:56.789");
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_599); // 2025-12-31 23:59:59
        assert_eq!(format_system_time(t), "2025-12-31 23:59:59.000");
    }
}
