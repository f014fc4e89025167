//! PostgreSQL's database-defined objects (views, materialized views and their indexes,
//! functions and procedures, triggers, policies, rules, row-level security, comments, grants,
//! default privileges, sequences, collations and extensions), read with the DDL the server itself prints for them, so that a diff
//! between two live databases can recreate them (see [`crate::object_diff`]).
//!
//! One catalog query (`database objects`, a `UNION ALL` of one branch per kind) reads them all,
//! whatever their number. They stay reported as [`IntrospectWarning`]s too: a side that is not a
//! live database has none of them, and a repair towards a version must leave them alone.

use std::collections::HashMap;

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::Row;

use crate::pg_present::{prune, Kind, Present};
use crate::{IntrospectError, IntrospectWarning, WarningKind};

/// What kind of database-defined object a [`PgObject`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    View,
    MaterializedView,
    /// An index on a materialized view (tables' indexes are part of the table model).
    MatViewIndex,
    /// A function or procedure (not an aggregate: the server prints no DDL for those).
    Function,
    Trigger,
    Policy,
    Rule,
    /// `ENABLE` / `FORCE ROW LEVEL SECURITY` on a table.
    RowSecurity,
    Comment,
    /// The privileges on one object (its whole ACL).
    Grant,
    /// One `pg_default_acl` entry (a role's default privileges, globally or in a schema).
    DefaultPrivileges,
    /// A sequence, standalone or owned by a column (`serial`); identity columns' sequences are
    /// part of their column and left out.
    Sequence,
    /// A collation created in one of the schemas.
    Collation,
    /// An installed extension but `postgis` and `vector`, which strata's own `definition.sql`
    /// creates.
    Extension,
}

impl ObjectKind {
    /// The [`WarningKind`] the same object is reported under (`--ignore` uses its spelling).
    pub fn warning_kind(self) -> WarningKind {
        match self {
            ObjectKind::View => WarningKind::View,
            ObjectKind::MaterializedView => WarningKind::MaterializedView,
            ObjectKind::MatViewIndex => WarningKind::IndexDetail,
            ObjectKind::Function => WarningKind::Function,
            ObjectKind::Trigger => WarningKind::Trigger,
            ObjectKind::Policy => WarningKind::Policy,
            ObjectKind::Rule => WarningKind::Rule,
            ObjectKind::RowSecurity => WarningKind::RowLevelSecurity,
            ObjectKind::Comment => WarningKind::Comment,
            ObjectKind::Grant | ObjectKind::DefaultPrivileges => WarningKind::Grant,
            ObjectKind::Sequence => WarningKind::Sequence,
            ObjectKind::Collation => WarningKind::Collation,
            ObjectKind::Extension => WarningKind::Extension,
        }
    }

    fn from_row(kind: &str) -> Option<ObjectKind> {
        Some(match kind {
            "view" => ObjectKind::View,
            "matview" => ObjectKind::MaterializedView,
            "matview_index" => ObjectKind::MatViewIndex,
            "function" => ObjectKind::Function,
            "trigger" => ObjectKind::Trigger,
            "policy" => ObjectKind::Policy,
            "rule" => ObjectKind::Rule,
            "rls" => ObjectKind::RowSecurity,
            "comment" => ObjectKind::Comment,
            "grant" => ObjectKind::Grant,
            "default_acl" => ObjectKind::DefaultPrivileges,
            "sequence" => ObjectKind::Sequence,
            "collation" => ObjectKind::Collation,
            "extension" => ObjectKind::Extension,
            _ => return None,
        })
    }
}

