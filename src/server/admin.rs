//! `/api/v1/admin/tsdb/*` (enabled by `--web.enable-admin-api`) on the
//! storage engine: delete series, clean tombstones, snapshot.

use std::sync::Arc;

use promlite_http::providers::AdminProvider;
use promlite_model::Matcher;

/// The admin operations of a [`promlite_tsdb::Db`].
pub struct TsdbAdmin(pub Arc<promlite_tsdb::Db>);

impl AdminProvider for TsdbAdmin {
    fn delete_series(
        &self,
        matcher_sets: &[Vec<Matcher>],
        start_ms: i64,
        end_ms: i64,
    ) -> Result<(), String> {
        self.0
            .delete_series(matcher_sets, start_ms, end_ms)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn clean_tombstones(&self) -> Result<(), String> {
        self.0
            .clean_tombstones()
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn snapshot(&self, skip_head: bool) -> Result<String, String> {
        self.0.snapshot(!skip_head).map_err(|e| e.to_string())
    }
}
