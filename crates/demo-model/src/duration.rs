//! Parsing of human durations for the command line (`10m`, `1h30m`, `250ms`).
//!
//! This crate stands alone (it does not depend on promlite), so it carries its own
//! small parser using Prometheus's units: `ms`, `s`, `m`, `h`, `d`, `w`, `y`.

use std::time::Duration;

/// Parses a duration such as `10m`, `1h30m`, `90s` or `250ms`. A bare `0` is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err("empty duration".to_string());
    }
    let bytes = s.as_bytes();
    let mut total_ms: u128 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() {
            return Err(format!(
                "invalid duration {s:?}: expected a number at offset {start}"
            ));
        }
        let n: u128 = digits
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: number too large"))?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit_ms: u128 = match &s[unit_start..i] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            "" => {
                return Err(format!(
                    "invalid duration {s:?}: missing unit after {digits}"
                ))
            }
            other => return Err(format!("invalid duration {s:?}: unknown unit {other:?}")),
        };
        total_ms = n
            .checked_mul(unit_ms)
            .and_then(|v| total_ms.checked_add(v))
            .ok_or_else(|| format!("invalid duration {s:?}: too large"))?;
    }
    let ms = u64::try_from(total_ms).map_err(|_| format!("invalid duration {s:?}: too large"))?;
    Ok(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration(" 5s "), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "10",
            "m",
            "5x",
            "1.5m",
            "-3s",
            "99999999999999999999999999999999999999y",
            "1h m",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should fail");
        }
    }
}
