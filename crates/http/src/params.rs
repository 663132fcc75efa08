//! Request parameters: the merged URL query string and form body (Go's
//! `r.Form`), and the parsers for times, durations and limits with
//! Prometheus's error texts.

use axum::body::to_bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, Method};

use crate::ApiError;

/// Largest form body accepted (long `match[]` selectors from Grafana).
const MAX_FORM_BYTES: usize = 32 << 20;

/// Earliest time Prometheus represents, in ms (`v1.MinTime`).
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974_000;
/// Latest time Prometheus represents, in ms (`v1.MaxTime`).
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974_999;
const MIN_TIME_FORMATTED: &str = "-292273086-05-16T16:47:06Z";
const MAX_TIME_FORMATTED: &str = "292277025-08-18T07:12:54.999999999Z";

/// All parameters of a request: form-body values first, then the query
/// string's (so `get` prefers the body, like Go's `FormValue`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parameters from `application/x-www-form-urlencoded` text (`+` is a space).
    pub fn from_query(q: &str) -> Params {
        let mut p = Params::default();
        p.extend_from(q.as_bytes());
        p
    }

    fn extend_from(&mut self, bytes: &[u8]) {
        self.pairs
            .extend(form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())));
    }

    /// The first value of `key`, if present (an empty value counts as absent,
    /// as `FormValue(...) == ""` does in Prometheus).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `key`, in order.
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter in ms, or `default` when absent.
    pub fn time(&self, key: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(s) => parse_time(s).map_err(|e| ApiError::invalid_param(key, e)),
        }
    }

    /// A duration parameter in ms, if present.
    pub fn duration(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(s) => parse_duration_param(s)
                .map(Some)
                .map_err(|e| ApiError::invalid_param(key, e)),
        }
    }

    /// The `limit` parameter (0 = none), as `parseLimitParam`.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.get("limit") {
            None => Ok(0),
            Some(s) => parse_limit(s).map_err(|e| ApiError::invalid_param("limit", e)),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or("").to_string();
        let is_form = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
            && req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| {
                    ct.trim_start()
                        .to_ascii_lowercase()
                        .starts_with("application/x-www-form-urlencoded")
                });
        let mut p = Params::default();
        if is_form {
            let body = to_bytes(req.into_body(), MAX_FORM_BYTES)
                .await
                .map_err(|e| ApiError::bad_data(format!("error parsing form values: {e}")))?;
            p.extend_from(&body);
        }
        p.extend_from(query.as_bytes());
        Ok(p)
    }
}

/// Parses a Prometheus API time: float Unix seconds (rounded to ms) or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let err = || format!("cannot parse {s:?} to a valid timestamp");
    if let Some(f) = parse_go_float(s) {
        if !f.is_finite() {
            return Err(err());
        }
        let ms = (f * 1000.0).round();
        // Go's time.Unix accepts anything; clamp to the representable range.
        return Ok(if ms >= MAX_TIME_MS as f64 {
            MAX_TIME_MS
        } else if ms <= MIN_TIME_MS as f64 {
            MIN_TIME_MS
        } else {
            ms as i64
        });
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    match s {
        MIN_TIME_FORMATTED => Ok(MIN_TIME_MS),
        MAX_TIME_FORMATTED => Ok(MAX_TIME_MS),
        _ => Err(err()),
    }
}

/// Parses a duration parameter: float seconds or a Prometheus duration, in ms.
/// Positive sub-millisecond values round up to 1 ms.
pub fn parse_duration_param(s: &str) -> Result<i64, String> {
    if let Some(f) = parse_go_float(s) {
        if f.is_nan() {
            return Err(format!("cannot parse {s:?} to a valid duration"));
        }
        let ns = f * 1e9;
        if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&ns) {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        let ms = (f * 1000.0).round() as i64;
        return Ok(if ms == 0 && f > 0.0 { 1 } else { ms });
    }
    promlite_model::duration::parse_duration(s)
        .map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

/// Parses `limit` like Prometheus's `parseLimitParam` (with Go's messages).
pub fn parse_limit(s: &str) -> Result<usize, String> {
    let n: i64 = s.parse().map_err(|e: std::num::ParseIntError| {
        let what = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.Atoi: parsing {s:?}: {what}")
    })?;
    if n < 0 {
        return Err("limit must be non-negative".into());
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// A float as Go's `strconv.ParseFloat` reads API parameters: decimal and
/// exponent forms, `Inf`/`NaN` spellings; no Rust-only forms.
fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = t.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.to_ascii_lowercase().parse::<f64>().ok();
    }
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("4"), Ok(4000));
        assert_eq!(parse_time("1704110437.123"), Ok(1_704_110_437_123));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(
            parse_time("2015-07-01T22:10:51+02:00"),
            Ok(1_435_781_451_000)
        );
        assert_eq!(parse_time(MIN_TIME_FORMATTED), Ok(MIN_TIME_MS));
        assert_eq!(parse_time("1e30"), Ok(MAX_TIME_MS));
        assert_eq!(
            parse_time("abc"),
            Err("cannot parse \"abc\" to a valid timestamp".into())
        );
        assert!(parse_time("NaN").is_err());
        assert!(parse_time("").is_err());
        // ms-as-seconds from Grafana's exemplar probe are accepted
        assert_eq!(parse_time("1704110437123"), Ok(1_704_110_437_123_000));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_param("20"), Ok(20_000));
        assert_eq!(parse_duration_param("0.5"), Ok(500));
        assert_eq!(parse_duration_param("0.0001"), Ok(1));
        assert_eq!(parse_duration_param("1m0s"), Ok(60_000));
        assert_eq!(parse_duration_param("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_param("-5"), Ok(-5000));
        assert_eq!(
            parse_duration_param("x"),
            Err("cannot parse \"x\" to a valid duration".into())
        );
        assert!(parse_duration_param("1e300")
            .unwrap_err()
            .contains("overflows int64"));
    }

    #[test]
    fn limits() {
        assert_eq!(parse_limit("0"), Ok(0));
        assert_eq!(parse_limit("40000"), Ok(40000));
        assert_eq!(parse_limit("-1"), Err("limit must be non-negative".into()));
        assert_eq!(
            parse_limit("x"),
            Err("strconv.Atoi: parsing \"x\": invalid syntax".into())
        );
    }

    #[test]
    fn form_values() {
        let p = Params::from_query("query=1%2B1&time=4&match%5B%5D=a&match[]=b+c&empty=");
        assert_eq!(p.get("query"), Some("1+1"));
        assert_eq!(p.get_all("match[]"), vec!["a", "b c"]);
        assert_eq!(p.get("empty"), None);
        assert_eq!(p.time("time", 0).unwrap(), 4000);
        assert_eq!(p.time("missing", 7).unwrap(), 7);
        let e = Params::from_query("time=x").time("time", 0).unwrap_err();
        assert_eq!(
            e.message,
            "invalid parameter \"time\": cannot parse \"x\" to a valid timestamp"
        );
    }
}
