//! Model default values (`default=`, `defaultPersist=`) -> the abstract `columnDefault` text
//! stored in definitions (§1.4): `10`, `'abc'`, `now`, `2024-05-24T22:00:00.000Z`, `serial`...

use strata_schema::defaults::quote_literal;

/// What a default is checked against: the field's scalar type.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultKind<'a> {
    Int,
    Double,
    Bool,
    String,
    DateTime,
    Duration,
    Uuid,
    Uri,
    BigInt,
    Enum {
        by_index: bool,
        values: &'a [String],
    },
    /// No defaults allowed; the text names the type for the message.
    Unsupported(String),
}

/// Strips matching single or double quotes and resolves backslash escapes.
fn unquote(raw: &str) -> Option<String> {
    let q = raw.chars().next()?;
    if !(q == '\'' || q == '"') || raw.len() < 2 || !raw.ends_with(q) {
        return None;
    }
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) => out.push(n),
                None => out.push('\\'),
            }
        } else if c == q {
            // An unescaped inner quote: only valid doubled (`''`), SQL style.
            match chars.next() {
                Some(n) if n == q => out.push(q),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Converts a default value as written in the model into the stored `columnDefault`.
pub fn column_default(kind: &DefaultKind, raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    match kind {
        DefaultKind::Int => {
            if raw == "serial" {
                return Ok("serial".into());
            }
            raw.parse::<i64>().map(|v| v.to_string()).map_err(|_| "expected an integer such as 10 (or serial)".into())
        }
        DefaultKind::Double => match raw.parse::<f64>() {
            Ok(v) if v.is_finite() && !raw.starts_with('+') && !raw.contains(['e', 'E']) => Ok(raw.to_string()),
            _ => Err("expected a number such as 10.5".into()),
        },
        DefaultKind::Bool => match raw {
            "true" | "false" => Ok(raw.to_string()),
            _ => Err("expected true or false".into()),
        },
        DefaultKind::String => {
            unquote(raw).map(|s| quote_literal(&s)).ok_or_else(|| "expected a quoted string such as 'text'".into())
        }
        DefaultKind::Uri => match unquote(raw) {
            Some(s) if !s.is_empty() && !s.contains(char::is_whitespace) => Ok(quote_literal(&s)),
            _ => Err("expected a quoted URI such as 'https://example.com'".into()),
        },
        DefaultKind::BigInt => {
            let inner = unquote(raw).unwrap_or_else(|| raw.to_string());
            let digits = inner.strip_prefix('-').unwrap_or(&inner);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err("expected an integer such as '12345678901234567890'".into());
            }
            Ok(quote_literal(&inner))
        }
        DefaultKind::DateTime => {
            if raw == "now" {
                return Ok("now".into());
            }
            let inner = unquote(raw).unwrap_or_else(|| raw.to_string());
            iso_utc(&inner)
                .ok_or_else(|| "expected now or an ISO 8601 timestamp such as 2024-05-24T22:00:00.000Z".into())
        }
        DefaultKind::Duration => duration_ms(raw)
            .map(|ms| ms.to_string())
            .ok_or_else(|| "expected a duration such as 1d 2h 10min 30s 100ms".into()),
        DefaultKind::Uuid => match raw {
            "random" | "random_v7" => Ok(raw.to_string()),
            _ => match unquote(raw) {
                Some(s) if is_uuid(&s) => Ok(quote_literal(&s)),
                _ => Err(
                    "expected random, random_v7 or a quoted UUID such as '550e8400-e29b-41d4-a716-446655440000'"
                        .into(),
                ),
            },
        },
        DefaultKind::Enum { by_index, values } => {
            let name = unquote(raw).unwrap_or_else(|| raw.to_string());
            match values.iter().position(|v| *v == name) {
                Some(i) if *by_index => Ok(i.to_string()),
                Some(_) => Ok(quote_literal(&name)),
                None => Err(format!("expected one of the enum's values: {}", values.join(", "))),
            }
        }
        DefaultKind::Unsupported(t) => Err(format!("default values are not supported for type {t}")),
    }
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `1d 2h 10min 30s 100ms` -> milliseconds; units may be omitted but must keep this order.
fn duration_ms(s: &str) -> Option<i64> {
    const UNITS: [(&str, i64); 5] =
        [("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000), ("ms", 1)];
    let mut total: i64 = 0;
    let mut next_unit = 0;
    let mut any = false;
    for tok in s.split_whitespace() {
        let split = tok.find(|c: char| !c.is_ascii_digit())?;
        let (num, unit) = tok.split_at(split);
        let n: i64 = num.parse().ok()?;
        let pos = UNITS.iter().position(|(u, _)| *u == unit)?;
        if pos < next_unit {
            return None;
        }
        next_unit = pos + 1;
        total = total.checked_add(n.checked_mul(UNITS[pos].1)?)?;
        any = true;
    }
    any.then_some(total)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

fn num(s: &str, len: usize) -> Option<i64> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an ISO 8601 date or date-time (offset optional, UTC assumed) into
/// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC.
pub fn iso_utc(s: &str) -> Option<String> {
    let s = s.trim();
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let mut dp = date.split('-');
    let (y, m, d) = (num(dp.next()?, 4)?, num(dp.next()?, 2)?, num(dp.next()?, 2)?);
    if dp.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let (clock, offset_min) = if time.is_empty() {
        ("00:00:00", 0)
    } else if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = time.rfind(['+', '-']) {
        let (c, off) = time.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let off = off[1..].replace(':', "");
        if !off.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (oh, om) = match off.len() {
            2 => (num(&off, 2)?, 0),
            4 => (num(&off[..2], 2)?, num(&off[2..], 2)?),
            _ => return None,
        };
        (c, sign * (oh * 60 + om))
    } else {
        (time, 0)
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut tp = hms.split(':');
    let h = num(tp.next()?, 2)?;
    let mi = num(tp.next()?, 2)?;
    let sec = match tp.next() {
        Some(x) => num(x, 2)?,
        None => 0,
    };
    if tp.next().is_some() || h > 23 || mi > 59 || sec > 59 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: i64 = format!("{:0<3}", frac.chars().take(3).collect::<String>()).parse().ok()?;
    let total_ms = ((days_from_civil(y, m, d) * 24 + h) * 60 + mi - offset_min) * 60_000 + sec * 1000 + ms;
    let days = total_ms.div_euclid(86_400_000);
    let rem = total_ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return None;
    }
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DefaultKind as K;

    #[test]
    fn table_of_section_1_4() {
        assert_eq!(column_default(&K::Int, "10").unwrap(), "10");
        assert_eq!(column_default(&K::Int, "-3").unwrap(), "-3");
        assert_eq!(column_default(&K::Int, "serial").unwrap(), "serial");
        assert_eq!(column_default(&K::Double, "10.5").unwrap(), "10.5");
        assert_eq!(column_default(&K::Bool, "true").unwrap(), "true");
        assert_eq!(column_default(&K::String, "'abc'").unwrap(), "'abc'");
        assert_eq!(column_default(&K::String, "\"abc\"").unwrap(), "'abc'");
        assert_eq!(column_default(&K::String, "'it\\'s'").unwrap(), "'it''s'");
        assert_eq!(column_default(&K::String, "\"it's\"").unwrap(), "'it''s'");
        assert_eq!(column_default(&K::DateTime, "now").unwrap(), "now");
        assert_eq!(
            column_default(&K::DateTime, "2024-05-24T22:00:00.000Z").unwrap(),
            "2024-05-24T22:00:00.000Z"
        );
        assert_eq!(column_default(&K::DateTime, "2024-05-24T22:00:00Z").unwrap(), "2024-05-24T22:00:00.000Z");
        assert_eq!(
            column_default(&K::DateTime, "2024-05-25T00:30:00+02:00").unwrap(),
            "2024-05-24T22:30:00.000Z"
        );
        assert_eq!(column_default(&K::DateTime, "2024-03-01").unwrap(), "2024-03-01T00:00:00.000Z");
        assert_eq!(
            column_default(&K::DateTime, "2024-05-24 22:00:00.12").unwrap(),
            "2024-05-24T22:00:00.120Z"
        );
        assert_eq!(column_default(&K::Duration, "1d 2h 10min 30s 100ms").unwrap(), "94230100");
        assert_eq!(column_default(&K::Duration, "5s").unwrap(), "5000");
        assert_eq!(column_default(&K::Uuid, "random").unwrap(), "random");
        assert_eq!(column_default(&K::Uuid, "random_v7").unwrap(), "random_v7");
        assert_eq!(
            column_default(&K::Uuid, "'550e8400-e29b-41d4-a716-446655440000'").unwrap(),
            "'550e8400-e29b-41d4-a716-446655440000'"
        );
        assert_eq!(column_default(&K::Uri, "'https://x'").unwrap(), "'https://x'");
        assert_eq!(column_default(&K::BigInt, "'123'").unwrap(), "'123'");
        let values = vec!["byName1".to_string(), "byName2".to_string()];
        assert_eq!(
            column_default(&K::Enum { by_index: false, values: &values }, "byName2").unwrap(),
            "'byName2'"
        );
        assert_eq!(column_default(&K::Enum { by_index: true, values: &values }, "byName2").unwrap(), "1");
    }

    #[test]
    fn rejections() {
        assert!(column_default(&K::Int, "1.5").is_err());
        assert!(column_default(&K::Double, "abc").is_err());
        assert!(column_default(&K::Bool, "yes").is_err());
        assert!(column_default(&K::String, "abc").is_err());
        assert!(column_default(&K::DateTime, "2024-02-30T00:00:00Z").is_err());
        assert!(column_default(&K::Duration, "2h 1d").is_err());
        assert!(column_default(&K::Duration, "").is_err());
        assert!(column_default(&K::DateTime, "2024-01-01T00:00:00+1\u{e9}1").is_err());
        assert!(column_default(&K::DateTime, "2024-01-01T00:00:00+\u{e9}\u{e9}").is_err());
        assert!(column_default(&K::Uuid, "'nope'").is_err());
        assert!(column_default(&K::BigInt, "'12a'").is_err());
        let values = vec!["a".to_string()];
        assert!(column_default(&K::Enum { by_index: false, values: &values }, "b")
            .unwrap_err()
            .contains("a"));
        assert!(column_default(&K::Unsupported("List<int>".into()), "x").unwrap_err().contains("List<int>"));
    }
}
