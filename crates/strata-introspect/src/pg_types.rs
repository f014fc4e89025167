//! Pure mappings from PostgreSQL catalog values to strata's model. Kept free of I/O so every
//! rule is unit-tested without a server.

use strata_schema::{
    ColumnType, Deferrable, ForeignKeyAction, ForeignKeyMatchType, GinOperatorClass, VectorDistanceFunction,
};

/// A column's type in strata's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MappedType {
    pub column_type: ColumnType,
    pub vector_dimension: Option<i64>,
}

/// Maps a column type as `format_type(atttypid, atttypmod)` renders it (plus the bare type
/// name and typmod) to a `ColumnType`, or `None` when strata has no exact equivalent.
///
/// Only the exact spellings the generator writes map: `timestamp(3) without time zone`,
/// `character varying`, arrays, enums, `geography` without a subtype, or with an SRID other
/// than 4326, all return `None` (the caller reports them as `unknown`), because claiming an
/// equivalence that does not hold would let a repair believe the column is right.
pub(crate) fn map_column_type(sql_type: &str, type_name: &str, typmod: i32) -> Option<MappedType> {
    let plain = |t| Some(MappedType { column_type: t, vector_dimension: None });
    match sql_type {
        "text" => return plain(ColumnType::Text),
        "boolean" => return plain(ColumnType::Boolean),
        "integer" => return plain(ColumnType::Integer),
        "bigint" => return plain(ColumnType::Bigint),
        "double precision" => return plain(ColumnType::DoublePrecision),
        "timestamp without time zone" => return plain(ColumnType::TimestampWithoutTimeZone),
        "bytea" => return plain(ColumnType::Bytea),
        "uuid" => return plain(ColumnType::Uuid),
        "json" => return plain(ColumnType::Json),
        "jsonb" => return plain(ColumnType::Jsonb),
        _ => {}
    }
    // pgvector types (and the built-in `bit(n)` pgvector indexes): the dimension is the typmod,
    // and format_type renders `name(n)`.
    let vector = match type_name {
        "vector" => Some(ColumnType::Vector),
        "halfvec" => Some(ColumnType::Halfvec),
        "sparsevec" => Some(ColumnType::Sparsevec),
        "bit" => Some(ColumnType::Bit),
        _ => None,
    };
    if let Some(t) = vector {
        let expected = format!("{type_name}({typmod})");
        if typmod > 0 && sql_type == expected {
            return Some(MappedType { column_type: t, vector_dimension: Some(i64::from(typmod)) });
        }
        return None;
    }
    if type_name == "geography" {
        let inner = sql_type.strip_prefix("geography(")?.strip_suffix(')')?;
        let (subtype, srid) = inner.split_once(',')?;
        if srid.trim() != "4326" {
            return None;
        }
        let t = match subtype.trim().to_ascii_lowercase().as_str() {
            "point" => ColumnType::Geography,
            "linestring" => ColumnType::GeographyLineString,
            "polygon" => ColumnType::GeographyPolygon,
            "geometrycollection" => ColumnType::GeographyGeometryCollection,
            _ => return None,
        };
        return plain(t);
    }
    None
}

/// A column's exact type as strata keeps it: `format_type`'s rendering (length, precision,
/// array brackets, quoted and, outside the search path, schema-qualified enum and domain names),
/// plus ` COLLATE "name"` when the column's collation is not its type's default.
pub(crate) fn native_type(sql_type: &str, collation: Option<&str>) -> String {
    match collation {
        Some(c) => format!("{sql_type} COLLATE {}", crate::quote_ident(c)),
        None => sql_type.to_string(),
    }
}

/// `pg_constraint.confupdtype` / `confdeltype`.
pub(crate) fn fk_action(code: &str) -> Option<ForeignKeyAction> {
    match code {
        "a" => Some(ForeignKeyAction::NoAction),
        "r" => Some(ForeignKeyAction::Restrict),
        "c" => Some(ForeignKeyAction::Cascade),
        "n" => Some(ForeignKeyAction::SetNull),
        "d" => Some(ForeignKeyAction::SetDefault),
        _ => None,
    }
}

/// `pg_constraint.confmatchtype`. `MATCH SIMPLE` is the default and maps to `None`, because
/// generated definitions never set a match type: reporting it would be false drift.
pub(crate) fn fk_match_type(code: &str) -> Option<ForeignKeyMatchType> {
    match code {
        "f" => Some(ForeignKeyMatchType::Full),
        "p" => Some(ForeignKeyMatchType::Partial),
        _ => None,
    }
}

