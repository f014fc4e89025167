//! YAML documents -> located model definitions (classes, exceptions, enums), before any
//! cross-file resolution. Every problem is pushed to the [`Sink`] and parsing carries on.

use std::collections::HashSet;

use strata_schema::{Deferrable, ForeignKeyAction, GinOperatorClass, VectorDistanceFunction};

use crate::names;
use crate::spec::{self, Item, ItemValue, TypeExpr};
use crate::yaml::{Kind, Loc, Node, Style};

/// Collects diagnostics for one run; `file` indexes the input slice.
#[derive(Debug, Default)]
pub struct Sink {
    pub errors: Vec<(usize, Loc, String)>,
}

impl Sink {
    pub fn err(&mut self, file: usize, loc: Loc, message: impl Into<String>) {
        self.errors.push((file, loc, message.into()));
    }
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub loc: Loc,
}

fn located<T>(value: T, loc: Loc) -> Located<T> {
    Located { value, loc }
}

/// Which databases a class's table is generated for (`database:` key, Serverpod 4.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    Server,
    Client,
    All,
}

#[derive(Debug, Clone)]
pub struct RelationSpec {
    pub loc: Loc,
    pub parent: Option<Located<String>>,
    pub field: Option<Located<String>>,
    pub name: Option<Located<String>>,
    pub on_update: Option<ForeignKeyAction>,
    pub on_delete: Option<ForeignKeyAction>,
    pub optional: bool,
    pub deferrable: Option<Deferrable>,
}

#[derive(Debug, Clone)]
pub struct UniqueSpec {
    pub loc: Loc,
    pub per: Vec<Located<String>>,
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub loc: Loc,
    pub ty: TypeExpr,
    pub type_loc: Loc,
    pub persist: bool,
    pub persist_loc: Option<Loc>,
    pub scope: Option<Located<String>>,
    pub column: Option<Located<String>>,
    pub default: Option<Located<String>>,
    pub default_model: Option<Located<String>>,
    pub default_persist: Option<Located<String>>,
    pub relation: Option<RelationSpec>,
    pub unique: Option<UniqueSpec>,
    pub tail: bool,
    pub jsonb: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct IndexDef {
    pub name: String,
    pub loc: Loc,
    pub fields: Vec<Located<String>>,
    pub index_type: Option<Located<String>>,
    pub unique: bool,
    pub nulls_distinct: Option<Located<bool>>,
    pub distance: Option<Located<VectorDistanceFunction>>,
    pub parameters: Option<Located<Vec<(String, String)>>>,
    pub operator_class: Option<Located<GinOperatorClass>>,
}

#[derive(Debug, Clone)]
pub struct ClassDef {
    pub file: usize,
    pub name: String,
    pub loc: Loc,
    pub table: Option<Located<String>>,
    pub managed: bool,
    pub database: Database,
    pub extends: Option<Located<String>>,
    pub jsonb: Option<bool>,
    pub fields: Vec<FieldDef>,
    pub indexes: Vec<IndexDef>,
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub file: usize,
    pub name: String,
    pub loc: Loc,
    pub by_index: bool,
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Def {
    Class(ClassDef),
    Enum(EnumDef),
}

impl Def {
    pub fn name(&self) -> &str {
        match self {
            Def::Class(c) => &c.name,
            Def::Enum(e) => &e.name,
        }
    }
    pub fn loc(&self) -> Loc {
        match self {
            Def::Class(c) => c.loc,
            Def::Enum(e) => e.loc,
        }
    }
    pub fn file(&self) -> usize {
        match self {
            Def::Class(c) => c.file,
            Def::Enum(e) => e.file,
        }
    }
}

const CLASS_KEYS: &[&str] = &[
    "class",
    "table",
    "managedMigration",
    "database",
    "serverOnly",
    "extends",
    "sealed",
    "immutable",
    "serializationDataType",
    "fields",
    "indexes",
];
const EXCEPTION_KEYS: &[&str] =
    &["exception", "serverOnly", "extends", "sealed", "immutable", "serializationDataType", "fields"];
const ENUM_KEYS: &[&str] = &["enum", "serialized", "values", "default", "serverOnly", "properties"];
const FIELD_KEYS: &[&str] = &[
    "type",
    "relation",
    "scope",
    "persist",
    "required",
    "serializationDataType",
    "default",
    "defaultModel",
    "defaultPersist",
    "column",
    "jsonKey",
    "unique",
    "tail",
];
const RELATION_KEYS: &[&str] =
    &["parent", "field", "name", "onUpdate", "onDelete", "optional", "deferrable", "deferred"];
const INDEX_KEYS: &[&str] =
    &["fields", "type", "unique", "nulls_distinct", "distanceFunction", "parameters", "operatorClass"];

fn map_entries(node: &Node) -> Option<&[(Node, Node)]> {
    match &node.kind {
        Kind::Map(entries) => Some(entries),
        _ => None,
    }
}

fn key_text(k: &Node) -> &str {
    k.as_str().unwrap_or("")
}

fn expect_bool(sink: &mut Sink, file: usize, key: &str, v: &Node) -> Option<bool> {
    let b = v.as_bool();
    if b.is_none() {
        sink.err(file, v.loc, format!("\"{key}\" must be true or false"));
    }
    b
}

fn expect_scalar<'a>(sink: &mut Sink, file: usize, key: &str, v: &'a Node) -> Option<&'a str> {
    match v.as_str() {
        Some(s) if !v.is_null() => Some(s),
        _ => {
            sink.err(
                file,
                v.loc,
                format!(
                    "\"{key}\" needs a single value, found {}",
                    if v.is_null() { "nothing" } else { v.describe() }
                ),
            );
            None
        }
    }
}

