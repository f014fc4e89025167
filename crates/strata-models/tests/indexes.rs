//! §1.6: index defaults, vector / gin / geography rules, field-level unique and truncation.

mod common;

use common::*;
use strata_schema::{ColumnType, GinOperatorClass, IndexDefinition, VectorDistanceFunction as D};

fn table_with(
    fields: &str,
    indexes: &str,
) -> Result<strata_schema::TableDefinition, Vec<strata_models::Diagnostic>> {
    let yaml =
        format!("class: A\ntable: a\nserializationDataType: jsonb\nfields:\n{fields}indexes:\n{indexes}");
    match build(&[("a.spy.yaml", &yaml)]) {
        Ok(d) => Ok(d.tables[0].clone()),
        Err(e) => Err(e.0),
    }
}

fn idx(fields: &str, indexes: &str) -> Vec<IndexDefinition> {
    match table_with(fields, indexes) {
        Ok(t) => t.indexes,
        Err(e) => panic!("{}", strata_models::Diagnostics(e)),
    }
}

const FIELDS: &str = "  name: String\n  userName: String, column=user_name\n  userNameX: String\n  emb: Vector(3)\n  half: HalfVector(3)\n  sparse: SparseVector(3)\n  bits: Bit(8)\n  tags: List<String>\n  point: GeographyPoint\n  area: GeographyPolygon\n  deletedAt: DateTime?\n";

#[test]
fn default_types_and_options() {
    let i = idx(
        FIELDS,
        "  plain_idx:\n    fields: name, deletedAt\n  vec_idx:\n    fields: emb\n  bit_idx:\n    fields: bits\n  gin_idx:\n    fields: tags\n  geo_idx:\n    fields: point, area\n",
    );
    assert_eq!(i[0].index_type, "btree");
    assert!(!i[0].is_unique && !i[0].is_primary);
    assert_eq!(i[0].nulls_distinct, None);
    assert_eq!(
        (i[1].index_type.as_str(), i[1].vector_distance_function, i[1].vector_column_type),
        ("hnsw", Some(D::L2), Some(ColumnType::Vector))
    );
    assert_eq!(i[1].parameters, None);
    assert_eq!(
        (i[2].index_type.as_str(), i[2].vector_distance_function, i[2].vector_column_type),
        ("hnsw", Some(D::Hamming), Some(ColumnType::Bit))
    );
    assert_eq!(
        (i[3].index_type.as_str(), i[3].gin_operator_class),
        ("gin", Some(GinOperatorClass::JsonbOps))
    );
    assert_eq!(i[4].index_type, "gist");
    assert_eq!(i[4].gin_operator_class, None);
}

#[test]
fn explicit_options_and_parameter_order() {
    let i = idx(
        FIELDS,
        "  v:\n    fields: emb\n    type: ivfflat\n    distanceFunction: cosine\n    parameters:\n      lists: 100\n  h:\n    fields: half\n    type: hnsw\n    distanceFunction: innerProduct\n    parameters:\n      m: 64\n      ef_construction: 200\n  b:\n    fields: bits\n    distanceFunction: jaccard\n  g:\n    fields: tags\n    operatorClass: jsonbPathOps\n  u:\n    fields: name, deletedAt\n    unique: true\n    nulls_distinct: false\n  hashed:\n    fields: name\n    type: hash\n",
    );
    assert_eq!((i[0].index_type.as_str(), i[0].vector_distance_function), ("ivfflat", Some(D::Cosine)));
    assert_eq!(i[0].parameters, Some(vec![("lists".to_string(), "100".to_string())]));
    assert_eq!(
        i[1].parameters,
        Some(vec![("m".into(), "64".into()), ("ef_construction".into(), "200".into())])
    );
    assert_eq!(i[1].vector_column_type, Some(ColumnType::Halfvec));
    assert_eq!(i[2].vector_distance_function, Some(D::Jaccard));
    assert_eq!(i[3].gin_operator_class, Some(GinOperatorClass::JsonbPathOps));
    assert!(i[4].is_unique);
    assert_eq!(i[4].nulls_distinct, Some(false));
    assert_eq!(i[5].index_type, "hash");
}

#[test]
fn index_fields_are_rewritten_to_column_names_exactly() {
    // `userName` -> `user_name`, while `userNameX` (which contains `userName`) stays untouched.
    let i = idx(FIELDS, "  n_idx:\n    fields: userNameX, userName\n");
    let els: Vec<&str> = i[0].elements.iter().map(|e| e.definition.as_str()).collect();
    assert_eq!(els, ["userNameX", "user_name"]);
}

#[test]
fn index_on_implicit_relation_field() {
    let def = ok(&[
        ("a.spy.yaml", "class: Author\ntable: author\nfields:\n  name: String\n"),
        ("p.spy.yaml", "class: Post\ntable: post\nfields:\n  author: Author?, relation\n  publishedAt: DateTime?\nindexes:\n  post_author_published_idx:\n    fields: authorId, publishedAt\n"),
    ]);
    let els: Vec<&str> =
        def.table("post").unwrap().indexes[0].elements.iter().map(|e| e.definition.as_str()).collect();
    assert_eq!(els, ["authorId", "publishedAt"]);
}

