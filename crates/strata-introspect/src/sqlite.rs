//! SQLite introspection (in progress).
use crate::{IntrospectError, IntrospectOptions, Introspection};
use sqlx::SqliteConnection;

/// Reads the live schema of a SQLite database.
pub async fn introspect_sqlite(
    _conn: &mut SqliteConnection,
    _opts: &IntrospectOptions,
) -> Result<Introspection, IntrospectError> {
    Err(IntrospectError::InvalidOptions("todo".into()))
}
