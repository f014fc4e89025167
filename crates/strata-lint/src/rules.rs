//! The detectors. Statements are walked in file order while a model of the migration grows:
//! which tables this migration created (statements on them cannot hurt existing rows), which
//! it rebuilt (SQLite's `new_t` copy renamed to `t`), and every column's type.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::{
    AlterColumnOperation, AlterTable, AlterTableOperation, ColumnDef, ColumnOption, CreateIndex, CreateTable,
    DataType, Expr, Ident, IndexType, ObjectName, ObjectType, RenameTableNameKind, Statement,
    TableConstraint,
};
use strata_diff::casts::{in_place_cast, CastCost};
use strata_schema::DatabaseDefinition;

use crate::split::{SqlStatement, TokenizeFailure};
use crate::{types, words, Code, Finding, RuleSet};

/// A finding with the statement it belongs to (what suppressions match on).
#[derive(Debug)]
pub(crate) struct Raw {
    pub statement: Option<usize>,
    pub finding: Finding,
}

/// Tables strata itself maintains in every migration; they are never the user's data.
const BOOKKEEPING: &[&str] = &["serverpod_migrations", "serverpod_sqlite_schema", "strata_migration_history"];

/// Functions whose value differs per row, so a default calling one is computed for every row.
const VOLATILE: &[&str] = &[
    "gen_random_uuid(",
    "gen_random_uuid_v7(",
    "uuid_generate_v1(",
    "uuid_generate_v4(",
    "random(",
    "clock_timestamp(",
    "timeofday(",
    "nextval(",
];

/// What the walk knows about a column.
#[derive(Debug, Clone)]
struct ColumnFacts {
    /// `format_type` spelling (`character varying(10)`), lower-case.
    type_text: String,
    nullable: bool,
    has_default: bool,
}

/// A table created in this migration.
#[derive(Debug, Clone)]
struct NewTable {
    statement: usize,
    columns: Vec<(String, ColumnFacts)>,
    foreign_keys: Vec<String>,
    /// From `INSERT INTO this (target, ...) SELECT source, ... FROM old`: each target column
    /// and the old column it copies (`None` when the value is an expression).
    copied_from: Vec<(String, Option<String>)>,
}

/// The growing model of the migration.
struct Walk<'a> {
    dialect: RuleSet,
    previous: Option<&'a DatabaseDefinition>,
    /// Created here and still empty (not the target of a rebuild).
    created: BTreeMap<String, NewTable>,
    /// `t` → `new_t` for every `ALTER TABLE new_t RENAME TO t` whose `new_t` the file creates.
    rebuilds: BTreeMap<String, String>,
    /// Tables this migration dropped, for telling a rebuild's rename from a plain one.
    dropped: BTreeSet<String>,
    /// Every known column: previous definition, then created and added ones.
    columns: BTreeMap<(String, String), ColumnFacts>,
    /// The statement being checked, and every statement's (line, column).
    statement: usize,
    positions: Vec<(usize, usize)>,
    out: Vec<Raw>,
}

/// Runs every detector over `statements`.
pub(crate) fn check(
    dialect: RuleSet,
    previous: Option<&DatabaseDefinition>,
    statements: &[SqlStatement],
) -> Vec<Raw> {
    let mut walk = Walk {
        dialect,
        previous,
        created: BTreeMap::new(),
        rebuilds: rebuilds(dialect, statements),
        dropped: BTreeSet::new(),
        columns: previous_columns(dialect, previous),
        statement: 0,
        positions: statements.iter().map(|s| (s.line, s.column)).collect(),
        out: Vec::new(),
    };
    for (i, s) in statements.iter().enumerate() {
        walk.statement = i;
        match &s.parsed {
            Ok(statement) => walk.statement_(statement),
            Err(reason) => walk.report(
                Code::NotAnalysed,
                None,
                None,
                format!("statement at line {} not analysed: sqlparser cannot parse it ({reason}); review it by hand", s.line),
            ),
        }
    }
    walk.out
}

