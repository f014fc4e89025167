//! Serverpod-compatible JSON for definitions and migrations.
//!
//! Reading accepts v1 (no `schemaVersion`, no `__className__`, raw PostgreSQL defaults) and v2,
//! ignores unknown keys, and reports shape errors with a JSON path and syntax errors with line
//! and column. v1 input is normalised to v2 (see [`crate::normalize`]).
//!
//! Writing produces v2 exactly as Serverpod does: `__className__` first, then the class's fields
//! in declaration order, null optionals omitted, empty arrays kept, two-space indentation and no
//! trailing newline.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Number, Value};

use crate::definition::*;
use crate::identity_options::IdentityOptions;
use crate::keys::{CheckConstraint, ExclusionConstraint, KeyConstraint, KeyMigration, TableKeys};
use crate::layout::{LayoutMigration, PartitionPlace, TableLayout};
use crate::migration::*;
use crate::normalize;
use crate::types::{DomainCheck, DomainDefinition, TypeDefinition, TypeKind};

/// A `definition.json` or `migration.json` that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not JSON at all.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax { line: usize, column: usize, message: String },
    /// JSON, but not the expected shape.
    #[error("at {path}: {message}")]
    Shape { path: String, message: String },
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// Writes `value` as Serverpod writes it: two-space indent, no trailing newline.
fn to_serverpod_json<T: Serialize>(value: &T) -> String {
    let mut out = Vec::with_capacity(4096);
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"  ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut ser).expect("serialising in-memory schema types cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// `definition.json` / `definition_project.json` text (v2).
pub fn definition_to_json(def: &DatabaseDefinition) -> String {
    to_serverpod_json(def)
}

/// `migration.json` text (v2).
pub fn migration_to_json(migration: &DatabaseMigration) -> String {
    to_serverpod_json(migration)
}

/// Map-writing helper that keeps `__className__` first and skips `None`s.
struct Obj<M: SerializeMap>(M);

impl<M: SerializeMap> Obj<M> {
    fn new<S: Serializer<SerializeMap = M, Error = M::Error>>(s: S, class: &str) -> Result<Self, M::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("__className__", class)?;
        Ok(Obj(m))
    }
    fn f<V: Serialize + ?Sized>(&mut self, k: &str, v: &V) -> Result<(), M::Error> {
        self.0.serialize_entry(k, v)
    }
    fn opt<V: Serialize>(&mut self, k: &str, v: &Option<V>) -> Result<(), M::Error> {
        match v {
            Some(v) => self.0.serialize_entry(k, v),
            None => Ok(()),
        }
    }
    fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}

macro_rules! ser_index_enum {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u8(self.index())
            }
        }
    )*};
}
ser_index_enum!(ColumnType, ForeignKeyAction, ForeignKeyMatchType, IndexElementType);

macro_rules! ser_name_enum {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    )*};
}
ser_name_enum!(
    Deferrable,
    Identity,
    VectorDistanceFunction,
    GinOperatorClass,
    MigrationActionType,
    WarningType
);

impl Serialize for DatabaseDefinition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DefinitionView { def: self, tables: &self.tables }.serialize(s)
    }
}

/// A definition with its tables given separately, so that they can be left out.
struct DefinitionView<'a> {
    def: &'a DatabaseDefinition,
    tables: &'a [TableDefinition],
}

impl Serialize for DefinitionView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let def = self.def;
        let mut o = Obj::new(s, "serverpod.DatabaseDefinition")?;
        o.f("schemaVersion", &def.schema_version)?;
        o.opt("name", &def.name)?;
        o.f("moduleName", &def.module_name)?;
        o.f("tables", self.tables)?;
        // strata's extension: absent when empty, so Serverpod's files keep their bytes.
        if !def.types.is_empty() {
            o.f("types", &TypesView(&def.types))?;
        }
        o.f("installedModules", &def.installed_modules)?;
        o.f("migrationApiVersion", &def.migration_api_version)?;
        o.end()
    }
}

/// `definition_project.json` and `definition.json` texts, byte for byte what
/// [`definition_to_json`] writes for each. A project without modules has the same tables in
/// both; they are then serialised once (the bulk of both files) and spliced into the other
/// fields of each, which the pretty printer writes independently of the tables' text.
pub fn definitions_to_json(project: &DatabaseDefinition, target: &DatabaseDefinition) -> (String, String) {
    let full = definition_to_json(target);
    let project_text =
        if project.tables == target.tables { splice_tables(project, target, &full) } else { None };
    (project_text.unwrap_or_else(|| definition_to_json(project)), full)
}

/// `project`'s text, taking the tables' text from `full` (the text of `target`, whose tables
/// are the same). `None` if the text cannot be split as expected (never with serde_json).
fn splice_tables(project: &DatabaseDefinition, target: &DatabaseDefinition, full: &str) -> Option<String> {
    let (target_head, target_tail) = around_tables(target)?;
    if full.len() < target_head.len() + target_tail.len()
        || !full.starts_with(&target_head)
        || !full.ends_with(&target_tail)
    {
        return None;
    }
    let tables = &full[target_head.len()..full.len() - target_tail.len()];
    let (head, tail) = around_tables(project)?;
    let mut out = String::with_capacity(head.len() + tables.len() + tail.len());
    out.push_str(&head);
    out.push_str(tables);
    out.push_str(&tail);
    Some(out)
}

/// The text of `def` without its tables, split where the tables array goes.
fn around_tables(def: &DatabaseDefinition) -> Option<(String, String)> {
    let text = to_serverpod_json(&DefinitionView { def, tables: &[] });
    // String values cannot hold a raw newline, so this is the top-level key.
    const KEY: &str = "\n  \"tables\": ";
    let at = text.find("\n  \"tables\": []")? + KEY.len();
    Some((text[..at].to_string(), text[at + 2..].to_string()))
}

impl Serialize for TableDefinition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.TableDefinition")?;
        o.f("name", &self.name)?;
        o.opt("dartName", &self.dart_name)?;
        o.opt("module", &self.module)?;
        o.f("schema", &self.schema)?;
        o.opt("tableSpace", &self.table_space)?;
        o.f("columns", &self.columns)?;
        o.f("foreignKeys", &self.foreign_keys)?;
        o.f("indexes", &self.indexes)?;
        // strata's own keys, only where Serverpod's `id` rule cannot say it (docs/format.md).
        o.opt("primaryKey", &self.keys.primary_key)?;
        o.opt("withoutPrimaryKey", &self.keys.without_primary_key.then_some(true))?;
        if !self.keys.unique.is_empty() {
            o.f("uniqueConstraints", &self.keys.unique)?;
        }
        if !self.keys.checks.is_empty() {
            o.f("checkConstraints", &self.keys.checks)?;
        }
        if !self.keys.exclusions.is_empty() {
            o.f("exclusionConstraints", &self.keys.exclusions)?;
        }
        o.opt("partitionOf", &self.partition_of)?;
        write_layout(&mut o, &self.layout)?;
        o.opt("managed", &self.managed)?;
        o.end()
    }
}

/// A table's layout keys (strata's own), each only when set: Serverpod's tables have none.
fn write_layout<M: SerializeMap>(o: &mut Obj<M>, layout: &TableLayout) -> Result<(), M::Error> {
    o.opt("partitionBy", &layout.partition_key)?;
    o.opt("partitionBound", &layout.partition_bound)?;
    if !layout.inherits.is_empty() {
        o.f("inherits", &layout.inherits)?;
    }
    if !layout.inherited_columns.is_empty() {
        o.f("inheritedColumns", &layout.inherited_columns)?;
    }
    o.opt("unlogged", &layout.unlogged.then_some(true))?;
    Ok(())
}

impl Serialize for LayoutMigration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "strata.LayoutMigration")?;
        o.opt("detachFrom", &self.detach_from)?;
        if let Some(place) = &self.attach_to {
            o.f("attachTo", &place.parent)?;
            o.f("attachBound", &place.bound)?;
        }
        o.f("noInherit", &self.drop_inherits)?;
        o.f("inherit", &self.add_inherits)?;
        o.opt("setUnlogged", &self.set_unlogged)?;
        o.end()
    }
}