/// `condeferrable` + `condeferred`; not deferrable is `None`, as in generated definitions.
pub(crate) fn fk_deferrable(deferrable: bool, deferred: bool) -> Option<Deferrable> {
    match (deferrable, deferred) {
        (false, _) => None,
        (true, false) => Some(Deferrable::InitiallyImmediate),
        (true, true) => Some(Deferrable::InitiallyDeferred),
    }
}

/// A gin operator class name as the model spells it.
pub(crate) fn gin_operator_class(opcname: &str) -> Option<GinOperatorClass> {
    GinOperatorClass::ALL.iter().copied().find(|g| g.sql() == opcname)
}

/// A pgvector operator class (`vector_l2_ops`, `halfvec_cosine_ops`, `sparsevec_ip_ops`,
/// `bit_hamming_ops`, ...) as (vector column type, distance function).
pub(crate) fn vector_operator_class(opcname: &str) -> Option<(ColumnType, VectorDistanceFunction)> {
    let body = opcname.strip_suffix("_ops")?;
    let (ty, func) = body.split_once('_')?;
    let column_type = match ty {
        "vector" => ColumnType::Vector,
        "halfvec" => ColumnType::Halfvec,
        "sparsevec" => ColumnType::Sparsevec,
        "bit" => ColumnType::Bit,
        _ => return None,
    };
    let distance = match func {
        "l2" => VectorDistanceFunction::L2,
        "ip" => VectorDistanceFunction::InnerProduct,
        "cosine" => VectorDistanceFunction::Cosine,
        "l1" => VectorDistanceFunction::L1,
        "hamming" => VectorDistanceFunction::Hamming,
        "jaccard" => VectorDistanceFunction::Jaccard,
        _ => return None,
    };
    Some((column_type, distance))
}

