//! Resolution across all model files: inheritance, types, relations, ids, defaults and indexes,
//! producing the project's tables (`createDatabaseDefinitionFromModels`, §1.10).

use std::collections::{BTreeMap, HashMap, HashSet};

use strata_schema::{
    ColumnDefinition, ColumnType, DatabaseDefinition, Deferrable, ForeignKeyAction, ForeignKeyDefinition,
    GinOperatorClass, IndexDefinition, IndexElement, TableDefinition, VectorDistanceFunction,
};

use crate::defaults::{column_default, DefaultKind};
use crate::model::{ClassDef, Database, Def, FieldDef, IndexDef, Located, Sink};
use crate::names;
use crate::spec::TypeExpr;
use crate::yaml::Loc;
use crate::ModelOptions;

const KNOWN_TYPES: &str = "String, bool, int, double, DateTime, ByteData, Duration, UuidValue, Uri, BigInt, \
Vector(n), HalfVector(n), SparseVector(n), Bit(n), GeographyPoint, GeographyLineString, GeographyPolygon, \
GeographyGeometryCollection, List<T>, Map<K, V>, Set<T>, dynamic, records such as (int, String), \
or a class, exception or enum defined in the project";

/// Type names the model format defines; a model of the same name could never be referred to.
const BUILT_IN_TYPES: &[&str] = &[
    "String",
    "DateTime",
    "ByteData",
    "Duration",
    "UuidValue",
    "Uri",
    "BigInt",
    "Vector",
    "HalfVector",
    "SparseVector",
    "Bit",
    "GeographyPoint",
    "GeographyLineString",
    "GeographyPolygon",
    "GeographyGeometryCollection",
    "List",
    "Map",
    "Set",
];

/// Tables that hold migration bookkeeping (Serverpod's and strata's runner's); a model table
/// of that name would clash with them on the first `apply`.
const BOOKKEEPING_TABLES: &[&str] = &["serverpod_migrations", "strata_migration_history"];

/// The module that owns `serverpod_migrations` (Serverpod's own server package).
const SERVERPOD_MODULE: &str = "serverpod";

const INDEX_TYPES: &[&str] = &["btree", "hash", "gin", "gist", "spgist", "brin", "hnsw", "ivfflat"];

/// Index names claimed so far (folded to lower case where the database ignores case), with
/// where each was first defined and how it was spelt.
type IndexNames = HashMap<String, (usize, Loc, String)>;

/// The id column kind of a table, which every foreign key to it must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    Int,
    Uuid,
}

impl IdKind {
    fn column_type(self) -> ColumnType {
        match self {
            IdKind::Int => ColumnType::Bigint,
            IdKind::Uuid => ColumnType::Uuid,
        }
    }
    fn dart(self) -> &'static str {
        match self {
            IdKind::Int => "int",
            IdKind::Uuid => "UuidValue",
        }
    }
}

/// The persisted fields of a table being built: field name, column name and type, in column
/// order, with a lookup by field name (the first of a duplicated name wins, as a scan would).
#[derive(Default)]
struct FieldCols {
    list: Vec<(String, String, ColumnType)>,
    by_field: HashMap<String, usize>,
}

impl FieldCols {
    fn push(&mut self, field: String, column: String, column_type: ColumnType) {
        let next = self.list.len();
        self.by_field.entry(field.clone()).or_insert(next);
        self.list.push((field, column, column_type));
    }

    fn get(&self, field: &str) -> Option<&(String, String, ColumnType)> {
        self.by_field.get(field).map(|&i| &self.list[i])
    }
}

/// What a field's type means for the database.
struct TypeInfo<'a> {
    column_type: ColumnType,
    dart: String,
    default_kind: DefaultKind<'a>,
    dimension: Option<i64>,
    /// A direct reference to a project class (object relations).
    class_ref: Option<usize>,
    /// `List<ProjectClass>` (list relations).
    list_of: Option<usize>,
    /// Directly a module class (`module:alias:Name`): its class name.
    module_class: Option<String>,
}

/// A column being assembled, with what it needs for FKs and messages.
#[derive(Debug, Clone)]
struct Col {
    def: ColumnDefinition,
    fk: Option<Fk>,
    file: usize,
    loc: Loc,
    /// Position among the table class's *own* fields (injected ones sort just before their
    /// object field, list-relation ones last). Serverpod numbers `<table>_fk_<i>` over the
    /// class's own fields only, so inherited fields (`None`) get no constraint.
    fk_order: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
struct Fk {
    table: String,
    on_update: ForeignKeyAction,
    on_delete: ForeignKeyAction,
    deferrable: Option<Deferrable>,
}

struct Ctx<'a> {
    defs: &'a [Def],
    by_name: HashMap<&'a str, usize>,
    /// Project tables: name -> class index.
    tables: HashMap<&'a str, usize>,
    options: &'a ModelOptions,
    /// Per model file: the shared package it belongs to.
    packages: &'a [Option<&'a str>],
    sink: Sink,
}

/// Builds the project definition; errors are left in the returned sink.
pub fn build<'a>(
    defs: &'a [Def],
    options: &'a ModelOptions,
    packages: &'a [Option<&'a str>],
    mut sink: Sink,
) -> (DatabaseDefinition, Sink) {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut tables: HashMap<&str, usize> = HashMap::new();
    for (i, d) in defs.iter().enumerate() {
        if let Some(&first) = by_name.get(d.name()) {
            let f = &defs[first];
            sink.err(
                d.file(),
                d.loc(),
                format!(
                    "duplicate model name \"{}\"; first defined at {}; rename one of them",
                    d.name(),
                    Where(f.file(), f.loc())
                ),
            );
        } else {
            by_name.insert(d.name(), i);
        }
        if let Def::Class(c) = d {
            if let Some(t) = &c.table {
                if let Some(&first) = tables.get(t.value.as_str()) {
                    let Def::Class(fc) = &defs[first] else { continue };
                    let floc = fc.table.as_ref().map(|x| x.loc).unwrap_or(fc.loc);
                    sink.err(
                        c.file,
                        t.loc,
                        format!(
                            "duplicate table name \"{}\"; first defined at {}; use a different table name",
                            t.value,
                            Where(fc.file, floc)
                        ),
                    );
                } else {
                    tables.insert(t.value.as_str(), i);
                }
            }
        }
    }
    check_reserved_names(defs, &options.module_name, &mut sink);
    let mut ctx = Ctx { defs, by_name, tables, options, packages, sink };
    let mut out = DatabaseDefinition::empty(options.module_name.clone());

    // Hierarchies (root first) for every class; broken ones are reported once.
    let mut chains: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, d) in defs.iter().enumerate() {
        if let Def::Class(_) = d {
            if let Some(chain) = ctx.chain(i) {
                chains.insert(i, chain);
            }
        }
    }
    let table_classes: Vec<usize> = {
        let mut v: Vec<usize> = ctx.tables.values().copied().filter(|i| chains.contains_key(i)).collect();
        v.sort_unstable();
        v
    };
    // Id kind of every table (needed before any relation can be resolved).
    let mut ids: HashMap<usize, IdKind> = HashMap::new();
    for &ci in &table_classes {
        ids.insert(ci, ctx.id_kind(&chains[&ci]));
    }
    // Implicit list relations put hidden columns on child tables.
    let mut injected: HashMap<usize, Vec<Col>> = HashMap::new();
    for &ci in &table_classes {
        ctx.list_relations(ci, &chains[&ci], &ids, &chains, &mut injected);
    }
    let mut index_names: IndexNames = HashMap::new();
    for &ci in &table_classes {
        let Def::Class(c) = &defs[ci] else { continue };
        if let Some(table) = ctx.table(
            ci,
            &chains[&ci],
            &ids,
            &chains,
            injected.remove(&ci).unwrap_or_default(),
            &mut index_names,
        ) {
            if c.database != Database::Client {
                out.tables.push(table);
            }
        }
    }
    out.tables.sort_by(|a, b| a.name.cmp(&b.name));
    (out, ctx.sink)
}

