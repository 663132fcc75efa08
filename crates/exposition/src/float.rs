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
    match s {
        b"NaN" => Ok(f64::from_bits(NORMAL_NAN_BITS)),
        b"+Inf" => Ok(f64::INFINITY),
        _ => slow_parse(s),
    }
}

/// The value token at `b[i..]` when it is 1 to 7 ASCII digits followed by
/// a byte that ends a text-format value (space, tab, newline or `{`): the
/// value (exact, below 10^7) and the index of that byte. Eight bytes are
/// read at once; `None` for anything else, or with fewer than eight bytes
/// left, and the caller scans and parses the token the general way.
#[inline(always)]
pub(crate) fn small_int_at(b: &[u8], i: usize) -> Option<(f64, usize)> {
    let w = u64::from_le_bytes(*b.get(i..)?.first_chunk::<8>()?);
    let len = (non_digits(w).trailing_zeros() / 8) as usize;
    if len == 0 || len == 8 {
        return None;
    }
    if !matches!(b.get(i + len), Some(b' ' | b'\t' | b'\n' | b'{')) {
        return None;
    }
    // Keep the `len` digits, moved to the top bytes, with '0's below them.
    let shift = 8 * (8 - len as u32);
    let digits = (w << shift) | ((0x30 * ONES) >> (64 - shift));
    Some((eight_digits(digits) as f64, i + len))
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `w` that is not an ASCII digit. A byte is
/// a digit iff its high nibble is 3 and adding 6 keeps it 3. Carries out of
/// a byte only come from non-digits and only reach later bytes, so the
/// lowest flag (the first non-digit in little-endian order) is exact.
#[inline(always)]
fn non_digits(w: u64) -> u64 {
    let hi = 0xf0 * ONES;
    let not_digit = ((w & hi) ^ (0x30 * ONES)) | ((w.wrapping_add(6 * ONES) & hi) ^ (0x30 * ONES));
    (not_digit | ((not_digit & (0x7f * ONES)) + 0x7f * ONES)) & (0x80 * ONES)
}

/// The value of eight ASCII digits read little-endian (first digit in the
/// lowest byte): pairs, then quads, then all eight.
#[inline(always)]
fn eight_digits(w: u64) -> u64 {
    let d = w & (0x0f * ONES);
    let d = (d.wrapping_mul(10 * 256 + 1) >> 8) & 0x00ff_00ff_00ff_00ff;
    let d = (d.wrapping_mul(100 * 65536 + 1) >> 16) & 0x0000_ffff_0000_ffff;
    d.wrapping_mul(10000 * (1 << 32) + 1) >> 32
}

/// Reads the run of ASCII digits from `s[k..]` into `mant` (wrapping on
/// overflow, as the caller's digit count rejects), eight at a time while
/// eight digits remain; returns the index after the run.
#[inline(always)]
fn digit_run(s: &[u8], mut k: usize, mant: &mut u64) -> usize {
    while let Some(chunk) = s.get(k..).and_then(|r| r.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*chunk);
        if non_digits(w) != 0 {
            break;
        }
        *mant = mant.wrapping_mul(100_000_000).wrapping_add(eight_digits(w));
        k += 8;
    }
    while let Some(&c) = s.get(k) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *mant = mant.wrapping_mul(10).wrapping_add(u64::from(d));
        k += 1;
    }
    k
}

/// 2^53: every integer up to it is exact in an `f64`.
const MAX_EXACT_INT: u64 = 1 << 53;

