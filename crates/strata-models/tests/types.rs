//! §1.9: every Dart type -> column type, dartType string, nullability and vector dimension.

mod common;

use common::*;
use strata_models::ModelOptions;
use strata_schema::ColumnType as T;

const ALL_TYPES: &str = r#"
class: AllTypes
table: all_types
fields:
  aString: String
  aBool: bool
  anInt: int?
  aDouble: double
  aDateTime: DateTime?
  aByteData: ByteData
  aDuration: Duration
  aUuid: UuidValue?
  aUri: Uri
  aBigInt: BigInt?
  aVector: Vector(512)
  aHalfVector: HalfVector(256)?
  aSparseVector: SparseVector(1000)
  aBit: Bit(64)
  aPoint: GeographyPoint
  aLine: GeographyLineString?
  aPolygon: GeographyPolygon
  aCollection: GeographyGeometryCollection
  aByName: ByNameEnum
  aByIndex: ByIndexEnum?
  aList: List<SimpleData>?
  aMap: Map<String, dynamic>
  aSet: Set<int?>
  aNested: Map<String, List<Uri?>>?
  aModel: SimpleData
  aDynamic: dynamic
  aRecord: (String, {Uri? optionalUri})?
  anException: MyException?
"#;

const SUPPORT: &[(&str, &str)] = &[
    ("by_name.spy.yaml", "enum: ByNameEnum\nvalues:\n  - byName1\n  - byName2\n"),
    ("by_index.spy.yaml", "enum: ByIndexEnum\nserialized: byIndex\nvalues:\n  - byIndex1\n  - byIndex2\n"),
    ("simple.spy.yaml", "class: SimpleData\nfields:\n  num: int\n"),
    ("exc.spy.yaml", "exception: MyException\nfields:\n  message: String\n"),
];

fn all_types(options: &ModelOptions) -> strata_schema::TableDefinition {
    let mut list = vec![("all.spy.yaml", ALL_TYPES)];
    list.extend_from_slice(SUPPORT);
    let def = match build_with(&list, options) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    def.table("all_types").unwrap().clone()
}

#[test]
fn column_types_dart_types_and_nullability() {
    let t = all_types(&ModelOptions::new("proj"));
    let expect: &[(&str, T, &str, bool, Option<i64>)] = &[
        ("id", T::Bigint, "int?", false, None),
        ("aString", T::Text, "String", false, None),
        ("aBool", T::Boolean, "bool", false, None),
        ("anInt", T::Bigint, "int?", true, None),
        ("aDouble", T::DoublePrecision, "double", false, None),
        ("aDateTime", T::TimestampWithoutTimeZone, "DateTime?", true, None),
        ("aByteData", T::Bytea, "dart:typed_data:ByteData", false, None),
        ("aDuration", T::Bigint, "Duration", false, None),
        ("aUuid", T::Uuid, "UuidValue?", true, None),
        ("aUri", T::Text, "Uri", false, None),
        ("aBigInt", T::Text, "BigInt?", true, None),
        ("aVector", T::Vector, "Vector(512)", false, Some(512)),
        ("aHalfVector", T::Halfvec, "HalfVector(256)?", true, Some(256)),
        ("aSparseVector", T::Sparsevec, "SparseVector(1000)", false, Some(1000)),
        ("aBit", T::Bit, "Bit(64)", false, Some(64)),
        ("aPoint", T::Geography, "GeographyPoint", false, None),
        ("aLine", T::GeographyLineString, "GeographyLineString?", true, None),
        ("aPolygon", T::GeographyPolygon, "GeographyPolygon", false, None),
        ("aCollection", T::GeographyGeometryCollection, "GeographyGeometryCollection", false, None),
        ("aByName", T::Text, "protocol:ByNameEnum", false, None),
        ("aByIndex", T::Bigint, "protocol:ByIndexEnum?", true, None),
        ("aList", T::Json, "List<protocol:SimpleData>?", true, None),
        ("aMap", T::Json, "Map<String,dynamic>", false, None),
        ("aSet", T::Json, "Set<int?>", false, None),
        ("aNested", T::Json, "Map<String,List<Uri?>>?", true, None),
        ("aModel", T::Json, "protocol:SimpleData", false, None),
        ("aDynamic", T::Json, "dynamic", false, None),
        ("aRecord", T::Json, "(String, {Uri? optionalUri})?", true, None),
        ("anException", T::Json, "protocol:MyException?", true, None),
    ];
    assert_eq!(col_names(&t), expect.iter().map(|e| e.0).collect::<Vec<_>>());
    for (name, ct, dart, nullable, dim) in expect {
        let c = col(&t, name);
        assert_eq!(c.column_type, *ct, "{name}");
        assert_eq!(c.dart_type.as_deref(), Some(*dart), "{name}");
        assert_eq!(c.is_nullable, *nullable, "{name}");
        assert_eq!(c.vector_dimension, *dim, "{name}");
        assert_eq!(c.field_name.as_deref(), Some(*name));
        assert_eq!(c.column_default.as_deref(), if *name == "id" { Some("serial") } else { None }, "{name}");
    }
}

