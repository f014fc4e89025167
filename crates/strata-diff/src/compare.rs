//! The comparison predicates of the diff (spec §7.3) and a human-readable, object-by-object
//! difference report built on the same rules.
//!
//! The predicates decide *whether* the diff emits something; the report explains *what*
//! differs. Every property a predicate checks has a matching line in the report, so a report
//! is empty exactly when the predicates hold (tested).

use std::fmt;

use strata_schema::{
    ColumnDefinition, ColumnType, ForeignKeyAction, ForeignKeyDefinition, GinOperatorClass, IndexDefinition,
    IndexElementType, TableDefinition,
};
use ForeignKeyAction::NoAction;

/// Whether two columns are structurally the same (Serverpod's column `like`).
///
/// `integer` and `bigint` count as equal so that databases created before Serverpod's
/// int → bigint switch produce no migration. `dartType` and `fieldName` are deliberately
/// ignored: a Dart-only type change needs no DDL.
pub fn column_like(a: &ColumnDefinition, b: &ColumnDefinition) -> bool {
    a.name == b.name
        && !types_differ(a, b)
        && a.is_nullable == b.is_nullable
        && a.column_default == b.column_default
        && a.vector_dimension == b.vector_dimension
        && a.identity == b.identity
        && a.identity_options == b.identity_options
        && a.generated == b.generated
}

/// Column type equality with `integer` ≈ `bigint`.
pub fn column_type_like(a: ColumnType, b: ColumnType) -> bool {
    a == b || (a.is_integer() && b.is_integer())
}

/// A column's PostgreSQL type as `format_type` renders it: the native type when known (live
/// databases, `nativeType` in files), else the rendering of its `ColumnType`.
pub fn pg_type_text(c: &ColumnDefinition) -> String {
    if let Some(native) = &c.native_type {
        return native.clone();
    }
    let dim = c.vector_dimension.map_or_else(String::new, |d| format!("({d})"));
    match c.column_type {
        ColumnType::DoublePrecision => "double precision".into(),
        ColumnType::TimestampWithoutTimeZone => "timestamp without time zone".into(),
        ColumnType::Vector | ColumnType::Halfvec | ColumnType::Sparsevec | ColumnType::Bit => {
            format!("{}{dim}", c.column_type.name())
        }
        ColumnType::Geography => "geography(Point,4326)".into(),
        ColumnType::GeographyLineString => "geography(LineString,4326)".into(),
        ColumnType::GeographyPolygon => "geography(Polygon,4326)".into(),
        ColumnType::GeographyGeometryCollection => "geography(GeometryCollection,4326)".into(),
        other => other.name().into(),
    }
}

/// Whether two columns have different types. Two exact (native) types compare exactly, so
/// `integer` ≠ `bigint` between two live databases; against a file without native types the
/// Serverpod rule holds (`integer` ≈ `bigint`: definition.sql writes an `int` id as `bigserial`,
/// so a database built from it has `bigint` where its file says `integer`), and an `unknown`
/// type compares by its text.
pub fn types_differ(a: &ColumnDefinition, b: &ColumnDefinition) -> bool {
    match (&a.native_type, &b.native_type) {
        (Some(x), Some(y)) => x != y,
        _ if a.column_type == ColumnType::Unknown || b.column_type == ColumnType::Unknown => {
            pg_type_text(a) != pg_type_text(b)
        }
        _ => !column_type_like(a.column_type, b.column_type),
    }
}

/// Whether either side carries an exact native type, so the type change is PostgreSQL's to
/// judge (casts) rather than Serverpod's (same `ColumnType` or nothing).
pub fn is_native_change(a: &ColumnDefinition, b: &ColumnDefinition) -> bool {
    (a.native_type.is_some() || b.native_type.is_some()) && types_differ(a, b)
}

/// Whether `src` can be altered in place into `dst` (as opposed to drop + re-add).
///
/// The names are not compared: rename detection asks this question of differently named
/// columns. Unlike [`column_like`], `integer` and `bigint` are different here.
pub fn can_migrate_to(src: &ColumnDefinition, dst: &ColumnDefinition) -> bool {
    if let (Some(a), Some(b)) = (&src.dart_type, &dst.dart_type) {
        if strip_nullability(a) != strip_nullability(b) {
            return false;
        }
    }
    // A serial default needs its own sequence, which only ADD COLUMN creates.
    if dst.is_serial() && !src.is_serial() {
        return false;
    }
    if src.vector_dimension != dst.vector_dimension {
        return false;
    }
    if !generation_alters_in_place(src, dst) {
        return false;
    }
    if is_native_change(src, dst) {
        return crate::casts::in_place_cast(&pg_type_text(src), &pg_type_text(dst)).is_some();
    }
    if src.column_type.is_json() && dst.column_type.is_json() {
        return true;
    }
    src.column_type == dst.column_type
}

