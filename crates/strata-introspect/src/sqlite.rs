//! SQLite introspection: one query per object kind over `sqlite_master` joined with the
//! table-valued pragmas (`pragma_table_xinfo`, `pragma_index_list`, `pragma_index_xinfo`,
//! `pragma_foreign_key_list`), never one query per table.
//!
//! What the pragmas do not report (constraint names, deferrability, `AUTOINCREMENT`, index
//! expressions and predicates) is read from the stored `CREATE` statements with a small
//! tokenizer: SQLite keeps them verbatim, so strata's own output reads back exactly.
//!
//! A database written in the SQLite dialect (Serverpod's: it has a `serverpod_sqlite_schema`
//! table) declares storage classes only; the abstract types the classes lose (boolean,
//! timestamp, uuid, json, vectors, ...) and vector dimensions are read from that table, and
//! defaults are mapped back from Serverpod's forms. The table itself is bookkeeping every
//! migration rewrites, so it is not reported as part of the schema.

use std::collections::HashMap;

use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, Sqlite};
use strata_schema::defaults::{pg_sql_to_abstract_default, NOW, RANDOM, RANDOM_V7, SERIAL};
use strata_schema::{
    ColumnDefinition, ColumnType, DatabaseDefinition, Deferrable, ForeignKeyAction, ForeignKeyDefinition,
    IndexDefinition, IndexElement, IndexElementType, MigrationVersion, TableDefinition,
};

use strata_sql::SQLITE_SCHEMA_TABLE;

use crate::warning::unwritable_index;
use crate::{
    quote_ident, IntrospectError, IntrospectOptions, IntrospectWarning, Introspection, WarningKind,
    MIGRATIONS_TABLE,
};

/// The queries SQLite introspection runs; the last only when `serverpod_migrations` exists.
pub const QUERIES: &[&str] = &[
    "tables",
    "columns",
    "indexes",
    "index elements",
    "foreign keys",
    "unrepresentable objects",
    "installed versions",
    "serverpod column types",
];

/// What `serverpod_sqlite_schema` records for one column: its abstract type and dimension.
type RecordedType = (ColumnType, Option<i64>);

const SCHEMA: &str = "main";
const USER_TABLES: &str = "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";

/// Reads the live schema of a SQLite database (`opts.schemas` is ignored: one schema).
pub async fn introspect_sqlite(
    conn: &mut SqliteConnection,
    _opts: &IntrospectOptions,
) -> Result<Introspection, IntrospectError> {
    let mut r = Reader { conn, warnings: Vec::new(), query_count: 0 };
    let mut tables = read_tables(&mut r).await?;
    let recorded = if tables.serverpod_dialect { read_recorded_types(&mut r).await? } else { HashMap::new() };
    read_columns(&mut r, &mut tables, &recorded).await?;
    read_indexes(&mut r, &mut tables).await?;
    read_foreign_keys(&mut r, &mut tables).await?;
    read_unrepresentable(&mut r).await?;
    let installed_versions = read_installed_versions(&mut r, &tables).await?;
    Ok(Introspection::assemble(SCHEMA.into(), tables.list, r.warnings, installed_versions, r.query_count))
}

/// The connection and what the queries have found so far.
struct Reader<'c> {
    conn: &'c mut SqliteConnection,
    warnings: Vec<IntrospectWarning>,
    query_count: usize,
}

impl Reader<'_> {
    /// Runs query number `q` of [`QUERIES`].
    async fn run(&mut self, q: usize, sql: &str) -> Result<Vec<SqliteRow>, IntrospectError> {
        self.query_count += 1;
        sqlx::query(sql)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(|source| IntrospectError::Query { query: QUERIES[q], source })
    }
}

/// The user tables read so far, with their stored `CREATE TABLE` text.
struct LiveTables {
    list: Vec<TableDefinition>,
    sql: HashMap<String, String>,
    by_name: HashMap<String, usize>,
    /// The database has `serverpod_sqlite_schema`: it was written in Serverpod's SQLite dialect.
    serverpod_dialect: bool,
}

impl LiveTables {
    fn create_sql(&self, table: &str) -> &str {
        self.sql.get(table).map(String::as_str).unwrap_or("")
    }
}

