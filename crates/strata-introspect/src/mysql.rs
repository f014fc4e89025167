//! MySQL/MariaDB introspection through `information_schema`: one query per object kind, never one
//! per table, all filtered to the connection's database (`DATABASE()`; MySQL's schema).
//!
//! Types and defaults are mapped back with `strata_sql::mysql_types`, the one mapping the emitter
//! writes with, so a database built from strata's MySQL `definition.sql` reads back as the
//! definition it came from. What the emitter writes implicitly is not reported as the user's:
//! the `json_valid` check MariaDB keeps for a `JSON` column, the index MySQL creates for a foreign
//! key's columns, the prefix length of a text column in a non-unique index, and the `HASH` method
//! MariaDB reports for a unique index on a text column (its long unique key).
//!
//! `information_schema` is not transactional: a migration running at the same time may show
//! half-applied (MySQL has no transactional DDL anyway). MariaDB 10.11 is the tested server.

use std::collections::{HashMap, HashSet};

use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{MySql, Row};
use strata_schema::{
    ColumnDefinition, ColumnType, DatabaseDefinition, ForeignKeyAction, ForeignKeyDefinition,
    IndexDefinition, IndexElement, MigrationVersion, TableDefinition,
};
use strata_sql::mysql_types::{
    mysql_default_to_abstract, mysql_read_back_type, mysql_type_to_column_type, needs_index_prefix,
    MysqlColumnFacts, MysqlReadDefault, TEXT_INDEX_PREFIX,
};

use crate::{
    quote_ident, IntrospectError, IntrospectOptions, IntrospectWarning, Introspection, WarningKind,
    MIGRATIONS_TABLE, MYSQL_VERSION_TABLE,
};

/// The queries MySQL introspection runs, in order; the last only when `serverpod_migrations`
/// exists.
pub const QUERIES: &[&str] = &[
    "server",
    "tables",
    "check constraints",
    "columns",
    "indexes",
    "foreign keys",
    "unrepresentable objects",
    "installed versions",
];

const SQL_SERVER: &str = "SELECT DATABASE() AS db, VERSION() AS version";

const SQL_TABLES: &str = "SELECT TABLE_NAME AS name, COALESCE(ENGINE, '') AS engine, \
        COALESCE(TABLE_COLLATION, '') AS collation, COALESCE(CREATE_OPTIONS, '') AS options \
     FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' \
     ORDER BY TABLE_NAME";

/// MariaDB names each check by table (`CHECK_CONSTRAINTS.TABLE_NAME`, `LEVEL` `Column` for a
/// column's own check, which is how it stores `JSON`).
const SQL_CHECKS: &str = "SELECT TABLE_NAME AS table_name, CONSTRAINT_NAME AS name, LEVEL AS level, \
        CHECK_CLAUSE AS clause \
     FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? \
     ORDER BY TABLE_NAME, CONSTRAINT_NAME";

const SQL_COLUMNS: &str = "SELECT TABLE_NAME AS table_name, COLUMN_NAME AS name, DATA_TYPE AS data_type, \
        COLUMN_TYPE AS column_type, COLLATION_NAME AS collation, IS_NULLABLE AS is_nullable, \
        COLUMN_DEFAULT AS column_default, EXTRA AS extra, \
        COALESCE(GENERATION_EXPRESSION, '') AS generation \
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION";

const SQL_INDEXES: &str = "SELECT TABLE_NAME AS table_name, INDEX_NAME AS name, \
        CAST(NON_UNIQUE AS SIGNED) AS non_unique, COLUMN_NAME AS column_name, \
        CAST(SUB_PART AS SIGNED) AS sub_part, INDEX_TYPE AS index_type, COLLATION AS collation \
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? \
     ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX";

/// Foreign keys declared in this database, one row per column pair; those of other databases
/// that reference a table here are reported (MySQL refuses to drop a table they reference).
const SQL_FOREIGN_KEYS: &str = "SELECT k.TABLE_SCHEMA AS schema_name, k.TABLE_NAME AS table_name, \
        k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS column_name, \
        k.REFERENCED_TABLE_SCHEMA AS ref_schema, k.REFERENCED_TABLE_NAME AS ref_table, \
        k.REFERENCED_COLUMN_NAME AS ref_column, r.UPDATE_RULE AS on_update, r.DELETE_RULE AS on_delete \
     FROM information_schema.KEY_COLUMN_USAGE k \
     JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
      AND r.TABLE_NAME = k.TABLE_NAME \
     WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND (k.TABLE_SCHEMA = ? OR k.REFERENCED_TABLE_SCHEMA = ?) \
     ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION";

