//! Serde helpers for Prometheus's `<duration>` and `<size>` placeholders.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Parses a Prometheus `<size>` such as `10MB`, `512KiB` or `0` into bytes.
///
/// Units are powers of 1024 (Prometheus uses base-2 bytes): `B`, `KB`/`KiB`,
/// `MB`/`MiB`, `GB`/`GiB`, `TB`/`TiB`, `PB`/`PiB`, `EB`/`EiB`. A unit is
/// required except for a bare `0`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t == "0" {
        return Ok(0);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "invalid size {s:?}: expected a number followed by a unit such as 10MB"
        ));
    }
    let n: u64 = num.parse().map_err(|_| format!("invalid size {s:?}"))?;
    let shift = match unit {
        "B" => 0,
        "KB" | "KiB" => 10,
        "MB" | "MiB" => 20,
        "GB" | "GiB" => 30,
        "TB" | "TiB" => 40,
        "PB" | "PiB" => 50,
        "EB" | "EiB" => 60,
        "" => {
            return Err(format!(
                "invalid size {s:?}: a unit is required (B, KB, MB, GB, TB, PB, EB)"
            ))
        }
        _ => return Err(format!("invalid size {s:?}: unknown unit {unit:?}")),
    };
    n.checked_mul(1u64 << shift)
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

fn parse_dur(s: &str) -> Result<Duration, String> {
    let ms = promlite_model::duration::parse_duration(s).map_err(|e| e.to_string())?;
    Ok(Duration::from_millis(ms.max(0) as u64))
}

/// Formats a duration the way Prometheus prints it (`1m30s`, `0s`).
pub fn format_dur(d: Duration) -> String {
    promlite_model::duration::format_duration(d.as_millis().min(i64::MAX as u128) as i64)
}

/// `#[serde(deserialize_with)]` for a required-or-zero duration (absent → zero).
pub(crate) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_dur(&s).map_err(serde::de::Error::custom)
}

/// `#[serde(deserialize_with)]` for a `<size>`.
pub(crate) fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        N(u64),
        S(String),
    }
    match Raw::deserialize(d)? {
        Raw::N(0) => Ok(0),
        Raw::N(n) => Err(serde::de::Error::custom(format!(
            "invalid size {n}: a unit is required (B, KB, MB, GB, TB, PB, EB)"
        ))),
        Raw::S(s) => parse_size(&s).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("10MB"), Ok(10 << 20));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("7B"), Ok(7));
        assert!(parse_size("10").is_err());
        assert!(parse_size("MB").is_err());
        assert!(parse_size("10XB").is_err());
        assert!(parse_size("99999999999EB").is_err());
    }

    #[test]
    fn durations_format_like_prometheus() {
        assert_eq!(format_dur(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_dur(Duration::ZERO), "0s");
        assert_eq!(parse_dur("15s"), Ok(Duration::from_secs(15)));
        assert!(parse_dur("15").is_err());
    }
}
