//! Go's float formatting where the API or text format needs it byte for byte:
//! `strconv.FormatFloat(v, 'g', -1, 64)` (text exposition) and
//! `FormatFloat(v, 'e', -1, 64)` (alert values).

/// Shortest decimal digits and decimal exponent of a finite non-zero `v`:
/// `v = 0.d1d2… × 10^(exp+1)`, i.e. `d1.d2… × 10^exp`.
fn digits(v: f64) -> (bool, String, i32) {
    let s = format!("{:e}", v.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (v.is_sign_negative(), digits, exp.parse().unwrap_or(0))
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

fn push_exp(out: &mut String, exp: i32) {
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn fmt_e(neg: bool, d: &str, exp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&d[..1]);
    if d.len() > 1 {
        out.push('.');
        out.push_str(&d[1..]);
    }
    push_exp(&mut out, exp);
    out
}

/// `strconv.FormatFloat(v, 'e', -1, 64)`, with Prometheus's `NaN`/`+Inf`/`-Inf`.
pub fn format_e(v: f64) -> String {
    if let Some(s) = special(v) {
        return s.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0e+00".into()
        } else {
            "0e+00".into()
        };
    }
    let (neg, d, exp) = digits(v);
    fmt_e(neg, &d, exp)
}

/// `strconv.FormatFloat(v, 'g', -1, 64)`, with `NaN`/`+Inf`/`-Inf` (the text
/// exposition format's value spelling).
pub fn format_g(v: f64) -> String {
    if let Some(s) = special(v) {
        return s.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (neg, d, exp) = digits(v);
    if !(-4..6).contains(&exp) {
        return fmt_e(neg, &d, exp);
    }
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&d);
    } else {
        let int_len = exp as usize + 1;
        if d.len() <= int_len {
            out.push_str(&d);
            for _ in d.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&d[..int_len]);
            out.push('.');
            out.push_str(&d[int_len..]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_like_go() {
        assert_eq!(format_g(1.0), "1");
        assert_eq!(format_g(0.5), "0.5");
        assert_eq!(format_g(100000.0), "100000");
        assert_eq!(format_g(1e6), "1e+06");
        assert_eq!(format_g(1234567.0), "1.234567e+06");
        assert_eq!(format_g(1704110437.12), "1.70411043712e+09");
        assert_eq!(format_g(0.0001), "0.0001");
        assert_eq!(format_g(0.00001), "1e-05");
        assert_eq!(format_g(-2.5), "-2.5");
        assert_eq!(format_g(123.456), "123.456");
        assert_eq!(format_g(0.0), "0");
        assert_eq!(format_g(f64::NAN), "NaN");
        assert_eq!(format_g(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_g(1e100), "1e+100");
    }

    #[test]
    fn e_like_go() {
        assert_eq!(format_e(1.0), "1e+00");
        assert_eq!(format_e(1.5), "1.5e+00");
        assert_eq!(format_e(0.000023), "2.3e-05");
        assert_eq!(format_e(-1234.0), "-1.234e+03");
        assert_eq!(format_e(0.0), "0e+00");
        assert_eq!(format_e(f64::INFINITY), "+Inf");
    }
}
