//! The desired or observed shape of a database: tables, columns, indexes and foreign keys.
//!
//! These types mirror Serverpod's `DatabaseDefinition` family field for field, so that a
//! `definition.json` written by Serverpod reads into them losslessly and writes back
//! byte-for-byte (see `crate::json`).

/// Serverpod's `migrationApiVersion`; written into every definition and migration.
pub const MIGRATION_API_VERSION: i64 = 1;
/// The on-disk format generation strata writes (`"schemaVersion": 2`).
pub const CURRENT_SCHEMA_VERSION: i64 = 2;

/// Declares a byIndex-encoded enum: persisted as its position, so the order is frozen forever.
macro_rules! index_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $idx:literal => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant = $idx),+ }

        impl $name {
            /// Every variant in persisted order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The persisted integer code.
            pub fn index(self) -> u8 { self as u8 }

            /// Decodes a persisted integer code; `None` for codes this version does not know.
            pub fn from_index(i: u64) -> Option<Self> {
                match i { $($idx => Some($name::$variant),)+ _ => None }
            }

            /// The enum value's name as Serverpod spells it (camelCase).
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the camelCase name.
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

/// Declares a byName-encoded enum (persisted as its camelCase name).
macro_rules! name_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every variant in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The persisted name.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the persisted name.
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

pub(crate) use name_enum;

index_enum! {
    /// Abstract column type (`ColumnType`, persisted byIndex).
    ColumnType {
        Text = 0 => "text",
        Boolean = 1 => "boolean",
        Integer = 2 => "integer",
        DoublePrecision = 3 => "doublePrecision",
        TimestampWithoutTimeZone = 4 => "timestampWithoutTimeZone",
        Bytea = 5 => "bytea",
        Bigint = 6 => "bigint",
        Uuid = 7 => "uuid",
        Json = 8 => "json",
        Unknown = 9 => "unknown",
        Vector = 10 => "vector",
        Halfvec = 11 => "halfvec",
        Sparsevec = 12 => "sparsevec",
        Bit = 13 => "bit",
        Jsonb = 14 => "jsonb",
        Geography = 15 => "geography",
        GeographyLineString = 16 => "geographyLineString",
        GeographyPolygon = 17 => "geographyPolygon",
        GeographyGeometryCollection = 18 => "geographyGeometryCollection",
    }
}

#[allow(clippy::derivable_impls)] // the enum is macro-generated; variants cannot carry #[default]
impl Default for ColumnType {
    /// `text`: the type of an otherwise unspecified column (only used by `Default` builders).
    fn default() -> Self {
        ColumnType::Text
    }
}

impl ColumnType {
    /// pgvector types, which carry a dimension and need the `vector` extension.
    pub fn is_vector(self) -> bool {
        matches!(self, ColumnType::Vector | ColumnType::Halfvec | ColumnType::Sparsevec | ColumnType::Bit)
    }

    /// PostGIS geography types, which need the `postgis` extension.
    pub fn is_geography(self) -> bool {
        matches!(
            self,
            ColumnType::Geography
                | ColumnType::GeographyLineString
                | ColumnType::GeographyPolygon
                | ColumnType::GeographyGeometryCollection
        )
    }

    /// `json` or `jsonb`.
    pub fn is_json(self) -> bool {
        matches!(self, ColumnType::Json | ColumnType::Jsonb)
    }

    /// `integer` or `bigint` (treated as equal by the comparison, see §7.3 of the spec).
    pub fn is_integer(self) -> bool {
        matches!(self, ColumnType::Integer | ColumnType::Bigint)
    }
}

index_enum! {
    /// Referential action of a foreign key (`ForeignKeyAction`, persisted byIndex).
    ForeignKeyAction {
        SetNull = 0 => "setNull",
        SetDefault = 1 => "setDefault",
        Restrict = 2 => "restrict",
        NoAction = 3 => "noAction",
        Cascade = 4 => "cascade",
    }
}

impl ForeignKeyAction {
    /// The SQL spelling (`ON DELETE <this>`).
    pub fn sql(self) -> &'static str {
        match self {
            ForeignKeyAction::SetNull => "SET NULL",
            ForeignKeyAction::SetDefault => "SET DEFAULT",
            ForeignKeyAction::Restrict => "RESTRICT",
            ForeignKeyAction::NoAction => "NO ACTION",
            ForeignKeyAction::Cascade => "CASCADE",
        }
    }
}

