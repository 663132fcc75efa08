//! Rule files: Prometheus's YAML format, parsing and `promtool check rules`
//! style validation with file, line and message for every problem.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use promlite_model::duration::parse_duration;
use promlite_model::Labels;
use serde::Deserialize;

use crate::group::Group;
use crate::rule::{AlertingRule, RecordingRule, Rule};
use crate::template::Template;

/// One problem found while loading rule files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// The file (or glob) the problem is in.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for RuleError {}

/// A rule file as written (`groups:`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The groups.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
}

/// A group as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Group name, unique per file.
    pub name: String,
    /// Evaluation interval (`1m`); the global default when absent.
    #[serde(default)]
    pub interval: Option<String>,
    /// Maximum series a rule may produce (0 = unlimited).
    #[serde(default)]
    pub limit: usize,
    /// Evaluate rules this far in the past.
    #[serde(default)]
    pub query_offset: Option<String>,
    /// Labels added to every rule's output.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The rules, in evaluation order.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// A rule as written: exactly one of `record` / `alert`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Recording rule output name.
    #[serde(default)]
    pub record: Option<String>,
    /// Alert name.
    #[serde(default)]
    pub alert: Option<String>,
    /// The PromQL expression.
    #[serde(default)]
    pub expr: String,
    /// Pending duration before firing.
    #[serde(default, rename = "for")]
    pub for_: Option<String>,
    /// How long to keep firing after the condition clears.
    #[serde(default)]
    pub keep_firing_for: Option<String>,
    /// Labels to add or override.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Alert annotations (templates).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// Settings used when building groups from files.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Interval for groups without `interval` (Prometheus's global `evaluation_interval`, 1 m).
    pub default_interval_ms: i64,
    /// Query offset for groups without `query_offset` (global `rule_query_offset`, 0).
    pub default_query_offset_ms: i64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            default_interval_ms: 60_000,
            default_query_offset_ms: 0,
        }
    }
}

/// Expands `globs` and loads every matching file (sorted, deduplicated), with default options.
pub fn load_rule_files(globs: &[String]) -> Result<Vec<Group>, Vec<RuleError>> {
    load_rule_files_with(globs, &LoadOptions::default())
}

