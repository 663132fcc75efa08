//! `promlite check config FILE…` and `promlite check rules FILE…`: validate
//! like `promtool check`, with promtool's report layout.
//!
//! For each file, `Checking FILE` goes to stdout, then either
//! `  SUCCESS: N rules found` (stdout) or `  FAILED:` and one
//! `file:line: message` per problem (stderr), then an empty line. The
//! command fails (exit code 1) when any file has a problem.

use std::io::Write;
use std::path::{Path, PathBuf};

use promlite_rules::{expand_globs, parse_rules, LoadOptions, RuleError};
use promlite_scrape::Config;

/// Checks rule files; returns whether all of them are valid.
pub fn check_rules(
    files: &[PathBuf],
    opts: &LoadOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    let mut ok = true;
    for f in files {
        ok &= check_rule_file(&f.display().to_string(), opts, out, err)?;
    }
    Ok(ok)
}

fn check_rule_file(
    file: &str,
    opts: &LoadOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    writeln!(out, "Checking {file}")?;
    let result = match std::fs::read_to_string(file) {
        Ok(text) => parse_rules(file, &text, opts),
        Err(e) => Err(vec![RuleError {
            file: file.to_string(),
            line: 0,
            message: format!("cannot read file: {e}"),
        }]),
    };
    let ok = match result {
        Ok(groups) => {
            let n: usize = groups.iter().map(|g| g.rules().len()).sum();
            writeln!(out, "  SUCCESS: {n} rules found")?;
            true
        }
        Err(errors) => {
            failed(err, &errors)?;
            false
        }
    };
    writeln!(out)?;
    Ok(ok)
}

fn failed(err: &mut dyn Write, errors: &[RuleError]) -> std::io::Result<()> {
    writeln!(err, "  FAILED:")?;
    for e in errors {
        writeln!(err, "{e}")?;
    }
    Ok(())
}

/// Checks configuration files and every rule file they reference (globs
/// resolved against the configuration's directory); returns whether all are
/// valid.
pub fn check_config(
    files: &[PathBuf],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    let mut ok = true;
    for f in files {
        ok &= check_config_file(f, out, err)?;
    }
    Ok(ok)
}

fn check_config_file(
    path: &Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<bool> {
    writeln!(out, "Checking {}", path.display())?;
    let cfg = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "  FAILED: {e}")?;
            writeln!(out)?;
            return Ok(false);
        }
    };
    let (rule_files, glob_errors) = expand_globs(&cfg.rule_files);
    if !glob_errors.is_empty() {
        failed(err, &glob_errors)?;
        writeln!(out)?;
        return Ok(false);
    }
    writeln!(out, "  SUCCESS: {} rule files found", rule_files.len())?;
    writeln!(
        out,
        " SUCCESS: {} is valid prometheus config file syntax",
        path.display()
    )?;
    writeln!(out)?;
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let opts = LoadOptions {
        default_interval_ms: ms(cfg.global.evaluation_interval),
        default_query_offset_ms: ms(cfg.global.rule_query_offset),
    };
    let mut ok = true;
    for f in &rule_files {
        ok &= check_rule_file(f, &opts, out, err)?;
    }
    Ok(ok)
}

/// What `promlite check` was asked to do.
pub enum CheckArgs {
    /// `check config FILE…`.
    Config(Vec<PathBuf>),
    /// `check rules FILE…`.
    Rules(Vec<PathBuf>),
}

/// Runs a check on stdout/stderr; `Ok(false)` when a file has problems.
pub fn run(args: CheckArgs) -> anyhow::Result<bool> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let ok = match args {
        CheckArgs::Config(files) => check_config(&files, &mut out, &mut err)?,
        CheckArgs::Rules(files) => {
            check_rules(&files, &LoadOptions::default(), &mut out, &mut err)?
        }
    };
    out.flush()?;
    err.flush()?;
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_rules(text: &str) -> (bool, String, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("r.yml");
        std::fs::write(&f, text).expect("write");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let ok = check_rules(&[f], &LoadOptions::default(), &mut out, &mut err).expect("io");
        let dir_s = dir.path().display().to_string();
        let clean = |b: Vec<u8>| String::from_utf8_lossy(&b).replace(&dir_s, "D");
        (ok, clean(out), clean(err))
    }

    #[test]
    fn rules_report_like_promtool() {
        let (ok, out, err) = run_rules(
            "groups:\n- name: a\n  rules:\n  - record: x:y\n    expr: sum(up)\n  - alert: A\n    expr: up == 0\n",
        );
        assert!(ok);
        assert_eq!(out, "Checking D/r.yml\n  SUCCESS: 2 rules found\n\n");
        assert_eq!(err, "");
        let (ok, out, err) =
            run_rules("groups:\n- name: a\n  rules:\n  - record: x:y\n    expr: sum(up\n");
        assert!(!ok);
        assert_eq!(out, "Checking D/r.yml\n\n");
        assert!(err.starts_with("  FAILED:\nD/r.yml:4: "), "{err}");
    }
}
