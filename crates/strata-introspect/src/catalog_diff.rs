//! The diff of sequences, collations and extensions between two live PostgreSQL databases: the
//! catalog objects tables use, so their statements frame everything else.
//!
//! First, before any other statement: extensions are created (required ones first) or updated,
//! collations created, sequences created or altered, and a sequence whose owning column the
//! table SQL drops but that `to` keeps is released (`OWNED BY NONE`) so that it survives. Last,
//! after everything else: sequences' owners are set, then sequences, collations and extensions
//! that `to` lacks are dropped (no column default or type uses them any more by then). A
//! sequence the table SQL creates itself (a `serial` column of a new table or new column) is
//! only adjusted where its options differ from the ones `serial` gives it.

use std::collections::BTreeMap;

use strata_schema::{ColumnDefinition, ColumnType, DatabaseDefinition};
use strata_sql::quote::{ident, literal};

use crate::object_diff::{dependency_order, Side, TableChanges};
use crate::pg_objects::{ObjectKind, PgObject};

/// The statements for the catalog objects, placed around all the others.
#[derive(Debug, Default)]
pub(crate) struct CatalogPlan {
    pub first: Vec<String>,
    pub last: Vec<String>,
    pub left_alone: Vec<String>,
}

/// (schema, name) of a catalog object.
type Name = (String, String);

fn of_kind(objects: &[PgObject], kind: ObjectKind) -> BTreeMap<Name, &PgObject> {
    objects.iter().filter(|o| o.kind == kind).map(|o| ((o.schema.clone(), o.key.clone()), o)).collect()
}

/// `"schema"."name"`.
fn qualified(o: &PgObject) -> String {
    format!("{}.{}", ident(&o.schema), ident(&o.key))
}

/// The statements taking `from`'s sequences, collations and extensions to `to`'s.
pub(crate) fn plan(from: Side, to: Side, changes: &TableChanges) -> CatalogPlan {
    let mut plan = CatalogPlan::default();
    let mut owners = Vec::new();
    let mut drops = Vec::new();
    extensions(from, to, &mut plan, &mut drops);
    collations(from, to, &mut plan, &mut drops);
    sequences(from, to, changes, &mut plan, &mut owners, &mut drops);
    drops.reverse();
    plan.last = owners;
    plan.last.extend(drops);
    plan
}

/// Extensions `to` has that `from` lacks are created, in dependency order; versions are updated.
/// Their drops (pushed onto `drops`, which runs reversed) come after everything else.
fn extensions(from: Side, to: Side, plan: &mut CatalogPlan, drops: &mut Vec<String>) {
    let (f, t) = (of_kind(from.objects, ObjectKind::Extension), of_kind(to.objects, ObjectKind::Extension));
    fn by_name<'o>(m: &BTreeMap<Name, &'o PgObject>, name: &str) -> Option<&'o PgObject> {
        m.values().find(|o| o.key == name).copied()
    }
    let created: Vec<&PgObject> = t.values().filter(|o| by_name(&f, &o.key).is_none()).copied().collect();
    for o in dependency_order(&created) {
        plan.first.push(format!(
            "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {} VERSION {};",
            ident(&o.key),
            ident(&o.schema),
            literal(&o.definition)
        ));
    }
    for o in t.values() {
        let Some(old) = by_name(&f, &o.key) else { continue };
        if old.schema != o.schema {
            plan.left_alone.push(format!(
                "extension {} is in schema {} here and {} there (strata does not move extensions)",
                o.key, old.schema, o.schema
            ));
        } else if old.definition != o.definition && !old.roles.contains(&o.definition) {
            plan.left_alone.push(format!(
                "extension {} is at version {} here and {} there, with no update path between them",
                o.key, old.definition, o.definition
            ));
        } else if old.definition != o.definition {
            plan.first.push(format!(
                "ALTER EXTENSION {} UPDATE TO {};",
                ident(&o.key),
                literal(&o.definition)
            ));
        }
    }
    let dropped: Vec<&PgObject> = f.values().filter(|o| by_name(&t, &o.key).is_none()).copied().collect();
    // Reversed with `drops`: dependents are dropped before the extensions they require.
    for o in dependency_order(&dropped) {
        drops.push(format!("DROP EXTENSION {};", ident(&o.key)));
    }
}

