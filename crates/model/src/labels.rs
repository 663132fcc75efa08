//! Label sets: the identity of a series.
//!
//! A [`Labels`] is one reference-counted string holding every name and value,
//! each preceded by its length, sorted by name (like Prometheus's
//! `stringlabels` build). A series' label set is thus one heap allocation
//! instead of one per name and value, and cloning is an `Arc` increment.
//!
//! Encoding (all inside one `str`): the number of labels, then for each label
//! the name's length, the name, the value's length and the value. Lengths are
//! written in base 64, least significant digit first, one ASCII byte per digit:
//! `0x00..=0x3f` is the last digit, `0x40..=0x7f` a digit with more to follow.
//! Being ASCII, the length bytes keep the whole buffer valid UTF-8, so no
//! `unsafe` is needed to hand out `&str`s. The encoding is canonical: equal
//! label sets have identical buffers.

mod builder;
mod iter;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

pub use builder::LabelsBuilder;
pub use iter::{LabelRef, LabelsIter};

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One owned `name="value"` pair (used to build label sets; iterating a
/// [`Labels`] yields borrowed [`LabelRef`]s).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// Label name, e.g. `job`.
    pub name: String,
    /// Label value; never empty inside a [`Labels`] (empty means absent).
    pub value: String,
}

/// An immutable label set, sorted by name, without empty values or duplicate
/// names. Cloning is an `Arc` increment; comparison is lexicographic over the
/// sorted pairs, the order Prometheus uses to sort series.
#[derive(Clone)]
pub struct Labels(Arc<str>);

/// Appends `n` as base-64 ASCII digits (see the module docs).
fn put_len(buf: &mut String, mut n: usize) {
    loop {
        let digit = (n & 0x3f) as u8;
        n >>= 6;
        if n == 0 {
            buf.push(char::from(digit));
            return;
        }
        buf.push(char::from(digit | 0x40));
    }
}

/// Bytes [`put_len`] writes for `n`.
fn len_size(mut n: usize) -> usize {
    let mut k = 1;
    n >>= 6;
    while n > 0 {
        k += 1;
        n >>= 6;
    }
    k
}

/// Reads a length written by [`put_len`] at `*pos`, advancing `*pos`.
/// `None` only for a truncated buffer, which [`Labels`] never holds.
#[inline]
fn get_len(b: &[u8], pos: &mut usize) -> Option<usize> {
    // One digit: names and values shorter than 64 bytes.
    let byte = *b.get(*pos)?;
    if byte < 0x40 {
        *pos += 1;
        return Some(usize::from(byte));
    }
    get_len_digits(b, pos)
}

/// [`get_len`] for a length of any number of digits.
fn get_len_digits(b: &[u8], pos: &mut usize) -> Option<usize> {
    let mut n = 0usize;
    let mut shift = 0u32;
    loop {
        let byte = *b.get(*pos)?;
        *pos += 1;
        n |= usize::from(byte & 0x3f).checked_shl(shift)?;
        if byte & 0x40 == 0 {
            return Some(n);
        }
        shift += 6;
    }
}

/// Encodes labels that are already sorted by name, unique and non-empty.
fn encode<'a>(count: usize, labels: impl Iterator<Item = (&'a str, &'a str)>) -> Labels {
    encode_sized(8 + count * 24, count, labels)
}

/// [`encode`] into a buffer of `capacity` bytes to start with.
fn encode_sized<'a>(
    capacity: usize,
    count: usize,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
) -> Labels {
    in_scratch(capacity, |buf| {
        put_len(buf, count);
        for (n, v) in labels {
            put_len(buf, n.len());
            buf.push_str(n);
            put_len(buf, v.len());
            buf.push_str(v);
        }
    })
}

