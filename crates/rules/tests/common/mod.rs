//! Shared test helpers: a scripted query function and a storage reader.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use promlite_model::{Labels, Matcher, MemStorage, Queryable, ValueType};
use promlite_rules::{QSample, QueryFn};

/// Returns whatever the test set for an expression (empty by default).
#[derive(Default)]
pub struct Scripted {
    answers: Mutex<HashMap<String, Result<Vec<QSample>, String>>>,
    pub calls: Mutex<Vec<(String, i64)>>,
}

impl Scripted {
    pub fn set(&self, expr: &str, samples: Vec<(Labels, f64)>) {
        let v = samples
            .into_iter()
            .map(|(metric, f)| QSample { metric, f })
            .collect();
        self.answers.lock().unwrap().insert(expr.to_string(), Ok(v));
    }

    pub fn fail(&self, expr: &str, msg: &str) {
        self.answers
            .lock()
            .unwrap()
            .insert(expr.to_string(), Err(msg.to_string()));
    }
}

impl QueryFn for Scripted {
    fn query(&self, expr: &str, t_ms: i64) -> Result<Vec<QSample>, String> {
        self.calls.lock().unwrap().push((expr.to_string(), t_ms));
        self.answers
            .lock()
            .unwrap()
            .get(expr)
            .cloned()
            .unwrap_or(Ok(Vec::new()))
    }
}

/// All samples of the series named `name` (any labels), as (labels, t, v).
pub fn samples(db: &MemStorage, name: &str) -> Vec<(Labels, i64, f64)> {
    let q = db.querier(i64::MIN / 2, i64::MAX / 2).unwrap();
    let series = q
        .select(&Default::default(), &[Matcher::equal("__name__", name)])
        .unwrap();
    let mut out = Vec::new();
    for s in series {
        let mut it = s.iter();
        while it.next() == ValueType::Float {
            let (t, v) = it.at();
            out.push((s.labels().clone(), t, v));
        }
    }
    out
}