/// The finding for a file the tokenizer cannot read at all.
pub(crate) fn unreadable_file(failure: TokenizeFailure) -> Raw {
    Raw {
        statement: None,
        finding: Finding {
            code: Code::NotAnalysed,
            line: failure.line,
            column: failure.column,
            message: format!(
                "file not analysed: the SQL tokenizer stops at line {}, column {} ({}); review the file by hand",
                failure.line, failure.column, failure.message
            ),
            table: None,
            column_name: None,
            data: None,
        },
    }
}

/// What the previous definition's columns are, with each type as `dialect` spells it in DDL (so
/// that a MySQL `MODIFY ... LONGTEXT` of a Serverpod `String` is no type change).
fn previous_columns(
    dialect: RuleSet,
    previous: Option<&DatabaseDefinition>,
) -> BTreeMap<(String, String), ColumnFacts> {
    let mut out = BTreeMap::new();
    for table in previous.map(|p| p.tables.as_slice()).unwrap_or_default() {
        for c in &table.columns {
            let ddl_type = match dialect {
                RuleSet::Mysql => strata_sql::mysql_types::mysql_column_type(&table.name, c).ok(),
                _ => None,
            };
            let facts = ColumnFacts {
                type_text: ddl_type
                    .unwrap_or_else(|| strata_diff::compare::pg_type_text(c))
                    .to_ascii_lowercase(),
                nullable: c.is_nullable,
                has_default: c.column_default.is_some(),
            };
            out.insert((table.name.clone(), c.name.clone()), facts);
        }
    }
    out
}

/// A name as the database stores it: unquoted names fold to lower case (except on MySQL).
fn ident_name(dialect: RuleSet, ident: &Ident) -> String {
    if ident.quote_style.is_none() && dialect != RuleSet::Mysql {
        ident.value.to_ascii_lowercase()
    } else {
        ident.value.clone()
    }
}

/// The last part of a (possibly schema-qualified) name.
fn object_name(dialect: RuleSet, name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| ident_name(dialect, i))
        .unwrap_or_else(|| name.to_string())
}

fn last_ident(name: &ObjectName) -> Option<&Ident> {
    name.0.last().and_then(|p| p.as_ident())
}

