//! The diff of PostgreSQL's database-defined objects between two live databases, as SQL placed
//! around strata's table SQL.
//!
//! Before the table changes: triggers, policies, rules, materialized-view indexes and views that
//! are removed or changed are dropped (views reading a table whose columns change or that is
//! dropped are dropped too, dependents first), and functions are created or replaced (a
//! function's body may name tables that do not exist yet: `check_function_bodies` is off for the
//! transaction, as pg_dump does). After them: views in dependency order, materialized-view
//! indexes, triggers, row-level security, policies, rules, comments, grants and default
//! privileges; removed functions are dropped last. Every identifier goes through
//! [`strata_sql::quote::ident`] and every comment through [`strata_sql::quote::literal`]; the
//! rest is the DDL PostgreSQL printed for the object.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use strata_schema::{DatabaseDefinition, DatabaseMigration, MigrationAction, TableDefinition};
use strata_sql::quote::{ident, literal};

use crate::pg_objects::{ObjectKind, PgObject};
use crate::IntrospectWarning;

/// One side of the diff: what introspection read from a live PostgreSQL database.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub definition: &'a DatabaseDefinition,
    pub warnings: &'a [IntrospectWarning],
    pub objects: &'a [PgObject],
}

/// The SQL the objects need, around the table SQL.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ObjectPlan {
    /// Runs before the table changes (drops, functions).
    pub before: Vec<String>,
    /// Runs after them (creates, comments, grants, dropping removed functions).
    pub after: Vec<String>,
    /// Differences no statement here can make (the object they concern is not created by this
    /// migration), named for the report.
    pub left_alone: Vec<String>,
    /// The functions `before` creates, as dependency keys ([`crate::provided_key`]): a column
    /// default, check or domain of the table changes may call them.
    pub functions_before: Vec<String>,
}

impl ObjectPlan {
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }

    /// `table_sql` (one `BEGIN;` … `COMMIT;` file, or empty) with the statements placed around
    /// its body, inside its transaction.
    pub fn wrap(&self, table_sql: &str) -> String {
        let (before, after) = (self.before.join("\n"), self.after.join("\n"));
        let begin = table_sql.find("BEGIN;\n").map(|i| i + "BEGIN;\n".len());
        let commit = table_sql.rfind("COMMIT;");
        match (begin, commit) {
            (Some(b), Some(c)) if b <= c => {
                let mut out = String::with_capacity(table_sql.len() + before.len() + after.len() + 4);
                out.push_str(&table_sql[..b]);
                push_block(&mut out, &before);
                out.push_str(&table_sql[b..c]);
                push_block(&mut out, &after);
                out.push_str(&table_sql[c..]);
                out
            }
            _ => {
                let mut out = String::from("BEGIN;\n");
                push_block(&mut out, &before);
                out.push_str(table_sql);
                push_block(&mut out, &after);
                out.push_str("COMMIT;\n");
                out
            }
        }
    }
}

fn push_block(out: &mut String, block: &str) {
    if !block.is_empty() {
        out.push_str(block);
        out.push_str("\n\n");
    }
}

/// (schema, name) of a relation.
type Rel = (String, String);

/// What the table SQL does that the objects must work around.
#[derive(Debug, Default, Clone)]
pub struct TableChanges {
    /// Tables dropped (or dropped and recreated): everything attached to them goes with them.
    pub dropped: BTreeSet<Rel>,
    /// Tables whose columns change type or are dropped: views reading them must be recreated.
    pub reshaped: BTreeSet<Rel>,
    /// Tables created: a `serial` column in one creates its sequence.
    pub created: BTreeSet<Rel>,
    /// Columns (table, column) added to existing tables.
    pub added_columns: BTreeSet<(Rel, String)>,
    /// Columns (table, column) dropped from tables that stay: a sequence they own goes with them.
    pub dropped_columns: BTreeSet<(Rel, String)>,
    /// Columns (table, column) whose `serial` default the table SQL removes together with its
    /// sequence ([`strata_sql::drops_serial_sequence`]).
    pub dropped_serial_sequences: BTreeSet<(Rel, String)>,
}

