//! Version names: `yyyyMMddHHmmssSSS` in UTC plus an optional `-tag`, ordered by plain string
//! comparison (the fixed-width prefix makes that chronological).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::ProjectError;

/// Hidden environment variable the CLI reads instead of the clock, for reproducible tests.
pub const NOW_ENV: &str = "STRATA_NOW";

/// Number of digits of the timestamp prefix.
pub const TIMESTAMP_LEN: usize = 17;

/// `yyyyMMddHHmmssSSS`.
const TIMESTAMP_FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
    time::macros::format_description!("[year][month][day][hour][minute][second][subsecond digits:3]");

/// The 17-digit UTC timestamp of `now`, e.g. `20231205080937028`. Times before 1970 are
/// clamped to the epoch (no real clock returns them).
pub fn timestamp(now: SystemTime) -> String {
    let now = now.max(UNIX_EPOCH);
    time::OffsetDateTime::from(now).format(TIMESTAMP_FORMAT).unwrap_or_else(|_| "0".repeat(TIMESTAMP_LEN))
}

/// Parses a 17-digit timestamp back into a time; `None` if it is not one or names an
/// impossible date.
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    if s.len() != TIMESTAMP_LEN || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t: SystemTime = time::PrimitiveDateTime::parse(s, TIMESTAMP_FORMAT).ok()?.assume_utc().into();
    (t >= UNIX_EPOCH).then_some(t)
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