async fn read_tables(r: &mut Reader<'_>) -> Result<LiveTables, IntrospectError> {
    let rows = r
        .run(
            0,
            &format!(
                "SELECT m.name AS name, COALESCE(m.sql, '') AS sql FROM sqlite_master m WHERE {USER_TABLES} ORDER BY m.name"
            ),
        )
        .await?;
    let mut tables = LiveTables {
        list: Vec::new(),
        sql: HashMap::new(),
        by_name: HashMap::new(),
        serverpod_dialect: false,
    };
    for row in &rows {
        let name: String = get(row, "name", 0)?;
        let sql: String = get(row, "sql", 0)?;
        if name == SQLITE_SCHEMA_TABLE {
            tables.serverpod_dialect = true;
            continue;
        }
        if !table_is_represented(&name, &sql, &mut r.warnings) {
            continue;
        }
        tables.by_name.insert(name.clone(), tables.list.len());
        tables.list.push(TableDefinition { name: name.clone(), schema: SCHEMA.into(), ..Default::default() });
        tables.sql.insert(name, sql);
    }
    Ok(tables)
}

/// Warns about what a `CREATE TABLE` declares that the model lacks; false for virtual tables,
/// which are not read at all.
fn table_is_represented(name: &str, sql: &str, warnings: &mut Vec<IntrospectWarning>) -> bool {
    let upper: Vec<String> = tokenize(sql).iter().map(|t| t.word_upper(sql)).collect();
    if upper.iter().any(|w| w == "VIRTUAL") {
        warnings.push(table_warning(WarningKind::SqliteObject, name, "virtual table (not represented)"));
        return false;
    }
    if upper.windows(2).any(|w| w[0] == "WITHOUT" && w[1] == "ROWID") {
        warnings.push(table_warning(WarningKind::SqliteObject, name, "WITHOUT ROWID is not represented"));
    }
    if upper.iter().any(|w| w == "CHECK") {
        warnings.push(table_warning(
            WarningKind::CheckConstraint,
            name,
            "the table declares CHECK constraint(s)",
        ));
    }
    true
}

/// The abstract types `serverpod_sqlite_schema` records per (table, column).
async fn read_recorded_types(
    r: &mut Reader<'_>,
) -> Result<HashMap<(String, String), RecordedType>, IntrospectError> {
    let sql = format!(
        "SELECT table_name, column_name, column_type, column_vector_dimension AS dimension FROM {}",
        quote_ident(SQLITE_SCHEMA_TABLE)
    );
    let mut recorded = HashMap::new();
    for row in &r.run(7, &sql).await? {
        let table: String = get(row, "table_name", 7)?;
        let column: String = get(row, "column_name", 7)?;
        let type_name: String = get(row, "column_type", 7)?;
        match ColumnType::from_name(&type_name) {
            Some(t) => {
                recorded.insert((table, column), (t, get(row, "dimension", 7)?));
            }
            None => r.warnings.push(column_warning(
                WarningKind::UnknownColumnType,
                &table,
                &column,
                format!("{SQLITE_SCHEMA_TABLE} records the unknown type {type_name:?}"),
            )),
        }
    }
    Ok(recorded)
}

async fn read_columns(
    r: &mut Reader<'_>,
    tables: &mut LiveTables,
    recorded: &HashMap<(String, String), RecordedType>,
) -> Result<(), IntrospectError> {
    let rows = r
        .run(
            1,
            &format!(
                "SELECT m.name AS table_name, p.name AS name, COALESCE(p.type, '') AS type, p.\"notnull\" AS not_null, \
                    p.dflt_value AS dflt, p.pk AS pk, p.hidden AS hidden \
             FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p WHERE {USER_TABLES} ORDER BY m.name, p.cid"
            ),
        )
        .await?;
    let mut pk_columns: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for row in &rows {
        let table_name: String = get(row, "table_name", 1)?;
        let Some(&ti) = tables.by_name.get(&table_name) else { continue };
        let pk: i64 = get(row, "pk", 1)?;
        let column = map_column(row, &table_name, tables, recorded, &mut r.warnings)?;
        if pk > 0 {
            pk_columns.entry(table_name.clone()).or_default().push((pk, column.name.clone()));
        }
        tables.list[ti].columns.push(column);
    }
    for t in &tables.list {
        primary_key_warning(&t.name, pk_columns.remove(&t.name).unwrap_or_default(), &mut r.warnings);
    }
    Ok(())
}