/// One database-defined object, as the server renders it. Two databases' objects compare equal
/// exactly when every field does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PgObject {
    pub kind: ObjectKind,
    /// The schema it lives in (empty for global default privileges).
    pub schema: String,
    /// What identifies it within its kind, schema and relation (a function's name with its
    /// argument types, a comment's target, a grant's object).
    pub key: String,
    /// Its own name as stored (a function's `proname`, a grant's object name, a default
    /// privilege's role).
    pub object_name: String,
    /// The table or view it is attached to (a trigger's table, a commented column's table).
    pub relation: Option<String>,
    /// The server's spelling of its type where SQL needs it: a comment's `pg_identify_object`
    /// type, a grant's object keyword (`TABLE`, `FUNCTION`, ...), a default ACL's object type,
    /// a collation's provider (`pg_collation.collprovider`).
    pub object_type: String,
    /// The definition: PostgreSQL's DDL (`pg_get_viewdef`, `pg_get_functiondef`, ...), the
    /// comment text, or the ACL (`aclitem`s, sorted); a sequence's options and a collation's
    /// locales (`|`-separated, see [`crate::catalog_diff`]), an extension's version.
    pub definition: String,
    /// Privileges the object has when its ACL is NULL (`acldefault`), for grants and global
    /// default privileges.
    pub baseline: String,
    /// A function's identity arguments, a comment's target identity, a view's options, a
    /// trigger's function, the table owning a sequence (`OWNED BY`; empty when none).
    pub args: String,
    /// A function's full signature (arguments and result), which `CREATE OR REPLACE` cannot
    /// change; for comments, the commented object (`function:f(integer)`, `trigger:t`, ...);
    /// the column owning a sequence.
    pub signature: String,
    /// A policy's roles; the versions an extension can be updated to (`ALTER EXTENSION ...
    /// UPDATE TO`) on this server.
    pub roles: Vec<String>,
    /// Relations (schema, name) a view or materialized view reads; the extensions (schema, name)
    /// an extension requires.
    pub depends_on: Vec<(String, String)>,
}

impl PgObject {
    /// Whether the warning `w` reports this object: such warnings are not "unrepresented" in a
    /// diff between two live databases.
    pub fn reports(&self, w: &IntrospectWarning) -> bool {
        if w.kind == WarningKind::Dependency {
            // A column or domain needing an extension the object SQL creates.
            return self.kind == ObjectKind::Extension
                && crate::needed_key(w)
                    == Some(&crate::pg_user_types::needs_key("extension", &self.schema, &self.key));
        }
        if self.kind.warning_kind() != w.kind
            || self.schema != w.schema && self.kind != ObjectKind::DefaultPrivileges
        {
            return false;
        }
        match self.kind {
            ObjectKind::Function => w.name == self.object_name,
            ObjectKind::MatViewIndex => w.table.is_none() && w.name == self.key,
            ObjectKind::Sequence | ObjectKind::Collation | ObjectKind::Extension => w.name == self.key,
            _ => true,
        }
    }
}