impl TableChanges {
    /// The changes `migration` makes to the tables of `from`.
    pub fn of(migration: &DatabaseMigration, from: &DatabaseDefinition) -> TableChanges {
        let schema_of = |name: &str| {
            from.tables
                .iter()
                .find(|t| t.name == name)
                .map_or_else(|| "public".to_string(), |t| t.schema.clone())
        };
        let mut changes = TableChanges::default();
        for action in &migration.actions {
            match action {
                MigrationAction::DeleteTable(name) => {
                    changes.dropped.insert((schema_of(name), name.clone()));
                }
                MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) => {
                    changes.created.insert((t.schema.clone(), t.name.clone()));
                }
                MigrationAction::AlterTable(t) => {
                    changes.add_alter(t);
                    let source = from.tables.iter().find(|s| s.schema == t.schema && s.name == t.name);
                    changes.add_serial_drops(t, source);
                }
            }
        }
        changes
    }

    fn add_alter(&mut self, t: &strata_schema::TableMigration) {
        let rel = (t.schema.clone(), t.name.clone());
        if !t.delete_columns.is_empty() || !t.modify_columns.is_empty() || t.new_name.is_some() {
            self.reshaped.insert(rel.clone());
        }
        self.dropped_columns.extend(t.delete_columns.iter().map(|c| (rel.clone(), c.clone())));
        let final_rel = (t.schema.clone(), t.final_name().to_string());
        self.added_columns.extend(t.add_columns.iter().map(|c| (final_rel.clone(), c.name.clone())));
    }

    /// Adds `other`'s changes (another schema's section of the same migration).
    pub fn extend(&mut self, other: TableChanges) {
        self.dropped.extend(other.dropped);
        self.reshaped.extend(other.reshaped);
        self.created.extend(other.created);
        self.added_columns.extend(other.added_columns);
        self.dropped_columns.extend(other.dropped_columns);
        self.dropped_serial_sequences.extend(other.dropped_serial_sequences);
    }

    fn add_serial_drops(&mut self, t: &strata_schema::TableMigration, source: Option<&TableDefinition>) {
        let rel = (t.schema.clone(), t.name.clone());
        for m in &t.modify_columns {
            let before = source.and_then(|s| s.column(&m.column_name));
            if before.is_some_and(|c| strata_sql::drops_serial_sequence(c, m)) {
                self.dropped_serial_sequences.insert((rel.clone(), m.column_name.clone()));
            }
        }
    }

    /// Whether the table SQL drops the sequence `table`'s `column` owns: with the column (or the
    /// whole table), or with its `serial` default.
    pub fn drops_owned_sequence(&self, schema: &str, table: &str, column: &str) -> bool {
        let rel = (schema.to_string(), table.to_string());
        self.drops_column(schema, table, column)
            || self.dropped_serial_sequences.contains(&(rel, column.to_string()))
    }

    /// Whether the table SQL drops `table`'s `column` (or the whole table).
    pub fn drops_column(&self, schema: &str, table: &str, column: &str) -> bool {
        let rel = (schema.to_string(), table.to_string());
        self.dropped.contains(&rel) || self.dropped_columns.contains(&(rel, column.to_string()))
    }

    /// Whether the table SQL creates `table`'s `column` (with its table or on its own).
    pub fn creates_column(&self, schema: &str, table: &str, column: &str) -> bool {
        let rel = (schema.to_string(), table.to_string());
        self.created.contains(&rel) || self.added_columns.contains(&(rel, column.to_string()))
    }
}

/// What identifies an object across the two databases.
type Key = (ObjectKind, String, Option<String>, String);

fn key(o: &PgObject) -> Key {
    (o.kind, o.schema.clone(), o.relation.clone(), o.key.clone())
}

fn index(objects: &[PgObject]) -> BTreeMap<Key, &PgObject> {
    objects.iter().map(|o| (key(o), o)).collect()
}

/// The statements that take `from`'s objects to `to`'s, given the table changes.
pub fn plan(from: Side, to: Side, changes: &TableChanges) -> ObjectPlan {
    let mut diff = Diff::new(from, to, changes);
    diff.run();
    let catalog = crate::catalog_diff::plan(from, to, changes);
    let mut plan = diff.plan;
    plan.before.splice(0..0, catalog.first);
    plan.after.extend(catalog.last);
    plan.left_alone.extend(catalog.left_alone);
    plan
}

struct Diff<'a> {
    from: Side<'a>,
    to: Side<'a>,
    from_map: BTreeMap<Key, &'a PgObject>,
    to_map: BTreeMap<Key, &'a PgObject>,
    /// Relations whose attached objects die with them (dropped tables and views).
    lost: BTreeSet<Rel>,
    /// Objects dropped and created again (`function:KEY`, `trigger:NAME`, ...) with their schema
    /// and relation: their comments and grants must be set again.
    recreated: HashSet<(String, Option<String>, String)>,
    plan: ObjectPlan,
    /// Functions dropped before being created again (their signature changed).
    drop_functions_first: Vec<String>,
    drop_functions_last: Vec<String>,
    /// Functions created after the tables and views whose row types they use.
    late_functions: Vec<String>,
}