/// Views, triggers, routines, events, sequences and partitions, in one `UNION ALL`.
const SQL_UNREPRESENTABLE: &str = "SELECT kind, table_name, name, detail FROM ( \
       SELECT 'view' AS kind, NULL AS table_name, TABLE_NAME AS name, '' AS detail \
       FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? \
     UNION ALL \
       SELECT 'sequence', NULL, TABLE_NAME, '' \
       FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'SEQUENCE' \
     UNION ALL \
       SELECT 'trigger', EVENT_OBJECT_TABLE, TRIGGER_NAME, CONCAT(ACTION_TIMING, ' ', EVENT_MANIPULATION) \
       FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? \
     UNION ALL \
       SELECT 'routine', NULL, ROUTINE_NAME, ROUTINE_TYPE \
       FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? \
     UNION ALL \
       SELECT 'event', NULL, EVENT_NAME, COALESCE(EVENT_DEFINITION, '') \
       FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? \
     UNION ALL \
       SELECT DISTINCT 'partition', TABLE_NAME, TABLE_NAME, COALESCE(PARTITION_METHOD, '') \
       FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND PARTITION_NAME IS NOT NULL \
     ) x ORDER BY name, kind";

/// The rows of the runner's [`MYSQL_VERSION_TABLE`], where MySQL keeps each module's installed
/// version (MySQL migration files write no `serverpod_migrations` rows); constant names, nothing
/// to quote at run time.
const SQL_INSTALLED_VERSIONS: &str =
    "SELECT CAST(`module` AS CHAR) AS module, CAST(`version` AS CHAR) AS version FROM `strata_migration_version` ORDER BY 1";

/// The same from a `serverpod_migrations` table, in a database without the runner's table.
const SQL_SERVERPOD_VERSIONS: &str =
    "SELECT CAST(`module` AS CHAR) AS module, CAST(`version` AS CHAR) AS version FROM `serverpod_migrations` ORDER BY 1";

/// How many times [`SQL_UNREPRESENTABLE`] binds the database name.
const UNREPRESENTABLE_BINDS: usize = 6;

/// Reads the live schema of the connection's database (`opts.schemas` is ignored: on MySQL a
/// connection reads the database its URL names).
pub async fn introspect_mysql(
    conn: &mut MySqlConnection,
    _opts: &IntrospectOptions,
) -> Result<Introspection, IntrospectError> {
    let mut r = Reader { conn, database: String::new(), warnings: Vec::new(), query_count: 0 };
    r.database = read_server(&mut r).await?;
    let mut tables = read_tables(&mut r).await?;
    let checks = read_checks(&mut r, &tables).await?;
    read_columns(&mut r, &mut tables, &checks).await?;
    read_indexes(&mut r, &mut tables).await?;
    read_foreign_keys(&mut r, &mut tables).await?;
    drop_implicit_foreign_key_indexes(&mut tables);
    read_unrepresentable(&mut r, &tables).await?;
    let installed_versions = read_installed_versions(&mut r, &tables).await?;
    let database = r.database.clone();
    Ok(Introspection::assemble(database, tables.list, r.warnings, installed_versions, r.query_count))
}

/// The connection, the database it reads, and what the queries have found so far.
struct Reader<'c> {
    conn: &'c mut MySqlConnection,
    database: String,
    warnings: Vec<IntrospectWarning>,
    query_count: usize,
}

impl Reader<'_> {
    /// Runs query number `q` of [`QUERIES`] with the database name bound `binds` times.
    async fn run(&mut self, q: usize, sql: &str, binds: usize) -> Result<Vec<MySqlRow>, IntrospectError> {
        self.query_count += 1;
        let mut query = sqlx::query(sql);
        for _ in 0..binds {
            query = query.bind(self.database.clone());
        }
        query
            .fetch_all(&mut *self.conn)
            .await
            .map_err(|source| IntrospectError::Query { query: QUERIES[q], source })
    }

    fn warn(&mut self, kind: WarningKind, table: Option<&str>, name: &str, detail: String) {
        self.warnings.push(IntrospectWarning {
            kind,
            schema: String::new(),
            table: table.map(str::to_string),
            name: name.to_string(),
            detail,
            depends_on: table.map(str::to_string).into_iter().collect(),
        });
    }
}

/// The tables read so far, addressable by name.
struct LiveTables {
    list: Vec<TableDefinition>,
    by_name: HashMap<String, usize>,
}