fn parse_jsonb(sink: &mut Sink, file: usize, v: &Node) -> Option<bool> {
    match v.as_str() {
        Some("json") => Some(false),
        Some("jsonb") => Some(true),
        _ => {
            sink.err(file, v.loc, "\"serializationDataType\" must be json or jsonb");
            None
        }
    }
}

/// Parses one file's documents into definitions.
pub fn parse_file(file: usize, docs: &[Node], sink: &mut Sink) -> Option<Def> {
    let root = match docs {
        [] => {
            sink.err(file, Loc::new(1, 1), "the model file is empty; it needs a class, exception or enum");
            return None;
        }
        [root] => root,
        [_, second, ..] => {
            sink.err(
                file,
                second.loc,
                "a model file holds exactly one YAML document; move the others to their own files",
            );
            return None;
        }
    };
    let Some(entries) = map_entries(root) else {
        sink.err(
            file,
            root.loc,
            format!(
                "a model file must be a map with a class, exception or enum key, found {}",
                root.describe()
            ),
        );
        return None;
    };
    let kinds: Vec<&(Node, Node)> =
        entries.iter().filter(|(k, _)| matches!(key_text(k), "class" | "exception" | "enum")).collect();
    match kinds.as_slice() {
        [] => {
            sink.err(file, root.loc, "a model file needs exactly one of the keys class, exception or enum");
            None
        }
        [(k, v)] => match key_text(k) {
            "enum" => parse_enum(file, entries, v, sink).map(Def::Enum),
            kind => parse_class(file, entries, kind == "exception", v, sink).map(Def::Class),
        },
        [_, (k2, _), ..] => {
            sink.err(file, k2.loc, format!("\"{}\" conflicts with another kind key; a model file declares exactly one of class, exception or enum", key_text(k2)));
            None
        }
    }
}

fn type_name(sink: &mut Sink, file: usize, key: &str, v: &Node) -> Option<String> {
    let name = expect_scalar(sink, file, key, v)?;
    if !names::is_class_name(name) {
        sink.err(
            file,
            v.loc,
            format!("\"{name}\" is not a valid {key} name; use PascalCase such as MyModel"),
        );
        return None;
    }
    Some(name.to_string())
}