/// The label set whose encoded text `fill` writes into an empty buffer of
/// `capacity` bytes. The text is assembled in a per-thread scratch buffer
/// and copied once into the `Arc` (one allocation per label set instead of
/// a `String` and then the `Arc`).
fn in_scratch(capacity: usize, fill: impl FnOnce(&mut String)) -> Labels {
    thread_local! {
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    let fill = |buf: &mut String| {
        buf.clear();
        buf.reserve(capacity);
        fill(buf);
        Labels(Arc::from(buf.as_str()))
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let labels = fill(&mut buf);
            // A very large set's buffer is not kept for the thread's life.
            if buf.capacity() > 64 << 10 {
                *buf = String::new();
            }
            labels
        }
        // Re-entered from inside `labels` (not done today): a buffer of its own.
        Err(_) => fill(&mut String::new()),
    })
}

impl Default for Labels {
    fn default() -> Self {
        Labels::empty()
    }
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Labels {
        encode(0, std::iter::empty())
    }

    /// Builds a label set from pairs: sorts them, drops empty values, and keeps
    /// the last value of a repeated name.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Labels {
        let mut b = LabelsBuilder::new();
        for (n, v) in pairs {
            b.set(n, v);
        }
        b.build()
    }

    /// Builds from labels already sorted by name, unique and non-empty.
    /// Callers that cannot guarantee this use [`Labels::from_pairs`].
    pub fn from_sorted(labels: Vec<Label>) -> Labels {
        Labels::from_sorted_refs(
            labels
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str()))
                .collect::<Vec<_>>()
                .as_slice(),
        )
    }

    /// Like [`Labels::from_sorted`], from borrowed `(name, value)` pairs.
    pub fn from_sorted_refs(pairs: &[(&str, &str)]) -> Labels {
        debug_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
        // Sized exactly, so the buffer never grows; the scraper builds one
        // of these per new series.
        let size = len_size(pairs.len())
            + pairs
                .iter()
                .map(|(n, v)| len_size(n.len()) + n.len() + len_size(v.len()) + v.len())
                .sum::<usize>();
        encode_sized(size, pairs.len(), pairs.iter().copied())
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        for l in self.iter() {
            match l.name.cmp(name) {
                Ordering::Less => continue,
                Ordering::Equal => return Some(l.value),
                Ordering::Greater => return None,
            }
        }
        None
    }

    /// The value of `name`, or `""` when absent (Prometheus's `Labels.Get`).
    pub fn get_or_empty(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// True if `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        let mut pos = 0;
        get_len(self.0.as_bytes(), &mut pos).unwrap_or(0)
    }

    /// True for the empty set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Iterates the labels in name order.
    pub fn iter(&self) -> LabelsIter<'_> {
        LabelsIter::new(&self.0)
    }

    /// The labels as owned pairs, in name order.
    pub fn to_vec(&self) -> Vec<Label> {
        self.iter().map(|l| l.to_label()).collect()
    }

    /// True if both are the same allocation (then they are equal); a cheap
    /// first check before comparing contents.
    pub fn ptr_eq(&self, other: &Labels) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A builder pre-filled with these labels.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder::from_labels(self.to_vec())
    }

    /// The labels whose name `keep` accepts, or `None` when it accepts
    /// every one (the caller keeps `self`). The kept labels' encoded bytes
    /// are copied as they are (each label's lengths and text), behind a new
    /// count: no label is re-encoded.
    pub fn retain_names(&self, keep: impl Fn(&str) -> bool) -> Option<Labels> {
        /// Kept labels remembered from the first pass; a larger set is
        /// walked a second time.
        const INLINE: usize = 16;
        let text = &*self.0;
        let mut inline = [""; INLINE];
        let (mut kept, mut bytes) = (0usize, 0usize);
        let mut all = true;
        for span in Spans::new(text) {
            if keep(span.name) {
                if let Some(slot) = inline.get_mut(kept) {
                    *slot = span.encoded;
                }
                kept += 1;
                bytes += span.encoded.len();
            } else {
                all = false;
            }
        }
        if all {
            return None;
        }
        Some(in_scratch(len_size(kept) + bytes, |buf| {
            put_len(buf, kept);
            match inline.get(..kept) {
                Some(spans) => spans.iter().for_each(|e| buf.push_str(e)),
                None => Spans::new(text)
                    .filter(|span| keep(span.name))
                    .for_each(|span| buf.push_str(span.encoded)),
            }
        }))
    }

    /// A copy without `__name__`.
    pub fn without_metric_name(&self) -> Labels {
        if !self.has(METRIC_NAME) {
            return self.clone();
        }
        let rest: Vec<(&str, &str)> = self
            .iter()
            .filter(|l| l.name != METRIC_NAME)
            .map(|l| (l.name, l.value))
            .collect();
        Labels::from_sorted_refs(&rest)
    }

    /// Stable 64-bit hash of the whole set (xxh3 over `name\xffvalue\xff…`), the
    /// same for equal sets in every process and version.
    pub fn stable_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.iter() {
            h.update(l.name.as_bytes());
            h.update(&[0xff]);
            h.update(l.value.as_bytes());
            h.update(&[0xff]);
        }
        h.digest()
    }

    /// Hash of only the named labels (for `by (...)` / `on (...)` grouping).
    pub fn hash_for(&self, names: &[String]) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.iter() {
            if names.iter().any(|n| n == l.name) {
                h.update(l.name.as_bytes());
                h.update(&[0xff]);
                h.update(l.value.as_bytes());
                h.update(&[0xff]);
            }
        }
        h.digest()
    }

    /// Hash of every label except the named ones and `__name__`
    /// (for `without (...)` / `ignoring (...)`).
    pub fn hash_without(&self, names: &[String]) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for l in self.iter() {
            if l.name != METRIC_NAME && !names.iter().any(|n| n == l.name) {
                h.update(l.name.as_bytes());
                h.update(&[0xff]);
                h.update(l.value.as_bytes());
                h.update(&[0xff]);
            }
        }
        h.digest()
    }

    /// Approximate heap bytes used, for memory accounting: the shared buffer
    /// and its reference counts.
    pub fn heap_bytes(&self) -> usize {
        self.0.len() + 2 * std::mem::size_of::<usize>()
    }
}

