//! Memory per active series, measured with a counting allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use promlite_model::Labels;
use promlite_tsdb::{Db, DbOptions};

struct Counting;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

// SAFETY: delegates to the system allocator and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(l.size() as isize, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        ALLOCATED.fetch_sub(l.size() as isize, Ordering::Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn bytes_per_active_series() {
    const N: usize = 10_000;
    const SAMPLES: i64 = 120;
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path(),
        DbOptions {
            background: false,
            ..Default::default()
        },
    )
    .unwrap();
    // Typical exporter labels: name, job, instance, one more.
    let start = ALLOCATED.load(Ordering::Relaxed);
    let labels: Vec<Labels> = (0..N)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", format!("http_requests_total_{}", i % 50)),
                ("job", "model-server".to_string()),
                ("instance", format!("10.0.{}.{}:9100", i / 250, i % 250)),
                ("code", ["200", "404", "500"][i % 3].to_string()),
            ])
        })
        .collect();
    let labels_bytes = ALLOCATED.load(Ordering::Relaxed) - start;
    let before = ALLOCATED.load(Ordering::Relaxed);
    let mut refs = vec![None; N];
    for t in 0..SAMPLES {
        let mut app = db.appender();
        for (i, l) in labels.iter().enumerate() {
            // Counters increasing by varying amounts, 15 s scrapes.
            let v = (t * (i as i64 % 7 + 1)) as f64;
            refs[i] = Some(
                app.append(refs[i], l, 1_700_000_000_000 + t * 15_000, v)
                    .unwrap(),
            );
        }
        app.commit().unwrap();
    }
    let used = ALLOCATED.load(Ordering::Relaxed) - before;
    let per_series = used as f64 / N as f64;
    let stats = db.head_stats();
    let label_set = labels_bytes as f64 / N as f64;
    println!(
        "head memory: {:.0} bytes per active series = {per_series:.0} head structures and chunks + {label_set:.0} label set \
         ({N} series x {SAMPLES} samples; chunk data {:.2} B/sample)",
        per_series + label_set,
        stats.chunk_bytes as f64 / (N as f64 * SAMPLES as f64)
    );
    assert_eq!(stats.num_series, N as u64);
    // Prometheus needs ~3.5 KB per active series; we aim well under.
    assert!(
        per_series + label_set < 2000.0,
        "{} bytes per series",
        per_series + label_set
    );
}
