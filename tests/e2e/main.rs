//! End-to-end tests: the real `promlite` binary on loopback ports with temp
//! data directories. No Prometheus needed.

mod demo;
mod harness;
mod rules;
mod self_metrics;
mod serve;
