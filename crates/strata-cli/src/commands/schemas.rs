//! `diff` between two live PostgreSQL databases over several schemas (`--schema a,b`,
//! `--schema '*'`).
//!
//! strata's table SQL never qualifies a name, so each schema gets a section of its own: its
//! tables on both sides are diffed as one definition (tables match by name within the schema)
//! and the section's SQL runs under `SET LOCAL search_path TO "schema", "public"`. Around the
//! sections, inside the one transaction:
//!
//! * first, `CREATE SCHEMA` for the schemas only the target has, then the object statements
//!   that go before the tables (their names are qualified), the enum and domain types created
//!   or changed (qualified), and the drop of every foreign key between two schemas that changes
//!   or whose table goes;
//! * after the sections, `search_path` is set back to the session's (views' DDL was printed
//!   under it), the foreign keys between schemas are added (both names qualified), types are
//!   dropped, the remaining object statements run, and `DROP SCHEMA` removes the schemas only
//!   the source has, once their contents are gone. A schema that still holds something strata
//!   does not drop is left in place and named.
//!
//! A database holding only `public` never comes here: its diff keeps Serverpod's bytes.

use std::collections::BTreeSet;

use strata_introspect::object_diff::{ObjectPlan, TableChanges};
use strata_schema::types::{TypeChange, TypePlan};
use strata_schema::{
    DatabaseDefinition, DatabaseMigration, ForeignKeyDefinition, MigrationAction, MigrationVersion,
};
use strata_sql::quote::ident;
use strata_sql::{Dialect, MigrationSqlInput, SqlError};

use crate::commands::live::Unrepresented;

/// One schema's tables on both sides and the migration between them.
pub struct Section {
    pub schema: String,
    pub from: DatabaseDefinition,
    pub to: DatabaseDefinition,
    pub migration: DatabaseMigration,
}

/// A foreign key from a table in one schema onto a table in another.
#[derive(Debug, Clone, PartialEq)]
struct CrossKey {
    schema: String,
    table: String,
    fk: ForeignKeyDefinition,
}

/// The diff of two live databases over several schemas, section by section.
pub struct SchemaPlan {
    pub sections: Vec<Section>,
    /// Schemas only the target has (created first).
    pub created: Vec<String>,
    /// Schemas only the source has that are dropped once their contents are gone.
    pub dropped: Vec<String>,
    /// Schemas only the source has that still hold objects strata does not drop: left alone.
    pub kept: Vec<String>,
    /// Foreign keys between schemas dropped before the sections.
    drop_keys: Vec<CrossKey>,
    /// Foreign keys between schemas added after the sections.
    add_keys: Vec<CrossKey>,
}

/// What a multi-schema file writes besides the sections: the type changes, the object
/// statements, and the bookkeeping rows (written in the `public` section, or the first).
pub struct Extras<'a> {
    pub types: &'a TypePlan,
    pub objects: Option<&'a ObjectPlan>,
    pub installed_modules: &'a [MigrationVersion],
    pub removed_modules: &'a [String],
}

impl SchemaPlan {
    /// Splits both sides by schema; `schemas` are the schemas each side has (empty ones too),
    /// `from_objects` what the source holds that strata cannot diff (a schema holding any of it
    /// is not dropped).
    pub fn new(
        from: &DatabaseDefinition,
        to: &DatabaseDefinition,
        schemas: [&[String]; 2],
        from_objects: &[Unrepresented],
    ) -> SchemaPlan {
        let [from_schemas, to_schemas] = schemas;
        let mut all: BTreeSet<String> = from_schemas.iter().chain(to_schemas).cloned().collect();
        all.extend(from.tables.iter().chain(&to.tables).map(|t| t.schema.clone()));
        let sections: Vec<Section> = all
            .iter()
            .map(|schema| {
                let (from, to) = (schema_part(from, schema), schema_part(to, schema));
                let migration = strata_diff::generate_migration(&from, &to);
                Section { schema: schema.clone(), from, to, migration }
            })
            .collect();
        let (dropped, kept) = all
            .iter()
            .filter(|s| !to_schemas.contains(s) && !to.tables.iter().any(|t| &t.schema == *s))
            .cloned()
            .partition(|s| !from_objects.iter().any(|o| &o.schema == s && !o.has_ddl));
        let created = all
            .iter()
            .filter(|s| !from_schemas.contains(s) && !from.tables.iter().any(|t| &t.schema == *s))
            .cloned()
            .collect();
        let deleted: BTreeSet<(String, String)> = sections
            .iter()
            .flat_map(|s| {
                s.migration.actions.iter().filter_map(|a| match a {
                    MigrationAction::DeleteTable(name) => Some((s.schema.clone(), name.clone())),
                    _ => None,
                })
            })
            .collect();
        let goes = |k: &CrossKey| {
            deleted.contains(&(k.schema.clone(), k.table.clone()))
                || deleted.contains(&(k.fk.reference_table_schema.clone(), k.fk.reference_table.clone()))
        };
        let (from_keys, to_keys) = (cross_keys(from), cross_keys(to));
        let drop_keys = from_keys.iter().filter(|k| goes(k) || !to_keys.contains(k)).cloned().collect();
        let add_keys = to_keys.iter().filter(|k| goes(k) || !from_keys.contains(k)).cloned().collect();
        SchemaPlan { sections, created, dropped, kept, drop_keys, add_keys }
    }