/// How each kind of object is dropped.
fn drop_sql(o: &PgObject) -> String {
    let on = || format!("{}.{}", ident(&o.schema), ident(o.relation.as_deref().unwrap_or_default()));
    let name = format!("{}.{}", ident(&o.schema), ident(&o.object_name));
    match o.kind {
        ObjectKind::View => format!("DROP VIEW {name};"),
        ObjectKind::MaterializedView => format!("DROP MATERIALIZED VIEW {name};"),
        ObjectKind::MatViewIndex => format!("DROP INDEX {name};"),
        ObjectKind::Function => format!("DROP {} {name}({});", o.object_type, o.args),
        ObjectKind::Trigger => format!("DROP TRIGGER {} ON {};", ident(&o.object_name), on()),
        ObjectKind::Policy => format!("DROP POLICY {} ON {};", ident(&o.object_name), on()),
        ObjectKind::Rule => format!("DROP RULE {} ON {};", ident(&o.object_name), on()),
        // Set in place, or dropped by [`crate::catalog_diff`].
        ObjectKind::RowSecurity
        | ObjectKind::Comment
        | ObjectKind::Grant
        | ObjectKind::DefaultPrivileges
        | ObjectKind::Sequence
        | ObjectKind::Collation
        | ObjectKind::Extension => String::new(),
    }
}

/// How each kind of definition object is created, from the server's DDL.
fn create_sql(o: &PgObject) -> String {
    let name = format!("{}.{}", ident(&o.schema), ident(&o.object_name));
    let ddl = o.definition.trim().trim_end_matches(';').trim_end();
    let with = if o.args.is_empty() { String::new() } else { format!(" WITH ({})", o.args) };
    match o.kind {
        ObjectKind::View => format!("CREATE VIEW {name}{with} AS\n{ddl};"),
        ObjectKind::MaterializedView => format!("CREATE MATERIALIZED VIEW {name}{with} AS\n{ddl};"),
        ObjectKind::Policy => {
            let roles: Vec<String> =
                o.roles.iter().map(|r| if r.is_empty() { "PUBLIC".to_string() } else { ident(r) }).collect();
            let on = format!("{}.{}", ident(&o.schema), ident(o.relation.as_deref().unwrap_or_default()));
            let body = if ddl.is_empty() { String::new() } else { format!(" {ddl}") };
            format!(
                "CREATE POLICY {} ON {on} AS {} FOR {} TO {}{body};",
                ident(&o.object_name),
                o.args,
                o.object_type,
                roles.join(", ")
            )
        }
        _ => format!("{ddl};"),
    }
}

/// A comment's target as `COMMENT ON` spells it, from `pg_identify_object`'s type and identity.
fn comment_target(o: &PgObject) -> String {
    let t = o.object_type.as_str();
    if t.ends_with(" column") {
        return format!("COLUMN {}", o.args);
    }
    match t {
        "table constraint" => format!("CONSTRAINT {}", o.args),
        "domain constraint" => format!("CONSTRAINT {}", o.args.replacen(" on ", " ON DOMAIN ", 1)),
        _ => format!("{} {}", t.to_uppercase(), o.args),
    }
}

