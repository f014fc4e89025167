//! Live-data preflight: how many rows a change would lose, counted read-only before it runs.

use std::time::Duration;

use crate::{quote_ident, ConnectionTarget, DbError, Driver};

/// For each (table, column): the rows of `table` (column None), or the rows whose `column` holds
/// a value. One `count(*)` per object, on a read-only connection; an empty list opens none.
pub async fn count_rows(
    target: &ConnectionTarget,
    objects: &[(String, Option<String>)],
) -> Result<Vec<i64>, DbError> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let sql: Vec<String> = objects
        .iter()
        .map(|(t, c)| match c {
            Some(c) => {
                format!("SELECT count(*) FROM {} WHERE {} IS NOT NULL", quote_ident(t), quote_ident(c))
            }
            None => format!("SELECT count(*) FROM {}", quote_ident(t)),
        })
        .collect();
    let err =
        |i: usize, e: sqlx::Error| target.sql_error(format!("counting the rows of \"{}\"", objects[i].0), &e);
    let mut counts = Vec::with_capacity(sql.len());
    match target.driver() {
        Driver::Postgres => {
            let mut c = target.connect_postgres("strata preflight").await?;
            for (i, q) in sql.iter().enumerate() {
                counts.push(sqlx::query_scalar::<_, i64>(q).fetch_one(&mut c).await.map_err(|e| err(i, e))?);
            }
        }
        Driver::Sqlite => {
            let mut c = target.connect_sqlite_with(Duration::from_secs(5), true).await?;
            for (i, q) in sql.iter().enumerate() {
                counts.push(sqlx::query_scalar::<_, i64>(q).fetch_one(&mut c).await.map_err(|e| err(i, e))?);
            }
        }
        Driver::Mysql => {
            return Err(DbError::NotSupported {
                driver: "mysql",
                what: "counting the rows a change would lose".into(),
                instead: "count them by hand before you pass --force".into(),
            })
        }
    }
    Ok(counts)
}