impl Serialize for KeyMigration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let renames: Vec<Map<String, Value>> = self
            .rename
            .iter()
            .map(|(from, to)| {
                Map::from_iter([
                    ("from".to_string(), Value::from(from.as_str())),
                    ("to".to_string(), Value::from(to.as_str())),
                ])
            })
            .collect();
        let mut o = Obj::new(s, "strata.KeyMigration")?;
        o.f("dropConstraints", &self.drop)?;
        o.f("renameConstraints", &renames)?;
        o.opt("addPrimaryKey", &self.add_primary_key)?;
        o.f("addUniqueConstraints", &self.add_unique)?;
        // Only when set: key changes written before checks were modelled keep their bytes.
        if !self.add_checks.is_empty() {
            o.f("addCheckConstraints", &self.add_checks)?;
        }
        if !self.add_exclusions.is_empty() {
            o.f("addExclusionConstraints", &self.add_exclusions)?;
        }
        o.end()
    }
}

impl Serialize for KeyConstraint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "strata.KeyConstraint")?;
        o.f("name", &self.name)?;
        o.f("columns", &self.columns)?;
        o.opt("nullsNotDistinct", &self.nulls_not_distinct.then_some(true))?;
        o.opt("deferrable", &self.deferrable)?;
        o.end()
    }
}

impl Serialize for CheckConstraint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "strata.CheckConstraint")?;
        o.f("name", &self.name)?;
        o.f("check", &self.expression)?;
        o.opt("notValid", &self.not_valid.then_some(true))?;
        o.opt("noInherit", &self.no_inherit.then_some(true))?;
        o.end()
    }
}

impl Serialize for ExclusionConstraint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "strata.ExclusionConstraint")?;
        o.f("name", &self.name)?;
        o.f("definition", &self.definition)?;
        o.end()
    }
}

impl Serialize for ColumnDefinition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.ColumnDefinition")?;
        o.f("name", &self.name)?;
        o.opt("fieldName", &self.field_name)?;
        o.f("columnType", &self.column_type)?;
        o.f("isNullable", &self.is_nullable)?;
        o.opt("columnDefault", &self.column_default)?;
        o.opt("dartType", &self.dart_type)?;
        o.opt("vectorDimension", &self.vector_dimension)?;
        // Only where Serverpod's columnType cannot say it (see docs/format.md).
        let native = self.native_type.as_ref().filter(|_| self.column_type == ColumnType::Unknown);
        o.opt("nativeType", &native)?;
        o.opt("identity", &self.identity)?;
        o.opt("identityOptions", &self.identity_options.map(|o| o.to_string()))?;
        o.opt("generated", &self.generated)?;
        o.end()
    }
}

impl Serialize for ForeignKeyDefinition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.ForeignKeyDefinition")?;
        o.f("constraintName", &self.constraint_name)?;
        o.f("columns", &self.columns)?;
        o.f("referenceTable", &self.reference_table)?;
        o.f("referenceTableSchema", &self.reference_table_schema)?;
        o.f("referenceColumns", &self.reference_columns)?;
        o.opt("onUpdate", &self.on_update)?;
        o.opt("onDelete", &self.on_delete)?;
        o.opt("matchType", &self.match_type)?;
        o.opt("deferrable", &self.deferrable)?;
        o.end()
    }
}

impl Serialize for IndexElement {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.IndexElementDefinition")?;
        o.f("type", &self.element_type)?;
        o.f("definition", &self.definition)?;
        // strata's own keys, only when not the default (docs/format.md).
        o.opt("descending", &self.descending.then_some(true))?;
        o.opt("nullsFirst", &(!self.nulls_order_is_default()).then_some(self.nulls_first))?;
        o.opt("operatorClass", &self.operator_class)?;
        o.opt("collation", &self.collation)?;
        o.end()
    }
}

/// Index parameters keep their declaration order.
struct Params<'a>(&'a [(String, String)]);

impl Serialize for Params<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for IndexDefinition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.IndexDefinition")?;
        o.f("indexName", &self.index_name)?;
        o.opt("tableSpace", &self.table_space)?;
        o.f("elements", &self.elements)?;
        o.f("type", &self.index_type)?;
        o.f("isUnique", &self.is_unique)?;
        o.f("isPrimary", &self.is_primary)?;
        o.opt("nullsDistinct", &self.nulls_distinct)?;
        o.opt("predicate", &self.predicate)?;
        o.opt("ginOperatorClass", &self.gin_operator_class)?;
        o.opt("vectorDistanceFunction", &self.vector_distance_function)?;
        o.opt("vectorColumnType", &self.vector_column_type)?;
        o.opt("parameters", &self.parameters.as_deref().map(Params))?;
        if !self.include.is_empty() {
            o.f("include", &self.include)?;
        }
        o.end()
    }
}

impl Serialize for MigrationVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let class = if self.is_model_class {
            "serverpod.DatabaseMigrationVersionModel"
        } else {
            "serverpod.DatabaseMigrationVersion"
        };
        let mut o = Obj::new(s, class)?;
        o.f("module", &self.module)?;
        o.f("version", &self.version)?;
        o.end()
    }
}

impl Serialize for DatabaseMigration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.DatabaseMigration")?;
        o.f("actions", &self.actions)?;
        o.f("warnings", &self.warnings)?;
        o.f("migrationApiVersion", &self.migration_api_version)?;
        o.end()
    }
}

impl Serialize for MigrationAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.DatabaseMigrationAction")?;
        o.f("type", &self.action_type())?;
        match self {
            MigrationAction::DeleteTable(name) => o.f("deleteTable", name)?,
            MigrationAction::AlterTable(t) => o.f("alterTable", t)?,
            MigrationAction::CreateTable(t) | MigrationAction::CreateTableIfNotExists(t) => {
                o.f("createTable", t)?
            }
        }
        o.end()
    }
}

impl Serialize for TableMigration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.TableMigration")?;
        o.f("name", &self.name)?;
        o.opt("newName", &self.new_name)?;
        o.opt("dartName", &self.dart_name)?;
        o.opt("module", &self.module)?;
        o.f("schema", &self.schema)?;
        o.f("addColumns", &self.add_columns)?;
        o.f("deleteColumns", &self.delete_columns)?;
        o.f("modifyColumns", &self.modify_columns)?;
        o.f("addIndexes", &self.add_indexes)?;
        o.f("deleteIndexes", &self.delete_indexes)?;
        o.f("addForeignKeys", &self.add_foreign_keys)?;
        o.f("deleteForeignKeys", &self.delete_foreign_keys)?;
        if !self.keys.is_empty() {
            o.f("keyChanges", &self.keys)?;
        }
        if !self.layout.is_empty() {
            o.f("layoutChanges", &self.layout)?;
        }
        o.f("warnings", &self.warnings)?;
        o.end()
    }
}

impl Serialize for ColumnMigration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.ColumnMigration")?;
        o.f("columnName", &self.column_name)?;
        o.opt("newColumnName", &self.new_column_name)?;
        o.f("addNullable", &self.add_nullable)?;
        o.f("removeNullable", &self.remove_nullable)?;
        o.f("changeDefault", &self.change_default)?;
        o.opt("newDefault", &self.new_default)?;
        o.opt("newType", &self.new_type)?;
        o.opt("newNativeType", &self.new_native_type)?;
        if self.change_identity {
            o.f("changeIdentity", &true)?;
            o.opt("newIdentity", &self.new_identity)?;
            o.opt("newIdentityOptions", &self.new_identity_options.map(|o| o.to_string()))?;
        }
        if self.drop_expression {
            o.f("dropExpression", &true)?;
        }
        o.end()
    }
}

impl Serialize for MigrationWarning {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = Obj::new(s, "serverpod.DatabaseMigrationWarning")?;
        o.f("type", &self.warning_type)?;
        o.f("message", &self.message)?;
        o.f("table", &self.table)?;
        o.f("columns", &self.columns)?;
        o.f("destrucive", &self.destructive)?;
        o.end()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// A JSON tree that borrows its strings from the input where it can. It is parsed by the same
/// `serde_json` parser as [`Value`] (so syntax errors, with line and column, are identical),
/// but without a `String` per key and a `BTreeMap` per object, which made the DOM the larger
/// half of reading a definition.
enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    /// Entries in input order; see [`lookup`] for repeated keys.
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl Node<'_> {
    fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    fn as_i64(&self) -> Option<i64> {
        match self {
            Node::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// The equivalent [`Value`], for the rare spots that need `Value`'s exact semantics.
    fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::Str(s) => Value::String(s.to_string()),
            Node::Array(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(entries) => Value::Object(object_map(entries)),
        }
    }
}

/// A key's value as `Value`'s map would hold it: the last occurrence (its `insert` replaces).
fn lookup<'a>(entries: &'a [(Cow<'a, str>, Node<'a>)], key: &str) -> Option<&'a Node<'a>> {
    entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// The map `Value` would build from these entries (same key order and duplicate handling).
fn object_map(entries: &[(Cow<'_, str>, Node<'_>)]) -> Map<String, Value> {
    let mut map = Map::new();
    for (k, v) in entries {
        map.insert(k.to_string(), v.to_value());
    }
    map
}

/// Mirrors `serde_json`'s own `Value` visitor, borrowing strings instead of copying them.
struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(Number::from_f64(v).map_or(Node::Null, Node::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::Str(Cow::Owned(v)))
    }
    fn visit_none<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node<'de>, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(Key(k)) = map.next_key()? {
            let v = map.next_value()?;
            entries.push((k, v));
        }
        Ok(Node::Object(entries))
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

