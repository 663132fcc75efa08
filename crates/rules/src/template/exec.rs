//! Template execution.

use std::cmp::Ordering;

use super::gofmt;
use super::parse::{Arg, Node, Pipe};
use super::{TemplateData, Val};

pub(crate) fn run(nodes: &[Node], data: &TemplateData, out: &mut String) -> Result<(), String> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => out.push_str(&eval_pipe(p, data)?.display()),
            Node::If { cond, then, els } => {
                if eval_pipe(cond, data)?.truthy() {
                    run(then, data, out)?;
                } else {
                    run(els, data, out)?;
                }
            }
        }
    }
    Ok(())
}

fn eval_pipe(p: &Pipe, data: &TemplateData) -> Result<Val, String> {
    let mut prev: Option<Val> = None;
    for cmd in p {
        let v = match cmd.first() {
            Some(Arg::Func(name)) => {
                let mut args = Vec::with_capacity(cmd.len());
                for a in cmd.iter().skip(1) {
                    args.push(eval_arg(a, data)?);
                }
                if let Some(pv) = prev.take() {
                    args.push(pv);
                }
                call(name, args)?
            }
            Some(a) => {
                if prev.is_some() {
                    return Err("can't give argument to non-function".into());
                }
                eval_arg(a, data)?
            }
            None => Val::Nil,
        };
        prev = Some(v);
    }
    Ok(prev.unwrap_or(Val::Nil))
}

fn field(base: Val, fields: &[String]) -> Result<Val, String> {
    let mut v = base;
    for f in fields {
        v = match v {
            Val::Map(m) => m
                .get(f)
                .map(|s| Val::Str(s.clone()))
                .unwrap_or(Val::Str(String::new())),
            other => {
                return Err(format!(
                    "can't evaluate field {f} in type {}",
                    type_name(&other)
                ))
            }
        };
    }
    Ok(v)
}

fn dot_field(name: &str, data: &TemplateData) -> Result<Val, String> {
    Ok(match name {
        "Labels" => Val::Map(data.labels.clone()),
        "Value" => Val::Float(data.value),
        "ExternalLabels" => Val::Map(data.external_labels.clone()),
        "ExternalURL" => Val::Str(data.external_url.clone()),
        other => return Err(format!("can't evaluate field {other}")),
    })
}

fn eval_arg(a: &Arg, data: &TemplateData) -> Result<Val, String> {
    Ok(match a {
        Arg::Field(fs) => match fs.split_first() {
            None => Val::Str(String::new()),
            Some((first, rest)) => field(dot_field(first, data)?, rest)?,
        },
        Arg::Var(name, fs) => {
            let base = match name.as_str() {
                "labels" => Val::Map(data.labels.clone()),
                "value" => Val::Float(data.value),
                "externalLabels" => Val::Map(data.external_labels.clone()),
                "externalURL" => Val::Str(data.external_url.clone()),
                "" => return Err("undefined variable \"$\"".into()),
                other => return Err(format!("undefined variable \"${other}\"")),
            };
            field(base, fs)?
        }
        Arg::Str(s) => Val::Str(s.clone()),
        Arg::Int(i) => Val::Int(*i),
        Arg::Float(f) => Val::Float(*f),
        Arg::Bool(b) => Val::Bool(*b),
        Arg::Nil => Val::Nil,
        Arg::Func(name) => call(name, Vec::new())?,
        Arg::Sub(p) => eval_pipe(p, data)?,
    })
}

fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Nil => "nil",
        Val::Bool(_) => "bool",
        Val::Int(_) => "int",
        Val::Float(_) => "float64",
        Val::Str(_) => "string",
        Val::Map(_) => "map[string]string",
    }
}

fn num(name: &str, args: &[Val]) -> Result<f64, String> {
    let [a] = args else {
        return Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        ));
    };
    a.as_f64().ok_or_else(|| {
        format!(
            "error calling {name}: can't convert {:?} to float",
            a.display()
        )
    })
}