impl LiveTables {
    fn get_mut(&mut self, name: &str) -> Option<&mut TableDefinition> {
        self.by_name.get(name).map(|&i| &mut self.list[i])
    }
}

fn get<'r, T>(row: &'r MySqlRow, column: &str, q: usize) -> Result<T, IntrospectError>
where
    T: sqlx::Decode<'r, MySql> + sqlx::Type<MySql>,
{
    row.try_get(column).map_err(|source| IntrospectError::Query { query: QUERIES[q], source })
}

/// The connection's database; a connection without one cannot be introspected.
async fn read_server(r: &mut Reader<'_>) -> Result<String, IntrospectError> {
    let rows = r.run(0, SQL_SERVER, 0).await?;
    let database: Option<String> = match rows.first() {
        Some(row) => get(row, "db", 0)?,
        None => None,
    };
    database.ok_or_else(|| {
        IntrospectError::InvalidOptions(
            "the MySQL connection has no database selected: name one in the URL (mysql://host/DATABASE)"
                .into(),
        )
    })
}

async fn read_tables(r: &mut Reader<'_>) -> Result<LiveTables, IntrospectError> {
    let rows = r.run(1, SQL_TABLES, 1).await?;
    let mut tables = LiveTables { list: Vec::new(), by_name: HashMap::new() };
    for row in &rows {
        let name: String = get(row, "name", 1)?;
        let engine: String = get(row, "engine", 1)?;
        if !engine.eq_ignore_ascii_case(strata_sql::mysql_types::MYSQL_ENGINE) {
            let detail = format!("ENGINE={engine} (strata writes {})", strata_sql::mysql_types::MYSQL_ENGINE);
            r.warn(WarningKind::TableOptions, Some(&name), &name, detail);
        }
        tables.by_name.insert(name.clone(), tables.list.len());
        tables.list.push(TableDefinition { name, schema: r.database.clone(), ..Default::default() });
    }
    Ok(tables)
}

/// Columns that carry MariaDB's `json_valid` check (their `JSON` type); every other check is a
/// warning.
async fn read_checks(
    r: &mut Reader<'_>,
    tables: &LiveTables,
) -> Result<HashSet<(String, String)>, IntrospectError> {
    let rows = r.run(2, SQL_CHECKS, 1).await?;
    let mut json_columns = HashSet::new();
    for row in &rows {
        let table: String = get(row, "table_name", 2)?;
        if !tables.by_name.contains_key(&table) {
            continue;
        }
        let name: String = get(row, "name", 2)?;
        let level: String = get(row, "level", 2)?;
        let clause: String = get(row, "clause", 2)?;
        if level.eq_ignore_ascii_case("Column") && is_json_check(&clause, &name) {
            json_columns.insert((table, name));
        } else {
            r.warn(WarningKind::CheckConstraint, Some(&table), &name, format!("CHECK ({clause})"));
        }
    }
    Ok(json_columns)
}

/// `json_valid(`col`)`: MariaDB's rendering of the check it adds for a `JSON` column `col`.
fn is_json_check(clause: &str, column: &str) -> bool {
    let clause = clause.trim();
    let Some(open) = clause.find('(') else { return false };
    let argument = clause[open + 1..].strip_suffix(')').and_then(|a| a.strip_prefix('`')?.strip_suffix('`'));
    clause[..open].eq_ignore_ascii_case("json_valid")
        && argument.is_some_and(|a| a.replace("``", "`") == column)
}

async fn read_columns(
    r: &mut Reader<'_>,
    tables: &mut LiveTables,
    json_columns: &HashSet<(String, String)>,
) -> Result<(), IntrospectError> {
    let rows = r.run(3, SQL_COLUMNS, 1).await?;
    for row in &rows {
        let table_name: String = get(row, "table_name", 3)?;
        if !tables.by_name.contains_key(&table_name) {
            continue;
        }
        let column = map_column(row, &table_name, json_columns, r)?;
        if let Some(table) = tables.get_mut(&table_name) {
            table.columns.push(column);
        }
    }
    Ok(())
}

