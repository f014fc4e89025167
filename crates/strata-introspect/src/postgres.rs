//! PostgreSQL introspection: one catalog query per object kind, never one per table.
//!
//! All queries filter to the configured schemas (bound as a `text[]`), skip objects owned by
//! extensions (`pg_depend.deptype = 'e'`, e.g. PostGIS's `spatial_ref_sys`) and run inside one
//! `REPEATABLE READ READ ONLY` transaction, so the result is a consistent snapshot even while
//! migrations run elsewhere. Rows are mapped as they arrive ([`for_each_row`]), so decoding one
//! query's rows overlaps the server's work on them; index elements come one row each
//! ([`crate::pg_indexes`]), never one query per index.

use std::collections::HashMap;

use futures_util::TryStreamExt as _;

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Connection, Postgres, Row};
use strata_schema::defaults::pg_sql_to_abstract_default;
use strata_schema::{
    default_primary_key_name, CheckConstraint, ColumnDefinition, ColumnType, Deferrable, ExclusionConstraint,
    ForeignKeyDefinition, Identity, IdentityOptions, KeyConstraint, MigrationVersion, TableDefinition,
    TableKeys, TableLayout,
};
use strata_sql::Dialect as _;

use crate::pg_indexes;
use crate::pg_present::{self, Kind, Present};
use crate::pg_types::{fk_action, fk_deferrable, fk_match_type, map_column_type, native_type};
use crate::pg_user_types;
use crate::warning::unwritable_index;
use crate::{
    quote_ident, IntrospectError, IntrospectOptions, IntrospectWarning, Introspection, WarningKind,
    MIGRATIONS_TABLE,
};

/// The catalog queries introspection runs, in order. Their number does not depend on the
/// database's size; the last one runs only when `serverpod_migrations` exists.
pub const QUERIES: &[&str] = &[
    "server",
    "tables",
    "columns",
    "indexes",
    "foreign keys",
    "unrepresentable objects",
    crate::pg_user_types::TYPES_QUERY,
    crate::pg_user_types::DEPENDENCIES_QUERY,
    crate::pg_objects::QUERY,
    "installed versions",
];

pub use crate::ANALYZER_MODULE;

/// Also turns JIT off for the transaction: the catalog queries' cost estimates exceed
/// `jit_above_cost`, and compiling them takes longer (~180 ms) than running them. The user
/// schemas come along (a handful of rows of `pg_namespace`), so that `--schema '*'` and the
/// list of schemas a diff creates or drops cost no query of their own.
fn sql_server() -> String {
    format!(
        "SELECT current_database()::text AS db, current_setting('server_version_num')::int4 AS version, \
                set_config('jit', 'off', true) AS jit, \
                ARRAY(SELECT n.nspname::text FROM pg_catalog.pg_namespace n WHERE {USER_SCHEMA} \
                      ORDER BY 1) AS user_schemas, {present}",
        present = pg_present::sql_columns()
    )
}

/// Filters a `pg_namespace n` to the user's schemas: not the server's own (catalog, information
/// schema, toast and temporary schemas) and not created by an extension.
const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') \
     AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%' \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e \
         WHERE e.classid = 'pg_catalog.pg_namespace'::regclass AND e.objid = n.oid AND e.deptype = 'e')";

/// Filters a `pg_class c` to objects not created by an extension.
const NOT_EXTENSION_OWNED: &str = "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
     WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')";

/// The primary key's columns come as `attnum`s, named from the columns query
/// ([`name_primary_keys`]): a name lookup per key column here was a third of this query.
fn sql_tables() -> String {
    format!(
        "SELECT c.oid::int8 AS oid, n.nspname::text AS schema_name, c.relname::text AS table_name, \
                c.relpersistence::text AS persistence, c.relnatts::int4 AS column_slots, \
                c.relispartition AS is_partition, c.relrowsecurity AS rls, c.relforcerowsecurity AS force_rls, ts.spcname::text AS tablespace, \
                ARRAY(SELECT p.relname::text FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
                      WHERE i.inhrelid = c.oid AND NOT c.relispartition ORDER BY i.inhseqno) AS inherits, \
                EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
                        WHERE i.inhrelid = c.oid AND p.relnamespace <> c.relnamespace) AS parent_elsewhere, \
                pk.pk_attnums, pk.pk_name, pk.pk_deferrable, pk.pk_deferred, \
                (SELECT p.relname::text FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class p ON p.oid = i.inhparent \
                  WHERE i.inhrelid = c.oid AND c.relispartition) AS partition_of, \
                CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key, \
                pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS partition_bound \
         FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN LATERAL (SELECT con.conname::text AS pk_name, con.condeferrable AS pk_deferrable, \
                  con.condeferred AS pk_deferred, \
                  con.conkey AS pk_attnums \
                FROM pg_catalog.pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'p') pk ON true \
         LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = c.reltablespace \
         WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND {NOT_EXTENSION_OWNED} \
         ORDER BY n.nspname, c.relname"
    )
}

/// `owned_sequence` is the sequence a default uses when the column owns it (`serial`): only
/// then is a `nextval` default the abstract `serial` (see [`column_default`]).
/// Defaults are deparsed without a relation (`pg_get_expr(adbin, 0)`): a default cannot refer
/// to a column, and naming the relation costs a relation lookup per column (90 % of this
/// query's time on a 1,000-table schema). Generated columns do refer to columns.
/// The inner query is fenced (`OFFSET 0`) so that each default is deparsed once and the
/// owned-sequence lookup (two `pg_depend` probes) runs only for `nextval` defaults, not for
/// every default (a fifth of this query's time on the 1,000-table benchmark). A default's
/// reference to its sequence is a normal dependency; its automatic one is on its own column.
/// `identity_sequence` is an identity column's sequence: start, increment, minimum, maximum,
/// cache, cycle (0 or 1) and the largest value of its type, for [`IdentityOptions::of_sequence`].
const SQL_COLUMNS: &str = "SELECT x.*, CASE WHEN x.default_expr LIKE 'nextval(%' \
        THEN (SELECT s.relname::text FROM pg_catalog.pg_depend dd \
             JOIN pg_catalog.pg_depend od ON od.classid = 'pg_catalog.pg_class'::regclass AND od.objid = dd.refobjid \
                  AND od.refclassid = 'pg_catalog.pg_class'::regclass AND od.refobjid = x.table_oid::oid \
                  AND od.refobjsubid = x.attnum AND od.deptype = 'a' \
             JOIN pg_catalog.pg_class s ON s.oid = dd.refobjid AND s.relkind = 'S' \
             WHERE dd.classid = 'pg_catalog.pg_attrdef'::regclass AND dd.objid = x.default_oid \
               AND dd.refclassid = 'pg_catalog.pg_class'::regclass AND dd.deptype = 'n' LIMIT 1) \
        END AS owned_sequence \
     FROM (SELECT a.attrelid::int8 AS table_oid, a.attnum, ad.oid AS default_oid, a.attname::text AS name, \
        pg_catalog.format_type(a.atttypid, a.atttypmod) AS sql_type, t.typname::text AS type_name, \
        a.atttypid::int8 AS type_oid, \
        a.atttypmod::int4 AS typmod, a.attnotnull AS not_null, \
        CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(ad.adbin, 0) \
             ELSE pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) END AS default_expr, \
        a.attgenerated::text AS generated, a.attidentity::text AS identity, \
        CASE WHEN a.attidentity <> '' THEN (SELECT ARRAY[s.seqstart, s.seqincrement, s.seqmin, s.seqmax, \
                  s.seqcache, s.seqcycle::int4, CASE s.seqtypid WHEN 'pg_catalog.int2'::regtype THEN 32767 \
                  WHEN 'pg_catalog.int4'::regtype THEN 2147483647 ELSE 9223372036854775807 END]::int8[] \
             FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_sequence s ON s.seqrelid = d.objid \
             WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = a.attrelid \
               AND d.refobjsubid = a.attnum AND d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'i' \
             LIMIT 1) END AS identity_sequence, \
        (a.attinhcount > 0 AND NOT a.attislocal) AS inherited, \
        CASE WHEN a.attcollation <> t.typcollation \
             THEN (SELECT co.collname::text FROM pg_catalog.pg_collation co WHERE co.oid = a.attcollation) \
        END AS collation \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
     LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
     WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped \
     OFFSET 0) x";

