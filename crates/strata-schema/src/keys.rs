//! Table-level constraints the model's `id` rule cannot say: a primary key other than
//! `PRIMARY KEY ("id")` named `<table>_pkey`, `UNIQUE` constraints (as distinct from unique
//! indexes), `CHECK` and `EXCLUDE` constraints. A strata extension: Serverpod-written tables never
//! carry them (see docs/format.md and docs/keys.md).

use crate::Deferrable;

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
    /// `CHECK` constraints declared on the table itself (not inherited), in name order.
    pub checks: Vec<CheckConstraint>,
    /// `EXCLUDE` constraints, in name order.
    pub exclusions: Vec<ExclusionConstraint>,
}

impl TableKeys {
    /// True when nothing beyond Serverpod's implied key is stated (the JSON keys are omitted).
    pub fn is_empty(&self) -> bool {
        !self.states_primary_key() && self.unique.is_empty() && !self.has_checks_or_exclusions()
    }

    /// Whether the table has `CHECK` or `EXCLUDE` constraints: what a Serverpod definition never
    /// has, so a live database's are compared only against a side that can hold them.
    pub fn has_checks_or_exclusions(&self) -> bool {
        !self.checks.is_empty() || !self.exclusions.is_empty()
    }

    /// Whether the table's primary key is stated (a key, or none) instead of implied by `id`.
    pub fn states_primary_key(&self) -> bool {
        self.primary_key.is_some() || self.without_primary_key
    }

    /// The unique constraint with this name.
    pub fn unique(&self, name: &str) -> Option<&KeyConstraint> {
        self.unique.iter().find(|u| u.name == name)
    }

    /// The check constraint with this name.
    pub fn check(&self, name: &str) -> Option<&CheckConstraint> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The exclusion constraint with this name.
    pub fn exclusion(&self, name: &str) -> Option<&ExclusionConstraint> {
        self.exclusions.iter().find(|x| x.name == name)
    }
}

/// A `PRIMARY KEY` or `UNIQUE` constraint over plain columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyConstraint {
    pub name: String,
    pub columns: Vec<String>,
    /// `UNIQUE NULLS NOT DISTINCT` (PostgreSQL 15); always false for a primary key.
    pub nulls_not_distinct: bool,
    /// `DEFERRABLE INITIALLY IMMEDIATE / DEFERRED`; `None` is not deferrable.
    pub deferrable: Option<Deferrable>,
}

impl KeyConstraint {
    /// Whether both constrain the same columns the same way, whatever their names.
    pub fn same_shape(&self, other: &KeyConstraint) -> bool {
        self.columns == other.columns
            && self.nulls_not_distinct == other.nulls_not_distinct
            && self.deferrable == other.deferrable
    }
}

/// A `CHECK` constraint of a table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckConstraint {
    pub name: String,
    /// The expression inside `CHECK (...)`, as PostgreSQL prints it (`pg_get_constraintdef`):
    /// the server's own text, compared as text and written back as it is.
    pub expression: String,
    /// `NOT VALID`: existing rows were never checked (new and updated ones are).
    pub not_valid: bool,
    /// `NO INHERIT`: the check does not pass on to inheritance children.
    pub no_inherit: bool,
}

impl CheckConstraint {
    /// Whether both check the same thing the same way, whatever their names. `NOT VALID` is
    /// part of it: the server's dump differs, and validating is a statement of its own.
    pub fn same_rule(&self, other: &CheckConstraint) -> bool {
        self.expression == other.expression
            && self.not_valid == other.not_valid
            && self.no_inherit == other.no_inherit
    }
}

/// An `EXCLUDE` constraint of a table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExclusionConstraint {
    pub name: String,
    /// The whole constraint after its name, as PostgreSQL prints it (`EXCLUDE USING gist (c WITH
    /// &&) WHERE (...) DEFERRABLE`): method, elements, operators, predicate and deferrability.
    pub definition: String,
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
    /// Primary key, unique, check or exclusion constraints dropped, by name.
    pub drop: Vec<String>,
    /// Constraints whose name alone changes, `(from, to)`.
    pub rename: Vec<(String, String)>,
    /// The new primary key, when it changes or appears.
    pub add_primary_key: Option<KeyConstraint>,
    /// Unique constraints added.
    pub add_unique: Vec<KeyConstraint>,
    /// Check constraints added (a changed one is dropped, by name, and added).
    pub add_checks: Vec<CheckConstraint>,
    /// Exclusion constraints added (a changed one is dropped and added).
    pub add_exclusions: Vec<ExclusionConstraint>,
}

impl KeyMigration {
    /// True when the keys do not change.
    pub fn is_empty(&self) -> bool {
        self.drop.is_empty()
            && self.rename.is_empty()
            && self.add_primary_key.is_none()
            && self.add_unique.is_empty()
            && self.add_checks.is_empty()
            && self.add_exclusions.is_empty()
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
            deferrable: None,
        })
    }

    /// Whether `columns` are, in this order, the columns of the table's primary key or of one of
    /// its unique constraints: what a foreign key onto them needs to exist first.
    pub fn has_key_on(&self, columns: &[String]) -> bool {
        self.effective_primary_key().is_some_and(|pk| pk.columns == columns)
            || self.keys.unique.iter().any(|u| u.columns == columns)
    }
}
