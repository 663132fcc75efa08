//! The value of a string literal.
//!
//! PromQL string literals are Go strings in Prometheus: bytes, usually but
//! not necessarily UTF-8, since the escapes `\xNN` and `\NNN` are single
//! bytes (`"a\xc5z"`). Prometheus parses such a literal and fails only where
//! the value must be a label name (`count_values`, `label_replace`, …), with
//! the name printed by Go's `%q` (`invalid label name "a\xc5z"`). To do the
//! same, the tree holds the bytes; everything that needs text asks for it.

use std::fmt;

use crate::parser::go_quote_bytes;

/// The bytes of a string literal (already unescaped).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StringLiteral(Vec<u8>);

impl StringLiteral {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, if the bytes are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The text if it is a label name Prometheus 3 accepts (UTF-8 names
    /// are allowed; a name must be non-empty, valid UTF-8).
    pub fn as_label_name(&self) -> Option<&str> {
        self.as_str().filter(|s| !s.is_empty())
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text with every byte that is not part of valid UTF-8 replaced by
    /// U+FFFD, one per byte, as Go's JSON encoder writes such a string (so
    /// this is what a Prometheus API client sees).
    pub fn to_string_lossy(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for chunk in self.0.utf8_chunks() {
            out.push_str(chunk.valid());
            for _ in chunk.invalid() {
                out.push(char::REPLACEMENT_CHARACTER);
            }
        }
        out
    }

    /// Quoted like Go's `%q` (invalid bytes as `\xNN`); the parser reads it
    /// back to the same bytes.
    pub fn quoted(&self) -> String {
        go_quote_bytes(&self.0)
    }
}

impl fmt::Debug for StringLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted())
    }
}

/// The text as Go's `%s` shows it once it reaches a client: see
/// [`StringLiteral::to_string_lossy`].
impl fmt::Display for StringLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => f.write_str(&self.to_string_lossy()),
        }
    }
}

impl From<&str> for StringLiteral {
    fn from(s: &str) -> Self {
        StringLiteral(s.as_bytes().to_vec())
    }
}

impl From<String> for StringLiteral {
    fn from(s: String) -> Self {
        StringLiteral(s.into_bytes())
    }
}

impl From<Vec<u8>> for StringLiteral {
    fn from(b: Vec<u8>) -> Self {
        StringLiteral(b)
    }
}

impl From<&[u8]> for StringLiteral {
    fn from(b: &[u8]) -> Self {
        StringLiteral(b.to_vec())
    }
}

impl PartialEq<str> for StringLiteral {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for StringLiteral {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_views() {
        let ok = StringLiteral::from("é");
        assert_eq!(
            (ok.as_str(), ok.to_string(), ok.quoted()),
            (Some("é"), "é".into(), "\"é\"".into())
        );
        let bad = StringLiteral::from(&b"a\xc5z"[..]);
        assert_eq!(bad.as_str(), None);
        assert_eq!(bad.quoted(), r#""a\xc5z""#);
        assert_eq!(format!("{bad:?}"), r#""a\xc5z""#);
        assert_eq!(bad.to_string_lossy(), "a\u{fffd}z");
        // One replacement per byte, as Go's decoder sees them.
        let cut = StringLiteral::from(&b"\xe2\x82!"[..]);
        assert_eq!(cut.to_string(), "\u{fffd}\u{fffd}!");
        assert!(StringLiteral::default().is_empty());
        assert_eq!(StringLiteral::from("x"), "x");
        assert_eq!(StringLiteral::from("x").as_label_name(), Some("x"));
        assert_eq!(StringLiteral::from("").as_label_name(), None);
        assert_eq!(bad.as_label_name(), None);
    }
}