/// The one catalog query. Extension-owned objects are left out, as everywhere else. Column
/// grants scan `pg_attribute` once for ACLs (fenced): probing each table's columns instead cost
/// a third of the query on a schema without any.
pub(crate) const SQL_OBJECTS: &str = "SELECT kind, schema_name, name, object_name, relation, object_type, \
       definition, baseline, args, signature, roles, oid, deps FROM ( \
   SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'matview' END AS kind, n.nspname::text AS schema_name, \
          c.relname::text AS name, c.relname::text AS object_name, NULL::text AS relation, ''::text AS object_type, \
          pg_catalog.pg_get_viewdef(c.oid) AS definition, ''::text AS baseline, \
          COALESCE(array_to_string(c.reloptions, ', '), '') AS args, ''::text AS signature, \
          '{}'::text[] AS roles, c.oid::int8 AS oid, \
          ARRAY(SELECT DISTINCT d.refobjid::int8 FROM pg_catalog.pg_rewrite r \
                JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid \
                WHERE r.ev_class = c.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass \
                  AND d.refobjid <> c.oid ORDER BY 1) AS deps \
   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
   WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1) \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::regclass \
                     AND e.objid = c.oid AND e.deptype = 'e') \
 UNION ALL \
   SELECT 'matview_index', n.nspname::text, ic.relname::text, ic.relname::text, c.relname::text, '', \
          pg_catalog.pg_get_indexdef(i.indexrelid), '', '', '', '{}', NULL, '{}' \
   FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
   JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
   WHERE c.relkind = 'm' AND n.nspname = ANY($1) \
 UNION ALL \
   SELECT 'function', n.nspname::text, p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')', \
          p.proname::text, NULL, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, \
          pg_catalog.pg_get_functiondef(p.oid), '', pg_catalog.pg_get_function_identity_arguments(p.oid), \
          pg_catalog.pg_get_function_arguments(p.oid) || COALESCE(' RETURNS ' || pg_catalog.pg_get_function_result(p.oid), ''), \
          '{}', NULL, '{}' \
   FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
   WHERE n.nspname = ANY($1) AND p.prokind IN ('f', 'p', 'w') \
     AND NOT (p.proname = 'gen_random_uuid_v7' AND p.pronargs = 0) \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
         WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') \
 UNION ALL \
   SELECT 'trigger', n.nspname::text, t.tgname::text, t.tgname::text, c.relname::text, '', \
          pg_catalog.pg_get_triggerdef(t.oid), '', \
          (SELECT fn.nspname || '.' || f.proname || '(' || pg_catalog.oidvectortypes(f.proargtypes) || ')' \
           FROM pg_catalog.pg_proc f JOIN pg_catalog.pg_namespace fn ON fn.oid = f.pronamespace WHERE f.oid = t.tgfoid), \
          '', '{}', NULL, '{}' \
   FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid \
   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
   WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND n.nspname = ANY($1) \
 UNION ALL \
   SELECT 'policy', n.nspname::text, pol.polname::text, pol.polname::text, c.relname::text, \
          CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' \
                          WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, \
          COALESCE('USING (' || pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) || ')', '') \
            || COALESCE(' WITH CHECK (' || pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) || ')', ''), \
          '', CASE WHEN pol.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, '', \
          ARRAY(SELECT CASE WHEN r = 0 THEN '' ELSE pg_catalog.pg_get_userbyid(r)::text END \
                FROM unnest(pol.polroles) r ORDER BY 1), NULL, '{}' \
   FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid \
   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1) \
 UNION ALL \
   SELECT 'rule', n.nspname::text, r.rulename::text, r.rulename::text, c.relname::text, '', \
          pg_catalog.pg_get_ruledef(r.oid), '', '', '', '{}', NULL, '{}' \
   FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class \
   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
   WHERE c.relkind IN ('r', 'p', 'v', 'm') AND r.rulename <> '_RETURN' AND n.nspname = ANY($1) \
 UNION ALL \
   SELECT 'rls', n.nspname::text, c.relname::text, c.relname::text, c.relname::text, '', \
          CASE WHEN c.relrowsecurity THEN 'ENABLE' ELSE 'DISABLE' END || ',' \
            || CASE WHEN c.relforcerowsecurity THEN 'FORCE' ELSE 'NO FORCE' END, '', '', '', '{}', NULL, '{}' \
   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
   WHERE c.relkind IN ('r', 'p') AND (c.relrowsecurity OR c.relforcerowsecurity) AND n.nspname = ANY($1) \
 UNION ALL \
   SELECT 'comment', COALESCE(o.schema, rn.nspname, CASE WHEN o.type = 'schema' THEN o.identity END)::text, \
          o.type || ' ' || o.identity, \
          CASE WHEN d.objsubid > 0 THEN (SELECT a.attname::text FROM pg_catalog.pg_attribute a \
                                          WHERE a.attrelid = d.objoid AND a.attnum = d.objsubid) ELSE '' END, \
          rc.relname::text, o.type, d.description, '', o.identity, \
          CASE WHEN d.classoid = 'pg_catalog.pg_proc'::regclass \
               THEN (SELECT 'function:' || p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' \
                     FROM pg_catalog.pg_proc p WHERE p.oid = d.objoid) \
               WHEN d.classoid = 'pg_catalog.pg_trigger'::regclass \
               THEN (SELECT 'trigger:' || t.tgname FROM pg_catalog.pg_trigger t WHERE t.oid = d.objoid) \
               WHEN d.classoid = 'pg_catalog.pg_policy'::regclass \
               THEN (SELECT 'policy:' || p.polname FROM pg_catalog.pg_policy p WHERE p.oid = d.objoid) \
               WHEN d.classoid = 'pg_catalog.pg_rewrite'::regclass \
               THEN (SELECT 'rule:' || r.rulename FROM pg_catalog.pg_rewrite r WHERE r.oid = d.objoid) \
               ELSE '' END, '{}', NULL, '{}' \
   FROM pg_catalog.pg_description d \
   CROSS JOIN LATERAL (SELECT CASE d.classoid \
            WHEN 'pg_catalog.pg_class'::regclass THEN d.objoid \
            WHEN 'pg_catalog.pg_trigger'::regclass THEN (SELECT t.tgrelid FROM pg_catalog.pg_trigger t WHERE t.oid = d.objoid) \
            WHEN 'pg_catalog.pg_policy'::regclass THEN (SELECT p.polrelid FROM pg_catalog.pg_policy p WHERE p.oid = d.objoid) \
            WHEN 'pg_catalog.pg_rewrite'::regclass THEN (SELECT r.ev_class FROM pg_catalog.pg_rewrite r WHERE r.oid = d.objoid) \
            WHEN 'pg_catalog.pg_constraint'::regclass THEN (SELECT NULLIF(k.conrelid, 0) FROM pg_catalog.pg_constraint k WHERE k.oid = d.objoid) \
          END AS reloid) rel \
   LEFT JOIN pg_catalog.pg_class rc ON rc.oid = rel.reloid \
   LEFT JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace \
   CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) o \
   WHERE (d.objoid >= 16384 OR d.classoid = 'pg_catalog.pg_namespace'::regclass) \
     AND COALESCE(o.schema, rn.nspname, CASE WHEN o.type = 'schema' THEN o.identity END) = ANY($1) \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classoid \
                     AND e.objid = d.objoid AND e.deptype = 'e') \
     AND NOT (o.type = 'schema' AND o.identity = 'public' AND d.description = 'standard public schema') \
 UNION ALL \
   SELECT 'grant', n.nspname::text, c.relname::text, c.relname::text, \
          COALESCE((SELECT oc.relname::text FROM pg_catalog.pg_depend od \
                    JOIN pg_catalog.pg_class oc ON oc.oid = od.refobjid \
                    WHERE c.relkind = 'S' AND od.classid = 'pg_catalog.pg_class'::regclass AND od.objid = c.oid \
                      AND od.refclassid = 'pg_catalog.pg_class'::regclass AND od.refobjsubid > 0 \
                      AND od.deptype IN ('a', 'i') LIMIT 1), c.relname::text), \
          CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, \
          array_to_string(ARRAY(SELECT a::text FROM unnest(c.relacl) a ORDER BY 1), ','), \
          array_to_string(ARRAY(SELECT a::text FROM unnest(pg_catalog.acldefault( \
              CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner)) a ORDER BY 1), ','), \
          '', '', '{}', NULL, '{}' \
   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
   WHERE c.relacl IS NOT NULL AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname = ANY($1) \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::regclass \
                     AND e.objid = c.oid AND e.deptype = 'e') \
 UNION ALL \
   SELECT 'grant', n.nspname::text, c.relname || '.' || a.attname, c.relname::text, c.relname::text, 'COLUMN', \
          array_to_string(ARRAY(SELECT x::text FROM unnest(a.attacl) x ORDER BY 1), ','), '', a.attname::text, \
          '', '{}', NULL, '{}' \
   FROM (SELECT a.attrelid, a.attname, a.attacl FROM pg_catalog.pg_attribute a \
         WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped OFFSET 0) a \
   JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = ANY($1) \
 UNION ALL \
   SELECT 'grant', n.nspname::text, p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')', \
          p.proname::text, NULL, CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, \
          array_to_string(ARRAY(SELECT a::text FROM unnest(p.proacl) a ORDER BY 1), ','), \
          array_to_string(ARRAY(SELECT a::text FROM unnest(pg_catalog.acldefault('f', p.proowner)) a ORDER BY 1), ','), \
          pg_catalog.pg_get_function_identity_arguments(p.oid), \
          'function:' || p.proname || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')', '{}', NULL, '{}' \
   FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
   WHERE p.proacl IS NOT NULL AND n.nspname = ANY($1) \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
         WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') \
 UNION ALL \
   SELECT 'grant', n.nspname::text, 'type ' || t.typname, t.typname::text, NULL, 'TYPE', \
          array_to_string(ARRAY(SELECT a::text FROM unnest(t.typacl) a ORDER BY 1), ','), \
          array_to_string(ARRAY(SELECT a::text FROM unnest(pg_catalog.acldefault('T', t.typowner)) a ORDER BY 1), ','), \
          '', '', '{}', NULL, '{}' \
   FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
   WHERE t.typacl IS NOT NULL AND n.nspname = ANY($1) \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
         WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') \
 UNION ALL \
   SELECT 'grant', n.nspname::text, 'schema ' || n.nspname, n.nspname::text, NULL, 'SCHEMA', \
          array_to_string(ARRAY(SELECT a::text FROM unnest(n.nspacl) a ORDER BY 1), ','), \
          array_to_string(ARRAY(SELECT a::text FROM unnest(pg_catalog.acldefault('n', n.nspowner)) a ORDER BY 1), ','), \
          '', '', '{}', NULL, '{}' \
   FROM pg_catalog.pg_namespace n WHERE n.nspacl IS NOT NULL AND n.nspname = ANY($1) \
     AND NOT (n.nspname = 'public' AND n.nspacl::text IN ( \
           '{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}', \
           format('{%1$s=UC/%1$s,=UC/%1$s}', pg_catalog.pg_get_userbyid(n.nspowner)))) \
 UNION ALL \
   SELECT 'default_acl', COALESCE(n.nspname, '')::text, \
          pg_catalog.pg_get_userbyid(da.defaclrole) || ' ' || da.defaclobjtype::text, \
          pg_catalog.pg_get_userbyid(da.defaclrole)::text, NULL, da.defaclobjtype::text, \
          array_to_string(ARRAY(SELECT a::text FROM unnest(da.defaclacl) a ORDER BY 1), ','), \
          CASE WHEN da.defaclnamespace = 0 THEN array_to_string(ARRAY(SELECT a::text FROM unnest(pg_catalog.acldefault( \
              CASE da.defaclobjtype WHEN 'S' THEN 's' ELSE da.defaclobjtype END::\"char\", da.defaclrole)) a ORDER BY 1), ',') \
               ELSE '' END, \
          '', '', '{}', NULL, '{}' \
   FROM pg_catalog.pg_default_acl da LEFT JOIN pg_catalog.pg_namespace n ON n.oid = da.defaclnamespace \
   WHERE da.defaclnamespace = 0 OR n.nspname = ANY($1) \
 UNION ALL \
   SELECT 'sequence', n.nspname::text, c.relname::text, c.relname::text, NULL, '', \
          concat_ws('|', pg_catalog.format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, \
                    s.seqmax, s.seqcache, s.seqcycle), \
          '', own.table_name, own.column_name, '{}', NULL, '{}' \
   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
   JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid \
   LEFT JOIN LATERAL (SELECT oc.relname::text AS table_name, a.attname::text AS column_name \
          FROM pg_catalog.pg_depend od JOIN pg_catalog.pg_class oc ON oc.oid = od.refobjid \
          JOIN pg_catalog.pg_attribute a ON a.attrelid = od.refobjid AND a.attnum = od.refobjsubid \
          WHERE od.classid = 'pg_catalog.pg_class'::regclass AND od.objid = c.oid \
            AND od.refclassid = 'pg_catalog.pg_class'::regclass AND od.refobjsubid > 0 AND od.deptype = 'a' \
          LIMIT 1) own ON true \
   WHERE c.relkind = 'S' AND n.nspname = ANY($1) \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::regclass \
                     AND e.objid = c.oid AND e.deptype IN ('e', 'i')) \
 UNION ALL \
   SELECT 'collation', n.nspname::text, co.collname::text, co.collname::text, NULL, co.collprovider::text, \
          concat_ws('|', COALESCE(to_jsonb(co) ->> 'colllocale', to_jsonb(co) ->> 'colliculocale', ''), \
                    COALESCE(co.collcollate, ''), COALESCE(co.collctype, ''), co.collisdeterministic, \
                    COALESCE(to_jsonb(co) ->> 'collicurules', '')), \
          '', '', '', '{}', NULL, '{}' \
   FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace \
   WHERE n.nspname = ANY($1) \
     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_collation'::regclass \
                     AND e.objid = co.oid AND e.deptype = 'e') \
 UNION ALL \
   SELECT 'extension', n.nspname::text, x.extname::text, x.extname::text, NULL, '', x.extversion, '', '', '', \
          ARRAY(SELECT u.target FROM pg_catalog.pg_extension_update_paths(x.extname) u \
                WHERE u.source = x.extversion AND u.path IS NOT NULL ORDER BY 1), x.oid::int8, \
          ARRAY(SELECT d.refobjid::int8 FROM pg_catalog.pg_depend d \
                WHERE d.classid = 'pg_catalog.pg_extension'::regclass AND d.objid = x.oid \
                  AND d.refclassid = 'pg_catalog.pg_extension'::regclass ORDER BY 1) \
   FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace \
   WHERE n.nspname <> 'pg_catalog' AND x.extname NOT IN ('postgis', 'vector') \
 ) x ORDER BY kind, schema_name, relation NULLS FIRST, name";

