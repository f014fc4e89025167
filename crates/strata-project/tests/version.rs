//! Version names: format, parsing, tag rules.

use std::time::{Duration, UNIX_EPOCH};

use strata_project::{is_version_name, parse_timestamp, timestamp, validate_tag, version_name, ProjectError};

#[test]
fn timestamp_is_17_digit_utc_with_millis() {
    assert_eq!(timestamp(UNIX_EPOCH), "19700101000000000");
    // 2023-12-05T08:09:37.028Z (Serverpod's documented example).
    let t = UNIX_EPOCH + Duration::from_millis(1_701_763_777_028);
    assert_eq!(timestamp(t), "20231205080937028");
    // Leap day and end of year.
    let leap = parse_timestamp("20240229235959999").unwrap();
    assert_eq!(timestamp(leap), "20240229235959999");
    assert_eq!(timestamp(leap + Duration::from_millis(1)), "20240301000000000");
    let eoy = parse_timestamp("20991231235959999").unwrap();
    assert_eq!(timestamp(eoy + Duration::from_millis(1)), "21000101000000000");
}

#[test]
fn parse_rejects_impossible_dates() {
    for bad in [
        "2023120508093702",   // 16 digits
        "202312050809370280", // 18 digits
        "2023120508093702x",
        "20230229000000000", // not a leap year
        "20231301000000000",
        "20231200000000000",
        "20231205240000000",
        "20231205086000000",
        "20231205080960000",
    ] {
        assert!(parse_timestamp(bad).is_none(), "{bad}");
    }
    assert!(parse_timestamp("20000229120000000").is_some());
}

#[test]
fn version_name_appends_valid_tag() {
    let t = parse_timestamp("20260101000000001").unwrap();
    assert_eq!(version_name(t, None).unwrap(), "20260101000000001");
    assert_eq!(version_name(t, Some("v1-2-0")).unwrap(), "20260101000000001-v1-2-0");
}

#[test]
fn tags_follow_serverpods_cli_rule() {
    for ok in ["a", "v1", "add-orders", "1-2-3", "x9"] {
        assert!(validate_tag(ok).is_ok(), "{ok}");
    }
    for bad in ["", "-a", "a-", "a--b", "Bad_Tag", "UPPER", "a b", "a.b", "a/b", "é"] {
        let err = validate_tag(bad).unwrap_err();
        assert!(matches!(err, ProjectError::InvalidTag { .. }), "{bad}");
        assert!(
            err.to_string().contains("Tag names can only contain lowercase letters, numbers, and dashes."),
            "{err}"
        );
    }
    let t = parse_timestamp("20260101000000001").unwrap();
    assert!(version_name(t, Some("Bad_Tag")).is_err());
}

#[test]
fn version_directory_names() {
    for ok in ["20231205080937028", "20251208110333922-v3-0-0", "20240101000000000-My Tag.1"] {
        assert!(is_version_name(ok), "{ok}");
    }
    for bad in
        ["2023120508093702", "20231205080937028-", "20231205080937028x", "abc", ".20231205080937028", ""]
    {
        assert!(!is_version_name(bad), "{bad}");
    }
}