/// Exact result for `[-+]?digits[.digits][(e|E)[-+]?digits]` when the
/// digits, read as one integer `m`, are at most 2^53 and the value is
/// `m × 10^e` with a power `10^|e|` that is itself exact (|e| ≤ 22, or
/// `m × 10^(e-22)` still at most 2^53): then one multiplication or
/// division of two exact operands is the correctly rounded result
/// (Clinger's fast path), bit-identical to a correctly rounded parse.
/// Anything else (more digits, larger exponents, other syntax) is `None`
/// and goes to the general parser.
#[inline(always)]
fn fast_decimal(s: &[u8]) -> Option<f64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let mut mant: u64 = 0;
    let mut k = 0;
    // The integer part byte by byte (usually short: long integers below
    // 10^7 took `small_int_at`), the fraction eight digits at a time.
    while let Some(&c) = digits.get(k) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        mant = mant.wrapping_mul(10).wrapping_add(u64::from(d));
        k += 1;
    }
    let mut ndigits = k;
    let mut frac_digits = 0i32;
    if digits.get(k) == Some(&b'.') {
        k += 1;
        let frac_start = k;
        k = digit_run(digits, k, &mut mant);
        ndigits += k - frac_start;
        frac_digits = (k - frac_start) as i32;
    }
    // 19 digits cannot overflow a u64; beyond that `mant` may have wrapped.
    if ndigits == 0 || ndigits > 19 {
        return None;
    }
    let mut exp = 0i32;
    if let Some(b'e' | b'E') = digits.get(k) {
        k += 1;
        let exp_neg = match digits.get(k) {
            Some(b'-') => {
                k += 1;
                true
            }
            Some(b'+') => {
                k += 1;
                false
            }
            _ => false,
        };
        let exp_start = k;
        while let Some(&c) = digits.get(k) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            exp = exp * 10 + i32::from(d);
            k += 1;
            if k - exp_start > 3 {
                return None;
            }
        }
        if k == exp_start {
            return None;
        }
        if exp_neg {
            exp = -exp;
        }
    }
    if k != digits.len() {
        return None;
    }
    let e = exp - frac_digits;
    if mant > MAX_EXACT_INT {
        // 17 to 19 significant digits, as a float printed in full
        // (`12.114969983338781`) has.
        let v = wide_decimal(mant, e)?;
        return Some(if neg { -v } else { v });
    }
    let v = if e < 0 {
        mant as f64 / *POW10.get(usize::try_from(-e).ok()?)?
    } else if e <= 22 {
        mant as f64 * *POW10.get(usize::try_from(e).ok()?)?
    } else {
        // m × 10^(e-22) may still be an exact integer; then × 1e22 is one rounding.
        let shifted = mant.checked_mul(*POW10_INT.get(usize::try_from(e - 22).ok()?)?)?;
        if shifted > MAX_EXACT_INT {
            return None;
        }
        shifted as f64 * 1e22
    };
    Some(if neg { -v } else { v })
}

/// Powers of ten up to 10^22 as 128-bit integers.
const POW10_U128: [u128; 23] = {
    let mut t = [1u128; 23];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `m × 10^e`, correctly rounded, for `m` up to 2^64 and `|e|` at most 22,
/// in exact integer arithmetic (`None` outside that range): for `e < 0`
/// the quotient of `m` (shifted left to fill 128 bits) by `10^-e` has at
/// least 54 bits, and with the remainder as the sticky bit it rounds to
/// nearest, ties to even, exactly as a correctly rounded parse does; for
/// `e ≥ 0` the product is exact when it fits 128 bits. The results are
/// normal numbers (between 2^53 × 10^-22 and 2^64 × 10^22), so scaling by
/// a power of two is exact.
#[inline]
fn wide_decimal(m: u64, e: i32) -> Option<f64> {
    if m == 0 {
        return Some(0.0);
    }
    let (q, sticky, e2) = if e < 0 {
        let d = *POW10_U128.get(usize::try_from(-e).ok()?)?;
        let lz = m.leading_zeros();
        let n = u128::from(m) << (64 + lz);
        (n / d, n % d != 0, -(64 + lz as i32))
    } else {
        let p = u128::from(m).checked_mul(*POW10_U128.get(usize::try_from(e).ok()?)?)?;
        (p, false, 0)
    };
    let bits = 128 - q.leading_zeros() as i32;
    let (mant, e2) = if bits <= 53 {
        (q as u64, e2)
    } else {
        let shift = bits - 53;
        let mut mant = (q >> shift) as u64;
        let rest = q & ((1u128 << shift) - 1);
        let half = 1u128 << (shift - 1);
        if rest > half || (rest == half && (sticky || mant & 1 == 1)) {
            // May carry to 2^53: still exact as an f64.
            mant += 1;
        }
        (mant, e2 + shift)
    };
    let scale = f64::from_bits(u64::try_from(1023 + e2).ok()? << 52);
    Some(mant as f64 * scale)
}

/// Powers of ten as integers, for the extended fast path.
const POW10_INT: [u64; 16] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
];

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
    let mut out = StackStr::new();
    write_openmetrics_float(f, &mut out);
    out.as_str().to_string()
}

