//! Fault and abuse tests (issue #9, `docs/reliability.md`).
//!
//! - `scrape_bomb`: a gzip bomb stops at the default body limit.
//! - `storage_kill`: SIGKILL at random moments while a child process
//!   compacts blocks and cuts the head.
//! - `storage_damage`: flipped bytes in a WAL segment, a chunk file and an
//!   index; a missing or truncated `meta.json` — at the library level and
//!   through `promlite serve`.
//! - `disk_full`: the writer runs in a child with `RLIMIT_FSIZE` set low
//!   (writes fail with EFBIG).
//! - `alert_restore`: a pending alert keeps its `activeAt` across SIGKILL,
//!   and a firing one is not notified again before its resend delay.
//! - `query_abuse`: nesting bombs, huge queries and regexes, cardinality
//!   and resolution bombs, concurrent heavy queries against `promlite serve`.
//! - `query_cancel`: a query's timeout holds with ≤ 10 % overshoot and a
//!   client disconnect cancels its query within 1 s.
//! - `replay_memory`: WAL replay's peak memory against the same head
//!   while running.
//! - `scrape_abuse`: endless, slow, huge, invalid and duplicate scrape
//!   bodies against `promlite serve`.
//!
//! Children are this test binary re-executed with an environment variable
//! naming the role (see `child`), so no helper binaries are needed.

#[allow(dead_code)]
#[path = "../e2e/harness.rs"]
mod harness;

mod alert_restore;
mod ast_depth;
mod child;
mod dataset;
mod disk_full;
mod limits;
mod query_abuse;
mod query_cancel;
mod replay_kill;
mod replay_memory;
mod scrape_abuse;
mod scrape_bomb;
mod storage_damage;
mod storage_kill;