/// A collation's options as `CREATE COLLATION` takes them, or `None` for a provider strata
/// cannot create one for (the database default).
fn collation_options(o: &PgObject) -> Option<String> {
    let parts: Vec<&str> = o.definition.split('|').collect();
    let [locale, collate, ctype, deterministic, rules] = parts[..] else { return None };
    let deterministic = if deterministic == "true" || deterministic == "t" { "true" } else { "false" };
    let mut options = match o.object_type.as_str() {
        "i" => format!("provider = icu, locale = {}", literal(locale)),
        "b" => format!("provider = builtin, locale = {}", literal(locale)),
        "c" => format!("provider = libc, lc_collate = {}, lc_ctype = {}", literal(collate), literal(ctype)),
        _ => return None,
    };
    if !rules.is_empty() {
        options.push_str(&format!(", rules = {}", literal(rules)));
    }
    options.push_str(&format!(", deterministic = {deterministic}"));
    Some(options)
}

/// Collations are created first and dropped last; one defined differently on the two sides is
/// left alone (columns may use it: it cannot be dropped and created again under them).
fn collations(from: Side, to: Side, plan: &mut CatalogPlan, drops: &mut Vec<String>) {
    let (f, t) = (of_kind(from.objects, ObjectKind::Collation), of_kind(to.objects, ObjectKind::Collation));
    for (name, o) in &t {
        match f.get(name) {
            None => match collation_options(o) {
                Some(options) => plan.first.push(format!("CREATE COLLATION {} ({options});", qualified(o))),
                None => plan
                    .left_alone
                    .push(format!("collation {} (its provider cannot be created)", qualified(o))),
            },
            Some(old) if old.definition != o.definition || old.object_type != o.object_type => plan
                .left_alone
                .push(format!("collation {} is defined differently on the two sides", qualified(o))),
            Some(_) => {}
        }
    }
    for (name, o) in &f {
        if !t.contains_key(name) {
            drops.push(format!("DROP COLLATION {};", qualified(o)));
        }
    }
}

/// A sequence's options, from [`PgObject::definition`] (`type|start|increment|min|max|cache|cycle`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SequenceOptions {
    data_type: &'static str,
    start: i64,
    increment: i64,
    min: i64,
    max: i64,
    cache: i64,
    cycle: bool,
}

impl SequenceOptions {
    /// `None` for a definition that is not exactly the catalog's seven options of an integer
    /// sequence: then no SQL is written for it.
    fn parse(definition: &str) -> Option<SequenceOptions> {
        let parts: Vec<&str> = definition.split('|').collect();
        let [data_type, start, increment, min, max, cache, cycle] = parts[..] else { return None };
        Some(SequenceOptions {
            data_type: ["smallint", "integer", "bigint"].into_iter().find(|t| *t == data_type)?,
            start: start.parse().ok()?,
            increment: increment.parse().ok()?,
            min: min.parse().ok()?,
            max: max.parse().ok()?,
            cache: cache.parse().ok()?,
            cycle: matches!(cycle, "t" | "true"),
        })
    }

    /// What `serial` (or `bigserial`, as strata writes it for `column`) creates.
    fn of_serial(column: &ColumnDefinition) -> SequenceOptions {
        let big = column.column_type == ColumnType::Bigint || column.native_type.as_deref() == Some("bigint");
        SequenceOptions {
            data_type: if big { "bigint" } else { "integer" },
            start: 1,
            increment: 1,
            min: 1,
            max: if big { i64::MAX } else { i32::MAX.into() },
            cache: 1,
            cycle: false,
        }
    }

    /// Every option, as `CREATE SEQUENCE` takes them.
    fn create_clauses(&self) -> String {
        format!(
            "AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}",
            self.data_type,
            self.increment,
            self.min,
            self.max,
            self.start,
            self.cache,
            if self.cycle { "CYCLE" } else { "NO CYCLE" }
        )
    }

    /// The options that differ in `to`, as `ALTER SEQUENCE` takes them. A type change states the
    /// bounds too: PostgreSQL would otherwise widen bounds that were the old type's.
    fn alter_clauses(&self, to: &SequenceOptions) -> Vec<String> {
        let mut out = Vec::new();
        let retyped = self.data_type != to.data_type;
        if retyped {
            out.push(format!("AS {}", to.data_type));
        }
        if self.increment != to.increment {
            out.push(format!("INCREMENT BY {}", to.increment));
        }
        if retyped || self.min != to.min {
            out.push(format!("MINVALUE {}", to.min));
        }
        if retyped || self.max != to.max {
            out.push(format!("MAXVALUE {}", to.max));
        }
        if self.start != to.start {
            out.push(format!("START WITH {}", to.start));
        }
        if self.cache != to.cache {
            out.push(format!("CACHE {}", to.cache));
        }
        if self.cycle != to.cycle {
            out.push(if to.cycle { "CYCLE" } else { "NO CYCLE" }.to_string());
        }
        out
    }
}