/// Whether the generation expressions let `src` be altered in place into `dst`: only when they
/// are the same, or when `dst` is plain (`DROP EXPRESSION` keeps the computed values). A column
/// becomes generated, or changes its expression, only through `ADD COLUMN` (PostgreSQL 15 has no
/// `SET EXPRESSION`), so it is dropped and added again.
pub fn generation_alters_in_place(src: &ColumnDefinition, dst: &ColumnDefinition) -> bool {
    dst.generated.is_none() || src.generated == dst.generated
}

/// Whether a generation expression (as the server prints it) may use `column`: the name occurs in
/// it as a whole word, bare or quoted. A false "yes" only costs recomputing a generated column.
pub fn expression_mentions(expression: &str, column: &str) -> bool {
    let is_word_char = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let quoted = column.replace('"', "\"\"");
    [column, quoted.as_str()].iter().any(|name| {
        expression.match_indices(name).any(|(at, _)| {
            let before = expression[..at].chars().next_back();
            let after = expression[at + name.len()..].chars().next();
            !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
        })
    })
}

/// A Dart type without one trailing `?` (`int?` → `int`).
fn strip_nullability(t: &str) -> &str {
    t.strip_suffix('?').unwrap_or(t)
}

/// Whether a column added by `ALTER TABLE ... ADD COLUMN` works on a table that has rows:
/// NOT NULL needs a default, and the primary key cannot be added to an existing table.
/// A generated column computes its values for the existing rows, so it needs no default.
pub fn can_be_created_in_table_migration(c: &ColumnDefinition) -> bool {
    (c.is_nullable || c.column_default.is_some() || c.generated.is_some()) && !c.is_primary()
}

/// [`can_be_created_in_table_migration`] for a table that may state its own primary key
/// (`keyed`): there `id` is a column like any other. So it is for a live database's column (its
/// exact type known): `ADD COLUMN "id" serial PRIMARY KEY` numbers existing rows, and
/// recreating the table would lose them. Serverpod's rule stays for its own files.
pub fn can_be_added_in_place(c: &ColumnDefinition, keyed: bool) -> bool {
    match keyed || c.native_type.is_some() {
        true => c.is_nullable || c.column_default.is_some() || c.identity.is_some() || c.generated.is_some(),
        false => can_be_created_in_table_migration(c),
    }
}

/// Whether two indexes are the same (Serverpod's index `like`). Names are compared without
/// case, as Serverpod does when checking a live database; the diff itself matches indexes by
/// exact name before asking.
pub fn index_like(a: &IndexDefinition, b: &IndexDefinition) -> bool {
    index_changes(a, b).is_empty() && a.index_name.to_lowercase() == b.index_name.to_lowercase()
}

/// Whether two foreign keys are the same (Serverpod's FK `like`). `referenceTableSchema` is
/// not compared; `matchType` only when both sides know it (only introspection sets it).
pub fn foreign_key_like(a: &ForeignKeyDefinition, b: &ForeignKeyDefinition) -> bool {
    foreign_key_changes(a, b).is_empty()
        && a.constraint_name.to_lowercase() == b.constraint_name.to_lowercase()
}

/// One property that differs between two versions of an object: `type text → bigint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed (`type`, `nullable`, `default`, `elements`, ...).
    pub property: &'static str,
    /// The rendering in the first (old / expected) object.
    pub from: String,
    /// The rendering in the second (new / actual) object.
    pub to: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Nullability reads better as a state change than as a key.
        if self.property == "nullable" {
            write!(f, "{} → {}", self.from, self.to)
        } else {
            write!(f, "{} {} → {}", self.property, self.from, self.to)
        }
    }
}

/// The kind of schema object a difference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    Table,
    Column,
    Index,
    ForeignKey,
    PrimaryKey,
    UniqueConstraint,
    CheckConstraint,
    ExclusionConstraint,
}