/// Foreign keys declared in the configured schemas, plus those declared elsewhere that
/// reference a table inside them (reported, because a `DROP TABLE ... CASCADE` would remove
/// them). Child constraints of partitions (`conparentid <> 0`) are implied by their parent.
/// Key column names are looked up one by one on `(attrelid, attnum)`, like the primary key's in
/// the tables query: a join there reads every column of the table per key (2.5x the buffers).
const SQL_FOREIGN_KEYS: &str = "SELECT con.conrelid::int8 AS table_oid, n.nspname::text AS schema_name, \
        c.relname::text AS table_name, con.conname::text AS name, \
        ARRAY(SELECT (SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                      WHERE a.attrelid = con.conrelid AND a.attnum = k.attnum) \
              FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) ORDER BY k.ord) AS columns, \
        rn.nspname::text AS ref_schema, rc.relname::text AS ref_table, \
        ARRAY(SELECT (SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                      WHERE a.attrelid = con.confrelid AND a.attnum = k.attnum) \
              FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord) ORDER BY k.ord) AS ref_columns, \
        con.confupdtype::text AS on_update, con.confdeltype::text AS on_delete, \
        con.confmatchtype::text AS match_type, con.condeferrable AS is_deferrable, \
        con.condeferred AS is_deferred, con.convalidated AS is_validated, \
        (n.nspname = ANY($1)) AS in_scope \
     FROM pg_catalog.pg_constraint con \
     JOIN pg_catalog.pg_class c ON c.oid = con.conrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
     JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
     WHERE con.contype = 'f' AND con.conparentid = 0 AND (n.nspname = ANY($1) OR rn.nspname = ANY($1)) \
     ORDER BY n.nspname, c.relname, con.conname";

