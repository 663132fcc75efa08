//! A hand-written subset of Go's `text/template`, enough for Prometheus alert
//! labels and annotations: `{{ $labels.x }}`, `{{ $value }}`,
//! `{{ $externalLabels.x }}`, `{{ $externalURL }}`, `{{ .Labels.x }}`,
//! `{{ .Value }}`, pipelines (`{{ $value | humanize }}`), function calls
//! (`printf`, `humanize*`, `title`, `toUpper`, `toLower`, `eq ne lt le gt ge`,
//! `and or not`, `len`), `{{ if }}…{{ else if }}…{{ else }}…{{ end }}`,
//! trim markers (`{{-`, `-}}`) and comments (`{{/* */}}`).

mod exec;
pub mod gofmt;
mod parse;

use std::collections::BTreeMap;

pub use parse::TemplateError;

/// Maximum nesting of `if` blocks and parentheses.
const MAX_DEPTH: usize = 100;

/// A parsed template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    src: String,
    nodes: Vec<parse::Node>,
}

/// What a template can see.
#[derive(Clone, Debug, Default)]
pub struct TemplateData {
    /// The alert's labels (`$labels`, `.Labels`).
    pub labels: BTreeMap<String, String>,
    /// The sample value (`$value`, `.Value`).
    pub value: f64,
    /// The server's external labels (`$externalLabels`).
    pub external_labels: BTreeMap<String, String>,
    /// The server's external URL (`$externalURL`).
    pub external_url: String,
}

/// A value during execution.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// Go's nil.
    Nil,
    /// A bool.
    Bool(bool),
    /// An integer literal or `len` result.
    Int(i64),
    /// A float64.
    Float(f64),
    /// A string.
    Str(String),
    /// A `map[string]string`.
    Map(BTreeMap<String, String>),
}

impl Val {
    /// The value as a float, converting numeric strings like Prometheus does.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Float(f) => Some(*f),
            Val::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// How `{{ . }}` prints the value.
    pub fn display(&self) -> String {
        match self {
            Val::Nil => "<no value>".into(),
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => gofmt::fmt_v(*f),
            Val::Str(s) => s.clone(),
            Val::Map(m) => {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", parts.join(" "))
            }
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Map(m) => !m.is_empty(),
        }
    }
}

impl Template {
    /// Parses `src`; errors name the problem and its position.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let nodes = parse::parse(src)?;
        Ok(Template {
            src: src.to_string(),
            nodes,
        })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// Runs the template; an execution error is returned as text.
    pub fn execute(&self, data: &TemplateData) -> Result<String, String> {
        let mut out = String::new();
        exec::run(&self.nodes, data, &mut out)?;
        Ok(out)
    }

    /// Runs the template the way Prometheus expands alert templates: an
    /// error becomes `<error expanding template: …>`.
    pub fn expand(&self, data: &TemplateData) -> String {
        match self.execute(data) {
            Ok(s) => s,
            Err(e) => format!("<error expanding template: {e}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> TemplateData {
        let mut d = TemplateData {
            value: 0.4567,
            external_url: "http://p:9090".into(),
            ..Default::default()
        };
        d.labels.insert("instance".into(), "host:9100".into());
        d.labels.insert("model_version".into(), "v2".into());
        d.external_labels.insert("cluster".into(), "eu1".into());
        d
    }

    fn run(src: &str) -> String {
        Template::parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .expand(&data())
    }

    #[test]
    fn variables_and_fields() {
        assert_eq!(
            run("model {{ $labels.model_version }} at {{ $value }}"),
            "model v2 at 0.4567"
        );
        assert_eq!(
            run("{{ .Labels.instance }} {{ .Value }}"),
            "host:9100 0.4567"
        );
        assert_eq!(
            run("{{ $externalLabels.cluster }} {{ $externalURL }}"),
            "eu1 http://p:9090"
        );
        assert_eq!(run("[{{ $labels.missing }}]"), "[]");
    }

    #[test]
    fn pipelines_and_functions() {
        assert_eq!(run("{{ $value | humanizePercentage }}"), "45.67%");
        assert_eq!(run(r#"{{ printf "%.2f" $value }}"#), "0.46");
        assert_eq!(run(r#"{{ $value | printf "%.1f" }}"#), "0.5");
        assert_eq!(run("{{ $labels.model_version | toUpper }}"), "V2");
        assert_eq!(run(r#"{{ "hello world" | title }}"#), "Hello World");
        assert_eq!(run("{{ humanize 1234567 }}"), "1.235M");
        assert_eq!(run("{{ (humanizeDuration 3661) | toLower }}"), "1h 1m 1s");
    }

    #[test]
    fn conditionals_and_trim() {
        assert_eq!(run("{{ if lt $value 0.5 }}low{{ else }}ok{{ end }}"), "low");
        assert_eq!(
            run("{{ if gt $value 0.9 }}high{{ else if gt $value 0.4 }}mid{{ else }}low{{ end }}"),
            "mid"
        );
        assert_eq!(
            run(r#"{{ if eq $labels.model_version "v2" }}yes{{ end }}"#),
            "yes"
        );
        assert_eq!(run("a  {{- /* note */ -}}  b"), "ab");
        assert_eq!(
            run("{{ if and (gt $value 0.1) (not false) }}t{{ end }}"),
            "t"
        );
    }

    #[test]
    fn parse_errors_have_positions() {
        let e = Template::parse("{{ if $value }}x").unwrap_err();
        assert!(e.to_string().contains("unexpected EOF"), "{e}");
        let e = Template::parse("{{ nosuchfunc 1 }}").unwrap_err();
        assert!(
            e.to_string()
                .contains("function \"nosuchfunc\" not defined"),
            "{e}"
        );
        let e = Template::parse("line\n{{ $value ").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(Template::parse("{{ end }}").is_err());
        assert!(Template::parse("{{ \"abc }}").is_err());
        let deep = "{{ if 1 }}".repeat(200);
        assert!(Template::parse(&deep).is_err());
    }

    #[test]
    fn execution_errors_become_text() {
        let t = Template::parse("{{ humanize \"abc\" }}").unwrap();
        assert!(t.expand(&data()).starts_with("<error expanding template: "));
    }
}