#[test]
fn field_level_unique_indexes() {
    let t = one("class: Member\ntable: member\nfields:\n  ownerId: int\n  tenantId: int\n  key: String, unique(per=ownerId)\n  slug: String, column=the_slug, unique\n  both: String, unique(per=ownerId, per=tenantId)\n  listed: String, unique(per=[ownerId, tenantId])\n");
    let names: Vec<&str> = t.indexes.iter().map(|i| i.index_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "member__ownerId__key__unique_idx",
            "member__the_slug__unique_idx",
            "member__ownerId__tenantId__both__unique_idx",
            "member__ownerId__tenantId__listed__unique_idx",
        ]
    );
    let els: Vec<&str> = t.indexes[0].elements.iter().map(|e| e.definition.as_str()).collect();
    assert_eq!(els, ["ownerId", "key"]);
    assert!(t.indexes.iter().all(|i| i.is_unique && i.index_type == "btree"));
}

#[test]
fn generated_unique_names_are_not_held_to_the_hand_written_pattern() {
    let t = one("class: A\ntable: a\nfields:\n  userID: String, unique\n");
    assert_eq!(t.indexes[0].index_name, "a__userID__unique_idx");
}

#[test]
fn long_unique_index_names_are_truncated_with_a_digest() {
    let table = "a_rather_long_table_name_for_testing_purposes";
    let t = one(&format!("class: L\ntable: {table}\nfields:\n  someVeryLongFieldName: String, unique\n"));
    // The part before `__unique_idx` is limited to 51 characters: 41 kept + 10 hex digits of
    // the SHA-256 of that part.
    let base = format!("{table}__someVeryLongFieldName");
    assert!(base.len() > 51);
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(base.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let expected = format!("{}{}__unique_idx", &base[..41], &hex[..10]);
    assert_eq!(t.indexes[0].index_name, expected);
    assert_eq!(expected.len(), 63);
    // Just under the limit: kept as is.
    let t = one(
        "class: S\ntable: short_table\nfields:\n  abcdefghijklmnopqrstuvwxyzabcdefghij: String, unique\n",
    );
    assert_eq!(t.indexes[0].index_name, "short_table__abcdefghijklmnopqrstuvwxyzabcdefghij__unique_idx");
}

#[test]
fn index_restrictions() {
    let e = table_with(
        FIELDS,
        "  mix_idx:\n    fields: emb, name\n  two_vec_idx:\n    fields: emb, half\n  btree_vec_idx:\n    fields: emb\n    type: btree\n  sparse_idx:\n    fields: sparse\n    type: ivfflat\n  ef_idx:\n    fields: emb\n    parameters:\n      m: 16\n      ef_construction: 20\n  geo_mix_idx:\n    fields: point, name\n  geo_btree_idx:\n    fields: point\n    type: btree\n  nd_idx:\n    fields: name\n    nulls_distinct: false\n  opclass_idx:\n    fields: name\n    operatorClass: jsonbOps\n  bad_type_idx:\n    fields: name\n    type: fancy\n  missing_idx:\n    fields: nope\n  bitdist_idx:\n    fields: bits\n    distanceFunction: cosine\n  vecdist_idx:\n    fields: emb\n    distanceFunction: hamming\n  a:\n    fields: name\n  unknown_param_idx:\n    fields: emb\n    parameters:\n      lists: 3\n  dist_on_btree_idx:\n    fields: name\n    distanceFunction: l2\n",
    )
    .unwrap_err();
    let has = |text: &str| {
        assert!(
            e.iter().any(|d| d.message.contains(text)),
            "missing {text:?} in\n{}",
            strata_models::Diagnostics(e.clone())
        )
    };
    has("vector index \"mix_idx\" must have exactly one vector field and no other fields");
    has("vector index \"two_vec_idx\" must have exactly one vector field");
    has("index \"btree_vec_idx\" on a vector field must be of type hnsw or ivfflat, not btree");
    has("SparseVector fields only support hnsw indexes (index \"sparse_idx\")");
    has("hnsw index \"ef_idx\": ef_construction (20) must be at least 2 * m (32)");
    has("index \"geo_mix_idx\" mixes geography and non-geography fields");
    has("index \"geo_btree_idx\" on geography fields must be gist or spgist, not btree");
    has("nulls_distinct only applies to unique indexes");
    has("operatorClass only applies to gin indexes");
    has("unknown index type \"fancy\" for index \"bad_type_idx\"; valid types are btree, hash, gin, gist, spgist, brin, hnsw, ivfflat");
    has("index \"missing_idx\" uses \"nope\", which is not a persisted field of table \"a\"");
    has("Bit fields support only the hamming and jaccard distance functions");
    has("distance function hamming only applies to Bit fields");
    has("index name \"a\" is also a table name");
    has("unknown parameter \"lists\" for hnsw index \"unknown_param_idx\"");
    has("distanceFunction only applies to vector indexes");
    assert_eq!(e.len(), 16, "{}", strata_models::Diagnostics(e.clone()));
}

#[test]
fn index_name_rules_and_duplicates_across_models() {
    let d = errs(&[
        ("a.spy.yaml", "class: A\ntable: a\nfields:\n  x: int\nindexes:\n  shared_idx:\n    fields: x\n  Bad-Name:\n    fields: x\n"),
        ("b.spy.yaml", "class: B\ntable: b\nfields:\n  y: int\nindexes:\n  shared_idx:\n    fields: y\n  too_long_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:\n    fields: y\n  no_fields_idx:\n    unique: true\n"),
    ]);
    assert_err(&d, 8, 3, "invalid index name \"Bad-Name\"");
    assert_err(&d, 6, 3, "duplicate index name \"shared_idx\"; first defined at a.spy.yaml:6:3");
    assert_err(&d, 8, 3, "is 71 characters long; the limit is 63");
    assert_eq!(d.iter().filter(|x| x.message.contains("is 71 characters long")).count(), 1, "reported once");
    assert_err(&d, 10, 3, "index \"no_fields_idx\" needs \"fields\"");
}
