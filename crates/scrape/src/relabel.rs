//! Relabeling (`relabel_configs`, `metric_relabel_configs`,
//! `alert_relabel_configs`) with Prometheus's semantics.
//!
//! Regexes are fully anchored (`^(?s:…)$`), the defaults are separator `;`,
//! regex `(.*)`, replacement `$1`, action `replace`, and `$1`/`${1}`/`$name`
//! in `replacement` (and in a `replace` action's `target_label`) expand like
//! Go's `regexp.Expand`: `$$` is a literal `$`, unknown groups expand to "".

use std::fmt;

use md5::{Digest, Md5};
use promlite_model::{Labels, LabelsBuilder};
use serde::{Deserialize, Deserializer};

use crate::config::is_valid_label_name;

/// What a relabel step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Action {
    /// Set `target_label` to the expanded `replacement` when `regex` matches.
    #[default]
    Replace,
    /// Drop the target/series unless `regex` matches.
    Keep,
    /// Drop the target/series when `regex` matches.
    Drop,
    /// Drop unless the source value equals the value of `target_label`.
    KeepEqual,
    /// Drop when the source value equals the value of `target_label`.
    DropEqual,
    /// Set `target_label` to md5(source) mod `modulus`.
    HashMod,
    /// Copy labels whose names match `regex` to the expanded `replacement` name.
    LabelMap,
    /// Remove labels whose names match `regex`.
    LabelDrop,
    /// Remove labels whose names do not match `regex`.
    LabelKeep,
    /// Set `target_label` to the lower-cased source value.
    Lowercase,
    /// Set `target_label` to the upper-cased source value.
    Uppercase,
}

impl Action {
    /// Parses an action name (case-insensitive, like Prometheus).
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return None,
        })
    }

    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fully anchored relabel regex; compares by its source text.
#[derive(Clone)]
pub struct RelabelRegex {
    source: String,
    re: regex::Regex,
}

impl RelabelRegex {
    /// Compiles `s` as `^(?s:s)$`.
    pub fn new(s: &str) -> Result<RelabelRegex, String> {
        let re = regex::Regex::new(&format!("^(?s:{s})$"))
            .map_err(|e| format!("invalid regex {s:?}: {e}"))?;
        Ok(RelabelRegex {
            source: s.to_string(),
            re,
        })
    }

    /// The regex as written in the config.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True if the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    /// Expands `template` with the captures of matching `s`; None if no match.
    pub fn expand(&self, s: &str, template: &str) -> Option<String> {
        let caps = self.re.captures(s)?;
        let mut out = String::new();
        caps.expand(template, &mut out);
        Some(out)
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.source)
    }
}

const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REPLACEMENT: &str = "$1";

/// One validated relabel step.
#[derive(Clone, Debug, PartialEq)]
pub struct RelabelConfig {
    /// Labels whose values are concatenated (with `separator`) as the input.
    pub source_labels: Vec<String>,
    /// Separator between source values.
    pub separator: String,
    /// Anchored regex.
    pub regex: RelabelRegex,
    /// Modulus for `hashmod`.
    pub modulus: u64,
    /// Label written by `replace`, `hashmod`, `lowercase`, `uppercase`, compared by `*equal`.
    pub target_label: String,
    /// Replacement template.
    pub replacement: String,
    /// The action.
    pub action: Action,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.into(),
            regex: RelabelRegex::new(DEFAULT_REGEX)
                .unwrap_or_else(|_| unreachable!("default regex compiles")),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.into(),
            action: Action::Replace,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RawRelabel {
    source_labels: Vec<String>,
    separator: Option<String>,
    regex: Option<String>,
    modulus: u64,
    target_label: Option<String>,
    replacement: Option<String>,
    action: Option<String>,
}

impl RelabelConfig {
    fn from_raw(raw: RawRelabel) -> Result<RelabelConfig, String> {
        let action = match &raw.action {
            None => Action::Replace,
            Some(a) => Action::parse(a).ok_or_else(|| format!("unknown relabel action {a:?}"))?,
        };
        let rc = RelabelConfig {
            source_labels: raw.source_labels.clone(),
            separator: raw
                .separator
                .clone()
                .unwrap_or_else(|| DEFAULT_SEPARATOR.into()),
            regex: RelabelRegex::new(raw.regex.as_deref().unwrap_or(DEFAULT_REGEX))?,
            modulus: raw.modulus,
            target_label: raw.target_label.clone().unwrap_or_default(),
            replacement: raw
                .replacement
                .clone()
                .unwrap_or_else(|| DEFAULT_REPLACEMENT.into()),
            action,
        };
        for s in &rc.source_labels {
            if !is_valid_label_name(s) {
                return Err(format!("{s:?} is not a valid label name in source_labels"));
            }
        }
        let needs_target = matches!(
            action,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && rc.target_label.is_empty() {
            return Err(format!(
                "relabel configuration for {action} action requires 'target_label' value"
            ));
        }
        if action == Action::Replace && !is_valid_target_template(&rc.target_label) {
            return Err(format!(
                "{:?} is invalid 'target_label' for {action} action",
                rc.target_label
            ));
        }
        if needs_target && action != Action::Replace && !is_valid_label_name(&rc.target_label) {
            return Err(format!(
                "{:?} is invalid 'target_label' for {action} action",
                rc.target_label
            ));
        }
        if action == Action::HashMod && rc.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        if matches!(action, Action::KeepEqual | Action::DropEqual)
            && (raw.regex.as_deref().is_some_and(|r| r != DEFAULT_REGEX)
                || rc.modulus != 0
                || raw
                    .separator
                    .as_deref()
                    .is_some_and(|s| s != DEFAULT_SEPARATOR)
                || raw
                    .replacement
                    .as_deref()
                    .is_some_and(|r| r != DEFAULT_REPLACEMENT))
        {
            return Err(format!("{action} action requires only 'source_labels' and `target_label`, and no other fields"));
        }
        if matches!(action, Action::LabelDrop | Action::LabelKeep)
            && (!rc.source_labels.is_empty()
                || !rc.target_label.is_empty()
                || rc.modulus != 0
                || raw
                    .separator
                    .as_deref()
                    .is_some_and(|s| s != DEFAULT_SEPARATOR)
                || raw
                    .replacement
                    .as_deref()
                    .is_some_and(|r| r != DEFAULT_REPLACEMENT))
        {
            return Err(format!(
                "{action} action requires only 'regex', and no other fields"
            ));
        }
        Ok(rc)
    }
}

impl<'de> Deserialize<'de> for RelabelConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawRelabel::deserialize(d)?;
        RelabelConfig::from_raw(raw).map_err(serde::de::Error::custom)
    }
}