impl<'a> Diff<'a> {
    fn new(from: Side<'a>, to: Side<'a>, changes: &TableChanges) -> Diff<'a> {
        Diff {
            from,
            to,
            from_map: index(from.objects),
            to_map: index(to.objects),
            lost: changes.dropped.clone(),
            recreated: HashSet::new(),
            plan: ObjectPlan::default(),
            drop_functions_first: Vec::new(),
            drop_functions_last: Vec::new(),
            late_functions: Vec::new(),
        }
        .with_reshaped(changes)
    }

    /// Views reading a reshaped or dropped table, or a view that is dropped, are dropped too.
    fn with_reshaped(mut self, changes: &TableChanges) -> Self {
        let mut gone: BTreeSet<Rel> = changes.reshaped.iter().chain(&changes.dropped).cloned().collect();
        loop {
            let before = gone.len();
            for o in self.from.objects.iter().filter(|o| is_view(o.kind)) {
                let rel = (o.schema.clone(), o.object_name.clone());
                if !gone.contains(&rel) && (self.changed(o) || o.depends_on.iter().any(|d| gone.contains(d)))
                {
                    gone.insert(rel);
                }
            }
            if gone.len() == before {
                break;
            }
        }
        for o in self.from.objects.iter().filter(|o| is_view(o.kind)) {
            let rel = (o.schema.clone(), o.object_name.clone());
            if gone.contains(&rel) {
                self.lost.insert(rel);
            }
        }
        self
    }

    /// Whether `o` (of `from`) is missing from `to` or defined differently there.
    fn changed(&self, o: &PgObject) -> bool {
        self.to_map.get(&key(o)).is_none_or(|t| *t != o)
    }

    fn is_lost(&self, o: &PgObject) -> bool {
        let on_relation = |rel: &str| self.lost.contains(&(o.schema.clone(), rel.to_string()));
        match o.kind {
            ObjectKind::View | ObjectKind::MaterializedView => on_relation(&o.object_name),
            _ => o.relation.as_deref().is_some_and(on_relation),
        }
    }

    fn run(&mut self) {
        self.functions();
        self.drop_attached();
        self.drop_views();
        self.plan.before.extend(self.drop_functions_first.drain(..).collect::<Vec<_>>());
        self.create_functions();
        self.create_views();
        let late = std::mem::take(&mut self.late_functions);
        self.plan.after.extend(late);
        self.create_attached(ObjectKind::MatViewIndex);
        self.create_attached(ObjectKind::Trigger);
        self.row_security();
        self.create_attached(ObjectKind::Policy);
        self.create_attached(ObjectKind::Rule);
        self.comments();
        self.grants();
        self.default_privileges();
        let last = std::mem::take(&mut self.drop_functions_last);
        self.plan.after.extend(last);
    }

    /// Decides which functions are replaced, dropped and recreated, or dropped last.
    fn functions(&mut self) {
        for f in self.from.objects.iter().filter(|o| o.kind == ObjectKind::Function) {
            match self.to_map.get(&key(f)) {
                None => self.drop_functions_last.push(drop_sql(f)),
                Some(t) if t.signature != f.signature || t.object_type != f.object_type => {
                    self.drop_functions_first.push(drop_sql(f));
                    self.recreated.insert((f.schema.clone(), None, format!("function:{}", f.key)));
                }
                Some(_) => {}
            }
        }
    }

    /// New and changed functions, before the table changes; one whose arguments or result use a
    /// table's row type that the migration creates waits until after them.
    fn create_functions(&mut self) {
        let (mut early, mut late) = (Vec::new(), Vec::new());
        for t in self.to.objects.iter().filter(|o| o.kind == ObjectKind::Function) {
            if self.from_map.get(&key(t)).is_some_and(|f| *f == t) {
                continue;
            }
            if self.uses_new_row_type(t) {
                late.push(create_sql(t))
            } else {
                early.push(create_sql(t));
                let provides = crate::pg_user_types::needs_key("function", &t.schema, &t.object_name);
                self.plan.functions_before.push(provides);
            }
        }
        // Bodies may name tables this migration creates later; pg_dump turns the check off for
        // the same reason. SET LOCAL ends with the transaction.
        const NO_BODY_CHECK: &str = "SET LOCAL check_function_bodies = false;";
        if !early.is_empty() {
            self.plan.before.push(NO_BODY_CHECK.to_string());
            self.plan.before.extend(early);
        }
        if !late.is_empty() {
            late.insert(0, NO_BODY_CHECK.to_string());
        }
        self.late_functions = late;
    }

    /// Whether a function's signature names a table or view `from` does not have, or a view
    /// that is recreated (its row type): such a function is created after them.
    fn uses_new_row_type(&self, f: &PgObject) -> bool {
        let words: Vec<&str> = f.signature.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
        let new_table = self.to.definition.tables.iter().any(|t| {
            words.contains(&t.name.as_str())
                && !self.from.definition.tables.iter().any(|o| o.schema == t.schema && o.name == t.name)
        });
        let new_view = self.to.objects.iter().filter(|v| is_view(v.kind)).any(|v| {
            words.contains(&v.object_name.as_str())
                && self.from_map.get(&key(v)).is_none_or(|f| self.is_lost(f))
        });
        new_table || new_view
    }

    /// Whether a trigger calls a function that is dropped and created again.
    fn calls_recreated_function(&self, o: &PgObject) -> bool {
        o.kind == ObjectKind::Trigger && {
            let (schema, func) = o.args.split_once('.').unwrap_or(("", &o.args));
            self.recreated.contains(&(schema.to_string(), None, format!("function:{func}")))
        }
    }

    /// Whether an attached object of `from` must be dropped (and, if `to` has it, created again).
    fn must_drop(&self, o: &PgObject) -> bool {
        !self.is_lost(o) && (self.changed(o) || self.calls_recreated_function(o))
    }

    fn drop_attached(&mut self) {
        for kind in [ObjectKind::Trigger, ObjectKind::Policy, ObjectKind::Rule, ObjectKind::MatViewIndex] {
            let drops: Vec<&PgObject> =
                self.from.objects.iter().filter(|o| o.kind == kind && self.must_drop(o)).collect();
            for o in drops {
                self.plan.before.push(drop_sql(o));
                let mark = format!("{}:{}", kind_mark(kind), o.object_name);
                self.recreated.insert((o.schema.clone(), o.relation.clone(), mark));
            }
        }
    }

    fn create_attached(&mut self, kind: ObjectKind) {
        for t in self.to.objects.iter().filter(|o| o.kind == kind) {
            let kept = self.from_map.get(&key(t)).is_some_and(|f| !self.must_drop(f) && !self.is_lost(f));
            if !kept {
                self.plan.after.push(create_sql(t));
            }
        }
    }

    fn drop_views(&mut self) {
        let dropped: Vec<&PgObject> = self
            .from
            .objects
            .iter()
            .filter(|o| is_view(o.kind) && self.lost.contains(&(o.schema.clone(), o.object_name.clone())))
            .collect();
        for o in dependency_order(&dropped).into_iter().rev() {
            self.plan.before.push(drop_sql(o));
        }
    }

    fn create_views(&mut self) {
        let created: Vec<&PgObject> = self
            .to
            .objects
            .iter()
            .filter(|t| is_view(t.kind))
            .filter(|t| self.from_map.get(&key(t)).is_none_or(|f| self.is_lost(f)))
            .collect();
        for o in dependency_order(&created) {
            self.plan.after.push(create_sql(o));
        }
    }

    /// `ENABLE`/`DISABLE` and `FORCE`/`NO FORCE ROW LEVEL SECURITY` where they differ.
    fn row_security(&mut self) {
        const OFF: &str = "DISABLE,NO FORCE";
        let state = |side: &BTreeMap<Key, &PgObject>, o: &PgObject| {
            side.get(&key(o)).map_or(OFF.to_string(), |x| x.definition.clone())
        };
        let mut tables: BTreeMap<Key, &PgObject> = BTreeMap::new();
        for o in self.from.objects.iter().chain(self.to.objects).filter(|o| o.kind == ObjectKind::RowSecurity)
        {
            tables.entry(key(o)).or_insert(o);
        }
        for o in tables.values() {
            if !self.to.definition.tables.iter().any(|t| t.schema == o.schema && t.name == o.object_name) {
                continue;
            }
            let from = if self.is_lost(o) { OFF.to_string() } else { state(&self.from_map, o) };
            let to = state(&self.to_map, o);
            let table = format!("{}.{}", ident(&o.schema), ident(&o.object_name));
            for (a, b) in from.split(',').zip(to.split(',')) {
                if a != b {
                    self.plan.after.push(format!("ALTER TABLE {table} {b} ROW LEVEL SECURITY;"));
                }
            }
        }
    }

    /// Whether the commented or granted object of `o` (read from `to`) exists once the table SQL
    /// and the statements above have run.
    fn exists_after(&self, o: &PgObject) -> bool {
        let rel_exists = |rel: &str| {
            self.to.definition.tables.iter().any(|t| t.schema == o.schema && t.name == rel)
                || self.to.objects.iter().any(|v| {
                    (is_view(v.kind) || v.kind == ObjectKind::Sequence)
                        && v.schema == o.schema
                        && v.object_name == rel
                })
        };
        if let Some((kind, name)) = o.signature.split_once(':') {
            return self.to.objects.iter().any(|t| {
                kind_mark(t.kind) == kind
                    && t.schema == o.schema
                    && (if t.kind == ObjectKind::Function { t.key == name } else { t.object_name == name })
                    && (t.kind == ObjectKind::Function || t.relation == o.relation)
            });
        }
        match o.kind {
            ObjectKind::Grant if o.object_type == "SCHEMA" => true,
            // A sequence's relation is the table owning it (a serial column's sequence).
            ObjectKind::Grant
                if o.object_type == "SEQUENCE" && o.relation.as_deref().is_some_and(rel_exists) =>
            {
                true
            }
            ObjectKind::Grant
                if matches!(o.object_type.as_str(), "TABLE" | "COLUMN") && rel_exists(&o.object_name) =>
            {
                true
            }
            ObjectKind::Comment if o.object_type == "schema" => true,
            ObjectKind::Comment if o.relation.as_deref().is_some_and(rel_exists) => true,
            _ => self.in_from(o),
        }
    }

    /// Whether `from` already has the object a `to` comment or grant is about (a sequence, a
    /// type, an index, a constraint): the table SQL does not create or drop those.
    fn in_from(&self, o: &PgObject) -> bool {
        let same = |k: ObjectKind| {
            self.from.objects.iter().any(|f| f.kind == k && f.schema == o.schema && f.key == o.key)
        };
        match o.kind {
            ObjectKind::Comment => same(ObjectKind::Comment) || self.target_in_from(o),
            _ => same(o.kind) || self.target_in_from(o),
        }
    }

    fn target_in_from(&self, o: &PgObject) -> bool {
        let name = o.relation.as_deref().unwrap_or(&o.object_name);
        let has_index = |d: &DatabaseDefinition| {
            d.tables.iter().any(|t| t.schema == o.schema && t.indexes.iter().any(|i| i.index_name == name))
        };
        self.from.warnings.iter().any(|w| w.schema == o.schema && w.name == name)
            || has_index(self.from.definition)
            || has_index(self.to.definition)
    }

    fn comments(&mut self) {
        for t in self.to.objects.iter().filter(|o| o.kind == ObjectKind::Comment) {
            let same = self.from_map.get(&key(t)).is_some_and(|f| *f == t && !self.comment_lost(f));
            if same {
                continue;
            }
            if self.exists_after(t) {
                self.plan.after.push(format!(
                    "COMMENT ON {} IS {};",
                    comment_target(t),
                    literal(&t.definition)
                ));
            } else {
                self.plan.left_alone.push(format!("comment on {} (its object is not created here)", t.args));
            }
        }
        for f in self.from.objects.iter().filter(|o| o.kind == ObjectKind::Comment) {
            if self.to_map.contains_key(&key(f)) || self.comment_lost(f) {
                continue;
            }
            if self.still_there(f) {
                self.plan.after.push(format!("COMMENT ON {} IS NULL;", comment_target(f)));
            }
        }
    }

    /// Whether the commented object goes away (with its comment) during the migration.
    fn comment_lost(&self, o: &PgObject) -> bool {
        self.is_lost(o)
            || self.recreated.contains(&(o.schema.clone(), o.relation.clone(), o.signature.clone()))
    }

    /// Whether an object that `from` has a comment or grant on is still in `to`.
    fn still_there(&self, o: &PgObject) -> bool {
        let columns_ok = || {
            let Some(rel) = o.relation.as_deref() else { return true };
            match self.to.definition.tables.iter().find(|t| t.schema == o.schema && t.name == rel) {
                Some(t) if o.object_type == "table column" => {
                    t.columns.iter().any(|c| c.name == o.object_name)
                }
                _ => true,
            }
        };
        self.exists_after(o) && columns_ok() && self.to_side_has_target(o)
    }

    /// Whether `to` has what `o` (of `from`) is about, where `exists_after` looked at `from`.
    fn to_side_has_target(&self, o: &PgObject) -> bool {
        let name = o.relation.as_deref().unwrap_or(&o.object_name);
        o.object_type == "schema"
            || o.object_type == "SCHEMA"
            || self.to.definition.tables.iter().any(|t| t.schema == o.schema && t.name == name)
            || self
                .to
                .objects
                .iter()
                .any(|t| t.schema == o.schema && (t.object_name == name || t.key == o.key))
            || self
                .to
                .warnings
                .iter()
                .any(|w| w.schema == o.schema && (w.name == name || w.name == o.object_name))
    }

    fn grants(&mut self) {
        let mut keys: BTreeSet<Key> = BTreeSet::new();
        keys.extend(
            self.from.objects.iter().chain(self.to.objects).filter(|o| o.kind == ObjectKind::Grant).map(key),
        );
        for k in keys {
            let (f, t) = (self.from_map.get(&k).copied(), self.to_map.get(&k).copied());
            let any = t.or(f).expect("a key comes from one side");
            let from_lost = f.is_some_and(|f| self.grant_lost(f));
            let from_acl = match f {
                Some(f) if !from_lost => f.definition.clone(),
                _ => self.creation_acl(any),
            };
            let to_acl = match t {
                Some(t) => {
                    if !self.exists_after(t) {
                        self.plan.left_alone.push(format!("grants on {} (it is not created here)", t.key));
                        continue;
                    }
                    t.definition.as_str()
                }
                None if from_lost || !self.still_there(any) => continue,
                None => any.baseline.as_str(),
            };
            let target = grant_target(any);
            let columns =
                if any.object_type == "COLUMN" { format!(" ({})", ident(&any.args)) } else { String::new() };
            for change in acl_changes(&from_acl, to_acl) {
                self.plan.after.push(change.sql(&target, &columns, ""));
            }
        }
    }

    /// The ACL an object gets when the migration creates it in `from`: its default ACL as
    /// `from`'s default privileges for its owner change it (a global entry replaces the
    /// built-in default, an entry for its schema adds to it).
    fn creation_acl(&self, o: &PgObject) -> String {
        let objtype = match o.object_type.as_str() {
            "TABLE" => "r",
            "SEQUENCE" => "S",
            "FUNCTION" | "PROCEDURE" => "f",
            "TYPE" => "T",
            "SCHEMA" => "n",
            _ => return o.baseline.clone(),
        };
        let owner = parse_acl(&o.baseline).keys().map(|(g, _)| g.clone()).find(|g| !g.is_empty());
        let entry = |schema: &str| {
            self.from.objects.iter().find(|d| {
                d.kind == ObjectKind::DefaultPrivileges
                    && d.schema == schema
                    && d.object_type == objtype
                    && Some(&d.object_name) == owner.as_ref()
            })
        };
        let mut acl = entry("").map_or_else(|| o.baseline.clone(), |d| d.definition.clone());
        if let Some(d) = entry(&o.schema).filter(|d| !d.definition.is_empty()) {
            if !acl.is_empty() {
                acl.push(',');
            }
            acl.push_str(&d.definition);
        }
        acl
    }

    fn grant_lost(&self, o: &PgObject) -> bool {
        match o.object_type.as_str() {
            "TABLE" | "SEQUENCE" | "COLUMN" => {
                self.lost.contains(&(o.schema.clone(), o.object_name.clone())) || self.is_lost(o)
            }
            _ => self.recreated.contains(&(o.schema.clone(), None, o.signature.clone())),
        }
    }

    fn default_privileges(&mut self) {
        let mut keys: BTreeSet<Key> = BTreeSet::new();
        keys.extend(
            self.from
                .objects
                .iter()
                .chain(self.to.objects)
                .filter(|o| o.kind == ObjectKind::DefaultPrivileges)
                .map(key),
        );
        for k in keys {
            let (f, t) = (self.from_map.get(&k).copied(), self.to_map.get(&k).copied());
            let any = t.or(f).expect("a key comes from one side");
            let from_acl = f.map_or(any.baseline.as_str(), |f| f.definition.as_str());
            let to_acl = t.map_or(any.baseline.as_str(), |t| t.definition.as_str());
            let Some(objects) = default_acl_objects(&any.object_type) else { continue };
            let scope = if any.schema.is_empty() {
                String::new()
            } else {
                format!(" IN SCHEMA {}", ident(&any.schema))
            };
            let prefix = format!("ALTER DEFAULT PRIVILEGES FOR ROLE {}{scope} ", ident(&any.object_name));
            for change in acl_changes(from_acl, to_acl) {
                self.plan.after.push(change.sql(objects, "", &prefix));
            }
        }
    }
}

