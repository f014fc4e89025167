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

/// lowerCamelCase (or snake_case) field, column and enum value names.
pub fn is_field_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_lowercase()) && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
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

/// `first` lowercased as in Dart's camelCase of a snake_case name (`user_data` -> `userData`).
pub fn camel(s: &str) -> String {
    let p = pascal(s);
    let mut c = p.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// PascalCase of a snake_case or camelCase name (`user_data` -> `UserData`, `items` -> `Items`).
pub fn pascal(s: &str) -> String {
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Keeps an identifier within 63 characters: when longer, the middle is replaced by the first
/// 10 hex digits of its SHA-256, keeping `suffix` so the name still says what it is.
pub fn truncate_identifier(name: &str, suffix: &str) -> String {
    if name.len() <= MAX_IDENTIFIER {
        return name.to_string();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    let keep = MAX_IDENTIFIER.saturating_sub(suffix.len() + hex.len() + 1);
    let prefix: String = name.chars().take(keep).collect();
    format!("{prefix}_{hex}{suffix}")
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
        assert_eq!(camel("user_data"), "userData");
        assert_eq!(pascal("user_data"), "UserData");
        assert_eq!(pascal("chapters"), "Chapters");
        assert_eq!(pascal("bookChapters"), "BookChapters");
    }

    #[test]
    fn truncation_keeps_suffix_and_is_stable() {
        let long = format!("{}__unique_idx", "t__".repeat(30));
        let t = truncate_identifier(&long, "__unique_idx");
        assert_eq!(t.len(), 63);
        assert!(t.ends_with("__unique_idx"));
        assert_eq!(t, truncate_identifier(&long, "__unique_idx"));
        assert_ne!(t, truncate_identifier(&format!("x{long}"), "__unique_idx"));
        assert_eq!(truncate_identifier("short__unique_idx", "__unique_idx"), "short__unique_idx");
    }
}