/// An object key, borrowed from the input unless it contains escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

fn parse_value(text: &str) -> Result<Node<'_>, JsonError> {
    serde_json::from_str(text).map_err(|e| JsonError::Syntax {
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Reads a `definition.json` (v1 or v2) and normalises it to v2.
pub fn definition_from_json(text: &str) -> Result<DatabaseDefinition, JsonError> {
    let mut def = match typed::definition(text) {
        Some(def) => def,
        None => tree_definition(text)?,
    };
    normalize::normalize_definition(&mut def);
    Ok(def)
}

/// Reads a `migration.json` (v1 or v2) and normalises its defaults to v2.
pub fn migration_from_json(text: &str) -> Result<DatabaseMigration, JsonError> {
    let mut m = match typed::migration(text) {
        Some(m) => m,
        None => tree_migration(text)?,
    };
    normalize::normalize_migration(&mut m);
    Ok(m)
}

/// The general path of reading (before normalising): every file, every error message.
fn tree_definition(text: &str) -> Result<DatabaseDefinition, JsonError> {
    read_definition(&Cursor::root(&parse_value(text)?))
}

/// See [`tree_definition`].
fn tree_migration(text: &str) -> Result<DatabaseMigration, JsonError> {
    read_migration(&Cursor::root(&parse_value(text)?))
}

/// The fast path of reading: `serde_json` straight into mirror structs, no tree. It accepts a
/// subset of what the tree walk below accepts (a repeated key, a wrong type, an unknown code:
/// anything doubtful gives `None`), and for what it accepts it gives the same values, so the
/// tree walk only runs for unusual files and for errors, whose messages it alone produces.
mod typed {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{Deserializer, MapAccess, Visitor};
    use serde::Deserialize;
    use serde_json::{Map, Value};

    use crate::definition::*;
    use crate::keys::{CheckConstraint, ExclusionConstraint, KeyConstraint, KeyMigration, TableKeys};
    use crate::layout::{LayoutMigration, TableLayout};
    use crate::migration::*;

    /// A struct read from a JSON object only: derived `Deserialize` would also take an array
    /// (fields by position), which the tree walk rejects.
    struct Obj<T>(T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct ObjVisitor<T>(PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
                type Value = Obj<T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                    T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
                }
            }
            d.deserialize_map(ObjVisitor(PhantomData))
        }
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Def {
        name: Option<String>,
        module_name: String,
        tables: Option<Vec<Obj<Table>>>,
        installed_modules: Option<Vec<Obj<Version>>>,
        migration_api_version: Option<i64>,
        schema_version: Option<i64>,
        /// strata's `types`: read by the tree path, which locates its errors.
        types: Option<serde::de::IgnoredAny>,
    }

    #[derive(Deserialize)]
    struct Version {
        #[serde(rename = "__className__")]
        class: Option<String>,
        module: String,
        version: String,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Table {
        name: String,
        dart_name: Option<String>,
        module: Option<String>,
        schema: Option<String>,
        table_space: Option<String>,
        columns: Option<Vec<Obj<Column>>>,
        foreign_keys: Option<Vec<Obj<ForeignKey>>>,
        indexes: Option<Vec<Obj<Index>>>,
        primary_key: Option<Obj<Key>>,
        unique_constraints: Option<Vec<Obj<Key>>>,
        check_constraints: Option<Vec<Obj<Check>>>,
        exclusion_constraints: Option<Vec<Obj<Exclusion>>>,
        without_primary_key: Option<bool>,
        partition_of: Option<String>,
        managed: Option<bool>,
        /// The layout keys are read by the tree walk only: their presence makes this path give up.
        partition_by: Option<serde::de::IgnoredAny>,
        partition_bound: Option<serde::de::IgnoredAny>,
        inherits: Option<serde::de::IgnoredAny>,
        inherited_columns: Option<serde::de::IgnoredAny>,
        unlogged: Option<serde::de::IgnoredAny>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Key {
        name: String,
        columns: Vec<String>,
        nulls_not_distinct: Option<bool>,
        deferrable: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Check {
        name: String,
        check: String,
        not_valid: Option<bool>,
        no_inherit: Option<bool>,
    }

    #[derive(Deserialize)]
    struct Exclusion {
        name: String,
        definition: String,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Column {
        name: String,
        field_name: Option<String>,
        column_type: Option<i64>,
        is_nullable: bool,
        column_default: Option<String>,
        dart_type: Option<String>,
        vector_dimension: Option<i64>,
        native_type: Option<String>,
        identity: Option<String>,
        identity_options: Option<String>,
        generated: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ForeignKey {
        constraint_name: String,
        columns: Option<Vec<String>>,
        reference_table: String,
        reference_table_schema: Option<String>,
        reference_columns: Option<Vec<String>>,
        on_update: Option<i64>,
        on_delete: Option<i64>,
        match_type: Option<i64>,
        deferrable: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Index {
        index_name: String,
        table_space: Option<String>,
        elements: Option<Vec<Obj<Element>>>,
        #[serde(rename = "type")]
        index_type: String,
        is_unique: Option<bool>,
        is_primary: Option<bool>,
        nulls_distinct: Option<bool>,
        predicate: Option<String>,
        gin_operator_class: Option<String>,
        vector_distance_function: Option<String>,
        vector_column_type: Option<i64>,
        /// `Value`'s own map, so key order and repeated keys are as in the tree walk.
        parameters: Option<Map<String, Value>>,
        include: Option<Vec<String>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Element {
        #[serde(rename = "type")]
        element_type: Option<i64>,
        definition: String,
        descending: Option<bool>,
        nulls_first: Option<bool>,
        operator_class: Option<String>,
        collation: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Migration {
        actions: Option<Vec<Obj<Action>>>,
        warnings: Option<Vec<Obj<Warning>>>,
        migration_api_version: Option<i64>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Action {
        #[serde(rename = "type")]
        action_type: String,
        delete_table: Option<String>,
        create_table: Option<Obj<Table>>,
        alter_table: Option<Obj<TableChange>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct TableChange {
        name: String,
        new_name: Option<String>,
        dart_name: Option<String>,
        module: Option<String>,
        schema: Option<String>,
        add_columns: Option<Vec<Obj<Column>>>,
        delete_columns: Option<Vec<String>>,
        modify_columns: Option<Vec<Obj<ColumnChange>>>,
        add_indexes: Option<Vec<Obj<Index>>>,
        delete_indexes: Option<Vec<String>>,
        add_foreign_keys: Option<Vec<Obj<ForeignKey>>>,
        delete_foreign_keys: Option<Vec<String>>,
        /// Read by the tree walk only: its presence makes this path give up.
        key_changes: Option<serde::de::IgnoredAny>,
        layout_changes: Option<serde::de::IgnoredAny>,
        warnings: Option<Vec<Obj<Warning>>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ColumnChange {
        column_name: String,
        new_column_name: Option<String>,
        add_nullable: Option<bool>,
        remove_nullable: Option<bool>,
        change_default: Option<bool>,
        new_default: Option<String>,
        new_type: Option<i64>,
        new_native_type: Option<String>,
        change_identity: Option<bool>,
        new_identity: Option<String>,
        new_identity_options: Option<String>,
        drop_expression: Option<bool>,
    }

    #[derive(Deserialize)]
    struct Warning {
        #[serde(rename = "type")]
        warning_type: String,
        message: String,
        table: String,
        columns: Option<Vec<String>>,
        destrucive: Option<bool>,
        destructive: Option<bool>,
    }

    /// A definition, if the fast path can read it.
    pub(super) fn definition(text: &str) -> Option<DatabaseDefinition> {
        let Obj(d): Obj<Def> = serde_json::from_str(text).ok()?;
        if d.types.is_some() {
            return None;
        }
        Some(DatabaseDefinition {
            name: d.name,
            module_name: d.module_name,
            tables: all(d.tables, table)?,
            installed_modules: d
                .installed_modules
                .unwrap_or_default()
                .into_iter()
                .map(|Obj(v)| MigrationVersion {
                    module: v.module,
                    version: v.version,
                    is_model_class: v.class.as_deref() == Some("serverpod.DatabaseMigrationVersionModel"),
                })
                .collect(),
            migration_api_version: d.migration_api_version.unwrap_or(MIGRATION_API_VERSION),
            schema_version: d.schema_version.unwrap_or(1),
            types: Vec::new(),
        })
    }

    /// A migration, if the fast path can read it.
    pub(super) fn migration(text: &str) -> Option<DatabaseMigration> {
        let Obj(m): Obj<Migration> = serde_json::from_str(text).ok()?;
        Some(DatabaseMigration {
            actions: all(m.actions, action)?,
            warnings: all(m.warnings, warning)?,
            migration_api_version: m.migration_api_version.unwrap_or(MIGRATION_API_VERSION),
        })
    }

    /// Converts every item of an optional list (absent = empty); `None` if any fails.
    fn all<T, U>(items: Option<Vec<Obj<T>>>, f: impl Fn(T) -> Option<U>) -> Option<Vec<U>> {
        items.unwrap_or_default().into_iter().map(|Obj(t)| f(t)).collect()
    }

    /// An optional index-coded value; `None` (give up) for a code the decoder does not know.
    fn code<T>(i: Option<i64>, decode: fn(u64) -> Option<T>) -> Option<Option<T>> {
        match i {
            None => Some(None),
            Some(i) => Some(Some(u64::try_from(i).ok().and_then(decode)?)),
        }
    }

    /// An optional name-coded value; `None` (give up) for a name the decoder does not know.
    fn named<T>(s: Option<String>, decode: fn(&str) -> Option<T>) -> Option<Option<T>> {
        match s {
            None => Some(None),
            Some(s) => Some(Some(decode(&s)?)),
        }
    }

    fn table(t: Table) -> Option<TableDefinition> {
        let layout_keys =
            [&t.partition_by, &t.partition_bound, &t.inherits, &t.inherited_columns, &t.unlogged];
        if layout_keys.iter().any(|k| k.is_some()) {
            return None;
        }
        Some(TableDefinition {
            name: t.name,
            dart_name: t.dart_name,
            module: t.module,
            schema: t.schema.unwrap_or_else(|| "public".to_string()),
            table_space: t.table_space,
            columns: all(t.columns, column)?,
            foreign_keys: all(t.foreign_keys, foreign_key)?,
            indexes: all(t.indexes, index)?,
            managed: t.managed,
            keys: TableKeys {
                primary_key: match t.primary_key {
                    Some(Obj(k)) => Some(key(k)?),
                    None => None,
                },
                without_primary_key: t.without_primary_key == Some(true),
                unique: all(t.unique_constraints, key)?,
                checks: all(t.check_constraints, |c: Check| {
                    Some(CheckConstraint {
                        name: c.name,
                        expression: c.check,
                        not_valid: c.not_valid == Some(true),
                        no_inherit: c.no_inherit == Some(true),
                    })
                })?,
                exclusions: all(t.exclusion_constraints, |x: Exclusion| {
                    Some(ExclusionConstraint { name: x.name, definition: x.definition })
                })?,
            },
            partition_of: t.partition_of,
            layout: TableLayout::default(),
        })
    }

    /// `None` (give up, the tree walk names the error) for a key without columns.
    fn key(k: Key) -> Option<KeyConstraint> {
        let nulls_not_distinct = k.nulls_not_distinct == Some(true);
        let deferrable = named(k.deferrable, Deferrable::from_name)?;
        (!k.columns.is_empty()).then_some(KeyConstraint {
            name: k.name,
            columns: k.columns,
            nulls_not_distinct,
            deferrable,
        })
    }

    fn column(c: Column) -> Option<ColumnDefinition> {
        Some(ColumnDefinition {
            column_type: code(c.column_type, ColumnType::from_index)??,
            name: c.name,
            field_name: c.field_name,
            is_nullable: c.is_nullable,
            column_default: c.column_default,
            dart_type: c.dart_type,
            vector_dimension: c.vector_dimension,
            native_type: c.native_type,
            identity: named(c.identity, Identity::from_name)?,
            identity_options: named(c.identity_options, crate::IdentityOptions::parse)?,
            generated: c.generated,
        })
    }

    fn foreign_key(f: ForeignKey) -> Option<ForeignKeyDefinition> {
        Some(ForeignKeyDefinition {
            constraint_name: f.constraint_name,
            columns: f.columns.unwrap_or_default(),
            reference_table: f.reference_table,
            reference_table_schema: f.reference_table_schema.unwrap_or_else(|| "public".to_string()),
            reference_columns: f.reference_columns.unwrap_or_default(),
            on_update: code(f.on_update, ForeignKeyAction::from_index)?,
            on_delete: code(f.on_delete, ForeignKeyAction::from_index)?,
            match_type: code(f.match_type, ForeignKeyMatchType::from_index)?,
            deferrable: named(f.deferrable, Deferrable::from_name)?,
        })
    }

    fn index(i: Index) -> Option<IndexDefinition> {
        let parameters = match i.parameters {
            None => None,
            Some(map) => Some(
                map.into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Some((k, s)),
                        Value::Number(n) => Some((k, n.to_string())),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
        };
        Some(IndexDefinition {
            index_name: i.index_name,
            table_space: i.table_space,
            elements: all(i.elements, |e| {
                let descending = e.descending.unwrap_or(false);
                Some(IndexElement {
                    element_type: code(e.element_type, IndexElementType::from_index)?
                        .unwrap_or(IndexElementType::Column),
                    definition: e.definition,
                    descending,
                    nulls_first: e.nulls_first.unwrap_or(descending),
                    operator_class: e.operator_class,
                    collation: e.collation,
                })
            })?,
            index_type: i.index_type,
            is_unique: i.is_unique.unwrap_or(false),
            is_primary: i.is_primary.unwrap_or(false),
            nulls_distinct: i.nulls_distinct,
            predicate: i.predicate,
            gin_operator_class: named(i.gin_operator_class, GinOperatorClass::from_name)?,
            vector_distance_function: named(i.vector_distance_function, VectorDistanceFunction::from_name)?,
            vector_column_type: code(i.vector_column_type, ColumnType::from_index)?,
            parameters,
            include: i.include.unwrap_or_default(),
        })
    }

    fn action(a: Action) -> Option<MigrationAction> {
        Some(match MigrationActionType::from_name(&a.action_type)? {
            MigrationActionType::DeleteTable => MigrationAction::DeleteTable(a.delete_table?),
            MigrationActionType::CreateTable => MigrationAction::CreateTable(table(a.create_table?.0)?),
            MigrationActionType::CreateTableIfNotExists => {
                MigrationAction::CreateTableIfNotExists(table(a.create_table?.0)?)
            }
            MigrationActionType::AlterTable => {
                let Obj(t) = a.alter_table?;
                MigrationAction::AlterTable(TableMigration {
                    name: t.name,
                    new_name: t.new_name,
                    dart_name: t.dart_name,
                    module: t.module,
                    schema: t.schema.unwrap_or_else(|| "public".to_string()),
                    add_columns: all(t.add_columns, column)?,
                    delete_columns: t.delete_columns.unwrap_or_default(),
                    modify_columns: all(t.modify_columns, |c| {
                        Some(ColumnMigration {
                            column_name: c.column_name,
                            new_column_name: c.new_column_name,
                            add_nullable: c.add_nullable.unwrap_or(false),
                            remove_nullable: c.remove_nullable.unwrap_or(false),
                            change_default: c.change_default.unwrap_or(false),
                            new_default: c.new_default,
                            new_type: code(c.new_type, ColumnType::from_index)?,
                            new_native_type: c.new_native_type,
                            change_identity: c.change_identity.unwrap_or(false),
                            new_identity: named(c.new_identity, Identity::from_name)?,
                            new_identity_options: named(
                                c.new_identity_options,
                                crate::IdentityOptions::parse,
                            )?,
                            drop_expression: c.drop_expression.unwrap_or(false),
                        })
                    })?,
                    add_indexes: all(t.add_indexes, index)?,
                    delete_indexes: t.delete_indexes.unwrap_or_default(),
                    add_foreign_keys: all(t.add_foreign_keys, foreign_key)?,
                    delete_foreign_keys: t.delete_foreign_keys.unwrap_or_default(),
                    keys: match t.key_changes {
                        Some(_) => return None,
                        None => KeyMigration::default(),
                    },
                    layout: match t.layout_changes {
                        Some(_) => return None,
                        None => LayoutMigration::default(),
                    },
                    warnings: all(t.warnings, warning)?,
                })
            }
        })
    }

    fn warning(w: Warning) -> Option<MigrationWarning> {
        Some(MigrationWarning {
            warning_type: WarningType::from_name(&w.warning_type)?,
            message: w.message,
            table: w.table,
            columns: w.columns.unwrap_or_default(),
            destructive: w.destrucive.or(w.destructive).unwrap_or(false),
        })
    }
}

/// One step of a [`Cursor`]'s path.
#[derive(Clone, Copy)]
enum Step<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

/// A position in the JSON tree. The path for error messages (`$.tables[3].columns[0]`) is a
/// borrowed chain of parent cursors on the stack, rendered only when an error is built: most
/// fields are read without error, and formatting a path per access dominated reading.
struct Cursor<'a> {
    value: &'a Node<'a>,
    parent: Option<&'a Cursor<'a>>,
    step: Step<'a>,
}

impl<'a> Cursor<'a> {
    fn root(value: &'a Node<'a>) -> Self {
        Cursor { value, parent: None, step: Step::Root }
    }

    /// The rendered path, e.g. `$.tables[0].columns[0].columnType`.
    fn path(&self) -> String {
        let mut steps = Vec::new();
        let mut c = Some(self);
        while let Some(cur) = c {
            steps.push(cur.step);
            c = cur.parent;
        }
        let mut out = String::new();
        for step in steps.iter().rev() {
            match step {
                Step::Root => out.push('$'),
                Step::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, JsonError> {
        Err(JsonError::Shape { path: self.path(), message: message.into() })
    }

    fn obj(&self) -> Result<&'a [(Cow<'a, str>, Node<'a>)], JsonError> {
        match self.value {
            Node::Object(m) => Ok(m),
            other => self.err(format!("expected an object, found {}", kind(other))),
        }
    }

    fn field<'b>(&'b self, key: &'b str) -> Result<Option<Cursor<'b>>, JsonError> {
        Ok(lookup(self.obj()?, key).filter(|v| !v.is_null()).map(|v| Cursor {
            value: v,
            parent: Some(self),
            step: Step::Key(key),
        }))
    }

    fn req<'b>(&'b self, key: &'b str) -> Result<Cursor<'b>, JsonError> {
        match self.field(key)? {
            Some(c) => Ok(c),
            None => self.err(format!("missing required key \"{key}\"")),
        }
    }

    fn string(&self) -> Result<String, JsonError> {
        match self.value {
            Node::Str(s) => Ok(s.to_string()),
            other => self.err(format!("expected a string, found {}", kind(other))),
        }
    }

    fn boolean(&self) -> Result<bool, JsonError> {
        match self.value {
            Node::Bool(b) => Ok(*b),
            other => self.err(format!("expected true or false, found {}", kind(other))),
        }
    }

    fn int(&self) -> Result<i64, JsonError> {
        match self.value.as_i64() {
            Some(i) => Ok(i),
            None => self.err(format!("expected an integer, found {}", kind(self.value))),
        }
    }

    /// Maps `f` over the items of this array, each with its `[i]` path step.
    fn items<T>(&self, f: impl Fn(&Cursor<'_>) -> Result<T, JsonError>) -> Result<Vec<T>, JsonError> {
        match self.value {
            Node::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| f(&Cursor { value: v, parent: Some(self), step: Step::Index(i) }))
                .collect(),
            other => self.err(format!("expected an array, found {}", kind(other))),
        }
    }

    fn req_str(&self, key: &str) -> Result<String, JsonError> {
        self.req(key)?.string()
    }
    fn opt_str(&self, key: &str) -> Result<Option<String>, JsonError> {
        self.field(key)?.map(|c| c.string()).transpose()
    }
    fn req_bool(&self, key: &str) -> Result<bool, JsonError> {
        self.req(key)?.boolean()
    }
    fn bool_or(&self, key: &str, default: bool) -> Result<bool, JsonError> {
        Ok(self.field(key)?.map(|c| c.boolean()).transpose()?.unwrap_or(default))
    }
    fn opt_bool(&self, key: &str) -> Result<Option<bool>, JsonError> {
        self.field(key)?.map(|c| c.boolean()).transpose()
    }
    fn opt_int(&self, key: &str) -> Result<Option<i64>, JsonError> {
        self.field(key)?.map(|c| c.int()).transpose()
    }
    fn list<T>(
        &self,
        key: &str,
        f: impl Fn(&Cursor<'_>) -> Result<T, JsonError>,
    ) -> Result<Vec<T>, JsonError> {
        match self.field(key)? {
            Some(c) => c.items(f),
            None => Ok(Vec::new()),
        }
    }
    fn strings(&self, key: &str) -> Result<Vec<String>, JsonError> {
        self.list(key, |c| c.string())
    }
    fn index_enum<T>(
        &self,
        key: &str,
        what: &str,
        decode: fn(u64) -> Option<T>,
    ) -> Result<Option<T>, JsonError> {
        match self.field(key)? {
            None => Ok(None),
            Some(c) => {
                let i = c.int()?;
                match u64::try_from(i).ok().and_then(decode) {
                    Some(v) => Ok(Some(v)),
                    None => c.err(format!("unknown {what} code {i}")),
                }
            }
        }
    }
    fn name_enum<T>(
        &self,
        key: &str,
        what: &str,
        decode: fn(&str) -> Option<T>,
    ) -> Result<Option<T>, JsonError> {
        match self.field(key)? {
            None => Ok(None),
            Some(c) => {
                let s = c.string()?;
                match decode(&s) {
                    Some(v) => Ok(Some(v)),
                    None => c.err(format!("unknown {what} \"{s}\"")),
                }
            }
        }
    }
}

fn kind(v: &Node) -> &'static str {
    match v {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Number(_) => "a number",
        Node::Str(_) => "a string",
        Node::Array(_) => "an array",
        Node::Object(_) => "an object",
    }
}

/// Same wording as [`kind`], for the `Value`s of index parameters.
fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn read_definition(c: &Cursor) -> Result<DatabaseDefinition, JsonError> {
    Ok(DatabaseDefinition {
        name: c.opt_str("name")?,
        module_name: c.req_str("moduleName")?,
        tables: c.list("tables", read_table)?,
        installed_modules: c.list("installedModules", read_version)?,
        migration_api_version: c.opt_int("migrationApiVersion")?.unwrap_or(MIGRATION_API_VERSION),
        schema_version: c.opt_int("schemaVersion")?.unwrap_or(1),
        types: c.list("types", read_type)?,
    })
}

/// One entry of strata's `types`: `{"schema", "name", "enum": [labels]}` or
/// `{"schema", "name", "domain": {"baseType", "notNull", "default", "checks"}}`.
fn read_type(c: &Cursor) -> Result<TypeDefinition, JsonError> {
    let kind = match (c.field("enum")?, c.field("domain")?) {
        (Some(values), None) => TypeKind::Enum { values: values.items(|v| v.string())? },
        (None, Some(d)) => TypeKind::Domain(DomainDefinition {
            base_type: d.req_str("baseType")?,
            default: d.opt_str("default")?,
            not_null: d.bool_or("notNull", false)?,
            checks: d.list("checks", |k| {
                Ok(DomainCheck { name: k.req_str("name")?, expression: k.req_str("check")? })
            })?,
        }),
        _ => return c.err("a type has exactly one of \"enum\" (its values) and \"domain\""),
    };
    Ok(TypeDefinition { schema: c.req_str("schema")?, name: c.req_str("name")?, kind })
}

/// strata's `types` list as JSON (no `__className__`: Serverpod has no such class).
struct TypesView<'a>(&'a [TypeDefinition]);

impl Serialize for TypesView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for t in self.0 {
            seq.serialize_element(&TypeView(t))?;
        }
        seq.end()
    }
}

struct TypeView<'a>(&'a TypeDefinition);

impl Serialize for TypeView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("schema", &t.schema)?;
        m.serialize_entry("name", &t.name)?;
        match &t.kind {
            TypeKind::Enum { values } => m.serialize_entry("enum", values)?,
            TypeKind::Domain(d) => m.serialize_entry("domain", &DomainView(d))?,
        }
        m.end()
    }
}

struct DomainView<'a>(&'a DomainDefinition);

impl Serialize for DomainView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("baseType", &d.base_type)?;
        if d.not_null {
            m.serialize_entry("notNull", &true)?;
        }
        if let Some(default) = &d.default {
            m.serialize_entry("default", default)?;
        }
        if !d.checks.is_empty() {
            let checks: Vec<CheckView> = d.checks.iter().map(CheckView).collect();
            m.serialize_entry("checks", &checks)?;
        }
        m.end()
    }
}

struct CheckView<'a>(&'a DomainCheck);

impl Serialize for CheckView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("name", &self.0.name)?;
        m.serialize_entry("check", &self.0.expression)?;
        m.end()
    }
}

fn read_version(c: &Cursor) -> Result<MigrationVersion, JsonError> {
    let class = c.opt_str("__className__")?;
    Ok(MigrationVersion {
        module: c.req_str("module")?,
        version: c.req_str("version")?,
        is_model_class: class.as_deref() == Some("serverpod.DatabaseMigrationVersionModel"),
    })
}

fn read_table(c: &Cursor) -> Result<TableDefinition, JsonError> {
    Ok(TableDefinition {
        name: c.req_str("name")?,
        dart_name: c.opt_str("dartName")?,
        module: c.opt_str("module")?,
        schema: c.opt_str("schema")?.unwrap_or_else(|| "public".to_string()),
        table_space: c.opt_str("tableSpace")?,
        columns: c.list("columns", read_column)?,
        foreign_keys: c.list("foreignKeys", read_foreign_key)?,
        indexes: c.list("indexes", read_index)?,
        managed: c.opt_bool("managed")?,
        keys: TableKeys {
            primary_key: c.field("primaryKey")?.map(|k| read_key(&k)).transpose()?,
            without_primary_key: c.bool_or("withoutPrimaryKey", false)?,
            unique: c.list("uniqueConstraints", read_key)?,
            checks: c.list("checkConstraints", read_check)?,
            exclusions: c.list("exclusionConstraints", read_exclusion)?,
        },
        partition_of: c.opt_str("partitionOf")?,
        layout: TableLayout {
            partition_key: c.opt_str("partitionBy")?,
            partition_bound: c.opt_str("partitionBound")?,
            inherits: c.strings("inherits")?,
            inherited_columns: c.strings("inheritedColumns")?,
            unlogged: c.bool_or("unlogged", false)?,
        },
    })
}

/// A `primaryKey` or `uniqueConstraints` entry (strata's own keys).
fn read_key(c: &Cursor) -> Result<KeyConstraint, JsonError> {
    let columns = c.strings("columns")?;
    if columns.is_empty() {
        return c.err("a key constraint needs at least one column in \"columns\"");
    }
    Ok(KeyConstraint {
        name: c.req_str("name")?,
        columns,
        nulls_not_distinct: c.bool_or("nullsNotDistinct", false)?,
        deferrable: c.name_enum("deferrable", "deferrable mode", Deferrable::from_name)?,
    })
}

/// A `checkConstraints` entry (strata's own key).
fn read_check(c: &Cursor) -> Result<CheckConstraint, JsonError> {
    Ok(CheckConstraint {
        name: c.req_str("name")?,
        expression: c.req_str("check")?,
        not_valid: c.bool_or("notValid", false)?,
        no_inherit: c.bool_or("noInherit", false)?,
    })
}

/// An `exclusionConstraints` entry (strata's own key).
fn read_exclusion(c: &Cursor) -> Result<ExclusionConstraint, JsonError> {
    Ok(ExclusionConstraint { name: c.req_str("name")?, definition: c.req_str("definition")? })
}

fn read_column(c: &Cursor) -> Result<ColumnDefinition, JsonError> {
    let column_type = c.index_enum("columnType", "column type", ColumnType::from_index)?;
    let Some(column_type) = column_type else {
        return c.err("missing required key \"columnType\"");
    };
    Ok(ColumnDefinition {
        name: c.req_str("name")?,
        field_name: c.opt_str("fieldName")?,
        column_type,
        is_nullable: c.req_bool("isNullable")?,
        column_default: c.opt_str("columnDefault")?,
        dart_type: c.opt_str("dartType")?,
        vector_dimension: c.opt_int("vectorDimension")?,
        native_type: c.opt_str("nativeType")?,
        identity: c.name_enum("identity", "identity", Identity::from_name)?,
        identity_options: c.name_enum("identityOptions", "identity options", IdentityOptions::parse)?,
        generated: c.opt_str("generated")?,
    })
}

fn read_foreign_key(c: &Cursor) -> Result<ForeignKeyDefinition, JsonError> {
    Ok(ForeignKeyDefinition {
        constraint_name: c.req_str("constraintName")?,
        columns: c.strings("columns")?,
        reference_table: c.req_str("referenceTable")?,
        reference_table_schema: c.opt_str("referenceTableSchema")?.unwrap_or_else(|| "public".to_string()),
        reference_columns: c.strings("referenceColumns")?,
        on_update: c.index_enum("onUpdate", "foreign key action", ForeignKeyAction::from_index)?,
        on_delete: c.index_enum("onDelete", "foreign key action", ForeignKeyAction::from_index)?,
        match_type: c.index_enum("matchType", "match type", ForeignKeyMatchType::from_index)?,
        deferrable: c.name_enum("deferrable", "deferrable mode", Deferrable::from_name)?,
    })
}

fn read_index(c: &Cursor) -> Result<IndexDefinition, JsonError> {
    let parameters = match c.field("parameters")? {
        None => None,
        Some(p) => {
            let mut out = Vec::new();
            // Through `Value`'s map, so that key order and repeated keys are exactly as before.
            for (k, v) in &object_map(p.obj()?) {
                let value = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        return p.err(format!(
                            "parameter \"{k}\": expected a string, found {}",
                            value_kind(other)
                        ))
                    }
                };
                out.push((k.clone(), value));
            }
            Some(out)
        }
    };
    Ok(IndexDefinition {
        index_name: c.req_str("indexName")?,
        table_space: c.opt_str("tableSpace")?,
        elements: c.list("elements", |e| {
            let descending = e.bool_or("descending", false)?;
            Ok(IndexElement {
                element_type: e
                    .index_enum("type", "index element type", IndexElementType::from_index)?
                    .unwrap_or(IndexElementType::Column),
                definition: e.req_str("definition")?,
                descending,
                nulls_first: e.bool_or("nullsFirst", descending)?,
                operator_class: e.opt_str("operatorClass")?,
                collation: e.opt_str("collation")?,
            })
        })?,
        index_type: c.req_str("type")?,
        is_unique: c.bool_or("isUnique", false)?,
        is_primary: c.bool_or("isPrimary", false)?,
        nulls_distinct: c.opt_bool("nullsDistinct")?,
        predicate: c.opt_str("predicate")?,
        gin_operator_class: c.name_enum(
            "ginOperatorClass",
            "gin operator class",
            GinOperatorClass::from_name,
        )?,
        vector_distance_function: c.name_enum(
            "vectorDistanceFunction",
            "vector distance function",
            VectorDistanceFunction::from_name,
        )?,
        vector_column_type: c.index_enum("vectorColumnType", "column type", ColumnType::from_index)?,
        parameters,
        include: c.strings("include")?,
    })
}

