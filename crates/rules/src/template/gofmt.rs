//! Go's float formatting (`%g`, `%e`, `%f`, `%v`), `printf` and the
//! `humanize*` functions of Prometheus's templates.

use chrono::{DateTime, Utc};

use super::Val;

/// Decimal digits (no trailing zeros, at least one) and the decimal point
/// position (`0.d1d2… × 10^dp`) of a finite positive `v`, rounded to `prec`
/// significant digits or shortest when `None`.
fn digits(v: f64, prec: Option<usize>) -> (Vec<u8>, i32) {
    let s = match prec {
        Some(p) => format!("{:.*e}", p.max(1) - 1, v),
        None => format!("{v:e}"),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut ds: Vec<u8> = mant.bytes().filter(|b| b.is_ascii_digit()).collect();
    while ds.len() > 1 && ds.last() == Some(&b'0') {
        ds.pop();
    }
    if ds.is_empty() {
        ds.push(b'0');
    }
    (ds, exp + 1)
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

fn fmt_e(neg: bool, ds: &[u8], dp: i32, frac_digits: Option<usize>) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push(ds.first().copied().unwrap_or(b'0') as char);
    let rest: String = ds.iter().skip(1).map(|&b| b as char).collect();
    let rest = match frac_digits {
        Some(n) => format!("{rest:0<n$}"),
        None => rest,
    };
    if !rest.is_empty() {
        out.push('.');
        out.push_str(&rest);
    }
    let exp = if ds == [b'0'] { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

fn fmt_f(neg: bool, ds: &[u8], dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp <= 0 {
        out.push('0');
    } else {
        for i in 0..dp as usize {
            out.push(ds.get(i).copied().unwrap_or(b'0') as char);
        }
    }
    let frac_len = ds.len() as i32 - dp;
    if frac_len > 0 {
        out.push('.');
        for i in dp..ds.len() as i32 {
            if i < 0 {
                out.push('0');
            } else {
                out.push(ds.get(i as usize).copied().unwrap_or(b'0') as char);
            }
        }
    }
    out
}

/// Go's `%g` with precision `prec` (`None` = shortest, like `%v`).
pub fn fmt_g(v: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative() && v != 0.0;
    let a = v.abs();
    if a == 0.0 {
        return if neg { "-0".into() } else { "0".into() };
    }
    let (ds, dp) = digits(a, prec);
    let nd = ds.len() as i32;
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p.max(1) as i32;
            if p > nd && nd >= dp {
                nd
            } else {
                p
            }
        }
    };
    let exp = dp - 1;
    if exp < -4 || exp >= eprec {
        fmt_e(neg, &ds, dp, None)
    } else {
        fmt_f(neg, &ds, dp)
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(v, 'g', -1, 64)`).
pub fn fmt_v(v: f64) -> String {
    fmt_g(v, None)
}

/// Go's `%.{prec}e`.
pub fn fmt_e_prec(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    let neg = v.is_sign_negative() && v != 0.0;
    if v == 0.0 {
        return fmt_e(neg, b"0", 1, Some(prec));
    }
    let (ds, dp) = digits(v.abs(), Some(prec + 1));
    fmt_e(neg, &ds, dp, Some(prec))
}

/// Go's `%.{prec}f`.
pub fn fmt_f_prec(v: f64, prec: usize) -> String {
    if let Some(s) = special(v) {
        return s;
    }
    format!("{v:.prec$}")
}

const BIG: [&str; 8] = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
const SMALL: [&str; 8] = ["m", "u", "n", "p", "f", "a", "z", "y"];

/// `humanize`: SI prefixes, 4 significant digits.
pub fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return fmt_g(v, Some(4));
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in BIG {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in SMALL {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", fmt_g(v, Some(4)))
}

/// `humanize1024`: binary prefixes.
pub fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return fmt_g(v, Some(4));
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", fmt_g(v, Some(4)))
}

/// `humanizeDuration`: seconds as `1d 2h 3m 4s` or `1.5ms`.
pub fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return fmt_g(v, Some(4));
    }
    if v == 0.0 {
        return format!("{}s", fmt_g(v, Some(4)));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        if days != 0 {
            return format!("{sign}{days}d {h}h {m}m {s}s");
        }
        if h != 0 {
            return format!("{sign}{h}h {m}m {s}s");
        }
        if m != 0 {
            return format!("{sign}{m}m {s}s");
        }
        return format!("{sign}{}s", fmt_g(v, Some(4)));
    }
    let mut prefix = "";
    for p in SMALL {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", fmt_g(v, Some(4)))
}

/// `humanizePercentage`: `0.1234` → `12.34%`.
pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", fmt_g(v * 100.0, Some(4)))
}

/// `humanizeTimestamp`: unix seconds → Go's `time.Time` string in UTC.
pub fn humanize_timestamp(v: f64) -> String {
    if !v.is_finite() {
        return fmt_g(v, Some(4));
    }
    // Like Prometheus: nanoseconds truncated to a millisecond `model.Time`.
    let ns = v * 1e9;
    if ns >= i64::MAX as f64 || ns <= i64::MIN as f64 {
        return fmt_g(v, Some(4));
    }
    let ms = (ns as i64) / 1_000_000;
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => {
            let mut s = t.format("%Y-%m-%d %H:%M:%S").to_string();
            let ns = t.timestamp_subsec_nanos();
            if ns != 0 {
                let frac = format!("{ns:09}");
                s.push('.');
                s.push_str(frac.trim_end_matches('0'));
            }
            s.push_str(" +0000 UTC");
            s
        }
        None => fmt_g(v, Some(4)),
    }
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%s %v %d %f %e %g %q %%`
/// with optional width-less precision (`%.2f`).
pub fn sprintf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut i = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut prec: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut n = String::new();
            while let Some(d) = chars.peek().copied().filter(|d| d.is_ascii_digit()) {
                n.push(d);
                chars.next();
            }
            prec = Some(n.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(i) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        i += 1;
        let s = match (verb, arg) {
            ('d', Val::Int(n)) => n.to_string(),
            ('d', Val::Float(f)) => format!("%!d(float64={})", fmt_v(*f)),
            ('f' | 'F', v) => match v.as_f64() {
                Some(f) => fmt_f_prec(f, prec.unwrap_or(6)),
                None => format!("%!f({})", v.display()),
            },
            ('e', v) => match v.as_f64() {
                Some(f) => fmt_e_prec(f, prec.unwrap_or(6)),
                None => format!("%!e({})", v.display()),
            },
            ('g', v) => match v.as_f64() {
                Some(f) => fmt_g(f, prec),
                None => format!("%!g({})", v.display()),
            },
            ('q', v) => format!("{:?}", v.display()),
            ('s' | 'v', v) => {
                let s = v.display();
                match prec {
                    Some(p) if verb == 's' => s.chars().take(p).collect(),
                    _ => s,
                }
            }
            (other, v) => format!("%!{other}({})", v.display()),
        };
        out.push_str(&s);
    }
    if i < args.len() {
        let extra: Vec<String> = args[i..].iter().map(|a| a.display()).collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_formats() {
        assert_eq!(fmt_v(0.5), "0.5");
        assert_eq!(fmt_v(100.0), "100");
        assert_eq!(fmt_v(1e21), "1e+21");
        assert_eq!(fmt_v(123456789.0), "1.23456789e+08");
        assert_eq!(fmt_v(0.00001), "1e-05");
        assert_eq!(fmt_g(1234.5678, Some(4)), "1235");
        assert_eq!(fmt_g(100000.0, Some(4)), "1e+05");
        assert_eq!(fmt_g(1.5, Some(4)), "1.5");
        assert_eq!(fmt_g(0.0001234, Some(4)), "0.0001234");
        assert_eq!(fmt_e_prec(1234.5, 2), "1.23e+03");
        assert_eq!(fmt_f_prec(0.123456, 2), "0.12");
    }

    #[test]
    fn humanizers_match_prometheus() {
        assert_eq!(humanize(1234567.0), "1.235M");
        assert_eq!(humanize(0.0012), "1.2m");
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize1024(1048576.0), "1Mi");
        assert_eq!(humanize_duration(90061.0), "1d 1h 1m 1s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(0.0015), "1.5ms");
        assert_eq!(humanize_percentage(0.1234), "12.34%");
        assert_eq!(
            humanize_timestamp(1435065584.128),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
    }

    #[test]
    fn printf_verbs() {
        assert_eq!(sprintf("%.2f", &[Val::Float(0.4567)]), "0.46");
        assert_eq!(sprintf("%d%%", &[Val::Int(5)]), "5%");
        assert_eq!(
            sprintf("%s=%v", &[Val::Str("a".into()), Val::Float(2.0)]),
            "a=2"
        );
        assert_eq!(sprintf("%s", &[]), "%!s(MISSING)");
    }
}