impl ObjectKind {
    /// How the kind is spelled in reports.
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::Column => "column",
            ObjectKind::Index => "index",
            ObjectKind::ForeignKey => "foreign key",
            ObjectKind::PrimaryKey => "primary key",
            ObjectKind::UniqueConstraint => "unique constraint",
            ObjectKind::CheckConstraint => "check constraint",
            ObjectKind::ExclusionConstraint => "exclusion constraint",
        }
    }
}

/// How one object differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DifferenceKind {
    /// Only in the second definition.
    Added,
    /// Only in the first definition.
    Removed,
    /// In both, with these property changes (never empty).
    Changed(Vec<Change>),
}

/// One object that differs between two definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The table the object belongs to (the table itself for [`ObjectKind::Table`]).
    pub table: String,
    pub kind: ObjectKind,
    /// The object's name (column, index or constraint name; the table name for tables).
    pub name: String,
    pub difference: DifferenceKind,
}

impl fmt::Display for Difference {
    /// `column "x": type text → bigint, nullable → not null`, `index "i" added`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} \"{}\"", self.kind.label(), self.name)?;
        match &self.difference {
            DifferenceKind::Added => write!(f, " added"),
            DifferenceKind::Removed => write!(f, " removed"),
            DifferenceKind::Changed(changes) => {
                write!(f, ": ")?;
                for (i, c) in changes.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
        }
    }
}

fn opt_str(v: Option<&str>) -> String {
    v.map_or_else(|| "none".to_string(), str::to_string)
}

pub(crate) fn push(out: &mut Vec<Change>, property: &'static str, from: String, to: String) {
    out.push(Change { property, from, to });
}

fn nullability(nullable: bool) -> String {
    if nullable { "nullable" } else { "not null" }.to_string()
}

/// The properties [`column_like`] checks that differ, in a fixed order. The name is not
/// listed: callers match columns by name.
pub fn column_changes(a: &ColumnDefinition, b: &ColumnDefinition) -> Vec<Change> {
    let mut out = Vec::new();
    if is_native_change(a, b) {
        push(&mut out, "type", pg_type_text(a), pg_type_text(b));
    } else if types_differ(a, b) {
        push(&mut out, "type", a.column_type.name().into(), b.column_type.name().into());
    }
    if a.is_nullable != b.is_nullable {
        push(&mut out, "nullable", nullability(a.is_nullable), nullability(b.is_nullable));
    }
    if a.column_default != b.column_default {
        push(&mut out, "default", opt_str(a.column_default.as_deref()), opt_str(b.column_default.as_deref()));
    }
    if a.vector_dimension != b.vector_dimension {
        let dim = |d: Option<i64>| d.map_or_else(|| "none".to_string(), |d| d.to_string());
        push(&mut out, "dimension", dim(a.vector_dimension), dim(b.vector_dimension));
    }
    if a.identity != b.identity {
        let identity = |i: Option<strata_schema::Identity>| opt_str(i.map(|i| i.name()));
        push(&mut out, "identity", identity(a.identity), identity(b.identity));
    }
    if a.identity_options != b.identity_options {
        let options = |o: Option<strata_schema::IdentityOptions>| {
            o.map_or_else(|| "the defaults".to_string(), |o| o.to_string())
        };
        push(&mut out, "identity options", options(a.identity_options), options(b.identity_options));
    }
    if a.generated != b.generated {
        push(&mut out, "generated", opt_str(a.generated.as_deref()), opt_str(b.generated.as_deref()));
    }
    out
}

fn elements_text(i: &IndexDefinition) -> String {
    let parts: Vec<String> = i
        .elements
        .iter()
        .map(|e| {
            let mut text = match e.element_type {
                IndexElementType::Column => e.definition.clone(),
                IndexElementType::Expression => format!("expr {}", e.definition),
            };
            if let Some(collation) = &e.collation {
                text.push_str(&format!(" collate {collation}"));
            }
            if let Some(class) = &e.operator_class {
                text.push_str(&format!(" {class}"));
            }
            if e.descending {
                text.push_str(" desc");
            }
            if !e.nulls_order_is_default() {
                text.push_str(if e.nulls_first { " nulls first" } else { " nulls last" });
            }
            text
        })
        .collect();
    format!("({})", parts.join(", "))
}