/// One label of an encoded set: its name and its whole encoding (name
/// length, name, value length, value).
struct Span<'a> {
    name: &'a str,
    encoded: &'a str,
}

/// The labels of an encoded set as [`Span`]s, in order; stops early on a
/// truncated text (which a [`Labels`] never holds).
struct Spans<'a> {
    text: &'a str,
    pos: usize,
    left: usize,
}

impl<'a> Spans<'a> {
    fn new(text: &'a str) -> Self {
        let mut pos = 0;
        let left = get_len(text.as_bytes(), &mut pos).unwrap_or(0);
        Spans { text, pos, left }
    }
}

impl<'a> Iterator for Spans<'a> {
    type Item = Span<'a>;

    fn next(&mut self) -> Option<Span<'a>> {
        if self.left == 0 {
            return None;
        }
        let b = self.text.as_bytes();
        let start = self.pos;
        let mut pos = start;
        let nlen = get_len(b, &mut pos)?;
        let name = self.text.get(pos..pos.checked_add(nlen)?)?;
        pos += nlen;
        let vlen = get_len(b, &mut pos)?;
        let end = pos.checked_add(vlen)?;
        let encoded = self.text.get(start..end)?;
        self.pos = end;
        self.left -= 1;
        Some(Span { name, encoded })
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Labels) -> bool {
        self.ptr_eq(other) || self.0 == other.0
    }
}

impl Eq for Labels {}

impl Hash for Labels {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Labels) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Lexicographic over the sorted `(name, value)` pairs; a set that is a
/// prefix of another sorts first.
impl Ord for Labels {
    fn cmp(&self, other: &Labels) -> Ordering {
        if self.ptr_eq(other) {
            return Ordering::Equal;
        }
        self.iter().cmp(other.iter())
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = LabelRef<'a>;
    type IntoIter = LabelsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Prints `name{a="b", c="d"}` like Prometheus's `Labels.String` (without the
/// name hoisting when there is no `__name__`).
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.metric_name() {
            f.write_str(n)?;
        }
        let rest: Vec<LabelRef<'_>> = self.iter().filter(|l| l.name != METRIC_NAME).collect();
        if rest.is_empty() && self.metric_name().is_some() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, l) in rest.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Builds [`Labels`] from `"name" => "value"` pairs.
#[macro_export]
macro_rules! labels {
    () => { $crate::Labels::empty() };
    ($($n:expr => $v:expr),+ $(,)?) => {
        $crate::Labels::from_pairs([$(($n, $v)),+])
    };
}

#[cfg(test)]
mod tests {

