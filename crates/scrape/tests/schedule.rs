//! The scrape schedule under tokio's paused time: a 10s interval is
//! simulated without sleeping for real.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use promlite_model::{Clock, MemStorage};
use promlite_scrape::scrape_loop::{HandoverSlot, LoopSignal};
use promlite_scrape::target::{populate, Populated};
use promlite_scrape::{Config, ScrapeLoop, ScrapeOptions, TargetShared};

/// Wall-clock time that follows tokio's (paused) clock.
struct TokioClock {
    base_ms: i64,
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        self.base_ms + self.start.elapsed().as_millis() as i64
    }
}

#[tokio::test(start_paused = true)]
async fn scrapes_every_interval_at_a_fixed_phase() {
    let srv = serve(Reply::text("g 1\n")).await;
    let db = MemStorage::new();
    let yaml = format!("scrape_configs:\n  - job_name: a\n    scrape_interval: 10s\n    scrape_timeout: 5s\n    static_configs: [{{targets: ['{}']}}]\n", srv.addr);
    let cfg = Config::from_str(&yaml).unwrap();
    let sc = &cfg.scrape_configs[0];
    let groups = promlite_scrape::discovery::static_groups(&sc.static_configs);
    let Ok(Populated::Target(t)) = populate(&groups[0].labels, &groups[0].targets[0], sc) else {
        panic!()
    };
    let clock = Arc::new(TokioClock {
        base_ms: 1_000_000_003,
        start: tokio::time::Instant::now(),
    });
    let sl = ScrapeLoop::new(
        sc,
        Arc::new(TargetShared::new(t)),
        Arc::new(db.clone()),
        clock.clone(),
        &ScrapeOptions::default(),
    )
    .unwrap();
    let phase =
        (clock.now_ms() + sl.start_offset(clock.now_ms()).as_millis() as i64).rem_euclid(10_000);
    let (tx, rx) = tokio::sync::watch::channel(LoopSignal::Run);
    let task = tokio::spawn(sl.run(rx, HandoverSlot::default()));
    tokio::time::sleep(Duration::from_secs(45)).await;
    let _ = tx.send(LoopSignal::Stop);
    let _ = task.await;

    let s = samples(&db, "g");
    let live: Vec<i64> = s
        .iter()
        .filter(|x| !promlite_model::is_stale_nan(x.1))
        .map(|x| x.0)
        .collect();
    assert!(live.len() >= 4, "{live:?}");
    for w in live.windows(2) {
        assert_eq!(w[1] - w[0], 10_000, "{live:?}");
    }
    assert_eq!(
        live[0].rem_euclid(10_000),
        phase,
        "first scrape at the target's phase"
    );
    assert!(
        promlite_model::is_stale_nan(s.last().unwrap().1),
        "stopped: stale marker"
    );
}

/// The server's kernel timers (`ScrapeOptions::kernel_timers`) in real
/// time: the first scrape at the target's phase, then one every interval,
/// timestamps aligned to the schedule, and staleness markers at the stop.
#[tokio::test]
async fn kernel_timers_scrape_every_interval_at_the_phase() {
    let srv = serve(Reply::text("g 1\n")).await;
    let db = MemStorage::new();
    let yaml = format!("scrape_configs:\n  - job_name: a\n    scrape_interval: 200ms\n    scrape_timeout: 100ms\n    static_configs: [{{targets: ['{}']}}]\n", srv.addr);
    let cfg = Config::from_str(&yaml).unwrap();
    let sc = &cfg.scrape_configs[0];
    let groups = promlite_scrape::discovery::static_groups(&sc.static_configs);
    let Ok(Populated::Target(t)) = populate(&groups[0].labels, &groups[0].targets[0], sc) else {
        panic!()
    };
    let clock = Arc::new(promlite_model::SystemClock);
    let sl = ScrapeLoop::new(
        sc,
        Arc::new(TargetShared::new(t)),
        Arc::new(db.clone()),
        clock.clone(),
        &ScrapeOptions {
            kernel_timers: true,
            ..ScrapeOptions::default()
        },
    )
    .unwrap();
    let phase =
        (clock.now_ms() + sl.start_offset(clock.now_ms()).as_millis() as i64).rem_euclid(200);
    let (tx, rx) = tokio::sync::watch::channel(LoopSignal::Run);
    let task = tokio::spawn(sl.run(rx, HandoverSlot::default()));
    tokio::time::sleep(Duration::from_millis(1_150)).await;
    let _ = tx.send(LoopSignal::Stop);
    let _ = task.await;

    let s = samples(&db, "g");
    let live: Vec<i64> = s
        .iter()
        .filter(|x| !promlite_model::is_stale_nan(x.1))
        .map(|x| x.0)
        .collect();
    assert!((4..=6).contains(&live.len()), "{live:?}");
    // Within the timer's slack of the phase (timestamps snap to the
    // schedule only within 2 ms of it, capped at 1% of the interval).
    let off = (live[0] - phase).rem_euclid(200);
    assert!(
        off <= 10 || off >= 198,
        "first scrape {off} ms off its phase: {live:?}"
    );
    for w in live.windows(2) {
        assert!((w[1] - w[0] - 200).abs() <= 10, "{live:?}");
    }
    assert!(promlite_model::is_stale_nan(s.last().unwrap().1));
}