/// The spelling of a kind in [`PgObject::signature`] marks (`function:`, `trigger:`).
fn kind_mark(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Function => "function",
        ObjectKind::Trigger => "trigger",
        ObjectKind::Policy => "policy",
        ObjectKind::Rule => "rule",
        _ => "",
    }
}

fn is_view(kind: ObjectKind) -> bool {
    matches!(kind, ObjectKind::View | ObjectKind::MaterializedView)
}

/// Views ordered so that each comes after the views it reads (ties by schema and name); the
/// same for extensions and the extensions they require.
pub(crate) fn dependency_order<'o>(views: &[&'o PgObject]) -> Vec<&'o PgObject> {
    let mut pending: Vec<&PgObject> = views.to_vec();
    pending.sort_by(|a, b| (&a.schema, &a.object_name).cmp(&(&b.schema, &b.object_name)));
    let mut done: Vec<&PgObject> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let waits_for = |v: &PgObject, pending: &[&PgObject]| {
            v.depends_on.iter().any(|d| {
                pending.iter().any(|p| p.schema == d.0 && p.object_name == d.1 && !std::ptr::eq(*p, v))
            })
        };
        let ready = pending.iter().position(|v| !waits_for(v, &pending)).unwrap_or(0);
        done.push(pending.remove(ready));
    }
    done
}

