//! String literals: Go escapes in `"..."`/`'...'`, raw `` `...` ``.
//!
//! Escapes: `\a \b \f \n \r \t \v \\`, the string's own quote, octal
//! `\NNN` (≤ 255), `\xNN`, `\uNNNN`, `\UNNNNNNNN`. As in Go, octal and `\x`
//! escapes are bytes (`"\xc3\xa9"` is `é`), and, as in Go, the bytes need
//! not form UTF-8 (`"a\xc5z"`): a literal is a [`StringLiteral`], and what
//! uses it decides (an invalid label name fails at evaluation, as in
//! Prometheus).

use crate::ast::StringLiteral;

/// Scans a quoted string at the start of `s` (which begins with `quote`).
/// Returns the unescaped value and the byte length consumed.
pub(crate) fn scan_quoted(s: &str, quote: char) -> Result<(StringLiteral, usize), String> {
    let mut out: Vec<u8> = Vec::new();
    let mut it = s.char_indices().skip(1);
    let mut buf = [0u8; 4];
    let mut push =
        |out: &mut Vec<u8>, c: char| out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    while let Some((i, c)) = it.next() {
        match c {
            c if c == quote => return Ok((StringLiteral::from(out), i + c.len_utf8())),
            '\n' => return Err("unterminated quoted string".to_string()),
            '\\' => {
                let Some((_, e)) = it.next() else {
                    return Err("escape sequence not terminated".to_string());
                };
                let simple = match e {
                    'a' => Some('\u{7}'),
                    'b' => Some('\u{8}'),
                    'f' => Some('\u{c}'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    'v' => Some('\u{b}'),
                    '\\' => Some('\\'),
                    e if e == quote => Some(e),
                    _ => None,
                };
                if let Some(ch) = simple {
                    push(&mut out, ch);
                    continue;
                }
                let (digits, base, first): (usize, u32, Option<char>) = match e {
                    '0'..='7' => (3, 8, Some(e)),
                    'x' => (2, 16, None),
                    'u' => (4, 16, None),
                    'U' => (8, 16, None),
                    _ => return Err(format!("unknown escape sequence {}", go_unicode(e))),
                };
                let mut v: u32 = 0;
                let mut taken = 0;
                if let Some(f) = first {
                    v = f.to_digit(8).unwrap_or(0);
                    taken = 1;
                }
                while taken < digits {
                    let Some((_, d)) = it.next() else {
                        return Err("escape sequence not terminated".to_string());
                    };
                    let Some(dv) = d.to_digit(base) else {
                        return Err(format!(
                            "illegal character {} in escape sequence",
                            go_unicode(d)
                        ));
                    };
                    v = v.saturating_mul(base).saturating_add(dv);
                    taken += 1;
                }
                if base == 8 && v > 255 {
                    return Err(format!("octal escape value {v} > 255"));
                }
                if digits <= 3 {
                    // `\xNN` and octal escapes are single bytes.
                    out.push(v as u8);
                    continue;
                }
                match char::from_u32(v) {
                    Some(ch) => push(&mut out, ch),
                    None => {
                        return Err("escape sequence is an invalid Unicode code point".to_string())
                    }
                }
            }
            c => push(&mut out, c),
        }
    }
    Err("unterminated quoted string".to_string())
}

/// Scans a raw string at the start of `s` (which begins with a backtick).
pub(crate) fn scan_raw(s: &str) -> Result<(StringLiteral, usize), String> {
    match s.get(1..).and_then(|r| r.find('`')) {
        Some(end) => Ok((StringLiteral::from(&s[1..end + 1]), end + 2)),
        None => Err("unterminated raw string".to_string()),
    }
}

/// Go's `%#U`: `U+0071 'q'`.
fn go_unicode(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{}'", c as u32, c)
    }
}

/// Quotes `s` like Go's `strconv.Quote` (`%q`), which the parser reads back.
pub fn go_quote(s: &str) -> String {
    go_quote_bytes(s.as_bytes())
}

/// [`go_quote`] for bytes that need not be UTF-8: as in Go, each byte that
/// is not part of a valid UTF-8 sequence is written `\xNN`.
pub fn go_quote_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            quote_char(&mut out, c);
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out.push('"');
    out
}

fn quote_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if c.is_control() || c == '\u{feff}' => {
            if (c as u32) <= 0xffff {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(r: Result<(StringLiteral, usize), String>) -> Result<(String, usize), String> {
        r.map(|(v, n)| (v.to_string_lossy(), n))
    }

    #[test]
    fn escapes() {
        let q = |s: &str| text(scan_quoted(s, s.chars().next().unwrap_or('"')));
        assert_eq!(
            q(r#""a\tb\n\\\"" rest"#),
            Ok(("a\tb\n\\\"".to_string(), 12))
        );
        assert_eq!(q(r"'it\'s'"), Ok(("it's".to_string(), 7)));
        assert_eq!(
            q(r#""\x41\u00e9\U0001F600\101""#).map(|r| r.0),
            Ok("Aé😀A".to_string())
        );
        assert_eq!(
            q(r#""\xc3\xa9\303\251""#).map(|r| r.0),
            Ok("éé".to_string())
        );
        assert_eq!(
            q(r#""\'""#),
            Err("unknown escape sequence U+0027 '''".to_string())
        );
        assert_eq!(
            q(r#""\q""#),
            Err("unknown escape sequence U+0071 'q'".to_string())
        );
        assert_eq!(
            q(r#""\xZZ""#),
            Err("illegal character U+005A 'Z' in escape sequence".to_string())
        );
        assert_eq!(
            q(r#""\uD800""#),
            Err("escape sequence is an invalid Unicode code point".to_string())
        );
        assert_eq!(q("\"abc"), Err("unterminated quoted string".to_string()));
        assert_eq!(q("\"a\nb\""), Err("unterminated quoted string".to_string()));
        assert_eq!(text(scan_raw("`a\\n`x")), Ok(("a\\n".to_string(), 5)));
        assert_eq!(
            text(scan_raw("`abc")),
            Err("unterminated raw string".to_string())
        );
    }

    #[test]
    fn byte_escapes_need_not_be_utf8() {
        // As in Go: `\x` and octal escapes are bytes, whatever they form.
        let (v, n) = scan_quoted(r#""a\xc5z""#, '"').expect("scans");
        assert_eq!((v.as_bytes(), n), (&b"a\xc5z"[..], 8));
        assert_eq!(v.as_str(), None);
        let (v, _) = scan_quoted(r#""\377\xe2\x82""#, '"').expect("scans");
        assert_eq!(v.as_bytes(), &[0xff, 0xe2, 0x82][..]);
        assert_eq!(go_quote_bytes(v.as_bytes()), r#""\xff\xe2\x82""#);
    }

    #[test]
    fn quote_round_trips() {
        for s in [
            "",
            "plain",
            "a\"b\\c",
            "\u{1}\u{7f}\n\t",
            "é😀",
            "\u{200b}",
            "\u{fffd}",
        ] {
            let quoted = go_quote(s);
            assert_eq!(
                scan_quoted(&quoted, '"').map(|r| r.0),
                Ok(StringLiteral::from(s)),
                "{quoted}"
            );
        }
        for b in [
            &b"a\xc5z"[..],
            b"\xff\xfe",
            b"\xe2\x82\xac\xe2\x82",
            b"\xed\xa0\x80",
        ] {
            let quoted = go_quote_bytes(b);
            assert_eq!(
                scan_quoted(&quoted, '"').map(|r| r.0),
                Ok(StringLiteral::from(b)),
                "{quoted}"
            );
        }
    }
}
