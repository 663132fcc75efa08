//! End-to-end tests: the real `promlite` binary on loopback ports with temp
//! data directories. No Prometheus needed.

mod admin;
mod check;
mod demo;
mod harness;
mod mlops_loop;
mod rules;
mod self_metrics;
mod serve;
