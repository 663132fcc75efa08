//! Parsing test scripts into commands (see `FORMAT.md` of the conformance
//! folder for the language).

use promlite_model::duration::parse_duration;
use promlite_model::Labels;

use super::series::{parse_number, parse_quoted, parse_series_line, Slot};

/// How an expected message is matched.
#[derive(Clone, Debug, PartialEq)]
pub enum TextMatch {
    /// Anything matches.
    Any,
    /// Exact text.
    Msg(String),
    /// Unanchored regular expression.
    Regex(String),
}

impl TextMatch {
    /// Whether `text` satisfies this expectation.
    pub fn matches(&self, text: &str) -> bool {
        match self {
            TextMatch::Any => true,
            TextMatch::Msg(m) => m == text,
            TextMatch::Regex(r) => regex::Regex::new(r)
                .map(|re| re.is_match(text))
                .unwrap_or(false),
        }
    }
}

/// When an `eval` runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EvalKind {
    /// `eval instant at <t>`.
    Instant(i64),
    /// `eval range from <start> to <end> step <step>`.
    Range {
        /// First step (ms).
        start: i64,
        /// Last step (ms, inclusive).
        end: i64,
        /// Step (ms).
        step: i64,
    },
}

/// One `eval` command with its expectations.
#[derive(Clone, Debug, PartialEq)]
pub struct Eval {
    /// 1-based line of the header.
    pub line: usize,
    /// The PromQL text.
    pub expr: String,
    /// Instant or range.
    pub kind: EvalKind,
    /// `expect fail` (with its message matcher).
    pub fail: Option<TextMatch>,
    /// `expect warn` lines.
    pub warn: Vec<TextMatch>,
    /// `expect info` lines.
    pub info: Vec<TextMatch>,
    /// `expect no_warn`.
    pub no_warn: bool,
    /// `expect no_info`.
    pub no_info: bool,
    /// `expect ordered` / `eval_ordered`.
    pub ordered: bool,
    /// `expect range vector from … to … step …`.
    pub range_vector: Option<(i64, i64, i64)>,
    /// `expect string "…"`.
    pub string: Option<String>,
    /// A bare-number (scalar) expectation.
    pub scalar: Option<f64>,
    /// Expected series.
    pub series: Vec<(Labels, Vec<Slot>)>,
    /// A problem reading the command (the case then fails).
    pub error: Option<String>,
}

