//! The cardinality guard: when a scrape breaks a series/sample limit, find
//! the culprit so the error says which metric and label exploded.

use std::collections::{HashMap, HashSet};

use promlite_model::{Labels, METRIC_NAME};

/// Collects per-metric series counts and per-label distinct values.
#[derive(Default)]
pub(crate) struct CardinalityStats {
    series: HashMap<String, HashSet<u64>>,
    values: HashMap<(String, String), HashSet<String>>,
}

impl CardinalityStats {
    /// Records one (post-relabeling) series.
    pub(crate) fn add(&mut self, labels: &Labels) {
        let name = labels.metric_name().unwrap_or("").to_string();
        self.series
            .entry(name.clone())
            .or_default()
            .insert(labels.stable_hash());
        for l in labels.iter() {
            if l.name != METRIC_NAME {
                self.values
                    .entry((name.clone(), l.name.to_string()))
                    .or_default()
                    .insert(l.value.to_string());
            }
        }
    }

    /// `label "user_id" on "model_requests_total" has 48000 values`, for the
    /// metric with the most series and its label with the most values.
    pub(crate) fn culprit(&self) -> Option<String> {
        let (metric, series) = self
            .series
            .iter()
            .max_by(|a, b| a.1.len().cmp(&b.1.len()).then_with(|| b.0.cmp(a.0)))?;
        let best = self
            .values
            .iter()
            .filter(|((m, _), _)| m == metric)
            .max_by(|a, b| {
                a.1.len()
                    .cmp(&b.1.len())
                    .then_with(|| (b.0).1.cmp(&(a.0).1))
            });
        Some(match best {
            Some(((_, label), vals)) => {
                format!("label {label:?} on {metric:?} has {} values", vals.len())
            }
            None => format!("metric {metric:?} has {} series", series.len()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use promlite_model::labels;

    #[test]
    fn names_the_biggest_metric_and_label() {
        let mut s = CardinalityStats::default();
        for i in 0..50 {
            let user = format!("u{i}");
            s.add(&labels!("__name__" => "req_total", "user_id" => user.as_str(), "code" => if i % 2 == 0 { "200" } else { "500" }));
        }
        for i in 0..3 {
            let x = i.to_string();
            s.add(&labels!("__name__" => "other", "x" => x.as_str()));
        }
        assert_eq!(
            s.culprit().unwrap(),
            "label \"user_id\" on \"req_total\" has 50 values"
        );
        assert!(CardinalityStats::default().culprit().is_none());
    }
}
