//! Target discovery: `static_configs` and `file_sd_configs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use promlite_model::Labels;
use serde::Deserialize;

use crate::config::{FileSdConfig, StaticConfig};
use crate::target::{TargetGroup, ADDRESS_LABEL};

/// `__meta_filepath`: the file a file-SD target came from.
pub const META_FILEPATH: &str = "__meta_filepath";

/// Target groups of `static_configs` (sources `static/0`, `static/1`, …).
pub fn static_groups(configs: &[StaticConfig]) -> Vec<TargetGroup> {
    configs
        .iter()
        .enumerate()
        .map(|(i, sc)| TargetGroup {
            source: format!("static/{i}"),
            targets: sc
                .targets
                .iter()
                .map(|t| Labels::from_pairs([(ADDRESS_LABEL, t.as_str())]))
                .collect(),
            labels: Labels::from_pairs(sc.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Parses one file-SD file (JSON or YAML list of `{targets, labels}`).
pub fn parse_file(path: &Path, text: &str) -> Result<Vec<TargetGroup>, String> {
    let is_json = path.extension().is_some_and(|e| e == "json");
    let groups: Vec<FileGroup> = if is_json {
        serde_json::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?
    } else if text.trim().is_empty() {
        Vec::new()
    } else {
        serde_norway::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?
    };
    let file = path.display().to_string();
    let mut out = Vec::with_capacity(groups.len());
    for (i, g) in groups.into_iter().enumerate() {
        for k in g.labels.keys() {
            if !crate::config::is_valid_label_name(k) {
                return Err(format!(
                    "{file}: group {i}: {k:?} is not a valid label name"
                ));
            }
        }
        let mut labels: Vec<(String, String)> = g.labels.into_iter().collect();
        labels.push((META_FILEPATH.to_string(), file.clone()));
        out.push(TargetGroup {
            source: format!("{file}:{i}"),
            targets: g
                .targets
                .iter()
                .map(|t| Labels::from_pairs([(ADDRESS_LABEL, t.as_str())]))
                .collect(),
            labels: Labels::from_pairs(labels),
        });
    }
    Ok(out)
}

/// State of one `file_sd_config`: the last good groups per file, and a
/// fingerprint of the matched files to notice changes cheaply.
#[derive(Debug, Default)]
pub struct FileDiscovery {
    config: FileSdConfig,
    last_good: BTreeMap<String, Vec<TargetGroup>>,
    fingerprint: Vec<(String, Option<SystemTime>, u64)>,
}

impl FileDiscovery {
    /// A discoverer for `config`.
    pub fn new(config: FileSdConfig) -> FileDiscovery {
        FileDiscovery {
            config,
            ..Default::default()
        }
    }

    /// The config.
    pub fn config(&self) -> &FileSdConfig {
        &self.config
    }

    fn matched_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        for pattern in &self.config.files {
            match glob::glob(pattern) {
                Ok(paths) => files.extend(paths.flatten().map(|p| p.display().to_string())),
                Err(e) => tracing::warn!("file_sd: bad glob {pattern:?}: {e}"),
            }
        }
        files.sort();
        files.dedup();
        files
    }

    fn current_fingerprint(&self) -> Vec<(String, Option<SystemTime>, u64)> {
        self.matched_files()
            .into_iter()
            .map(|f| {
                let md = std::fs::metadata(&f).ok();
                let mtime = md.as_ref().and_then(|m| m.modified().ok());
                let len = md.map_or(0, |m| m.len());
                (f, mtime, len)
            })
            .collect()
    }

    /// True if the set of matched files or any mtime/size changed since the last read.
    pub fn changed(&self) -> bool {
        self.current_fingerprint() != self.fingerprint
    }

    /// Re-reads every matched file. A file that fails to parse keeps its
    /// previous groups (and the error is returned for logging); a file that
    /// disappeared loses its groups.
    pub fn refresh(&mut self) -> (Vec<TargetGroup>, Vec<String>) {
        self.fingerprint = self.current_fingerprint();
        let mut errors = Vec::new();
        let mut next = BTreeMap::new();
        for (f, _, _) in &self.fingerprint {
            let read = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"));
            match read.and_then(|t| parse_file(Path::new(f), &t)) {
                Ok(groups) => {
                    next.insert(f.clone(), groups);
                }
                Err(e) => {
                    errors.push(e);
                    if let Some(old) = self.last_good.get(f) {
                        next.insert(f.clone(), old.clone());
                    }
                }
            }
        }
        self.last_good = next;
        (self.last_good.values().flatten().cloned().collect(), errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn static_groups_have_addresses_and_labels() {
        let g = static_groups(&[StaticConfig {
            targets: vec!["a:1".into(), "b:2".into()],
            labels: [("env".to_string(), "p".to_string())].into(),
        }]);
        assert_eq!(g[0].source, "static/0");
        assert_eq!(g[0].targets[1].get(ADDRESS_LABEL), Some("b:2"));
        assert_eq!(g[0].labels.get("env"), Some("p"));
    }

    #[test]
    fn file_sd_reads_json_and_yaml_and_keeps_last_good() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("a.json");
        let yaml = dir.path().join("b.yml");
        std::fs::write(&json, r#"[{"targets": ["h1:1"], "labels": {"team": "x"}}]"#).unwrap();
        std::fs::write(&yaml, "- targets: ['h2:2', 'h3:3']\n").unwrap();
        let mut d = FileDiscovery::new(FileSdConfig {
            files: vec![
                dir.path().join("*.json").display().to_string(),
                dir.path().join("*.yml").display().to_string(),
            ],
            refresh_interval: Duration::from_secs(60),
        });
        assert!(d.changed());
        let (groups, errs) = d.refresh();
        assert!(errs.is_empty());
        assert_eq!(groups.iter().map(|g| g.targets.len()).sum::<usize>(), 3);
        let g = groups
            .iter()
            .find(|g| g.labels.get("team") == Some("x"))
            .unwrap();
        assert_eq!(
            g.labels.get(META_FILEPATH),
            Some(json.display().to_string().as_str())
        );
        assert!(!d.changed());
        std::fs::write(&yaml, "- targets: [oops\n").unwrap();
        assert!(d.changed());
        let (groups, errs) = d.refresh();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            groups.iter().map(|g| g.targets.len()).sum::<usize>(),
            3,
            "kept last good"
        );
        std::fs::remove_file(&yaml).unwrap();
        let (groups, _) = d.refresh();
        assert_eq!(groups.iter().map(|g| g.targets.len()).sum::<usize>(), 1);
    }
}