/// One `COLUMNS` row: its type and default through the emitter's mapping; generated columns,
/// types and defaults strata does not write become warnings.
fn map_column(
    row: &MySqlRow,
    table: &str,
    json_columns: &HashSet<(String, String)>,
    r: &mut Reader<'_>,
) -> Result<ColumnDefinition, IntrospectError> {
    let q = 3;
    let name: String = get(row, "name", q)?;
    let data_type: String = get(row, "data_type", q)?;
    let sql_type: String = get(row, "column_type", q)?;
    let collation: Option<String> = get(row, "collation", q)?;
    let default: Option<String> = get(row, "column_default", q)?;
    let extra: String = get(row, "extra", q)?;
    let generation: String = get(row, "generation", q)?;
    let facts = MysqlColumnFacts {
        data_type: &data_type,
        column_type: &sql_type,
        collation: collation.as_deref(),
        has_json_check: json_columns.contains(&(table.to_string(), name.clone())),
    };
    let mapped = mysql_type_to_column_type(&facts);
    if let Some(native) = mapped.native_type.as_ref().filter(|_| mapped.column_type == ColumnType::Unknown) {
        r.warn(WarningKind::UnknownColumnType, Some(table), &name, format!("type {native}"));
    }
    let column_default = if !generation.is_empty() {
        r.warn(
            WarningKind::GeneratedColumn,
            Some(table),
            &name,
            format!("GENERATED ALWAYS AS ({generation})"),
        );
        None
    } else {
        match mysql_default_to_abstract(default.as_deref(), &extra, mapped.column_type) {
            MysqlReadDefault::Absent => None,
            MysqlReadDefault::Abstract(d) => Some(d),
            MysqlReadDefault::Unrecognized(d) => Some(d),
        }
    };
    Ok(ColumnDefinition {
        name,
        field_name: None,
        column_type: mapped.column_type,
        is_nullable: get::<String>(row, "is_nullable", q)?.eq_ignore_ascii_case("YES"),
        column_default,
        dart_type: None,
        vector_dimension: None,
        native_type: mapped.native_type,
        identity: None,
        identity_options: None,
        generated: None,
    })
}

/// One `STATISTICS` row: an index's element in order.
struct IndexPart {
    column: Option<String>,
    sub_part: Option<i64>,
    descending: bool,
}

async fn read_indexes(r: &mut Reader<'_>, tables: &mut LiveTables) -> Result<(), IntrospectError> {
    let rows = r.run(4, SQL_INDEXES, 1).await?;
    // (table, index) in catalog order, with the index's method, uniqueness and parts.
    let mut indexes: Vec<(String, String, String, bool, Vec<IndexPart>)> = Vec::new();
    for row in &rows {
        let table: String = get(row, "table_name", 4)?;
        let name: String = get(row, "name", 4)?;
        let part = IndexPart {
            column: get(row, "column_name", 4)?,
            sub_part: get(row, "sub_part", 4)?,
            descending: get::<Option<String>>(row, "collation", 4)?.as_deref() == Some("D"),
        };
        match indexes.last_mut() {
            Some((t, n, _, _, parts)) if *t == table && *n == name => parts.push(part),
            _ => {
                let method: String = get(row, "index_type", 4)?;
                let unique = get::<i64>(row, "non_unique", 4)? == 0;
                indexes.push((table, name, method, unique, vec![part]));
            }
        }
    }
    let mut primary_keys: HashMap<String, Vec<IndexPart>> = HashMap::new();
    for (table_name, name, method, unique, parts) in indexes {
        let Some(&ti) = tables.by_name.get(&table_name) else { continue };
        if name == "PRIMARY" {
            primary_keys.insert(table_name, parts);
            continue;
        }
        let index = map_index(r, &tables.list[ti], name, &method, unique, &parts);
        tables.list[ti].indexes.push(index);
    }
    for table in &tables.list {
        primary_key_warning(r, &table.name, primary_keys.get(&table.name).map_or(&[][..], Vec::as_slice));
    }
    Ok(())
}

/// strata's model has exactly one primary key shape: `PRIMARY KEY (`id`)`.
fn primary_key_warning(r: &mut Reader<'_>, table: &str, parts: &[IndexPart]) {
    let columns: Vec<&str> = parts.iter().filter_map(|p| p.column.as_deref()).collect();
    if columns == ["id"] {
        return;
    }
    let detail = if columns.is_empty() {
        "none".to_string()
    } else {
        let quoted: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        format!("PRIMARY KEY ({}) instead of (\"id\")", quoted.join(", "))
    };
    r.warn(WarningKind::PrimaryKey, Some(table), table, detail);
}

