//! Floats as Prometheus prints them: Go's `strconv.FormatFloat(f, 'f', -1,
//! 64)` (the shortest digits that read back as `f`, never an exponent) and
//! `NaN`, `+Inf`, `-Inf`. Used by the API's JSON and wherever a float
//! becomes a label value (`count_values`, `quantile`, `histogram_quantile`
//! bucket labels), so that those match Prometheus's to the byte.

/// Formats `f` as Prometheus's API and test scripts print it.
pub fn format_float(f: f64) -> String {
    let mut s = String::new();
    write_float(&mut s, f);
    s
}

/// Appends [`format_float`]'s text without allocating.
pub fn write_float(out: &mut String, f: f64) {
    if f.is_finite() {
        write_finite(out, f);
    } else if f.is_nan() {
        out.push_str("NaN");
    } else if f > 0.0 {
        out.push_str("+Inf");
    } else {
        out.push_str("-Inf");
    }
}

/// Writes finite `f` into `buf` from `at` as [`write_float`] would, when its
/// shortest form needs no exponent (every value from 1e-5 up to 1e16, which
/// is nearly every value a query answers); returns the end. Returns `None`,
/// having written nothing, when the form has an exponent or `buf` has
/// fewer than 24 bytes after `at`. The JSON point writer uses it to build a
/// whole point on the stack.
pub fn put_plain(buf: &mut [u8], at: usize, f: f64) -> Option<usize> {
    let mut zb = zmij::Buffer::new();
    let s = zb.format_finite(f).as_bytes();
    let s = s.strip_suffix(b".0").unwrap_or(s);
    let room = buf.get_mut(at..at.checked_add(24)?)?;
    // An exponent, if any, is among the last five bytes (`e+308`).
    if s.len() > room.len() || s[s.len().saturating_sub(5)..].contains(&b'e') {
        return None;
    }
    room[..s.len()].copy_from_slice(s);
    Some(at + s.len())
}

/// Appends finite `f` as Go's `strconv.FormatFloat(f, 'f', -1, 64)` does:
/// the shortest digits that read back as `f`, never an exponent. Żmij
/// (`zmij`, about twice as fast as Ryu here and the same digits: compared
/// on 10^8 values) finds the digits; its exponent form (`1e-7`, `1e+21`) is
/// expanded here. Where two shortest candidates are equally near `f`, Go
/// and Żmij take the even last digit; Rust's `{}` rounds up, so it is not
/// used.
fn write_finite(out: &mut String, f: f64) {
    let mut buf = zmij::Buffer::new();
    let s = buf.format_finite(f);
    // An exponent, if any, is among the last five bytes (`e+308`).
    let tail = s.len().saturating_sub(5);
    let exp_at = s
        .as_bytes()
        .get(tail..)
        .and_then(|t| t.iter().position(|&b| b == b'e'));
    let Some(e) = exp_at.map(|p| tail + p) else {
        out.push_str(s.strip_suffix(".0").unwrap_or(s));
        return;
    };
    let (mantissa, exp) = (&s[..e], &s[e + 1..]);
    let exp: i64 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let int_len = mantissa.find('.').unwrap_or(mantissa.len()) as i64;
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    // Position of the decimal point within `digits`.
    let point = int_len + exp;
    out.push_str(sign);
    let n = digits.len() as i64;
    if point <= 0 {
        out.push_str("0.");
        for _ in 0..-point {
            out.push('0');
        }
        out.push_str(digits);
    } else if point >= n {
        out.push_str(digits);
        for _ in 0..point - n {
            out.push('0');
        }
    } else {
        let p = point as usize;
        out.push_str(&digits[..p]);
        out.push('.');
        out.push_str(&digits[p..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(f: f64) -> String {
        format_float(f)
    }

    /// Rust's shortest form, which differs from Go's only at ties.
    fn rust(f: f64) -> String {
        format!("{f}")
    }

    /// Shortest digits that read back as `f`, as Go prints them; where
    /// two shortest candidates are equally near (a tie), Go and Ryu take
    /// the even digit while Rust's `{}` rounds up.
    fn check(f: f64) {
        let s = ours(f);
        let std = rust(f);
        assert!(!s.contains(['e', 'E']), "{s}");
        assert_eq!(s.parse::<f64>().ok(), Some(f), "{s} reads back");
        assert_eq!(s.len(), std.len(), "{s} vs {std}: same digit count");
        if s != std {
            // Only the last digit may differ, by one, at a tie.
            let (a, b) = (s.as_bytes(), std.as_bytes());
            let n = a.len();
            assert_eq!(a[..n - 1], b[..n - 1], "{s} vs {std}");
            assert_eq!(b[n - 1], a[n - 1] + 1, "{s} vs {std}");
            assert_eq!((a[n - 1] - b'0') % 2, 0, "{s}: the even digit");
        }
    }

    #[test]
    // The tie literals are exact binary values; clippy counts their digits.
    #[allow(clippy::excessive_precision)]
    fn floats_match_go_formatting() {
        let fixed = [
            0.0,
            -0.0,
            1.0,
            0.1,
            -2.5,
            1e21,
            1e22,
            1.5e300,
            1e-7,
            1.2345e-7,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            123456789.125,
            0.377889953435423,
            1793491860.0,
        ];
        for f in fixed {
            assert_eq!(ours(f), rust(f), "{f:e}");
        }
        // Printed by Prometheus 2.42 (Go) for `vector(…)` of these values.
        assert_eq!(ours(165_793_407_361_858.125), "165793407361858.12");
        assert_eq!(ours(1_152_921_504_606_846_976.5), "1152921504606847000");
        assert_eq!(ours(9_007_199_254_740_993.0), "9007199254740992");
        // Random bit patterns cover every exponent; random "nice" values
        // cover the common short decimals.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for i in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = if i % 2 == 0 {
                f64::from_bits(x)
            } else {
                (x % 1_000_000_007) as f64 / 10f64.powi((x % 23) as i32 - 8)
            };
            if f.is_finite() {
                check(f);
            }
        }
        assert_eq!(ours(f64::NAN), "NaN");
        // The plain writer agrees wherever it writes, and declines exactly
        // the exponent forms.
        let mut buf = [0u8; 40];
        for f in [
            0.1, -2.5, 1e-5, 1e-6, 1e15, 1e16, 1e21, 123.0, -0.0, 0.0, 5e-324,
        ] {
            let (plain, general) = (put_plain(&mut buf, 3, f), ours(f));
            let z = zmij::Buffer::new().format_finite(f).contains('e');
            match plain {
                Some(end) => assert_eq!(&buf[3..end], general.as_bytes(), "{f:e}"),
                None => assert!(z, "{f:e} declined without an exponent"),
            }
        }
        assert_eq!(put_plain(&mut buf, 20, 0.5), None, "short buffer");
        assert_eq!(ours(f64::INFINITY), "+Inf");
        assert_eq!(ours(f64::NEG_INFINITY), "-Inf");
        // A tie: Go prints the even digit, Rust's `{}` the odd one.
        assert_eq!(ours(1_658_206_780_088_562.25), "1658206780088562.2");
        assert_eq!(rust(1_658_206_780_088_562.25), "1658206780088562.3");
    }
}
