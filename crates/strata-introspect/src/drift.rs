//! A human-readable drift report: what differs between a live database and a definition,
//! object by object and in which direction.
//!
//! Built on `strata_diff::compare`, the same predicates the diff uses, so the report lists
//! something exactly when a repair towards the definition would do something (unmanaged target
//! tables and the bookkeeping table are left out for the same reasons as there). Serverpod's
//! equivalent message reads backwards ("Missing index" for an index only the database has,
//! issues #2879/#5748); every line here says which side has what.

use std::borrow::Cow;
use std::fmt;

use strata_diff::compare::{diff_definitions, Change, DifferenceKind, ObjectKind};
use strata_schema::{DatabaseDefinition, MigrationVersion};

use crate::{BOOKKEEPING_TABLES, REPAIR_MODULE};

/// One line of a drift report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftEntry {
    /// The table concerned (for module version lines: the bookkeeping table).
    pub table: String,
    /// The rendered line, e.g. `table "x": column "y" is text in the database, bigint in v2`.
    pub message: String,
}

/// Everything that differs between a live database and a target definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftReport {
    /// How the live side is named in lines (`db:…/shop`, or "the database" when only one side
    /// is live).
    pub live_label: String,
    /// How the target side is named in lines (a version name, a file).
    pub target_label: String,
    /// Schema differences, table by table.
    pub entries: Vec<DriftEntry>,
    /// Bookkeeping differences (`serverpod_migrations` rows vs the target's installed modules).
    pub versions: Vec<String>,
}

impl DriftReport {
    /// True when the schema matches (bookkeeping differences aside).
    pub fn schema_matches(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when nothing at all differs.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.versions.is_empty()
    }
}

impl fmt::Display for DriftReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "No drift: {} matches {}.", self.live_label, self.target_label);
        }
        if !self.entries.is_empty() {
            writeln!(
                f,
                "Drift between {} and {} ({} difference{}):",
                self.live_label,
                self.target_label,
                self.entries.len(),
                if self.entries.len() == 1 { "" } else { "s" }
            )?;
            for e in &self.entries {
                writeln!(f, "  {}", e.message)?;
            }
        }
        if !self.versions.is_empty() {
            writeln!(f, "Recorded migration versions differ:")?;
            for v in &self.versions {
                writeln!(f, "  {v}")?;
            }
        }
        Ok(())
    }
}

/// The live definition as it must be compared with `target`: strata's bookkeeping tables
/// ([`BOOKKEEPING_TABLES`]: `serverpod_migrations`, which `definition.sql` creates implicitly
/// when a project has no `serverpod` module, and the runner's history table) are removed
/// unless `target` defines them. Without this every diff against a database would show a
/// `DROP TABLE` of strata's own bookkeeping, and a repair would destroy it. On SQLite, the
/// target's indexes SQLite leaves out of the database count as present; on MySQL, a `json`
/// column counts as the `jsonb` the target wants (MySQL writes both as `JSON`).
/// Call it before `strata_diff::generate_migration(live, target)`.
pub fn comparable_live(live: &DatabaseDefinition, target: &DatabaseDefinition) -> DatabaseDefinition {
    let mut out = live.clone();
    comparable_tables(&mut out, target);
    // Enum and domain types are compared only against a definition that carries them: a
    // Serverpod definition never does, and the database's own types are then left alone (and
    // named as warnings), never dropped.
    if target.types.is_empty() {
        out.types.clear();
    }
    // So are check and exclusion constraints, which a Serverpod definition never has either; a
    // live definition (the other side of a diff between two databases) always can hold them.
    if !can_hold_checks(target) {
        for table in &mut out.tables {
            table.keys.checks.clear();
            table.keys.exclusions.clear();
        }
    }
    out
}

/// The part of [`comparable_live`] that leaves types, checks and exclusions alone, in place: for a
/// caller that owns the live definition and decides about those itself (`strata diff`).
pub fn comparable_tables(live: &mut DatabaseDefinition, target: &DatabaseDefinition) {
    live.tables.retain(|t| !BOOKKEEPING_TABLES.contains(&t.name.as_str()) || target.table(&t.name).is_some());
    crate::sqlite::add_left_out_indexes(live, target);
    crate::mysql::adopt_types_read_back_lossily(live, target);
    adopt_now_spelling(live, target);
}

/// Whether `def` can hold check and exclusion constraints: a live database's definition, or one
/// that has some (a Serverpod definition never does).
pub fn can_hold_checks(def: &DatabaseDefinition) -> bool {
    def.module_name == crate::ANALYZER_MODULE || def.tables.iter().any(|t| t.keys.has_checks_or_exclusions())
}

