//! Float parsing and formatting with Prometheus's (Go's) rules.
//!
//! Prometheus parses sample values with `strconv.ParseFloat` after rejecting
//! `p`, `P` and `_` (so hex floats and digit separators are errors). That
//! accepts decimal and exponent notation, `Inf`/`Infinity` with an optional
//! sign and `NaN` without a sign, all case-insensitively, and rejects finite
//! literals that overflow to infinity. [`parse_go_float`] does the same, with a
//! fast path for plain decimals.

/// The NaN bit pattern Prometheus stores for every parsed NaN
/// (`value.NormalNaN`), distinct from the staleness marker.
pub const NORMAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0001;

/// Powers of ten exactly representable as `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Why a value did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatError {
    /// Not a float at all.
    Syntax,
    /// A finite literal too large for `f64`.
    Range,
}

/// Parses `s` as Go's `strconv.ParseFloat(s, 64)` does after Prometheus's
/// pre-check, canonicalising NaN to [`NORMAL_NAN_BITS`].
#[inline(always)]
pub(crate) fn parse_go_float(s: &[u8]) -> Result<f64, FloatError> {
    if let Some(v) = fast_decimal(s) {
        return Ok(v);
    }
    slow_parse(s)
}

/// Exact result for `[-+]?digits[.digits]` with at most 15 significant
/// digits in total and a short fraction (Clinger's fast path), else `None`.
#[inline(always)]
fn fast_decimal(s: &[u8]) -> Option<f64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mant: u64 = 0;
    let mut k = 0;
    while let Some(&c) = digits.get(k) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        mant = mant * 10 + u64::from(d);
        k += 1;
    }
    let int_digits = k;
    let mut frac_digits = 0;
    if k < digits.len() {
        if digits.get(k) != Some(&b'.') {
            return None;
        }
        k += 1;
        while let Some(&c) = digits.get(k) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            mant = mant * 10 + u64::from(d);
            k += 1;
            frac_digits += 1;
        }
    }
    let ndigits = int_digits + frac_digits;
    if ndigits == 0 || ndigits > 15 {
        return None;
    }
    // mant < 10^15 < 2^53, so it and the power of ten are exact and one
    // correctly rounded division gives the correctly rounded result.
    let mut v = mant as f64;
    if frac_digits > 0 {
        v /= *POW10.get(frac_digits)?;
    }
    Some(if neg { -v } else { v })
}

#[cold]
fn slow_parse(s: &[u8]) -> Result<f64, FloatError> {
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let signed = body.len() != s.len();
    match body.first() {
        Some(b'i' | b'I') => {
            if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
                return Ok(if neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                });
            }
            return Err(FloatError::Syntax);
        }
        Some(b'n' | b'N') => {
            // Go accepts NaN only without a sign.
            if !signed && body.eq_ignore_ascii_case(b"nan") {
                return Ok(f64::from_bits(NORMAL_NAN_BITS));
            }
            return Err(FloatError::Syntax);
        }
        Some(b'0'..=b'9' | b'.') => {}
        _ => return Err(FloatError::Syntax),
    }
    // What is left must be a decimal literal; Rust's grammar for those is
    // Go's (no hex, no underscores), so it decides syntax and rounding.
    if !body
        .iter()
        .all(|c| matches!(c, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return Err(FloatError::Syntax);
    }
    let text = std::str::from_utf8(s).map_err(|_| FloatError::Syntax)?;
    let v: f64 = text.parse().map_err(|_| FloatError::Syntax)?;
    if v.is_infinite() {
        return Err(FloatError::Range);
    }
    Ok(v)
}

/// Formats `f` like Prometheus's `labels.FormatOpenMetricsFloat`: Go's
/// shortest `%g` form, with `.0` appended when it has neither a point nor an
/// exponent (`1` → `1.0`, `1e+06` stays, `0.25` stays, `+Inf`).
pub fn format_openmetrics_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".to_string()
        } else {
            "-Inf".to_string()
        };
    }
    if f == 0.0 {
        return "0.0".to_string();
    }
    // Shortest round-trip digits and the decimal exponent, e.g. "-1.25e-7".
    let sci = format!("{:e}", f);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let nd = digits.len() as i32;
    let mut out = String::with_capacity(24);
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        // Go's %e with the shortest digits and a two-digit minimum exponent.
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
        return out;
    }
    // %f with exactly the significant digits.
    let dp = exp + 1; // digits before the decimal point
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        for _ in 0..(dp - nd) {
            out.push('0');
        }
        out.push_str(".0");
    } else {
        let (int, frac) = digits.split_at(dp as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<f64, FloatError> {
        parse_go_float(s.as_bytes())
    }

    #[test]
    fn plain_decimals_are_exact() {
        assert_eq!(p("1"), Ok(1.0));
        assert_eq!(p("-0.5"), Ok(-0.5));
        assert_eq!(p("+12.25"), Ok(12.25));
        assert_eq!(p("0.1"), Ok(0.1));
        assert_eq!(p("123456789.123456"), Ok(123456789.123456));
        assert_eq!(p("5."), Ok(5.0));
        assert_eq!(p(".5"), Ok(0.5));
        assert_eq!(p("1.7976931348623157e308"), Ok(f64::MAX));
        assert_eq!(p("12345678901234567890"), Ok(12345678901234567890.0));
        assert_eq!(p("0.30000000000000004"), Ok(0.30000000000000004));
    }

    #[test]
    fn exponents_and_specials() {
        assert_eq!(p("1e3"), Ok(1000.0));
        assert_eq!(p("2.5E-3"), Ok(0.0025));
        assert_eq!(p("1e+2"), Ok(100.0));
        assert_eq!(p("+Inf"), Ok(f64::INFINITY));
        assert_eq!(p("-Inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(p("Inf"), Ok(f64::INFINITY));
        assert_eq!(p("infinity"), Ok(f64::INFINITY));
        assert_eq!(p("-INFINITY"), Ok(f64::NEG_INFINITY));
        assert_eq!(p("NaN").map(f64::to_bits), Ok(NORMAL_NAN_BITS));
        assert_eq!(p("nan").map(f64::to_bits), Ok(NORMAL_NAN_BITS));
        assert_eq!(p("1e-400"), Ok(0.0));
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for bad in [
            "", "+", "-", ".", "e5", "1e", "1e+", "0x1p3", "0x10", "1_000", "+NaN", "-nan",
            "infin", "1.2.3", "1e400", "-1e400", "12a", " 1", "1 ", "--1", "∞",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(p("1e400"), Err(FloatError::Range));
    }

    #[test]
    fn formats_like_go() {
        let cases = [
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-1.0, "-1.0"),
            (0.25, "0.25"),
            (2.5, "2.5"),
            (10.0, "10.0"),
            (100000.0, "100000.0"),
            (1e6, "1e+06"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (-0.005, "-0.005"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (f, want) in cases {
            assert_eq!(format_openmetrics_float(f), want, "{f}");
        }
    }
}