    #[test]
    fn retain_names_equals_rebuilding_the_kept_pairs() {
        let long = "v".repeat(70);
        let longer = "n".repeat(5000);
        let sets: Vec<Vec<(&str, &str)>> = vec![
            vec![],
            vec![("__name__", "up")],
            vec![("__name__", "up"), ("job", "a")],
            vec![
                ("Zone", "z"),
                ("__name__", "up"),
                ("__type__", "gauge"),
                ("a", "1"),
            ],
            vec![
                ("__name__", long.as_str()),
                ("b", longer.as_str()),
                ("c", long.as_str()),
            ],
            vec![("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")],
        ];
        let keeps: [fn(&str) -> bool; 5] = [
            |_| true,
            |_| false,
            |n| !n.starts_with("__"),
            |n| n != "b",
            |n| n == "c" || n == "Zone",
        ];
        for pairs in &sets {
            let l = super::Labels::from_sorted_refs(pairs);
            for keep in keeps {
                let want: Vec<(&str, &str)> =
                    pairs.iter().copied().filter(|(n, _)| keep(n)).collect();
                match l.retain_names(keep) {
                    None => assert_eq!(want.len(), pairs.len(), "{pairs:?}"),
                    Some(got) => {
                        assert!(want.len() < pairs.len(), "{pairs:?}");
                        assert_eq!(got, super::Labels::from_sorted_refs(&want), "{pairs:?}");
                        assert_eq!(got.len(), want.len());
                        let back: Vec<(&str, &str)> =
                            got.iter().map(|x| (x.name, x.value)).collect();
                        assert_eq!(back, want);
                    }
                }
            }
        }
        // More than 63 labels: a two-digit count.
        let names: Vec<String> = (0..70).map(|i| format!("l{i:03}")).collect();
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "x")).collect();
        let l = super::Labels::from_sorted_refs(&pairs);
        for cut in [1, 6, 7, 64, 69] {
            let got = l.retain_names(|n| n != names[cut - 1].as_str());
            let want: Vec<(&str, &str)> = pairs
                .iter()
                .copied()
                .filter(|(n, _)| *n != names[cut - 1])
                .collect();
            assert_eq!(got, Some(super::Labels::from_sorted_refs(&want)));
        }
    }

    #[test]
    fn sorted_refs_are_sized_exactly_for_any_length() {
        let long = "x".repeat(5000);
        let mid = "y".repeat(100);
        for pairs in [
            vec![],
            vec![("a", "1")],
            vec![
                ("a", mid.as_str()),
                ("b", long.as_str()),
                (mid.as_str(), ""),
            ],
        ] {
            let l = Labels::from_sorted_refs(&pairs);
            let got: Vec<(&str, &str)> = l.iter().map(|x| (x.name, x.value)).collect();
            assert_eq!(got, pairs);
            let size: usize = len_size(pairs.len())
                + pairs
                    .iter()
                    .map(|(n, v)| len_size(n.len()) + n.len() + len_size(v.len()) + v.len())
                    .sum::<usize>();
            assert_eq!(l.0.len(), size);
        }
        assert_eq!(
            (len_size(63), len_size(64), len_size(4095), len_size(4096)),
            (1, 2, 2, 3)
        );
    }
    use super::*;

    #[test]
    fn sorted_and_deduped() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", ""), ("a", "3")]);
        assert_eq!(l.len(), 2);
        assert_eq!(l.get("a"), Some("3"));
        assert_eq!(l.get("c"), None);
        assert_eq!(l.iter().next().map(|l| l.name), Some("a"));
    }

    #[test]
    fn display_like_prometheus() {
        let l = crate::labels!("__name__" => "up", "job" => "x");
        assert_eq!(l.to_string(), "up{job=\"x\"}");
        assert_eq!(crate::labels!("__name__" => "up").to_string(), "up");
        assert_eq!(crate::labels!("a" => "b").to_string(), "{a=\"b\"}");
    }

    #[test]
    fn hashes_are_stable_and_distinguish() {
        let a = crate::labels!("a" => "bc");
        let b = crate::labels!("ab" => "c");
        assert_ne!(a.stable_hash(), b.stable_hash());
        assert_eq!(a.stable_hash(), a.clone().stable_hash());
        let x = crate::labels!("__name__" => "m", "job" => "j", "i" => "1");
        let y = crate::labels!("__name__" => "n", "job" => "j", "i" => "2");
        assert_eq!(x.hash_for(&["job".into()]), y.hash_for(&["job".into()]));
        assert_eq!(x.hash_without(&["i".into()]), y.hash_without(&["i".into()]));
    }

    #[test]
    fn long_and_unicode_values_round_trip() {
        for len in [0usize, 1, 63, 64, 65, 4095, 4096, 300_000] {
            let v = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let l = Labels::from_pairs([("__name__", "m"), ("v", v.as_str()), ("z", "1")]);
            let expect = if v.is_empty() { 2 } else { 3 };
            assert_eq!(l.len(), expect);
            assert_eq!(l.get("v"), (!v.is_empty()).then_some(v.as_str()));
            assert_eq!(l.get("z"), Some("1"));
            assert_eq!(l.metric_name(), Some("m"));
            assert_eq!(l.iter().count(), expect);
            assert_eq!(l, Labels::from_sorted(l.to_vec()));
        }
    }

    #[test]
    fn one_allocation_cheap_clone_and_pointer_equality() {
        let a = crate::labels!("__name__" => "up", "job" => "x");
        let b = a.clone();
        assert!(a.ptr_eq(&b));
        let c = crate::labels!("__name__" => "up", "job" => "x");
        assert!(!a.ptr_eq(&c));
        assert_eq!(a, c);
        assert!(a.heap_bytes() < 48, "{}", a.heap_bytes());
        assert!(Labels::empty().is_empty());
        assert_eq!(Labels::default(), Labels::empty());
        assert_eq!(Labels::empty().to_string(), "{}");
    }

    #[test]
    fn without_metric_name_and_builder() {
        let l = crate::labels!("__name__" => "m", "a" => "1", "b" => "2");
        assert_eq!(
            l.without_metric_name(),
            crate::labels!("a" => "1", "b" => "2")
        );
        let mut b = l.builder();
        b.set("a", "").set("c", "3");
        assert_eq!(
            b.build(),
            crate::labels!("__name__" => "m", "b" => "2", "c" => "3")
        );
    }

    fn pairs() -> impl proptest::strategy::Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec(("[a-c_]{1,3}", "[xyé]{0,3}"), 0..5)
    }

    fn reference(p: &[(String, String)]) -> Vec<(String, String)> {
        let mut m = std::collections::BTreeMap::new();
        for (n, v) in p {
            m.insert(n.clone(), v.clone());
        }
        m.into_iter().filter(|(_, v)| !v.is_empty()).collect()
    }

    proptest::proptest! {
        #[test]
        fn behaves_like_sorted_pairs(a in pairs(), b in pairs()) {
            let (ra, rb) = (reference(&a), reference(&b));
            let (la, lb) = (Labels::from_pairs(a.clone()), Labels::from_pairs(b.clone()));
            let got: Vec<(String, String)> =
                la.iter().map(|l| (l.name.to_string(), l.value.to_string())).collect();
            proptest::prop_assert_eq!(&got, &ra);
            proptest::prop_assert_eq!(la.len(), ra.len());
            for (n, v) in &ra {
                proptest::prop_assert_eq!(la.get(n), Some(v.as_str()));
            }
            proptest::prop_assert_eq!(la.cmp(&lb), ra.cmp(&rb));
            proptest::prop_assert_eq!(la == lb, ra == rb);
        }
    }
}
