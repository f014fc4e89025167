//! Version names: `yyyyMMddHHmmssSSS` in UTC plus an optional `-tag`, ordered by plain string
//! comparison (the fixed-width prefix makes that chronological).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::ProjectError;

/// Hidden environment variable the CLI reads instead of the clock, for reproducible tests.
pub const NOW_ENV: &str = "STRATA_NOW";

/// Number of digits of the timestamp prefix.
pub const TIMESTAMP_LEN: usize = 17;

/// The 17-digit UTC timestamp of `now`, e.g. `20231205080937028`. Times before 1970 are
/// clamped to the epoch (no real clock returns them).
pub fn timestamp(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let millis = since.subsec_millis();
    let secs = since.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}{millis:03}", rem / 3600, (rem / 60) % 60, rem % 60)
}

/// Parses a 17-digit timestamp back into a time; `None` if it is not one or names an
/// impossible date.
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    if s.len() != TIMESTAMP_LEN || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (h, mi, se, ms) = (n(8..10)?, n(10..12)?, n(12..14)?, n(14..17)?);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y as i64, mo) || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let days = days_from_civil(y as i64, mo, d);
    if days < 0 {
        return None;
    }
    let secs = days as u64 * 86_400 + u64::from(h) * 3600 + u64::from(mi) * 60 + u64::from(se);
    Some(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(u64::from(ms)))
}

/// The current time: `STRATA_NOW` when set (and valid), otherwise the system clock.
pub fn now_from_env() -> Result<SystemTime, ProjectError> {
    match std::env::var(NOW_ENV) {
        Ok(v) => parse_timestamp(v.trim()).ok_or(ProjectError::InvalidNow { value: v }),
        Err(_) => Ok(SystemTime::now()),
    }
}

/// Checks a `--tag` with the CLI rule `^[a-z0-9]+(-[a-z0-9]+)*$`.
pub fn validate_tag(tag: &str) -> Result<(), ProjectError> {
    let ok = !tag.is_empty()
        && tag.split('-').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(ProjectError::InvalidTag { tag: tag.to_string() })
    }
}

/// The name of a new version created at `now`, with an optional validated tag.
pub fn version_name(now: SystemTime, tag: Option<&str>) -> Result<String, ProjectError> {
    let ts = timestamp(now);
    match tag {
        Some(t) => {
            validate_tag(t)?;
            Ok(format!("{ts}-{t}"))
        }
        None => Ok(ts),
    }
}

/// Whether a directory name looks like a migration version: 17 digits, then nothing or a dash
/// and a non-empty tag. Serverpod's own tag rule is looser (spaces, dots, capitals), so the tag
/// is only required to be non-empty here, to read every directory Serverpod may have written.
pub fn is_version_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.len() < TIMESTAMP_LEN || !bytes[..TIMESTAMP_LEN].iter().all(u8::is_ascii_digit) {
        return false;
    }
    match &name[TIMESTAMP_LEN..] {
        "" => true,
        rest => rest.len() > 1 && rest.starts_with('-'),
    }
}

/// The timestamp prefix of a version name.
pub fn version_timestamp(version: &str) -> &str {
    version.get(..TIMESTAMP_LEN).unwrap_or(version)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 -> (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) -> days since 1970-01-01; Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_many_days() {
        for days in (-1000..200_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }
}