fn unknown_key(sink: &mut Sink, file: usize, k: &Node, what: &str, allowed: &[&str]) {
    sink.err(
        file,
        k.loc,
        format!("unknown key \"{}\" in {what}; valid keys are {}", key_text(k), allowed.join(", ")),
    );
}

fn parse_enum(file: usize, entries: &[(Node, Node)], name_node: &Node, sink: &mut Sink) -> Option<EnumDef> {
    let name = type_name(sink, file, "enum", name_node)?;
    let mut def = EnumDef { file, name, loc: name_node.loc, by_index: false, values: Vec::new() };
    let mut saw_values = false;
    for (k, v) in entries {
        match key_text(k) {
            "enum" | "default" | "properties" => {}
            "serverOnly" => {
                expect_bool(sink, file, "serverOnly", v);
            }
            "serialized" => match v.as_str() {
                Some("byName") => def.by_index = false,
                Some("byIndex") => def.by_index = true,
                _ => sink.err(file, v.loc, "\"serialized\" must be byName or byIndex"),
            },
            "values" => {
                saw_values = true;
                let Kind::Seq(items) = &v.kind else {
                    sink.err(file, v.loc, "\"values\" must be a list of enum values");
                    continue;
                };
                // One lookup per value, so a long enum stays linear.
                let mut seen: HashSet<&str> = HashSet::new();
                for item in items {
                    let (text, loc) = match &item.kind {
                        Kind::Scalar(s, _) => (s.as_str(), item.loc),
                        Kind::Map(e) if e.len() == 1 => (key_text(&e[0].0), e[0].0.loc),
                        _ => {
                            sink.err(
                                file,
                                item.loc,
                                "an enum value must be a name or a single-key map of properties",
                            );
                            continue;
                        }
                    };
                    if !names::is_enum_value_name(text) {
                        sink.err(
                            file,
                            loc,
                            format!(
                                "\"{text}\" is not a valid enum value; use letters, digits and \
                                 underscores, not starting with a digit (e.g. lowerCamelCase)"
                            ),
                        );
                    } else if !seen.insert(text) {
                        sink.err(file, loc, format!("duplicate enum value \"{text}\""));
                    } else {
                        def.values.push(text.to_string());
                    }
                }
            }
            "table" => sink.err(
                file,
                k.loc,
                "only a class can have a table; an enum is stored in a text or bigint column",
            ),
            _ => unknown_key(sink, file, k, "an enum", ENUM_KEYS),
        }
    }
    if !saw_values {
        sink.err(file, name_node.loc, format!("enum \"{}\" needs a \"values\" list", def.name));
    }
    Some(def)
}