/// What a grant statement names: `TABLE "s"."t"`, `FUNCTION "s"."f"(integer)`, `SCHEMA "s"`.
fn grant_target(o: &PgObject) -> String {
    let name = format!("{}.{}", ident(&o.schema), ident(&o.object_name));
    match o.object_type.as_str() {
        "SCHEMA" => format!("SCHEMA {}", ident(&o.object_name)),
        "FUNCTION" | "PROCEDURE" => format!("{} {name}({})", o.object_type, o.args),
        "COLUMN" => format!("TABLE {name}"),
        other => format!("{other} {name}"),
    }
}

/// The `ALTER DEFAULT PRIVILEGES ... ON` word for a `pg_default_acl.defaclobjtype`.
fn default_acl_objects(objtype: &str) -> Option<&'static str> {
    Some(match objtype {
        "r" => "TABLES",
        "S" => "SEQUENCES",
        "f" => "FUNCTIONS",
        "T" => "TYPES",
        "n" => "SCHEMAS",
        _ => return None,
    })
}

/// One privilege of one grantee that differs between two ACLs.
#[derive(Debug, PartialEq, Eq)]
struct AclChange {
    /// Empty for PUBLIC.
    grantee: String,
    privilege: &'static str,
    /// `Some(grant option)` to grant, `None` to revoke.
    to: Option<bool>,
    /// Whether the privilege was held before (with a grant option or not).
    from: Option<bool>,
}

