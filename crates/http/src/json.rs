//! JSON encodings shared by the handlers: query results exactly as
//! Prometheus writes them (timestamps as float seconds, values as strings)
//! and the `parse_query` syntax tree (see `ast_json.rs`).

use promlite_model::Labels;
use promlite_promql::value::{put_plain, write_float, Value};
use serde_json::{Map, Value as Json};

pub use crate::ast_json::ast_json;

/// Appends a ms timestamp as Prometheus's `MarshalTimestamp` does: seconds,
/// then `.` and three digits when the ms part is non-zero.
pub fn write_timestamp(out: &mut String, t: i64) {
    let mut buf = [0u8; 32];
    let n = put_timestamp(&mut buf, 0, t);
    push_ascii(out, &buf[..n]);
}

/// Appends a JSON string, escaped as `serde_json` does: `"` and `\\`, the
/// control characters (short forms where JSON has them, else `\u00xx`);
/// everything else as is. Written in place: label names and values are
/// most of a vector answer's strings.
pub fn write_str(out: &mut String, s: &str) {
    if !needs_escape(s) {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
    write_escaped(out, s);
}

/// Whether `s` holds a byte that JSON strings escape (`"`, `\\`, a
/// control character). Every byte is looked at, without stopping at the
/// first such, so the loop is branch-free (label text never has one).
#[inline]
fn needs_escape(s: &str) -> bool {
    s.as_bytes().iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

/// [`write_str`] for a string with bytes to escape.
#[cold]
fn write_escaped(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let short = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // Escaped bytes are ASCII, so `start` and `i` are char boundaries.
        out.push_str(s.get(start..i).unwrap_or(""));
        start = i + 1;
        if short.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(short);
        }
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}

/// Appends a label set as a JSON object in label order. Label text rarely
/// needs escapes, so the object is written in one pass over the labels
/// without them (room reserved once, the quotes, colons and commas
/// between names and values appended as one piece each), checking the
/// text as it goes; only a set that needs escapes is written again with
/// them.
pub fn write_labels(out: &mut String, l: &Labels) {
    let start = out.len();
    // The encoded set holds every name and value, plus their lengths.
    out.reserve(l.heap_bytes() + 6 * l.len() + 2);
    let mut plain = true;
    let mut sep = "{\"";
    for lab in l.iter() {
        plain &= !needs_escape(lab.name) & !needs_escape(lab.value);
        out.push_str(sep);
        out.push_str(lab.name);
        out.push_str("\":\"");
        out.push_str(lab.value);
        sep = "\",\"";
    }
    if plain {
        out.push_str(if sep.len() == 2 { "{}" } else { "\"}" });
        return;
    }
    out.truncate(start);
    out.push('{');
    for (i, lab) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, lab.name);
        out.push(':');
        write_str(out, lab.value);
    }
    out.push('}');
}

/// Appends one `[t,"v"]` point (an instant vector's sample).
fn write_point(out: &mut String, t: i64, v: f64) {
    let mut buf = [0u8; POINT];
    match point_into(&mut buf, t, v) {
        Ok(n) => push_ascii(out, buf.get(..n).unwrap_or_default()),
        Err(n) => {
            push_ascii(out, buf.get(..n).unwrap_or_default());
            write_float(out, v);
            out.push_str("\"]");
        }
    }
}

/// Appends one `[t,"v"]` point of a range answer to the bytes of a
/// series' points (ASCII only; the caller appends them to the answer
/// with one UTF-8 check per series instead of one per point). The point
/// is built in place: `out` grows by [`POINT`] zero bytes, which the
/// point overwrites, and is cut back to the point's end (no copy).
fn write_point_bytes(out: &mut Vec<u8>, t: i64, v: f64) {
    let len = out.len();
    out.resize(len + POINT, 0);
    let Some(buf) = out
        .get_mut(len..)
        .and_then(<[u8]>::first_chunk_mut::<POINT>)
    else {
        return;
    };
    match point_into(buf, t, v) {
        Ok(n) => out.truncate(len + n),
        Err(n) => {
            out.truncate(len + n);
            let mut f = String::new();
            write_float(&mut f, v);
            out.extend_from_slice(f.as_bytes());
            out.extend_from_slice(b"\"]");
        }
    }
}

/// Room for a point built by [`point_into`].
const POINT: usize = 64;

/// Builds a point in `buf`: the `[`, the timestamp, `,"`, the value and
/// `"]`; returns its length, or (`Err`) the length of the part up to the
/// value when the value needs [`write_float`] (an exponent, NaN, ±Inf).
///
/// A range answer is mostly points, so a point is built on the stack and
/// appended at once. A whole value below 2^53 (counters, byte gauges) is
/// written as the integer it is, which is what the shortest-digits form
/// expands to, without running the float formatter.
fn point_into(buf: &mut [u8; POINT], t: i64, v: f64) -> Result<usize, usize> {
    let n = point_head(buf, t);
    value_into(buf, n, v)
}