/// One `pragma_table_xinfo` row: the recorded abstract type (Serverpod's dialect) or the
/// declared one, and the default in the abstract form.
fn map_column(
    row: &SqliteRow,
    table_name: &str,
    tables: &LiveTables,
    recorded: &HashMap<(String, String), RecordedType>,
    warnings: &mut Vec<IntrospectWarning>,
) -> Result<ColumnDefinition, IntrospectError> {
    let name: String = get(row, "name", 1)?;
    let declared: String = get(row, "type", 1)?;
    let pk: i64 = get(row, "pk", 1)?;
    let hidden: i64 = get(row, "hidden", 1)?;
    let dflt: Option<String> = get(row, "dflt", 1)?;
    let serverpod_dialect = tables.serverpod_dialect;
    let recorded_type = recorded.get(&(table_name.to_string(), name.clone())).copied();
    let read_type = match (serverpod_dialect, recorded_type) {
        (true, Some((t, _))) => Some(t),
        (true, None) => strata_sql::basic_type_for_storage(&declared),
        (false, _) => strata_sql_type(&declared),
    };
    let column_type = read_type.unwrap_or_else(|| {
        warnings.push(column_warning(
            WarningKind::UnknownColumnType,
            table_name,
            &name,
            format!("type {declared}"),
        ));
        ColumnType::Unknown
    });
    let autoincrement = pk > 0 && declared.eq_ignore_ascii_case("INTEGER") && {
        let sql = tables.create_sql(table_name);
        tokenize(sql).iter().any(|t| t.word_upper(sql) == "AUTOINCREMENT")
    };
    let column_default = if hidden == 2 || hidden == 3 {
        warnings.push(column_warning(
            WarningKind::GeneratedColumn,
            table_name,
            &name,
            "GENERATED ALWAYS AS (...)".into(),
        ));
        None
    } else if autoincrement || (serverpod_dialect && rowid_key(pk, &declared, &name)) {
        Some(SERIAL.to_string())
    } else if serverpod_dialect {
        dflt.map(|d| strata_sql::sqlite_default_to_abstract(&d, column_type).unwrap_or(d))
    } else {
        dflt.map(|d| sqlite_default(&d, column_type))
    };
    Ok(ColumnDefinition {
        name,
        field_name: None,
        column_type,
        // A primary key is never NULL in strata's tables (INTEGER PRIMARY KEY is the rowid;
        // other keys are declared NOT NULL), even where the pragma says "nullable".
        is_nullable: get::<i64>(row, "not_null", 1)? == 0 && pk == 0,
        column_default,
        dart_type: None,
        vector_dimension: recorded_type.and_then(|(_, dimension)| dimension),
        native_type: None,
        identity: None,
        identity_options: None,
        generated: None,
    })
}

/// strata's model has exactly one primary key shape: `PRIMARY KEY ("id")`. `pk` holds the key's
/// (position, column) pairs.
fn primary_key_warning(table: &str, mut pk: Vec<(i64, String)>, warnings: &mut Vec<IntrospectWarning>) {
    pk.sort();
    let cols: Vec<&str> = pk.iter().map(|(_, c)| c.as_str()).collect();
    if cols == ["id"] {
        return;
    }
    let detail = if cols.is_empty() {
        "none".to_string()
    } else {
        format!(
            "PRIMARY KEY ({}) instead of (\"id\")",
            cols.iter().map(|c| quote_ident(c)).collect::<Vec<_>>().join(", ")
        )
    };
    warnings.push(table_warning(WarningKind::PrimaryKey, table, &detail));
}

async fn read_indexes(r: &mut Reader<'_>, tables: &mut LiveTables) -> Result<(), IntrospectError> {
    let rows = r
        .run(
            2,
            &format!(
                "SELECT m.name AS table_name, il.name AS name, il.\"unique\" AS is_unique, il.origin AS origin, \
                    COALESCE(s.sql, '') AS sql \
             FROM sqlite_master m JOIN pragma_index_list(m.name) il \
             LEFT JOIN sqlite_master s ON s.type = 'index' AND s.name = il.name \
             WHERE {USER_TABLES} ORDER BY m.name, il.name"
            ),
        )
        .await?;
    let mut elements = read_index_elements(r).await?;
    for row in &rows {
        let table_name: String = get(row, "table_name", 2)?;
        let Some(&ti) = tables.by_name.get(&table_name) else { continue };
        let name: String = get(row, "name", 2)?;
        match get::<String>(row, "origin", 2)?.as_str() {
            "pk" => continue,
            "u" => {
                r.warnings.push(IntrospectWarning {
                    kind: WarningKind::UniqueConstraint,
                    schema: SCHEMA.into(),
                    table: Some(table_name.clone()),
                    name,
                    detail: "a UNIQUE constraint in CREATE TABLE".into(),
                    depends_on: vec![table_name.clone()],
                });
                continue;
            }
            _ => {}
        }
        let element_rows = elements.remove(&name).unwrap_or_default();
        let index = map_index(row, &table_name, name, element_rows, &mut r.warnings)?;
        r.warnings.extend(unwritable_index(&strata_sql::Sqlite, SCHEMA, &table_name, &index));
        tables.list[ti].indexes.push(index);
    }
    Ok(())
}