    /// Every section's actions as one migration (the summary, `--format json`, the checks).
    pub fn migration(&self) -> DatabaseMigration {
        let mut out = DatabaseMigration::new();
        for s in &self.sections {
            out.actions.extend(s.migration.actions.iter().cloned());
            out.warnings.extend(s.migration.warnings.iter().cloned());
        }
        out
    }

    /// What the sections do to the source's tables, for the object statements.
    pub fn table_changes(&self) -> TableChanges {
        let mut out = TableChanges::default();
        for s in &self.sections {
            out.extend(TableChanges::of(&s.migration, &s.from));
        }
        out
    }

    /// Whether no table, foreign key or schema differs (types and objects aside).
    pub fn is_empty(&self) -> bool {
        self.sections.iter().all(|s| s.migration.actions.is_empty())
            && self.created.is_empty()
            && self.dropped.is_empty()
            && self.kept.is_empty()
            && self.drop_keys.is_empty()
            && self.add_keys.is_empty()
    }

    /// The drift, schema by schema, for stderr.
    pub fn drift_report(&self, from_label: &str, to_label: &str) -> String {
        let mut out = String::new();
        for s in &self.created {
            out.push_str(&format!("schema {} is missing from {from_label} ({to_label} has it)\n", ident(s)));
        }
        for s in self.dropped.iter().chain(&self.kept) {
            out.push_str(&format!("schema {} exists in {from_label} but not in {to_label}\n", ident(s)));
        }
        for s in self.sections.iter().filter(|s| !s.migration.actions.is_empty()) {
            let report = strata_introspect::drift_between(&s.from, &s.to, from_label, to_label);
            out.push_str(&format!("schema {}: {report}", ident(&s.schema)));
        }
        for k in self.drop_keys.iter().filter(|k| !self.add_keys.contains(k)) {
            out.push_str(&format!("{} exists in {from_label} but not in {to_label}\n", k.label()));
        }
        for k in self.add_keys.iter().filter(|k| !self.drop_keys.contains(k)) {
            out.push_str(&format!("{} is missing from {from_label} ({to_label} has it)\n", k.label()));
        }
        for s in &self.kept {
            out.push_str(&format!(
                "schema {} is not dropped: it holds objects strata does not drop (listed above)\n",
                ident(s)
            ));
        }
        out
    }

