//! Query abuse against a running `promlite serve` (small `--query.timeout`
//! and `--query.max-concurrency`): nesting bombs, a 1 MiB+ query, huge
//! regexes, a selector matching everything over a year, an 11,001-step
//! range, a subquery sample bomb, and a flood of heavy queries at once.
//! Each must be answered (an error or a bounded result) within a bounded
//! time; the process stays alive and a cheap query keeps being answered.
//! A deep AST built in code is dropped in a child process (a stack
//! overflow aborts the process, so it cannot run in the test process).

use std::path::Path;
use std::time::{Duration, Instant};

use promlite_promql::ast::{Expr, UnaryOp};

use crate::child;
use crate::dataset;
use crate::harness::{enc, free_port, get_json, http, serve_ready_with, Promlite};

const SERIES: usize = 200;
const BLOCKS: i64 = 27;

/// A promlite with 200 series × 270 s of data, a 2 s query timeout and at
/// most 2 queries at a time.
fn start(root: &Path) -> Promlite {
    let dir = root.join("data");
    dataset::write_blocks(&dir, SERIES, 0..BLOCKS);
    let cfg = root.join("prometheus.yml");
    std::fs::write(&cfg, "scrape_configs: []\n").expect("config");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = root.join("promlite.log");
    let extra = [
        "--storage.tsdb.retention.time",
        "0s",
        "--query.timeout",
        "2s",
        "--query.max-concurrency",
        "2",
        "--query.max-samples",
        "5000000",
    ];
    serve_ready_with(&cfg, &dir, &addr, &extra, &log)
}

/// POSTs a query (form body); returns status, body and elapsed time.
fn post(addr: &str, path: &str, form: &str) -> (u16, String, Duration) {
    let t = Instant::now();
    let (code, body) = http(addr, "POST", path, form).unwrap_or((0, String::new()));
    (code, body, t.elapsed())
}

/// A cheap query answers correctly and `/-/healthy` is 200.
fn assert_alive(addr: &str, ctx: &str) {
    let t = Instant::now();
    let v = get_json(addr, "/api/v1/query?query=1%2B1&time=100");
    assert_eq!(v["data"]["result"][1], "2", "{ctx}: cheap query: {v}");
    let (code, _) = http(addr, "GET", "/-/healthy", "").expect("healthy");
    assert_eq!(code, 200, "{ctx}: healthy");
    eprintln!("{ctx}: cheap query after it took {:?}", t.elapsed());
}

/// Sends one abusive query; it must get a 4xx/5xx JSON error (or, if
/// `ok_allowed`, a success) within `limit`. Returns the error text.
fn abuse(addr: &str, name: &str, form: &str, limit: Duration, ok_allowed: bool) -> String {
    let (code, body, took) = post(addr, "/api/v1/query", form);
    let v: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{name}: no JSON answer ({code}, {e}): {body:.300}"));
    let status = v["status"].as_str().unwrap_or("");
    let err = v["error"].as_str().unwrap_or("").to_string();
    eprintln!(
        "{name}: HTTP {code} in {took:?}: {}",
        if err.is_empty() { status } else { &err }
    );
    if !(ok_allowed && status == "success") {
        assert!(
            code >= 400 && status == "error",
            "{name}: {code} {body:.300}"
        );
    }
    assert!(took <= limit, "{name}: took {took:?}, limit {limit:?}");
    assert_alive(addr, name);
    err
}