#[test]
fn project_level_jsonb_default() {
    let mut options = ModelOptions::new("proj");
    options.jsonb_by_default = true;
    let t = all_types(&options);
    for name in ["aList", "aMap", "aSet", "aNested", "aModel", "aDynamic", "aRecord", "anException"] {
        assert_eq!(col(&t, name).column_type, T::Jsonb, "{name}");
    }
    assert_eq!(col(&t, "aString").column_type, T::Text);
}

#[test]
fn class_and_field_level_serialization_data_type() {
    let t = one(
        "class: A\ntable: a\nserializationDataType: jsonb\nfields:\n  x: List<int>\n  y: List<int>, serializationDataType=json\n",
    );
    assert_eq!(col(&t, "x").column_type, T::Jsonb);
    assert_eq!(col(&t, "y").column_type, T::Json);
    let t = one("class: A\ntable: a\nfields:\n  x: List<int>, serializationDataType=jsonb\n  y: List<int>\n");
    assert_eq!(col(&t, "x").column_type, T::Jsonb);
    assert_eq!(col(&t, "y").column_type, T::Json);
    // Map form of a field.
    let t = one(
        "class: A\ntable: a\nfields:\n  x:\n    type: Map<String, int>\n    serializationDataType: jsonb\n",
    );
    assert_eq!(col(&t, "x").column_type, T::Jsonb);
    assert_eq!(col(&t, "x").dart_type.as_deref(), Some("Map<String,int>"));
}

#[test]
fn module_types_print_with_module_name() {
    let mut options = ModelOptions::new("proj");
    options.module_aliases.insert("auth".into(), "serverpod_auth".into());
    let def =
        build_with(&[("a.spy.yaml", "class: A\ntable: a\nfields:\n  u: module:auth:UserInfo?\n")], &options)
            .unwrap();
    let c = col(&def.tables[0], "u");
    assert_eq!(c.dart_type.as_deref(), Some("serverpod_auth:UserInfo?"));
    assert_eq!(c.column_type, T::Json);
}

#[test]
fn not_persisted_and_scoped_fields() {
    let t = one(
        "class: A\ntable: a\nfields:\n  cache: String, !persist\n  secret: String?, scope=serverOnly\n  hidden: int, scope=none\n  explicit: int, persist\n",
    );
    assert_eq!(col_names(&t), ["id", "secret", "hidden", "explicit"]);
}

#[test]
fn column_rename_keeps_field_name() {
    let t = one("class: A\ntable: a\nfields:\n  userName: String, column=user_name\n");
    let c = col(&t, "user_name");
    assert_eq!(c.field_name.as_deref(), Some("userName"));
}

#[test]
fn tables_sorted_and_metadata() {
    let def = ok(&[
        ("z.spy.yaml", "class: Zed\ntable: zed\nmanagedMigration: false\nfields:\n  a: int\n"),
        ("a.spy.yaml", "class: Alpha\ntable: alpha\nfields:\n  a: int\n"),
        ("n.spy.yaml", "class: NoTable\nfields:\n  a: int\n"),
        ("c.spy.yaml", "class: ClientOnly\ntable: client_only\ndatabase: client\nfields:\n  a: int\n"),
        ("s.spy.yaml", "class: Both\ntable: both\ndatabase: all\nserverOnly: true\nfields:\n  a: int\n"),
    ]);
    let names: Vec<&str> = def.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["alpha", "both", "zed"]);
    let zed = def.table("zed").unwrap();
    assert_eq!(zed.managed, Some(false));
    assert_eq!(zed.dart_name.as_deref(), Some("Zed"));
    assert_eq!(zed.module.as_deref(), Some("proj"));
    assert_eq!(zed.schema, "public");
    assert_eq!(def.table("alpha").unwrap().managed, Some(true));
    assert_eq!(def.module_name, "proj");
    assert_eq!(def.schema_version, 2);
    assert_eq!(def.migration_api_version, 1);
}