fn parse_class(
    file: usize,
    entries: &[(Node, Node)],
    is_exception: bool,
    name_node: &Node,
    sink: &mut Sink,
) -> Option<ClassDef> {
    let kind = if is_exception { "exception" } else { "class" };
    let name = type_name(sink, file, kind, name_node)?;
    let mut def = ClassDef {
        file,
        name,
        loc: name_node.loc,
        table: None,
        managed: true,
        database: Database::Server,
        extends: None,
        jsonb: None,
        fields: Vec::new(),
        indexes: Vec::new(),
    };
    let allowed = if is_exception { EXCEPTION_KEYS } else { CLASS_KEYS };
    let mut sealed: Option<Loc> = None;
    let mut fields_node = None;
    let mut indexes_node = None;
    for (k, v) in entries {
        let key = key_text(k);
        if key == kind {
            continue;
        }
        if !allowed.contains(&key) {
            if key == "table" {
                sink.err(
                    file,
                    k.loc,
                    "only a class can have a table; change \"exception:\" to \"class:\" or remove \"table\"",
                );
            } else {
                unknown_key(sink, file, k, &format!("{kind} \"{}\"", def.name), allowed);
            }
            continue;
        }
        match key {
            "table" => {
                if let Some(t) = expect_scalar(sink, file, "table", v) {
                    if let Err(msg) = names::check_table_name(t) {
                        sink.err(file, v.loc, msg);
                    }
                    def.table = Some(located(t.to_string(), v.loc));
                }
            }
            "managedMigration" => def.managed = expect_bool(sink, file, key, v).unwrap_or(true),
            "serverOnly" | "immutable" => {
                expect_bool(sink, file, key, v);
            }
            "sealed" if expect_bool(sink, file, key, v) == Some(true) => sealed = Some(k.loc),
            "sealed" => {}
            "database" => match v.as_str() {
                Some("server") => def.database = Database::Server,
                Some("client") => def.database = Database::Client,
                Some("all") => def.database = Database::All,
                _ => sink.err(file, v.loc, "\"database\" must be server, client or all"),
            },
            "extends" => {
                if let Some(p) = type_name(sink, file, "extends", v) {
                    def.extends = Some(located(p, v.loc));
                }
            }
            "serializationDataType" => def.jsonb = parse_jsonb(sink, file, v),
            "fields" => fields_node = Some(v),
            "indexes" => indexes_node = Some(v),
            _ => {}
        }
    }
    if let (Some(loc), Some(_)) = (sealed, &def.table) {
        sink.err(file, loc, "a sealed class cannot have a table; remove \"sealed\" or \"table\"");
    }
    if let Some(v) = fields_node {
        if let Some(entries) = map_entries(v) {
            for (k, fv) in entries {
                if let Some(f) = parse_field(file, k, fv, sink) {
                    def.fields.push(f);
                }
            }
        } else if !v.is_null() {
            sink.err(
                file,
                v.loc,
                format!("\"fields\" must be a map of field names to types, found {}", v.describe()),
            );
        }
    }
    if let Some(v) = indexes_node {
        if let Some(entries) = map_entries(v) {
            for (k, iv) in entries {
                if let Some(i) = parse_index(file, k, iv, sink) {
                    def.indexes.push(i);
                }
            }
        } else if !v.is_null() {
            sink.err(
                file,
                v.loc,
                format!("\"indexes\" must be a map of index names to definitions, found {}", v.describe()),
            );
        }
    }
    Some(def)
}

/// Converts a YAML map (the map form of a field or a `relation:` sub-map) into items.
fn items_from_map(file: usize, entries: &[(Node, Node)], sink: &mut Sink, nested: bool) -> Vec<Item> {
    let mut out = Vec::new();
    for (k, v) in entries {
        let key = key_text(k).to_string();
        let loc = v.loc;
        match &v.kind {
            _ if v.is_null() => out.push(Item { key, value: ItemValue::Flag(true), loc: k.loc }),
            Kind::Scalar(..) => {
                let value = match v.as_bool() {
                    Some(b) => ItemValue::Flag(b),
                    None => ItemValue::Value(v.raw_scalar().unwrap_or_default()),
                };
                out.push(Item { key, value, loc });
            }
            Kind::Map(sub) if !nested => {
                out.push(Item { key, value: ItemValue::Sub(items_from_map(file, sub, sink, true)), loc })
            }
            Kind::Seq(list) if nested => {
                for el in list {
                    match el.as_str() {
                        Some(s) => out.push(Item {
                            key: key.clone(),
                            value: ItemValue::Value(s.to_string()),
                            loc: el.loc,
                        }),
                        None => sink.err(file, el.loc, format!("\"{key}\" list entries must be names")),
                    }
                }
            }
            _ => sink.err(file, loc, format!("\"{key}\" cannot be {} here", v.describe())),
        }
    }
    out
}