/// Finds the SQLite rebuild pattern's renames ahead of the walk: the `DROP TABLE t` comes
/// before the rename that shows it was a rebuild.
fn rebuilds(dialect: RuleSet, statements: &[SqlStatement]) -> BTreeMap<String, String> {
    let mut created = BTreeSet::new();
    let mut out = BTreeMap::new();
    for s in statements {
        match &s.parsed {
            Ok(Statement::CreateTable(ct)) => {
                created.insert(object_name(dialect, &ct.name));
            }
            Ok(Statement::AlterTable(at)) => {
                let from = object_name(dialect, &at.name);
                for op in &at.operations {
                    if let AlterTableOperation::RenameTable { table_name } = op {
                        let to = match table_name {
                            RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => {
                                object_name(dialect, n)
                            }
                        };
                        if created.contains(&from) {
                            out.insert(to, from.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn column_facts(def: &ColumnDef) -> ColumnFacts {
    let mut nullable = true;
    let mut has_default = is_serial(&def.data_type);
    for o in &def.options {
        match &o.option {
            ColumnOption::NotNull | ColumnOption::PrimaryKey(_) => nullable = false,
            ColumnOption::Default(_) | ColumnOption::Generated { .. } | ColumnOption::Identity(_) => {
                has_default = true
            }
            _ => {}
        }
    }
    ColumnFacts { type_text: types::canonical(&def.data_type), nullable, has_default }
}

fn is_serial(data_type: &DataType) -> bool {
    let text = data_type.to_string().to_ascii_lowercase();
    matches!(text.as_str(), "serial" | "bigserial" | "smallserial" | "serial2" | "serial4" | "serial8")
}

fn default_expr(def: &ColumnDef) -> Option<&Expr> {
    def.options.iter().find_map(|o| match &o.option {
        ColumnOption::Default(e) => Some(e),
        _ => None,
    })
}

fn is_json(type_text: &str) -> bool {
    matches!(type_text, "json" | "jsonb")
}

impl Walk<'_> {
    fn report(&mut self, code: Code, table: Option<&str>, column: Option<&str>, message: String) {
        self.report_at(self.statement, code, table, column, message);
    }

    /// A finding located at statement `statement` (not necessarily the one being checked).
    fn report_at(
        &mut self,
        statement: usize,
        code: Code,
        table: Option<&str>,
        column: Option<&str>,
        message: String,
    ) {
        let (line, column_no) = self.positions[statement];
        self.out.push(Raw {
            statement: Some(statement),
            finding: Finding {
                code,
                line,
                column: column_no,
                message,
                table: table.map(str::to_string),
                column_name: column.map(str::to_string),
                data: None,
            },
        });
    }

    fn is_new(&self, table: &str) -> bool {
        self.created.contains_key(table)
    }

    fn statement_(&mut self, statement: &Statement) {
        match statement {
            Statement::CreateTable(ct) => self.create_table(ct),
            Statement::Drop { object_type: ObjectType::Table, names, if_exists, .. } => {
                for name in names {
                    self.drop_table(&object_name(self.dialect, name), *if_exists);
                }
            }
            Statement::AlterTable(at) => self.alter_table(at),
            Statement::CreateIndex(ci) => self.create_index(ci),
            Statement::Insert(insert) => self.insert(insert),
            Statement::RenameTable(renames) => {
                for r in renames {
                    let from = object_name(self.dialect, &r.old_name);
                    if !BOOKKEEPING.contains(&from.as_str()) {
                        self.rename_table(&from, &r.new_name);
                    }
                }
            }
            _ => {}
        }
    }

    // ---- names (DT102, DT103) ----

    /// Checks a name this migration gives to an object.
    fn name(&mut self, ident: &Ident, what: &str, table: Option<&str>) {
        let name = ident_name(self.dialect, ident);
        let (limit, unit, too_long) = match self.dialect {
            RuleSet::Postgres => (63, "bytes", name.len() > 63),
            RuleSet::Mysql => (64, "characters", name.chars().count() > 64),
            RuleSet::Sqlite => (0, "", false),
        };
        if too_long {
            let effect = if self.dialect == RuleSet::Postgres {
                "PostgreSQL silently cuts it, so a later migration naming it in full finds nothing"
            } else {
                "MySQL refuses it"
            };
            self.report(
                Code::IdentifierTooLong,
                table,
                None,
                format!(
                    "{what} name \"{name}\" is longer than {limit} {unit}: {effect}; choose a shorter name"
                ),
            );
        }
        if words::is_reserved(self.dialect, &name) {
            self.report(
                Code::ReservedWord,
                table,
                None,
                format!(
                    "{what} name \"{name}\" is a reserved word in {}: every hand-written query must quote it; rename it",
                    self.dialect.name()
                ),
            );
        }
    }

    // ---- CREATE TABLE ----

    fn create_table(&mut self, ct: &CreateTable) {
        let table = object_name(self.dialect, &ct.name);
        if BOOKKEEPING.contains(&table.as_str()) {
            return;
        }
        if ct.if_not_exists && self.previous.is_some_and(|p| p.table(&table).is_some()) {
            return;
        }
        if let Some(ident) = last_ident(&ct.name) {
            self.name(ident, "table", Some(&table));
        }
        let mut columns = Vec::new();
        for def in &ct.columns {
            self.name(&def.name, "column", Some(&table));
            let facts = column_facts(def);
            let column = ident_name(self.dialect, &def.name);
            self.columns.insert((table.clone(), column.clone()), facts.clone());
            columns.push((column, facts));
        }
        let mut foreign_keys = Vec::new();
        for c in &ct.constraints {
            if let Some(ident) = constraint_name(c) {
                self.name(ident, "constraint", Some(&table));
            }
            if let TableConstraint::ForeignKey(fk) = c {
                foreign_keys.push(fk.name.as_ref().map(|n| ident_name(self.dialect, n)).unwrap_or_default());
            }
        }
        self.created.insert(
            table,
            NewTable { statement: self.statement, columns, foreign_keys, copied_from: Vec::new() },
        );
    }

    // ---- DROP TABLE ----

    fn drop_table(&mut self, table: &str, if_exists: bool) {
        if BOOKKEEPING.contains(&table) {
            return;
        }
        self.dropped.insert(table.to_string());
        if self.created.remove(table).is_some() {
            return;
        }
        if let Some(new_table) = self.rebuilds.get(table).and_then(|n| self.created.get(n)).cloned() {
            self.compare_rebuild(table, &new_table);
            return;
        }
        if if_exists && self.previous.is_some_and(|p| p.table(table).is_none()) {
            return;
        }
        self.report(
            Code::TableDropped,
            Some(table),
            None,
            format!(
                "table \"{table}\" is dropped with every row in it; make sure the data is no longer needed"
            ),
        );
    }

    /// A SQLite rebuild of `table` into `new_table`: what the copy loses or newly demands,
    /// judged against the previous definition (without one there is nothing to compare).
    fn compare_rebuild(&mut self, table: &str, new_table: &NewTable) {
        let Some(old) = self.previous.and_then(|p| p.table(table)) else { return };
        let statement = new_table.statement;
        // The old column each new column's values come from: the copy's, else the same name.
        let source_of = |name: &str| -> Option<String> {
            match new_table.copied_from.iter().find(|(target, _)| target == name) {
                Some((_, source)) => source.clone(),
                None => Some(name.to_string()),
            }
        };
        let kept: BTreeSet<String> = new_table.columns.iter().filter_map(|(n, _)| source_of(n)).collect();
        for c in &old.columns {
            if !kept.contains(&c.name) {
                let message = format!(
                    "the rebuild of \"{table}\" leaves out column \"{}\": its values are lost",
                    c.name
                );
                self.report_at(statement, Code::ColumnDropped, Some(table), Some(&c.name), message);
                if old.dart_name.is_some() {
                    self.read_by_previous(statement, table, &c.name);
                }
            }
        }
        for (name, facts) in &new_table.columns {
            let source = source_of(name);
            let before = source.as_deref().and_then(|s| old.column(s));
            if let Some(from) = source.as_deref().filter(|s| *s != name && before.is_some()) {
                let message = format!(
                    "the rebuild of \"{table}\" renames column \"{from}\" to \"{name}\": the application version still \
                     running during a rolling deploy queries \"{from}\" and fails"
                );
                self.report_at(statement, Code::ColumnRenamed, Some(table), Some(from), message);
            }
            let newly_required = !facts.nullable
                && before.is_none_or(|b| b.is_nullable)
                && !(before.is_none() && facts.has_default);
            if newly_required {
                let message = format!(
                    "the rebuild of \"{table}\" makes column \"{name}\" NOT NULL: copying a row without a value fails; \
                     backfill it first or give it a default"
                );
                self.report_at(statement, Code::NotNullOnExistingRows, Some(table), Some(name), message);
            }
        }
        for fk in &new_table.foreign_keys {
            if old.foreign_key(fk).is_none() {
                let message = format!(
                    "the rebuild of \"{table}\" adds foreign key \"{fk}\": existing rows without a match make the migration fail"
                );
                self.report_at(statement, Code::ForeignKeyOnExistingRows, Some(table), None, message);
            }
        }
    }

    /// Records a rebuild's copy (`INSERT INTO new_t (cols) SELECT cols FROM t`), so that a
    /// column copied under a new name counts as renamed, not lost.
    fn insert(&mut self, insert: &sqlparser::ast::Insert) {
        let sqlparser::ast::TableObject::TableName(name) = &insert.table else { return };
        let target = object_name(self.dialect, name);
        let Some(query) = &insert.source else { return };
        let sqlparser::ast::SetExpr::Select(select) = query.body.as_ref() else { return };
        let dialect = self.dialect;
        let Some(new_table) = self.created.get_mut(&target) else { return };
        let sources = select.projection.iter().map(|item| match item {
            sqlparser::ast::SelectItem::UnnamedExpr(Expr::Identifier(ident)) => {
                Some(ident_name(dialect, ident))
            }
            _ => None,
        });
        new_table.copied_from = insert.columns.iter().map(|c| object_name(dialect, c)).zip(sources).collect();
    }

    fn read_by_previous(&mut self, statement: usize, table: &str, column: &str) {
        let model =
            self.previous.and_then(|p| p.table(table)).and_then(|t| t.dart_name.clone()).unwrap_or_default();
        let message = format!(
            "column \"{table}\".\"{column}\" is dropped, but the previous version's model {model} still reads it: \
             its instances fail during a rolling deploy; release a version without the field first"
        );
        self.report_at(statement, Code::ColumnDroppedWhileRead, Some(table), Some(column), message);
    }
}

fn constraint_name(c: &TableConstraint) -> Option<&Ident> {
    match c {
        TableConstraint::Unique(u) => u.name.as_ref(),
        TableConstraint::PrimaryKey(p) => p.name.as_ref(),
        TableConstraint::ForeignKey(f) => f.name.as_ref(),
        TableConstraint::Check(c) => c.name.as_ref(),
        _ => None,
    }
}

impl Walk<'_> {
    // ---- ALTER TABLE ----

    fn alter_table(&mut self, at: &AlterTable) {
        let table = object_name(self.dialect, &at.name);
        if BOOKKEEPING.contains(&table.as_str()) {
            return;
        }
        for op in &at.operations {
            match op {
                AlterTableOperation::AddColumn { column_def, .. } => self.add_column(&table, column_def),
                AlterTableOperation::DropColumn { column_names, .. } => {
                    for c in column_names {
                        self.drop_column(&table, &ident_name(self.dialect, c));
                    }
                }
                AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                    self.rename_column(&table, old_column_name, new_column_name);
                }
                AlterTableOperation::RenameTable { table_name } => {
                    let (RenameTableNameKind::As(to) | RenameTableNameKind::To(to)) = table_name;
                    self.rename_table(&table, to);
                }
                AlterTableOperation::AlterColumn { column_name, op } => {
                    self.alter_column(&table, &ident_name(self.dialect, column_name), op);
                }
                AlterTableOperation::ModifyColumn { col_name, data_type, options, .. } => {
                    self.modify_column(&table, &ident_name(self.dialect, col_name), data_type, options);
                }
                AlterTableOperation::ChangeColumn { old_name, new_name, data_type, options, .. } => {
                    if old_name.value != new_name.value {
                        self.rename_column(&table, old_name, new_name);
                    }
                    self.modify_column(&table, &ident_name(self.dialect, new_name), data_type, options);
                }
                AlterTableOperation::AddConstraint { constraint, not_valid } => {
                    if let Some(ident) = constraint_name(constraint) {
                        self.name(ident, "constraint", Some(&table));
                    }
                    self.add_constraint(&table, constraint, *not_valid);
                }
                _ => {}
            }
        }
    }

    fn add_column(&mut self, table: &str, def: &ColumnDef) {
        self.name(&def.name, "column", Some(table));
        let column = ident_name(self.dialect, &def.name);
        let facts = column_facts(def);
        self.columns.insert((table.to_string(), column.clone()), facts.clone());
        if let Some(new_table) = self.created.get_mut(table) {
            new_table.columns.push((column, facts));
            return;
        }
        if !facts.nullable && !facts.has_default {
            self.report(
                Code::NotNullOnExistingRows,
                Some(table),
                Some(&column),
                format!(
                    "column \"{table}\".\"{column}\" is added NOT NULL without a default: existing rows have no value \
                     for it; give it a default, or add it nullable and backfill it"
                ),
            );
        }
        if self.dialect == RuleSet::Postgres {
            let volatile = default_expr(def)
                .map(|e| e.to_string().to_ascii_lowercase())
                .filter(|text| VOLATILE.iter().any(|f| text.contains(f)));
            let why = volatile
                .map(|d| format!("default {d}"))
                .or_else(|| is_serial(&def.data_type).then(|| format!("type {}", def.data_type)));
            if let Some(why) = why {
                self.report(
                    Code::VolatileDefault,
                    Some(table),
                    Some(&column),
                    format!(
                        "column \"{table}\".\"{column}\" is added with the volatile {why}: PostgreSQL computes it for every \
                         row and rewrites \"{table}\" under an ACCESS EXCLUSIVE lock; add it without the default and backfill"
                    ),
                );
            }
        }
        for o in &def.options {
            match &o.option {
                ColumnOption::Unique(_) => self.unique_added(table, &format!("column \"{column}\" UNIQUE")),
                ColumnOption::ForeignKey(_) => {
                    self.foreign_key_added(table, &format!("column \"{column}\" REFERENCES"), false)
                }
                ColumnOption::Check(_) => {
                    self.check_added(table, &format!("column \"{column}\" CHECK"), false)
                }
                _ => {}
            }
        }
    }

    fn drop_column(&mut self, table: &str, column: &str) {
        let added_here = self.is_new(table);
        self.columns.remove(&(table.to_string(), column.to_string()));
        if added_here {
            return;
        }
        self.report(
            Code::ColumnDropped,
            Some(table),
            Some(column),
            format!(
                "column \"{table}\".\"{column}\" is dropped with its values; copy them first if they matter"
            ),
        );
        let read = self
            .previous
            .and_then(|p| p.table(table))
            .is_some_and(|t| t.dart_name.is_some() && t.column(column).is_some());
        if read {
            self.read_by_previous(self.statement, table, column);
        }
    }

    fn rename_column(&mut self, table: &str, old: &Ident, new: &Ident) {
        self.name(new, "column", Some(table));
        let (old, new) = (ident_name(self.dialect, old), ident_name(self.dialect, new));
        if let Some(facts) = self.columns.remove(&(table.to_string(), old.clone())) {
            self.columns.insert((table.to_string(), new.clone()), facts);
        }
        if self.is_new(table) {
            return;
        }
        self.report(
            Code::ColumnRenamed,
            Some(table),
            Some(&old),
            format!(
                "column \"{table}\".\"{old}\" is renamed to \"{new}\": the application version still running during a \
                 rolling deploy queries \"{old}\" and fails"
            ),
        );
    }

    fn rename_table(&mut self, from: &str, to: &ObjectName) {
        let target = object_name(self.dialect, to);
        if let Some(ident) = last_ident(to) {
            self.name(ident, "table", Some(&target));
        }
        for ((t, c), facts) in self.columns.clone() {
            if t == from {
                self.columns.remove(&(t, c.clone()));
                self.columns.insert((target.clone(), c), facts);
            }
        }
        if let Some(new_table) = self.created.remove(from) {
            // A rebuild's copy becomes the (populated) table; a new table stays new.
            if !self.dropped.contains(&target) {
                self.created.insert(target, new_table);
            }
            return;
        }
        self.report(
            Code::TableRenamed,
            Some(from),
            None,
            format!(
                "table \"{from}\" is renamed to \"{target}\": the application version still running during a rolling \
                 deploy queries \"{from}\" and fails"
            ),
        );
    }

    fn alter_column(&mut self, table: &str, column: &str, op: &AlterColumnOperation) {
        if self.is_new(table) {
            return;
        }
        match op {
            AlterColumnOperation::SetNotNull => self.report(
                Code::NotNullOnExistingRows,
                Some(table),
                Some(column),
                format!(
                    "column \"{table}\".\"{column}\" becomes NOT NULL: existing rows with NULL make the migration fail; \
                     backfill them in an earlier migration"
                ),
            ),
            AlterColumnOperation::SetDataType { data_type, .. } => self.type_change(table, column, data_type),
            _ => {}
        }
    }

    /// MySQL's `MODIFY`/`CHANGE COLUMN`: a new type and a new nullability at once.
    fn modify_column(&mut self, table: &str, column: &str, data_type: &DataType, options: &[ColumnOption]) {
        if self.is_new(table) {
            return;
        }
        let was_nullable =
            self.columns.get(&(table.to_string(), column.to_string())).is_some_and(|c| c.nullable);
        self.type_change(table, column, data_type);
        if was_nullable && options.iter().any(|o| matches!(o, ColumnOption::NotNull)) {
            self.report(
                Code::NotNullOnExistingRows,
                Some(table),
                Some(column),
                format!(
                    "column \"{table}\".\"{column}\" becomes NOT NULL: existing rows with NULL make the migration fail; \
                     backfill them in an earlier migration"
                ),
            );
        }
    }

    /// DS103 and PG102 for a column's new type, against the type the walk knows.
    fn type_change(&mut self, table: &str, column: &str, data_type: &DataType) {
        let new = types::canonical(data_type);
        let key = (table.to_string(), column.to_string());
        let old = self.columns.get(&key).map(|c| c.type_text.clone());
        if let Some(facts) = self.columns.get_mut(&key) {
            facts.type_text = new.clone();
        }
        if let Some(why) = old.as_deref().and_then(|old| types::narrowing(old, &new)) {
            let old = old.as_deref().unwrap_or_default();
            self.report(
                Code::TypeNarrowed,
                Some(table),
                Some(column),
                format!("column \"{table}\".\"{column}\" changes from {old} to {new}, {why}; check the stored values first"),
            );
        }
        if self.dialect != RuleSet::Postgres {
            return;
        }
        let cost = match old.as_deref() {
            Some(old) if old == new => return,
            Some(old) => match in_place_cast(old, &new) {
                Some(CastCost::CatalogOnly) => return,
                Some(CastCost::Rewrite) => format!("from {old} to {new} rewrites the table"),
                None => format!("from {old} to {new} has no in-place cast: it rewrites the table"),
            },
            None => format!(
                "to {new} is assumed to rewrite the table (no previous definition.json gives the old type)"
            ),
        };
        self.report(
            Code::TypeChangeRewrites,
            Some(table),
            Some(column),
            format!(
                "the type change of \"{table}\".\"{column}\" {cost}: every row is rewritten and every index rebuilt \
                 under an ACCESS EXCLUSIVE lock; on a large table add a new column and backfill instead"
            ),
        );
    }

    // ---- constraints ----

    fn add_constraint(&mut self, table: &str, constraint: &TableConstraint, not_valid: bool) {
        if self.is_new(table) {
            return;
        }
        let named = |kind: &str| match constraint_name(constraint) {
            Some(n) => format!("{kind} \"{}\"", n.value),
            None => kind.to_string(),
        };
        match constraint {
            TableConstraint::Unique(_) | TableConstraint::PrimaryKey(_) => {
                self.unique_added(table, &named("constraint"))
            }
            TableConstraint::ForeignKey(_) => self.foreign_key_added(table, &named("foreign key"), not_valid),
            TableConstraint::Check(_) => self.check_added(table, &named("check constraint"), not_valid),
            _ => {}
        }
    }

    fn unique_added(&mut self, table: &str, what: &str) {
        if self.is_new(table) {
            return;
        }
        self.report(
            Code::UniqueOnExistingRows,
            Some(table),
            None,
            format!("unique {what} is added to \"{table}\": duplicate values already stored make the migration fail"),
        );
    }

    fn foreign_key_added(&mut self, table: &str, what: &str, not_valid: bool) {
        if self.is_new(table) {
            return;
        }
        let skips_check = not_valid && self.dialect == RuleSet::Postgres;
        if !skips_check {
            self.report(
                Code::ForeignKeyOnExistingRows,
                Some(table),
                None,
                format!(
                    "{what} is added to \"{table}\": existing rows without a match make the migration fail"
                ),
            );
        }
        if self.dialect == RuleSet::Postgres && !not_valid {
            self.report(
                Code::ForeignKeyValidated,
                Some(table),
                None,
                format!(
                    "{what} is added to \"{table}\" without NOT VALID: the whole table is scanned while writes to it and \
                     to the referenced table wait; add it NOT VALID and VALIDATE CONSTRAINT later"
                ),
            );
        }
    }

    fn check_added(&mut self, table: &str, what: &str, not_valid: bool) {
        if self.is_new(table) || (not_valid && self.dialect == RuleSet::Postgres) {
            return;
        }
        self.report(
            Code::CheckOnExistingRows,
            Some(table),
            None,
            format!("{what} is added to \"{table}\": existing rows that violate it make the migration fail"),
        );
    }

    // ---- CREATE INDEX ----

    fn create_index(&mut self, ci: &CreateIndex) {
        let table = object_name(self.dialect, &ci.table_name);
        if BOOKKEEPING.contains(&table.as_str()) {
            return;
        }
        let index = ci.name.as_ref().map(|n| object_name(self.dialect, n)).unwrap_or_default();
        if let Some(ident) = ci.name.as_ref().and_then(last_ident) {
            self.name(ident, "index", Some(&table));
        }
        self.json_index(&table, &index, ci);
        if self.is_new(&table) {
            return;
        }
        let existed = self
            .previous
            .and_then(|p| p.table(&table))
            .and_then(|t| t.index(&index))
            .is_some_and(|i| i.is_unique == ci.unique);
        if ci.unique && !(existed && self.dropped.contains(&table)) {
            self.report(
                Code::UniqueOnExistingRows,
                Some(&table),
                None,
                format!("unique index \"{index}\" is created on \"{table}\": duplicate values already stored make the migration fail"),
            );
        }
        if self.dialect == RuleSet::Postgres && !ci.concurrently {
            self.report(
                Code::IndexWithoutConcurrently,
                Some(&table),
                None,
                format!(
                    "index \"{index}\" is built on \"{table}\" without CONCURRENTLY: writes to \"{table}\" wait until it is \
                     built; use CREATE INDEX CONCURRENTLY after the file's COMMIT; line"
                ),
            );
        }
    }

    /// DT101: a plain index on a json column.
    fn json_index(&mut self, table: &str, index: &str, ci: &CreateIndex) {
        let btree = matches!(ci.using, None | Some(IndexType::BTree));
        let applies = match self.dialect {
            RuleSet::Postgres => btree,
            RuleSet::Mysql => true,
            RuleSet::Sqlite => false,
        };
        if !applies {
            return;
        }
        for element in &ci.columns {
            let Expr::Identifier(ident) = &element.column.expr else { continue };
            let column = ident_name(self.dialect, ident);
            let Some(facts) = self.columns.get(&(table.to_string(), column.clone())) else { continue };
            if is_json(&facts.type_text) {
                let kind = facts.type_text.clone();
                self.report(
                    Code::BtreeOnJson,
                    Some(table),
                    Some(&column),
                    format!(
                        "index \"{index}\" is a plain index on the {kind} column \"{table}\".\"{column}\": {}",
                        match self.dialect {
                            RuleSet::Mysql => "MySQL cannot index a JSON column; index a generated column instead",
                            _ => "json has no btree operator class (jsonb compares whole documents); use a gin index on jsonb",
                        }
                    ),
                );
            }
        }
    }
}
