//! The fingerprint of a live database: what a repair migration was computed from.
//!
//! A repair file is a diff from one particular database to a version. Applied to another
//! database (a leftover file, a staging repair run against production) it would drop columns that
//! database still needs. `create-repair-migration` records the source's fingerprint in the file;
//! `apply --repair` recomputes it and refuses a database that does not match.
//!
//! The fingerprint is SHA-256 over the introspected definition (as definition JSON, which is
//! deterministic) without strata's own history table (created by the first apply, so it may appear
//! between the two), what strata cannot represent, and every module's installed version.

use sha2::{Digest, Sha256};

use crate::{Introspection, HISTORY_TABLE};

/// How the fingerprint line starts in a repair file.
pub const FINGERPRINT_MARK: &str = "-- strata-source-fingerprint:";

/// `sha256:<hex>` of `live`.
pub fn fingerprint(live: &Introspection) -> String {
    let mut definition = live.definition.clone();
    definition.tables.retain(|t| t.name != HISTORY_TABLE);
    definition.installed_modules.clear();
    let mut hasher = Sha256::new();
    hasher.update(strata_schema::definition_to_json(&definition).as_bytes());
    for w in live.warnings.iter().filter(|w| w.table.as_deref() != Some(HISTORY_TABLE)) {
        hasher.update(b"\nwarning ");
        hasher.update(w.to_string().as_bytes());
    }
    for v in &live.installed_versions {
        hasher.update(format!("\nmodule {}={}", v.module, v.version).as_bytes());
    }
    let hex: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The line a repair file carries (comment only: Serverpod's runner and psql ignore it).
pub fn fingerprint_line(schema: &str, fingerprint: &str) -> String {
    format!(
        "{FINGERPRINT_MARK} schema={schema} {fingerprint} (`strata apply --repair` refuses any other database; --force overrides)\n"
    )
}

/// The (schema, fingerprint) a repair file was computed from, when it records one.
pub fn recorded_fingerprint(sql: &str) -> Option<(String, String)> {
    let line = sql.lines().find(|l| l.starts_with(FINGERPRINT_MARK))?;
    let mut words = line[FINGERPRINT_MARK.len()..].split_whitespace();
    let schema = words.next()?.strip_prefix("schema=")?.to_string();
    let fp = words.next().filter(|w| w.starts_with("sha256:"))?.to_string();
    Some((schema, fp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_round_trips() {
        let line = fingerprint_line("app", "sha256:abc");
        let sql = format!("{line}BEGIN;\nCOMMIT;\n");
        assert_eq!(recorded_fingerprint(&sql), Some(("app".into(), "sha256:abc".into())));
        assert_eq!(recorded_fingerprint("BEGIN;\nCOMMIT;\n"), None);
    }
}