fn parse_field(file: usize, k: &Node, v: &Node, sink: &mut Sink) -> Option<FieldDef> {
    let name = key_text(k).to_string();
    if let Err(msg) = names::check_field_name(&name, "field") {
        sink.err(file, k.loc, msg);
        return None;
    }
    let (type_text, type_loc, items) = match &v.kind {
        Kind::Scalar(text, style) if !v.is_null() => {
            let base = if matches!(style, Style::SingleQuoted | Style::DoubleQuoted) {
                v.loc.shifted(1)
            } else {
                v.loc
            };
            let mut pieces = spec::split_top_level(text);
            // Serverpod ignores a trailing comma (`field: CustomClass,`); an empty item inside
            // the list is still reported, it is most likely a lost key.
            if pieces.len() > 1 && pieces.last().is_some_and(|(_, p)| p.is_empty()) {
                pieces.pop();
            }
            let mut pieces = pieces.into_iter();
            let (toff, ttext) = pieces.next().unwrap_or((0, String::new()));
            let mut items = Vec::new();
            for (off, piece) in pieces {
                if piece.is_empty() {
                    sink.err(
                        file,
                        base.shifted(off),
                        format!("empty item in the definition of field \"{name}\"; remove the extra comma"),
                    );
                    continue;
                }
                match spec::parse_item(&piece, base.shifted(off)) {
                    Ok(item) => items.push(item),
                    Err(msg) => sink.err(file, base.shifted(off), format!("field \"{name}\": {msg}")),
                }
            }
            (ttext, base.shifted(toff), items)
        }
        Kind::Map(entries) => {
            let items = items_from_map(file, entries, sink, false);
            let Some(t) = items.iter().find(|i| i.key == "type") else {
                sink.err(
                    file,
                    v.loc,
                    format!("field \"{name}\" is written as a map but has no \"type\" key"),
                );
                return None;
            };
            let ItemValue::Value(text) = &t.value else {
                sink.err(file, t.loc, format!("the \"type\" of field \"{name}\" must be a type name"));
                return None;
            };
            let (text, loc) = (text.clone(), t.loc);
            (text, loc, items.into_iter().filter(|i| i.key != "type").collect())
        }
        _ => {
            sink.err(file, v.loc, format!("field \"{name}\" needs a type, e.g. \"{name}: String\""));
            return None;
        }
    };
    let ty = match spec::parse_type(&type_text) {
        Ok(t) => t,
        Err(msg) => {
            sink.err(file, type_loc, format!("field \"{name}\": {msg}"));
            return None;
        }
    };
    let mut f = FieldDef {
        name,
        loc: k.loc,
        ty,
        type_loc,
        persist: true,
        persist_loc: None,
        scope: None,
        column: None,
        default: None,
        default_model: None,
        default_persist: None,
        relation: None,
        unique: None,
        tail: false,
        jsonb: None,
    };
    let mut seen: Vec<(String, Loc)> = Vec::new();
    for item in items {
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == item.key) {
            sink.err(
                file,
                item.loc,
                format!(
                    "\"{}\" is given twice for field \"{}\" (first at line {}, column {})",
                    item.key, f.name, first.line, first.column
                ),
            );
            continue;
        }
        seen.push((item.key.clone(), item.loc));
        apply_field_item(file, &mut f, item, sink);
    }
    check_field_combinations(file, &f, sink);
    Some(f)
}

/// Keys that Serverpod documents as mutually exclusive on one field.
fn check_field_combinations(file: usize, f: &FieldDef, sink: &mut Sink) {
    if f.relation.is_some() {
        for (key, v) in [
            ("default", &f.default),
            ("defaultModel", &f.default_model),
            ("defaultPersist", &f.default_persist),
        ] {
            if let Some(v) = v {
                sink.err(
                    file,
                    v.loc,
                    format!(
                        "{key} cannot be combined with relation on field \"{}\"; remove one of them",
                        f.name
                    ),
                );
            }
        }
        if let (false, Some(loc)) = (f.persist, f.persist_loc) {
            sink.err(
                file,
                loc,
                format!("a relation field is always persisted; remove !persist from field \"{}\"", f.name),
            );
        }
    }
    if let (false, Some(v)) = (f.persist, &f.default_persist) {
        sink.err(file, v.loc, format!("defaultPersist cannot be used on field \"{}\", which is not persisted (!persist); use defaultModel instead", f.name));
    }
}

