//! Borrowed views of the labels inside a [`Labels`](super::Labels).

use super::{get_len, Label};

/// One `name="value"` pair borrowed from a [`Labels`](super::Labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelRef<'a> {
    /// Label name, e.g. `job`.
    pub name: &'a str,
    /// Label value, never empty.
    pub value: &'a str,
}

impl LabelRef<'_> {
    /// An owned copy.
    pub fn to_label(&self) -> Label {
        Label {
            name: self.name.to_string(),
            value: self.value.to_string(),
        }
    }
}

impl PartialEq<Label> for LabelRef<'_> {
    fn eq(&self, other: &Label) -> bool {
        self.name == other.name && self.value == other.value
    }
}

impl PartialEq<LabelRef<'_>> for Label {
    fn eq(&self, other: &LabelRef<'_>) -> bool {
        self.name == other.name && self.value == other.value
    }
}

/// Iterator over the labels of a [`Labels`](super::Labels), in name order.
#[derive(Clone, Debug)]
pub struct LabelsIter<'a> {
    buf: &'a str,
    pos: usize,
    left: usize,
}

impl<'a> LabelsIter<'a> {
    pub(super) fn new(buf: &'a str) -> Self {
        let mut pos = 0;
        let left = get_len(buf.as_bytes(), &mut pos).unwrap_or(0);
        LabelsIter { buf, pos, left }
    }

    fn field(&mut self) -> Option<&'a str> {
        let n = get_len(self.buf.as_bytes(), &mut self.pos)?;
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
}

impl<'a> Iterator for LabelsIter<'a> {
    type Item = LabelRef<'a>;

    fn next(&mut self) -> Option<LabelRef<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let name = self.field();
        let value = self.field();
        match (name, value) {
            (Some(name), Some(value)) => Some(LabelRef { name, value }),
            _ => {
                // Unreachable for buffers built by `encode`; stop cleanly.
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for LabelsIter<'_> {}

impl std::iter::FusedIterator for LabelsIter<'_> {}
