//! The versions a repair file installs, for dialects whose files keep no version bookkeeping.
//!
//! On PostgreSQL and SQLite a repair file ends with Serverpod's `serverpod_migrations` rows, so
//! running it records the versions it brings the database to. A MySQL file has no such rows (the
//! runner keeps the versions), so `create-repair-migration` writes them in a comment line the
//! runner reads: `-- strata-repair-installs: app=20260101000000000 serverpod=20240101000000000`.
//! The line is a comment, never executed.

/// How the line starts.
pub const INSTALLS_MARK: &str = "-- strata-repair-installs:";

/// The line for `versions` (module, version), in the order given.
pub fn installs_line<'a>(versions: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let pairs: Vec<String> = versions.into_iter().map(|(m, v)| format!("{m}={v}")).collect();
    format!("{INSTALLS_MARK} {}\n", pairs.join(" "))
}

/// The (module, version) pairs a repair file's line records; `None` when it has no line, or a
/// malformed one (the runner then refuses the file rather than guess).
pub fn recorded_installs(sql: &str) -> Option<Vec<(String, String)>> {
    let line = sql.lines().find(|l| l.starts_with(INSTALLS_MARK))?;
    let mut out = Vec::new();
    for pair in line[INSTALLS_MARK.len()..].split_whitespace() {
        let (module, version) = pair.split_once('=')?;
        if module.is_empty()
            || version.is_empty()
            || !version.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        out.push((module.to_string(), version.to_string()));
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_round_trips() {
        let line = installs_line([("shop", "20260101000000000"), ("serverpod", "20240101000000000-x")]);
        let sql = format!("-- header\n{line}CREATE TABLE `t` (`id` BIGINT);\n");
        assert_eq!(
            recorded_installs(&sql),
            Some(vec![
                ("shop".into(), "20260101000000000".into()),
                ("serverpod".into(), "20240101000000000-x".into())
            ])
        );
    }

    #[test]
    fn a_missing_or_malformed_line_is_none() {
        assert_eq!(recorded_installs("CREATE TABLE t (id int);\n"), None);
        assert_eq!(recorded_installs(&format!("{INSTALLS_MARK}\n")), None);
        assert_eq!(recorded_installs(&format!("{INSTALLS_MARK} shop\n")), None);
        assert_eq!(recorded_installs(&format!("{INSTALLS_MARK} shop=1;DROP\n")), None);
    }
}