/// Every index's key elements, by index name, in order.
async fn read_index_elements(
    r: &mut Reader<'_>,
) -> Result<HashMap<String, Vec<ElementRow>>, IntrospectError> {
    let element_rows = r
        .run(
            3,
            &format!(
                "SELECT il.name AS index_name, ix.cid AS cid, ix.name AS name, ix.\"desc\" AS descending, \
                    COALESCE(ix.coll, 'BINARY') AS coll \
             FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_xinfo(il.name) ix \
             WHERE {USER_TABLES} AND ix.key = 1 ORDER BY il.name, ix.seqno"
            ),
        )
        .await?;
    let mut elements: HashMap<String, Vec<ElementRow>> = HashMap::new();
    for row in &element_rows {
        elements.entry(get(row, "index_name", 3)?).or_default().push((
            get(row, "cid", 3)?,
            get(row, "name", 3)?,
            get::<i64>(row, "descending", 3)? != 0,
            get(row, "coll", 3)?,
        ));
    }
    Ok(elements)
}

/// One index: columns from the pragma, expressions and the predicate from its stored SQL;
/// sort order and collations the model lacks become a warning.
fn map_index(
    row: &SqliteRow,
    table_name: &str,
    name: String,
    element_rows: Vec<ElementRow>,
    warnings: &mut Vec<IntrospectWarning>,
) -> Result<IndexDefinition, IntrospectError> {
    let sql: String = get(row, "sql", 2)?;
    let parsed = parse_index_sql(&sql);
    let mut details = Vec::new();
    let elements: Vec<IndexElement> = element_rows
        .into_iter()
        .enumerate()
        .map(|(i, (cid, col, desc, coll))| {
            if desc {
                details.push("DESC ordering".to_string());
            }
            if !coll.eq_ignore_ascii_case("BINARY") {
                details.push(format!("COLLATE {coll}"));
            }
            match (cid, col) {
                (c, Some(col)) if c >= 0 => IndexElement::column(col),
                _ => IndexElement::new(
                    IndexElementType::Expression,
                    parsed.elements.get(i).cloned().unwrap_or_default(),
                ),
            }
        })
        .collect();
    if !details.is_empty() {
        details.dedup();
        warnings.push(IntrospectWarning {
            kind: WarningKind::IndexDetail,
            schema: SCHEMA.into(),
            table: Some(table_name.to_string()),
            name: name.clone(),
            detail: format!("not represented: {}", details.join("; ")),
            depends_on: vec![table_name.to_string()],
        });
    }
    Ok(IndexDefinition {
        index_name: name,
        elements,
        index_type: "btree".into(),
        is_unique: get::<i64>(row, "is_unique", 2)? != 0,
        predicate: parsed.predicate,
        ..Default::default()
    })
}

async fn read_foreign_keys(r: &mut Reader<'_>, tables: &mut LiveTables) -> Result<(), IntrospectError> {
    let rows = r
        .run(
            4,
            &format!(
                "SELECT m.name AS table_name, fk.id AS id, fk.\"table\" AS ref_table, fk.\"from\" AS from_col, \
                    fk.\"to\" AS to_col, fk.on_update AS on_update, fk.on_delete AS on_delete, fk.\"match\" AS match_type \
             FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) fk \
             WHERE {USER_TABLES} ORDER BY m.name, fk.id, fk.seq"
            ),
        )
        .await?;
    let mut declared: HashMap<String, Vec<(DeclaredFk, bool)>> = HashMap::new();
    for (table_name, mut fk) in group_foreign_keys(&rows)? {
        let Some(&ti) = tables.by_name.get(&table_name) else { continue };
        let decls = declared.entry(table_name.clone()).or_insert_with(|| {
            parse_foreign_keys(tables.create_sql(&table_name)).into_iter().map(|d| (d, false)).collect()
        });
        let found = decls.iter_mut().enumerate().find(|(_, (d, used))| {
            !*used && d.columns == fk.columns && d.reference_table.eq_ignore_ascii_case(&fk.reference_table)
        });
        match found {
            Some((n, (d, used))) => {
                *used = true;
                fk.constraint_name = d.name.clone().unwrap_or_else(|| format!("{table_name}_fk_{n}"));
                fk.deferrable = d.deferrable;
            }
            None => fk.constraint_name = format!("{table_name}_fk_{}", tables.list[ti].foreign_keys.len()),
        }
        tables.list[ti].foreign_keys.push(fk);
    }
    Ok(())
}