/// `reloptions` entries (`m=16`) as ordered key/value pairs; malformed entries are skipped.
pub(crate) fn parse_reloptions(options: &[String]) -> Vec<(String, String)> {
    options.iter().filter_map(|o| o.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Index access methods whose operator class the model carries as a vector distance.
pub(crate) fn method_is_vector(method: &str) -> bool {
    matches!(method, "hnsw" | "ivfflat")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(sql: &str, name: &str, typmod: i32) -> Option<(ColumnType, Option<i64>)> {
        map_column_type(sql, name, typmod).map(|m| (m.column_type, m.vector_dimension))
    }

    #[test]
    fn generated_types_map_exactly() {
        assert_eq!(ty("text", "text", -1), Some((ColumnType::Text, None)));
        assert_eq!(ty("boolean", "bool", -1), Some((ColumnType::Boolean, None)));
        assert_eq!(ty("integer", "int4", -1), Some((ColumnType::Integer, None)));
        assert_eq!(ty("bigint", "int8", -1), Some((ColumnType::Bigint, None)));
        assert_eq!(ty("double precision", "float8", -1), Some((ColumnType::DoublePrecision, None)));
        assert_eq!(
            ty("timestamp without time zone", "timestamp", -1),
            Some((ColumnType::TimestampWithoutTimeZone, None))
        );
        assert_eq!(ty("bytea", "bytea", -1), Some((ColumnType::Bytea, None)));
        assert_eq!(ty("uuid", "uuid", -1), Some((ColumnType::Uuid, None)));
        assert_eq!(ty("json", "json", -1), Some((ColumnType::Json, None)));
        assert_eq!(ty("jsonb", "jsonb", -1), Some((ColumnType::Jsonb, None)));
    }

    #[test]
    fn vectors_take_their_dimension_from_the_typmod() {
        assert_eq!(ty("vector(512)", "vector", 512), Some((ColumnType::Vector, Some(512))));
        assert_eq!(ty("halfvec(3)", "halfvec", 3), Some((ColumnType::Halfvec, Some(3))));
        assert_eq!(ty("sparsevec(10)", "sparsevec", 10), Some((ColumnType::Sparsevec, Some(10))));
        assert_eq!(ty("bit(512)", "bit", 512), Some((ColumnType::Bit, Some(512))));
        // No dimension: strata always writes one, so this is not a strata column.
        assert_eq!(ty("vector", "vector", -1), None);
        assert_eq!(ty("bit varying(5)", "varbit", 5), None);
    }

    #[test]
    fn geography_subtypes() {
        assert_eq!(ty("geography(Point,4326)", "geography", 0), Some((ColumnType::Geography, None)));
        assert_eq!(
            ty("geography(LineString,4326)", "geography", 0),
            Some((ColumnType::GeographyLineString, None))
        );
        assert_eq!(ty("geography(Polygon,4326)", "geography", 0), Some((ColumnType::GeographyPolygon, None)));
        assert_eq!(
            ty("geography(GeometryCollection,4326)", "geography", 0),
            Some((ColumnType::GeographyGeometryCollection, None))
        );
        assert_eq!(ty("geography(MultiPoint,4326)", "geography", 0), None);
        assert_eq!(ty("geography(Point,3857)", "geography", 0), None);
        assert_eq!(ty("geography", "geography", -1), None);
    }

    #[test]
    fn everything_else_is_unknown() {
        for (sql, name) in [
            ("timestamp(3) without time zone", "timestamp"),
            ("timestamp with time zone", "timestamptz"),
            ("character varying(20)", "varchar"),
            ("text[]", "_text"),
            ("smallint", "int2"),
            ("numeric(10,2)", "numeric"),
            ("mood", "mood"),
            ("real", "float4"),
        ] {
            assert_eq!(ty(sql, name, -1), None, "{sql}");
        }
    }

    #[test]
    fn native_types_keep_format_type_and_collation() {
        assert_eq!(native_type("character varying(20)", None), "character varying(20)");
        assert_eq!(native_type("text", Some("C")), "text COLLATE \"C\"");
        assert_eq!(native_type("text[]", Some("we\"ird")), "text[] COLLATE \"we\"\"ird\"");
    }

    #[test]
    fn foreign_key_codes() {
        assert_eq!(fk_action("a"), Some(ForeignKeyAction::NoAction));
        assert_eq!(fk_action("r"), Some(ForeignKeyAction::Restrict));
        assert_eq!(fk_action("c"), Some(ForeignKeyAction::Cascade));
        assert_eq!(fk_action("n"), Some(ForeignKeyAction::SetNull));
        assert_eq!(fk_action("d"), Some(ForeignKeyAction::SetDefault));
        assert_eq!(fk_action("?"), None);
        assert_eq!(fk_match_type("s"), None);
        assert_eq!(fk_match_type("f"), Some(ForeignKeyMatchType::Full));
        assert_eq!(fk_match_type("p"), Some(ForeignKeyMatchType::Partial));
        assert_eq!(fk_deferrable(false, true), None);
        assert_eq!(fk_deferrable(true, false), Some(Deferrable::InitiallyImmediate));
        assert_eq!(fk_deferrable(true, true), Some(Deferrable::InitiallyDeferred));
    }

    #[test]
    fn operator_classes() {
        assert_eq!(gin_operator_class("jsonb_ops"), Some(GinOperatorClass::JsonbOps));
        assert_eq!(gin_operator_class("jsonb_path_ops"), Some(GinOperatorClass::JsonbPathOps));
        assert_eq!(gin_operator_class("array_ops"), Some(GinOperatorClass::ArrayOps));
        assert_eq!(gin_operator_class("tsvector_ops"), Some(GinOperatorClass::TsvectorOps));
        assert_eq!(gin_operator_class("gin_trgm_ops"), None);
        assert_eq!(
            vector_operator_class("vector_l2_ops"),
            Some((ColumnType::Vector, VectorDistanceFunction::L2))
        );
        assert_eq!(
            vector_operator_class("sparsevec_ip_ops"),
            Some((ColumnType::Sparsevec, VectorDistanceFunction::InnerProduct))
        );
        assert_eq!(
            vector_operator_class("halfvec_cosine_ops"),
            Some((ColumnType::Halfvec, VectorDistanceFunction::Cosine))
        );
        assert_eq!(
            vector_operator_class("bit_jaccard_ops"),
            Some((ColumnType::Bit, VectorDistanceFunction::Jaccard))
        );
        assert_eq!(vector_operator_class("int4_ops"), None);
        assert_eq!(vector_operator_class("vector_dot_ops"), None);
    }

    #[test]
    fn reloptions_keep_order() {
        let opts = vec!["m=64".to_string(), "ef_construction=200".to_string(), "junk".to_string()];
        assert_eq!(
            parse_reloptions(&opts),
            vec![("m".into(), "64".into()), ("ef_construction".into(), "200".into())]
        );
    }
}