    /// The whole file: one transaction, the sections inside it (see the module comment).
    pub fn sql(&self, dialect: &dyn Dialect, extras: &Extras) -> Result<String, SqlError> {
        let types = |pick: fn(&TypeChange) -> bool| -> Result<String, SqlError> {
            let mut out = String::new();
            for change in extras.types.changes.iter().filter(|c| pick(c)) {
                out.push_str(&dialect.type_change_sql(change)?);
            }
            Ok(out)
        };
        // A label added inside a transaction cannot be used before it commits.
        let mut out = types(|c| matches!(c, TypeChange::AddEnumValue { .. }))?;
        out.push_str("BEGIN;\n\n");
        let mut block = |text: String| {
            if !text.is_empty() {
                out.push_str(&text);
                out.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
            }
        };
        block(self.created.iter().map(|s| format!("CREATE SCHEMA {};\n", ident(s))).collect());
        block(extras.objects.map(|p| p.before.join("\n")).unwrap_or_default());
        block(types(|c| matches!(c, TypeChange::Create(_) | TypeChange::AlterDomain { .. }))?);
        block(self.drop_keys.iter().map(CrossKey::drop_sql).collect());
        let bookkeeping = self.bookkeeping_schema();
        let mut scoped = false;
        for s in &self.sections {
            let with_versions = bookkeeping == Some(s.schema.as_str());
            if s.migration.actions.is_empty() && !with_versions {
                continue;
            }
            let (installed, removed): (&[MigrationVersion], &[String]) =
                if with_versions { (extras.installed_modules, extras.removed_modules) } else { (&[], &[]) };
            let file = strata_sql::migration_sql(
                dialect,
                &MigrationSqlInput {
                    migration: &s.migration,
                    source: &s.from,
                    target: &s.to,
                    installed_modules: installed,
                    removed_modules: removed,
                },
            )?;
            let body = transaction_body(&file).trim();
            if !body.is_empty() {
                block(format!("{}\n\n{body}\n", strata_introspect::postgres::search_path_sql(&s.schema)));
                scoped = true;
            }
        }
        if scoped {
            block("SET LOCAL search_path TO DEFAULT;\n".to_string());
        }
        let mut adds = String::new();
        for k in &self.add_keys {
            adds.push_str(&strata_sql::add_cross_schema_foreign_key_sql(&k.schema, &k.table, &k.fk)?);
        }
        block(adds);
        block(types(|c| matches!(c, TypeChange::Drop(_)))?);
        block(extras.objects.map(|p| p.after.join("\n")).unwrap_or_default());
        block(self.dropped.iter().map(|s| format!("DROP SCHEMA {};\n", ident(s))).collect());
        out.push_str("COMMIT;\n");
        Ok(out)
    }

    /// The schema whose section writes the `serverpod_migrations` rows: `public` when it is
    /// diffed, else the first schema.
    fn bookkeeping_schema(&self) -> Option<&str> {
        let any_change = self.sections.iter().any(|s| !s.migration.actions.is_empty());
        let public = self.sections.iter().find(|s| s.schema == "public");
        any_change.then(|| public.or(self.sections.first()).map(|s| s.schema.as_str())).flatten()
    }
}

impl CrossKey {
    fn label(&self) -> String {
        format!(
            "foreign key {} on {}.{} (onto {}.{})",
            ident(&self.fk.constraint_name),
            ident(&self.schema),
            ident(&self.table),
            ident(&self.fk.reference_table_schema),
            ident(&self.fk.reference_table)
        )
    }

    fn drop_sql(&self) -> String {
        format!(
            "ALTER TABLE {}.{} DROP CONSTRAINT IF EXISTS {};\n",
            ident(&self.schema),
            ident(&self.table),
            ident(&self.fk.constraint_name)
        )
    }
}

/// `def` reduced to the tables of `schema`, without the foreign keys that leave it (those are
/// written apart, qualified) and without types (diffed once for the whole database).
fn schema_part(def: &DatabaseDefinition, schema: &str) -> DatabaseDefinition {
    let mut out = def.clone();
    out.types.clear();
    out.tables.retain(|t| t.schema == schema);
    for t in &mut out.tables {
        t.foreign_keys.retain(|fk| fk.reference_table_schema == schema);
    }
    out
}

/// The foreign keys of `def` that reference a table in another schema.
fn cross_keys(def: &DatabaseDefinition) -> Vec<CrossKey> {
    def.tables
        .iter()
        .flat_map(|t| {
            t.foreign_keys.iter().filter(|fk| fk.reference_table_schema != t.schema).map(|fk| CrossKey {
                schema: t.schema.clone(),
                table: t.name.clone(),
                fk: fk.clone(),
            })
        })
        .collect()
}

/// What a `BEGIN;` … `COMMIT;` file runs inside its transaction.
fn transaction_body(file: &str) -> &str {
    let start = file.find("BEGIN;\n").map_or(0, |i| i + "BEGIN;\n".len());
    let end = file.rfind("COMMIT;").filter(|e| *e >= start).unwrap_or(file.len());
    &file[start..end]
}

#[cfg(test)]
mod tests {
    use super::transaction_body;

    #[test]
    fn the_body_is_what_runs_inside_the_transaction() {
        assert_eq!(transaction_body("BEGIN;\n\nX;\nCOMMIT;\n"), "\nX;\n");
        assert_eq!(transaction_body("ALTER TYPE a;\nBEGIN;\nX;\nCOMMIT;\n"), "X;\n");
    }
}