fn string1(name: &str, args: &[Val]) -> Result<String, String> {
    match args {
        [a] => Ok(a.display()),
        _ => Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        )),
    }
}

fn compare(a: &Val, b: &Val) -> Result<Ordering, String> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Ok(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Ok(x.cmp(y)),
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
            let (x, y) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            x.partial_cmp(&y)
                .ok_or_else(|| "cannot compare NaN".to_string())
        }
        _ => Err(format!(
            "incompatible types for comparison: {} and {}",
            type_name(a),
            type_name(b)
        )),
    }
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_start = true;
    for c in s.chars() {
        if at_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_start = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

fn call(name: &str, args: Vec<Val>) -> Result<Val, String> {
    Ok(match name {
        "humanize" => Val::Str(gofmt::humanize(num(name, &args)?)),
        "humanize1024" => Val::Str(gofmt::humanize1024(num(name, &args)?)),
        "humanizeDuration" => Val::Str(gofmt::humanize_duration(num(name, &args)?)),
        "humanizePercentage" => Val::Str(gofmt::humanize_percentage(num(name, &args)?)),
        "humanizeTimestamp" => Val::Str(gofmt::humanize_timestamp(num(name, &args)?)),
        "printf" => match args.split_first() {
            Some((Val::Str(f), rest)) => Val::Str(gofmt::sprintf(f, rest)),
            _ => return Err("printf needs a format string".into()),
        },
        "print" => Val::Str(args.iter().map(Val::display).collect::<Vec<_>>().join(" ")),
        "title" => Val::Str(title(&string1(name, &args)?)),
        "toUpper" => Val::Str(string1(name, &args)?.to_uppercase()),
        "toLower" => Val::Str(string1(name, &args)?.to_lowercase()),
        "safeHtml" => Val::Str(string1(name, &args)?),
        "stripPort" => {
            let s = string1(name, &args)?;
            Val::Str(match s.rsplit_once(':') {
                Some((host, port)) if !port.contains(']') => host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_string(),
                _ => s,
            })
        }
        "match" => {
            let strs: Vec<String> = args.iter().map(Val::display).collect();
            let [pat, s] = strs.as_slice() else {
                return Err("wrong number of args for match".into());
            };
            let re = regex::Regex::new(pat).map_err(|e| format!("error calling match: {e}"))?;
            Val::Bool(re.is_match(s))
        }
        "reReplaceAll" => {
            let strs: Vec<String> = args.iter().map(Val::display).collect();
            let [pat, repl, s] = strs.as_slice() else {
                return Err("wrong number of args for reReplaceAll".into());
            };
            let re =
                regex::Regex::new(pat).map_err(|e| format!("error calling reReplaceAll: {e}"))?;
            Val::Str(re.replace_all(s, repl.as_str()).into_owned())
        }
        "len" => match args.as_slice() {
            [Val::Str(s)] => Val::Int(s.len() as i64),
            [Val::Map(m)] => Val::Int(m.len() as i64),
            [other] => return Err(format!("len of type {}", type_name(other))),
            _ => return Err("wrong number of args for len".into()),
        },
        "not" => match args.as_slice() {
            [a] => Val::Bool(!a.truthy()),
            _ => return Err("wrong number of args for not".into()),
        },
        "and" | "or" => {
            if args.is_empty() {
                return Err(format!("wrong number of args for {name}"));
            }
            let want = name == "or";
            let mut last = Val::Nil;
            for a in args {
                if a.truthy() == want {
                    return Ok(a);
                }
                last = a;
            }
            last
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
            let [a, b] = args.as_slice() else {
                return Err(format!(
                    "wrong number of args for {name}: want 2 got {}",
                    args.len()
                ));
            };
            let o = compare(a, b)?;
            Val::Bool(match name {
                "eq" => o == Ordering::Equal,
                "ne" => o != Ordering::Equal,
                "lt" => o == Ordering::Less,
                "le" => o != Ordering::Greater,
                "gt" => o == Ordering::Greater,
                _ => o != Ordering::Less,
            })
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}
