//! Golden tests for relabeling, written from the semantics described in
//! Prometheus's configuration documentation (`<relabel_config>` section) and
//! the classic examples it refers to.

use super::*;
use promlite_model::labels;

fn rules(yaml: &str) -> Vec<RelabelConfig> {
    serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("bad test yaml: {e}"))
}

fn run(input: &Labels, yaml: &str) -> Option<Labels> {
    process(input, &rules(yaml))
}

#[test]
fn defaults() {
    let r = &rules("- target_label: x")[0];
    assert_eq!(r.separator, ";");
    assert_eq!(r.regex.as_str(), "(.*)");
    assert_eq!(r.replacement, "$1");
    assert_eq!(r.action, Action::Replace);
}

#[test]
fn replace_with_capture_groups_and_separator() {
    let l = labels!("a" => "foo", "b" => "bar");
    let out = run(&l, "- source_labels: [a, b]\n  regex: 'f(.*);(.*)r'\n  target_label: c\n  replacement: 'ch${1}-${2}'").unwrap();
    assert_eq!(out.get("c"), Some("choo-ba"));
    // no match: unchanged
    let out = run(
        &l,
        "- source_labels: [a]\n  regex: 'x(.*)'\n  target_label: c",
    )
    .unwrap();
    assert_eq!(out, l);
    // custom separator
    let out = run(
        &l,
        "- source_labels: [a, b]\n  separator: '-'\n  target_label: c",
    )
    .unwrap();
    assert_eq!(out.get("c"), Some("foo-bar"));
}

#[test]
fn regex_is_anchored_and_dot_matches_newline() {
    let l = labels!("a" => "xfoox");
    assert_eq!(
        run(&l, "- source_labels: [a]\n  regex: foo\n  action: keep"),
        None
    );
    assert!(run(
        &l,
        "- source_labels: [a]\n  regex: '.*foo.*'\n  action: keep"
    )
    .is_some());
    let nl = labels!("a" => "line1\nline2");
    assert!(run(
        &nl,
        "- source_labels: [a]\n  regex: 'line1.line2'\n  action: keep"
    )
    .is_some());
}

#[test]
fn classic_address_port_rewrite() {
    // The documentation's typical use: rewrite the port of __address__.
    let l = labels!("__address__" => "10.0.0.1:8080", "__meta_port" => "9100");
    let out = run(
        &l,
        "- source_labels: [__address__, __meta_port]\n  regex: '([^:]+)(?::\\d+)?;(\\d+)'\n  replacement: '$1:$2'\n  target_label: __address__",
    )
    .unwrap();
    assert_eq!(out.get("__address__"), Some("10.0.0.1:9100"));
}

#[test]
fn go_expand_semantics() {
    let l = labels!("a" => "foo", "z" => "z");
    // `$1x` refers to the (missing) group named "1x": empty, so the label is deleted.
    let out = run(
        &l,
        "- source_labels: [a]\n  regex: '(f)oo'\n  target_label: a\n  replacement: '$1x'",
    )
    .unwrap();
    assert_eq!(out.get("a"), None);
    // `$$` is a literal dollar; named groups work.
    let out =
        run(&l, "- source_labels: [a]\n  regex: '(?P<first>f)(.*)'\n  target_label: b\n  replacement: '$$${first}-$2'").unwrap();
    assert_eq!(out.get("b"), Some("$f-oo"));
    // Templated target label.
    let out = run(
        &l,
        "- source_labels: [a]\n  regex: '(.*)'\n  target_label: 'name_${1}'\n  replacement: v",
    )
    .unwrap();
    assert_eq!(out.get("name_foo"), Some("v"));
}

#[test]
fn replace_missing_source_matches_empty() {
    let l = labels!("a" => "foo", "z" => "z");
    let out = run(&l, "- source_labels: [missing]\n  target_label: a").unwrap();
    // regex (.*) matches "", replacement "" deletes the target
    assert_eq!(out.get("a"), None);
    let out = run(
        &l,
        "- source_labels: [missing]\n  target_label: b\n  replacement: static",
    )
    .unwrap();
    assert_eq!(out.get("b"), Some("static"));
}

#[test]
fn keep_and_drop() {
    let l = labels!("__name__" => "http_requests_total", "code" => "500");
    assert!(run(
        &l,
        "- source_labels: [code]\n  regex: '5..'\n  action: keep"
    )
    .is_some());
    assert!(run(
        &l,
        "- source_labels: [code]\n  regex: '2..'\n  action: keep"
    )
    .is_none());
    assert!(run(
        &l,
        "- source_labels: [__name__]\n  regex: 'http_.*'\n  action: drop"
    )
    .is_none());
    assert!(run(
        &l,
        "- source_labels: [__name__]\n  regex: 'grpc_.*'\n  action: drop"
    )
    .is_some());
}

