//! [`LabelsBuilder`]: a mutable label set used to derive new [`Labels`].

use super::{encode, Label, Labels};

/// Mutable label set used to derive new [`Labels`]; `build` sorts and drops
/// empty values.
#[derive(Clone, Debug, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    pub(super) fn from_labels(labels: Vec<Label>) -> Self {
        LabelsBuilder { labels }
    }

    /// Sets `name` to `value` (an empty value deletes the label).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let name = name.into();
        let value = value.into();
        if let Some(l) = self.labels.iter_mut().find(|l| l.name == name) {
            l.value = value;
        } else {
            self.labels.push(Label { name, value });
        }
        self
    }

    /// Removes `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| l.name != name);
        self
    }

    /// Keeps only the labels whose names satisfy `keep`.
    pub fn retain(&mut self, mut keep: impl FnMut(&Label) -> bool) -> &mut Self {
        self.labels.retain(|l| keep(l));
        self
    }

    /// The current value of `name`, if set and non-empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name == name && !l.value.is_empty())
            .map(|l| l.value.as_str())
    }

    /// Produces the sorted, immutable set.
    pub fn build(&self) -> Labels {
        let mut v: Vec<&Label> = self.labels.iter().filter(|l| !l.value.is_empty()).collect();
        // Stable sort: of repeated names (which `set` never produces), the
        // one set last wins.
        v.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(v.len());
        for l in v {
            match out.last_mut() {
                Some(last) if last.0 == l.name => last.1 = &l.value,
                _ => out.push((&l.name, &l.value)),
            }
        }
        encode(out.len(), out.into_iter())
    }
}