/// A string of up to [`StackStr::CAP`] bytes on the stack: room for any
/// [`write_openmetrics_float`] output (at most 17 digits, a sign, a point
/// and a 5-character exponent, or 22 characters for `%f` forms with
/// leading zeros), so formatting a bound to compare it allocates nothing.
pub(crate) struct StackStr {
    buf: [u8; StackStr::CAP],
    len: usize,
}

impl StackStr {
    const CAP: usize = 48;

    pub(crate) fn new() -> StackStr {
        StackStr {
            buf: [0; StackStr::CAP],
            len: 0,
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole `&str`s are appended (see `write_str`), so the prefix is
        // valid UTF-8; the fallback is never taken.
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }

    fn push_str(&mut self, s: &str) {
        let end = self.len + s.len();
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(s.as_bytes());
            self.len = end;
        }
    }

    fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]));
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > StackStr::CAP {
            return Err(std::fmt::Error);
        }
        self.push_str(s);
        Ok(())
    }
}

/// [`format_openmetrics_float`] into a [`StackStr`].
pub(crate) fn write_openmetrics_float(f: f64, out: &mut StackStr) {
    use std::fmt::Write;
    if f.is_nan() {
        return out.push_str("NaN");
    }
    if f.is_infinite() {
        return out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
    }
    if f == 0.0 {
        return out.push_str("0.0");
    }
    // Shortest round-trip digits and the decimal exponent, e.g. "-1.25e-7".
    let mut sci = StackStr::new();
    let _ = write!(sci, "{:e}", f);
    let sci = sci.as_str();
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci, 0),
    };
    let neg = mantissa.starts_with('-');
    let mut digits = StackStr::new();
    for c in mantissa.chars().filter(|c| c.is_ascii_digit()) {
        digits.push(c);
    }
    let digits = digits.as_str();
    let nd = digits.len() as i32;
    if neg {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        // Go's %e with the shortest digits and a two-digit minimum exponent.
        out.push_str(digits.get(..1).unwrap_or_default());
        if nd > 1 {
            out.push('.');
            out.push_str(digits.get(1..).unwrap_or_default());
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        let _ = write!(out, "{a}");
        return;
    }
    // %f with exactly the significant digits.
    let dp = exp + 1; // digits before the decimal point
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else if dp >= nd {
        out.push_str(digits);
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

    /// The fast path must give exactly what a correctly rounded parse gives
    /// (Rust's `str::parse`, as Go's `ParseFloat`), for every shape it takes.
    #[test]
    fn fast_path_is_bit_identical_to_the_general_parse() {
        let mut next = crate::testing::xorshift(0x9e37_79b9_7f4a_7c15u64);
        let mut taken = 0;
        for _ in 0..400_000 {
            let r = next();
            let ndigits = 1 + (r % 19) as usize;
            let mut digits: String = (0..ndigits)
                .map(|k| char::from(b'0' + ((next() >> (k % 8)) % 10) as u8))
                .collect();
            if r & (1 << 20) != 0 {
                let dot = (next() as usize) % (ndigits + 1);
                digits.insert(dot, '.');
            }
            let sign = ["", "-", "+"][((r >> 24) % 3) as usize];
            let exp = match (r >> 28) % 4 {
                0 => String::new(),
                1 => format!("e{}", (next() % 50) as i64 - 25),
                2 => format!("e+{:02}", next() % 40),
                _ => format!("E-{:03}", next() % 40),
            };
            let text = format!("{sign}{digits}{exp}");
            let want: f64 = match text.parse() {
                Ok(v) => v,
                Err(e) => panic!("{text}: {e}"),
            };
            if let Some(got) = fast_decimal(text.as_bytes()) {
                taken += 1;
                assert_eq!(got.to_bits(), want.to_bits(), "{text}");
            }
            assert_eq!(p(&text).map(f64::to_bits), Ok(want.to_bits()), "{text}");
        }
        // The generator must exercise the fast path, not only the fallback.
        assert!(taken > 100_000, "fast path taken {taken} times");
    }

    /// 17 to 19 significant digits (above 2^53) with exponents within
    /// ±22: taken by the fast path, bit-identical to `str::parse`,
    /// including values halfway between two floats.
    #[test]
    fn wide_mantissas_are_correctly_rounded() {
        let mut next = crate::testing::xorshift(0x2545_f491_4f6c_dd1du64);
        for i in 0..300_000 {
            let r = next();
            let m = if i % 3 == 0 {
                // Halfway cases: an odd multiple of half an ulp at 2^54..2^63.
                let shift = 1 + (r % 10) as u32;
                ((next() >> (shift + 1)) | (1 << (62 - shift))) << shift | (1 << (shift - 1))
            } else {
                (1u64 << 53) + 1 + next() % (9_999_999_999_999_999_999 - (1 << 53))
            };
            let digits = m.to_string();
            let e = (next() % 45) as i32 - 22;
            let text = if e < 0 && -e < digits.len() as i32 {
                let (a, b) = digits.split_at(digits.len() - (-e) as usize);
                format!("{a}.{b}")
            } else {
                format!("{digits}e{e}")
            };
            let want: f64 = text.parse().unwrap_or(f64::NAN);
            let got = fast_decimal(text.as_bytes());
            if e >= 0 && u128::from(m).checked_mul(10u128.pow(e as u32)).is_none() {
                assert_eq!(got, None, "{text}");
                continue;
            }
            assert_eq!(got.map(f64::to_bits), Some(want.to_bits()), "{text}");
        }
    }

    #[test]
    fn small_integers_read_eight_bytes_at_a_time() {
        for n in (0..100_000u32).chain([999_999, 1_000_000, 9_999_999, 1_234_567]) {
            for pad in ["", "0", "00"] {
                for end in [" ", "\t", "\n", "{"] {
                    let text = format!("{pad}{n}{end}xxxxxxxx");
                    let len = pad.len() + n.to_string().len();
                    let got = small_int_at(text.as_bytes(), 0);
                    if len <= 7 {
                        assert_eq!(got, Some((f64::from(n), len)), "{text:?}");
                    } else {
                        assert_eq!(got, None, "{text:?}");
                    }
                }
            }
        }
        for text in [
            "",
            "1",
            "1234567",
            "12 ",
            "x1 ......",
            "1x ......",
            "1.5 .....",
            "-1 ......",
            "12345678 ",
            "1:  .....",
            "1/ ......",
            "1\r\n......",
            "1} ......",
            " 1 ......",
            "1\u{e9} .....",
        ] {
            let got = small_int_at(text.as_bytes(), 0);
            assert_eq!(got, None, "{text:?}");
        }
        assert_eq!(small_int_at(b"ab 42 xxxxxxx", 3), Some((42.0, 5)));
    }

    #[test]
    fn fast_path_edges() {
        for (text, want) in [
            ("9007199254740992", Some(9007199254740992.0)),
            ("9007199254740993", Some(9007199254740992.0)),
            ("9007199254740995", Some(9007199254740996.0)),
            ("12.114969983338781", Some(12.114969983338781)),
            ("0.08233949837333614", Some(0.08233949837333614)),
            ("18446744073709551615", None),
            ("9223372036854775809", Some(9223372036854775809.0)),
            // 10^19 − 1 scaled: rounds to the float nearest 10^-3 and 10^38.
            ("9999999999999999999e-22", Some(1e-3)),
            ("9999999999999999999e22", None),
            ("9999999999999999999e19", Some(1e38)),
            ("9999999999999999999e-23", None),
            ("1e22", Some(1e22)),
            ("1e23", Some(1e23)),
            ("123e30", Some(123e30)),
            ("9007199254740992e22", Some(9007199254740992e22)),
            ("1e38", None),
            ("1e-22", Some(1e-22)),
            ("1e-23", None),
            ("4.4007501305e+10", Some(4.4007501305e10)),
            ("2.0522e-05", Some(2.0522e-05)),
            ("-0", Some(-0.0)),
            ("0e999", None),
            ("1e0001", None),
            ("1e", None),
            ("1e+", None),
            (".", None),
            ("5.", Some(5.0)),
            (".5", Some(0.5)),
            ("1_0", None),
            ("0x1", None),
        ] {
            assert_eq!(
                fast_decimal(text.as_bytes()).map(f64::to_bits),
                want.map(f64::to_bits),
                "{text}"
            );
        }
        assert!(fast_decimal(b"-0").is_some_and(|v| v.is_sign_negative()));
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
            (f64::MAX, "1.7976931348623157e+308"),
            (-f64::MIN_POSITIVE, "-2.2250738585072014e-308"),
            (-5e-324, "-5e-324"),
            (-0.00012345678901234567, "-0.00012345678901234567"),
            (-123456.78901234567, "-123456.78901234567"),
        ];
        for (f, want) in cases {
            assert_eq!(format_openmetrics_float(f), want, "{f}");
        }
    }
}
