//! Prometheus duration strings: `1h30m`, `500ms`, `2d`, `1y`, `0`.
//!
//! Units in decreasing order, each at most once: `y` (365 days), `w`, `d`,
//! `h`, `m`, `s`, `ms`. This is the grammar of Prometheus's
//! `model.ParseDuration`, used by PromQL, configuration files and the API.

/// A duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid duration string: {0:?}")]
pub struct DurationError(pub String);

const UNITS: &[(&str, i64)] = &[
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a duration into milliseconds.
///
/// ```
/// use promlite_model::duration::parse_duration;
/// assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
/// assert_eq!(parse_duration("500ms").unwrap(), 500);
/// assert!(parse_duration("1.5h").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    let err = || DurationError(s.to_string());
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err());
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut last_unit = usize::MAX; // index into UNITS of the previous unit
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(err());
        }
        let n: i64 = s[start..i].parse().map_err(|_| err())?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let idx = UNITS.iter().position(|(u, _)| *u == unit).ok_or_else(err)?;
        if last_unit != usize::MAX && idx <= last_unit {
            return Err(err());
        }
        last_unit = idx;
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(err)?;
    }
    Ok(total)
}

/// Formats milliseconds the way Prometheus prints durations (`1h30m`, `0s`).
///
/// ```
/// use promlite_model::duration::format_duration;
/// assert_eq!(format_duration(5_400_000), "1h30m");
/// assert_eq!(format_duration(0), "0s");
/// assert_eq!(format_duration(-60_000), "-1m");
/// ```
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let mut rest = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    for (u, mult) in UNITS {
        let mult = *mult as u64;
        if rest >= mult {
            out.push_str(&(rest / mult).to_string());
            out.push_str(u);
            rest %= mult;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse_duration("1y").unwrap(), 365 * 86_400_000);
        assert_eq!(parse_duration("1m30s").unwrap(), 90_000);
        assert_eq!(parse_duration("10s53ms").unwrap(), 10_053);
        assert_eq!(parse_duration("0").unwrap(), 0);
        for bad in [
            "",
            "1",
            "s",
            "1s1m",
            "1m1m",
            "-1s",
            "1.5s",
            "1x",
            "99999999999999999999y",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        for s in ["1h30m", "5m", "1d", "1w2d", "10s53ms", "1y"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }
}
