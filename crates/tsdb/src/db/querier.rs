//! The Db's querier: blocks and head seen as one, consistently.

use std::collections::BTreeSet;
use std::sync::Arc;

use promlite_model::{Matcher, Querier, SelectHints, Series, StorageError};

use super::blocks::select_block;
use super::Shared;
use crate::head::{check_matchers, HeadQuerier};
use crate::querier::merge_series;

/// The Db's querier: blocks and head, snapshotted together per call.
pub(super) struct DbQuerier<'a> {
    pub(super) shared: &'a Shared,
    pub(super) mint: i64,
    pub(super) maxt: i64,
}

impl DbQuerier<'_> {
    fn blocks(&self) -> Vec<Arc<crate::block::Block>> {
        let mut v = self.shared.blocks.snapshot();
        v.retain(|b| b.meta().min_time <= self.maxt && b.meta().max_time > self.mint);
        v
    }
}

impl Querier for DbQuerier<'_> {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn Series + '_>>, StorageError> {
        check_matchers(matchers)?;
        let head = HeadQuerier::new(&self.shared.head, self.mint, self.maxt);
        let (blocks, head_series) = {
            let _cut = self.shared.cut_lock.read();
            (self.blocks(), head.select_series(hints, matchers)?)
        };
        let mut lists: Vec<Vec<Box<dyn Series + '_>>> = Vec::with_capacity(blocks.len() + 1);
        for b in &blocks {
            let ts_cache = self.shared.blocks.timestamp_cache(b);
            lists.push(select_block(
                b, ts_cache, self.mint, self.maxt, hints, matchers,
            )?);
        }
        // Last: the head wins on equal timestamps.
        lists.push(
            head_series
                .into_iter()
                .map(|s| Box::new(s) as Box<dyn Series>)
                .collect(),
        );
        Ok(merge_series(lists, hints.limit))
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let head = HeadQuerier::new(&self.shared.head, self.mint, self.maxt);
        let (blocks, mut set) = {
            let _cut = self.shared.cut_lock.read();
            (
                self.blocks(),
                head.label_values(name, matchers)?
                    .into_iter()
                    .collect::<BTreeSet<String>>(),
            )
        };
        for b in &blocks {
            set.extend(
                b.querier(self.mint, self.maxt)
                    .label_values(name, matchers)?,
            );
        }
        Ok(set.into_iter().collect())
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        let head = HeadQuerier::new(&self.shared.head, self.mint, self.maxt);
        let (blocks, mut set) = {
            let _cut = self.shared.cut_lock.read();
            (
                self.blocks(),
                head.label_names(matchers)?
                    .into_iter()
                    .collect::<BTreeSet<String>>(),
            )
        };
        for b in &blocks {
            set.extend(b.querier(self.mint, self.maxt).label_names(matchers)?);
        }
        Ok(set.into_iter().collect())
    }
}