/// An index as the model holds it. The prefix strata writes for text columns in non-unique
/// indexes, and MariaDB's `HASH` for a unique index over text (its long unique key), are how
/// the emitter spells a btree index; any other prefix, `DESC`, full-text and spatial indexes
/// become warnings.
fn map_index(
    r: &mut Reader<'_>,
    table: &TableDefinition,
    name: String,
    method: &str,
    unique: bool,
    parts: &[IndexPart],
) -> IndexDefinition {
    let mut details = Vec::new();
    let mut text_elements = false;
    for part in parts {
        let column = part.column.as_deref().and_then(|c| table.column(c));
        let needs_prefix = column.is_some_and(needs_index_prefix);
        text_elements |= needs_prefix;
        let written_prefix = (needs_prefix && !unique).then_some(i64::from(TEXT_INDEX_PREFIX));
        if part.sub_part != written_prefix {
            let column = part.column.as_deref().unwrap_or("?");
            details.push(match part.sub_part {
                Some(n) => format!("a prefix of {n} on `{column}`"),
                None => format!("no prefix on `{column}`"),
            });
        }
        if part.descending {
            details.push("DESC ordering".into());
        }
    }
    let index_type = match method.to_ascii_uppercase().as_str() {
        "BTREE" => "btree".to_string(),
        "HASH" if unique && text_elements => "btree".to_string(),
        other => other.to_ascii_lowercase(),
    };
    if !details.is_empty() {
        r.warn(
            WarningKind::IndexDetail,
            Some(&table.name),
            &name,
            format!("not represented: {}", details.join("; ")),
        );
    }
    IndexDefinition {
        index_name: name,
        elements: parts.iter().map(|p| IndexElement::column(p.column.clone().unwrap_or_default())).collect(),
        index_type,
        is_unique: unique,
        ..Default::default()
    }
}

async fn read_foreign_keys(r: &mut Reader<'_>, tables: &mut LiveTables) -> Result<(), IntrospectError> {
    let rows = r.run(5, SQL_FOREIGN_KEYS, 2).await?;
    // (schema, table, fk) in catalog order, one entry per constraint.
    let mut keys: Vec<(String, String, ForeignKeyDefinition)> = Vec::new();
    for row in &rows {
        let schema: String = get(row, "schema_name", 5)?;
        let table: String = get(row, "table_name", 5)?;
        let name: String = get(row, "name", 5)?;
        let column: String = get(row, "column_name", 5)?;
        let ref_column: String = get(row, "ref_column", 5)?;
        match keys.last_mut() {
            Some((s, t, fk)) if *s == schema && *t == table && fk.constraint_name == name => {
                fk.columns.push(column);
                fk.reference_columns.push(ref_column);
            }
            _ => {
                let fk = ForeignKeyDefinition {
                    constraint_name: name,
                    columns: vec![column],
                    reference_table: get(row, "ref_table", 5)?,
                    reference_table_schema: get(row, "ref_schema", 5)?,
                    reference_columns: vec![ref_column],
                    on_update: mysql_action(&get::<String>(row, "on_update", 5)?),
                    on_delete: mysql_action(&get::<String>(row, "on_delete", 5)?),
                    match_type: None,
                    deferrable: None,
                };
                keys.push((schema, table, fk));
            }
        }
    }
    for (schema, table, fk) in keys {
        if schema != r.database {
            let detail = format!("references `{}`.`{}`", fk.reference_table_schema, fk.reference_table);
            r.warnings.push(IntrospectWarning {
                kind: WarningKind::InboundForeignKey,
                schema,
                table: Some(table),
                name: fk.constraint_name,
                detail,
                depends_on: vec![fk.reference_table],
            });
            continue;
        }
        if let Some(t) = tables.get_mut(&table) {
            t.foreign_keys.push(fk);
        }
    }
    Ok(())
}

fn mysql_action(rule: &str) -> Option<ForeignKeyAction> {
    match rule.to_ascii_uppercase().as_str() {
        "NO ACTION" => Some(ForeignKeyAction::NoAction),
        "RESTRICT" => Some(ForeignKeyAction::Restrict),
        "CASCADE" => Some(ForeignKeyAction::Cascade),
        "SET NULL" => Some(ForeignKeyAction::SetNull),
        "SET DEFAULT" => Some(ForeignKeyAction::SetDefault),
        _ => None,
    }
}