/// The (table, column) owning a sequence.
fn owner(o: &PgObject) -> Option<(&str, &str)> {
    (!o.args.is_empty()).then_some((o.args.as_str(), o.signature.as_str()))
}

fn owned_by(o: Option<&PgObject>) -> String {
    match o.and_then(|o| owner(o).map(|(t, c)| (o, t, c))) {
        Some((o, table, column)) => format!("{}.{}.{}", ident(&o.schema), ident(table), ident(column)),
        None => "NONE".to_string(),
    }
}

/// Whether the table SQL makes `o` (of `to`) itself: its owning column is a `serial` column the
/// migration creates, and the sequence has the name `serial` gives.
fn made_by_table_sql<'d>(o: &PgObject, to: Side<'d>, changes: &TableChanges) -> Option<&'d ColumnDefinition> {
    let (table, column) = owner(o)?;
    if !changes.creates_column(&o.schema, table, column)
        || !crate::postgres::is_serial_sequence_name(&o.key, table, column)
    {
        return None;
    }
    let t = to.definition.tables.iter().find(|t| t.schema == o.schema && t.name == table)?;
    let c = t.columns.iter().find(|c| c.name == column)?;
    (c.column_default.as_deref() == Some(strata_schema::defaults::SERIAL)).then_some(c)
}

/// Sequences: created or altered first, owners set and removed ones dropped last.
fn sequences(
    from: Side,
    to: Side,
    changes: &TableChanges,
    plan: &mut CatalogPlan,
    owners: &mut Vec<String>,
    drops: &mut Vec<String>,
) {
    let (f, t) = (of_kind(from.objects, ObjectKind::Sequence), of_kind(to.objects, ObjectKind::Sequence));
    let names: std::collections::BTreeSet<&Name> = f.keys().chain(t.keys()).collect();
    for name in names {
        let (old, new) = (f.get(name).copied(), t.get(name).copied());
        let any = new.or(old).expect("a name comes from one side");
        let parsed =
            |o: Option<&PgObject>| o.map(|o| SequenceOptions::parse(&o.definition).ok_or(())).transpose();
        let (Ok(old_options), Ok(new_options)) = (parsed(old), parsed(new)) else {
            plan.left_alone.push(format!("sequence {} (options strata cannot read)", qualified(any)));
            continue;
        };
        let old_goes =
            old.and_then(owner).is_some_and(|(t, c)| changes.drops_owned_sequence(&any.schema, t, c));
        let made = new.and_then(|n| made_by_table_sql(n, to, changes));
        let seq = qualified(any);
        let alter = |from: &SequenceOptions, to: &SequenceOptions| {
            let clauses = from.alter_clauses(to);
            (!clauses.is_empty()).then(|| format!("ALTER SEQUENCE {seq} {};", clauses.join(" ")))
        };
        // A new column's `serial` makes its own sequence, named `serial`'s way.
        let owned_by_new_column = new.and_then(owner).is_some_and(|(t, c)| {
            changes.creates_column(&any.schema, t, c)
                && !crate::postgres::is_serial_sequence_name(&any.key, t, c)
        });
        if owned_by_new_column && old.is_none() {
            plan.left_alone.push(format!(
                "sequence {seq} (owned by a column this migration creates, under a name serial would not give it)"
            ));
            continue;
        }
        if made.is_some() && old.is_some() && !old_goes {
            plan.left_alone
                .push(format!("sequence {seq} (a new serial column would create one of the same name)"));
            continue;
        }
        match (old_options, new_options, made) {
            // The table SQL drops the old one (with its column) and creates the new one.
            (_, Some(n), Some(column)) => owners.extend(alter(&SequenceOptions::of_serial(column), &n)),
            (Some(o), Some(n), None) => {
                if old_goes {
                    // Released, so that dropping its column leaves it; `to`'s owner is set last.
                    plan.first.push(format!("ALTER SEQUENCE {seq} OWNED BY NONE;"));
                }
                plan.first.extend(alter(&o, &n));
                let owner_changes =
                    if old_goes { new.and_then(owner).is_some() } else { owned_by(old) != owned_by(new) };
                if owner_changes {
                    owners.push(format!("ALTER SEQUENCE {seq} OWNED BY {};", owned_by(new)));
                }
            }
            (Some(_), None, _) if old_goes => {}
            (Some(_), None, _) => drops.push(format!("DROP SEQUENCE {seq};")),
            (None, Some(n), None) => {
                plan.first.push(format!("CREATE SEQUENCE {seq} {};", n.create_clauses()));
                if new.and_then(owner).is_some() {
                    owners.push(format!("ALTER SEQUENCE {seq} OWNED BY {};", owned_by(new)));
                }
            }
            (None, None, _) => {}
        }
    }
}

