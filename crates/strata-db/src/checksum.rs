//! File checksums for the history table.
//!
//! SHA-256 (a fixed algorithm, so recorded values stay valid across Rust releases) of the file
//! with CRLF normalised to LF, so a Windows checkout with `core.autocrlf` does not look like an
//! edited migration (Flyway #253, sqlx #3794).

use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `sql` after CRLF → LF (a lone CR is kept as is).
pub fn checksum(sql: &str) -> String {
    let normalised = sql.replace("\r\n", "\n");
    let digest = Sha256::digest(normalised.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The first 12 hex digits, for messages and tables.
pub fn short(sum: &str) -> &str {
    sum.get(..12).unwrap_or(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_value() {
        assert_eq!(checksum("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn crlf_equals_lf() {
        assert_eq!(checksum("BEGIN;\r\nSELECT 1;\r\nCOMMIT;\r\n"), checksum("BEGIN;\nSELECT 1;\nCOMMIT;\n"));
    }

    #[test]
    fn content_change_changes_sum() {
        assert_ne!(checksum("SELECT 1;\n"), checksum("SELECT 2;\n"));
        assert_ne!(checksum("SELECT 1;\n"), checksum("SELECT 1;\n\n"));
    }

    #[test]
    fn short_form() {
        assert_eq!(short(&checksum("abc")), "ba7816bf8f01");
        assert_eq!(short("ab"), "ab");
    }
}
