//! promlite-scrape: the scraper.
#![deny(missing_docs)]

mod cardinality;
pub mod config;
pub mod discovery;
pub mod fetch;
pub mod manager;
pub mod relabel;
pub mod scrape_loop;
pub mod target;

pub use config::{Config, ConfigError, ScrapeConfig};
pub use manager::{ActiveTarget, DroppedTarget, ScrapeManager, TargetMetadata, Targets};
pub use scrape_loop::{ScrapeLoop, ScrapeOptions, ScrapeReport};
pub use target::{Health, Target, TargetGroup, TargetShared};
