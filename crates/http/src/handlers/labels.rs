//! `/api/v1/labels` and `/api/v1/label/{name}/values`.

use std::collections::BTreeSet;

use axum::extract::{Path, State};

use super::{blocking, match_sets, TRUNCATED};
use crate::params::{Params, MAX_TIME_MS, MIN_TIME_MS};
use crate::response::{ApiResponse, ApiResult};
use crate::{ApiError, ApiState};

fn limited(mut v: Vec<String>, limit: usize) -> ApiResponse {
    let mut warnings = Vec::new();
    if limit > 0 && v.len() > limit {
        v.truncate(limit);
        warnings.push(TRUNCATED.to_string());
    }
    ApiResponse::of(&v).with_warnings(warnings)
}

/// `GET|POST /api/v1/labels`.
pub async fn label_names(State(state): State<ApiState>, p: Params) -> ApiResult {
    let limit = p.limit()?;
    let start = p.time("start", MIN_TIME_MS)?;
    let end = p.time("end", MAX_TIME_MS)?;
    let sets = match_sets(&p)?;
    let names = blocking(&state, move |st| {
        let q = st.storage.querier(start, end)?;
        if sets.is_empty() {
            return Ok(q.label_names(&[])?);
        }
        let mut all = BTreeSet::new();
        for ms in &sets {
            all.extend(q.label_names(ms)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    Ok(limited(names, limit))
}

/// `GET|POST /api/v1/label/{name}/values`; `U__`-escaped names are decoded.
pub async fn label_values(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    p: Params,
) -> ApiResult {
    let name = if name.starts_with("U__") {
        unescape_name(&name)
    } else {
        name
    };
    if name.is_empty() {
        return Err(ApiError::invalid_param(
            "label",
            format!("invalid label name: {name:?}"),
        ));
    }
    let limit = p.limit()?;
    let start = p.time("start", MIN_TIME_MS)?;
    let end = p.time("end", MAX_TIME_MS)?;
    let sets = match_sets(&p)?;
    let values = blocking(&state, move |st| {
        let q = st.storage.querier(start, end)?;
        if sets.is_empty() {
            return Ok(q.label_values(&name, &[])?);
        }
        let mut all = BTreeSet::new();
        for ms in &sets {
            all.extend(q.label_values(&name, ms)?);
        }
        Ok(all.into_iter().collect())
    })
    .await?;
    Ok(limited(values, limit))
}

/// Decodes Prometheus's "values" escaping of UTF-8 names: `U__` prefix,
/// `__` for `_`, `_<hex>_` for any other character. Returns the input
/// unchanged when it is not validly escaped (as `model.UnescapeName`).
pub fn unescape_name(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            if !(c.is_ascii_alphanumeric()) {
                return name.to_string();
            }
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let mut hex = String::new();
        loop {
            match chars.next() {
                Some('_') => break,
                Some(h) if h.is_ascii_hexdigit() && hex.len() < 8 => hex.push(h),
                _ => return name.to_string(),
            }
        }
        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(ch) => out.push(ch),
            None => return name.to_string(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_utf8_names() {
        assert_eq!(unescape_name("U__http_2e_status"), "http.status");
        assert_eq!(unescape_name("U__a__b"), "a_b");
        assert_eq!(unescape_name("U__caf_e9_"), "café");
        assert_eq!(unescape_name("U__1_2e_2"), "1.2");
        assert_eq!(unescape_name("U__bad_zz_"), "U__bad_zz_");
        assert_eq!(unescape_name("U__open_2e"), "U__open_2e");
        assert_eq!(unescape_name("job"), "job");
    }
}