/// Writes a point's `[`, timestamp and `,"` at the start of `buf`;
/// returns the length.
fn point_head(buf: &mut [u8; POINT], t: i64) -> usize {
    buf[0] = b'[';
    let n = put_timestamp(buf, 1, t);
    buf[n] = b',';
    buf[n + 1] = b'"';
    n + 2
}

/// [`point_into`] from `n` on, where [`point_head`] ended: the value and
/// `"]`.
fn value_into(buf: &mut [u8; POINT], mut n: usize, v: f64) -> Result<usize, usize> {
    // `as` saturates (and maps NaN to 0), so the round trip holds exactly
    // for whole values in i64's range; below 2^53 the integer is exact.
    let i = v as i64;
    if i as f64 == v && v.abs() < MAX_EXACT_INT && !(v == 0.0 && v.is_sign_negative()) {
        if i < 0 {
            buf[n] = b'-';
            n += 1;
        }
        n = put_u64(buf, n, i.unsigned_abs());
        buf[n] = b'"';
        buf[n + 1] = b']';
        return Ok(n + 2);
    }
    // Finite values without an exponent: formatted into the buffer too,
    // so the point is one append.
    match v.is_finite().then(|| put_plain(buf, n, v)).flatten() {
        Some(end) => {
            buf[end] = b'"';
            buf[end + 1] = b']';
            Ok(end + 2)
        }
        None => Err(n),
    }
}

/// 2^53: whole floats below it in magnitude are exact integers.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// Appends bytes that the writers here produced (ASCII only).
fn push_ascii(out: &mut String, b: &[u8]) {
    // The buffers hold only ASCII digits, signs and punctuation.
    out.push_str(std::str::from_utf8(b).unwrap_or_default());
}

/// The two digits of each number below 100.
const PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Writes the five decimal digits of `n < 100_000` at `buf[at..]`, with
/// leading zeros.
fn put_five(buf: &mut [u8], at: usize, n: u32) {
    let (top, rest) = (n / 10_000, n % 10_000);
    let (mid, low) = ((rest / 100) as usize * 2, (rest % 100) as usize * 2);
    buf[at] = b'0' + (top % 10) as u8;
    buf[at + 1..at + 3].copy_from_slice(&PAIRS[mid..mid + 2]);
    buf[at + 3..at + 5].copy_from_slice(&PAIRS[low..low + 2]);
}

/// Writes the decimal digits of `x` at `buf[at..]`; returns the end.
/// `buf` must have room for 20 digits after `at`. Ten-digit numbers (the
/// seconds of every timestamp from 2001 to 2286, byte gauges of a few GB)
/// as two halves of five digits in 32-bit arithmetic; others two digits
/// per division.
fn put_u64(buf: &mut [u8], at: usize, mut x: u64) -> usize {
    if (1_000_000_000..10_000_000_000).contains(&x) {
        put_five(buf, at, (x / 100_000) as u32);
        put_five(buf, at + 5, (x % 100_000) as u32);
        return at + 10;
    }
    let len = x.checked_ilog10().map_or(1, |l| l as usize + 1);
    let end = at + len;
    let mut i = end;
    while x >= 100 {
        let r = (x % 100) as usize * 2;
        x /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
    }
    if x >= 10 {
        let r = x as usize * 2;
        buf[i - 2..i].copy_from_slice(&PAIRS[r..r + 2]);
    } else {
        buf[i - 1] = b'0' + x as u8;
    }
    end
}

/// [`write_timestamp`] into `buf[at..]` (room for 26 bytes); returns the end.
fn put_timestamp(buf: &mut [u8], at: usize, t: i64) -> usize {
    let mut n = at;
    if t < 0 {
        buf[n] = b'-';
        n += 1;
    }
    let a = t.unsigned_abs();
    n = put_u64(buf, n, a / 1000);
    let frac = a % 1000;
    if frac != 0 {
        buf[n] = b'.';
        buf[n + 1] = b'0' + (frac / 100) as u8;
        buf[n + 2] = b'0' + (frac / 10 % 10) as u8;
        buf[n + 3] = b'0' + (frac % 10) as u8;
        n += 4;
    }
    n
}

/// The `data` member of a query answer: `{"resultType":…,"result":…}`.
pub fn query_data(v: &Value) -> String {
    let mut out = String::with_capacity(query_data_size_hint(v));
    write_query_data(&mut out, v);
    out
}

/// About the length of [`query_data`]'s text (points take 20–40 bytes).
pub fn query_data_size_hint(v: &Value) -> usize {
    match v {
        Value::Vector(s) => s.len().saturating_mul(160),
        Value::Matrix(m) => m
            .iter()
            .map(|s| s.floats.len().saturating_mul(34).saturating_add(128))
            .fold(0usize, |a, b| a.saturating_add(b)),
        _ => 64,
    }
}