/// Model names that shadow a built-in type, and table names of the bookkeeping tables (which
/// only the `serverpod` module itself declares).
fn check_reserved_names(defs: &[Def], module_name: &str, sink: &mut Sink) {
    for d in defs {
        if BUILT_IN_TYPES.contains(&d.name()) {
            sink.err(
                d.file(),
                d.loc(),
                format!(
                    "\"{}\" is a built-in type, so fields of this type would never refer to this \
                     model; rename it (e.g. \"{}Model\")",
                    d.name(),
                    d.name()
                ),
            );
        }
        let Def::Class(c) = d else { continue };
        if module_name == SERVERPOD_MODULE {
            continue;
        }
        if let Some(t) = c.table.as_ref().filter(|t| BOOKKEEPING_TABLES.contains(&t.value.as_str())) {
            sink.err(
                c.file,
                t.loc,
                format!(
                    "table name \"{}\" is reserved: it holds the migration bookkeeping of \
                     Serverpod and strata; use a different table name",
                    t.value
                ),
            );
        }
    }
}

/// `path-index:line:column`, resolved to a path when diagnostics are rendered.
struct Where(usize, Loc);

impl std::fmt::Display for Where {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Rendered as a placeholder the caller rewrites into the file's path.
        write!(f, "{{file:{}}}:{}:{}", self.0, self.1.line, self.1.column)
    }
}

