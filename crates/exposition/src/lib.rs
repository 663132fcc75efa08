//! Parsers for the Prometheus text exposition format (0.0.4 / 1.0.0) and
//! OpenMetrics 1.0 text, as scraped from `/metrics`, plus the reader behind
//! `promlite import openmetrics FILE`.
//!
//! # Main types
//!
//! * [`Parser`] — a zero-copy pull parser over a whole body. [`Parser::next_entry`]
//!   yields [`Entry`] values (`# TYPE`, `# HELP`, `# UNIT`, samples, comments);
//!   [`Parser::next_into`] fills a caller-owned [`SampleEntry`] so a scrape
//!   loop allocates nothing per sample.
//! * [`Format`] — which grammar to use, chosen from the Content-Type with
//!   [`Format::from_content_type`]; [`SCRAPE_ACCEPT_HEADER`] is what to ask for.
//! * [`ParseError`] — line, column and what was expected.
//! * [`parse_all`] — the whole body as sorted [`promlite_model::Labels`] per sample.
//! * [`openmetrics_import`] — streams `(Labels, t_ms, value)` from an
//!   OpenMetrics backfill file (the `promtool tsdb create-blocks-from
//!   openmetrics` input).
//!
//! Acceptance follows Prometheus's `textparse` package exactly where it is
//! well-defined; see `docs/exposition.md` for the rules and the deviations.
//!
//! # Example
//!
//! ```
//! use promlite_exposition::{Entry, Format, Parser, Parsed, SampleEntry};
//!
//! let body = concat!(
//!     "# HELP http_requests_total Requests.\n",
//!     "# TYPE http_requests_total counter\n",
//!     "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n",
//! ).as_bytes();
//! let mut p = Parser::new(body, Format::from_content_type(Some("text/plain; version=0.0.4")));
//! let mut sample = SampleEntry::default();
//! let mut seen = Vec::new();
//! while let Some(item) = p.next_into(&mut sample) {
//!     match item.unwrap() {
//!         Parsed::Sample => seen.push((sample.name, sample.labels.len(), sample.value, sample.timestamp_ms)),
//!         Parsed::Other(Entry::Help { help, .. }) => assert_eq!(help, "Requests."),
//!         Parsed::Other(_) => {}
//!     }
//! }
//! assert_eq!(seen, vec![("http_requests_total", 2, 1027.0, Some(1395066363000))]);
//! ```
#![deny(missing_docs)]

mod entry;
mod fast;
mod float;
mod format;
mod import;
mod lex;
mod openmetrics;
mod parser;
mod scan;
mod text;

#[doc(hidden)]
pub mod testing;

pub use entry::{Entry, Exemplar, LabelPair, ParseError, SampleEntry};
pub use float::{format_openmetrics_float, NORMAL_NAN_BITS};
pub use format::{Format, SCRAPE_ACCEPT_HEADER};
pub use import::{for_each_import_row, openmetrics_import, ImportError};
pub use parser::{parse_all, sample_labels, Parsed, Parser};
