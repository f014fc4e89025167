//! Identifier rules and PostgreSQL length limits for tables, fields, columns and indexes.

use sha2::{Digest, Sha256};

/// PostgreSQL's identifier limit (NAMEDATALEN - 1).
pub const MAX_IDENTIFIER: usize = 63;
/// 7 characters are reserved for `_id_seq` / `_fk_N` suffixes.
pub const MAX_TABLE: usize = MAX_IDENTIFIER - 7;
/// 2 characters are reserved for the `Id` suffix of implicit foreign-key fields.
pub const MAX_FIELD: usize = MAX_IDENTIFIER - 2;

/// PascalCase class / enum names.
pub fn is_class_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_uppercase()) && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// lowerCamelCase (or snake_case) field and column names.
pub fn is_field_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_lowercase()) && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A Dart identifier, as Serverpod's `isValidEnumName` accepts for enum values (`daily`,
/// `Daily`, `A`, `_x`): letters, digits and underscores, not starting with a digit.
pub fn is_enum_value_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `^[a-z]+[a-z0-9_]*$`, at most 56 characters.
pub fn check_table_name(s: &str) -> Result<(), String> {
    let mut c = s.chars();
    let ok = matches!(c.next(), Some(f) if f.is_ascii_lowercase())
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(format!(
            "invalid table name \"{s}\"; use lower snake_case starting with a letter (^[a-z]+[a-z0-9_]*$)"
        ));
    }
    let n = s.chars().count();
    if n > MAX_TABLE {
        return Err(format!(
            "table name \"{s}\" is {n} characters long; the limit is {MAX_TABLE} (63 minus 7 reserved for _id_seq/_fk_N)"
        ));
    }
    Ok(())
}

/// Field or column name syntax and the 61-character limit.
pub fn check_field_name(s: &str, what: &str) -> Result<(), String> {
    if !is_field_name(s) {
        return Err(format!(
            "invalid {what} name \"{s}\"; use lowerCamelCase starting with a lowercase letter (letters, digits, _)"
        ));
    }
    let n = s.chars().count();
    if n > MAX_FIELD {
        return Err(format!(
            "{what} name \"{s}\" is {n} characters long; the limit is {MAX_FIELD} (63 minus 2 reserved for an Id suffix)"
        ));
    }
    Ok(())
}

/// Serverpod's index-name pattern `^[a-z]+((\d)|([A-Z0-9_][a-z0-9_]+))*([A-Z])?$`.
fn matches_index_pattern(s: &str) -> bool {
    let b = s.as_bytes();
    let lower = |c: u8| c.is_ascii_lowercase();
    let tail_char = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_';
    // memo[i]: whether b[i..] matches `((\d)|([A-Z0-9_][a-z0-9_]+))*([A-Z])?$`.
    let n = b.len();
    let mut memo = vec![false; n + 1];
    memo[n] = true;
    for i in (0..n).rev() {
        let mut ok = i + 1 == n && b[i].is_ascii_uppercase();
        if !ok && b[i].is_ascii_digit() && memo[i + 1] {
            ok = true;
        }
        if !ok && (b[i].is_ascii_uppercase() || b[i].is_ascii_digit() || b[i] == b'_') {
            let mut j = i + 1;
            while j < n && tail_char(b[j]) {
                j += 1;
                if memo[j] {
                    ok = true;
                    break;
                }
            }
        }
        memo[i] = ok;
    }
    let mut k = 0;
    while k < n && lower(b[k]) {
        k += 1;
        if memo[k] {
            return true;
        }
    }
    false
}

/// Index name syntax and the 63-character limit.
pub fn check_index_name(s: &str) -> Result<(), String> {
    if !matches_index_pattern(s) {
        return Err(format!("invalid index name \"{s}\"; use lower snake_case such as my_table_name_idx"));
    }
    let n = s.chars().count();
    if n > MAX_IDENTIFIER {
        return Err(format!("index name \"{s}\" is {n} characters long; the limit is {MAX_IDENTIFIER}"));
    }
    Ok(())
}