fn read_migration(c: &Cursor) -> Result<DatabaseMigration, JsonError> {
    Ok(DatabaseMigration {
        actions: c.list("actions", read_action)?,
        warnings: c.list("warnings", read_warning)?,
        migration_api_version: c.opt_int("migrationApiVersion")?.unwrap_or(MIGRATION_API_VERSION),
    })
}

fn read_action(c: &Cursor) -> Result<MigrationAction, JsonError> {
    let ty = c.req("type")?;
    let name = ty.string()?;
    match MigrationActionType::from_name(&name) {
        Some(MigrationActionType::DeleteTable) => Ok(MigrationAction::DeleteTable(c.req_str("deleteTable")?)),
        Some(MigrationActionType::CreateTable) => {
            Ok(MigrationAction::CreateTable(read_table(&c.req("createTable")?)?))
        }
        Some(MigrationActionType::CreateTableIfNotExists) => {
            Ok(MigrationAction::CreateTableIfNotExists(read_table(&c.req("createTable")?)?))
        }
        Some(MigrationActionType::AlterTable) => {
            Ok(MigrationAction::AlterTable(read_table_migration(&c.req("alterTable")?)?))
        }
        None => ty.err(format!("unknown action type \"{name}\"")),
    }
}

fn read_table_migration(c: &Cursor) -> Result<TableMigration, JsonError> {
    Ok(TableMigration {
        name: c.req_str("name")?,
        new_name: c.opt_str("newName")?,
        dart_name: c.opt_str("dartName")?,
        module: c.opt_str("module")?,
        schema: c.opt_str("schema")?.unwrap_or_else(|| "public".to_string()),
        add_columns: c.list("addColumns", read_column)?,
        delete_columns: c.strings("deleteColumns")?,
        modify_columns: c.list("modifyColumns", read_column_migration)?,
        add_indexes: c.list("addIndexes", read_index)?,
        delete_indexes: c.strings("deleteIndexes")?,
        add_foreign_keys: c.list("addForeignKeys", read_foreign_key)?,
        delete_foreign_keys: c.strings("deleteForeignKeys")?,
        keys: match c.field("keyChanges")? {
            Some(k) => read_key_migration(&k)?,
            None => KeyMigration::default(),
        },
        layout: match c.field("layoutChanges")? {
            Some(l) => read_layout_migration(&l)?,
            None => LayoutMigration::default(),
        },
        warnings: c.list("warnings", read_warning)?,
    })
}

