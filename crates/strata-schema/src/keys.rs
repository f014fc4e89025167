//! Table-level key constraints the model's `id` rule cannot say: a primary key other than
//! `PRIMARY KEY ("id")` named `<table>_pkey`, and `UNIQUE` constraints (as distinct from unique
//! indexes). A strata extension: Serverpod-written tables never carry them (see docs/format.md).

/// The key constraints of one table beyond Serverpod's implied primary key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableKeys {
    /// An explicit primary key; `None` is Serverpod's rule (`PRIMARY KEY ("id")` when the
    /// table has an `id` column).
    pub primary_key: Option<KeyConstraint>,
    /// No primary key at all, although the table has an `id` column (which Serverpod's rule
    /// would make the key).
    pub without_primary_key: bool,
    /// `UNIQUE` constraints, in name order.
    pub unique: Vec<KeyConstraint>,
}

impl TableKeys {
    /// True when nothing beyond Serverpod's implied key is stated (the JSON keys are omitted).
    pub fn is_empty(&self) -> bool {
        !self.states_primary_key() && self.unique.is_empty()
    }

    /// Whether the table's primary key is stated (a key, or none) instead of implied by `id`.
    pub fn states_primary_key(&self) -> bool {
        self.primary_key.is_some() || self.without_primary_key
    }

    /// The unique constraint with this name.
    pub fn unique(&self, name: &str) -> Option<&KeyConstraint> {
        self.unique.iter().find(|u| u.name == name)
    }
}

/// A `PRIMARY KEY` or `UNIQUE` constraint over plain columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyConstraint {
    pub name: String,
    pub columns: Vec<String>,
    /// `UNIQUE NULLS NOT DISTINCT` (PostgreSQL 15); always false for a primary key.
    pub nulls_not_distinct: bool,
}

impl KeyConstraint {
    /// Whether both constrain the same columns the same way, whatever their names.
    pub fn same_shape(&self, other: &KeyConstraint) -> bool {
        self.columns == other.columns && self.nulls_not_distinct == other.nulls_not_distinct
    }
}

/// PostgreSQL's name for a table's primary key when none is given (`<table>_pkey`, cut to the
/// 63-byte identifier limit on a character boundary).
pub fn default_primary_key_name(table: &str) -> String {
    let mut name = table.to_string();
    while name.len() > 63 - "_pkey".len() {
        name.pop();
    }
    name.push_str("_pkey");
    name
}

/// What an `alterTable` action does to a table's key constraints, in the order the SQL runs
/// them: drops (after the foreign keys that reference them), renames, then adds (before the
/// foreign keys that reference them). strata's own `keyChanges` in `migration.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyMigration {
    /// Primary key or unique constraints dropped, by name.
    pub drop: Vec<String>,
    /// Constraints whose name alone changes, `(from, to)`.
    pub rename: Vec<(String, String)>,
    /// The new primary key, when it changes or appears.
    pub add_primary_key: Option<KeyConstraint>,
    /// Unique constraints added.
    pub add_unique: Vec<KeyConstraint>,
}

impl KeyMigration {
    /// True when the keys do not change.
    pub fn is_empty(&self) -> bool {
        self.drop.is_empty()
            && self.rename.is_empty()
            && self.add_primary_key.is_none()
            && self.add_unique.is_empty()
    }
}

impl crate::TableDefinition {
    /// The table's primary key: the explicit one, else Serverpod's implied `("id")` (named as
    /// PostgreSQL names it) when the table has an `id` column.
    pub fn effective_primary_key(&self) -> Option<KeyConstraint> {
        if let Some(pk) = &self.keys.primary_key {
            return Some(pk.clone());
        }
        if self.keys.without_primary_key {
            return None;
        }
        self.column("id").map(|_| KeyConstraint {
            name: default_primary_key_name(&self.name),
            columns: vec!["id".to_string()],
            nulls_not_distinct: false,
        })
    }

    /// Whether `columns` are, in this order, the columns of the table's primary key or of one of
    /// its unique constraints: what a foreign key onto them needs to exist first.
    pub fn has_key_on(&self, columns: &[String]) -> bool {
        self.effective_primary_key().is_some_and(|pk| pk.columns == columns)
            || self.keys.unique.iter().any(|u| u.columns == columns)
    }
}