/// Index parameters as a map: later duplicates win, as when Serverpod decodes the JSON object.
fn parameter_map(p: &Option<Vec<(String, String)>>) -> std::collections::BTreeMap<&str, &str> {
    let mut m = std::collections::BTreeMap::new();
    for (k, v) in p.iter().flatten() {
        m.insert(k.as_str(), v.as_str());
    }
    m
}

fn parameters_text(m: &std::collections::BTreeMap<&str, &str>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join(", ")
}

/// The properties [`index_like`] checks that differ (apart from the name), in a fixed order.
pub fn index_changes(a: &IndexDefinition, b: &IndexDefinition) -> Vec<Change> {
    let mut out = Vec::new();
    if a.index_type != b.index_type {
        push(&mut out, "type", a.index_type.clone(), b.index_type.clone());
    }
    if a.is_unique != b.is_unique {
        push(&mut out, "unique", a.is_unique.to_string(), b.is_unique.to_string());
    }
    if a.is_primary != b.is_primary {
        push(&mut out, "primary", a.is_primary.to_string(), b.is_primary.to_string());
    }
    // An absent nullsDistinct is the database default, which is distinct.
    let (nda, ndb) = (a.nulls_distinct.unwrap_or(true), b.nulls_distinct.unwrap_or(true));
    if nda != ndb {
        push(&mut out, "nulls distinct", nda.to_string(), ndb.to_string());
    }
    if a.predicate != b.predicate {
        push(&mut out, "predicate", opt_str(a.predicate.as_deref()), opt_str(b.predicate.as_deref()));
    }
    if a.table_space != b.table_space {
        push(&mut out, "tablespace", opt_str(a.table_space.as_deref()), opt_str(b.table_space.as_deref()));
    }
    if effective_gin_class(a) != effective_gin_class(b) {
        push(
            &mut out,
            "gin operator class",
            opt_str(a.gin_operator_class.map(|g| g.name())),
            opt_str(b.gin_operator_class.map(|g| g.name())),
        );
    }
    if a.vector_distance_function != b.vector_distance_function {
        push(
            &mut out,
            "vector distance",
            opt_str(a.vector_distance_function.map(|g| g.name())),
            opt_str(b.vector_distance_function.map(|g| g.name())),
        );
    }
    if a.vector_column_type != b.vector_column_type {
        push(
            &mut out,
            "vector column type",
            opt_str(a.vector_column_type.map(|g| g.name())),
            opt_str(b.vector_column_type.map(|g| g.name())),
        );
    }
    let (pa, pb) = (parameter_map(&a.parameters), parameter_map(&b.parameters));
    if pa != pb {
        push(&mut out, "parameters", parameters_text(&pa), parameters_text(&pb));
    }
    if a.elements != b.elements {
        push(&mut out, "elements", elements_text(a), elements_text(b));
    }
    if a.include != b.include {
        push(&mut out, "include", list_text(&a.include), list_text(&b.include));
    }
    out
}

fn action_text(a: Option<ForeignKeyAction>) -> String {
    opt_str(a.map(|a| a.sql()))
}

pub(crate) fn list_text(l: &[String]) -> String {
    format!("({})", l.join(", "))
}

/// The properties [`foreign_key_like`] checks that differ (apart from the name), in a fixed
/// order.
pub fn foreign_key_changes(a: &ForeignKeyDefinition, b: &ForeignKeyDefinition) -> Vec<Change> {
    let mut out = Vec::new();
    if a.columns != b.columns {
        push(&mut out, "columns", list_text(&a.columns), list_text(&b.columns));
    }
    if a.reference_table != b.reference_table {
        push(&mut out, "references", a.reference_table.clone(), b.reference_table.clone());
    }
    if a.reference_columns != b.reference_columns {
        push(&mut out, "reference columns", list_text(&a.reference_columns), list_text(&b.reference_columns));
    }
    // An unset action is the database's default, NO ACTION: a hand-written definition that
    // omits it must not drift against a live database, which always reports one.
    if a.on_update.unwrap_or(NoAction) != b.on_update.unwrap_or(NoAction) {
        push(&mut out, "on update", action_text(a.on_update), action_text(b.on_update));
    }
    if a.on_delete.unwrap_or(NoAction) != b.on_delete.unwrap_or(NoAction) {
        push(&mut out, "on delete", action_text(a.on_delete), action_text(b.on_delete));
    }
    if a.deferrable != b.deferrable {
        push(
            &mut out,
            "deferrable",
            opt_str(a.deferrable.map(|d| d.name())),
            opt_str(b.deferrable.map(|d| d.name())),
        );
    }
    if let (Some(ma), Some(mb)) = (a.match_type, b.match_type) {
        if ma != mb {
            push(&mut out, "match", ma.name().into(), mb.name().into());
        }
    }
    out
}

