//! The vocabulary every promlite crate shares.
//!
//! `promlite-model` sits at the bottom of the workspace: it holds the types that
//! flow between the scraper, the storage engine, the PromQL engine and the HTTP
//! API, and the storage *traits* that connect them, so that no crate above it
//! depends on a concrete storage engine.
//!
//! # Brief overview
//!
//! * [`Labels`] — an immutable, sorted, cheaply clonable label set; the metric
//!   name lives under [`METRIC_NAME`] (`__name__`).
//! * [`Sample`] — a millisecond timestamp and an `f64`; [`STALE_NAN`] is the
//!   staleness marker bit pattern Prometheus writes when a series disappears.
//! * [`Matcher`] — `=`, `!=`, `=~`, `!~` with Prometheus semantics (fully
//!   anchored regexes, a missing label equals the empty string).
//! * [`storage`] — [`Appendable`]/[`Appender`] for writes and
//!   [`Queryable`]/[`Querier`]/[`Series`]/[`SampleIterator`] for reads.
//!   [`MemStorage`] implements them in memory for tests and examples.
//! * [`Clock`] — where "now" comes from, so tests never sleep.
//! * [`duration`] — Prometheus duration strings (`1h30m`, `500ms`).
//! * [`MetricType`] / [`Metadata`] — what `# TYPE`/`# HELP`/`# UNIT` say.
//!
//! # Example
//!
//! ```
//! use promlite_model::{labels, Matcher, MatchOp, MemStorage, Appendable, Queryable};
//!
//! let db = MemStorage::new();
//! let mut app = db.appender();
//! app.append(None, &labels!("__name__" => "up", "job" => "demo"), 1_000, 1.0).unwrap();
//! app.commit().unwrap();
//!
//! let q = db.querier(0, 2_000).unwrap();
//! let m = Matcher::new(MatchOp::Equal, "job", "demo").unwrap();
//! let series = q.select(&Default::default(), &[m]).unwrap();
//! assert_eq!(series.len(), 1);
//! let mut it = series[0].iter();
//! assert_eq!(it.next(), promlite_model::ValueType::Float);
//! assert_eq!(it.at(), (1_000, 1.0));
//! ```
#![deny(missing_docs)]

mod clock;
pub mod duration;
mod error;
mod labels;
mod matcher;
mod memory;
mod metadata;
mod sample;
pub mod storage;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{AppendError, StorageError};
pub use labels::{Label, LabelRef, Labels, LabelsBuilder, LabelsIter, METRIC_NAME};
pub use matcher::{anchored_regex, MatchOp, Matcher, MatcherError, ReplaceRegex};
pub use memory::MemStorage;
pub use metadata::{Metadata, MetricType};
pub use sample::{is_stale_nan, Sample, STALE_NAN, STALE_NAN_BITS};
pub use storage::{
    Appendable, Appender, Querier, Queryable, SampleIterator, SelectHints, Series, SeriesRef,
    ValueType, VecSampleIterator,
};