impl AclChange {
    /// The statement on `target`, `prefix` first (`ALTER DEFAULT PRIVILEGES ...`), `columns`
    /// after the privilege (` ("id")` for a column privilege).
    fn sql(&self, target: &str, columns: &str, prefix: &str) -> String {
        let grantee = if self.grantee.is_empty() { "PUBLIC".to_string() } else { ident(&self.grantee) };
        let p = format!("{}{columns}", self.privilege);
        match (self.from, self.to) {
            (_, Some(true)) => format!("{prefix}GRANT {p} ON {target} TO {grantee} WITH GRANT OPTION;"),
            (Some(true), Some(false)) => {
                format!("{prefix}REVOKE GRANT OPTION FOR {p} ON {target} FROM {grantee};")
            }
            (_, Some(false)) => format!("{prefix}GRANT {p} ON {target} TO {grantee};"),
            (_, None) => format!("{prefix}REVOKE {p} ON {target} FROM {grantee};"),
        }
    }
}

/// The per-privilege differences between two ACLs (`aclitem` texts joined by commas).
fn acl_changes(from: &str, to: &str) -> Vec<AclChange> {
    let (a, b) = (parse_acl(from), parse_acl(to));
    let keys: BTreeSet<&(String, &'static str)> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| AclChange {
            grantee: k.0.clone(),
            privilege: k.1,
            from: a.get(k).copied(),
            to: b.get(k).copied(),
        })
        .collect()
}