/// Pairs objects of two lists by name: exact match first, then case-insensitive among the
/// still unmatched (live databases may report names in another case). Returns, in a stable
/// order, the objects of `a` with their partner (if any), then the unmatched of `b`.
fn pair_by_name<'x, T>(
    a: &'x [T],
    b: &'x [T],
    name: impl Fn(&T) -> &str,
) -> (Vec<(&'x T, Option<&'x T>)>, Vec<&'x T>) {
    let mut used = vec![false; b.len()];
    let mut partner: Vec<Option<usize>> = vec![None; a.len()];
    for (i, x) in a.iter().enumerate() {
        if let Some(j) = (0..b.len()).find(|&j| !used[j] && name(&b[j]) == name(x)) {
            used[j] = true;
            partner[i] = Some(j);
        }
    }
    for (i, x) in a.iter().enumerate() {
        if partner[i].is_some() {
            continue;
        }
        let lower = name(x).to_lowercase();
        if let Some(j) = (0..b.len()).find(|&j| !used[j] && name(&b[j]).to_lowercase() == lower) {
            used[j] = true;
            partner[i] = Some(j);
        }
    }
    let pairs = a.iter().zip(partner).map(|(x, p)| (x, p.map(|j| &b[j]))).collect();
    let rest = b.iter().zip(used).filter(|(_, u)| !u).map(|(y, _)| y).collect();
    (pairs, rest)
}

/// The table's partitioning, inheritance and persistence changes, for reports.
fn layout_changes(a: &TableDefinition, b: &TableDefinition, out: &mut Vec<Change>) {
    let parents = |t: &TableDefinition| match t.layout.inherits.is_empty() {
        true => "none".to_string(),
        false => t.layout.inherits.join(", "),
    };
    let properties = [
        ("partition of", opt_str(a.partition_of.as_deref()), opt_str(b.partition_of.as_deref())),
        (
            "partition bound",
            opt_str(a.layout.partition_bound.as_deref()),
            opt_str(b.layout.partition_bound.as_deref()),
        ),
        (
            "partition key",
            opt_str(a.layout.partition_key.as_deref()),
            opt_str(b.layout.partition_key.as_deref()),
        ),
        ("inherits", parents(a), parents(b)),
        ("unlogged", a.layout.unlogged.to_string(), b.layout.unlogged.to_string()),
    ];
    for (property, from, to) in properties {
        if from != to {
            push(out, property, from, to);
        }
    }
}