fn value_of(file: usize, field: &str, item: &Item, sink: &mut Sink) -> Option<String> {
    match &item.value {
        ItemValue::Value(v) if !v.is_empty() => Some(v.clone()),
        _ => {
            sink.err(
                file,
                item.loc,
                format!("\"{}\" of field \"{field}\" needs a value: {}=<value>", item.key, item.key),
            );
            None
        }
    }
}

fn flag_of(file: usize, field: &str, item: &Item, sink: &mut Sink) -> Option<bool> {
    match &item.value {
        ItemValue::Flag(b) => Some(*b),
        ItemValue::Value(v) if v == "true" => Some(true),
        ItemValue::Value(v) if v == "false" => Some(false),
        _ => {
            sink.err(
                file,
                item.loc,
                format!(
                    "\"{}\" of field \"{field}\" is a flag: write {} or !{}",
                    item.key, item.key, item.key
                ),
            );
            None
        }
    }
}

fn apply_field_item(file: usize, f: &mut FieldDef, item: Item, sink: &mut Sink) {
    let name = f.name.clone();
    match item.key.as_str() {
        "parent" => sink.err(
            file,
            item.loc,
            format!("\"parent\" on field \"{name}\" was removed; write relation(parent=<table>) instead"),
        ),
        "database" => sink.err(
            file,
            item.loc,
            format!("\"database\" on field \"{name}\" was removed; use scope=serverOnly instead"),
        ),
        "api" => {
            sink.err(file, item.loc, format!("\"api\" on field \"{name}\" was removed; use !persist instead"))
        }
        "persist" => {
            if let Some(b) = flag_of(file, &name, &item, sink) {
                f.persist = b;
                f.persist_loc = Some(item.loc);
            }
        }
        "tail" => f.tail = flag_of(file, &name, &item, sink).unwrap_or(false),
        "required" => {
            flag_of(file, &name, &item, sink);
        }
        "scope" => {
            if let Some(v) = value_of(file, &name, &item, sink) {
                if !matches!(v.as_str(), "all" | "serverOnly" | "none") {
                    sink.err(
                        file,
                        item.loc,
                        format!("scope of field \"{name}\" must be all, serverOnly or none, not \"{v}\""),
                    );
                }
                f.scope = Some(located(v, item.loc));
            }
        }
        "column" => {
            if let Some(v) = value_of(file, &name, &item, sink) {
                if let Err(msg) = names::check_field_name(&v, "column") {
                    sink.err(file, item.loc, msg);
                }
                f.column = Some(located(v, item.loc));
            }
        }
        "jsonKey" => {
            value_of(file, &name, &item, sink);
        }
        "serializationDataType" => {
            if let Some(v) = value_of(file, &name, &item, sink) {
                match v.as_str() {
                    "json" => f.jsonb = Some(false),
                    "jsonb" => f.jsonb = Some(true),
                    _ => sink.err(
                        file,
                        item.loc,
                        format!("serializationDataType of field \"{name}\" must be json or jsonb"),
                    ),
                }
            }
        }
        "default" | "defaultModel" | "defaultPersist" => {
            if let Some(v) = value_of(file, &name, &item, sink) {
                let l = Some(located(v, item.loc));
                match item.key.as_str() {
                    "default" => f.default = l,
                    "defaultModel" => f.default_model = l,
                    _ => f.default_persist = l,
                }
            }
        }
        "unique" => match item.value {
            ItemValue::Flag(true) => f.unique = Some(UniqueSpec { loc: item.loc, per: vec![] }),
            ItemValue::Flag(false) => {}
            ItemValue::Sub(subs) => {
                let mut per = Vec::new();
                for s in subs {
                    match (&s.key[..], &s.value) {
                        ("per", ItemValue::Value(v)) => {
                            // `per=a`, repeated, or a list: `per=[a, b]` / `per=a|b`.
                            let list = v.trim().trim_start_matches('[').trim_end_matches(']');
                            for part in list.split(['|', ',', ' ']).filter(|p| !p.is_empty()) {
                                per.push(located(part.to_string(), s.loc));
                            }
                        }
                        _ => sink.err(
                            file,
                            s.loc,
                            format!("unique(...) of field \"{name}\" only takes per=<field>"),
                        ),
                    }
                }
                f.unique = Some(UniqueSpec { loc: item.loc, per });
            }
            ItemValue::Value(_) => {
                sink.err(file, item.loc, format!("write unique or unique(per=<field>) on field \"{name}\""))
            }
        },
        "relation" => {
            let subs = match item.value {
                ItemValue::Flag(true) => Vec::new(),
                ItemValue::Sub(s) => s,
                ItemValue::Flag(false) => return,
                ItemValue::Value(_) => {
                    sink.err(
                        file,
                        item.loc,
                        format!("write relation or relation(parent=<table>, ...) on field \"{name}\""),
                    );
                    return;
                }
            };
            f.relation = Some(parse_relation(file, &name, item.loc, subs, sink));
        }
        _ => sink.err(
            file,
            item.loc,
            format!(
                "unknown key \"{}\" on field \"{name}\"; valid keys are {}",
                item.key,
                FIELD_KEYS.join(", ")
            ),
        ),
    }
}