#[test]
fn keepequal_dropequal() {
    let same = labels!("a" => "x", "b" => "x");
    let diff = labels!("a" => "x", "b" => "y");
    let keep = "- source_labels: [a]\n  target_label: b\n  action: keepequal";
    let drop = "- source_labels: [a]\n  target_label: b\n  action: dropequal";
    assert!(run(&same, keep).is_some());
    assert!(run(&diff, keep).is_none());
    assert!(run(&same, drop).is_none());
    assert!(run(&diff, drop).is_some());
}

#[test]
fn hashmod_matches_prometheus() {
    // md5 low 64 bits big-endian mod 1000: foo → 696, bar → 922, baz → 976.
    assert_eq!(hashmod("foo", 1000), 696);
    assert_eq!(hashmod("bar", 1000), 922);
    assert_eq!(hashmod("baz", 1000), 976);
    let l = labels!("__address__" => "baz");
    let out = run(&l, "- source_labels: [__address__]\n  modulus: 1000\n  target_label: __tmp_hash\n  action: hashmod").unwrap();
    assert_eq!(out.get("__tmp_hash"), Some("976"));
    // sharding: keep only shard 976
    let shard = "- source_labels: [__address__]\n  modulus: 1000\n  target_label: __tmp_hash\n  action: hashmod\n- source_labels: [__tmp_hash]\n  regex: '976'\n  action: keep";
    assert!(run(&l, shard).is_some());
    assert!(run(&labels!("__address__" => "foo"), shard).is_none());
}

#[test]
fn labelmap_copies_meta_labels() {
    let l = labels!("__meta_kubernetes_pod_label_app" => "web", "__meta_kubernetes_pod_label_tier" => "front", "job" => "j");
    let out = run(
        &l,
        "- regex: '__meta_kubernetes_pod_label_(.+)'\n  action: labelmap",
    )
    .unwrap();
    assert_eq!(out.get("app"), Some("web"));
    assert_eq!(out.get("tier"), Some("front"));
    assert_eq!(out.get("__meta_kubernetes_pod_label_app"), Some("web"));
    let out = run(
        &l,
        "- regex: '__meta_kubernetes_pod_label_(.+)'\n  replacement: 'k8s_$1'\n  action: labelmap",
    )
    .unwrap();
    assert_eq!(out.get("k8s_app"), Some("web"));
}

#[test]
fn labeldrop_labelkeep() {
    let l = labels!("__name__" => "m", "a" => "1", "b" => "2", "tmp_x" => "3");
    let out = run(&l, "- regex: 'tmp_.*'\n  action: labeldrop").unwrap();
    assert_eq!(out, labels!("__name__" => "m", "a" => "1", "b" => "2"));
    let out = run(&l, "- regex: '__name__|a'\n  action: labelkeep").unwrap();
    assert_eq!(out, labels!("__name__" => "m", "a" => "1"));
    // dropping everything drops the set
    assert!(run(&l, "- regex: '.*'\n  action: labeldrop").is_none());
}

#[test]
fn lowercase_uppercase() {
    let l = labels!("a" => "FooBar", "b" => "x");
    let out = run(&l, "- source_labels: [a, b]\n  target_label: lo\n  action: lowercase\n- source_labels: [a]\n  target_label: up\n  action: uppercase").unwrap();
    assert_eq!(out.get("lo"), Some("foobar;x"));
    assert_eq!(out.get("up"), Some("FOOBAR"));
}

#[test]
fn chained_steps_see_earlier_results() {
    let l = labels!("__address__" => "host:9100");
    let out = run(
        &l,
        "- source_labels: [__address__]\n  regex: '(.*):.*'\n  target_label: __tmp_host\n- source_labels: [__tmp_host]\n  target_label: instance",
    )
    .unwrap();
    assert_eq!(out.get("instance"), Some("host"));
}

#[test]
fn validation_errors() {
    let bad = [
        ("- action: replace", "requires 'target_label'"),
        ("- action: hashmod\n  target_label: x", "non-zero modulus"),
        ("- action: frobnicate", "unknown relabel action"),
        ("- regex: '('\n  target_label: x", "invalid regex"),
        (
            "- action: labeldrop\n  regex: x\n  source_labels: [a]",
            "requires only 'regex'",
        ),
        (
            "- action: keepequal\n  source_labels: [a]\n  target_label: b\n  regex: x",
            "requires only 'source_labels'",
        ),
        (
            "- action: lowercase\n  source_labels: [a]\n  target_label: '${1}'",
            "invalid 'target_label'",
        ),
        (
            "- source_labels: ['bad-name']\n  target_label: x",
            "not a valid label name",
        ),
        ("- target_label: x\n  bogus: 1", "unknown field"),
    ];
    for (yaml, want) in bad {
        let err = serde_norway::from_str::<Vec<RelabelConfig>>(yaml)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(want), "{yaml:?}: got {err:?}, want {want:?}");
    }
}

#[test]
fn action_is_case_insensitive() {
    assert_eq!(
        rules("- action: LabelDrop\n  regex: x")[0].action,
        Action::LabelDrop
    );
}
