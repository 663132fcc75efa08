//! The seeded backfill dataset: node-exporter-like hosts and ML model
//! servers, written as one OpenMetrics file (timestamps in seconds with
//! millisecond precision) that both `promtool tsdb create-blocks-from
//! openmetrics` and `promlite import openmetrics` read; VictoriaMetrics gets
//! the same lines in Prometheus text format (timestamps in milliseconds).

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::series::{hash, host_groups, model_groups, series_count, Group, GroupState};

/// Which generator writes the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// Node-exporter-like hosts and ML model servers with fresh random noise
    /// on every gauge and counter increment, a quarter of the samples
    /// full-precision random floats: hard to compress on purpose.
    Noisy,
    /// The storage tests' "realistic scrape data"
    /// (`promlite_tsdb::codec::testdata`, 41 series per target): integer
    /// request counters with Poisson-like increments, 2-decimal CPU
    /// counters, a 12-bucket latency histogram, page-multiple memory gauges,
    /// constant gauges, random-walk full-precision floats (3 of 41).
    Field,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    /// Which generator.
    pub profile: Profile,
    /// Approximate number of series wanted.
    pub series: usize,
    /// Length of the data in hours.
    pub hours: f64,
    /// Scrape interval in seconds.
    pub interval_s: u64,
    /// First scrape, Unix milliseconds.
    pub start_ms: i64,
    /// RNG seed.
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The OpenMetrics file.
    pub path: PathBuf,
    /// Number of series.
    pub series: usize,
    /// Number of samples.
    pub samples: u64,
    /// Number of host instances (and of model-server instances).
    pub instances: usize,
    /// Earliest timestamp, Unix ms.
    pub min_ms: i64,
    /// Latest timestamp, Unix ms.
    pub max_ms: i64,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// Writes OpenMetrics sample lines and counts them.
struct OmWriter {
    w: BufWriter<std::fs::File>,
    line: Vec<u8>,
    samples: u64,
    min_ms: i64,
    max_ms: i64,
}

impl OmWriter {
    fn create(path: &Path) -> anyhow::Result<OmWriter> {
        let file = std::fs::File::create(path).with_context(|| format!("creating {path:?}"))?;
        Ok(OmWriter {
            w: BufWriter::with_capacity(1 << 20, file),
            line: Vec::with_capacity(256),
            samples: 0,
            min_ms: i64::MAX,
            max_ms: i64::MIN,
        })
    }

    /// `prefix` is the series (`name{labels}`); `t` in ms, written as
    /// seconds with millisecond precision.
    fn sample(&mut self, prefix: &[u8], v: f64, t: i64) -> anyhow::Result<()> {
        self.min_ms = self.min_ms.min(t);
        self.max_ms = self.max_ms.max(t);
        self.line.clear();
        self.line.extend_from_slice(prefix);
        let _ = writeln!(self.line, " {v} {}.{:03}", t / 1000, t % 1000);
        self.w.write_all(&self.line)?;
        self.samples += 1;
        Ok(())
    }

    /// Writes `# EOF`; returns (samples, min ms, max ms, file bytes).
    fn finish(mut self, path: &Path) -> anyhow::Result<(u64, i64, i64, u64)> {
        writeln!(self.w, "# EOF")?;
        self.w.flush()?;
        drop(self.w);
        let bytes = std::fs::metadata(path)?.len();
        Ok((self.samples, self.min_ms, self.max_ms, bytes))
    }
}

/// One kind of scraped instance.
struct Template {
    job: &'static str,
    port: u16,
    groups: Vec<Group>,
}

fn templates() -> Vec<Template> {
    vec![
        Template {
            job: "node",
            port: 9100,
            groups: host_groups(),
        },
        Template {
            job: "model",
            port: 8080,
            groups: model_groups(2),
        },
    ]
}

/// Scrape timestamps of instance `inst` of template `tpl`: a fixed phase
/// within the interval plus 0–9 ms of jitter on every scrape.
fn timestamps(spec: &DatasetSpec, tpl: usize, inst: usize, steps: usize) -> Vec<i64> {
    let interval_ms = spec.interval_s as i64 * 1000;
    let phase = (hash(&[spec.seed, tpl as u64, inst as u64]) % interval_ms.max(1) as u64) as i64;
    (0..steps)
        .map(|k| {
            let jitter = (hash(&[spec.seed, tpl as u64, inst as u64, k as u64]) % 10) as i64;
            spec.start_ms + k as i64 * interval_ms + phase + jitter
        })
        .collect()
}

