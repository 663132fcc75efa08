//! The scraper: Prometheus's `prometheus.yml`, target discovery and
//! relabeling, and one scrape loop per target that pulls `/metrics` and
//! appends the samples through [`promlite_model::Appendable`].
//!
//! # Main types
//!
//! * [`Config`] — the whole `prometheus.yml` (`global`, `scrape_configs`,
//!   `rule_files`, `alerting`, …), parsed with unknown fields rejected and
//!   validated ([`Config::from_str`], [`Config::load`]).
//! * [`relabel`] — all relabel actions with Prometheus's semantics.
//! * [`ScrapeManager`] — runs the scrape pools of a config: one tokio task
//!   per target, reload via [`ScrapeManager::apply_config`] /
//!   [`ScrapeManager::reload_from_file`], views for `/api/v1/targets` and
//!   `/api/v1/metadata` ([`ScrapeManager::targets`], [`ScrapeManager::metadata`]).
//! * [`ScrapeLoop`] — one target: fetch (gzip, auth, TLS, decompressed body
//!   limit), parse, `metric_relabel_configs`, `honor_labels`/`honor_timestamps`,
//!   limits with a cardinality hint, atomic append (a failed scrape appends
//!   nothing but `up` = 0 and staleness markers), synthetic `up` and
//!   `scrape_*` series.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use promlite_model::{MemStorage, SystemClock};
//! use promlite_scrape::{Config, ScrapeManager, ScrapeOptions};
//!
//! let cfg = Config::from_str(r#"
//! global:
//!   scrape_interval: 15s
//! scrape_configs:
//!   - job_name: model
//!     static_configs:
//!       - targets: ["localhost:8000"]
//!     metric_relabel_configs:
//!       - source_labels: [__name__]
//!         regex: "go_.*"
//!         action: drop
//! "#).unwrap();
//! assert_eq!(cfg.scrape_configs[0].scrape_timeout.as_secs(), 10);
//!
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! rt.block_on(async {
//!     let db = MemStorage::new();
//!     let manager = ScrapeManager::new(Arc::new(db), Arc::new(SystemClock), ScrapeOptions::default());
//!     manager.apply_config(&cfg).unwrap();
//!     let targets = manager.active_targets();
//!     assert_eq!(targets[0].scrape_url, "http://localhost:8000/metrics");
//!     assert_eq!(targets[0].labels.get("instance"), Some("localhost:8000"));
//!     manager.stop().await;
//! });
//! ```
#![deny(missing_docs)]

mod cache;
mod cardinality;
pub mod config;
pub mod discovery;
pub mod fetch;
mod http1;
pub mod manager;
mod metadata;
pub mod metrics;
pub mod relabel;
mod runtime;
pub mod scrape_loop;
pub mod target;
mod ticker;
mod tls;

pub use config::{Config, ConfigError, ScrapeConfig};
pub use manager::{ActiveTarget, DroppedTarget, ScrapeManager, TargetMetadata, Targets};
pub use metrics::ScrapeMetrics;
pub use runtime::ScrapeRuntime;
pub use scrape_loop::{ScrapeLoop, ScrapeOptions, ScrapeReport};
pub use target::{Health, ScrapeCounters, Target, TargetGroup, TargetShared};