/// Everything that differs between two versions of one table, object by object: the table's
/// own properties, then columns, indexes and foreign keys; within each group the objects of
/// `a` in their order, then those only in `b` in theirs. Columns match by exact name, indexes
/// and foreign keys by name ignoring case when no exact match exists.
///
/// `a` is the reference (old / expected), `b` the other side (new / actual): `Added` means
/// "only in `b`".
pub fn diff_tables(a: &TableDefinition, b: &TableDefinition) -> Vec<Difference> {
    let mut out = Vec::new();
    let table = a.name.clone();
    let diff = |kind, name: &str, difference| Difference {
        table: table.clone(),
        kind,
        name: name.to_string(),
        difference,
    };

    let mut own = Vec::new();
    if a.name != b.name {
        push(&mut own, "name", a.name.clone(), b.name.clone());
    }
    if a.table_space != b.table_space {
        push(&mut own, "tablespace", opt_str(a.table_space.as_deref()), opt_str(b.table_space.as_deref()));
    }
    if let (Some(ma), Some(mb)) = (a.managed, b.managed) {
        if ma != mb {
            push(&mut own, "managed", ma.to_string(), mb.to_string());
        }
    }
    layout_changes(a, b, &mut own);
    if !own.is_empty() {
        out.push(diff(ObjectKind::Table, &a.name, DifferenceKind::Changed(own)));
    }

    // Columns match exactly: PostgreSQL column names are case-sensitive once quoted.
    let mut used = vec![false; b.columns.len()];
    for c in &a.columns {
        match (0..b.columns.len()).find(|&j| !used[j] && b.columns[j].name == c.name) {
            Some(j) => {
                used[j] = true;
                let changes = column_changes(c, &b.columns[j]);
                if !changes.is_empty() {
                    out.push(diff(ObjectKind::Column, &c.name, DifferenceKind::Changed(changes)));
                }
            }
            None => out.push(diff(ObjectKind::Column, &c.name, DifferenceKind::Removed)),
        }
    }
    for (c, _) in b.columns.iter().zip(&used).filter(|(_, u)| !**u) {
        out.push(diff(ObjectKind::Column, &c.name, DifferenceKind::Added));
    }

    let (pairs, rest) = pair_by_name(&a.indexes, &b.indexes, |i| &i.index_name);
    for (x, y) in pairs {
        match y {
            Some(y) => {
                let changes = index_changes(x, y);
                if !changes.is_empty() {
                    out.push(diff(ObjectKind::Index, &x.index_name, DifferenceKind::Changed(changes)));
                }
            }
            None => out.push(diff(ObjectKind::Index, &x.index_name, DifferenceKind::Removed)),
        }
    }
    for y in rest {
        out.push(diff(ObjectKind::Index, &y.index_name, DifferenceKind::Added));
    }

    let (pairs, rest) = pair_by_name(&a.foreign_keys, &b.foreign_keys, |f| &f.constraint_name);
    for (x, y) in pairs {
        match y {
            Some(y) => {
                let changes = foreign_key_changes(x, y);
                if !changes.is_empty() {
                    out.push(diff(
                        ObjectKind::ForeignKey,
                        &x.constraint_name,
                        DifferenceKind::Changed(changes),
                    ));
                }
            }
            None => out.push(diff(ObjectKind::ForeignKey, &x.constraint_name, DifferenceKind::Removed)),
        }
    }
    for y in rest {
        out.push(diff(ObjectKind::ForeignKey, &y.constraint_name, DifferenceKind::Added));
    }
    out.extend(crate::keys::key_differences(a, b));
    out
}

/// [`diff_tables`] over whole definitions: tables match by name (schema ignored, as in the
/// diff); tables only on one side are one `Added`/`Removed` entry each. Order: tables of `a`
/// in their order (with their object differences), then tables only in `b`.
pub fn diff_definitions(
    a: &strata_schema::DatabaseDefinition,
    b: &strata_schema::DatabaseDefinition,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut used = vec![false; b.tables.len()];
    for t in &a.tables {
        match (0..b.tables.len()).find(|&j| !used[j] && b.tables[j].name == t.name) {
            Some(j) => {
                used[j] = true;
                out.extend(diff_tables(t, &b.tables[j]));
            }
            None => out.push(Difference {
                table: t.name.clone(),
                kind: ObjectKind::Table,
                name: t.name.clone(),
                difference: DifferenceKind::Removed,
            }),
        }
    }
    for (t, _) in b.tables.iter().zip(&used).filter(|(_, u)| !**u) {
        out.push(Difference {
            table: t.name.clone(),
            kind: ObjectKind::Table,
            name: t.name.clone(),
            difference: DifferenceKind::Added,
        });
    }
    out
}

/// A gin index without an operator class gets the column type's default one; for the jsonb
/// columns strata generates that is `jsonb_ops`, which introspection reports explicitly.
fn effective_gin_class(i: &IndexDefinition) -> Option<GinOperatorClass> {
    match i.gin_operator_class {
        None if i.index_type == "gin" => Some(GinOperatorClass::JsonbOps),
        other => other,
    }
}

#[cfg(test)]
mod default_equivalence_tests {
    use super::*;
    use strata_schema::IndexElement;

    #[test]
    fn unset_fk_actions_equal_no_action() {
        let a = ForeignKeyDefinition {
            constraint_name: "t_fk_0".into(),
            columns: vec!["p".into()],
            reference_table: "p".into(),
            reference_columns: vec!["id".into()],
            ..Default::default()
        };
        let mut b = a.clone();
        b.on_update = Some(NoAction);
        b.on_delete = Some(NoAction);
        assert!(foreign_key_like(&a, &b));
        b.on_delete = Some(ForeignKeyAction::Cascade);
        assert!(!foreign_key_like(&a, &b));
    }

    #[test]
    fn unset_gin_class_equals_jsonb_ops() {
        let a = IndexDefinition {
            index_name: "i".into(),
            elements: vec![IndexElement::column("doc")],
            index_type: "gin".into(),
            ..Default::default()
        };
        let mut b = a.clone();
        b.gin_operator_class = Some(GinOperatorClass::JsonbOps);
        assert!(index_like(&a, &b));
        b.gin_operator_class = Some(GinOperatorClass::JsonbPathOps);
        assert!(!index_like(&a, &b));
    }
}