index_enum! {
    /// `MATCH` type of a foreign key (persisted byIndex; only ever set by introspection).
    ForeignKeyMatchType {
        Full = 0 => "full",
        Partial = 1 => "partial",
        Simple = 2 => "simple",
    }
}

index_enum! {
    /// Whether an index element is a plain column or an expression.
    IndexElementType {
        Column = 0 => "column",
        Expression = 1 => "expression",
    }
}

name_enum! {
    /// Deferrability of a foreign key; absent means not deferrable.
    Deferrable {
        InitiallyImmediate => "initiallyImmediate",
        InitiallyDeferred => "initiallyDeferred",
    }
}

name_enum! {
    /// How an identity column numbers its rows: `GENERATED ALWAYS` refuses explicit values
    /// unless overridden, `BY DEFAULT` only fills them in.
    Identity {
        Always => "always",
        ByDefault => "byDefault",
    }
}

impl Identity {
    /// The SQL spelling after `GENERATED`.
    pub fn sql(self) -> &'static str {
        match self {
            Identity::Always => "ALWAYS",
            Identity::ByDefault => "BY DEFAULT",
        }
    }
}

name_enum! {
    /// Distance function of a pgvector index.
    VectorDistanceFunction {
        L2 => "l2",
        InnerProduct => "innerProduct",
        Cosine => "cosine",
        L1 => "l1",
        Hamming => "hamming",
        Jaccard => "jaccard",
    }
}

name_enum! {
    /// Operator class of a gin index.
    GinOperatorClass {
        ArrayOps => "arrayOps",
        JsonbOps => "jsonbOps",
        JsonbPathOps => "jsonbPathOps",
        TsvectorOps => "tsvectorOps",
    }
}

impl GinOperatorClass {
    /// The SQL operator class name (`jsonb_path_ops`, ...).
    pub fn sql(self) -> &'static str {
        match self {
            GinOperatorClass::ArrayOps => "array_ops",
            GinOperatorClass::JsonbOps => "jsonb_ops",
            GinOperatorClass::JsonbPathOps => "jsonb_path_ops",
            GinOperatorClass::TsvectorOps => "tsvector_ops",
        }
    }
}

/// A whole database schema: what `definition.json` and `definition_project.json` hold, and what
/// introspection of a live database produces.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DatabaseDefinition {
    /// Database name; only set by live introspection.
    pub name: Option<String>,
    /// The project (or module) that owns this definition.
    pub module_name: String,
    pub tables: Vec<TableDefinition>,
    pub installed_modules: Vec<MigrationVersion>,
    pub migration_api_version: i64,
    /// Format generation; files without the key are v1.
    pub schema_version: i64,
    /// Enum and domain types (strata's `types` key, written only when not empty).
    pub types: Vec<crate::types::TypeDefinition>,
}

impl DatabaseDefinition {
    /// An empty v2 definition for `module_name`: the "previous state" of a project with no
    /// migrations yet.
    pub fn empty(module_name: impl Into<String>) -> Self {
        DatabaseDefinition {
            name: None,
            module_name: module_name.into(),
            tables: Vec::new(),
            installed_modules: Vec::new(),
            migration_api_version: MIGRATION_API_VERSION,
            schema_version: CURRENT_SCHEMA_VERSION,
            types: Vec::new(),
        }
    }

    /// The first table with this name, whatever its schema.
    pub fn table(&self, name: &str) -> Option<&TableDefinition> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Every table by name, for code that looks many tables up: [`Self::table`] is a linear
    /// scan, and one per table is quadratic on a schema of thousands. Where two schemas hold
    /// the same name, the first wins, as in [`Self::table`].
    pub fn tables_by_name(&self) -> std::collections::HashMap<&str, &TableDefinition> {
        // Collected last to first: a later insert replaces an earlier one.
        self.tables.iter().rev().map(|t| (t.name.as_str(), t)).collect()
    }
}