/// An `alterTable`'s `layoutChanges` (strata's own key).
fn read_layout_migration(c: &Cursor) -> Result<LayoutMigration, JsonError> {
    let attach_to = match c.opt_str("attachTo")? {
        Some(parent) => Some(PartitionPlace { parent, bound: c.req_str("attachBound")? }),
        None => None,
    };
    Ok(LayoutMigration {
        detach_from: c.opt_str("detachFrom")?,
        attach_to,
        drop_inherits: c.strings("noInherit")?,
        add_inherits: c.strings("inherit")?,
        set_unlogged: c.opt_bool("setUnlogged")?,
    })
}

/// An `alterTable`'s `keyChanges` (strata's own key).
fn read_key_migration(c: &Cursor) -> Result<KeyMigration, JsonError> {
    Ok(KeyMigration {
        drop: c.strings("dropConstraints")?,
        rename: c.list("renameConstraints", |r| Ok((r.req_str("from")?, r.req_str("to")?)))?,
        add_primary_key: c.field("addPrimaryKey")?.map(|k| read_key(&k)).transpose()?,
        add_unique: c.list("addUniqueConstraints", read_key)?,
        add_checks: c.list("addCheckConstraints", read_check)?,
        add_exclusions: c.list("addExclusionConstraints", read_exclusion)?,
    })
}