#[test]
fn query_abuse_is_answered_with_errors_or_bounded_work() {
    let root = tempfile::tempdir().expect("tempdir");
    let p = start(root.path());
    let addr = p.addr.clone();
    let fast = Duration::from_secs(2);
    let q = |s: &str| format!("query={}&time=300", enc(s));

    let n = 10_000;
    let parens = format!("{}1{}", "(".repeat(n), ")".repeat(n));
    let e = abuse(&addr, "10,000 parentheses", &q(&parens), fast, false);
    assert!(e.contains("too deep"), "{e}");
    let minus = format!("{}1", "-".repeat(n));
    let e = abuse(&addr, "10,000 unary minus", &q(&minus), fast, false);
    assert!(e.contains("too deep"), "{e}");
    let chain = format!("1{}", "+1".repeat(n));
    abuse(&addr, "1+1+… 10,000 times", &q(&chain), fast, false);
    let or_chain = format!("fault_test{}", " or fault_test".repeat(n));
    abuse(&addr, "10,000 `or`", &q(&or_chain), fast, false);
    let funcs = format!("{}fault_test{}", "abs(".repeat(n), ")".repeat(n));
    abuse(&addr, "10,000 nested calls", &q(&funcs), fast, false);
    let subq = format!(
        "{}fault_test{}",
        "max_over_time((".repeat(300),
        ")[1m:])".repeat(300)
    );
    abuse(&addr, "300 nested subqueries", &q(&subq), fast, false);

    let long = format!("sum(fault_test){}", " ".repeat((1 << 20) + 10));
    let e = abuse(&addr, "1 MiB+ query", &q(&long), fast, false);
    assert!(e.contains("too long"), "{e}");

    let e = abuse(
        &addr,
        "regex (a{1000}){1000}",
        &q("fault_test{i=~\"(a{1000}){1000}\"}"),
        fast,
        false,
    );
    assert!(
        e.to_lowercase().contains("regex") || e.contains("size"),
        "{e}"
    );
    let alternation: Vec<String> = (0..10_000).map(|k| format!("v{k}")).collect();
    abuse(
        &addr,
        "regex with 10,000 alternatives",
        &q(&format!("fault_test{{i=~\"{}\"}}", alternation.join("|"))),
        fast,
        true,
    );
    let stars = format!("fault_test{{i=~\"{}x\"}}", ".*".repeat(1000));
    abuse(
        &addr,
        "regex .*.*… ×1000",
        &q(&stars),
        Duration::from_secs(3),
        true,
    );

    // Everything over a year, evaluated now: a bounded answer.
    let (code, body, took) = post(
        &addr,
        "/api/v1/query",
        &format!(
            "query={}&time=300",
            enc("count(count_over_time({__name__=~\".+\"}[365d]))")
        ),
    );
    eprintln!("everything over a year: HTTP {code} in {took:?}: {body:.200}");
    assert_eq!(code, 200, "{body:.300}");
    assert!(body.contains(&format!("\"{SERIES}\"")), "{body:.300}");
    assert_alive(&addr, "everything over a year");

    // (end - start) / step = 11,001 (11,002 points): rejected like
    // Prometheus, which allows at most 11,000 steps.
    let (code, body, _) = post(
        &addr,
        "/api/v1/query_range",
        &format!("query={}&start=0&end=11001&step=1", enc("fault_test")),
    );
    assert_eq!(code, 400, "{body:.300}");
    assert!(body.contains("11,000 points"), "{body:.300}");
    eprintln!("11,001 steps: HTTP {code}: {body:.200}");

    // A subquery sample bomb: stopped by max-samples or the timeout.
    let bomb = "count_over_time(fault_test[365d:1ms])";
    abuse(
        &addr,
        "subquery with a 1 ms step over a year",
        &q(bomb),
        Duration::from_secs(4),
        false,
    );

    // A flood of heavy queries at once, 2 run at a time: every one ends
    // (error or result) and cheap queries get through meanwhile.
    let heavy = "sum(count_over_time(fault_test[365d:10ms]))";
    let started = Instant::now();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let addr = addr.clone();
            let form = q(heavy);
            std::thread::spawn(move || post(&addr, "/api/v1/query", &form))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (code, _) = http(&addr, "GET", "/-/healthy", "").expect("healthy during flood");
    assert_eq!(code, 200);
    let cheap_started = Instant::now();
    let v = get_json(&addr, "/api/v1/query?query=vector(7)&time=1");
    let cheap = cheap_started.elapsed();
    assert_eq!(v["data"]["result"][0]["value"][1], "7", "{v}");
    let mut codes = Vec::new();
    for h in handles {
        let (code, body, took) = h.join().expect("flood thread");
        assert!(
            code == 200 || code == 503 || code == 422,
            "{code}: {body:.300}"
        );
        assert!(
            took < Duration::from_secs(20),
            "a heavy query took {took:?}"
        );
        codes.push(code);
    }
    eprintln!(
        "8 heavy queries, concurrency 2, timeout 2 s: codes {codes:?}, all done in {:?}; a cheap query meanwhile took {cheap:?}",
        started.elapsed()
    );
    assert!(
        cheap < Duration::from_secs(20),
        "cheap query waited {cheap:?}"
    );
    assert_alive(&addr, "after the flood");
    drop(p);
}

/// Child role: builds `n` nested `(-(…))` nodes in code (the parser would
/// refuse them) and drops them on a thread with a 2 MiB stack.
#[test]
fn deep_ast_drop_child() {
    let Some((_, arg)) = child::role() else {
        return;
    };
    let n: usize = arg.parse().expect("depth");
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut e = Expr::Number(1.0);
            for k in 0..n {
                e = if k % 2 == 0 {
                    Expr::Paren(Box::new(e))
                } else {
                    Expr::Unary(UnaryOp::Neg, Box::new(e))
                };
            }
            drop(e);
        })
        .expect("spawn");
    h.join().expect("join");
    println!("DROPPED {n}");
}

/// `Expr` has an iterative `Drop` (`crates/promql/src/ast_drop.rs`): a
/// 1,000,000-deep tree built in code drops on a 2 MiB thread stack. The
/// parser never builds such a tree (depth limit 256, checked per node);
/// library users building ASTs in code can.
#[test]
fn dropping_a_deep_ast_does_not_overflow_the_stack() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = child::spawn("query_abuse::deep_ast_drop_child", dir.path(), "1000000")
        .wait_with_output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("DROPPED 1000000"),
        "dropping a 1,000,000-deep AST: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