/// Every kind of object strata does not model, in one `UNION ALL`: constraints other than
/// primary and foreign keys, triggers, views, sequences not owned by a column, foreign tables,
/// user types, functions, policies, rules and extended statistics. Check and exclusion
/// constraints are also read into their tables from here (`read_table_constraint`), with their
/// definition as `pg_get_constraintdef` prints it for dumps (not pretty-printed: that form is
/// the one meant to be read back); an inherited check is `inherited_check`, its parent's to
/// declare. `deps` holds the oids of
/// the tables each object is attached to or depends on; for types it holds the type's own oid,
/// resolved to the tables using it from the columns already read (`pg_attribute` has no index
/// on the type, so asking the server would scan it once per type).
fn sql_unrepresentable(present: &Present) -> String {
    let sql = format!(
        "SELECT kind, table_oid, schema_name, name, detail, deps FROM ( \
           SELECT CASE con.contype WHEN 'u' THEN 'unique' WHEN 'x' THEN 'exclusion' \
                                   ELSE CASE WHEN con.conislocal THEN 'check' ELSE 'inherited_check' END END AS kind, \
                  con.conrelid::int8 AS table_oid, n.nspname::text AS schema_name, con.conname::text AS name, \
                  pg_catalog.pg_get_constraintdef(con.oid, con.contype = 'u') AS detail, \
                  ARRAY[con.conrelid::int8] AS deps \
           FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_namespace n ON n.oid = con.connamespace \
           WHERE con.contype IN ('c', 'u', 'x') AND con.conrelid <> 0 AND con.conparentid = 0 AND n.nspname = ANY($1) \
         UNION ALL \
           SELECT 'trigger', t.tgrelid::int8, n.nspname::text, t.tgname::text, \
                  pg_catalog.pg_get_triggerdef(t.oid, true), ARRAY[t.tgrelid::int8] \
           FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND n.nspname = ANY($1) \
         UNION ALL \
           SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view' \
                                 WHEN 'S' THEN 'sequence' ELSE 'foreign_table' END, \
                  NULL::int8, n.nspname::text, c.relname::text, \
                  CASE c.relkind \
                    WHEN 'S' THEN (SELECT format('%s START %s INCREMENT %s MINVALUE %s MAXVALUE %s CACHE %s%s', \
                                          pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, \
                                          s.seqmin, s.seqmax, s.seqcache, \
                                          CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END) \
                                   FROM pg_catalog.pg_sequence s WHERE s.seqrelid = c.oid) \
                    WHEN 'f' THEN NULL \
                    ELSE 'AS ' || regexp_replace(btrim(pg_catalog.pg_get_viewdef(c.oid, true)), '\\s+', ' ', 'g') END, \
                  ARRAY(SELECT DISTINCT d.refobjid::int8 FROM pg_catalog.pg_rewrite r \
                        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid \
                        WHERE r.ev_class = c.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass \
                          AND d.refobjid <> c.oid) \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE c.relkind IN ('v', 'm', 'S', 'f') AND n.nspname = ANY($1) AND {NOT_EXTENSION_OWNED} \
             AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                 WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid \
                   AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjsubid > 0 \
                   AND d.deptype IN ('a', 'i'))) \
         UNION ALL \
           SELECT CASE t.typtype WHEN 'c' THEN 'composite' ELSE 'range' END, \
                  NULL::int8, n.nspname::text, t.typname::text, NULL::text, ARRAY[t.oid::int8] \
           FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
           WHERE t.typtype IN ('c', 'r') AND n.nspname = ANY($1) \
             AND (t.typtype <> 'c' OR EXISTS (SELECT 1 FROM pg_catalog.pg_class tc \
                                              WHERE tc.oid = t.typrelid AND tc.relkind = 'c')) \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                 WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') \
         UNION ALL \
           SELECT 'function', NULL::int8, n.nspname::text, p.proname::text, \
                  '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' \
                  || COALESCE(' RETURNS ' || pg_catalog.pg_get_function_result(p.oid), '') \
                  || ' LANGUAGE ' || (SELECT l.lanname FROM pg_catalog.pg_language l WHERE l.oid = p.prolang) \
                  || CASE p.provolatile WHEN 'i' THEN ' IMMUTABLE' WHEN 's' THEN ' STABLE' ELSE '' END \
                  || CASE WHEN p.proisstrict THEN ' STRICT' ELSE '' END \
                  || CASE WHEN p.prosecdef THEN ' SECURITY DEFINER' ELSE '' END \
                  || ', definition md5 ' || left(md5(CASE WHEN p.prokind = 'a' THEN p.prosrc \
                                                       ELSE pg_catalog.pg_get_functiondef(p.oid) END), 12), \
                  '{{}}'::int8[] \
           FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
           WHERE n.nspname = ANY($1) \
             AND NOT (p.proname = 'gen_random_uuid_v7' AND p.pronargs = 0) \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                 WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') \
         UNION ALL \
           SELECT 'policy', pol.polrelid::int8, n.nspname::text, pol.polname::text, \
                  format('%s FOR %s TO %s%s%s', \
                         CASE WHEN pol.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, \
                         CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' \
                                         WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, \
                         (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_catalog.pg_get_userbyid(r)) END, \
                                            ', ' ORDER BY 1) FROM unnest(pol.polroles) r), \
                         ' USING (' || pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) || ')', \
                         ' WITH CHECK (' || pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) || ')'), \
                  ARRAY[pol.polrelid::int8] \
           FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1) \
         UNION ALL \
           SELECT 'rule', r.ev_class::int8, n.nspname::text, r.rulename::text, \
                  regexp_replace(btrim(pg_catalog.pg_get_ruledef(r.oid, true)), '\\s+', ' ', 'g'), ARRAY[r.ev_class::int8] \
           FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class \
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE c.relkind IN ('r', 'p') AND r.rulename <> '_RETURN' AND n.nspname = ANY($1) \
         UNION ALL \
           SELECT 'statistics', s.stxrelid::int8, n.nspname::text, s.stxname::text, \
                  pg_catalog.pg_get_statisticsobjdef(s.oid), \
                  ARRAY[s.stxrelid::int8] \
           FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace \
           WHERE n.nspname = ANY($1) \
         UNION ALL \
           SELECT 'matview_index', NULL::int8, n.nspname::text, ic.relname::text, \
                  pg_catalog.pg_get_indexdef(i.indexrelid), ARRAY[c.oid::int8] \
           FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
           JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE c.relkind = 'm' AND n.nspname = ANY($1) \
         UNION ALL \
           SELECT 'comment', NULL::int8, \
                  COALESCE(o.schema, CASE WHEN o.type = 'schema' THEN o.identity END)::text, \
                  o.type || ' ' || o.identity, quote_literal(d.description), \
                  CASE WHEN d.classoid = 'pg_catalog.pg_class'::regclass THEN ARRAY[d.objoid::int8] \
                       ELSE '{{}}'::int8[] END \
           FROM pg_catalog.pg_description d, \
                LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) o \
           WHERE (d.objoid >= 16384 OR d.classoid = 'pg_catalog.pg_namespace'::regclass) \
             AND COALESCE(o.schema, CASE WHEN o.type = 'schema' THEN o.identity END) = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classoid \
                             AND e.objid = d.objoid AND e.deptype = 'e') \
             AND NOT (o.type = 'schema' AND o.identity = 'public' AND d.description = 'standard public schema') \
         UNION ALL \
           SELECT 'grant', NULL::int8, n.nspname::text, \
                  CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' \
                                 ELSE 'table ' END || c.relname, \
                  array_to_string(ARRAY(SELECT a::text FROM unnest(c.relacl) a ORDER BY 1), ', '), ARRAY[c.oid::int8] \
           FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
           WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname = ANY($1) \
             AND {NOT_EXTENSION_OWNED} \
         UNION ALL \
           SELECT 'grant', NULL::int8, n.nspname::text, \
                  'function ' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', \
                  array_to_string(ARRAY(SELECT a::text FROM unnest(p.proacl) a ORDER BY 1), ', '), '{{}}'::int8[] \
           FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
           WHERE p.proacl IS NOT NULL AND n.nspname = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                 WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') \
         UNION ALL \
           SELECT 'grant', NULL::int8, n.nspname::text, 'type ' || t.typname, \
                  array_to_string(ARRAY(SELECT a::text FROM unnest(t.typacl) a ORDER BY 1), ', '), '{{}}'::int8[] \
           FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
           WHERE t.typacl IS NOT NULL AND n.nspname = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                 WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') \
         UNION ALL \
           SELECT 'grant', NULL::int8, n.nspname::text, 'schema ' || n.nspname, \
                  array_to_string(ARRAY(SELECT a::text FROM unnest(n.nspacl) a ORDER BY 1), ', '), '{{}}'::int8[] \
           FROM pg_catalog.pg_namespace n WHERE n.nspacl IS NOT NULL AND n.nspname = ANY($1) \
             AND NOT (n.nspname = 'public' AND n.nspacl::text IN ( \
                   '{{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}}', \
                   format('{{%1$s=UC/%1$s,=UC/%1$s}}', pg_catalog.pg_get_userbyid(n.nspowner)))) \
         UNION ALL \
           SELECT 'grant', NULL::int8, COALESCE(n.nspname, ''), \
                  'default privileges of ' || pg_catalog.pg_get_userbyid(da.defaclrole) || ' on ' \
                  || CASE da.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions' \
                                           WHEN 'T' THEN 'types' ELSE 'schemas' END, \
                  array_to_string(ARRAY(SELECT a::text FROM unnest(da.defaclacl) a ORDER BY 1), ', '), '{{}}'::int8[] \
           FROM pg_catalog.pg_default_acl da LEFT JOIN pg_catalog.pg_namespace n ON n.oid = da.defaclnamespace \
           WHERE da.defaclnamespace = 0 OR n.nspname = ANY($1) \
         UNION ALL \
           SELECT 'collation', NULL::int8, n.nspname::text, co.collname::text, \
                  format('provider %s, locale %s%s', CASE co.collprovider WHEN 'i' THEN 'icu' WHEN 'c' THEN 'libc' \
                                                      WHEN 'b' THEN 'builtin' ELSE 'default' END, \
                         COALESCE(to_jsonb(co) ->> 'colllocale', to_jsonb(co) ->> 'colliculocale', co.collcollate), \
                         CASE WHEN co.collisdeterministic THEN '' ELSE ', nondeterministic' END), '{{}}'::int8[] \
           FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace \
           WHERE n.nspname = ANY($1) \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_collation'::regclass \
                             AND e.objid = co.oid AND e.deptype = 'e') \
         UNION ALL \
           SELECT 'extension', NULL::int8, n.nspname::text, x.extname::text, 'version ' || x.extversion, '{{}}'::int8[] \
           FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace \
           WHERE n.nspname <> 'pg_catalog' AND x.extname NOT IN ('postgis', 'vector') \
         UNION ALL \
           SELECT 'schema', NULL::int8, n.nspname::text, n.nspname::text, \
                  format('not read (%s relations, %s functions, %s types; contents md5 %s)', \
                    (SELECT count(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid), \
                    (SELECT count(*) FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid), \
                    (SELECT count(*) FROM pg_catalog.pg_type t WHERE t.typnamespace = n.oid AND t.typtype <> 'b' \
                       AND t.typrelid = 0), \
                    left(md5(COALESCE((SELECT string_agg(c.relname || ':' || c.relkind::text || '(' || COALESCE( \
                        (SELECT string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) \
                                           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ',' ORDER BY a.attnum) \
                         FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 \
                           AND NOT a.attisdropped), '') || ')', ';' ORDER BY c.relname) \
                      FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid), '') \
                      || COALESCE((SELECT string_agg(p.proname || '(' \
                                     || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')' || p.prosrc, ';' \
                                     ORDER BY p.proname, p.oid::regprocedure::text) \
                                   FROM pg_catalog.pg_proc p WHERE p.pronamespace = n.oid), '')), 12)), \
                  '{{}}'::int8[] \
           FROM pg_catalog.pg_namespace n \
           WHERE NOT n.nspname = ANY($1) AND {USER_SCHEMA} \
         ) x ORDER BY schema_name, name, kind"
    );
    pg_present::prune(&sql, UNREPRESENTABLE_GUARDS, present)
}