impl<'a> Ctx<'a> {
    fn class(&self, i: usize) -> Option<&'a ClassDef> {
        match &self.defs[i] {
            Def::Class(c) => Some(c),
            Def::Enum(_) => None,
        }
    }

    /// The class's ancestors and itself, root first; `None` (reported) when broken.
    fn chain(&mut self, start: usize) -> Option<Vec<usize>> {
        let mut chain = vec![start];
        let mut cur = start;
        loop {
            let c = self.class(cur)?;
            let Some(parent) = &c.extends else { break };
            let Some(&pi) = self.by_name.get(parent.value.as_str()) else {
                if cur == start {
                    self.sink.err(
                        c.file,
                        parent.loc,
                        format!(
                            "class \"{}\" extends unknown class \"{}\"; define it or fix the name",
                            c.name, parent.value
                        ),
                    );
                }
                return None;
            };
            if self.class(pi).is_none() {
                if cur == start {
                    self.sink.err(
                        c.file,
                        parent.loc,
                        format!("class \"{}\" cannot extend enum \"{}\"", c.name, parent.value),
                    );
                }
                return None;
            }
            if chain.contains(&pi) {
                if cur == start || pi == start {
                    let sc = self.class(start)?;
                    self.sink.err(
                        sc.file,
                        sc.extends.as_ref().map(|e| e.loc).unwrap_or(sc.loc),
                        format!("class \"{}\" is part of an inheritance cycle", sc.name),
                    );
                }
                return None;
            }
            chain.push(pi);
            cur = pi;
            if chain.len() > 64 {
                return None;
            }
        }
        chain.reverse();
        // Only one class in a hierarchy may declare a table.
        let own = self.class(start)?;
        if own.table.is_some() {
            for &a in &chain[..chain.len() - 1] {
                if let Some(ac) = self.class(a) {
                    if ac.table.is_some() {
                        if let Some(t) = &own.table {
                            self.sink.err(own.file, t.loc, format!("class \"{}\" declares table \"{}\" but its ancestor \"{}\" already has a table; only one class in a hierarchy may declare a table", own.name, t.value, ac.name));
                        }
                        return None;
                    }
                }
            }
        }
        Some(chain)
    }

    /// The fields of a class in column order, with the index of the declaring class.
    fn ordered_fields(&self, chain: &[usize]) -> Vec<(usize, &'a FieldDef)> {
        let mut out = Vec::new();
        for &ci in chain {
            if let Some(c) = self.class(ci) {
                out.extend(c.fields.iter().filter(|f| !f.tail).map(|f| (ci, f)));
            }
        }
        for &ci in chain.iter().rev() {
            if let Some(c) = self.class(ci) {
                out.extend(c.fields.iter().filter(|f| f.tail).map(|f| (ci, f)));
            }
        }
        out
    }

    fn id_kind(&self, chain: &[usize]) -> IdKind {
        match self.ordered_fields(chain).iter().find(|(_, f)| f.name == "id") {
            Some((_, f)) if f.ty.name == "UuidValue" => IdKind::Uuid,
            _ => IdKind::Int,
        }
    }

    /// `module:alias:Name` -> (`module-name`, `Name`).
    /// `name` without a shared package prefix (`my_shared:Model` -> `Model`).
    fn local_name<'n>(&self, name: &'n str) -> &'n str {
        match name.split_once(':') {
            Some((package, local)) if self.options.shared_packages.iter().any(|p| p.name == package) => local,
            _ => name,
        }
    }

    /// The `extraClasses` entry declaring class `name` (its text is the Dart type Serverpod
    /// records: `package:<pkg>/<file>.dart:<Class>`).
    fn extra_class(&self, name: &str) -> Option<&'a str> {
        self.options.extra_classes.iter().find(|e| e.rsplit(':').next() == Some(name)).map(String::as_str)
    }

    fn module_type(&self, name: &str) -> Option<(String, String)> {
        let rest = name.strip_prefix("module:")?;
        let (alias, class) = rest.split_once(':')?;
        let module = self.options.module_aliases.get(alias).cloned().unwrap_or_else(|| alias.to_string());
        Some((module, class.to_string()))
    }

    /// Validates a type expression and renders it as Serverpod's analyzer prints it.
    fn dart_type(&self, ty: &TypeExpr) -> Result<String, String> {
        let q = if ty.nullable { "?" } else { "" };
        if let Some(fields) = &ty.record {
            let mut pos = Vec::new();
            let mut named = Vec::new();
            for f in fields {
                let t = self.dart_type(&f.ty)?;
                match &f.name {
                    Some(n) => named.push(format!("{t} {n}")),
                    None => pos.push(t),
                }
            }
            if !named.is_empty() {
                pos.push(format!("{{{}}}", named.join(", ")));
            }
            return Ok(format!("({}){q}", pos.join(", ")));
        }
        let name = self.local_name(&ty.name);
        let arity = match name {
            "List" | "Set" => 1,
            "Map" => 2,
            _ => 0,
        };
        if ty.generics.len() != arity {
            return Err(if arity == 0 {
                format!("type \"{name}\" takes no type arguments")
            } else {
                format!(
                    "type \"{name}\" needs {arity} type argument(s), e.g. {}",
                    if arity == 1 { format!("{name}<String>") } else { "Map<String, int>".into() }
                )
            });
        }
        let vector = matches!(name, "Vector" | "HalfVector" | "SparseVector" | "Bit");
        match (vector, ty.dimension) {
            (true, None) => return Err(format!("type \"{name}\" needs a dimension, e.g. {name}(512)")),
            (true, Some(d)) if d < 1 => {
                return Err(format!("the dimension of \"{name}\" must be at least 1"))
            }
            (false, Some(_)) => return Err(format!("type \"{name}\" takes no dimension")),
            _ => {}
        }
        let generics = if ty.generics.is_empty() {
            String::new()
        } else {
            let g: Result<Vec<String>, String> = ty.generics.iter().map(|g| self.dart_type(g)).collect();
            format!("<{}>", g?.join(","))
        };
        let base = match name {
            "String"
            | "bool"
            | "int"
            | "double"
            | "DateTime"
            | "Duration"
            | "UuidValue"
            | "Uri"
            | "BigInt"
            | "GeographyPoint"
            | "GeographyLineString"
            | "GeographyPolygon"
            | "GeographyGeometryCollection"
            | "List"
            | "Map"
            | "Set"
            | "dynamic" => name.to_string(),
            "ByteData" => "dart:typed_data:ByteData".into(),
            _ if vector => format!("{name}({})", ty.dimension.unwrap_or_default()),
            _ => {
                if let Some((module, class)) = self.module_type(name) {
                    format!("{module}:{class}")
                } else if let Some(&i) = self.by_name.get(name) {
                    match self.packages.get(self.defs[i].file()).copied().flatten() {
                        Some(package) => format!("{package}:{name}"),
                        None => format!("protocol:{name}"),
                    }
                } else if let Some(entry) = self.extra_class(name) {
                    entry.to_string()
                } else {
                    return Err(format!("unknown type \"{name}\"; known types are {KNOWN_TYPES}"));
                }
            }
        };
        Ok(format!("{base}{generics}{q}"))
    }

    fn type_info(&self, ty: &TypeExpr, jsonb: bool) -> Result<TypeInfo<'a>, String> {
        let dart = self.dart_type(ty)?;
        let json = if jsonb { ColumnType::Jsonb } else { ColumnType::Json };
        let mut info = TypeInfo {
            column_type: json,
            dart,
            default_kind: DefaultKind::Unsupported(String::new()),
            dimension: None,
            class_ref: None,
            list_of: None,
            module_class: None,
        };
        if ty.record.is_some() {
            info.default_kind = DefaultKind::Unsupported(info.dart.clone());
            return Ok(info);
        }
        let (ct, dk) = match ty.name.as_str() {
            "String" => (ColumnType::Text, DefaultKind::String),
            "bool" => (ColumnType::Boolean, DefaultKind::Bool),
            "int" => (ColumnType::Bigint, DefaultKind::Int),
            "double" => (ColumnType::DoublePrecision, DefaultKind::Double),
            "DateTime" => (ColumnType::TimestampWithoutTimeZone, DefaultKind::DateTime),
            "Duration" => (ColumnType::Bigint, DefaultKind::Duration),
            "UuidValue" => (ColumnType::Uuid, DefaultKind::Uuid),
            "Uri" => (ColumnType::Text, DefaultKind::Uri),
            "BigInt" => (ColumnType::Text, DefaultKind::BigInt),
            "ByteData" => (ColumnType::Bytea, DefaultKind::Unsupported("ByteData".into())),
            "Vector" => (ColumnType::Vector, DefaultKind::Unsupported("Vector".into())),
            "HalfVector" => (ColumnType::Halfvec, DefaultKind::Unsupported("HalfVector".into())),
            "SparseVector" => (ColumnType::Sparsevec, DefaultKind::Unsupported("SparseVector".into())),
            "Bit" => (ColumnType::Bit, DefaultKind::Unsupported("Bit".into())),
            "GeographyPoint" => (ColumnType::Geography, DefaultKind::Unsupported(ty.name.clone())),
            "GeographyLineString" => {
                (ColumnType::GeographyLineString, DefaultKind::Unsupported(ty.name.clone()))
            }
            "GeographyPolygon" => (ColumnType::GeographyPolygon, DefaultKind::Unsupported(ty.name.clone())),
            "GeographyGeometryCollection" => {
                (ColumnType::GeographyGeometryCollection, DefaultKind::Unsupported(ty.name.clone()))
            }
            name => {
                let name = self.local_name(name);
                if let Some(&i) = self.by_name.get(name) {
                    match &self.defs[i] {
                        Def::Enum(e) => (
                            if e.by_index { ColumnType::Bigint } else { ColumnType::Text },
                            DefaultKind::Enum { by_index: e.by_index, values: &e.values },
                        ),
                        Def::Class(_) => {
                            info.class_ref = Some(i);
                            (json, DefaultKind::Unsupported(info.dart.clone()))
                        }
                    }
                } else {
                    if let Some((_, class)) = self.module_type(name) {
                        info.module_class = Some(class);
                    }
                    if name == "List" {
                        if let Some(g) = ty.generics.first() {
                            if g.record.is_none() {
                                if let Some(&i) = self.by_name.get(self.local_name(&g.name)) {
                                    if matches!(self.defs[i], Def::Class(_)) {
                                        info.list_of = Some(i);
                                    }
                                }
                            }
                        }
                    }
                    (json, DefaultKind::Unsupported(info.dart.clone()))
                }
            }
        };
        info.column_type = ct;
        info.default_kind = dk;
        if ct.is_vector() {
            info.dimension = ty.dimension;
        }
        Ok(info)
    }

    /// The parent table and id kind of an object relation's type, without reporting.
    fn object_parent(&self, info: &TypeInfo, ids: &HashMap<usize, IdKind>) -> Option<(String, IdKind)> {
        if let Some(pi) = info.class_ref {
            let pt = self.class(pi)?.table.as_ref()?;
            return Some((pt.value.clone(), ids.get(&pi).copied().unwrap_or(IdKind::Int)));
        }
        let class = info.module_class.as_deref()?;
        let t = self.options.external_tables.iter().find(|t| t.dart_name.as_deref() == Some(class))?;
        let uuid = t.column("id").is_some_and(|c| c.column_type == ColumnType::Uuid);
        Some((t.name.clone(), if uuid { IdKind::Uuid } else { IdKind::Int }))
    }

    /// Declared fields named by an object relation's `field=`: they carry that relation's FK.
    fn declared_fk_targets(
        &self,
        fields: &[(usize, &'a FieldDef)],
        declared: &HashSet<&str>,
        ids: &HashMap<usize, IdKind>,
    ) -> HashMap<&'a str, (Fk, IdKind)> {
        let mut out = HashMap::new();
        for (_, f) in fields {
            let Some(rel) = &f.relation else { continue };
            let Some(target) = &rel.field else { continue };
            if rel.parent.is_some() || !declared.contains(target.value.as_str()) {
                continue;
            }
            let Ok(info) = self.type_info(&f.ty, false) else { continue };
            let Some((table, id)) = self.object_parent(&info, ids) else { continue };
            let fk = Fk {
                table,
                on_update: rel.on_update.unwrap_or(ForeignKeyAction::NoAction),
                on_delete: rel.on_delete.unwrap_or(ForeignKeyAction::NoAction),
                deferrable: rel.deferrable,
            };
            out.insert(target.value.as_str(), (fk, id));
        }
        out
    }

    /// The table a relation `parent=` names: a project table or an external (module) one.
    fn parent_id_kind(&self, table: &str, ids: &HashMap<usize, IdKind>) -> Option<IdKind> {
        if let Some(&ci) = self.tables.get(table) {
            return ids.get(&ci).copied();
        }
        self.options.external_tables.iter().find(|t| t.name == table).map(|t| match t.column("id") {
            Some(c) if c.column_type == ColumnType::Uuid => IdKind::Uuid,
            _ => IdKind::Int,
        })
    }

    fn table_names_hint(&self) -> String {
        let mut names: Vec<&str> = self.tables.keys().copied().collect();
        names.extend(self.options.external_tables.iter().map(|t| t.name.as_str()));
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            "no tables are defined".into()
        } else {
            format!("known tables are {}", names.join(", "))
        }
    }

    fn jsonb_for(&self, declaring: usize, f: &FieldDef) -> bool {
        f.jsonb
            .or_else(|| self.class(declaring).and_then(|c| c.jsonb))
            .unwrap_or(self.options.jsonb_by_default)
    }

    /// Finds, in `class`'s hierarchy, the other field whose relation has the given name. `side`
    /// is the field asking: in a self-relation both sides live in one class, and a field is
    /// never its own partner.
    fn named_partner(
        &self,
        class: usize,
        chains: &HashMap<usize, Vec<usize>>,
        name: &str,
        side: &FieldDef,
    ) -> Option<&'a FieldDef> {
        let chain = chains.get(&class)?;
        self.ordered_fields(chain).into_iter().map(|(_, f)| f).find(|f| {
            !std::ptr::eq(*f, side)
                && f.relation.as_ref().and_then(|r| r.name.as_ref()).is_some_and(|n| n.value == name)
        })
    }

    /// Pass 1: implicit 1:n list relations inject a hidden FK column into the child table.
    fn list_relations(
        &mut self,
        ci: usize,
        chain: &[usize],
        ids: &HashMap<usize, IdKind>,
        chains: &HashMap<usize, Vec<usize>>,
        injected: &mut HashMap<usize, Vec<Col>>,
    ) {
        let Some(c) = self.class(ci) else { return };
        let Some(table) = &c.table else { return };
        for (decl, f) in self.ordered_fields(chain) {
            let Some(rel) = &f.relation else { continue };
            if rel.parent.is_some() {
                continue;
            }
            let Ok(info) = self.type_info(&f.ty, false) else { continue };
            let Some(child) = info.list_of else { continue };
            let file = self.class(decl).map(|d| d.file).unwrap_or(c.file);
            let Some(child_class) = self.class(child) else { continue };
            if child_class.table.is_none() {
                self.sink.err(file, f.type_loc, format!("list relation \"{}\" points to class \"{}\" which has no table; add a table to it or remove relation", f.name, child_class.name));
                continue;
            }
            if let Some(field) = &rel.field {
                self.sink.err(
                    file,
                    field.loc,
                    format!(
                        "field= is only valid on object relations; remove it from list relation \"{}\"",
                        f.name
                    ),
                );
            }
            if let Some(name) = &rel.name {
                if self.named_partner(child, chains, &name.value, f).is_none() {
                    self.sink.err(file, name.loc, format!("no field in class \"{}\" has relation(name={}); add the other side of the relation", child_class.name, name.value));
                }
                continue;
            }
            let id = ids.get(&ci).copied().unwrap_or(IdKind::Int);
            let col_name = names::implicit_id_field(&format!(
                "_{}{}{}",
                names::serverpod_camel_case(&table.value, true),
                names::serverpod_camel_case(&f.name, false),
                names::serverpod_camel_case(&table.value, false)
            ));
            injected.entry(child).or_default().push(Col {
                def: ColumnDefinition {
                    name: col_name.clone(),
                    field_name: Some(col_name),
                    column_type: id.column_type(),
                    is_nullable: true,
                    column_default: None,
                    dart_type: Some(format!("{}?", id.dart())),
                    vector_dimension: None,
                    native_type: None,
                    identity: None,
                    identity_options: None,
                    generated: None,
                },
                fk: Some(Fk {
                    table: table.value.clone(),
                    on_update: rel.on_update.unwrap_or(ForeignKeyAction::NoAction),
                    on_delete: rel.on_delete.unwrap_or(ForeignKeyAction::NoAction),
                    deferrable: rel.deferrable,
                }),
                file,
                loc: f.loc,
                fk_order: Some((usize::MAX, 0)),
            });
        }
    }

    fn default_for(
        &mut self,
        file: usize,
        field: &str,
        kind: &DefaultKind,
        v: &Located<String>,
        key: &str,
    ) -> Option<String> {
        match column_default(kind, &v.value) {
            Ok(d) => {
                let ok = match d.as_str() {
                    "serial" => key != "defaultModel",
                    _ => true,
                };
                if !ok {
                    self.sink.err(file, v.loc, format!("{key}=serial on field \"{field}\" is not allowed; serial only applies to the database, use defaultPersist=serial"));
                    return None;
                }
                Some(d)
            }
            Err(msg) => {
                self.sink.err(
                    file,
                    v.loc,
                    format!("invalid {key} \"{}\" for field \"{field}\": {msg}", v.value),
                );
                None
            }
        }
    }

    /// Pass 2: one table.
    #[allow(clippy::too_many_arguments)]
    fn table(
        &mut self,
        ci: usize,
        chain: &[usize],
        ids: &HashMap<usize, IdKind>,
        chains: &HashMap<usize, Vec<usize>>,
        // Hidden FK columns that list relations of other tables put on this one.
        injected: Vec<Col>,
        index_names: &mut IndexNames,
    ) -> Option<TableDefinition> {
        let c = self.class(ci)?;
        let table = c.table.as_ref()?;
        let fields = self.ordered_fields(chain);
        let mut cols: Vec<Col> = Vec::new();
        // Field name -> column name, for unique(per=) and index fields.
        let mut field_cols = FieldCols::default();
        let declared: HashSet<&str> = fields.iter().map(|(_, f)| f.name.as_str()).collect();

        // Duplicate field names across the hierarchy.
        let mut first_of: HashMap<&str, (usize, &FieldDef)> = HashMap::with_capacity(fields.len());
        for (decl, f) in &fields {
            let Some(&(pd, pf)) = first_of.get(f.name.as_str()) else {
                first_of.insert(f.name.as_str(), (*decl, *f));
                continue;
            };
            let file = self.class(*decl).map(|d| d.file).unwrap_or(c.file);
            let pfile = self.class(pd).map(|d| d.file).unwrap_or(c.file);
            self.sink.err(
                file,
                f.loc,
                format!(
                    "field \"{}\" is already defined at {}; rename one of them",
                    f.name,
                    Where(pfile, pf.loc)
                ),
            );
        }

        let has_id = fields.iter().any(|(_, f)| f.name == "id");
        if !has_id {
            cols.push(Col {
                def: ColumnDefinition {
                    name: "id".into(),
                    field_name: Some("id".into()),
                    column_type: ColumnType::Bigint,
                    is_nullable: false,
                    column_default: Some("serial".into()),
                    dart_type: Some("int?".into()),
                    vector_dimension: None,
                    native_type: None,
                    identity: None,
                    identity_options: None,
                    generated: None,
                },
                fk: None,
                file: c.file,
                loc: c.loc,
                fk_order: None,
            });
            field_cols.push("id".into(), "id".into(), ColumnType::Bigint);
        }
        let fk_targets = self.declared_fk_targets(&fields, &declared, ids);
        // Each own field's position, looked up by identity (names may repeat).
        let own_positions: HashMap<*const FieldDef, usize> =
            c.fields.iter().enumerate().map(|(k, f)| (std::ptr::from_ref(f), k)).collect();
        let mut id_cols: Vec<Col> = Vec::new();
        for (decl, f) in &fields {
            let file = self.class(*decl).map(|d| d.file).unwrap_or(c.file);
            let own_pos =
                if *decl == ci { own_positions.get(&std::ptr::from_ref(*f)).copied() } else { None };
            let jsonb = self.jsonb_for(*decl, f);
            let info = match self.type_info(&f.ty, jsonb) {
                Ok(i) => i,
                Err(msg) => {
                    self.sink.err(file, f.type_loc, format!("{msg} (field \"{}\")", f.name));
                    continue;
                }
            };
            let is_id = f.name == "id";
            if is_id {
                if !matches!(f.ty.name.as_str(), "int" | "UuidValue") || f.ty.record.is_some() {
                    self.sink.err(
                        file,
                        f.type_loc,
                        format!("the id field must be int or UuidValue, not {}", info.dart),
                    );
                }
                if let Some(col) = &f.column {
                    self.sink.err(
                        file,
                        col.loc,
                        "the id field cannot be renamed with column=; it is always the column \"id\"",
                    );
                }
                if let Some(s) = &f.scope {
                    self.sink.err(file, s.loc, "the id field cannot have a scope; remove scope=");
                }
                if let Some(l) = f.persist_loc {
                    self.sink.err(file, l, "the id field is always persisted; remove persist/!persist");
                }
            }
            // Defaults: validated for every field; persisted ones feed columnDefault.
            let mut dflt = None;
            let mut dmodel = None;
            let mut dpersist = None;
            if let Some(v) = &f.default {
                dflt = self.default_for(file, &f.name, &info.default_kind, v, "default");
            }
            if let Some(v) = &f.default_model {
                dmodel = self.default_for(file, &f.name, &info.default_kind, v, "defaultModel");
            }
            if let Some(v) = &f.default_persist {
                dpersist = self.default_for(file, &f.name, &info.default_kind, v, "defaultPersist");
            }
            let column_default = if is_id {
                dpersist.or(dflt).or(dmodel).or_else(|| (f.ty.name == "int").then(|| "serial".to_string()))
            } else {
                dpersist.or(dflt)
            };

            // Relations.
            if let Some(rel) = &f.relation {
                if let Some(parent) = &rel.parent {
                    if let Some(fl) = &rel.field {
                        self.sink.err(
                            file,
                            fl.loc,
                            format!(
                                "field= is only valid on object relations; remove it from field \"{}\"",
                                f.name
                            ),
                        );
                    }
                    let wanted = match f.ty.name.as_str() {
                        "int" if f.ty.record.is_none() => Some(IdKind::Int),
                        "UuidValue" if f.ty.record.is_none() => Some(IdKind::Uuid),
                        _ => None,
                    };
                    match (wanted, self.parent_id_kind(&parent.value, ids)) {
                        (None, _) => self.sink.err(file, parent.loc, format!("relation(parent=...) needs an id field of type int or UuidValue, but \"{}\" is {}; for an object relation write {}: Parent?, relation", f.name, info.dart, f.name)),
                        (_, None) => self.sink.err(file, parent.loc, format!("relation parent table \"{}\" of field \"{}\" does not exist; {}", parent.value, f.name, self.table_names_hint())),
                        (Some(w), Some(p)) if w != p => self.sink.err(file, f.type_loc, format!("field \"{}\" is {} but the id of table \"{}\" is {}", f.name, w.dart(), parent.value, p.dart())),
                        _ => {}
                    }
                } else if info.list_of.is_some() {
                    // Handled in pass 1 (the FK lives on the child).
                    continue;
                } else if info.class_ref.is_some() || info.module_class.is_some() {
                    self.object_relation(
                        file,
                        f,
                        own_pos,
                        &info,
                        ids,
                        chains,
                        &declared,
                        &mut cols,
                        &mut field_cols,
                    );
                    continue;
                } else {
                    self.sink.err(file, rel.loc, format!("relation on field \"{}\" of type {} is not valid; use relation(parent=<table>) on an int id field, or relation on a model class or List of model class", f.name, info.dart));
                }
            }
            if !f.persist {
                continue;
            }
            let name = f.column.as_ref().map(|c| c.value.clone()).unwrap_or_else(|| f.name.clone());
            let is_nullable = f.ty.nullable && !is_id && column_default.as_deref() != Some("serial");
            let mut fk = f.relation.as_ref().and_then(|r| {
                r.parent.as_ref().map(|p| Fk {
                    table: p.value.clone(),
                    on_update: r.on_update.unwrap_or(ForeignKeyAction::NoAction),
                    on_delete: r.on_delete.unwrap_or(ForeignKeyAction::NoAction),
                    deferrable: r.deferrable,
                })
            });
            if let Some((target_fk, id)) = fk_targets.get(f.name.as_str()) {
                if fk.is_some() {
                    self.sink.err(file, f.loc, format!("field \"{}\" already has its own relation(parent=...) and is also named by relation(field=...); keep one", f.name));
                } else if info.column_type != id.column_type() || f.ty.record.is_some() {
                    self.sink.err(
                        file,
                        f.type_loc,
                        format!(
                            "field \"{}\" holds the foreign key to table \"{}\" so it must be {} or {}?",
                            f.name,
                            target_fk.table,
                            id.dart(),
                            id.dart()
                        ),
                    );
                } else {
                    fk = Some(target_fk.clone());
                }
            }
            field_cols.push(f.name.clone(), name.clone(), info.column_type);
            let col = Col {
                def: ColumnDefinition {
                    name,
                    field_name: Some(f.name.clone()),
                    column_type: info.column_type,
                    is_nullable,
                    column_default,
                    dart_type: Some(info.dart.clone()),
                    vector_dimension: info.dimension,
                    native_type: None,
                    identity: None,
                    identity_options: None,
                    generated: None,
                },
                fk,
                file,
                loc: f.loc,
                fk_order: own_pos.map(|k| (k, 1)),
            };
            if is_id {
                id_cols.push(col);
            } else {
                cols.push(col);
            }
        }
        // `id` always comes first.
        if let Some(id) = id_cols.into_iter().next() {
            cols.insert(0, id);
        }
        // Hidden list-relation columns go after the class's own fields, before tail fields.
        let tail_start = {
            let tails: HashSet<&str> =
                fields.iter().filter(|(_, f)| f.tail).map(|(_, f)| f.name.as_str()).collect();
            cols.iter()
                .position(|c| c.def.field_name.as_deref().is_some_and(|n| tails.contains(n)))
                .unwrap_or(cols.len())
        };
        for (k, col) in injected.into_iter().enumerate() {
            field_cols.push(col.def.name.clone(), col.def.name.clone(), col.def.column_type);
            cols.insert(tail_start + k, col);
        }
        self.check_column_names(&cols);
        self.check_column_count(c.file, table, cols.len());

        let mut def = TableDefinition {
            name: table.value.clone(),
            dart_name: Some(c.name.clone()),
            module: Some(self.options.module_name.clone()),
            schema: "public".into(),
            table_space: None,
            columns: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            managed: Some(c.managed),
            keys: Default::default(),
            partition_of: None,
            layout: Default::default(),
        };
        let mut fk_cols: Vec<&Col> = cols.iter().filter(|c| c.fk.is_some() && c.fk_order.is_some()).collect();
        fk_cols.sort_by_key(|c| c.fk_order);
        for col in fk_cols {
            if let Some(fk) = &col.fk {
                def.foreign_keys.push(ForeignKeyDefinition {
                    constraint_name: format!("{}_fk_{}", table.value, def.foreign_keys.len()),
                    columns: vec![col.def.name.clone()],
                    reference_table: fk.table.clone(),
                    reference_table_schema: "public".into(),
                    reference_columns: vec!["id".into()],
                    on_update: Some(fk.on_update),
                    on_delete: Some(fk.on_delete),
                    match_type: None,
                    deferrable: fk.deferrable,
                });
            }
        }
        def.columns = cols.into_iter().map(|c| c.def).collect();

        // Indexes: inherited (prefixed), then auto-unique, then explicit.
        for &anc in &chain[..chain.len().saturating_sub(1)] {
            let Some(ac) = self.class(anc) else { continue };
            for idx in &ac.indexes {
                let name = format!("{}_{}", table.value, idx.name);
                if let Some(i) = self.index(ac.file, idx, &name, &table.value, &field_cols, index_names) {
                    def.indexes.push(i);
                }
            }
        }
        for (decl, f) in &fields {
            let Some(u) = &f.unique else { continue };
            let file = self.class(*decl).map(|d| d.file).unwrap_or(c.file);
            let mut columns = Vec::new();
            for p in u
                .per
                .iter()
                .map(|p| (p.value.as_str(), p.loc))
                .chain(std::iter::once((f.name.as_str(), u.loc)))
            {
                match field_cols.get(p.0) {
                    Some((_, col, _)) => columns.push(col.clone()),
                    None => self.sink.err(
                        file,
                        p.1,
                        format!(
                            "unique field \"{}\" of \"{}\" is not a persisted field of class \"{}\"",
                            p.0, f.name, c.name
                        ),
                    ),
                }
            }
            if columns.len() != u.per.len() + 1 {
                continue;
            }
            let name = names::unique_index_name(&table.value, &columns);
            if self.claim_index_name(&name, file, u.loc, index_names) {
                def.indexes.push(IndexDefinition {
                    index_name: name,
                    elements: columns.into_iter().map(IndexElement::column).collect(),
                    index_type: "btree".into(),
                    is_unique: true,
                    ..Default::default()
                });
            }
        }
        for idx in &c.indexes {
            if let Some(i) = self.index(c.file, idx, &idx.name, &table.value, &field_cols, index_names) {
                def.indexes.push(i);
            }
        }
        Some(def)
    }

    /// Column names must be unique (ignoring case where the database does). One map lookup per
    /// column, so a wide table stays linear.
    fn check_column_names(&mut self, cols: &[Col]) {
        let fold = self.options.database.case_insensitive_names;
        let mut seen: HashMap<String, &Col> = HashMap::with_capacity(cols.len());
        for col in cols {
            let key = if fold { col.def.name.to_ascii_lowercase() } else { col.def.name.clone() };
            let Some(first) = seen.get(&key).copied() else {
                seen.insert(key, col);
                continue;
            };
            let (name, floc) = (&col.def.name, Where(first.file, first.loc));
            if first.def.name != *name {
                let db = self.options.database.name;
                self.sink.err(col.file, col.loc, format!("column \"{name}\" differs only in case from column \"{}\" at {floc}, and {db} treats them as the same column; use column= to pick another name", first.def.name));
            } else if (first.loc != col.loc || first.file != col.file)
                && first.def.field_name != col.def.field_name
            {
                self.sink.err(col.file, col.loc, format!("column \"{name}\" is already used by the field at {floc}; use column= to pick another name"));
            }
        }
    }

    /// The database's limit on columns per table.
    fn check_column_count(&mut self, file: usize, table: &Located<String>, count: usize) {
        let Some(max) = self.options.database.max_columns.filter(|&max| count > max) else { return };
        let db = self.options.database.name;
        self.sink.err(
            file,
            table.loc,
            format!(
                "table \"{}\" has {count} columns, but {db} allows at most {max} per table; move some \
                 fields into a related class with its own table, or mark them !persist",
                table.value
            ),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn object_relation(
        &mut self,
        file: usize,
        f: &FieldDef,
        own_pos: Option<usize>,
        info: &TypeInfo,
        ids: &HashMap<usize, IdKind>,
        chains: &HashMap<usize, Vec<usize>>,
        declared: &HashSet<&str>,
        cols: &mut Vec<Col>,
        field_cols: &mut FieldCols,
    ) {
        let Some(rel) = &f.relation else { return };
        let Some((parent_table, parent_id)) = self.object_parent(info, ids) else {
            let what = match info.class_ref.and_then(|pi| self.class(pi)) {
                Some(pc) => format!("class \"{}\" which has no table; add a table to it or remove relation", pc.name),
                None => format!(
                    "module class \"{}\" with no known table; relate to the module table with an id field and relation(parent=<table>) instead",
                    info.module_class.as_deref().unwrap_or("?")
                ),
            };
            self.sink.err(file, f.type_loc, format!("object relation \"{}\" points to {what}", f.name));
            return;
        };
        // Named relations: the side with field= (or the many side of a list) holds the FK.
        if let (Some(name), None, Some(pi)) = (&rel.name, &rel.field, info.class_ref) {
            match self.named_partner(pi, chains, &name.value, f) {
                None => {
                    self.sink.err(file, name.loc, format!("no field in class \"{}\" has relation(name={}); add the other side of the relation", self.class(pi).map(|p| p.name.as_str()).unwrap_or("?"), name.value));
                    return;
                }
                Some(partner) => {
                    let partner_is_list = partner.ty.name == "List";
                    let partner_holds_fk =
                        partner.relation.as_ref().is_some_and(|r| r.field.is_some() || r.parent.is_some());
                    if partner_holds_fk {
                        return;
                    }
                    if !partner_is_list {
                        self.sink.err(file, name.loc, format!("named relation \"{}\": one side must say which field holds the foreign key; add field=<idField> to \"{}\" or to \"{}\"", name.value, f.name, partner.name));
                        return;
                    }
                }
            }
        }
        let fk = Fk {
            table: parent_table,
            on_update: rel.on_update.unwrap_or(ForeignKeyAction::NoAction),
            on_delete: rel.on_delete.unwrap_or(ForeignKeyAction::NoAction),
            deferrable: rel.deferrable,
        };
        if let Some(target) = &rel.field {
            if declared.contains(target.value.as_str()) {
                // A declared id field: it carries the FK (see `declared_fk_targets`).
                return;
            }
            if let Err(msg) = names::check_field_name(&target.value, "field") {
                self.sink.err(file, target.loc, msg);
                return;
            }
        }
        let name = match &rel.field {
            Some(t) => t.value.clone(),
            None => {
                let n = names::implicit_id_field(&f.name);
                if declared.contains(n.as_str()) {
                    self.sink.err(file, rel.loc, format!("the implicit foreign key field \"{n}\" of relation \"{}\" clashes with a declared field; write relation(field={n}) to use it", f.name));
                    return;
                }
                n
            }
        };
        let q = if rel.optional { "?" } else { "" };
        field_cols.push(name.clone(), name.clone(), parent_id.column_type());
        cols.push(Col {
            def: ColumnDefinition {
                name: name.clone(),
                field_name: Some(name),
                column_type: parent_id.column_type(),
                is_nullable: rel.optional,
                column_default: None,
                dart_type: Some(format!("{}{q}", parent_id.dart())),
                vector_dimension: None,
                native_type: None,
                identity: None,
                identity_options: None,
                generated: None,
            },
            fk: Some(fk),
            file,
            loc: f.loc,
            fk_order: Some((own_pos.unwrap_or(0), 0)),
        });
    }

    /// Reserves an index name project-wide. Syntax is checked where names are written (explicit
    /// indexes); generated names (prefixed, auto-unique) only need the length limit.
    /// An index on a `json` column, which the database cannot build.
    fn json_index_error(&mut self, file: usize, idx: &IndexDef, field: &Located<String>) {
        let kind = idx.index_type.as_ref().map_or("btree", |t| t.value.as_str());
        self.sink.err(
            file,
            field.loc,
            format!(
                "index \"{}\" ({kind}) is on field \"{}\", stored as json, and {} has no {kind} \
                 operator class for json, so migration.sql would fail at deploy time; store the field \
                 as jsonb (serializationDataType: jsonb) and use a gin index, or remove the field from \
                 the index",
                idx.name, field.value, self.options.database.name
            ),
        );
    }

    fn claim_index_name(&mut self, name: &str, file: usize, loc: Loc, index_names: &mut IndexNames) -> bool {
        let n = name.chars().count();
        if n > names::MAX_IDENTIFIER {
            self.sink.err(
                file,
                loc,
                format!(
                    "index name \"{name}\" is {n} characters long; the limit is {}",
                    names::MAX_IDENTIFIER
                ),
            );
            return false;
        }
        let key = if self.options.database.case_insensitive_names {
            name.to_ascii_lowercase()
        } else {
            name.to_string()
        };
        if let Some((ff, fl, first)) = index_names.get(&key) {
            let at = Where(*ff, *fl);
            self.sink.err(file, loc, if first == name {
                format!("duplicate index name \"{name}\"; first defined at {at}; index names must be unique across all models")
            } else {
                format!("index name \"{name}\" differs only in case from index \"{first}\" at {at}, and {} treats them as the same index; pick a different index name", self.options.database.name)
            });
            return false;
        }
        if self.tables.contains_key(name) {
            self.sink.err(
                file,
                loc,
                format!("index name \"{name}\" is also a table name; pick a different index name"),
            );
            return false;
        }
        index_names.insert(key, (file, loc, name.to_string()));
        true
    }

    fn index(
        &mut self,
        file: usize,
        idx: &IndexDef,
        name: &str,
        table: &str,
        field_cols: &FieldCols,
        index_names: &mut IndexNames,
    ) -> Option<IndexDefinition> {
        let errors_before = self.sink.errors.len();
        let mut elements = Vec::new();
        let mut types = Vec::new();
        for f in &idx.fields {
            match field_cols.get(&f.value) {
                Some((_, col, ct)) => {
                    if *ct == ColumnType::Json && self.options.database.json_unindexable {
                        self.json_index_error(file, idx, f);
                    }
                    elements.push(IndexElement::column(col.clone()));
                    types.push(*ct);
                }
                None => {
                    let known: Vec<&str> = field_cols.list.iter().map(|(n, _, _)| n.as_str()).collect();
                    self.sink.err(file, f.loc, format!("index \"{}\" uses \"{}\", which is not a persisted field of table \"{table}\"; fields are {}", idx.name, f.value, known.join(", ")));
                }
            }
        }
        if elements.len() != idx.fields.len() {
            return None;
        }
        let all = |p: fn(ColumnType) -> bool| !types.is_empty() && types.iter().all(|t| p(*t));
        let any = |p: fn(ColumnType) -> bool| types.iter().any(|t| p(*t));
        let default_type = if all(ColumnType::is_vector) {
            "hnsw"
        } else if all(|t| t == ColumnType::Jsonb) {
            "gin"
        } else if all(ColumnType::is_geography) {
            "gist"
        } else {
            "btree"
        };
        let index_type = match &idx.index_type {
            Some(t) if !INDEX_TYPES.contains(&t.value.as_str()) => {
                self.sink.err(
                    file,
                    t.loc,
                    format!(
                        "unknown index type \"{}\" for index \"{}\"; valid types are {}",
                        t.value,
                        idx.name,
                        INDEX_TYPES.join(", ")
                    ),
                );
                return None;
            }
            Some(t) => t.value.clone(),
            None => default_type.to_string(),
        };
        let type_loc = idx.index_type.as_ref().map(|t| t.loc).unwrap_or(idx.loc);
        let is_vector_index = matches!(index_type.as_str(), "hnsw" | "ivfflat");
        let mut out = IndexDefinition {
            index_name: name.to_string(),
            elements,
            index_type: index_type.clone(),
            is_unique: idx.unique,
            ..Default::default()
        };
        if let Some(nd) = &idx.nulls_distinct {
            if !idx.unique {
                self.sink.err(file, nd.loc, format!("nulls_distinct only applies to unique indexes; add unique: true to index \"{}\" or remove it", idx.name));
            }
            out.nulls_distinct = Some(nd.value);
        }
        if any(ColumnType::is_vector) || is_vector_index {
            if types.len() != 1 || !types[0].is_vector() {
                self.sink.err(
                    file,
                    type_loc,
                    format!(
                        "vector index \"{}\" must have exactly one vector field and no other fields",
                        idx.name
                    ),
                );
            } else if !is_vector_index {
                self.sink.err(
                    file,
                    type_loc,
                    format!(
                        "index \"{}\" on a vector field must be of type hnsw or ivfflat, not {index_type}",
                        idx.name
                    ),
                );
            } else {
                let ct = types[0];
                if ct == ColumnType::Sparsevec && index_type != "hnsw" {
                    self.sink.err(
                        file,
                        type_loc,
                        format!("SparseVector fields only support hnsw indexes (index \"{}\")", idx.name),
                    );
                }
                let bit = ct == ColumnType::Bit;
                let distance = idx.distance.as_ref().map(|d| d.value).unwrap_or(if bit {
                    VectorDistanceFunction::Hamming
                } else {
                    VectorDistanceFunction::L2
                });
                let bit_fn =
                    matches!(distance, VectorDistanceFunction::Hamming | VectorDistanceFunction::Jaccard);
                if bit != bit_fn {
                    let loc = idx.distance.as_ref().map(|d| d.loc).unwrap_or(idx.loc);
                    self.sink.err(file, loc, if bit {
                        format!("Bit fields support only the hamming and jaccard distance functions (index \"{}\")", idx.name)
                    } else {
                        format!("distance function {} only applies to Bit fields; use l2, innerProduct, cosine or l1 (index \"{}\")", distance.name(), idx.name)
                    });
                }
                out.vector_distance_function = Some(distance);
                out.vector_column_type = Some(ct);
                if let Some(params) = &idx.parameters {
                    let allowed: &[&str] =
                        if index_type == "hnsw" { &["m", "ef_construction"] } else { &["lists"] };
                    let mut values: BTreeMap<&str, i64> = BTreeMap::new();
                    for (k, v) in &params.value {
                        if !allowed.contains(&k.as_str()) {
                            self.sink.err(file, params.loc, format!("unknown parameter \"{k}\" for {index_type} index \"{}\"; valid parameters are {}", idx.name, allowed.join(", ")));
                        } else {
                            match v.parse::<i64>() {
                                Ok(n) if n > 0 => {
                                    values.insert(k.as_str(), n);
                                }
                                _ => self.sink.err(file, params.loc, format!("parameter \"{k}\" of index \"{}\" must be a positive integer, not \"{v}\"", idx.name)),
                            }
                        }
                    }
                    if let (Some(m), Some(ef)) = (values.get("m"), values.get("ef_construction")) {
                        if *ef < 2 * m {
                            self.sink.err(
                                file,
                                params.loc,
                                format!(
                                    "hnsw index \"{}\": ef_construction ({ef}) must be at least 2 * m ({})",
                                    idx.name,
                                    2 * m
                                ),
                            );
                        }
                    }
                    out.parameters = Some(params.value.clone());
                }
            }
        } else {
            if let Some(d) = &idx.distance {
                self.sink.err(file, d.loc, format!("distanceFunction only applies to vector indexes (hnsw, ivfflat); remove it from index \"{}\"", idx.name));
            }
            if let Some(p) = &idx.parameters {
                self.sink.err(file, p.loc, format!("parameters only apply to vector indexes (hnsw, ivfflat); remove them from index \"{}\"", idx.name));
            }
        }
        if any(ColumnType::is_geography) {
            if !all(ColumnType::is_geography) {
                self.sink.err(
                    file,
                    type_loc,
                    format!("index \"{}\" mixes geography and non-geography fields", idx.name),
                );
            } else if !matches!(index_type.as_str(), "gist" | "spgist") {
                self.sink.err(
                    file,
                    type_loc,
                    format!(
                        "index \"{}\" on geography fields must be gist or spgist, not {index_type}",
                        idx.name
                    ),
                );
            }
        }
        if index_type == "gin" {
            out.gin_operator_class =
                Some(idx.operator_class.as_ref().map(|o| o.value).unwrap_or(GinOperatorClass::JsonbOps));
        } else if let Some(o) = &idx.operator_class {
            self.sink.err(
                file,
                o.loc,
                format!(
                    "operatorClass only applies to gin indexes; remove it from index \"{}\" or set type: gin",
                    idx.name
                ),
            );
        }
        if !self.claim_index_name(name, file, idx.loc, index_names) || name == table {
            return None;
        }
        (self.sink.errors.len() == errors_before).then_some(out)
    }
}