/// Expands rule-file globs like Prometheus: the matching paths, sorted and
/// without duplicates, and an error for each invalid pattern. A pattern that
/// matches nothing contributes no file and no error.
pub fn expand_globs(globs: &[String]) -> (Vec<String>, Vec<RuleError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for g in globs {
        match glob::glob(g) {
            Ok(paths) => {
                for p in paths {
                    match p {
                        Ok(p) => files.push(p.to_string_lossy().into_owned()),
                        Err(e) => errors.push(err(g, 0, format!("glob: {e}"))),
                    }
                }
            }
            Err(e) => errors.push(err(g, 0, format!("invalid glob pattern: {e}"))),
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

/// [`load_rule_files`] with explicit options.
pub fn load_rule_files_with(
    globs: &[String],
    opts: &LoadOptions,
) -> Result<Vec<Group>, Vec<RuleError>> {
    let (files, mut errors) = expand_globs(globs);
    let mut groups = Vec::new();
    for f in &files {
        match std::fs::read_to_string(f) {
            Ok(text) => match parse_rules(f, &text, opts) {
                Ok(mut gs) => groups.append(&mut gs),
                Err(mut es) => errors.append(&mut es),
            },
            Err(e) => errors.push(err(f, 0, format!("cannot read file: {e}"))),
        }
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors)
    }
}

fn err(file: &str, line: usize, message: impl Into<String>) -> RuleError {
    RuleError {
        file: file.to_string(),
        line,
        message: message.into(),
    }
}

/// Parses and validates one rule file's text; `file` names it in errors and in the groups.
pub fn parse_rules(
    file: &str,
    text: &str,
    opts: &LoadOptions,
) -> Result<Vec<Group>, Vec<RuleError>> {
    let spec: RuleFile = if text.trim().is_empty() {
        RuleFile { groups: Vec::new() }
    } else {
        match serde_norway::from_str(text) {
            Ok(s) => s,
            Err(e) => {
                let line = e.location().map(|l| l.line()).unwrap_or(0);
                return Err(vec![err(file, line, e.to_string())]);
            }
        }
    };
    let lines = Lines::new(text);
    let mut errors = Vec::new();
    let mut groups = Vec::new();
    let mut names = HashSet::new();
    let mut rule_idx = 0usize;
    for (gi, g) in spec.groups.iter().enumerate() {
        let gline = lines.group_line(gi);
        if g.name.is_empty() {
            errors.push(err(file, gline, "group name should not be empty"));
        }
        if !names.insert(g.name.clone()) {
            errors.push(err(
                file,
                gline,
                format!(
                    "{}: groupname: \"{}\" is repeated in the same file",
                    g.name, g.name
                ),
            ));
        }
        let interval = match &g.interval {
            Some(s) => match parse_duration(s) {
                Ok(d) if d > 0 => d,
                Ok(_) => {
                    errors.push(err(
                        file,
                        gline,
                        format!("group {:?}: interval must be positive", g.name),
                    ));
                    opts.default_interval_ms
                }
                Err(e) => {
                    errors.push(err(
                        file,
                        gline,
                        format!("group {:?}: interval: {e}", g.name),
                    ));
                    opts.default_interval_ms
                }
            },
            None => opts.default_interval_ms,
        };
        let offset = match &g.query_offset {
            Some(s) => parse_duration(s).unwrap_or_else(|e| {
                errors.push(err(
                    file,
                    gline,
                    format!("group {:?}: query_offset: {e}", g.name),
                ));
                0
            }),
            None => opts.default_query_offset_ms,
        };
        for name in g.labels.keys() {
            if !valid_label_name(name) {
                errors.push(err(
                    file,
                    gline,
                    format!("group {:?}: invalid label name: {name}", g.name),
                ));
            }
        }
        let mut rules = Vec::new();
        for r in &g.rules {
            let line = lines.rule_line(rule_idx);
            rule_idx += 1;
            let before = errors.len();
            let rule = build_rule(r, &g.labels, &mut |m| {
                errors.push(err(file, line, format!("group {:?}: {m}", g.name)))
            });
            if errors.len() == before {
                if let Some(rule) = rule {
                    rules.push(rule);
                }
            }
        }
        let group_labels = Labels::from_pairs(g.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        groups.push(Group::new(
            g.name.clone(),
            file.to_string(),
            interval,
            g.limit,
            offset,
            group_labels,
            rules,
        ));
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(errors)
    }
}

fn build_rule(
    r: &RuleSpec,
    group_labels: &BTreeMap<String, String>,
    report: &mut dyn FnMut(String),
) -> Option<Rule> {
    let name = match (&r.record, &r.alert) {
        (Some(_), Some(_)) => {
            report("only one of 'record' and 'alert' must be set".into());
            return None;
        }
        (None, None) => {
            report("one of 'record' or 'alert' must be set".into());
            return None;
        }
        (Some(n), None) | (None, Some(n)) => n.clone(),
    };
    let what = if r.record.is_some() {
        "record"
    } else {
        "alert"
    };
    if name.is_empty() {
        report(format!("{what} name must not be empty"));
    }
    if r.expr.trim().is_empty() {
        report(format!("{what} {name:?}: field 'expr' must be set in rule"));
    }
    let expr_ok = match promlite_promql::parser::parse(&r.expr) {
        Ok(e) => {
            use promlite_promql::ast::ValueType as T;
            match e.value_type() {
                T::Vector | T::Scalar => true,
                other => {
                    report(format!(
                        "{what} {name:?}: could not parse expression: invalid expression type {:?} for range query, must be Scalar or instant Vector",
                        other.describe()
                    ));
                    false
                }
            }
        }
        Err(e) => {
            if !r.expr.trim().is_empty() {
                report(format!("{what} {name:?}: could not parse expression: {e}"));
            }
            false
        }
    };
    let mut labels = group_labels.clone();
    for (k, v) in &r.labels {
        labels.insert(k.clone(), v.clone());
    }
    for k in r.labels.keys() {
        if !valid_label_name(k) {
            report(format!("{what} {name:?}: invalid label name: {k}"));
        }
    }
    if r.record.is_some() {
        if !valid_metric_name(&name) {
            report(format!(
                "record {name:?}: invalid recording rule name: {name}"
            ));
        }
        if r.for_.is_some() {
            report(format!(
                "record {name:?}: invalid field 'for' in recording rule"
            ));
        }
        if r.keep_firing_for.is_some() {
            report(format!(
                "record {name:?}: invalid field 'keep_firing_for' in recording rule"
            ));
        }
        if !r.annotations.is_empty() {
            report(format!(
                "record {name:?}: invalid field 'annotations' in recording rule"
            ));
        }
        if labels.contains_key("__name__") {
            report(format!(
                "record {name:?}: invalid recording rule label name: __name__"
            ));
        }
        if !expr_ok {
            return None;
        }
        let labels = Labels::from_pairs(labels);
        return Some(Rule::Recording(RecordingRule::new(
            name,
            r.expr.clone(),
            labels,
        )));
    }
    if !valid_label_value_utf8(&name) || name.is_empty() {
        report(format!("alert {name:?}: invalid alert name: {name}"));
    }
    let dur = |s: &Option<String>, field: &str, report: &mut dyn FnMut(String)| -> i64 {
        match s {
            None => 0,
            Some(s) => parse_duration(s).unwrap_or_else(|e| {
                report(format!("alert {name:?}: {field}: {e}"));
                0
            }),
        }
    };
    let hold = dur(&r.for_, "for", report);
    let keep = dur(&r.keep_firing_for, "keep_firing_for", report);
    let mut label_tmpls = Vec::new();
    for (k, v) in &labels {
        match Template::parse(v) {
            Ok(t) => label_tmpls.push((k.clone(), t)),
            Err(e) => report(format!("alert {name:?}: label {k:?}: template: {e}")),
        }
    }
    let mut ann_tmpls = Vec::new();
    for (k, v) in &r.annotations {
        if !valid_label_name(k) {
            report(format!("alert {name:?}: invalid annotation name: {k}"));
        }
        match Template::parse(v) {
            Ok(t) => ann_tmpls.push((k.clone(), t)),
            Err(e) => report(format!("alert {name:?}: annotation {k:?}: template: {e}")),
        }
    }
    if !expr_ok {
        return None;
    }
    Some(Rule::Alerting(AlertingRule::new(
        name,
        r.expr.clone(),
        hold,
        keep,
        label_tmpls,
        ann_tmpls,
    )))
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn valid_metric_name(s: &str) -> bool {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {}
        _ => return false,
    }
    cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(s: &str) -> bool {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_label_value_utf8(s: &str) -> bool {
    !s.contains('\u{fffd}')
}

/// Finds the lines of groups (`- name:`) and rules (`- record:` / `- alert:`
/// or a rule item starting with `expr:` …) in source order, so validation
/// errors carry a line even though the YAML decoder drops positions.
struct Lines {
    groups: Vec<usize>,
    rules: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let mut groups = Vec::new();
        let mut rules = Vec::new();
        // Track rule items: a `- ` list item nested under a `rules:` key.
        let mut rules_indent: Option<usize> = None;
        let mut item_indent: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            if let Some(ri) = rules_indent {
                if indent < ri || (indent == ri && !trimmed.starts_with("- ")) {
                    rules_indent = None;
                    item_indent = None;
                }
            }
            if trimmed.starts_with("rules:") {
                rules_indent = Some(indent);
                item_indent = None;
                continue;
            }
            if let Some(item) = trimmed.strip_prefix("- ") {
                if rules_indent.is_some() {
                    if item_indent.is_none() {
                        item_indent = Some(indent);
                    }
                    if item_indent == Some(indent) {
                        rules.push(i + 1);
                    }
                } else if item.trim_start().starts_with("name:") {
                    groups.push(i + 1);
                }
            }
        }
        Lines { groups, rules }
    }

    fn group_line(&self, idx: usize) -> usize {
        self.groups.get(idx).copied().unwrap_or(0)
    }

    fn rule_line(&self, idx: usize) -> usize {
        self.rules.get(idx).copied().unwrap_or(0)
    }
}