/// A script command.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `clear`.
    Clear,
    /// `load <step>` and its series.
    Load {
        /// 1-based line of the header.
        line: usize,
        /// Step between slots (ms).
        step: i64,
        /// Series (the last line wins for a repeated label set).
        series: Vec<(Labels, Vec<Slot>)>,
        /// Problems (unsupported lines); the block still loads the rest.
        errors: Vec<String>,
    },
    /// An `eval`.
    Eval(Box<Eval>),
    /// A line that is no command.
    Invalid {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn dur(s: &str) -> Result<i64, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn parse_text_match(rest: &str) -> TextMatch {
    let rest = rest.trim();
    if let Some(m) = rest.strip_prefix("msg:") {
        TextMatch::Msg(m.trim().to_string())
    } else if let Some(r) = rest.strip_prefix("regex:") {
        TextMatch::Regex(r.trim().to_string())
    } else {
        TextMatch::Any
    }
}

fn parse_header(line: usize, text: &str) -> Result<Eval, String> {
    let (cmd, rest) = text
        .split_once(char::is_whitespace)
        .ok_or("missing eval arguments")?;
    let mut ev = Eval {
        line,
        expr: String::new(),
        kind: EvalKind::Instant(0),
        fail: None,
        warn: Vec::new(),
        info: Vec::new(),
        no_warn: false,
        no_info: false,
        ordered: false,
        range_vector: None,
        string: None,
        scalar: None,
        series: Vec::new(),
        error: None,
    };
    match cmd {
        "eval" => {}
        "eval_fail" => ev.fail = Some(TextMatch::Any),
        "eval_ordered" => ev.ordered = true,
        "eval_warn" => ev.warn.push(TextMatch::Any),
        "eval_info" => ev.info.push(TextMatch::Any),
        _ => return Err(format!("invalid command {cmd:?}")),
    }
    let rest = rest.trim_start();
    let mut words = rest.splitn(2, char::is_whitespace);
    match words.next() {
        Some("instant") => {
            let r = words.next().unwrap_or("").trim_start();
            let r = r.strip_prefix("at").ok_or("expected 'at'")?.trim_start();
            let (t, expr) = r
                .split_once(char::is_whitespace)
                .ok_or("missing expression")?;
            ev.kind = EvalKind::Instant(dur(t)?);
            ev.expr = expr.trim().to_string();
        }
        Some("range") => {
            let r = words.next().unwrap_or("").trim_start();
            let toks: Vec<&str> = r.splitn(7, char::is_whitespace).collect();
            if toks.len() < 7 || toks[0] != "from" || toks[2] != "to" || toks[4] != "step" {
                return Err("expected 'range from <t> to <t> step <d> <expr>'".into());
            }
            let (start, end, step) = (dur(toks[1])?, dur(toks[3])?, dur(toks[5])?);
            if end < start {
                return Err("end before start".into());
            }
            ev.kind = EvalKind::Range { start, end, step };
            ev.expr = toks[6].trim().to_string();
        }
        _ => return Err("expected 'instant' or 'range'".into()),
    }
    Ok(ev)
}

/// Applies one body line to an eval; returns true when the line ends the block.
fn eval_body_line(ev: &mut Eval, l: &str) -> Result<bool, String> {
    let first = l.split(' ').next().unwrap_or("");
    if first == "expect" {
        let rest = l["expect".len()..].trim_start();
        let (what, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        match what {
            "fail" => ev.fail = Some(parse_text_match(tail)),
            "warn" => ev.warn.push(parse_text_match(tail)),
            "info" => ev.info.push(parse_text_match(tail)),
            "no_warn" => ev.no_warn = true,
            "no_info" => ev.no_info = true,
            "ordered" => ev.ordered = true,
            "string" => {
                let (s, _) = parse_quoted(tail.trim()).ok_or("bad expect string")?;
                ev.string = Some(s);
            }
            "range" => {
                let t: Vec<&str> = tail.split_whitespace().collect();
                if t.len() != 7
                    || t[0] != "vector"
                    || t[1] != "from"
                    || t[3] != "to"
                    || t[5] != "step"
                {
                    return Err("bad expect range vector".into());
                }
                ev.range_vector = Some((dur(t[2])?, dur(t[4])?, dur(t[6])?));
            }
            _ => return Err(format!("unknown expectation {what:?}")),
        }
        return Ok(false);
    }
    if first == "expected_fail_message" || first == "expected_fail_regexp" {
        let tail = l[first.len()..].trim().to_string();
        ev.fail = Some(if first == "expected_fail_message" {
            TextMatch::Msg(tail)
        } else {
            TextMatch::Regex(tail)
        });
        return Ok(true);
    }
    if !l.contains(char::is_whitespace) {
        let v = parse_number(l).or_else(|| {
            let h = l.strip_prefix("0x").or_else(|| l.strip_prefix("0X"))?;
            i64::from_str_radix(h, 16).ok().map(|v| v as f64)
        });
        if let Some(v) = v {
            ev.scalar = Some(v);
            return Ok(true);
        }
    }
    ev.series.push(parse_series_line(l)?);
    Ok(false)
}

/// Parses a whole script.
pub fn parse_script(text: &str) -> Vec<Command> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.trim_matches([' ', '\t', '\r']))
        .collect();
    let blank = |l: &str| l.is_empty() || l.starts_with('#');
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let lineno = i + 1;
        i += 1;
        if blank(l) {
            continue;
        }
        let word = l
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if word == "clear" {
            cmds.push(Command::Clear);
        } else if word.starts_with("load") {
            let mut errors = Vec::new();
            let step = l
                .split_whitespace()
                .nth(1)
                .map(dur)
                .unwrap_or_else(|| Err("missing step".into()));
            let step = step.unwrap_or_else(|e| {
                errors.push(e);
                1
            });
            if word != "load" {
                errors.push(format!("{word} (native histograms) is not supported"));
            }
            let mut series: Vec<(Labels, Vec<Slot>)> = Vec::new();
            while i < lines.len() && !blank(lines[i]) {
                let bl = lines[i];
                i += 1;
                let metric_end = bl.find(char::is_whitespace).unwrap_or(bl.len());
                if bl[..metric_end].ends_with("@st") {
                    errors.push(format!(
                        "line {i}: start timestamps (@st) are not supported"
                    ));
                    continue;
                }
                match parse_series_line(bl) {
                    Ok((labels, slots)) => {
                        if slots.contains(&Slot::Histogram) {
                            errors.push(format!("line {i}: native histograms are not supported"));
                        }
                        series.retain(|s| s.0 != labels);
                        series.push((labels, slots));
                    }
                    Err(e) => errors.push(format!("line {i}: {e}")),
                }
            }
            cmds.push(Command::Load {
                line: lineno,
                step,
                series,
                errors,
            });
        } else if word.starts_with("eval") {
            let mut ev = match parse_header(lineno, l) {
                Ok(ev) => ev,
                Err(e) => {
                    cmds.push(Command::Invalid {
                        line: lineno,
                        message: e,
                    });
                    while i < lines.len() && !blank(lines[i]) {
                        i += 1;
                    }
                    continue;
                }
            };
            while i < lines.len() && !blank(lines[i]) {
                let bl = lines[i];
                i += 1;
                match eval_body_line(&mut ev, bl) {
                    Ok(true) => break,
                    Ok(false) => {}
                    Err(e) => {
                        ev.error.get_or_insert(format!("line {i}: {e}"));
                    }
                }
            }
            cmds.push(Command::Eval(Box::new(ev)));
        } else {
            cmds.push(Command::Invalid {
                line: lineno,
                message: format!("invalid command {word:?}"),
            });
        }
    }
    cmds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        let s = "load 5m\n  foo{a=\"1\"} 1 2\n  foo{a=\"1\"} 3\n\n# c\neval instant at 1m sum(foo)\n  expect no_warn\n  {} 3\n\neval range from 0 to 10m step 5m foo + 1\n  expect fail msg: boom\n\neval instant at 0 1\n  1\nclear\n";
        let cmds = parse_script(s);
        assert_eq!(cmds.len(), 5);
        match &cmds[0] {
            Command::Load {
                step,
                series,
                errors,
                ..
            } => {
                assert_eq!(*step, 300_000);
                assert_eq!(series.len(), 1);
                assert_eq!(series[0].1, vec![Slot::Float(3.0)]);
                assert!(errors.is_empty());
            }
            c => panic!("{c:?}"),
        }
        match &cmds[1] {
            Command::Eval(e) => {
                assert_eq!(e.kind, EvalKind::Instant(60_000));
                assert_eq!(e.expr, "sum(foo)");
                assert!(e.no_warn);
                assert_eq!(e.series.len(), 1);
                assert_eq!(e.line, 6);
            }
            c => panic!("{c:?}"),
        }
        match &cmds[2] {
            Command::Eval(e) => {
                assert_eq!(
                    e.kind,
                    EvalKind::Range {
                        start: 0,
                        end: 600_000,
                        step: 300_000
                    }
                );
                assert_eq!(e.fail, Some(TextMatch::Msg("boom".into())));
            }
            c => panic!("{c:?}"),
        }
        match &cmds[3] {
            Command::Eval(e) => assert_eq!(e.scalar, Some(1.0)),
            c => panic!("{c:?}"),
        }
        assert_eq!(cmds[4], Command::Clear);
    }
}