/// Between two live databases, a column whose default is `serial` on one side and `nextval` of
/// the same sequence on the other differs only in which column owns the sequence, which the
/// sequence's `OWNED BY` carries (see [`plan`]). The expression side takes `serial`, so that the
/// table SQL leaves the default as it is (it could not write `SET DEFAULT serial`).
///
/// A `serial` column of `to` that the table SQL creates while `from` already has a sequence of
/// the name `serial` would give it (`from_objects`) takes that sequence's `nextval` instead:
/// `serial` would make a second, numbered sequence.
pub fn align_serial_defaults(
    from: &mut DatabaseDefinition,
    to: &mut DatabaseDefinition,
    from_objects: &[PgObject],
) {
    // By (schema, name), built once (first match wins): a scan per table is quadratic on large
    // schemas.
    let from_index: std::collections::HashMap<(String, String), usize> =
        from.tables.iter().enumerate().rev().map(|(i, t)| ((t.schema.clone(), t.name.clone()), i)).collect();
    for b in &mut to.tables {
        let mut a = from_index.get(&(b.schema.clone(), b.name.clone())).map(|&i| &mut from.tables[i]);
        for y in &mut b.columns {
            let matched = a.as_mut().and_then(|a| a.columns.iter_mut().find(|x| x.name == y.name));
            // Only a default can name the serial sequence.
            let has_default =
                y.column_default.is_some() || matched.as_ref().is_some_and(|x| x.column_default.is_some());
            if !has_default {
                continue;
            }
            let serial_name = format!("{}_{}_seq", b.name, y.name);
            match matched {
                Some(x) => align_pair(&mut x.column_default, &mut y.column_default, &serial_name),
                None if y.column_default.as_deref() == Some(strata_schema::defaults::SERIAL) => {
                    let taken = from_objects.iter().any(|o| {
                        o.kind == ObjectKind::Sequence && o.schema == b.schema && o.key == serial_name
                    });
                    if taken {
                        let sequence = format!("{}.{}", ident(&b.schema), ident(&serial_name));
                        y.column_default = Some(format!("(nextval({}::regclass))", literal(&sequence)));
                    }
                }
                None => {}
            }
        }
    }
}

/// Sets whichever of the two defaults is `nextval(serial_name)` to `serial` when the other one is.
fn align_pair(a: &mut Option<String>, b: &mut Option<String>, serial_name: &str) {
    let serial = Some(strata_schema::defaults::SERIAL.to_string());
    let names_serial =
        |d: &Option<String>| d.as_deref().and_then(nextval_sequence).as_deref() == Some(serial_name);
    if *a == serial && names_serial(b) {
        b.clone_from(&serial);
    } else if *b == serial && names_serial(a) {
        a.clone_from(&serial);
    }
}

/// The sequence (unqualified, unquoted) a parenthesised `nextval('…'::regclass)` default reads.
fn nextval_sequence(default: &str) -> Option<String> {
    let inner = default.strip_prefix("(nextval('")?.strip_suffix("'::regclass))")?;
    let last = match inner.rsplit_once('.') {
        Some((_, name)) if !name.ends_with('"') || name.starts_with('"') => name,
        _ => inner,
    };
    let name = match last.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => last.to_string(),
    };
    Some(name.replace("''", "'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_options_parse_and_alter_only_what_differs() {
        let a = SequenceOptions::parse("integer|1|1|1|2147483647|1|f").expect("parses");
        let b = SequenceOptions::parse("integer|1|5|1|2147483647|1|t").expect("parses");
        assert_eq!(a.alter_clauses(&b), ["INCREMENT BY 5", "CYCLE"]);
        let c = SequenceOptions::parse("bigint|1|1|1|2147483647|1|f").expect("parses");
        assert_eq!(a.alter_clauses(&c), ["AS bigint", "MINVALUE 1", "MAXVALUE 2147483647"]);
        assert!(SequenceOptions::parse("numeric|1|1|1|9|1|f").is_none());
        assert!(SequenceOptions::parse("integer|1|1|1|x|1|f").is_none());
        assert_eq!(nextval_sequence("(nextval('public.\"T\"\"x\"'::regclass))").as_deref(), Some("T\"x"));
        assert_eq!(nextval_sequence("(nextval('t_id_seq'::regclass))").as_deref(), Some("t_id_seq"));
        assert_eq!(
            a.create_clauses(),
            "AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1 NO CYCLE"
        );
    }
}
