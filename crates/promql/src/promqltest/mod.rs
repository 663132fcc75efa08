//! A runner for Prometheus's PromQL test-script language (`*.test` files:
//! `load`, `eval instant at`, `eval range from … to … step …`, `expect …`
//! lines, `clear`, the expanding series notation).
//!
//! Public so other crates can reuse it, e.g. to run scripts against another
//! storage. Native histograms, `load_with_nhcb` and `@st` lines are parsed
//! but not supported: a load block using them reports a failed case.
//!
//! ```
//! use promlite_promql::promqltest::{conformance_engine, run_script};
//! let script = "load 1m\n  up{job=\"a\"} 0 1 2\n\neval instant at 2m up\n  up{job=\"a\"} 2\n";
//! let results = run_script(script, &conformance_engine());
//! assert_eq!(results.len(), 2);
//! assert!(results.iter().all(|r| r.error.is_none()), "{results:?}");
//!
//! let wrong = "load 1m\n  up 1\n\neval instant at 0 up\n  up 2\n";
//! let results = run_script(wrong, &conformance_engine());
//! assert!(results[1].error.is_some());
//! ```

mod run;
mod script;
mod series;

pub use run::{conformance_engine, float_eq, run_script, CaseResult};
pub use script::{parse_script, Command, Eval, EvalKind, TextMatch};
pub use series::{parse_metric, parse_number, parse_quoted, parse_series_line, parse_values, Slot};