/// One table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableDefinition {
    pub name: String,
    /// The model class name.
    pub dart_name: Option<String>,
    /// The module (project) that declares the table.
    pub module: Option<String>,
    /// Always `public` for generated tables.
    pub schema: String,
    pub table_space: Option<String>,
    pub columns: Vec<ColumnDefinition>,
    pub foreign_keys: Vec<ForeignKeyDefinition>,
    pub indexes: Vec<IndexDefinition>,
    /// `Some(false)` opts the table out of migrations; `None` (live tables) counts as managed.
    pub managed: Option<bool>,
    /// Primary key and unique constraints beyond Serverpod's implied `id` key (strata's own).
    pub keys: crate::keys::TableKeys,
    /// The partitioned table this table is a partition of (strata's own `partitionOf`, only
    /// from introspection): its columns and keys are the parent's, changed through the parent.
    pub partition_of: Option<String>,
    /// Partition key and bound, inheritance parents, inherited columns and `UNLOGGED`
    /// (strata's own keys, only from introspection, written only when set).
    pub layout: crate::layout::TableLayout,
}

impl TableDefinition {
    /// Whether migrations manage this table (`managed != false`).
    pub fn is_managed(&self) -> bool {
        self.managed != Some(false)
    }

    /// The column with this physical name.
    pub fn column(&self, name: &str) -> Option<&ColumnDefinition> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The index with this name.
    pub fn index(&self, name: &str) -> Option<&IndexDefinition> {
        self.indexes.iter().find(|i| i.index_name == name)
    }

    /// The foreign key with this constraint name.
    pub fn foreign_key(&self, name: &str) -> Option<&ForeignKeyDefinition> {
        self.foreign_keys.iter().find(|f| f.constraint_name == name)
    }
}

/// One column. `column_default` holds Serverpod's *abstract* default form (`serial`, `now`,
/// `random`, `random_v7`, `'text'`, `10`, `2024-05-10T22:00:00.000Z`); dialects render it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnDefinition {
    /// Physical column name.
    pub name: String,
    /// Model field name; drives rename detection.
    pub field_name: Option<String>,
    pub column_type: ColumnType,
    pub is_nullable: bool,
    pub column_default: Option<String>,
    /// The model's type as Serverpod's analyzer prints it (`String`, `int?`, `protocol:Foo`).
    pub dart_type: Option<String>,
    /// Dimension of vector types.
    pub vector_dimension: Option<i64>,
    /// The exact PostgreSQL type as `format_type` renders it (`character varying(20)`,
    /// `text[]`, `mood`), plus ` COLLATE "x"` for a non-default collation. Introspection sets
    /// it on every column so live sides compare exactly; files carry it (`nativeType`) only
    /// when `column_type` is `unknown`, so Serverpod-written files keep their bytes.
    pub native_type: Option<String>,
    /// `GENERATED ... AS IDENTITY` (strata's own `identity`, written only when set): such a
    /// column has no `column_default`.
    pub identity: Option<Identity>,
    /// The identity's sequence options where they are not the defaults (strata's own
    /// `identityOptions`, written only when set; see `identity_options.rs`).
    pub identity_options: Option<crate::IdentityOptions>,
    /// The expression of a `GENERATED ALWAYS AS (<expr>) STORED` column as the server prints it
    /// (strata's own `generated`, written only when set): such a column has no `column_default`
    /// and no identity, and its values are computed, never written.
    pub generated: Option<String>,
}

impl ColumnDefinition {
    /// A column is the primary key iff it is named `id`.
    pub fn is_primary(&self) -> bool {
        self.name == "id"
    }

    /// Whether the default is the `serial` keyword (own sequence).
    pub fn is_serial(&self) -> bool {
        self.column_default.as_deref() == Some(crate::defaults::SERIAL)
    }
}