/// A live `(now())` default where `target` says `now` (Serverpod's spelling of both) is `now`.
fn adopt_now_spelling(live: &mut DatabaseDefinition, target: &DatabaseDefinition) {
    let now_call = format!("({})", crate::postgres::NOW_CALL);
    let targets = target.tables_by_name();
    for table in &mut live.tables {
        let Some(t) = targets.get(table.name.as_str()) else { continue };
        for column in &mut table.columns {
            let says_now = t.column(&column.name).and_then(|c| c.column_default.as_deref())
                == Some(strata_schema::defaults::NOW);
            if says_now && column.column_default.as_deref() == Some(now_call.as_str()) {
                column.column_default = Some(strata_schema::defaults::NOW.to_string());
            }
        }
    }
}

/// Compares a live definition with a target definition. `live_label` and `target_label` name
/// the sides in the lines (e.g. "the database" and "20240101120000000").
pub fn drift_report(
    live: &DatabaseDefinition,
    target: &DatabaseDefinition,
    live_label: &str,
    target_label: &str,
) -> DriftReport {
    drift_between(&comparable_live(live, target), target, live_label, target_label)
}

/// [`drift_report`] of two definitions exactly as given: the report on the pair a migration was
/// generated from (`strata diff`, whose sides are already comparable), without a second copy
/// of either.
pub fn drift_between(
    from: &DatabaseDefinition,
    to: &DatabaseDefinition,
    live_label: &str,
    target_label: &str,
) -> DriftReport {
    // The diff ignores unmanaged target tables, whatever the database holds under that name.
    // Copies only when there is something to leave out (a 1,000-table clone would be most of
    // this report's time).
    let unmanaged: std::collections::HashSet<&str> =
        to.tables.iter().filter(|u| !u.is_managed()).map(|u| u.name.as_str()).collect();
    let (l, t) = if unmanaged.is_empty() {
        (Cow::Borrowed(from), Cow::Borrowed(to))
    } else {
        let mut l = from.clone();
        l.tables.retain(|t| !unmanaged.contains(t.name.as_str()));
        let mut t = to.clone();
        t.tables.retain(|t| t.is_managed());
        (Cow::Owned(l), Cow::Owned(t))
    };

    let entries = diff_definitions(&l, &t)
        .into_iter()
        .map(|d| {
            let subject = if d.kind == ObjectKind::Table {
                format!("table \"{}\"", d.table)
            } else {
                format!("table \"{}\": {} \"{}\"", d.table, d.kind.label(), d.name)
            };
            let message = match &d.difference {
                DifferenceKind::Removed => {
                    format!("{subject} exists in {live_label} but not in {target_label}")
                }
                DifferenceKind::Added => {
                    format!("{subject} is missing from {live_label} ({target_label} has it)")
                }
                DifferenceKind::Changed(changes) => {
                    let parts: Vec<String> =
                        changes.iter().map(|c| change_text(c, live_label, target_label)).collect();
                    format!("{subject} {}", parts.join("; "))
                }
            };
            DriftEntry { table: d.table, message }
        })
        .collect();
    DriftReport {
        live_label: live_label.to_string(),
        target_label: target_label.to_string(),
        entries,
        versions: version_lines(&from.installed_modules, &to.installed_modules, live_label, target_label),
    }
}

/// `is text in the database, bigint in v2`, `has default 'a' in the database, none in v2`.
fn change_text(c: &Change, live_label: &str, target_label: &str) -> String {
    match c.property {
        "type" | "nullable" => format!("is {} in {live_label}, {} in {target_label}", c.from, c.to),
        "default" => format!("has default {} in {live_label}, {} in {target_label}", c.from, c.to),
        p => format!("has {p} {} in {live_label}, {} in {target_label}", c.from, c.to),
    }
}