/// The branches of [`SQL_OBJECTS`] that only an optional kind of object fills.
const GUARDS: &[(&str, Kind)] = &[
    ("SELECT 'matview_index'", Kind::MatViews),
    ("SELECT 'function'", Kind::Functions),
    ("SELECT 'trigger'", Kind::Triggers),
    ("SELECT 'policy'", Kind::Policies),
    ("SELECT 'rule'", Kind::Rules),
    ("SELECT 'comment'", Kind::Comments),
    ("SELECT 'grant', n.nspname::text, p.proname", Kind::Functions),
    ("SELECT 'default_acl'", Kind::DefaultAcls),
    ("SELECT 'collation'", Kind::Collations),
    ("SELECT 'extension'", Kind::Extensions),
];

fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, IntrospectError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(|source| IntrospectError::Query { query: QUERY, source })
}

/// The name of the query in [`crate::postgres::QUERIES`].
pub(crate) const QUERY: &str = "database objects";

/// Runs the query and maps its rows; a view's dependencies are resolved to (schema, name)
/// through the relations the query and `relations` name.
pub(crate) async fn read_objects(
    conn: &mut PgConnection,
    schemas: &[String],
    relations: &HashMap<i64, (String, String)>,
    present: &Present,
) -> Result<Vec<PgObject>, IntrospectError> {
    let rows = sqlx::query(&prune(SQL_OBJECTS, GUARDS, present))
        .bind(schemas)
        .fetch_all(&mut *conn)
        .await
        .map_err(|source| IntrospectError::Query { query: QUERY, source })?;
    let mut names = relations.clone();
    for row in &rows {
        if let Some(oid) = get::<Option<i64>>(row, "oid")? {
            names.insert(oid, (get(row, "schema_name")?, get(row, "object_name")?));
        }
    }
    let mut objects = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(kind) = ObjectKind::from_row(&get::<String>(row, "kind")?) else { continue };
        let deps: Vec<i64> = get(row, "deps")?;
        objects.push(PgObject {
            kind,
            schema: get(row, "schema_name")?,
            key: get(row, "name")?,
            object_name: get(row, "object_name")?,
            relation: get(row, "relation")?,
            object_type: get(row, "object_type")?,
            definition: get::<Option<String>>(row, "definition")?.unwrap_or_default(),
            baseline: get::<Option<String>>(row, "baseline")?.unwrap_or_default(),
            args: get::<Option<String>>(row, "args")?.unwrap_or_default(),
            signature: get::<Option<String>>(row, "signature")?.unwrap_or_default(),
            roles: get(row, "roles")?,
            depends_on: deps.iter().filter_map(|d| names.get(d).cloned()).collect(),
        });
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_guard_picks_one_branch_of_the_objects_query() {
        crate::pg_present::tests::check_guards(SQL_OBJECTS, GUARDS);
    }
}
