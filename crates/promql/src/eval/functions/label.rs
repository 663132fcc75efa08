//! `label_replace`, `label_join` and label-based sorting.

use std::cmp::Ordering;
use std::sync::Arc;

use promlite_model::{Labels, ReplaceRegex};

use crate::ast::StringLiteral;
use crate::error::QueryError;

/// The value of label `name` in `l`, "" when absent; a name that is not
/// UTF-8 (`None`) is no stored series' label.
pub(crate) fn value_of<'a>(l: &'a Labels, name: Option<&str>) -> &'a str {
    name.map_or("", |n| l.get_or_empty(n))
}

/// The anchored regex of `label_replace`, compiled once per process
/// ([`promlite_model::anchored_regex`]). A regex that is not UTF-8 is
/// invalid, as for Go's `regexp`.
pub(crate) fn compile_replace_regex(re: &StringLiteral) -> Result<Arc<ReplaceRegex>, QueryError> {
    let Some(re) = re.as_str() else {
        return Err(QueryError::Execution(format!(
            "invalid regular expression in label_replace(): {re}: invalid UTF-8"
        )));
    };
    promlite_model::anchored_regex(re).map_err(|e| {
        QueryError::Execution(format!(
            "invalid regular expression in label_replace(): {re}: {e}"
        ))
    })
}

/// Applies `label_replace` to one label set. `res` is a scratch buffer.
pub(crate) fn replace(
    l: &Labels,
    re: &ReplaceRegex,
    dst: &str,
    repl: &str,
    src: Option<&str>,
    res: &mut String,
) -> Labels {
    let value = value_of(l, src);
    res.clear();
    if !re.expand_into(value, repl, res) {
        return l.clone();
    }
    with_label(l, dst, res)
}

/// `l` with label `name` set to `value` (removed when `value` is empty):
/// one pass over the sorted pairs into a new set, or `l` itself when
/// nothing changes.
pub(crate) fn with_label(l: &Labels, name: &str, value: &str) -> Labels {
    if l.get_or_empty(name) == value {
        return l.clone();
    }
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(l.len() + 1);
    let mut placed = value.is_empty();
    for x in l.iter() {
        if !placed && x.name >= name {
            pairs.push((name, value));
            placed = true;
        }
        if x.name != name {
            pairs.push((x.name, x.value));
        }
    }
    if !placed {
        pairs.push((name, value));
    }
    Labels::from_sorted_refs(&pairs)
}

/// Applies `label_join` to one label set.
pub(crate) fn join(l: &Labels, dst: &str, sep: &str, srcs: &[String]) -> Labels {
    let parts: Vec<&str> = srcs.iter().map(|s| l.get_or_empty(s)).collect();
    with_label(l, dst, &parts.join(sep))
}

/// Natural ("human") string order: digit runs compare as numbers.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < ab.len() && j < bb.len() {
        if ab[i].is_ascii_digit() && bb[j].is_ascii_digit() {
            let si = i;
            while i < ab.len() && ab[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < bb.len() && bb[j].is_ascii_digit() {
                j += 1;
            }
            let na = a[si..i].trim_start_matches('0');
            let nb = b[sj..j].trim_start_matches('0');
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != Ordering::Equal {
                return o;
            }
        } else {
            if ab[i] != bb[j] {
                return ab[i].cmp(&bb[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (ab.len() - i).cmp(&(bb.len() - j))
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;

    #[test]
    fn replace_expands_groups() {
        let re = |s: &str| compile_replace_regex(&StringLiteral::from(s));
        let l = labels!("__name__" => "up", "src" => "source-value-10");
        let mut buf = String::new();
        let out = replace(
            &l,
            &re("(.*)-value-(.*)").unwrap(),
            "dst",
            "$1-$2",
            Some("src"),
            &mut buf,
        );
        assert_eq!(out.get("dst"), Some("source-10"));
        assert_eq!(out.get("__name__"), Some("up"));
        let no = re("nomatch").unwrap();
        assert_eq!(replace(&l, &no, "dst", "x", Some("src"), &mut buf), l);
        let empty = re(".*").unwrap();
        let out = replace(&l, &empty, "src", "", Some("src"), &mut buf);
        assert_eq!(out.get("src"), None);
        assert!(re("(").is_err());
        // A source name that is not UTF-8 is an absent label: "".
        let out = replace(&l, &re("").unwrap(), "dst", "empty", None, &mut buf);
        assert_eq!(out.get("dst"), Some("empty"));
        let bad = compile_replace_regex(&StringLiteral::from(&b"a\xc5"[..]));
        assert!(bad.is_err_and(|e| e.to_string().contains("invalid UTF-8")));
    }

    /// Setting a label gives what the builder gives: before, between and
    /// after the others, replacing, removing, and unchanged sets.
    #[test]
    fn with_label_equals_the_builder() {
        let sets = [
            labels!(),
            labels!("b" => "1"),
            labels!("__name__" => "m", "b" => "1", "d" => "2"),
        ];
        for l in &sets {
            for name in ["a", "b", "c", "d", "e", "__name__"] {
                for value in ["", "1", "x"] {
                    let mut b = l.builder();
                    if value.is_empty() {
                        b.del(name);
                    } else {
                        b.set(name, value);
                    }
                    assert_eq!(
                        with_label(l, name, value),
                        b.build(),
                        "{l:?} {name}={value}"
                    );
                }
            }
        }
    }

    #[test]
    fn join_and_natural_order() {
        let l = labels!("a" => "x", "b" => "y");
        assert_eq!(
            join(&l, "c", "-", &["a".into(), "b".into(), "z".into()]).get("c"),
            Some("x-y-")
        );
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("a10", "a10"), Ordering::Equal);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
    }
}