fn version_lines(
    live: &[MigrationVersion],
    target: &[MigrationVersion],
    live_label: &str,
    target_label: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    for t in target {
        match live.iter().find(|l| l.module == t.module) {
            Some(l) if l.version == t.version => {}
            Some(l) => out.push(format!(
                "module \"{}\" is at version {} in {live_label}, {} in {target_label}",
                t.module, l.version, t.version
            )),
            None => out.push(format!(
                "module \"{}\" has no recorded version in {live_label}, {} in {target_label}",
                t.module, t.version
            )),
        }
    }
    for l in live {
        if l.module != REPAIR_MODULE && !target.iter().any(|t| t.module == l.module) {
            out.push(format!(
                "module \"{}\" is recorded at {} in {live_label} but not installed in {target_label}",
                l.module, l.version
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_schema::{ColumnDefinition, ColumnType, IndexDefinition, TableDefinition};

    fn column(name: &str, t: ColumnType, nullable: bool) -> ColumnDefinition {
        ColumnDefinition { name: name.into(), column_type: t, is_nullable: nullable, ..Default::default() }
    }

    fn def(tables: Vec<TableDefinition>) -> DatabaseDefinition {
        let mut d = DatabaseDefinition::empty("p");
        d.tables = tables;
        d
    }

    fn table(name: &str, columns: Vec<ColumnDefinition>) -> TableDefinition {
        TableDefinition { name: name.into(), schema: "public".into(), columns, ..Default::default() }
    }

    #[test]
    fn lines_say_which_side_has_what() {
        let mut live_t =
            table("x", vec![column("y", ColumnType::Text, true), column("extra", ColumnType::Text, true)]);
        live_t.indexes.push(IndexDefinition {
            index_name: "live_only".into(),
            index_type: "btree".into(),
            ..Default::default()
        });
        let live = def(vec![live_t, table("stray", vec![])]);
        let mut target_t = table("x", vec![column("y", ColumnType::Bigint, false)]);
        target_t.columns[0].column_default = Some("0".into());
        let target = def(vec![target_t, table("wanted", vec![])]);
        let r = drift_report(&live, &target, "the database", "v2");
        let lines: Vec<&str> = r.entries.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            lines,
            vec![
                "table \"x\": column \"y\" is text in the database, bigint in v2; is nullable in the database, not null in v2; has default none in the database, 0 in v2",
                "table \"x\": column \"extra\" exists in the database but not in v2",
                "table \"x\": index \"live_only\" exists in the database but not in v2",
                "table \"stray\" exists in the database but not in v2",
                "table \"wanted\" is missing from the database (v2 has it)",
            ]
        );
        assert!(r.to_string().starts_with("Drift between the database and v2 (5 differences):\n"));
    }

    #[test]
    fn exact_types_of_two_live_sides_are_named_with_their_labels() {
        let native = |t, n: &str| ColumnDefinition { native_type: Some(n.into()), ..column("c", t, true) };
        let a = def(vec![table("x", vec![native(ColumnType::Integer, "integer")])]);
        let b = def(vec![table("x", vec![native(ColumnType::Bigint, "bigint")])]);
        let r = drift_report(&a, &b, "db:…/a", "db:…/b");
        assert_eq!(r.entries[0].message, "table \"x\": column \"c\" is integer in db:…/a, bigint in db:…/b");
        let a = def(vec![table("x", vec![native(ColumnType::Unknown, "character varying(10)")])]);
        let b = def(vec![table("x", vec![native(ColumnType::Unknown, "character varying(20)")])]);
        let r = drift_report(&a, &b, "db:…/a", "db:…/b");
        assert_eq!(
            r.entries[0].message,
            "table \"x\": column \"c\" is character varying(10) in db:…/a, character varying(20) in db:…/b"
        );
    }

    #[test]
    fn unmanaged_and_bookkeeping_tables_are_not_drift() {
        let live = def(vec![
            table(crate::MIGRATIONS_TABLE, vec![]),
            table(crate::HISTORY_TABLE, vec![]),
            table("legacy", vec![column("a", ColumnType::Text, true)]),
        ]);
        let mut legacy = table("legacy", vec![]);
        legacy.managed = Some(false);
        let target = def(vec![legacy, table("gone", vec![])]);
        let mut target_no_gone = target.clone();
        target_no_gone.tables.pop();
        let r = drift_report(&live, &target_no_gone, "the database", "v1");
        assert!(r.is_empty(), "{r}");
        assert_eq!(r.to_string(), "No drift: the database matches v1.\n");
    }

    #[test]
    fn version_lines_cover_every_direction() {
        let mut live = def(vec![]);
        live.installed_modules = vec![
            MigrationVersion::dependency("p", "1"),
            MigrationVersion::dependency("old", "7"),
            MigrationVersion::dependency(REPAIR_MODULE, "r"),
        ];
        let mut target = def(vec![]);
        target.installed_modules =
            vec![MigrationVersion::project("p", "2"), MigrationVersion::dependency("serverpod", "3")];
        let r = drift_report(&live, &target, "the database", "v2");
        assert!(r.schema_matches());
        assert_eq!(
            r.versions,
            vec![
                "module \"p\" is at version 1 in the database, 2 in v2",
                "module \"serverpod\" has no recorded version in the database, 3 in v2",
                "module \"old\" is recorded at 7 in the database but not installed in v2",
            ]
        );
    }
}
