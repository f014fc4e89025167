//! The synthetic PostgreSQL schema the benchmarks read (introspection vs `pg_dump`, live-vs-live
//! diff vs migra), written here once so every benchmark measures the same shape.
//!
//! [`Shape::Base`] has N tables `t0000…` of 15 columns (every generated type, 7 defaults), a
//! unique and a plain btree index, and a foreign key to the previous table (the first points to
//! the last). [`Shape::Changed`] is the same schema as another environment might hold it after
//! some drift, so a diff of the two has realistic work to do; see [`CHANGES`].

/// Which variant of the schema to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The schema as the introspection benchmark has always built it.
    Base,
    /// [`Shape::Base`] with the differences listed in [`CHANGES`].
    Changed,
}

/// What [`Shape::Changed`] differs in, by table number modulo 20 (so 30% of the tables differ,
/// in every kind alike), plus [`NEW_TABLES`] tables the base does not have.
pub const CHANGES: &[(usize, &str)] = &[
    (1, "a nullable column \"note\" text added"),
    (3, "column \"title\" dropped"),
    (5, "column \"score\" integer -> bigint"),
    (7, "an index on (\"kind\", \"score\") added"),
    (9, "a column \"ownerId\" bigint added, with a foreign key to t0000"),
    (11, "the foreign key to the previous table dropped"),
];

/// Tables only [`Shape::Changed`] has (numbered after the base's last table).
pub const NEW_TABLES: usize = 10;

/// The `CREATE` script of `tables` tables in one transaction (run it with `raw_sql` or
/// `psql -1`).
pub fn pg_bench_schema(tables: usize, shape: Shape) -> String {
    let changed = |i: usize, kind: usize| shape == Shape::Changed && i % 20 == kind;
    let total = if shape == Shape::Changed { tables + NEW_TABLES } else { tables };
    let mut sql = String::from("BEGIN;\n");
    for i in 0..total {
        sql.push_str(&create_table(i, changed(i, 1), changed(i, 3), changed(i, 5), changed(i, 9)));
        if changed(i, 7) {
            sql.push_str(&format!(
                "CREATE INDEX \"t{i:04}_kind_score_idx\" ON \"t{i:04}\" USING btree (\"kind\", \"score\");\n"
            ));
        }
    }
    for i in 0..total {
        if changed(i, 11) {
            continue;
        }
        let parent = if i == 0 { total - 1 } else { i - 1 };
        sql.push_str(&foreign_key(i, 0, "parentId", parent));
        if changed(i, 9) {
            sql.push_str(&foreign_key(i, 1, "ownerId", 0));
        }
    }
    sql.push_str("COMMIT;\n");
    sql
}

fn create_table(i: usize, add_note: bool, drop_title: bool, bigint_score: bool, add_owner: bool) -> String {
    let title = if drop_title { "" } else { "  \"title\" text,\n" };
    let score = if bigint_score { "bigint" } else { "integer" };
    let note = if add_note { ",\n  \"note\" text" } else { "" };
    let owner = if add_owner { ",\n  \"ownerId\" bigint" } else { "" };
    format!(
        "CREATE TABLE \"t{i:04}\" (\n  \"id\" bigserial PRIMARY KEY,\n  \"name\" text NOT NULL,\n{title}  \
         \"count\" bigint NOT NULL DEFAULT 0,\n  \"ratio\" double precision,\n  \
         \"active\" boolean NOT NULL DEFAULT true,\n  \"createdAt\" timestamp without time zone NOT NULL DEFAULT CURRENT_TIMESTAMP,\n  \
         \"updatedAt\" timestamp without time zone,\n  \"token\" uuid NOT NULL DEFAULT gen_random_uuid(),\n  \
         \"payload\" json,\n  \"doc\" jsonb NOT NULL DEFAULT '{{}}'::jsonb,\n  \"data\" bytea,\n  \
         \"kind\" text NOT NULL DEFAULT 'a'::text,\n  \"score\" {score},\n  \"parentId\" bigint{note}{owner}\n);\n\
         CREATE UNIQUE INDEX \"t{i:04}_name_idx\" ON \"t{i:04}\" USING btree (\"name\", \"kind\");\n\
         CREATE INDEX \"t{i:04}_created_idx\" ON \"t{i:04}\" USING btree (\"createdAt\");\n"
    )
}

fn foreign_key(i: usize, n: usize, column: &str, parent: usize) -> String {
    format!(
        "ALTER TABLE ONLY \"t{i:04}\" ADD CONSTRAINT \"t{i:04}_fk_{n}\" FOREIGN KEY(\"{column}\") \
         REFERENCES \"t{parent:04}\"(\"id\") ON DELETE CASCADE ON UPDATE NO ACTION;\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_shape_counts() {
        let sql = pg_bench_schema(40, Shape::Base);
        assert_eq!(sql.matches("CREATE TABLE").count(), 40);
        assert_eq!(sql.matches("CREATE UNIQUE INDEX").count(), 40);
        assert_eq!(sql.matches("FOREIGN KEY").count(), 40);
        assert!(!sql.contains("\"note\"") && !sql.contains("ownerId") && !sql.contains("kind_score"));
    }

    #[test]
    fn changed_shape_has_every_listed_difference() {
        let sql = pg_bench_schema(40, Shape::Changed);
        assert_eq!(sql.matches("CREATE TABLE").count(), 40 + NEW_TABLES);
        // Tables 1 and 21 (and new table 41) gain "note"; 3, 23 and 43 lose "title".
        assert_eq!(sql.matches("\"note\" text").count(), 3);
        assert_eq!(sql.matches("\"title\" text").count(), 50 - 3);
        assert_eq!(sql.matches("\"score\" bigint").count(), 3);
        assert_eq!(sql.matches("_kind_score_idx").count(), 3);
        assert_eq!(sql.matches("FOREIGN KEY(\"ownerId\")").count(), 3);
        // 50 tables; 11 and 31 lose their parent key (51 is past the end).
        assert_eq!(sql.matches("FOREIGN KEY(\"parentId\")").count(), 50 - 2);
        assert!(!sql.contains("ALTER TABLE ONLY \"t0011\""));
    }
}
