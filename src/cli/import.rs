//! `promlite import openmetrics`.

use std::path::Path;

use anyhow::Context;
use promlite::import::import_openmetrics;
use promlite::model::duration::parse_duration;

pub fn run(file: &Path, data_dir: &Path, block_duration: &str) -> anyhow::Result<()> {
    let range = parse_duration(block_duration).context("--block-duration")?;
    anyhow::ensure!(range > 0, "--block-duration must be greater than 0");
    let started = std::time::Instant::now();
    let summary = import_openmetrics(file, data_dir, range)?;
    println!(
        "imported {} samples into {} block(s) in {} ({:.1?})",
        summary.samples,
        summary.blocks.len(),
        data_dir.display(),
        started.elapsed()
    );
    for b in &summary.blocks {
        println!(
            "  {}  [{}, {})  {} series, {} samples",
            b.id, b.min_time, b.max_time, b.stats.num_series, b.stats.num_samples
        );
    }
    Ok(())
}