/// Label names, with `$1`/`${name}` templates allowed (a `replace` target).
fn is_valid_target_template(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '{' || c == '}')
        && (s.contains('$') || is_valid_label_name(s))
}

/// Applies `configs` in order. `None` means the set was dropped (by `keep`,
/// `drop`, `keepequal`, `dropequal`, or because no labels remain).
pub fn process(labels: &Labels, configs: &[RelabelConfig]) -> Option<Labels> {
    if configs.is_empty() {
        return Some(labels.clone());
    }
    let mut b = labels.builder();
    for c in configs {
        if !apply(&mut b, c) {
            return None;
        }
    }
    let out = b.build();
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// Applies one step to a builder; false means drop.
pub fn apply(b: &mut LabelsBuilder, c: &RelabelConfig) -> bool {
    let mut val = String::new();
    for (i, s) in c.source_labels.iter().enumerate() {
        if i > 0 {
            val.push_str(&c.separator);
        }
        val.push_str(b.get(s).unwrap_or(""));
    }
    match c.action {
        Action::Drop => {
            if c.regex.is_match(&val) {
                return false;
            }
        }
        Action::Keep => {
            if !c.regex.is_match(&val) {
                return false;
            }
        }
        Action::DropEqual => {
            if b.get(&c.target_label).unwrap_or("") == val {
                return false;
            }
        }
        Action::KeepEqual => {
            if b.get(&c.target_label).unwrap_or("") != val {
                return false;
            }
        }
        Action::Replace => {
            let Some(caps) = c.regex.re.captures(&val) else {
                return true;
            };
            let target = if c.target_label.contains('$') {
                let mut t = String::new();
                caps.expand(&c.target_label, &mut t);
                t
            } else {
                c.target_label.clone()
            };
            if target.is_empty() {
                return true;
            }
            let mut res = String::new();
            caps.expand(&c.replacement, &mut res);
            if res.is_empty() {
                b.del(&target);
            } else {
                b.set(target, res);
            }
        }
        Action::Lowercase => {
            b.set(c.target_label.clone(), val.to_lowercase());
        }
        Action::Uppercase => {
            b.set(c.target_label.clone(), val.to_uppercase());
        }
        Action::HashMod => {
            let m = hashmod(&val, c.modulus);
            b.set(c.target_label.clone(), m.to_string());
        }
        Action::LabelMap => {
            let current = b.build();
            for l in current.iter() {
                if let Some(name) = c.regex.expand(l.name, &c.replacement) {
                    if !name.is_empty() {
                        b.set(name, l.value);
                    }
                }
            }
        }
        Action::LabelDrop => {
            b.retain(|l| !c.regex.is_match(&l.name));
        }
        Action::LabelKeep => {
            b.retain(|l| c.regex.is_match(&l.name));
        }
    }
    true
}

/// Prometheus's hashmod: the low 64 bits (big-endian) of md5(`s`) mod `modulus`.
pub fn hashmod(s: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(s.as_bytes());
    let mut low = [0u8; 8];
    low.copy_from_slice(&digest[8..16]);
    let v = u64::from_be_bytes(low);
    if modulus == 0 {
        0
    } else {
        v % modulus
    }
}

#[cfg(test)]
#[path = "relabel_tests.rs"]
mod tests;