/// Appends [`query_data`]'s text to `out`.
pub fn write_query_data(out: &mut String, v: &Value) {
    out.push_str("{\"resultType\":\"");
    out.push_str(v.value_type().api_name());
    out.push_str("\",\"result\":");
    match v {
        Value::Scalar { t, v } => write_point(out, *t, *v),
        Value::String { t, v } => {
            out.push('[');
            write_timestamp(out, *t);
            out.push(',');
            write_str(out, v);
            out.push(']');
        }
        Value::Vector(samples) => {
            // The samples of an instant vector usually share one
            // timestamp: its text is written once and copied.
            let mut buf = [0u8; POINT];
            let mut head: Option<(i64, usize)> = None;
            out.push('[');
            for (i, s) in samples.iter().enumerate() {
                out.push_str(if i > 0 {
                    ",{\"metric\":"
                } else {
                    "{\"metric\":"
                });
                write_labels(out, &s.metric);
                out.push_str(",\"value\":");
                let n = match head {
                    Some((t, n)) if t == s.t => n,
                    _ => {
                        let n = point_head(&mut buf, s.t);
                        head = Some((s.t, n));
                        n
                    }
                };
                match value_into(&mut buf, n, s.f) {
                    Ok(end) => push_ascii(out, buf.get(..end).unwrap_or_default()),
                    Err(end) => {
                        push_ascii(out, buf.get(..end).unwrap_or_default());
                        write_float(out, s.f);
                        out.push_str("\"]");
                    }
                }
                out.push('}');
            }
            out.push(']');
        }
        Value::Matrix(series) => {
            // One series' points, then appended to `out` at once.
            let mut points = Vec::new();
            out.push('[');
            for (i, s) in series.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                write_labels(out, &s.metric);
                out.push_str(",\"values\":[");
                points.clear();
                // Points take 20–40 bytes, and the last one's buffer more.
                points.reserve(s.floats.len() * 36 + POINT);
                for (j, p) in s.floats.iter().enumerate() {
                    if j > 0 {
                        points.push(b',');
                    }
                    write_point_bytes(&mut points, p.t, p.f);
                }
                // The point writers produce ASCII only.
                out.push_str(std::str::from_utf8(&points).unwrap_or_default());
                out.push_str("]}");
            }
            out.push(']');
        }
    }
    out.push('}');
}

