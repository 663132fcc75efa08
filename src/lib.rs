//! promlite: an embeddable, Prometheus-compatible time-series database.
//!
//! The same engine that backs the `promlite` server can live inside a Rust
//! service: open a [`Db`] on a directory, append samples through an
//! [`Appender`], and query them back with PromQL.
//!
//! # Brief overview
//!
//! * [`Db`] — a durable database (WAL, compressed head, blocks) plus a
//!   PromQL engine: [`Db::appender`], [`Db::querier`], [`Db::query`],
//!   [`Db::query_range`], [`Db::close`].
//! * [`import`] — backfill from OpenMetrics files (`promlite import openmetrics`).
//! * The building blocks are re-exported as modules: [`model`], [`tsdb`],
//!   [`promql`], [`exposition`], [`scrape`], [`http`].
//!
//! # Example
//!
//! ```
//! use promlite::{labels, Db, DbOptions, Value};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let db = Db::open(dir.path(), DbOptions::default()).unwrap();
//!
//! let mut app = db.appender();
//! for (i, t) in (0..10).map(|i| (i, i * 15_000)) {
//!     app.append(None, &labels!("__name__" => "requests_total", "model" => "v1"), t, i as f64 * 3.0).unwrap();
//! }
//! app.commit().unwrap();
//!
//! // 3 requests every 15 s: 0.2 per second.
//! let r = db.query("rate(requests_total[1m])", 135_000).unwrap();
//! let Value::Vector(v) = r.value else { panic!("expected a vector") };
//! assert!((v[0].f - 0.2).abs() < 1e-9);
//! db.close().unwrap();
//! ```
#![deny(missing_docs)]

pub mod import;

use std::path::Path;
use std::sync::Arc;

pub use promlite_exposition as exposition;
pub use promlite_http as http;
pub use promlite_model as model;
pub use promlite_model::{
    labels, Appendable, Appender, Labels, Matcher, Querier, Queryable, StorageError,
};
pub use promlite_promql as promql;
pub use promlite_promql::{EngineOptions, QueryError, QueryOptions, QueryResult, Value};
pub use promlite_scrape as scrape;
pub use promlite_tsdb as tsdb;
pub use promlite_tsdb::{DbOptions, FsyncPolicy};

/// An embedded promlite database: storage plus a PromQL engine.
///
/// Cheap to clone (clones share the same database); `Send + Sync`.
#[derive(Clone)]
pub struct Db {
    storage: Arc<promlite_tsdb::Db>,
    engine: promlite_promql::Engine,
}

impl Db {
    /// Opens (or creates) the database in `dir`, replaying its WAL.
    pub fn open(dir: impl AsRef<Path>, options: DbOptions) -> Result<Db, StorageError> {
        Self::open_with_engine(dir, options, EngineOptions::default())
    }

    /// Like [`Db::open`] with PromQL engine settings (lookback delta, limits).
    pub fn open_with_engine(
        dir: impl AsRef<Path>,
        options: DbOptions,
        engine: EngineOptions,
    ) -> Result<Db, StorageError> {
        let storage = Arc::new(promlite_tsdb::Db::open(dir, options)?);
        Ok(Db {
            storage,
            engine: promlite_promql::Engine::new(engine),
        })
    }

    /// A new batch of samples; visible and durable after `commit`.
    pub fn appender(&self) -> Box<dyn Appender> {
        self.storage.appender()
    }

    /// Read access to `[mint, maxt]` (milliseconds).
    pub fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        self.storage.querier(mint, maxt)
    }

    /// Evaluates a PromQL expression at `time_ms`.
    pub fn query(&self, expr: &str, time_ms: i64) -> Result<QueryResult, QueryError> {
        self.engine.instant_query(
            self.storage.as_ref(),
            expr,
            time_ms,
            &QueryOptions::default(),
        )
    }

    /// Evaluates a PromQL expression at every `step_ms` from `start_ms` to
    /// `end_ms`; the result is a [`Value::Matrix`].
    pub fn query_range(
        &self,
        expr: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult, QueryError> {
        self.engine.range_query(
            self.storage.as_ref(),
            expr,
            start_ms,
            end_ms,
            step_ms,
            &QueryOptions::default(),
        )
    }

    /// The storage engine underneath (stats, maintenance).
    pub fn storage(&self) -> &Arc<promlite_tsdb::Db> {
        &self.storage
    }

    /// The PromQL engine.
    pub fn engine(&self) -> &promlite_promql::Engine {
        &self.engine
    }

    /// Flushes and closes the WAL. Appends after this fail.
    pub fn close(&self) -> Result<(), StorageError> {
        self.storage.close()
    }
}