/// Serverpod's `toCamelCase` (serverpod_shared): split at spaces and underscores, then every
/// part capitalised (first letter upper, the rest lower), the first part lowercased instead
/// when `lower_first`. So `userNotes` -> `Usernotes`, `user_note` -> `UserNote`.
pub fn serverpod_camel_case(s: &str, lower_first: bool) -> String {
    let capitalize = |p: &str| {
        let mut c = p.chars();
        match c.next() {
            Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
            None => String::new(),
        }
    };
    let mut out = String::with_capacity(s.len());
    for (i, part) in s.split([' ', '_']).enumerate() {
        if i == 0 && lower_first {
            out.push_str(&part.to_lowercase());
        } else {
            out.push_str(&capitalize(part));
        }
    }
    out
}

/// Serverpod's deterministic identifier truncation: when `identifier` is longer than
/// `max_len`, its tail is replaced by the first `hash_len` hex digits of its SHA-256, so distinct
/// long names stay distinct and the result is stable across runs.
pub fn truncate_identifier(identifier: &str, max_len: usize, hash_len: usize) -> String {
    if identifier.chars().count() <= max_len {
        return identifier.to_string();
    }
    let digest = Sha256::digest(identifier.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let hash_len = hash_len.min(hex.len()).min(max_len);
    let head: String = identifier.chars().take(max_len - hash_len).collect();
    format!("{head}{}", &hex[..hash_len])
}

/// `<table>__<col>__…__unique_idx`, with the part before the suffix truncated (10-hex digest)
/// so the whole name fits in 63 characters.
pub fn unique_index_name(table: &str, columns: &[String]) -> String {
    const SUFFIX: &str = "__unique_idx";
    let base = format!("{table}__{}", columns.join("__"));
    format!("{}{SUFFIX}", truncate_identifier(&base, MAX_IDENTIFIER - SUFFIX.len(), 10))
}

/// The name of an injected foreign-key field: `<base>` truncated to 61 characters plus `Id`.
pub fn implicit_id_field(base: &str) -> String {
    format!("{}Id", truncate_identifier(base, MAX_FIELD, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_pattern() {
        for ok in ["a", "my_idx", "idx1", "user_info_idx", "fooB", "a_b_c", "abc__def"] {
            assert!(matches_index_pattern(ok), "{ok}");
        }
        for bad in ["", "A", "1a", "_a", "my-idx", "a B", "aBC"] {
            assert!(!matches_index_pattern(bad), "{bad}");
        }
        assert!(!matches_index_pattern(&"a_".repeat(5000).replace("a_a", "a_A")));
    }

    #[test]
    fn table_limits() {
        assert!(check_table_name(&"a".repeat(56)).is_ok());
        let e = check_table_name(&"a".repeat(57)).unwrap_err();
        assert!(e.contains("57 characters long; the limit is 56"), "{e}");
        assert!(check_table_name("Company").unwrap_err().contains("invalid table name"));
    }

    #[test]
    fn case_conversion() {
        assert_eq!(serverpod_camel_case("user_data", true), "userData");
        assert_eq!(serverpod_camel_case("user_data", false), "UserData");
        assert_eq!(serverpod_camel_case("chapters", false), "Chapters");
        // Serverpod lowercases the rest of each part: a camelCase field loses its humps.
        assert_eq!(serverpod_camel_case("bookChapters", false), "Bookchapters");
    }

    #[test]
    fn truncation_matches_serverpod() {
        assert_eq!(truncate_identifier("short", 10, 4), "short");
        let long = "abcdefghijklmnop";
        let hex: String = Sha256::digest(long.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(truncate_identifier(long, 10, 4), format!("abcdef{}", &hex[..4]));
        let cols: Vec<String> = (0..8).map(|i| format!("someColumnName{i}")).collect();
        let name = unique_index_name("table", &cols);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("__unique_idx"));
        let base = format!("table__{}", cols.join("__"));
        let hex: String = Sha256::digest(base.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(name, format!("{}{}__unique_idx", &base[..41], &hex[..10]));
        assert_eq!(unique_index_name("t", &["a".into()]), "t__a__unique_idx");
        assert_eq!(implicit_id_field("company"), "companyId");
        assert_eq!(implicit_id_field(&"x".repeat(70)).len(), 63);
    }
}
