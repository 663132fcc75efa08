//! Runs Prometheus's PromQL test scripts (`shared/conformance/promql/*.test`)
//! and compares the failures with `conformance_expected_failures.txt`.
//!
//! Exits non-zero when a case fails that is not listed, or when a listed
//! case now passes (the list may only shrink). With
//! `PROMQL_CONFORMANCE_WRITE=1` the list is rewritten from this run instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use promlite_promql::promqltest::{conformance_engine, run_script};

fn main() -> ExitCode {
    // Evaluation is recursive: give it a generous stack.
    let child = std::thread::Builder::new().stack_size(256 << 20).spawn(run);
    match child.map(|c| c.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("conformance: runner crashed");
            ExitCode::FAILURE
        }
    }
}

fn run() -> ExitCode {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `../../../shared` from the main checkout; worktrees sit one level deeper.
    let candidates = [
        manifest.join("../../../shared/conformance/promql"),
        manifest.join("../../../../shared/conformance/promql"),
    ];
    let dir = candidates
        .iter()
        .find(|d| d.is_dir())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone());
    if !dir.is_dir() {
        println!("conformance: folder {} not found, skipping", dir.display());
        return ExitCode::SUCCESS;
    }
    let list_path = manifest.join("tests/conformance_expected_failures.txt");
    let listed = read_list(&list_path);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "test"))
            .collect(),
        Err(e) => {
            println!("conformance: cannot read {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    files.sort();
    // PROMQL_CONFORMANCE_ONLY=<substring> runs only matching files and prints every failure.
    let only = std::env::var("PROMQL_CONFORMANCE_ONLY").ok();
    if let Some(o) = &only {
        files.retain(|f| f.to_string_lossy().contains(o.as_str()));
    }
    let engine = conformance_engine();
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut unexpected_fail = Vec::new();
    let mut unexpected_pass = Vec::new();
    let mut new_list: Vec<String> = Vec::new();
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                println!("{name}: cannot read: {e}");
                failed += 1;
                continue;
            }
        };
        let results = run_script(&text, &engine);
        let (mut p, mut fl) = (0, 0);
        for r in &results {
            let id = format!("{name}:{}", r.line);
            match &r.error {
                None => {
                    p += 1;
                    if listed.contains_key(&id) {
                        unexpected_pass.push(id);
                    }
                }
                Some(e) => {
                    fl += 1;
                    if only.is_some() {
                        println!("  {id}: {e}");
                    }
                    let reason: String = e.chars().take(160).collect::<String>().replace('\n', " ");
                    let reason = format!("{}{reason}", file_tag(&name));
                    new_list.push(format!("{id}  {reason}"));
                    if !listed.contains_key(&id) {
                        unexpected_fail.push(format!("{id}  {e}"));
                    }
                }
            }
        }
        passed += p;
        failed += fl;
        println!("{name}: {p} passed, {fl} failed");
    }
    if std::env::var("PROMQL_CONFORMANCE_WRITE").is_ok_and(|v| v == "1") {
        let mut text = String::from(
            "# Conformance cases that do not pass yet: `file:line  reason`.\n# This list may only shrink: a listed case that passes fails the run.\n",
        );
        for l in &new_list {
            text.push_str(l);
            text.push('\n');
        }
        if let Err(e) = std::fs::write(&list_path, text) {
            println!("conformance: cannot write {}: {e}", list_path.display());
            return ExitCode::FAILURE;
        }
        println!(
            "conformance: wrote {} entries to {}",
            new_list.len(),
            list_path.display()
        );
        unexpected_fail.clear();
        unexpected_pass.clear();
    }
    for u in &unexpected_fail {
        println!("UNEXPECTED FAILURE {u}");
    }
    for u in &unexpected_pass {
        println!("NOW PASSES (remove it from the expected-failures list) {u}");
    }
    println!("conformance: {passed} passed, {failed} failed");
    if unexpected_fail.is_empty() && unexpected_pass.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A tag for files whose failures share one cause the error text does not
/// show.
fn file_tag(file: &str) -> &'static str {
    match file {
        "name_label_dropping.test" => {
            "[delayed __name__ removal: experimental, off by default in Prometheus] "
        }
        "fill-modifier.test" => {
            "[fill modifiers: experimental (promql-binop-fill-modifiers), off by default in Prometheus] "
        }
        _ => "",
    }
}

/// `file:line` → reason, from the expected-failures list.
fn read_list(p: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(p).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((id, reason)) => (id.to_string(), reason.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}
