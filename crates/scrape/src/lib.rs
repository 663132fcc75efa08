//! promlite-scrape: placeholder while being built.
#![deny(missing_docs)]

pub mod config;
pub mod relabel;
