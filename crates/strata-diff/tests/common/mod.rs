//! Small builders for definitions, in the spirit of Serverpod's test builders.
#![allow(dead_code)]

use strata_schema::*;

/// A NOT NULL text column whose field name equals its name.
pub fn col(name: &str) -> ColumnDefinition {
    ColumnDefinition {
        name: name.into(),
        field_name: Some(name.into()),
        column_type: ColumnType::Text,
        is_nullable: false,
        column_default: None,
        dart_type: None,
        vector_dimension: None,
        native_type: None,
        identity: None,
        identity_options: None,
        generated: None,
    }
}

/// The default `id`: `bigint`, `serial`, field `id`, Dart `int?`.
pub fn id() -> ColumnDefinition {
    col("id").ty(ColumnType::Bigint).default("serial").dart("int?")
}

pub trait ColExt: Sized {
    fn ty(self, t: ColumnType) -> Self;
    fn nullable(self) -> Self;
    fn not_null(self) -> Self;
    fn default(self, d: &str) -> Self;
    fn no_default(self) -> Self;
    fn field(self, f: &str) -> Self;
    fn no_field(self) -> Self;
    fn dart(self, d: &str) -> Self;
    fn dim(self, d: i64) -> Self;
    fn named(self, n: &str) -> Self;
}

impl ColExt for ColumnDefinition {
    fn ty(mut self, t: ColumnType) -> Self {
        self.column_type = t;
        self
    }
    fn nullable(mut self) -> Self {
        self.is_nullable = true;
        self
    }
    fn not_null(mut self) -> Self {
        self.is_nullable = false;
        self
    }
    fn default(mut self, d: &str) -> Self {
        self.column_default = Some(d.into());
        self
    }
    fn no_default(mut self) -> Self {
        self.column_default = None;
        self
    }
    fn field(mut self, f: &str) -> Self {
        self.field_name = Some(f.into());
        self
    }
    fn no_field(mut self) -> Self {
        self.field_name = None;
        self
    }
    fn dart(mut self, d: &str) -> Self {
        self.dart_type = Some(d.into());
        self
    }
    fn dim(mut self, d: i64) -> Self {
        self.vector_dimension = Some(d);
        self
    }
    fn named(mut self, n: &str) -> Self {
        self.name = n.into();
        self
    }
}

/// A managed table in `public` with an `id` column first.
pub fn table(name: &str, columns: Vec<ColumnDefinition>) -> TableDefinition {
    let mut all = vec![id()];
    all.extend(columns);
    TableDefinition {
        name: name.into(),
        dart_name: Some(name.into()),
        module: Some("test".into()),
        schema: "public".into(),
        table_space: None,
        columns: all,
        foreign_keys: Vec::new(),
        indexes: Vec::new(),
        managed: Some(true),
        keys: Default::default(),
        partition_of: None,
        layout: Default::default(),
    }
}

pub trait TableExt: Sized {
    fn index(self, i: IndexDefinition) -> Self;
    fn fk(self, f: ForeignKeyDefinition) -> Self;
    fn managed(self, m: Option<bool>) -> Self;
    fn live(self) -> Self;
}

impl TableExt for TableDefinition {
    fn index(mut self, i: IndexDefinition) -> Self {
        self.indexes.push(i);
        self
    }
    fn fk(mut self, f: ForeignKeyDefinition) -> Self {
        self.foreign_keys.push(f);
        self
    }
    fn managed(mut self, m: Option<bool>) -> Self {
        self.managed = m;
        self
    }
    /// As the live-database analyzer reports it: no managed flag, no field names, no Dart types.
    fn live(mut self) -> Self {
        self.managed = None;
        self.dart_name = None;
        self.module = None;
        for c in &mut self.columns {
            c.field_name = None;
            c.dart_type = None;
        }
        self
    }
}

/// A btree index over columns.
pub fn idx(name: &str, columns: &[&str]) -> IndexDefinition {
    IndexDefinition {
        index_name: name.into(),
        table_space: None,
        elements: columns.iter().map(|c| IndexElement::column(*c)).collect(),
        index_type: "btree".into(),
        is_unique: false,
        is_primary: false,
        nulls_distinct: None,
        predicate: None,
        gin_operator_class: None,
        vector_distance_function: None,
        vector_column_type: None,
        parameters: None,
        include: Vec::new(),
    }
}

pub fn unique(mut i: IndexDefinition) -> IndexDefinition {
    i.is_unique = true;
    i
}

/// A single-column FK to `reference(id)`, NO ACTION both ways (what `relation(parent=)` makes).
pub fn fk(name: &str, column: &str, reference: &str) -> ForeignKeyDefinition {
    ForeignKeyDefinition {
        constraint_name: name.into(),
        columns: vec![column.into()],
        reference_table: reference.into(),
        reference_table_schema: "public".into(),
        reference_columns: vec!["id".into()],
        on_update: Some(ForeignKeyAction::NoAction),
        on_delete: Some(ForeignKeyAction::NoAction),
        match_type: None,
        deferrable: None,
    }
}

pub fn db(tables: Vec<TableDefinition>) -> DatabaseDefinition {
    let mut d = DatabaseDefinition::empty("test");
    d.tables = tables;
    d
}

/// The single alterTable of a migration (panics in tests when absent).
pub fn only_alter(m: &DatabaseMigration) -> &TableMigration {
    assert_eq!(m.actions.len(), 1, "expected exactly one action, got {:#?}", m.actions);
    match &m.actions[0] {
        MigrationAction::AlterTable(t) => t,
        other => panic!("expected alterTable, got {other:?}"),
    }
}

/// `type:table` for each action, to assert on order compactly.
pub fn action_list(m: &DatabaseMigration) -> Vec<String> {
    m.actions.iter().map(|a| format!("{}:{}", a.action_type().name(), a.table_name())).collect()
}

/// `type:table:columns` for each warning.
pub fn warning_list(m: &DatabaseMigration) -> Vec<String> {
    m.warnings
        .iter()
        .map(|w| format!("{}:{}:{}", w.warning_type.name(), w.table, w.columns.join(",")))
        .collect()
}
