//! Recovery memory (reliability checklist A8): replaying a WAL must not need
//! much more memory than holding the same head while running. Prometheus's
//! replay can use more than normal running and crash-loop (#6934, #16942).
//!
//! A child process appends 2 h of data for 10,000 series through a `Db`
//! (WAL + head, no block) and reports its resident memory with that head
//! loaded — the steady state. Then `promlite serve` replays the WAL; its
//! peak resident memory (`VmHWM`) is the replay cost. Both are measured
//! above the baseline of the same program with an empty head, and the
//! replay peak must stay within 1.1× the steady state (plus 8 MiB for the
//! replay's read buffers and allocator slack).

use std::path::Path;
use std::time::Instant;

use promlite_model::Labels;
use promlite_tsdb::{Db, DbOptions};

use crate::child::{self, status_bytes};
use crate::harness::{free_port, get_json, serve, Promlite};

const SERIES: usize = 10_000;
/// 2 h at a 30 s interval.
const SAMPLES: i64 = 240;
const STEP_MS: i64 = 30_000;

fn labels(i: usize) -> Labels {
    Labels::from_pairs([
        ("__name__", "replay_memory_test".to_string()),
        ("instance", format!("host-{}:9100", i / 100)),
        ("job", "node".to_string()),
        ("series", i.to_string()),
    ])
}

/// Child role: appends the dataset one scrape (10,000 samples) per commit
/// and prints `baseline=<bytes> loaded=<bytes>`.
#[test]
fn replay_memory_writer_child() {
    let Some((dir, _)) = child::role() else {
        return;
    };
    let baseline = status_bytes("self", "VmRSS");
    let opts = DbOptions {
        block_range_ms: 24 * 3_600_000,
        background: false,
        retention_ms: None,
        ..DbOptions::default()
    };
    let db = Db::open(Path::new(&dir), opts).expect("open");
    let all: Vec<Labels> = (0..SERIES).map(labels).collect();
    for k in 0..SAMPLES {
        let mut app = db.appender();
        for (i, l) in all.iter().enumerate() {
            let v = (k * (i as i64 % 7 + 1)) as f64;
            app.append(None, l, k * STEP_MS, v).expect("append");
        }
        app.commit().expect("commit");
    }
    drop(all);
    let loaded = status_bytes("self", "VmRSS");
    println!("baseline={baseline} loaded={loaded}");
    db.close().expect("close");
}

fn start_ready(root: &Path, data: &Path, name: &str) -> (Promlite, String) {
    let cfg = root.join("prometheus.yml");
    std::fs::write(&cfg, "scrape_configs: []\n").expect("cfg");
    let addr = format!("127.0.0.1:{}", free_port());
    let log = root.join(format!("{name}.log"));
    let mut p = serve(
        &cfg,
        data,
        &addr,
        &["--storage.tsdb.retention.time", "0s"],
        &log,
    );
    p.wait_ready(&log);
    let pid = p.pid().to_string();
    (p, pid)
}

#[test]
fn wal_replay_peak_memory_stays_near_the_running_head() {
    let root = tempfile::tempdir().expect("tempdir");
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let t = Instant::now();
    let out = child::spawn("replay_memory::replay_memory_writer_child", &data, "")
        .wait_with_output()
        .expect("writer");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "writer failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |k: &str| -> u64 {
        stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(k)?.strip_prefix('=')?.parse().ok())
            .unwrap_or_else(|| panic!("{k} missing in {stdout}"))
    };
    let steady = field("loaded").saturating_sub(field("baseline"));
    let wal_bytes: u64 = std::fs::read_dir(data.join("wal"))
        .expect("wal dir")
        .filter_map(|e| e.ok()?.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    eprintln!("writer: {:?}", t.elapsed());

    // The server's own baseline: the same binary on an empty directory.
    let empty = root.path().join("empty");
    let (p, pid) = start_ready(root.path(), &empty, "empty");
    let base_hwm = status_bytes(&pid, "VmHWM");
    drop(p);

    let t = Instant::now();
    let (p, pid) = start_ready(root.path(), &data, "replay");
    let ready_after = t.elapsed();
    let hwm = status_bytes(&pid, "VmHWM");
    let rss = status_bytes(&pid, "VmRSS");
    let v = get_json(
        &p.addr,
        "/api/v1/query?query=count(replay_memory_test)&time=7170",
    );
    assert_eq!(
        v["data"]["result"][0]["value"][1],
        SERIES.to_string(),
        "{v}"
    );
    let replay = hwm.saturating_sub(base_hwm);
    let mib = |b: u64| b as f64 / 1048576.0;
    eprintln!(
        "WAL {:.1} MiB: head while running {:.1} MiB; replay peak {:.1} MiB above the server's \
         baseline ({:.1} MiB); RSS after ready {:.1} MiB; ready after {ready_after:?}",
        mib(wal_bytes),
        mib(steady),
        mib(replay),
        mib(base_hwm),
        mib(rss)
    );
    assert!(
        replay as f64 <= 1.1 * steady as f64 + 8.0 * 1048576.0,
        "replay peak {:.1} MiB vs {:.1} MiB for the same head while running",
        mib(replay),
        mib(steady)
    );
    drop(p);
}
