//! The introspection seam: one trait per driver, implemented for the driver's sqlx connection (as
//! sqlx's `Migrate` is), so callers read a live schema without knowing which database it is.
//!
//! Adding a dialect here is one `impl Introspector for <Connection>`; the callers (drift, repair,
//! fingerprint, the CLI's inspect/diff/repair) only see [`Introspection`] and this trait.

use std::future::Future;
use std::pin::Pin;

use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;

use crate::{IntrospectError, IntrospectOptions, Introspection};

/// What [`Introspector::introspect`] returns: boxed, so that the trait stays usable as
/// `dyn Introspector` (the CLI picks the driver at run time).
pub type IntrospectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Introspection, IntrospectError>> + Send + 'a>>;

/// A live database whose schema can be read into strata's model.
pub trait Introspector: Send {
    /// The dialect that writes SQL for this database (`inspect --format sql`, repair files).
    fn dialect(&self) -> &'static dyn strata_sql::Dialect;

    /// The names of the catalog queries [`Introspector::introspect`] may run, in order. Their
    /// number is the bound on its cost: one query per object kind, never one per table.
    fn queries(&self) -> &'static [&'static str];

    /// Reads the live schema, with a warning for everything the model cannot express.
    fn introspect<'a>(&'a mut self, opts: &'a IntrospectOptions) -> IntrospectFuture<'a>;

    /// A statement that makes the unqualified names of a repair file resolve in `schema`, for
    /// databases where a connection sees several schemas; `None` where the connection's own
    /// database is the only scope.
    fn schema_scope_sql(&self, schema: &str) -> Option<String>;
}

impl Introspector for PgConnection {
    fn dialect(&self) -> &'static dyn strata_sql::Dialect {
        &strata_sql::Postgres
    }

    fn queries(&self) -> &'static [&'static str] {
        crate::postgres::QUERIES
    }

    fn introspect<'a>(&'a mut self, opts: &'a IntrospectOptions) -> IntrospectFuture<'a> {
        Box::pin(crate::postgres::introspect_postgres(self, opts))
    }

    fn schema_scope_sql(&self, schema: &str) -> Option<String> {
        Some(crate::postgres::search_path_sql(schema))
    }
}

impl Introspector for SqliteConnection {
    fn dialect(&self) -> &'static dyn strata_sql::Dialect {
        &strata_sql::Sqlite
    }

    fn queries(&self) -> &'static [&'static str] {
        crate::sqlite::QUERIES
    }

    fn introspect<'a>(&'a mut self, opts: &'a IntrospectOptions) -> IntrospectFuture<'a> {
        Box::pin(crate::sqlite::introspect_sqlite(self, opts))
    }

    fn schema_scope_sql(&self, _schema: &str) -> Option<String> {
        None
    }
}

impl Introspector for MySqlConnection {
    fn dialect(&self) -> &'static dyn strata_sql::Dialect {
        &strata_sql::Mysql
    }

    fn queries(&self) -> &'static [&'static str] {
        crate::mysql::QUERIES
    }

    fn introspect<'a>(&'a mut self, opts: &'a IntrospectOptions) -> IntrospectFuture<'a> {
        Box::pin(crate::mysql::introspect_mysql(self, opts))
    }

    fn schema_scope_sql(&self, _schema: &str) -> Option<String> {
        None
    }
}

/// Reads two databases at the same time (`diff --from db:A --to db:B`): the wall time is that
/// of the slower one instead of the sum. Fails with the first error either side reports.
pub async fn introspect_both(
    a: &mut dyn Introspector,
    a_opts: &IntrospectOptions,
    b: &mut dyn Introspector,
    b_opts: &IntrospectOptions,
) -> Result<(Introspection, Introspection), IntrospectError> {
    tokio::try_join!(a.introspect(a_opts), b.introspect(b_opts))
}