fn parse_action(s: &str) -> Option<ForeignKeyAction> {
    match s {
        "NoAction" | "noAction" => Some(ForeignKeyAction::NoAction),
        "Restrict" | "restrict" => Some(ForeignKeyAction::Restrict),
        "SetNull" | "setNull" => Some(ForeignKeyAction::SetNull),
        "SetDefault" | "setDefault" => Some(ForeignKeyAction::SetDefault),
        "Cascade" | "cascade" => Some(ForeignKeyAction::Cascade),
        _ => None,
    }
}

fn parse_relation(file: usize, field: &str, loc: Loc, subs: Vec<Item>, sink: &mut Sink) -> RelationSpec {
    let mut r = RelationSpec {
        loc,
        parent: None,
        field: None,
        name: None,
        on_update: None,
        on_delete: None,
        optional: false,
        deferrable: None,
    };
    let mut deferrable_loc: Option<(Loc, &'static str)> = None;
    for s in subs {
        let key = s.key.clone();
        match key.as_str() {
            "parent" | "field" | "name" => {
                let Some(v) = value_of(file, field, &s, sink) else { continue };
                let l = Some(located(v, s.loc));
                match key.as_str() {
                    "parent" => r.parent = l,
                    "field" => r.field = l,
                    _ => r.name = l,
                }
            }
            "onUpdate" | "onDelete" => {
                let Some(v) = value_of(file, field, &s, sink) else { continue };
                match parse_action(&v) {
                    Some(a) if key == "onUpdate" => r.on_update = Some(a),
                    Some(a) => r.on_delete = Some(a),
                    None => sink.err(file, s.loc, format!("\"{v}\" is not a referential action for {key} of field \"{field}\"; use NoAction, Restrict, SetNull, SetDefault or Cascade")),
                }
            }
            "optional" => r.optional = flag_of(file, field, &s, sink).unwrap_or(false),
            "deferrable" | "deferred" => {
                if flag_of(file, field, &s, sink) != Some(true) {
                    continue;
                }
                if let Some((_, other)) = deferrable_loc {
                    sink.err(
                        file,
                        s.loc,
                        format!(
                            "\"{key}\" and \"{other}\" are mutually exclusive on field \"{field}\"; keep one"
                        ),
                    );
                    continue;
                }
                let (d, k) = if key == "deferred" {
                    (Deferrable::InitiallyDeferred, "deferred")
                } else {
                    (Deferrable::InitiallyImmediate, "deferrable")
                };
                r.deferrable = Some(d);
                deferrable_loc = Some((s.loc, k));
            }
            _ => sink.err(
                file,
                s.loc,
                format!(
                    "unknown relation key \"{key}\" on field \"{field}\"; valid keys are {}",
                    RELATION_KEYS.join(", ")
                ),
            ),
        }
    }
    r
}

fn parse_index(file: usize, k: &Node, v: &Node, sink: &mut Sink) -> Option<IndexDef> {
    let name = key_text(k).to_string();
    if let Err(msg) = names::check_index_name(&name) {
        sink.err(file, k.loc, msg);
    }
    let Some(entries) = map_entries(v) else {
        sink.err(file, v.loc, format!("index \"{name}\" must be a map with at least \"fields\""));
        return None;
    };
    let mut idx = IndexDef {
        name,
        loc: k.loc,
        fields: Vec::new(),
        index_type: None,
        unique: false,
        nulls_distinct: None,
        distance: None,
        parameters: None,
        operator_class: None,
    };
    let mut has_fields = false;
    for (ik, iv) in entries {
        match key_text(ik) {
            "fields" => {
                has_fields = true;
                let list: Vec<(String, Loc)> = match &iv.kind {
                    Kind::Scalar(s, style) if !iv.is_null() => {
                        let base = if matches!(style, Style::SingleQuoted | Style::DoubleQuoted) { iv.loc.shifted(1) } else { iv.loc };
                        spec::split_top_level(s).into_iter().map(|(o, p)| (p, base.shifted(o))).collect()
                    }
                    Kind::Seq(items) => items.iter().map(|n| (n.as_str().unwrap_or("").to_string(), n.loc)).collect(),
                    _ => {
                        sink.err(file, iv.loc, format!("\"fields\" of index \"{}\" must list field names, e.g. fields: name, createdAt", idx.name));
                        continue;
                    }
                };
                for (f, loc) in list {
                    if f.is_empty() {
                        sink.err(file, loc, format!("empty field name in index \"{}\"", idx.name));
                    } else {
                        idx.fields.push(located(f, loc));
                    }
                }
            }
            "type" => {
                if let Some(t) = expect_scalar(sink, file, "type", iv) {
                    idx.index_type = Some(located(t.to_string(), iv.loc));
                }
            }
            "unique" => idx.unique = expect_bool(sink, file, "unique", iv).unwrap_or(false),
            "nulls_distinct" => {
                if let Some(b) = expect_bool(sink, file, "nulls_distinct", iv) {
                    idx.nulls_distinct = Some(located(b, iv.loc));
                }
            }
            "distanceFunction" => match iv.as_str().and_then(VectorDistanceFunction::from_name) {
                Some(d) => idx.distance = Some(located(d, iv.loc)),
                None => sink.err(file, iv.loc, format!("\"distanceFunction\" of index \"{}\" must be one of l2, innerProduct, cosine, l1, hamming, jaccard", idx.name)),
            },
            "operatorClass" => match iv.as_str().and_then(GinOperatorClass::from_name) {
                Some(o) => idx.operator_class = Some(located(o, iv.loc)),
                None => sink.err(file, iv.loc, format!("\"operatorClass\" of index \"{}\" must be one of arrayOps, jsonbOps, jsonbPathOps, tsvectorOps", idx.name)),
            },
            "parameters" => {
                let Some(params) = map_entries(iv) else {
                    sink.err(file, iv.loc, format!("\"parameters\" of index \"{}\" must be a map such as {{ m: 16, ef_construction: 64 }}", idx.name));
                    continue;
                };
                let mut out = Vec::new();
                for (pk, pv) in params {
                    match pv.as_str() {
                        Some(s) if !pv.is_null() => out.push((key_text(pk).to_string(), s.to_string())),
                        _ => sink.err(file, pv.loc, format!("index parameter \"{}\" needs a value", key_text(pk))),
                    }
                }
                idx.parameters = Some(located(out, iv.loc));
            }
            _ => unknown_key(sink, file, ik, &format!("index \"{}\"", idx.name), INDEX_KEYS),
        }
    }
    if !has_fields {
        sink.err(file, k.loc, format!("index \"{}\" needs \"fields\", e.g. fields: name", idx.name));
        return None;
    }
    Some(idx)
}