/// `grantee=privs/grantor` items: (grantee, privilege) → grant option.
fn parse_acl(text: &str) -> BTreeMap<(String, &'static str), bool> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (grantee, after) = parse_role(rest);
        let Some(after) = after.strip_prefix('=') else { break };
        let privs_end = after.find('/').unwrap_or(after.len());
        let privs: Vec<char> = after[..privs_end].chars().collect();
        for (i, c) in privs.iter().enumerate() {
            if let Some(p) = privilege_name(*c) {
                out.insert((grantee.clone(), p), privs.get(i + 1) == Some(&'*'));
            }
        }
        let (_, tail) = parse_role(after[privs_end..].trim_start_matches('/'));
        rest = tail.trim_start_matches(',');
    }
    out
}

/// A role name at the start of `text` (quoted as `aclitem` quotes it, or bare), and the rest.
fn parse_role(text: &str) -> (String, &str) {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find(['=', '/', ',']).unwrap_or(text.len());
        return (text[..end].to_string(), &text[end..]);
    };
    let mut name = String::new();
    let mut chars = quoted.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if chars.peek().map(|(_, n)| *n) == Some('"') {
                chars.next();
                name.push('"');
                continue;
            }
            return (name, &quoted[i + 1..]);
        }
        name.push(c);
    }
    (name, "")
}

fn privilege_name(c: char) -> Option<&'static str> {
    Some(match c {
        'r' => "SELECT",
        'w' => "UPDATE",
        'a' => "INSERT",
        'd' => "DELETE",
        'D' => "TRUNCATE",
        'x' => "REFERENCES",
        't' => "TRIGGER",
        'm' => "MAINTAIN",
        'X' => "EXECUTE",
        'U' => "USAGE",
        'C' => "CREATE",
        'c' => "CONNECT",
        'T' => "TEMPORARY",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_items_parse_with_quoted_roles_and_grant_options() {
        let acl = parse_acl("\"we\"\"ird\"=r*w/postgres,=X/postgres,app=arwdDxt/postgres");
        assert_eq!(acl.get(&("we\"ird".to_string(), "SELECT")), Some(&true));
        assert_eq!(acl.get(&("we\"ird".to_string(), "UPDATE")), Some(&false));
        assert_eq!(acl.get(&(String::new(), "EXECUTE")), Some(&false));
        assert_eq!(acl.len(), 10);
    }

    #[test]
    fn acl_changes_are_per_privilege_and_grantee() {
        let changes = acl_changes("o=arwdDxt/o,app=r*/o", "o=arwdDxt/o,app=r/o,=r/o");
        let sql: Vec<String> = changes.iter().map(|c| c.sql("TABLE \"public\".\"t\"", "", "")).collect();
        assert_eq!(
            sql,
            [
                "GRANT SELECT ON TABLE \"public\".\"t\" TO PUBLIC;",
                "REVOKE GRANT OPTION FOR SELECT ON TABLE \"public\".\"t\" FROM \"app\";",
            ]
        );
    }

    #[test]
    fn wrap_places_statements_inside_the_transaction() {
        let plan = ObjectPlan { before: vec!["A;".into()], after: vec!["B;".into()], ..Default::default() };
        assert_eq!(plan.wrap("BEGIN;\nX;\nCOMMIT;\n"), "BEGIN;\nA;\n\nX;\nB;\n\nCOMMIT;\n");
        assert_eq!(plan.wrap(""), "BEGIN;\nA;\n\nB;\n\nCOMMIT;\n");
    }

    #[test]
    fn comment_targets_follow_comment_on_grammar() {
        let mut o = PgObject {
            kind: ObjectKind::Comment,
            schema: "public".into(),
            key: String::new(),
            object_name: String::new(),
            relation: Some("t".into()),
            object_type: "table column".into(),
            definition: "x".into(),
            baseline: String::new(),
            args: "public.t.\"A\"".into(),
            signature: String::new(),
            roles: vec![],
            depends_on: vec![],
        };
        assert_eq!(comment_target(&o), "COLUMN public.t.\"A\"");
        o.object_type = "domain constraint".into();
        o.args = "c on public.d".into();
        assert_eq!(comment_target(&o), "CONSTRAINT c ON DOMAIN public.d");
        o.object_type = "materialized view".into();
        o.args = "public.m".into();
        assert_eq!(comment_target(&o), "MATERIALIZED VIEW public.m");
    }
}