/// The branches of [`sql_unrepresentable`] that only an optional kind of object fills.
const UNREPRESENTABLE_GUARDS: &[(&str, Kind)] = &[
    ("SELECT 'trigger'", Kind::Triggers),
    ("SELECT 'function'", Kind::Functions),
    ("SELECT 'policy'", Kind::Policies),
    ("SELECT 'rule'", Kind::Rules),
    ("SELECT 'statistics'", Kind::Statistics),
    ("SELECT 'matview_index'", Kind::MatViews),
    ("SELECT 'comment'", Kind::Comments),
    ("SELECT 'grant', NULL::int8, n.nspname::text, 'function '", Kind::Functions),
    ("SELECT 'grant', NULL::int8, COALESCE(n.nspname, ''), 'default privileges", Kind::DefaultAcls),
    ("SELECT 'collation'", Kind::Collations),
    ("SELECT 'extension'", Kind::Extensions),
];

/// `SET LOCAL search_path` to `schema` (then `public`, where extensions' functions live): strata's
/// SQL never qualifies names, so a repair file pins the schema it was computed from.
pub fn search_path_sql(schema: &str) -> String {
    let path =
        if schema == "public" { quote_ident(schema) } else { format!("{}, \"public\"", quote_ident(schema)) };
    format!("SET LOCAL search_path TO {path};")
}

/// Reads the live schema of the configured schemas.
///
/// Opens its own `REPEATABLE READ READ ONLY` transaction unless `conn` is already inside one
/// (then it reads within the caller's snapshot, leaves the transaction open, and `jit` stays
/// off for the rest of that transaction).
pub async fn introspect_postgres(
    conn: &mut PgConnection,
    opts: &IntrospectOptions,
) -> Result<Introspection, IntrospectError> {
    if opts.schemas.is_empty() {
        return Err(IntrospectError::InvalidOptions("at least one schema is needed".into()));
    }
    if conn.is_in_transaction() {
        return read(conn, opts).await;
    }
    let mut tx = conn
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(IntrospectError::Snapshot)?;
    let result = read(&mut tx, opts).await;
    // Read-only: nothing to keep, and rolling back also ends an aborted transaction.
    tx.rollback().await.map_err(IntrospectError::Snapshot)?;
    result
}

fn get<'r, T>(row: &'r PgRow, column: &str, query: &'static str) -> Result<T, IntrospectError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(|source| IntrospectError::Query { query, source })
}

/// [`get`] by position ([`ColumnFields`]), the type checked once per query by [`position`]
/// rather than per value (a tenth of decoding 15,000 column rows).
fn get_at<'r, T>(row: &'r PgRow, position: usize, query: &'static str) -> Result<T, IntrospectError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get_unchecked(position).map_err(|source| IntrospectError::Query { query, source })
}

/// Where each field of the columns query is in its rows, looked up by name once for all rows:
/// by name, the lookups were half of decoding a 1,000-table schema's 15,000 column rows.
struct ColumnFields {
    table_oid: usize,
    attnum: usize,
    type_oid: usize,
    inherited: usize,
    name: usize,
    sql_type: usize,
    type_name: usize,
    typmod: usize,
    default_expr: usize,
    generated: usize,
    identity: usize,
    identity_sequence: usize,
    collation: usize,
    owned_sequence: usize,
    not_null: usize,
}

impl ColumnFields {
    /// The positions in `row` (any row of the query: they all share one description), each
    /// field's SQL type checked once against the Rust type it is decoded into.
    fn of(row: &PgRow) -> Result<ColumnFields, IntrospectError> {
        Ok(ColumnFields {
            table_oid: position::<i64>(row, "table_oid")?,
            attnum: position::<i16>(row, "attnum")?,
            type_oid: position::<i64>(row, "type_oid")?,
            inherited: position::<bool>(row, "inherited")?,
            name: position::<String>(row, "name")?,
            sql_type: position::<String>(row, "sql_type")?,
            type_name: position::<String>(row, "type_name")?,
            typmod: position::<i32>(row, "typmod")?,
            default_expr: position::<String>(row, "default_expr")?,
            generated: position::<String>(row, "generated")?,
            identity: position::<String>(row, "identity")?,
            identity_sequence: position::<Option<Vec<i64>>>(row, "identity_sequence")?,
            collation: position::<String>(row, "collation")?,
            owned_sequence: position::<String>(row, "owned_sequence")?,
            not_null: position::<bool>(row, "not_null")?,
        })
    }
}

/// Where the columns query's field `name` is, once its SQL type is known to decode as `T`
/// (which [`get_at`] then no longer checks per value).
fn position<T: sqlx::Type<Postgres>>(row: &PgRow, name: &str) -> Result<usize, IntrospectError> {
    let error = |source| IntrospectError::Query { query: QUERIES[2], source };
    let column = row.try_column(name).map_err(error)?;
    let found = sqlx::Column::type_info(column);
    if !T::compatible(found) {
        let message = format!(
            "field \"{name}\" is {}, not the {} strata reads",
            sqlx::TypeInfo::name(found),
            sqlx::TypeInfo::name(&T::type_info())
        );
        return Err(error(sqlx::Error::Protocol(message)));
    }
    Ok(sqlx::Column::ordinal(column))
}

async fn fetch(
    conn: &mut PgConnection,
    query: &'static str,
    sql: &str,
    schemas: &[String],
) -> Result<Vec<PgRow>, IntrospectError> {
    sqlx::query(sql)
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(|source| IntrospectError::Query { query, source })
}

/// Runs one catalog query and hands each row to `each` as it arrives, so that decoding overlaps
/// the server's work and no query's rows are held all at once.
async fn for_each_row(
    conn: &mut PgConnection,
    query: &'static str,
    sql: &str,
    schemas: &[String],
    mut each: impl FnMut(&PgRow) -> Result<(), IntrospectError>,
) -> Result<(), IntrospectError> {
    let mut rows = sqlx::query(sql).bind(schemas).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await.map_err(|source| IntrospectError::Query { query, source })? {
        each(&row)?;
    }
    Ok(())
}

/// A table under construction, with what the later queries need to know about it.
struct LiveTable {
    def: TableDefinition,
    schema: String,
    pk_columns: Option<Vec<String>>,
    /// The primary key until [`name_primary_keys`] names its columns.
    pending_key: Option<PendingKey>,
    /// Each column's `attnum`, beside `def.columns`.
    attnums: Vec<i16>,
}

/// The tables read so far, addressable by oid.
struct Tables {
    list: Vec<LiveTable>,
    by_oid: HashMap<i64, usize>,
}

impl Tables {
    fn get_mut(&mut self, oid: i64) -> Option<&mut LiveTable> {
        self.by_oid.get(&oid).map(|&i| &mut self.list[i])
    }

    /// Every table's (schema, name) by oid.
    fn names(&self) -> HashMap<i64, (String, String)> {
        self.by_oid
            .iter()
            .map(|(oid, &i)| (*oid, (self.list[i].schema.clone(), self.list[i].def.name.clone())))
            .collect()
    }

    fn name(&self, oid: i64) -> Option<&str> {
        self.by_oid.get(&oid).map(|&i| self.list[i].def.name.as_str())
    }

    /// Whether the table read the unique constraint `name` into its definition.
    fn has_unique(&self, oid: i64, name: &str) -> bool {
        self.by_oid.get(&oid).is_some_and(|&i| self.list[i].def.keys.unique(name).is_some())
    }
}

