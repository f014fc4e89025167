//! How a PostgreSQL table is laid out beyond its columns: partitioning (`PARTITION BY`,
//! `PARTITION OF ... FOR VALUES`), inheritance (`INHERITS`) and `UNLOGGED`. A strata
//! extension read by introspection: Serverpod-written tables never carry it, so their files keep
//! their bytes (see docs/format.md). The partition's parent itself is `TableDefinition::partition_of`.

use std::collections::BTreeMap;

use crate::definition::TableDefinition;

/// The tables `table` hangs under: its partitioned parent, then its `INHERITS` parents.
pub fn parents(table: &TableDefinition) -> impl Iterator<Item = &str> {
    table.partition_of.as_deref().into_iter().chain(table.layout.inherits.iter().map(String::as_str))
}

/// How many generations of ancestors `name` has in `by_name` (0 for a table of its own). A
/// cycle, which PostgreSQL forbids, stops at the table count.
pub fn depth(name: &str, by_name: &BTreeMap<&str, &TableDefinition>) -> usize {
    let mut depth = 0;
    let mut level: Vec<String> = vec![name.to_string()];
    while depth < by_name.len() {
        level = level
            .iter()
            .filter_map(|n| by_name.get(n.as_str()))
            .flat_map(|t| parents(t))
            .map(str::to_string)
            .collect();
        if level.is_empty() {
            break;
        }
        depth += 1;
    }
    depth
}

/// `tables` with every parent before its children and otherwise in their order, so that a
/// `CREATE TABLE ... PARTITION OF` finds its parent and a parent's changes run before its
/// children's.
pub fn parents_first<'a>(tables: &[&'a TableDefinition]) -> Vec<&'a TableDefinition> {
    let mut by_name: BTreeMap<&str, &TableDefinition> = BTreeMap::new();
    for t in tables {
        by_name.entry(t.name.as_str()).or_insert(t);
    }
    let mut ordered: Vec<&TableDefinition> = tables.to_vec();
    ordered.sort_by_cached_key(|t| depth(&t.name, &by_name));
    ordered
}

/// A table's partitioning, inheritance parents and persistence; the default is a plain,
/// logged table of its own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableLayout {
    /// `pg_get_partkeydef` of a partitioned table (`RANGE (logdate)`); `None` for any other.
    pub partition_key: Option<String>,
    /// A partition's bound as `pg_get_expr(relpartbound)` prints it
    /// (`FOR VALUES FROM ('2006-02-01') TO ('2006-03-01')`, `DEFAULT`).
    pub partition_bound: Option<String>,
    /// The tables this one `INHERITS` from, in `inhseqno` order (never a partition's parent).
    pub inherits: Vec<String>,
    /// Columns that exist only through a parent (`attinhcount > 0` and not `attislocal`): a
    /// `CREATE TABLE ... INHERITS` leaves them out, and their changes are the parent's.
    pub inherited_columns: Vec<String>,
    /// `UNLOGGED`: not written to the WAL, emptied after a crash.
    pub unlogged: bool,
}

impl TableLayout {
    /// True for a plain logged table (the JSON keys are omitted).
    pub fn is_default(&self) -> bool {
        *self == TableLayout::default()
    }

    /// Whether `column` exists only through a parent.
    pub fn is_inherited(&self, column: &str) -> bool {
        self.inherited_columns.iter().any(|c| c == column)
    }
}

/// A partition's place: its partitioned parent and its bound.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionPlace {
    pub parent: String,
    /// `FOR VALUES ...` or `DEFAULT`, as `TableLayout::partition_bound`.
    pub bound: String,
}

/// The layout changes of one altered table (`layoutChanges`, strata's own key, written only when
/// set). Leaving a parent runs before every table change of the migration (so a parent's column
/// drop or `DROP TABLE ... CASCADE` no longer reaches the table); joining one runs after them
/// (the table then has the parent's final columns).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayoutMigration {
    /// `ALTER TABLE parent DETACH PARTITION table`, first.
    pub detach_from: Option<String>,
    /// `ALTER TABLE parent ATTACH PARTITION table FOR VALUES ...`, last.
    pub attach_to: Option<PartitionPlace>,
    /// `ALTER TABLE table NO INHERIT parent`, first.
    pub drop_inherits: Vec<String>,
    /// `ALTER TABLE table INHERIT parent`, last, in the target's order.
    pub add_inherits: Vec<String>,
    /// `SET UNLOGGED` (`Some(true)`) or `SET LOGGED` (`Some(false)`).
    pub set_unlogged: Option<bool>,
}

impl LayoutMigration {
    /// True when the layout does not change.
    pub fn is_empty(&self) -> bool {
        *self == LayoutMigration::default()
    }
}