/// A label set as a JSON object value.
pub fn labels_json(l: &Labels) -> Json {
    let mut m = Map::new();
    for lab in l.iter() {
        m.insert(lab.name.to_string(), Json::String(lab.value.to_string()));
    }
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;
    use promlite_promql::value::{FPoint, Sample, Series};

    #[test]
    fn timestamps_like_prometheus() {
        let f = |t| {
            let mut s = String::new();
            write_timestamp(&mut s, t);
            s
        };
        assert_eq!(f(4000), "4");
        assert_eq!(f(1_435_781_451_781), "1435781451.781");
        assert_eq!(f(1500), "1.500");
        assert_eq!(f(1005), "1.005");
        assert_eq!(f(-1500), "-1.500");
        assert_eq!(f(0), "0");
        assert!(!f(i64::MIN).is_empty());
        assert_eq!(f(1_793_491_860_000), "1793491860");
        assert_eq!(f(1_793_491_860_005), "1793491860.005");
        assert_eq!(f(1_230), "1.230");
        assert_eq!(f(1_999), "1.999");
        assert_eq!(f(i64::MIN), "-9223372036854775.808");
    }

    /// The point writer against the general one (timestamp, then
    /// `write_float`), on whole values around 2^53, signed zeros,
    /// non-finite values, fractions and extreme timestamps.
    #[test]
    fn points_match_the_general_writers() {
        let general = |t: i64, v: f64| {
            let mut s = String::from("[");
            write_timestamp(&mut s, t);
            s.push_str(",\"");
            write_float(&mut s, v);
            s.push_str("\"]");
            s
        };
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            10.0,
            3_579_131_164.0,
            -3_579_131_164.0,
            1e15,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            9_007_199_254_740_994.0,
            -9_007_199_254_740_991.0,
            1e21,
            1e22,
            f64::MAX,
            -f64::MAX,
            0.5,
            4.777671607297616,
            1e-300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(f64::from_bits(x));
            values.push((x % 1_000_000_000_000) as f64 - 5e11);
            values.push((x >> 11) as f64);
            // Fractions of every length with and without an exponent.
            values.push((x % 1_000_000_007) as f64 / 10f64.powi((x % 29) as i32 - 8));
            values.push(-((x % 100_000) as f64) / 60.0);
        }
        let times = [
            0,
            1,
            999,
            1000,
            -1,
            -1500,
            1_793_491_860_000,
            1_793_491_860_005,
            i64::MIN,
            i64::MAX,
        ];
        // Whole values and timestamps of every number of digits, at the
        // edges where one more digit starts.
        let mut times = times.to_vec();
        let mut p = 1i64;
        for _ in 0..16 {
            values.extend([p as f64, (p - 1) as f64, (p + 1) as f64, -(p as f64)]);
            times.extend([p * 1000, (p - 1) * 1000 + 7, -p * 1000 - 250]);
            p *= 10;
        }
        for (i, &v) in values.iter().enumerate() {
            let t = times[i % times.len()];
            let want = general(t, v);
            let mut got = String::new();
            write_point(&mut got, t, v);
            assert_eq!(got, want, "{v:e} at {t}");
            // The byte writer appends the same after what is there.
            let mut bytes = b"[x,".to_vec();
            write_point_bytes(&mut bytes, t, v);
            assert_eq!(bytes.get(3..), Some(want.as_bytes()), "{v:e} at {t}");
            assert_eq!(bytes.get(..3), Some(&b"[x,"[..]));
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        let mut cases: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
        cases.extend(
            [
                "",
                "plain",
                "a\"b\\c\nd\u{1}e\u{1f}\u{7f}",
                "température → 42 °C",
                "\u{2028}\u{2029}/</script>",
                "\"\"\\\\",
                "ends with a tab\t",
            ]
            .map(String::from),
        );
        for c in cases {
            let mut s = String::from("x");
            write_str(&mut s, &c);
            let want = format!("x{}", serde_json::to_string(&c).unwrap());
            assert_eq!(s, want, "{c:?}");
        }
    }

    /// Label objects equal `serde_json`'s text of the same map, with and
    /// without bytes to escape, after text already in the buffer.
    #[test]
    fn label_sets_are_written_as_serde_json_does() {
        let sets = [
            Labels::empty(),
            labels!("a" => "b"),
            labels!("__name__" => "up", "instance" => "node-1:9100", "job" => "node"),
            labels!("a" => "x\"y", "b" => "tab\there"),
            labels!("k\\" => "v", "z" => "température\u{1}"),
        ];
        for l in &sets {
            let mut got = String::from("[1,");
            write_labels(&mut got, l);
            let mut m = serde_json::Map::new();
            for lab in l.iter() {
                m.insert(lab.name.into(), lab.value.into());
            }
            let want = format!("[1,{}", serde_json::to_string(&m).unwrap());
            assert_eq!(got, want, "{l:?}");
        }
    }

    /// Samples of an instant vector at different times (the timestamp
    /// text is reused only while it stays the same).
    #[test]
    fn vector_samples_keep_their_own_timestamps() {
        let s = |t, f| Sample {
            metric: labels!("a" => "b"),
            t,
            f,
        };
        let v = Value::Vector(vec![
            s(1000, 1.0),
            s(1000, f64::INFINITY),
            s(1500, -2.5),
            s(1500, 0.25),
            s(-20, f64::NAN),
        ]);
        let m = r#"{"metric":{"a":"b"},"value":"#;
        assert_eq!(
            query_data(&v),
            format!(
                r#"{{"resultType":"vector","result":[{m}[1,"1"]}},{m}[1,"+Inf"]}},{m}[1.500,"-2.5"]}},{m}[1.500,"0.25"]}},{m}[-0.020,"NaN"]}}]}}"#
            )
        );
    }

    #[test]
    fn results_encode() {
        assert_eq!(
            query_data(&Value::Scalar { t: 4000, v: 2.0 }),
            r#"{"resultType":"scalar","result":[4,"2"]}"#
        );
        assert_eq!(
            query_data(&Value::String {
                t: 1,
                v: "a\"b".into()
            }),
            r#"{"resultType":"string","result":[0.001,"a\"b"]}"#
        );
        let v = Value::Vector(vec![Sample {
            metric: labels!("__name__" => "up", "job" => "x"),
            t: 1000,
            f: f64::NAN,
        }]);
        assert_eq!(
            query_data(&v),
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"x"},"value":[1,"NaN"]}]}"#
        );
        let m = Value::Matrix(vec![Series {
            metric: labels!("a" => "b"),
            floats: vec![
                FPoint {
                    t: 0,
                    f: f64::INFINITY,
                },
                FPoint { t: 15_000, f: -0.5 },
            ],
        }]);
        assert_eq!(
            query_data(&m),
            r#"{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[0,"+Inf"],[15,"-0.5"]]}]}"#
        );
        assert_eq!(
            query_data(&Value::Vector(vec![])),
            r#"{"resultType":"vector","result":[]}"#
        );
    }
}