fn write_labels(out: &mut Vec<u8>, job: &str, instance: &str, extra: &[(&'static str, String)]) {
    out.push(b'{');
    let _ = write!(out, "instance=\"{instance}\",job=\"{job}\"");
    for (k, v) in extra {
        let _ = write!(out, ",{k}=\"{v}\"");
    }
    out.push(b'}');
}

/// Writes the dataset into `dir/dataset.om` and returns its description.
pub fn generate(spec: &DatasetSpec, dir: &Path) -> anyhow::Result<Dataset> {
    match spec.profile {
        Profile::Noisy => generate_noisy(spec, dir),
        Profile::Field => generate_field(spec, dir),
    }
}

/// Series per target of the field profile.
pub const FIELD_SERIES_PER_TARGET: usize = 41;

/// The field profile: `promlite_tsdb::codec::testdata` written as
/// OpenMetrics, one family (one `__name__`) after the other. Its one
/// staleness marker per target is left out: OpenMetrics cannot carry it.
fn generate_field(spec: &DatasetSpec, dir: &Path) -> anyhow::Result<Dataset> {
    use promlite_tsdb::codec::testdata;
    let targets = spec.series.div_ceil(FIELD_SERIES_PER_TARGET).max(1);
    let scrapes = ((spec.hours * 3600.0) / spec.interval_s.max(1) as f64).floor() as usize;
    anyhow::ensure!(scrapes > 0, "--hours is shorter than one scrape interval");
    let data = testdata::generate(&testdata::DatasetSpec {
        targets,
        scrapes,
        interval_ms: spec.interval_s as i64 * 1000,
        start_ms: spec.start_ms,
        jitter_ms: 8,
        seed: spec.seed,
    });
    let path = dir.join("dataset.om");
    let mut w = OmWriter::create(&path)?;
    let mut family = String::new();
    for (labels, points) in &data {
        let name = labels.get("__name__").unwrap_or("");
        if name != family {
            family = name.to_string();
            writeln!(w.w, "# TYPE {family} gauge")?;
        }
        let mut prefix = Vec::with_capacity(128);
        prefix.extend_from_slice(name.as_bytes());
        prefix.push(b'{');
        let mut first = true;
        for l in labels.iter() {
            let (k, v) = (l.name, l.value);
            if k == "__name__" {
                continue;
            }
            if !first {
                prefix.push(b',');
            }
            first = false;
            let _ = write!(prefix, "{k}=\"{v}\"");
        }
        prefix.push(b'}');
        for &(t, v) in points {
            if v.to_bits() != promlite_model::STALE_NAN_BITS {
                w.sample(&prefix, v, t)?;
            }
        }
    }
    let (samples, min_ms, max_ms, bytes) = w.finish(&path)?;
    Ok(Dataset {
        path,
        series: data.len(),
        samples,
        instances: targets,
        min_ms,
        max_ms,
        bytes,
    })
}

fn generate_noisy(spec: &DatasetSpec, dir: &Path) -> anyhow::Result<Dataset> {
    let tpls = templates();
    let per_pair: usize = tpls.iter().map(|t| series_count(&t.groups)).sum();
    let instances = spec.series.div_ceil(per_pair).max(1);
    let steps = ((spec.hours * 3600.0) / spec.interval_s.max(1) as f64).floor() as usize;
    anyhow::ensure!(steps > 0, "--hours is shorter than one scrape interval");
    let path = dir.join("dataset.om");
    let mut w = OmWriter::create(&path)?;
    let dt = spec.interval_s as f64;

    // Families in order of first appearance, each written contiguously.
    let mut families: Vec<(&str, &str)> = Vec::new();
    for t in &tpls {
        for g in &t.groups {
            let (name, ty) = g.family();
            if !families.iter().any(|(n, _)| *n == name) {
                families.push((name, ty.keyword()));
            }
        }
    }
    for (family, keyword) in &families {
        writeln!(w.w, "# TYPE {family} {keyword}")?;
        for (ti, tpl) in tpls.iter().enumerate() {
            for inst in 0..instances {
                let instance = format!("{}-{inst}:{}", tpl.job, tpl.port);
                let ts = timestamps(spec, ti, inst, steps);
                for (gi, group) in tpl.groups.iter().enumerate() {
                    if group.family().0 != *family {
                        continue;
                    }
                    let seed = hash(&[spec.seed, ti as u64, inst as u64, gi as u64]);
                    let mut state = GroupState::new(group, seed);
                    let mut history: Vec<Vec<f64>> = Vec::with_capacity(steps);
                    for _ in 0..steps {
                        history.push(state.values.clone());
                        state.step(group, dt);
                    }
                    for (si, (name, labels)) in group.series().iter().enumerate() {
                        let mut prefix = Vec::with_capacity(128);
                        prefix.extend_from_slice(name.as_bytes());
                        write_labels(&mut prefix, tpl.job, &instance, labels);
                        for (k, t) in ts.iter().enumerate() {
                            let v = history.get(k).and_then(|h| h.get(si)).copied();
                            if let Some(v) = v {
                                w.sample(&prefix, v, *t)?;
                            }
                        }
                    }
                }
            }
        }
    }
    let (samples, min_ms, max_ms, bytes) = w.finish(&path)?;
    Ok(Dataset {
        path,
        series: instances * per_pair,
        samples,
        instances,
        min_ms,
        max_ms,
        bytes,
    })
}

/// Converts one OpenMetrics sample line (`... value 1234.567`) to a
/// Prometheus text line with a millisecond timestamp; comments give `None`.
pub fn to_prom_text_line(line: &str) -> Option<String> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let (head, ts) = line.rsplit_once(' ')?;
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    let mut ms = String::with_capacity(secs.len() + 3);
    ms.push_str(secs);
    for i in 0..3 {
        ms.push(frac.as_bytes().get(i).map(|b| *b as char).unwrap_or('0'));
    }
    Some(format!("{head} {ms}\n"))
}

/// Reads the OpenMetrics file and calls `sink` with Prometheus-text chunks
/// of about `chunk_bytes` each.
pub fn prom_text_chunks(
    path: &Path,
    chunk_bytes: usize,
    mut sink: impl FnMut(String) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let f = std::fs::File::open(path)?;
    let reader = std::io::BufReader::with_capacity(1 << 20, f);
    let mut chunk = String::with_capacity(chunk_bytes + 256);
    for line in reader.lines() {
        let line = line?;
        if let Some(l) = to_prom_text_line(&line) {
            chunk.push_str(&l);
            if chunk.len() >= chunk_bytes {
                sink(std::mem::take(&mut chunk))?;
                chunk.reserve(chunk_bytes + 256);
            }
        }
    }
    if !chunk.is_empty() {
        sink(chunk)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_timestamps_to_ms() {
        assert_eq!(
            to_prom_text_line("a{b=\"c d\"} 1.5 1793491200.007").as_deref(),
            Some("a{b=\"c d\"} 1.5 1793491200007\n")
        );
        assert_eq!(to_prom_text_line("# TYPE a gauge"), None);
    }

    #[test]
    fn small_dataset_is_deterministic_and_counted() {
        let dir = std::env::temp_dir().join(format!("compare-ds-{}", std::process::id()));
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let spec = DatasetSpec {
            profile: Profile::Noisy,
            series: 100,
            hours: 0.1,
            interval_s: 15,
            start_ms: 1_793_491_200_000,
            seed: 42,
        };
        let da = generate(&spec, &a).unwrap();
        let db = generate(&spec, &b).unwrap();
        let (ta, tb) = (
            std::fs::read(&da.path).unwrap(),
            std::fs::read(&db.path).unwrap(),
        );
        assert_eq!(ta, tb);
        assert_eq!(da.series, 103);
        assert_eq!(da.samples, 103 * 24);
        let lines = ta
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty() && l[0] != b'#');
        assert_eq!(lines.count() as u64, da.samples);
        assert!(ta.ends_with(b"# EOF\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