/// The pragma's rows (one per column pair) grouped into constraints, unnamed: the names come
/// from the `CREATE TABLE` text.
fn group_foreign_keys(rows: &[SqliteRow]) -> Result<Vec<(String, ForeignKeyDefinition)>, IntrospectError> {
    let mut groups: Vec<(String, i64, ForeignKeyDefinition)> = Vec::new();
    for row in rows {
        let table_name: String = get(row, "table_name", 4)?;
        let id: i64 = get(row, "id", 4)?;
        let from: String = get(row, "from_col", 4)?;
        let to: Option<String> = get(row, "to_col", 4)?;
        match groups.last_mut() {
            Some((t, i, fk)) if *t == table_name && *i == id => {
                fk.columns.push(from);
                fk.reference_columns.push(to.unwrap_or_default());
            }
            _ => {
                let fk = ForeignKeyDefinition {
                    constraint_name: String::new(),
                    columns: vec![from],
                    reference_table: get(row, "ref_table", 4)?,
                    reference_table_schema: SCHEMA.into(),
                    // An omitted target column means the referenced table's primary key.
                    reference_columns: vec![to.unwrap_or_else(|| "id".into())],
                    on_update: sqlite_action(&get::<String>(row, "on_update", 4)?),
                    on_delete: sqlite_action(&get::<String>(row, "on_delete", 4)?),
                    match_type: None,
                    deferrable: None,
                };
                groups.push((table_name, id, fk));
            }
        }
    }
    Ok(groups.into_iter().map(|(table, _, fk)| (table, fk)).collect())
}

/// Views and triggers.
async fn read_unrepresentable(r: &mut Reader<'_>) -> Result<(), IntrospectError> {
    let sql =
        "SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('view', 'trigger') ORDER BY name";
    for row in &r.run(5, sql).await? {
        let kind: String = get(row, "type", 5)?;
        let table: String = get(row, "tbl_name", 5)?;
        let (kind, table) =
            if kind == "view" { (WarningKind::View, None) } else { (WarningKind::Trigger, Some(table)) };
        r.warnings.push(IntrospectWarning {
            kind,
            schema: SCHEMA.into(),
            depends_on: table.iter().cloned().collect(),
            table,
            name: get(row, "name", 5)?,
            detail: String::new(),
        });
    }
    Ok(())
}

/// The rows of `serverpod_migrations`, when it exists; unreadable ones become a warning.
async fn read_installed_versions(
    r: &mut Reader<'_>,
    tables: &LiveTables,
) -> Result<Vec<MigrationVersion>, IntrospectError> {
    if !tables.by_name.contains_key(MIGRATIONS_TABLE) {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT \"module\" AS module, \"version\" AS version FROM {} ORDER BY 1",
        quote_ident(MIGRATIONS_TABLE)
    );
    let rows = match r.run(6, &sql).await {
        Ok(rows) => rows,
        Err(e) => {
            r.warnings.push(crate::migrations_table_warning(SCHEMA, &e));
            return Ok(Vec::new());
        }
    };
    let mut installed_versions = Vec::new();
    for row in &rows {
        let module: Option<String> = get(row, "module", 6)?;
        let version: Option<String> = get(row, "version", 6)?;
        installed_versions
            .push(MigrationVersion::dependency(module.unwrap_or_default(), version.unwrap_or_default()));
    }
    Ok(installed_versions)
}

/// Adds to a definition read from SQLite the indexes of `target` that SQLite leaves out of the
/// database (gin, gist, hnsw, ...: Serverpod's SQLite dialect skips them), so they do not show as
/// drift that no migration could fix. Definitions read from elsewhere are left as they are.
pub(crate) fn add_left_out_indexes(live: &mut DatabaseDefinition, target: &DatabaseDefinition) {
    let from_sqlite = live.name.as_deref() == Some(SCHEMA) && live.tables.iter().all(|t| t.schema == SCHEMA);
    if !from_sqlite {
        return;
    }
    let dialect = strata_sql::Sqlite;
    for table in &mut live.tables {
        let Some(wanted) = target.table(&table.name) else { continue };
        for index in wanted
            .indexes
            .iter()
            .filter(|i| !strata_sql::Dialect::supports_index_method(&dialect, &i.index_type))
        {
            if table.index(&index.index_name).is_none() {
                table.indexes.push(index.clone());
            }
        }
    }
}