/// What the catalog queries have read so far, table by table.
struct Reading {
    tables: Tables,
    warnings: Vec<IntrospectWarning>,
    query_count: usize,
}

impl Reading {
    async fn fetch(
        &mut self,
        conn: &mut PgConnection,
        query: &'static str,
        sql: &str,
        schemas: &[String],
    ) -> Result<Vec<PgRow>, IntrospectError> {
        self.query_count += 1;
        fetch(conn, query, sql, schemas).await
    }
}

async fn read(conn: &mut PgConnection, opts: &IntrospectOptions) -> Result<Introspection, IntrospectError> {
    let Server { database, version, user_schemas, present, commented_schemas } = read_server(conn).await?;
    let schemas = &resolve_schemas(&opts.schemas, &user_schemas)[..];
    let present = Present::new(&present, &commented_schemas, schemas);
    let mut r = Reading {
        tables: Tables { list: Vec::new(), by_oid: HashMap::new() },
        warnings: Vec::new(),
        query_count: 1,
    };
    r.query_count += 1;
    for_each_row(conn, QUERIES[1], &sql_tables(), schemas, |row| read_table(row, &mut r)).await?;
    let type_users = read_columns(conn, schemas, &mut r).await?;
    read_indexes(conn, version, schemas, &mut r).await?;
    r.query_count += 1;
    for_each_row(conn, QUERIES[4], SQL_FOREIGN_KEYS, schemas, |row| read_foreign_key(row, &mut r)).await?;
    let rows = r.fetch(conn, QUERIES[5], &sql_unrepresentable(&present), schemas).await?;
    for row in &rows {
        read_table_constraint(row, &mut r.tables)?;
        if let Some(w) = map_unrepresentable(row, &r.tables, &type_users)? {
            r.warnings.push(w);
        }
    }
    for t in &mut r.tables.list {
        // In name order as Rust sorts names, whatever the database's collation.
        t.def.keys.checks.sort_by(|a, b| a.name.cmp(&b.name));
        t.def.keys.exclusions.sort_by(|a, b| a.name.cmp(&b.name));
        // Serverpod's rule would make `id` the key: say there is none.
        t.def.keys.without_primary_key = t.pk_columns.is_none() && t.def.column("id").is_some();
    }
    let rows = r.fetch(conn, QUERIES[6], pg_user_types::SQL_TYPES, schemas).await?;
    let types = pg_user_types::read_types(&rows)?;
    r.warnings.extend(pg_user_types::type_warnings(&types, |oid| {
        let mut names: Vec<String> = type_users
            .get(&oid)
            .into_iter()
            .flatten()
            .filter_map(|t| r.tables.name(*t))
            .map(str::to_string)
            .collect();
        names.sort();
        names.dedup();
        names
    }));
    let rows = r.fetch(conn, QUERIES[7], &pg_user_types::sql_dependencies(), schemas).await?;
    let dependencies = pg_user_types::read_dependencies(&rows, |oid| {
        r.tables
            .by_oid
            .get(&oid)
            .map(|&i| (r.tables.list[i].schema.clone(), r.tables.list[i].def.name.clone()))
    })?;
    r.warnings.extend(dependencies);
    r.query_count += 1;
    let objects = crate::pg_objects::read_objects(conn, schemas, &r.tables.names(), &present).await?;
    let installed_versions = read_bookkeeping(conn, schemas, &mut r).await;
    let tables = r.tables.list.into_iter().map(|t| t.def).collect();
    let mut introspection =
        Introspection::assemble(database, tables, r.warnings, installed_versions, r.query_count);
    introspection.definition.types = types.into_iter().map(|(_, t)| t).collect();
    introspection.objects = objects;
    introspection.schemas = user_schemas.into_iter().filter(|s| schemas.contains(s)).collect();
    Ok(introspection)
}