fn read_column_migration(c: &Cursor) -> Result<ColumnMigration, JsonError> {
    Ok(ColumnMigration {
        column_name: c.req_str("columnName")?,
        new_column_name: c.opt_str("newColumnName")?,
        add_nullable: c.bool_or("addNullable", false)?,
        remove_nullable: c.bool_or("removeNullable", false)?,
        change_default: c.bool_or("changeDefault", false)?,
        new_default: c.opt_str("newDefault")?,
        new_type: c.index_enum("newType", "column type", ColumnType::from_index)?,
        new_native_type: c.opt_str("newNativeType")?,
        change_identity: c.bool_or("changeIdentity", false)?,
        new_identity: c.name_enum("newIdentity", "identity", Identity::from_name)?,
        new_identity_options: c.name_enum(
            "newIdentityOptions",
            "identity options",
            IdentityOptions::parse,
        )?,
        drop_expression: c.bool_or("dropExpression", false)?,
    })
}

fn read_warning(c: &Cursor) -> Result<MigrationWarning, JsonError> {
    let ty = c.req("type")?;
    let name = ty.string()?;
    let Some(warning_type) = WarningType::from_name(&name) else {
        return ty.err(format!("unknown warning type \"{name}\""));
    };
    Ok(MigrationWarning {
        warning_type,
        message: c.req_str("message")?,
        table: c.req_str("table")?,
        columns: c.strings("columns")?,
        // Serverpod's key is misspelled; accept the correct spelling too.
        destructive: match c.opt_bool("destrucive")? {
            Some(b) => b,
            None => c.bool_or("destructive", false)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> TableDefinition {
        TableDefinition {
            name: name.into(),
            schema: "public".into(),
            columns: vec![ColumnDefinition { name: "id".into(), ..Default::default() }],
            ..Default::default()
        }
    }

    /// Splicing the shared tables gives exactly what serialising each definition gives.
    #[test]
    fn definitions_to_json_matches_definition_to_json() {
        let mut project = DatabaseDefinition::empty("m");
        for name in ["\n  \"tables\": []", "a", "b"] {
            project.tables.push(table(name));
        }
        project.name = Some("x\n  \"tables\": [],".into());
        project.installed_modules = vec![MigrationVersion::dependency("auth", "1")];
        let mut target = project.clone();
        target.installed_modules.insert(0, MigrationVersion::project("m", "2"));
        for (p, t) in [(&project, &target), (&target, &project), (&project, &project)] {
            assert_eq!(definitions_to_json(p, t), (definition_to_json(p), definition_to_json(t)));
        }
        let mut empty = project.clone();
        empty.tables.clear();
        let mut empty_target = target.clone();
        empty_target.tables.clear();
        assert_eq!(
            definitions_to_json(&empty, &empty_target),
            (definition_to_json(&empty), definition_to_json(&empty_target))
        );
        target.tables.push(table("module_table"));
        assert_eq!(
            definitions_to_json(&project, &target),
            (definition_to_json(&project), definition_to_json(&target))
        );
    }
}

#[cfg(test)]
mod typed_tests {
    use super::*;

    /// Where the fast path reads a file, it reads exactly what the tree walk reads.
    fn check(text: &str) -> (bool, bool) {
        let d = typed::definition(text);
        if let Some(d) = &d {
            assert_eq!(Ok(d), tree_definition(text).as_ref(), "definition differs: {text}");
        }
        let m = typed::migration(text);
        if let Some(m) = &m {
            assert_eq!(Ok(m), tree_migration(text).as_ref(), "migration differs: {text}");
        }
        (d.is_some(), m.is_some())
    }

    #[test]
    fn fast_path_agrees_with_the_tree_walk_on_every_fixture() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        let mut stack = vec![root];
        let (mut files, mut fast) = (0, 0);
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let (d, m) = check(&text);
                    files += 1;
                    fast += usize::from(d || m);
                }
            }
        }
        assert!(files > 100 && fast * 2 > files, "{fast} of {files} read by the fast path");
    }

    #[test]
    fn both_paths_read_keys_identity_and_partitions_alike() {
        let table = r#"{"name":"t","columns":[{"name":"n","columnType":2,"isNullable":false,"identity":"always"}],
            "primaryKey":{"name":"t_pk","columns":["a","b"]},"withoutPrimaryKey":false,
            "uniqueConstraints":[{"name":"t_u","columns":["c"],"nullsNotDistinct":true,"deferrable":"initiallyDeferred"}],
            "checkConstraints":[{"name":"t_c","check":"(a > 0)","notValid":true},{"name":"t_d","check":"(b > 0)","noInherit":true}],
            "exclusionConstraints":[{"name":"t_x","definition":"EXCLUDE USING gist (r WITH &&)"}],"partitionOf":"p"}"#;
        let def = format!(r#"{{"moduleName":"m","schemaVersion":2,"tables":[{table}]}}"#);
        assert!(check(&def).0);
        let keys = &tree_definition(&def).unwrap().tables[0].keys;
        assert_eq!((keys.checks.len(), keys.exclusions.len()), (2, 1));
        assert!(keys.checks[0].not_valid && !keys.checks[0].no_inherit && keys.checks[1].no_inherit);
        assert_eq!(keys.unique[0].deferrable, Some(Deferrable::InitiallyDeferred));
        let migration = r#"{"actions":[{"type":"alterTable","alterTable":{"name":"c",
             "modifyColumns":[{"columnName":"y","changeIdentity":true,"newIdentity":"byDefault"}],
             "keyChanges":{"dropConstraints":["a"],"renameConstraints":[{"from":"b","to":"c"}],
             "addUniqueConstraints":[{"name":"d","columns":["x"]}]}}}]}"#;
        // keyChanges only has the general path.
        assert!(!check(migration).1);
        let m = tree_migration(migration).unwrap();
        let MigrationAction::AlterTable(change) = &m.actions[0] else { panic!("{m:?}") };
        assert_eq!(change.keys.rename, vec![("b".to_string(), "c".to_string())]);
        assert_eq!(change.modify_columns[0].new_identity, Some(Identity::ByDefault));
        // An unknown identity is refused, with its path.
        let bad = def.replace("\"always\"", "\"sometimes\"");
        assert!(!check(&bad).0);
        assert_eq!(
            definition_from_json(&bad).unwrap_err().to_string(),
            "at $.tables[0].columns[0].identity: unknown identity \"sometimes\""
        );
    }

    /// `identityOptions` and `newIdentityOptions` read alike on both paths, round-trip, and
    /// anything but their canonical text is refused with its path (it becomes SQL).
    #[test]
    fn identity_options_round_trip_on_both_paths_and_bad_text_is_refused() {
        let column = r#"{"name":"n","columnType":2,"isNullable":false,"identity":"always","identityOptions":"START WITH 100 CYCLE"}"#;
        let def = format!(
            r#"{{"moduleName":"m","schemaVersion":2,"tables":[{{"name":"t","columns":[{column}]}}]}}"#
        );
        assert!(check(&def).0);
        let read = definition_from_json(&def).unwrap();
        let options = read.tables[0].columns[0].identity_options.expect("the options");
        assert_eq!((options.start, options.cycle), (Some(100), true));
        assert!(definition_to_json(&read).contains("\"identityOptions\": \"START WITH 100 CYCLE\""));
        let migration = r#"{"actions":[{"type":"alterTable","alterTable":{"name":"c",
             "modifyColumns":[{"columnName":"y","changeIdentity":true,"newIdentity":"always","newIdentityOptions":"CACHE 5"}]}}]}"#;
        let m = migration_from_json(migration).unwrap();
        let MigrationAction::AlterTable(change) = &m.actions[0] else { panic!("{m:?}") };
        assert_eq!(change.modify_columns[0].new_identity_options.map(|o| o.cache), Some(Some(5)));
        let bad = def.replace("START WITH 100 CYCLE", "START WITH 1; DROP TABLE t");
        assert!(!check(&bad).0);
        assert_eq!(
            definition_from_json(&bad).unwrap_err().to_string(),
            "at $.tables[0].columns[0].identityOptions: unknown identity options \"START WITH 1; DROP TABLE t\""
        );
    }

    /// `generated` and `dropExpression` read alike on both paths and are written only when set.
    #[test]
    fn generated_columns_round_trip_on_both_paths() {
        let column = r#"{"name":"g","columnType":2,"isNullable":true,"generated":"(a + 1)"}"#;
        let def = format!(
            r#"{{"moduleName":"m","schemaVersion":2,"tables":[{{"name":"t","columns":[{column}]}}]}}"#
        );
        assert!(check(&def).0);
        let read = definition_from_json(&def).unwrap();
        assert_eq!(read.tables[0].columns[0].generated.as_deref(), Some("(a + 1)"));
        assert!(definition_to_json(&read).contains(r#""generated": "(a + 1)""#));
        let mut plain = read.clone();
        plain.tables[0].columns[0].generated = None;
        assert!(!definition_to_json(&plain).contains("generated"));

        let migration = r#"{"actions":[{"type":"alterTable","alterTable":{"name":"t",
             "modifyColumns":[{"columnName":"g","dropExpression":true}]}}]}"#;
        assert!(check(migration).1);
        let m = tree_migration(migration).unwrap();
        let MigrationAction::AlterTable(change) = &m.actions[0] else { panic!("{m:?}") };
        assert!(change.modify_columns[0].drop_expression);
        assert!(migration_to_json(&m).contains(r#""dropExpression": true"#));
        let mut kept = m.clone();
        let MigrationAction::AlterTable(change) = &mut kept.actions[0] else { unreachable!() };
        change.modify_columns[0].drop_expression = false;
        assert!(!migration_to_json(&kept).contains("dropExpression"));
    }

    #[test]
    fn both_paths_read_index_details_and_writing_keeps_them_only_where_set() {
        let index = r#"{"indexName":"i","type":"btree","elements":[
            {"type":0,"definition":"a","descending":true},
            {"type":0,"definition":"b","nullsFirst":true,"operatorClass":"text_pattern_ops","collation":"C"},
            {"type":0,"definition":"c","descending":true,"nullsFirst":false},
            {"type":0,"definition":"d","descending":true,"nullsFirst":true}],
            "isUnique":false,"isPrimary":false,"parameters":{"fillfactor":"70"},"include":["e"]}"#;
        let def = format!(
            r#"{{"moduleName":"m","schemaVersion":2,"tables":[{{"name":"t","indexes":[{index}]}}]}}"#
        );
        assert!(check(&def).0);
        let read = definition_from_json(&def).unwrap();
        let i = &read.tables[0].indexes[0];
        let orders: Vec<(bool, bool)> = i.elements.iter().map(|e| (e.descending, e.nulls_first)).collect();
        // An absent nullsFirst is the direction's default: first for DESC, last for ASC.
        assert_eq!(orders, [(true, true), (false, true), (true, false), (true, true)]);
        assert_eq!(i.elements[1].operator_class.as_deref(), Some("text_pattern_ops"));
        assert_eq!(i.elements[1].collation.as_deref(), Some("C"));
        assert_eq!(i.include, ["e"]);
        let written = definition_to_json(&read);
        assert_eq!(definition_from_json(&written).unwrap(), read);
        // The redundant `"nullsFirst": true` on a DESC element is not written back.
        assert_eq!(written.matches("nullsFirst").count(), 2, "{written}");
        assert_eq!(written.matches("\"include\"").count(), 1, "{written}");
        // An element in the default order with default class and collation writes Serverpod's
        // keys only.
        let plain = to_serverpod_json(&IndexElement::column("a"));
        assert_eq!(plain, "{\n  \"__className__\": \"serverpod.IndexElementDefinition\",\n  \"type\": 0,\n  \"definition\": \"a\"\n}");
        let no_include = to_serverpod_json(&IndexDefinition { index_name: "i".into(), ..Default::default() });
        assert!(!no_include.contains("include"), "{no_include}");
    }

    #[test]
    fn fast_path_declines_what_the_tree_walk_treats_differently() {
        let table = r#"{"name":"t","columns":[{"name":"id","columnType":6,"isNullable":false}]}"#;
        let def = |tables: &str| format!(r#"{{"moduleName":"m","schemaVersion":2,"tables":[{tables}]}}"#);
        assert!(check(&def(table)).0);
        // A struct given as an array, a repeated key, an unknown code, a float, a null item.
        for bad in [
            r#"["t",null,null,"public"]"#.to_string(),
            table.replace(r#""name":"t""#, r#""name":"t","name":"u""#),
            table.replace("6", "99"),
            table.replace("6", "6.0"),
            table.replace(r#""columns":["#, r#""columns":[null,"#),
        ] {
            assert!(!check(&def(&bad)).0, "{bad}");
        }
        assert_eq!(check("[\"m\"]"), (false, false));
        // Nulls read as absent, unknown keys are ignored, escaped keys are keys.
        let odd = r#"{"moduleName":"m","name":null,"x":[1],"tables":[{"\u006eame":"t","managed":null,
            "indexes":[{"indexName":"i","type":"btree","elements":[{"definition":"a"}],
            "parameters":{"z":"1","a":2,"m":"3"}}]}],"installedModules":[
            {"__className__":"serverpod.DatabaseMigrationVersionModel","module":"m","version":"1"}]}"#;
        assert!(check(odd).0);
        let migration = r#"{"actions":[{"type":"deleteTable","deleteTable":"a"},
            {"type":"createTableIfNotExists","createTable":{"name":"b"}},
            {"type":"alterTable","alterTable":{"name":"c","addColumns":[],"deleteColumns":["x"],
             "modifyColumns":[{"columnName":"y","newType":3,"changeDefault":true,"newDefault":"1"}],
             "warnings":[{"type":"columnDropped","message":"m","table":"c","columns":["x"],
             "destructive":true}]}}],"warnings":[{"type":"tableDropped","message":"m","table":"a",
             "columns":[],"destrucive":false,"destructive":true}]}"#;
        assert!(check(migration).1);
        assert_eq!(
            check(&migration.replace("deleteTable\",\"deleteTable", "deleteTable\",\"x")),
            (false, false)
        );
    }
}