/// Gives live columns the target's type where MySQL cannot tell the two apart (`jsonb` is
/// written as `JSON` and reads back as `json`: [`mysql_read_back_type`]), so that this is not
/// drift no migration could fix. Only columns read without a native type qualify: PostgreSQL
/// columns always carry one, and SQLite records `jsonb` itself.
pub(crate) fn adopt_types_read_back_lossily(live: &mut DatabaseDefinition, target: &DatabaseDefinition) {
    for table in &mut live.tables {
        let Some(wanted) = target.table(&table.name) else { continue };
        for column in table.columns.iter_mut().filter(|c| c.native_type.is_none()) {
            let Some(wanted) = wanted.column(&column.name) else { continue };
            if wanted.column_type != column.column_type
                && mysql_read_back_type(wanted.column_type) == column.column_type
            {
                column.column_type = wanted.column_type;
            }
        }
    }
}

/// MySQL gives a foreign key's columns an index of the constraint's name when no index starts
/// with them; strata's definitions do not list it (the emitter never writes it), so it is not
/// read as the user's.
fn drop_implicit_foreign_key_indexes(tables: &mut LiveTables) {
    for table in &mut tables.list {
        let foreign_keys = &table.foreign_keys;
        table.indexes.retain(|index| {
            let columns: Vec<String> = index.elements.iter().map(|e| e.definition.clone()).collect();
            index.is_unique
                || !strata_sql::mysql_types::is_foreign_key_index(foreign_keys, &index.index_name, &columns)
        });
    }
}

async fn read_unrepresentable(r: &mut Reader<'_>, tables: &LiveTables) -> Result<(), IntrospectError> {
    let rows = r.run(6, SQL_UNREPRESENTABLE, UNREPRESENTABLE_BINDS).await?;
    for row in &rows {
        let table: Option<String> = get(row, "table_name", 6)?;
        let name: String = get(row, "name", 6)?;
        let detail: String = get(row, "detail", 6)?;
        let (kind, detail) = match get::<String>(row, "kind", 6)?.as_str() {
            "view" => (WarningKind::View, detail),
            "sequence" => (WarningKind::Sequence, detail),
            "trigger" => (WarningKind::Trigger, detail),
            "routine" => (WarningKind::Function, detail),
            "event" => (WarningKind::Event, detail),
            _ => (WarningKind::PartitionedTable, format!("PARTITION BY {detail} is not represented")),
        };
        if table.as_ref().is_some_and(|t| !tables.by_name.contains_key(t)) {
            continue;
        }
        r.warn(kind, table.as_deref(), &name, detail);
    }
    Ok(())
}

/// Each module's installed version: from the runner's table, else from `serverpod_migrations`,
/// when either exists; an unreadable one becomes a warning.
async fn read_installed_versions(
    r: &mut Reader<'_>,
    tables: &LiveTables,
) -> Result<Vec<MigrationVersion>, IntrospectError> {
    let (table, sql) = if tables.by_name.contains_key(MYSQL_VERSION_TABLE) {
        (MYSQL_VERSION_TABLE, SQL_INSTALLED_VERSIONS)
    } else if tables.by_name.contains_key(MIGRATIONS_TABLE) {
        (MIGRATIONS_TABLE, SQL_SERVERPOD_VERSIONS)
    } else {
        return Ok(Vec::new());
    };
    let rows = match r.run(7, sql, 0).await {
        Ok(rows) => rows,
        Err(e) => {
            let mut warning = crate::migrations_table_warning("", &e);
            warning.table = Some(table.into());
            warning.name = table.into();
            r.warnings.push(warning);
            return Ok(Vec::new());
        }
    };
    let mut installed_versions = Vec::new();
    for row in &rows {
        let module: Option<String> = get(row, "module", 7)?;
        let version: Option<String> = get(row, "version", 7)?;
        installed_versions
            .push(MigrationVersion::dependency(module.unwrap_or_default(), version.unwrap_or_default()));
    }
    Ok(installed_versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_checks_are_recognised_by_their_column() {
        assert!(is_json_check("json_valid(`data`)", "data"));
        assert!(is_json_check(" JSON_VALID(`we``ird`) ", "we`ird"));
        assert!(!is_json_check("json_valid(`a` + `b`)", "a"));
        assert!(!is_json_check("lower(`data`)", "data"));
        assert!(!is_json_check("json_valid(`data`)", "other"));
        assert!(!is_json_check("`n` > 0", "n"));
    }

    #[test]
    fn referential_rules_map_to_actions() {
        assert_eq!(mysql_action("NO ACTION"), Some(ForeignKeyAction::NoAction));
        assert_eq!(mysql_action("restrict"), Some(ForeignKeyAction::Restrict));
        assert_eq!(mysql_action("SET DEFAULT"), Some(ForeignKeyAction::SetDefault));
        assert_eq!(mysql_action("?"), None);
    }
}