#[cfg(test)]
mod generated_tests {
    use super::*;
    use strata_schema::{TableDefinition, WarningType};

    fn column(name: &str, generated: Option<&str>) -> ColumnDefinition {
        ColumnDefinition {
            name: name.into(),
            column_type: ColumnType::Integer,
            is_nullable: true,
            native_type: Some("integer".into()),
            generated: generated.map(str::to_string),
            ..Default::default()
        }
    }

    fn table(columns: Vec<ColumnDefinition>) -> TableDefinition {
        TableDefinition { name: "t".into(), schema: "public".into(), columns, ..Default::default() }
    }

    #[test]
    fn an_expression_mentions_whole_names_bare_or_quoted() {
        assert!(expression_mentions("(price * qty)", "qty"));
        assert!(expression_mentions("(\"Price\" * 2)", "Price"));
        assert!(expression_mentions("(\"a\"\"b\" + 1)", "a\"b"));
        assert!(!expression_mentions("(price * qty)", "pri"));
        assert!(!expression_mentions("(qty_total + 1)", "qty"));
    }

    #[test]
    fn only_dropping_an_expression_alters_in_place() {
        let (plain, g1, g2) = (column("g", None), column("g", Some("(a + 1)")), column("g", Some("(a + 2)")));
        assert!(can_migrate_to(&g1, &plain), "DROP EXPRESSION keeps the values");
        assert!(!can_migrate_to(&plain, &g1), "a column becomes generated only through ADD COLUMN");
        assert!(!can_migrate_to(&g1, &g2), "PostgreSQL 15 has no SET EXPRESSION");
        assert!(!column_like(&g1, &g2));
        assert_eq!(column_changes(&g1, &plain)[0].to_string(), "generated (a + 1) → none");
        // A NOT NULL generated column computes its values for existing rows.
        let not_null = ColumnDefinition { is_nullable: false, ..g1.clone() };
        assert!(can_be_added_in_place(&not_null, false));
    }

    #[test]
    fn generated_to_plain_drops_the_expression_and_plain_to_generated_is_destructive() {
        let a = column("a", None);
        let from = table(vec![a.clone(), column("g", Some("(a + 1)")), column("h", None)]);
        let to = table(vec![a.clone(), column("g", None), column("h", Some("(a * 2)"))]);
        let mut warnings = Vec::new();
        let m = crate::generate_table_migration(&from, &to, &mut warnings).unwrap();
        assert_eq!(m.modify_columns.len(), 1);
        assert!(m.modify_columns[0].drop_expression && m.modify_columns[0].column_name == "g");
        assert_eq!(
            (m.delete_columns.clone(), m.add_columns[0].name.clone()),
            (vec!["h".to_string()], "h".to_string())
        );
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].destructive && warnings[0].warning_type == WarningType::ColumnDropped);
        assert!(warnings[0].message.contains("its current values are lost"), "{}", warnings[0].message);
    }

    #[test]
    fn generated_columns_using_a_dropped_or_retyped_column_are_recreated_and_dropped_first() {
        let from = table(vec![column("a", None), column("b", None), column("g", Some("(a + b)"))]);
        // `a` goes; `g` keeps its expression text (as a hand-edited file might): it must still be
        // dropped before `a`, and added back.
        let to = table(vec![column("b", None), column("g", Some("(a + b)"))]);
        let mut warnings = Vec::new();
        let m = crate::generate_table_migration(&from, &to, &mut warnings).unwrap();
        assert_eq!(m.delete_columns, ["g", "a"]);
        assert_eq!(m.add_columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["g"]);

        let retyped = ColumnDefinition {
            native_type: Some("bigint".into()),
            column_type: ColumnType::Bigint,
            ..column("b", None)
        };
        let to = table(vec![column("a", None), retyped, column("g", Some("(a + b)"))]);
        let mut warnings = Vec::new();
        let m = crate::generate_table_migration(&from, &to, &mut warnings).unwrap();
        assert_eq!(m.delete_columns, ["g"]);
        assert_eq!(m.modify_columns.iter().map(|c| c.column_name.as_str()).collect::<Vec<_>>(), ["b"]);
    }
}