/// The schemas to read: `requested`, with [`crate::ALL_SCHEMAS`] standing for every user schema
/// the server listed (`user_schemas`); sorted, each once.
fn resolve_schemas(requested: &[String], user_schemas: &[String]) -> Vec<String> {
    let mut out: Vec<String> = requested
        .iter()
        .flat_map(|s| if s == crate::ALL_SCHEMAS { user_schemas.to_vec() } else { vec![s.clone()] })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What the server query reads: the database's name, the server's version number (too old a
/// server is refused), the user schemas, and which optional kinds of object exist
/// ([`pg_present`]).
struct Server {
    database: String,
    version: i32,
    user_schemas: Vec<String>,
    present: Vec<String>,
    commented_schemas: Vec<String>,
}

async fn read_server(conn: &mut PgConnection) -> Result<Server, IntrospectError> {
    let q = QUERIES[0];
    let server = sqlx::query(&sql_server())
        .fetch_one(&mut *conn)
        .await
        .map_err(|source| IntrospectError::Query { query: q, source })?;
    let version: i32 = get(&server, "version", q)?;
    if version < 120000 {
        return Err(IntrospectError::UnsupportedServer { found: version.to_string() });
    }
    Ok(Server {
        database: get(&server, "db", q)?,
        version,
        user_schemas: get(&server, "user_schemas", q)?,
        present: get(&server, "present", q)?,
        commented_schemas: get(&server, "commented_schemas", q)?,
    })
}

fn read_table(row: &PgRow, r: &mut Reading) -> Result<(), IntrospectError> {
    let q = QUERIES[1];
    let oid: i64 = get(row, "oid", q)?;
    let schema: String = get(row, "schema_name", q)?;
    let name: String = get(row, "table_name", q)?;
    table_property_warnings(row, &schema, &name, &mut r.warnings)?;
    let pk_name: Option<String> = get(row, "pk_name", q)?;
    let deferrable = crate::pg_types::fk_deferrable(
        get::<Option<bool>>(row, "pk_deferrable", q)?.unwrap_or(false),
        get::<Option<bool>>(row, "pk_deferred", q)?.unwrap_or(false),
    );
    let pending_key = get::<Option<Vec<i16>>>(row, "pk_attnums", q)?.map(|attnums| PendingKey {
        attnums,
        name: pk_name,
        deferrable,
    });
    r.tables.by_oid.insert(oid, r.tables.list.len());
    r.tables.list.push(LiveTable {
        def: TableDefinition {
            name: name.clone(),
            dart_name: None,
            module: None,
            schema: schema.clone(),
            table_space: get(row, "tablespace", q)?,
            // Room for every column at once (dropped ones count too), not regrown per push.
            columns: Vec::with_capacity(get::<i32>(row, "column_slots", q)?.max(0) as usize),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            managed: None,
            keys: TableKeys::default(),
            partition_of: get(row, "partition_of", q)?,
            layout: TableLayout {
                partition_key: get(row, "partition_key", q)?,
                partition_bound: get(row, "partition_bound", q)?,
                inherits: get(row, "inherits", q)?,
                inherited_columns: Vec::new(),
                unlogged: get::<String>(row, "persistence", q)? == "u",
            },
        },
        schema,
        pk_columns: None,
        pending_key,
        attnums: Vec::new(),
    });
    Ok(())
}

/// A primary key as the tables query reads it, before the columns are known.
struct PendingKey {
    attnums: Vec<i16>,
    name: Option<String>,
    deferrable: Option<Deferrable>,
}

/// Names each table's primary-key columns from the columns read, and states the key.
fn name_primary_keys(tables: &mut Tables) -> Result<(), IntrospectError> {
    for t in &mut tables.list {
        let Some(key) = t.pending_key.take() else { continue };
        let mut columns = Vec::with_capacity(key.attnums.len());
        for attnum in &key.attnums {
            let Some(i) = t.attnums.iter().position(|a| a == attnum) else {
                let message =
                    format!("primary key of \"{}\" names column {attnum}, which was not read", t.def.name);
                return Err(IntrospectError::Query {
                    query: QUERIES[1],
                    source: sqlx::Error::Protocol(message),
                });
            };
            columns.push(t.def.columns[i].name.clone());
        }
        t.def.keys.primary_key = stated_primary_key(&t.def.name, key.name, Some(&columns), key.deferrable);
        t.pk_columns = Some(columns);
    }
    Ok(())
}

/// The primary key as the definition states it: absent when it is Serverpod's own
/// (`PRIMARY KEY ("id")` under PostgreSQL's default name, not deferrable), so such tables read as
/// Serverpod writes them.
fn stated_primary_key(
    table: &str,
    name: Option<String>,
    columns: Option<&[String]>,
    deferrable: Option<Deferrable>,
) -> Option<KeyConstraint> {
    let (name, columns) = (name?, columns?);
    if columns == ["id"] && name == default_primary_key_name(table) && deferrable.is_none() {
        return None;
    }
    Some(KeyConstraint { name, columns: columns.to_vec(), nulls_not_distinct: false, deferrable })
}

/// Row-level security, which the model has no field for, and a partition or inheritance child
/// whose parent lies in another schema (strata's SQL names tables unqualified, so it could not
/// write that layout).
fn table_property_warnings(
    row: &PgRow,
    schema: &str,
    name: &str,
    warnings: &mut Vec<IntrospectWarning>,
) -> Result<(), IntrospectError> {
    let q = QUERIES[1];
    let table_warning = |kind, detail: &str| IntrospectWarning {
        kind,
        schema: schema.to_string(),
        table: Some(name.to_string()),
        name: name.to_string(),
        detail: detail.to_string(),
        depends_on: vec![name.to_string()],
    };
    if get::<bool>(row, "parent_elsewhere", q)? {
        let kind = match get::<bool>(row, "is_partition", q)? {
            true => WarningKind::Partition,
            false => WarningKind::InheritedTable,
        };
        warnings.push(table_warning(kind, "its parent table is in another schema"));
    }
    match (get::<bool>(row, "rls", q)?, get::<bool>(row, "force_rls", q)?) {
        (true, false) => {
            warnings.push(table_warning(WarningKind::RowLevelSecurity, "row-level security is enabled"))
        }
        (true, true) => warnings.push(table_warning(
            WarningKind::RowLevelSecurity,
            "row-level security is enabled and forced on the table owner",
        )),
        (false, true) => warnings.push(table_warning(
            WarningKind::RowLevelSecurity,
            "row-level security is forced on the table owner (and not enabled)",
        )),
        (false, false) => {}
    }
    Ok(())
}

/// Adds every column to its table as the rows arrive; returns which tables use which
/// user-defined type, for the types the unrepresentable-objects scan reports.
async fn read_columns(
    conn: &mut PgConnection,
    schemas: &[String],
    r: &mut Reading,
) -> Result<HashMap<i64, Vec<i64>>, IntrospectError> {
    let q = QUERIES[2];
    let mut type_users: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut fields: Option<ColumnFields> = None;
    // The rows come table by table (in no promised order): the last table is looked up once.
    let mut last: Option<(i64, usize)> = None;
    let tables = &mut r.tables;
    r.query_count += 1;
    for_each_row(conn, q, SQL_COLUMNS, schemas, |row| {
        let f = match &fields {
            Some(f) => f,
            None => fields.insert(ColumnFields::of(row)?),
        };
        let table_oid: i64 = get_at(row, f.table_oid, q)?;
        let type_oid: i64 = get_at(row, f.type_oid, q)?;
        if type_oid >= FIRST_USER_OID {
            type_users.entry(type_oid).or_default().push(table_oid);
        }
        let index = match last {
            Some((oid, i)) if oid == table_oid => i,
            _ => {
                let Some(&i) = tables.by_oid.get(&table_oid) else { return Ok(()) };
                last = Some((table_oid, i));
                i
            }
        };
        let table = &mut tables.list[index];
        let column = map_column(row, f)?;
        // A partition's columns are all its parent's by definition; an inheritance child
        // names those it does not declare itself.
        if get_at::<bool>(row, f.inherited, q)? && table.def.partition_of.is_none() {
            table.def.layout.inherited_columns.push(column.name.clone());
        }
        table.attnums.push(get_at(row, f.attnum, q)?);
        table.def.columns.push(column);
        Ok(())
    })
    .await?;
    for table in &mut r.tables.list {
        put_columns_in_order(table);
    }
    name_primary_keys(&mut r.tables)?;
    Ok(type_users)
}

/// The first oid of an object created after `initdb`: every user-defined type's is at least
/// this, so built-in types need no entry among the type users.
const FIRST_USER_OID: i64 = 16384;

/// Sorts a table's columns (and the inherited ones' names) by `attnum`: the columns query
/// leaves the order to the plan, which reads each table's columns in `attnum` order already
/// (sorting all rows on the server cost a tenth of the query), so this rarely moves anything.
fn put_columns_in_order(table: &mut LiveTable) {
    if table.attnums.is_sorted() {
        return;
    }
    let mut order: Vec<usize> = (0..table.attnums.len()).collect();
    order.sort_by_key(|&i| table.attnums[i]);
    let mut columns: Vec<Option<ColumnDefinition>> = table.def.columns.drain(..).map(Some).collect();
    table.def.columns = order.iter().filter_map(|&i| columns[i].take()).collect();
    table.attnums = order.iter().map(|&i| table.attnums[i]).collect();
    let position = |name: &String| table.def.columns.iter().position(|c| &c.name == name);
    let mut inherited = std::mem::take(&mut table.def.layout.inherited_columns);
    inherited.sort_by_key(position);
    table.def.layout.inherited_columns = inherited;
}

/// One `pg_attribute` row: its exact type, the model's type for it, its default in the abstract
/// form, its identity and its generation expression.
fn map_column(row: &PgRow, f: &ColumnFields) -> Result<ColumnDefinition, IntrospectError> {
    let q = QUERIES[2];
    let name: String = get_at(row, f.name, q)?;
    let sql_type: String = get_at(row, f.sql_type, q)?;
    let type_name: String = get_at(row, f.type_name, q)?;
    let typmod: i32 = get_at(row, f.typmod, q)?;
    let default_expr: Option<String> = get_at(row, f.default_expr, q)?;
    let generated: String = get_at(row, f.generated, q)?;
    let identity: String = get_at(row, f.identity, q)?;
    let collation: Option<String> = get_at(row, f.collation, q)?;
    let native_type = native_type(&sql_type, collation.as_deref());
    // A non-default collation is part of the native type, which `text` alone cannot say.
    let mapped = if collation.is_none() { map_column_type(&sql_type, &type_name, typmod) } else { None };
    let (column_type, vector_dimension) = match mapped {
        Some(m) => (m.column_type, m.vector_dimension),
        None => (ColumnType::Unknown, None),
    };
    // `attgenerated = 's'` (STORED, the only kind PostgreSQL has): pg_attrdef holds the
    // generation expression, not a default.
    let (column_default, generated) = if !generated.is_empty() {
        (None, default_expr)
    } else if !identity.is_empty() {
        // The identity itself (`identity` below); its sequence's options are not compared.
        (None, None)
    } else {
        let owned_sequence: Option<String> = get_at(row, f.owned_sequence, q)?;
        let default = default_expr.map(|d| column_default(&d, column_type, owned_sequence.as_deref()));
        (default, None)
    };
    Ok(ColumnDefinition {
        name,
        field_name: None,
        column_type,
        is_nullable: !get_at::<bool>(row, f.not_null, q)?,
        column_default,
        dart_type: None,
        vector_dimension,
        native_type: Some(native_type),
        identity: match identity.as_str() {
            "a" => Some(Identity::Always),
            "d" => Some(Identity::ByDefault),
            _ => None,
        },
        identity_options: identity_options(get_at(row, f.identity_sequence, QUERIES[2])?),
        generated,
    })
}

/// An identity's options from its sequence's settings (see [`SQL_COLUMNS`]).
fn identity_options(sequence: Option<Vec<i64>>) -> Option<IdentityOptions> {
    let [start, increment, min, max, cache, cycle, type_max] = sequence?[..] else { return None };
    IdentityOptions::of_sequence(start, increment, min, max, cache, cycle != 0, type_max)
}

/// Adds the indexes of the indexes query to their tables as their rows arrive (one row per
/// index element, an index's rows one after another).
async fn read_indexes(
    conn: &mut PgConnection,
    version: i32,
    schemas: &[String],
    r: &mut Reading,
) -> Result<(), IntrospectError> {
    let mut rows = pg_indexes::IndexRows::default();
    r.query_count += 1;
    for_each_row(conn, QUERIES[3], &pg_indexes::sql(version), schemas, |row| match rows.push(row)? {
        Some(index) => add_index(index, r),
        None => Ok(()),
    })
    .await?;
    match rows.finish() {
        Some(index) => add_index(index, r),
        None => Ok(()),
    }
}

fn add_index(index: pg_indexes::IndexRow, r: &mut Reading) -> Result<(), IntrospectError> {
    let Some(table) = r.tables.get_mut(index.table_oid) else { return Ok(()) };
    if index.constraint_type.as_deref() == Some("u") {
        table.def.keys.unique.extend(pg_indexes::unique_constraint(&index));
        return Ok(());
    }
    if let Some(index) = pg_indexes::map_index(index, &table.schema, &table.def.name, &mut r.warnings) {
        r.warnings.extend(unwritable_index(&strata_sql::Postgres, &table.schema, &table.def.name, &index));
        table.def.indexes.push(index);
    }
    Ok(())
}

fn read_foreign_key(row: &PgRow, r: &mut Reading) -> Result<(), IntrospectError> {
    let q = QUERIES[4];
    let name: String = get(row, "name", q)?;
    if !get::<bool>(row, "in_scope", q)? {
        r.warnings.push(inbound_foreign_key_warning(row, name)?);
        return Ok(());
    }
    let Some(table) = r.tables.get_mut(get(row, "table_oid", q)?) else { return Ok(()) };
    if !get::<bool>(row, "is_validated", q)? {
        r.warnings.push(IntrospectWarning {
            kind: WarningKind::UnvalidatedForeignKey,
            schema: table.schema.clone(),
            table: Some(table.def.name.clone()),
            name: name.clone(),
            detail: "NOT VALID: existing rows were never checked".into(),
            depends_on: vec![table.def.name.clone()],
        });
    }
    table.def.foreign_keys.push(ForeignKeyDefinition {
        constraint_name: name,
        columns: get(row, "columns", q)?,
        reference_table: get(row, "ref_table", q)?,
        reference_table_schema: get(row, "ref_schema", q)?,
        reference_columns: get(row, "ref_columns", q)?,
        on_update: fk_action(&get::<String>(row, "on_update", q)?),
        on_delete: fk_action(&get::<String>(row, "on_delete", q)?),
        match_type: fk_match_type(&get::<String>(row, "match_type", q)?),
        deferrable: fk_deferrable(get(row, "is_deferrable", q)?, get(row, "is_deferred", q)?),
    });
    Ok(())
}

/// Adds a check or exclusion constraint row of the unrepresentable-objects scan to its table,
/// when strata would write it back as it is (`Dialect::check_constraint_sql` and
/// `exclusion_constraint_sql` accept it). The row still becomes a warning: against a side that
/// cannot hold such constraints (a Serverpod definition) they are left alone and named.
fn read_table_constraint(row: &PgRow, tables: &mut Tables) -> Result<(), IntrospectError> {
    let q = QUERIES[5];
    let kind: String = get(row, "kind", q)?;
    if kind != "check" && kind != "exclusion" {
        return Ok(());
    }
    let Some(table) = get::<Option<i64>>(row, "table_oid", q)?.and_then(|oid| tables.get_mut(oid)) else {
        return Ok(());
    };
    let name: String = get(row, "name", q)?;
    let definition: String = get::<Option<String>>(row, "detail", q)?.unwrap_or_default();
    let keys = &mut table.def.keys;
    if kind == "check" {
        let check = parse_check(name, &definition);
        if let Some(check) =
            check.filter(|c| strata_sql::Postgres.check_constraint_sql(&table.def.name, c).is_ok())
        {
            keys.checks.push(check);
        }
    } else {
        let exclusion = ExclusionConstraint { name, definition };
        if strata_sql::Postgres.exclusion_constraint_sql(&table.def.name, &exclusion).is_ok() {
            keys.exclusions.push(exclusion);
        }
    }
    Ok(())
}

/// A check constraint from `pg_get_constraintdef`'s `CHECK (expr)[ NO INHERIT][ NOT VALID]`
/// (the server appends the marks in this order, after the expression's closing parenthesis, so
/// they are never part of it).
fn parse_check(name: String, definition: &str) -> Option<CheckConstraint> {
    let rest = definition.trim();
    let (rest, not_valid) = rest.strip_suffix(" NOT VALID").map_or((rest, false), |r| (r, true));
    let (rest, no_inherit) = rest.strip_suffix(" NO INHERIT").map_or((rest, false), |r| (r, true));
    let expression = rest.strip_prefix("CHECK (")?.strip_suffix(')')?;
    Some(CheckConstraint { name, expression: expression.to_string(), not_valid, no_inherit })
}

/// A foreign key declared outside the configured schemas onto a table inside them.
fn inbound_foreign_key_warning(row: &PgRow, name: String) -> Result<IntrospectWarning, IntrospectError> {
    let q = QUERIES[4];
    let ref_schema: String = get(row, "ref_schema", q)?;
    let ref_table: String = get(row, "ref_table", q)?;
    Ok(IntrospectWarning {
        kind: WarningKind::InboundForeignKey,
        schema: get(row, "schema_name", q)?,
        table: Some(get(row, "table_name", q)?),
        name,
        detail: format!("references \"{ref_schema}\".\"{ref_table}\""),
        depends_on: vec![ref_table],
    })
}

/// The applied versions, read last and in a savepoint: a malformed bookkeeping table must not
/// abort the snapshot, it becomes a warning.
async fn read_bookkeeping(
    conn: &mut PgConnection,
    schemas: &[String],
    r: &mut Reading,
) -> Vec<MigrationVersion> {
    let migrations_schema = schemas
        .iter()
        .find(|s| r.tables.list.iter().any(|t| &t.schema == *s && t.def.name == MIGRATIONS_TABLE));
    let Some(schema) = migrations_schema else { return Vec::new() };
    r.query_count += 1;
    match read_installed_versions(conn, schema).await {
        Ok(v) => v,
        Err(e) => {
            r.warnings.push(crate::migrations_table_warning(schema, &e));
            Vec::new()
        }
    }
}

async fn read_installed_versions(
    conn: &mut PgConnection,
    schema: &str,
) -> Result<Vec<MigrationVersion>, sqlx::Error> {
    let sql = format!(
        "SELECT \"module\"::text AS module, \"version\"::text AS version FROM {}.{} ORDER BY 1",
        quote_ident(schema),
        quote_ident(MIGRATIONS_TABLE)
    );
    let mut sp = conn.begin().await?;
    let rows = match sqlx::query(&sql).fetch_all(&mut *sp).await {
        Ok(rows) => rows,
        Err(e) => {
            sp.rollback().await?;
            return Err(e);
        }
    };
    sp.commit().await?;
    rows.iter()
        .map(|r| {
            Ok(MigrationVersion::dependency(
                r.try_get::<Option<String>, _>("module")?.unwrap_or_default(),
                r.try_get::<Option<String>, _>("version")?.unwrap_or_default(),
            ))
        })
        .collect()
}

fn map_unrepresentable(
    row: &PgRow,
    tables: &Tables,
    type_users: &HashMap<i64, Vec<i64>>,
) -> Result<Option<IntrospectWarning>, IntrospectError> {
    let q = QUERIES[5];
    let kind = match get::<String>(row, "kind", q)?.as_str() {
        "check" | "inherited_check" => WarningKind::CheckConstraint,
        "unique" => WarningKind::UniqueConstraint,
        "exclusion" => WarningKind::ExclusionConstraint,
        "trigger" => WarningKind::Trigger,
        "view" => WarningKind::View,
        "materialized_view" => WarningKind::MaterializedView,
        "sequence" => WarningKind::Sequence,
        "foreign_table" => WarningKind::ForeignTable,
        "enum" => WarningKind::EnumType,
        "domain" => WarningKind::DomainType,
        "composite" => WarningKind::CompositeType,
        "range" => WarningKind::RangeType,
        "function" => WarningKind::Function,
        "policy" => WarningKind::Policy,
        "rule" => WarningKind::Rule,
        "comment" => WarningKind::Comment,
        // An index on a materialized view (tables' indexes are read as indexes).
        "matview_index" => WarningKind::IndexDetail,
        "grant" => WarningKind::Grant,
        "extension" => WarningKind::Extension,
        "collation" => WarningKind::Collation,
        "schema" => WarningKind::OtherSchema,
        _ => WarningKind::Statistics,
    };
    let table_oid: Option<i64> = get(row, "table_oid", q)?;
    if let (WarningKind::UniqueConstraint, Some(oid)) = (kind, table_oid) {
        // Read into the definition as a key constraint already.
        if tables.has_unique(oid, &get::<String>(row, "name", q)?) {
            return Ok(None);
        }
    }
    let table = match table_oid {
        // Attached to a table we skipped (extension-owned): not ours to report.
        Some(oid) => match tables.name(oid) {
            Some(name) => Some(name.to_string()),
            None => return Ok(None),
        },
        None => None,
    };
    let mut deps: Vec<i64> = get(row, "deps", q)?;
    if matches!(
        kind,
        WarningKind::EnumType | WarningKind::DomainType | WarningKind::CompositeType | WarningKind::RangeType
    ) {
        deps = deps.iter().flat_map(|t| type_users.get(t).cloned().unwrap_or_default()).collect();
    }
    let mut depends_on: Vec<String> =
        deps.iter().filter_map(|d| tables.name(*d)).map(str::to_string).collect();
    depends_on.sort();
    depends_on.dedup();
    let detail: Option<String> = get(row, "detail", q)?;
    let detail = detail.unwrap_or_default();
    Ok(Some(IntrospectWarning {
        kind,
        schema: get(row, "schema_name", q)?,
        table,
        name: get(row, "name", q)?,
        detail,
        depends_on,
    }))
}

/// The definition's form of a live default. `now()` stays apart from `CURRENT_TIMESTAMP` (both
/// are Serverpod's `now`, which strata writes as `CURRENT_TIMESTAMP`): it is kept as the
/// expression `(now())`, which PostgreSQL stores, and reads back, as `now()`. Against a
/// definition that says `now`, `comparable_live` takes that spelling.
fn live_default(sql: &str, column_type: ColumnType) -> String {
    if sql.trim() == NOW_CALL {
        return format!("({NOW_CALL})");
    }
    pg_sql_to_abstract_default(sql, column_type)
}

/// A live column's default in the definition's form. A `nextval` default is `serial` where the
/// column owns the sequence, whatever its name (a table renamed by a migration keeps its
/// sequence's old name, and must not read as drift against its model). Any other `nextval`
/// default (a standalone sequence) stays the expression it is, parenthesised so that it does not
/// read as `serial`; the sequence itself is then a database object of its own.
fn column_default(sql: &str, column_type: ColumnType, owned_sequence: Option<&str>) -> String {
    let is_nextval = sql.trim_start().starts_with("nextval(");
    // A sequence the column owns is its `serial` one, whatever its name: a renamed table or
    // column keeps the sequence's old name.
    if is_nextval && owned_sequence.is_none() {
        return format!("({})", sql.trim());
    }
    live_default(sql, column_type)
}

/// Whether `sequence` is the name PostgreSQL chooses for the sequence of `table`'s serial
/// `column`. Past 63 bytes PostgreSQL truncates and may number the name; any owned sequence
/// is then taken for the serial one.
pub(crate) fn is_serial_sequence_name(sequence: &str, table: &str, column: &str) -> bool {
    let serial_name = format!("{table}_{column}_seq");
    serial_name.len() > 63 || sequence == serial_name
}

/// How PostgreSQL renders a `now()` default.
pub(crate) const NOW_CALL: &str = "now()";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_read_out_of_order_are_put_in_attnum_order() {
        let column = |name: &str| ColumnDefinition { name: name.into(), ..Default::default() };
        let mut table = LiveTable {
            def: TableDefinition {
                name: "t".into(),
                columns: ["c", "a", "b"].map(column).to_vec(),
                layout: TableLayout { inherited_columns: vec!["c".into(), "a".into()], ..Default::default() },
                ..Default::default()
            },
            schema: "public".into(),
            pk_columns: None,
            pending_key: None,
            attnums: vec![3, 1, 2],
        };
        put_columns_in_order(&mut table);
        let names: Vec<&str> = table.def.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(table.attnums, [1, 2, 3]);
        assert_eq!(table.def.layout.inherited_columns, ["a", "c"]);
    }

    /// A query whose field has another SQL type than strata decodes is refused, naming the
    /// field, before any value is read unchecked.
    #[test]
    fn a_columns_field_of_another_type_is_refused_by_name() {
        let db = strata_testdb::PgScratch::new("field_types");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mut conn = PgConnection::connect(&db.url).await.unwrap();
            let row = sqlx::query("SELECT 1::int4 AS typmod").fetch_one(&mut conn).await.unwrap();
            assert!(position::<i32>(&row, "typmod").is_ok());
            let error = position::<i64>(&row, "typmod").unwrap_err().to_string();
            assert!(error.contains("field \"typmod\" is INT4, not the INT8 strata reads"), "{error}");
            assert!(position::<i32>(&row, "attnum").is_err());
        });
    }

    #[test]
    fn each_guard_picks_one_branch_of_the_unrepresentable_objects_query() {
        let sql = sql_unrepresentable(&Present::all());
        crate::pg_present::tests::check_guards(&sql, UNREPRESENTABLE_GUARDS);
    }
}