/// One `pragma_index_xinfo` key row: column id (-2 for expressions), column name, DESC,
/// collation.
type ElementRow = (i64, Option<String>, bool, String);

fn get<'r, T>(row: &'r SqliteRow, column: &str, q: usize) -> Result<T, IntrospectError>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(column).map_err(|source| IntrospectError::Query { query: QUERIES[q], source })
}

fn table_warning(kind: WarningKind, table: &str, detail: &str) -> IntrospectWarning {
    IntrospectWarning {
        kind,
        schema: SCHEMA.into(),
        table: Some(table.into()),
        name: table.into(),
        detail: detail.into(),
        depends_on: vec![table.into()],
    }
}

fn column_warning(kind: WarningKind, table: &str, column: &str, detail: String) -> IntrospectWarning {
    IntrospectWarning {
        kind,
        schema: SCHEMA.into(),
        table: Some(table.into()),
        name: column.into(),
        detail,
        depends_on: vec![table.into()],
    }
}

/// Declared types of a database without `serverpod_sqlite_schema` (hand-written, or from
/// strata's earlier SQLite design).
fn strata_sql_type(declared: &str) -> Option<ColumnType> {
    strata_sql::legacy_declared_type_to_column_type(declared)
}

/// Serverpod's `"id" INTEGER PRIMARY KEY`: the rowid, which numbers itself (`serial`).
fn rowid_key(pk: i64, declared: &str, name: &str) -> bool {
    pk == 1 && name == "id" && declared.eq_ignore_ascii_case("INTEGER")
}

/// A stored default as SQLite keeps its text, in the abstract form.
fn sqlite_default(text: &str, column_type: ColumnType) -> String {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    if upper == "CURRENT_TIMESTAMP" {
        return NOW.into();
    }
    if upper == "TRUE" || upper == "FALSE" {
        return upper.to_ascii_lowercase();
    }
    // strata writes UUIDs as expressions over randomblob() (SQLite stores them without the
    // outer parentheses); v7 reads the clock.
    if t.contains("randomblob(") && !t.starts_with('\'') {
        return if t.contains("julianday") { RANDOM_V7.into() } else { RANDOM.into() };
    }
    pg_sql_to_abstract_default(t, column_type)
}

fn sqlite_action(text: &str) -> Option<ForeignKeyAction> {
    match text.to_ascii_uppercase().as_str() {
        "NO ACTION" => Some(ForeignKeyAction::NoAction),
        "RESTRICT" => Some(ForeignKeyAction::Restrict),
        "CASCADE" => Some(ForeignKeyAction::Cascade),
        "SET NULL" => Some(ForeignKeyAction::SetNull),
        "SET DEFAULT" => Some(ForeignKeyAction::SetDefault),
        _ => None,
    }
}

/// A token of a stored `CREATE` statement, as a byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Word(usize, usize),
    /// `"x"`, `` `x` `` or `[x]`.
    Ident(usize, usize),
    Str(usize, usize),
    Punct(usize),
}

impl Tok {
    fn start(self) -> usize {
        match self {
            Tok::Word(s, _) | Tok::Ident(s, _) | Tok::Str(s, _) => s,
            Tok::Punct(s) => s,
        }
    }
    fn end(self) -> usize {
        match self {
            Tok::Word(_, e) | Tok::Ident(_, e) | Tok::Str(_, e) => e,
            Tok::Punct(s) => s + 1,
        }
    }
    fn word_upper(self, sql: &str) -> String {
        match self {
            Tok::Word(s, e) => sql.get(s..e).unwrap_or("").to_ascii_uppercase(),
            _ => String::new(),
        }
    }
    fn is_punct(self, sql: &str, c: u8) -> bool {
        matches!(self, Tok::Punct(s) if sql.as_bytes().get(s) == Some(&c))
    }
    /// The identifier's name, unquoted (words are names too).
    fn name(self, sql: &str) -> Option<String> {
        match self {
            Tok::Word(s, e) => sql.get(s..e).map(str::to_string),
            Tok::Ident(s, e) => {
                let raw = sql.get(s + 1..e.saturating_sub(1))?;
                let q = sql.as_bytes()[s];
                Some(match q {
                    b'"' => raw.replace("\"\"", "\""),
                    b'`' => raw.replace("``", "`"),
                    _ => raw.to_string(),
                })
            }
            _ => None,
        }
    }
}

