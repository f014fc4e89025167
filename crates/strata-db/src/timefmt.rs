//! UTC timestamps for the history table, formatted `YYYY-MM-DD HH:MM:SS.mmm` (sortable as text,
//! castable to `timestamp` in PostgreSQL).

use std::time::SystemTime;

/// The current UTC time.
pub fn now_utc() -> String {
    format_system_time(SystemTime::now())
}

pub(crate) fn format_system_time(t: SystemTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]"
    );
    time::OffsetDateTime::from(t).format(&format).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

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