/// One foreign key constraint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForeignKeyDefinition {
    pub constraint_name: String,
    pub columns: Vec<String>,
    pub reference_table: String,
    pub reference_table_schema: String,
    pub reference_columns: Vec<String>,
    pub on_update: Option<ForeignKeyAction>,
    pub on_delete: Option<ForeignKeyAction>,
    pub match_type: Option<ForeignKeyMatchType>,
    pub deferrable: Option<Deferrable>,
}

/// One index element: a column name or an expression, with its sort order, operator class
/// and collation (strata's own keys; Serverpod's files never set them, see docs/format.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexElement {
    pub element_type: IndexElementType,
    pub definition: String,
    /// `DESC`; ascending is the default.
    pub descending: bool,
    /// Where nulls sort. PostgreSQL's default follows the order (`NULLS LAST` ascending,
    /// `NULLS FIRST` descending), so this equals `descending` unless stated otherwise.
    pub nulls_first: bool,
    /// A non-default operator class (`text_pattern_ops`), resolved through the search path.
    /// A gin index's class Serverpod can say stays in [`IndexDefinition::gin_operator_class`].
    pub operator_class: Option<String>,
    /// A collation other than the column's own (`C`).
    pub collation: Option<String>,
}

impl IndexElement {
    /// A plain column element in the default order.
    pub fn column(name: impl Into<String>) -> Self {
        IndexElement::new(IndexElementType::Column, name)
    }

    /// An element of `element_type` in the default order, with default class and collation.
    pub fn new(element_type: IndexElementType, definition: impl Into<String>) -> Self {
        IndexElement {
            element_type,
            definition: definition.into(),
            descending: false,
            nulls_first: false,
            operator_class: None,
            collation: None,
        }
    }

    /// Whether the nulls order is the one PostgreSQL picks for the sort direction anyway.
    pub fn nulls_order_is_default(&self) -> bool {
        self.nulls_first == self.descending
    }

    /// Whether the element says more than its column or expression (order, class, collation).
    pub fn has_options(&self) -> bool {
        self.descending || self.nulls_first || self.operator_class.is_some() || self.collation.is_some()
    }
}

/// One index (never the primary key in v2 files).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexDefinition {
    pub index_name: String,
    pub table_space: Option<String>,
    pub elements: Vec<IndexElement>,
    /// Access method: `btree`, `hash`, `gin`, `gist`, `spgist`, `brin`, `hnsw`, `ivfflat`.
    pub index_type: String,
    pub is_unique: bool,
    pub is_primary: bool,
    /// `None` means the database default (distinct).
    pub nulls_distinct: Option<bool>,
    /// Partial-index predicate; only from introspection.
    pub predicate: Option<String>,
    pub gin_operator_class: Option<GinOperatorClass>,
    pub vector_distance_function: Option<VectorDistanceFunction>,
    pub vector_column_type: Option<ColumnType>,
    /// Index storage parameters in declaration order (`m`, `ef_construction`, `lists`,
    /// `fillfactor`, `fastupdate`, ...).
    pub parameters: Option<Vec<(String, String)>>,
    /// Non-key columns stored in the index (`INCLUDE (...)`); strata's own key.
    pub include: Vec<String>,
}

/// A module and the migration version it is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationVersion {
    pub module: String,
    pub version: String,
    /// Serverpod writes the project's own entry as `DatabaseMigrationVersionModel` and module
    /// entries as `DatabaseMigrationVersion`; kept so files round-trip byte-for-byte. Never
    /// compared.
    pub is_model_class: bool,
}

impl MigrationVersion {
    /// An entry for the project itself (written as `DatabaseMigrationVersionModel`).
    pub fn project(module: impl Into<String>, version: impl Into<String>) -> Self {
        MigrationVersion { module: module.into(), version: version.into(), is_model_class: true }
    }

    /// An entry for a dependency module (written as `DatabaseMigrationVersion`).
    pub fn dependency(module: impl Into<String>, version: impl Into<String>) -> Self {
        MigrationVersion { module: module.into(), version: version.into(), is_model_class: false }
    }
}