/// Splits SQL into words, quoted identifiers, string literals and punctuation; comments and
/// whitespace are dropped. Never panics: unterminated quotes run to the end.
fn tokenize(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if matches!(c, b'"' | b'`' | b'\'' | b'[') {
            let close = if c == b'[' { b']' } else { c };
            let start = i;
            i += 1;
            loop {
                if i >= b.len() {
                    break;
                }
                if b[i] == close {
                    if close != b']' && b.get(i + 1) == Some(&close) {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            out.push(if c == b'\'' { Tok::Str(start, i) } else { Tok::Ident(start, i) });
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            out.push(Tok::Word(start, i));
        } else {
            out.push(Tok::Punct(i));
            i += 1;
        }
    }
    out
}

/// The element texts and predicate of a stored `CREATE INDEX`.
#[derive(Debug, Default, PartialEq, Eq)]
struct ParsedIndex {
    elements: Vec<String>,
    predicate: Option<String>,
}

fn parse_index_sql(sql: &str) -> ParsedIndex {
    let toks = tokenize(sql);
    let Some(open) = toks.iter().position(|t| t.is_punct(sql, b'(')) else { return ParsedIndex::default() };
    let mut depth = 0;
    let mut elements = Vec::new();
    let mut start = open + 1;
    let mut close = toks.len();
    for (i, t) in toks.iter().enumerate().skip(open) {
        if t.is_punct(sql, b'(') {
            depth += 1;
        } else if t.is_punct(sql, b')') {
            depth -= 1;
            if depth == 0 {
                close = i;
                break;
            }
        } else if depth == 1 && t.is_punct(sql, b',') {
            elements.push(span(sql, &toks[start..i]));
            start = i + 1;
        }
    }
    if close < toks.len() {
        elements.push(span(sql, &toks[start..close]));
    }
    let predicate = toks
        .get(close + 1)
        .filter(|t| t.word_upper(sql) == "WHERE")
        .map(|w| sql.get(w.end()..).unwrap_or("").trim().trim_end_matches(';').trim().to_string());
    ParsedIndex { elements, predicate }
}

fn span(sql: &str, toks: &[Tok]) -> String {
    match (toks.first(), toks.last()) {
        (Some(a), Some(b)) => sql.get(a.start()..b.end()).unwrap_or("").to_string(),
        _ => String::new(),
    }
}

/// A foreign key as declared in `CREATE TABLE` (table constraint or column `REFERENCES`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeclaredFk {
    name: Option<String>,
    columns: Vec<String>,
    reference_table: String,
    deferrable: Option<Deferrable>,
}

fn parse_foreign_keys(sql: &str) -> Vec<DeclaredFk> {
    let toks = tokenize(sql);
    let up: Vec<String> = toks.iter().map(|t| t.word_upper(sql)).collect();
    let mut out = Vec::new();
    // Column definitions and table constraints are the depth-1 comma-separated parts.
    let Some(open) = toks.iter().position(|t| t.is_punct(sql, b'(')) else { return out };
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let mut depth = 0;
    let mut start = open + 1;
    for (i, t) in toks.iter().enumerate().skip(open) {
        if t.is_punct(sql, b'(') {
            depth += 1;
        } else if t.is_punct(sql, b')') {
            depth -= 1;
            if depth == 0 {
                parts.push((start, i));
                break;
            }
        } else if depth == 1 && t.is_punct(sql, b',') {
            parts.push((start, i));
            start = i + 1;
        }
    }
    for (s, e) in parts {
        let Some(r) = (s..e).find(|&i| up[i] == "REFERENCES") else { continue };
        let name =
            (s..r).find(|&i| up[i] == "CONSTRAINT").and_then(|i| toks.get(i + 1)).and_then(|t| t.name(sql));
        let columns = match (s..r).find(|&i| up[i] == "FOREIGN") {
            Some(f) => {
                let mut cols = Vec::new();
                let mut i = f + 1;
                while i < r && !toks[i].is_punct(sql, b'(') {
                    i += 1;
                }
                while i < r && !toks[i].is_punct(sql, b')') {
                    if let Some(n) =
                        toks[i].name(sql).filter(|_| !matches!(toks[i], Tok::Word(..)) || up[i] != "KEY")
                    {
                        cols.push(n);
                    }
                    i += 1;
                }
                cols
            }
            // A column constraint: the column is the part's first token.
            None => toks.get(s).and_then(|t| t.name(sql)).into_iter().collect(),
        };
        let reference_table = toks.get(r + 1).and_then(|t| t.name(sql)).unwrap_or_default();
        let deferrable = (r..e).find(|&i| up[i] == "DEFERRABLE").and_then(|i| {
            if i > 0 && up[i - 1] == "NOT" {
                return None;
            }
            match up.get(i + 2).map(String::as_str) {
                Some("DEFERRED") => Some(Deferrable::InitiallyDeferred),
                _ => Some(Deferrable::InitiallyImmediate),
            }
        });
        out.push(DeclaredFk { name, columns, reference_table, deferrable });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_read_back_in_abstract_form() {
        assert_eq!(sqlite_default("CURRENT_TIMESTAMP", ColumnType::TimestampWithoutTimeZone), "now");
        assert_eq!(sqlite_default("TRUE", ColumnType::Boolean), "true");
        assert_eq!(sqlite_default("FALSE", ColumnType::Boolean), "false");
        assert_eq!(sqlite_default("-1", ColumnType::Bigint), "-1");
        assert_eq!(sqlite_default("'it''s'", ColumnType::Text), "'it''s'");
        assert_eq!(
            sqlite_default("'2024-05-10T22:00:00.000Z'", ColumnType::TimestampWithoutTimeZone),
            "2024-05-10T22:00:00.000Z"
        );
        assert_eq!(sqlite_default("(lower(hex(randomblob(4))))", ColumnType::Uuid), "random");
        assert_eq!(
            sqlite_default("(lower(printf('%x', julianday('now')) || hex(randomblob(2))))", ColumnType::Uuid),
            "random_v7"
        );
    }

    #[test]
    fn index_sql_elements_and_predicate() {
        let p = parse_index_sql(
            "CREATE UNIQUE INDEX \"i\" ON \"t\" (\"a\", lower(\"b\"), (c + 1)) WHERE \"a\" > 0",
        );
        assert_eq!(p.elements, vec!["\"a\"", "lower(\"b\")", "(c + 1)"]);
        assert_eq!(p.predicate.as_deref(), Some("\"a\" > 0"));
        assert_eq!(parse_index_sql("CREATE INDEX i ON t (a)").predicate, None);
        assert_eq!(parse_index_sql(""), ParsedIndex::default());
        assert_eq!(parse_index_sql("CREATE INDEX i ON t (a").elements, Vec::<String>::new());
    }

    #[test]
    fn foreign_keys_are_named_from_the_create_statement() {
        let sql = "CREATE TABLE \"book\" (\n \"id\" INTEGER PRIMARY KEY AUTOINCREMENT,\n \"authorId\" BIGINT REFERENCES author(id),\n \
                   \"x\" TEXT DEFAULT 'REFERENCES (', \n\
                   CONSTRAINT \"book_fk_0\" FOREIGN KEY (\"authorId\") REFERENCES \"author\" (\"id\") ON DELETE NO ACTION DEFERRABLE INITIALLY DEFERRED,\n\
                   CONSTRAINT [odd name] FOREIGN KEY (a, \"b\"\"c\") REFERENCES `p` NOT DEFERRABLE\n)";
        let fks = parse_foreign_keys(sql);
        assert_eq!(fks.len(), 3, "{fks:?}");
        assert_eq!(
            fks[0],
            DeclaredFk {
                name: None,
                columns: vec!["authorId".into()],
                reference_table: "author".into(),
                deferrable: None
            }
        );
        assert_eq!(fks[1].name.as_deref(), Some("book_fk_0"));
        assert_eq!(fks[1].deferrable, Some(Deferrable::InitiallyDeferred));
        assert_eq!(fks[2].name.as_deref(), Some("odd name"));
        assert_eq!(fks[2].columns, vec!["a", "b\"c"]);
        assert_eq!(fks[2].reference_table, "p");
        assert_eq!(fks[2].deferrable, None);
    }

    #[test]
    fn tokenizer_survives_garbage() {
        for s in ["", "\"", "'", "[", "/*", "--", "(((", "CREATE TABLE \"t\" (\"a", "é ü 名前"] {
            let _ = tokenize(s);
            let _ = parse_foreign_keys(s);
            let _ = parse_index_sql(s);
        }
    }
}
