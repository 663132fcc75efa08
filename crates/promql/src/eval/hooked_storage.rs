//! A test storage: a [`MemStorage`] whose series report each read to
//! hooks, which may also change what a thin read returns. The engine tests
//! that check *how* series are read (newest sample only, thin reads,
//! labels asked for) wrap their data in it.

use promlite_model::{
    Labels, Matcher, MemStorage, Querier, Queryable, SampleIterator, SelectHints, Series,
    StorageError,
};

/// What a [`Hooked`] storage's series do on each kind of read, besides
/// reading the inner series (every hook does nothing by default).
pub(crate) trait ReadHooks: Send + Sync {
    /// `Series::labels` was called.
    fn on_labels(&self) {}
    /// `Series::append_samples` was called.
    fn on_bulk(&self) {}
    /// `Series::last_sample` was called.
    fn on_newest(&self) {}
    /// `Series::append_samples_thin`: by default the inner series' own.
    fn thin(&self, inner: &dyn Series, out: &mut Vec<(i64, f64)>) -> Result<usize, StorageError> {
        inner.append_samples_thin(out)
    }
    /// `Series::append_samples_extreme`: by default the inner series' own.
    fn extreme(
        &self,
        inner: &dyn Series,
        out: &mut Vec<(i64, f64)>,
        max: bool,
    ) -> Result<usize, StorageError> {
        inner.append_samples_extreme(out, max)
    }
}

/// A [`MemStorage`] (`inner`, filled by the test) read through `hooks`.
#[derive(Default)]
pub(crate) struct Hooked<H> {
    pub inner: MemStorage,
    pub hooks: H,
}

struct HookedQuerier<'a, H> {
    inner: Box<dyn Querier + 'a>,
    hooks: &'a H,
}

struct HookedSeries<'a, H> {
    inner: Box<dyn Series + 'a>,
    hooks: &'a H,
}

impl<H: ReadHooks> Queryable for Hooked<H> {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError> {
        Ok(Box::new(HookedQuerier {
            inner: self.inner.querier(mint, maxt)?,
            hooks: &self.hooks,
        }))
    }
}

impl<H: ReadHooks> Querier for HookedQuerier<'_, H> {
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn Series + '_>>, StorageError> {
        Ok(self
            .inner
            .select(hints, matchers)?
            .into_iter()
            .map(|inner| {
                Box::new(HookedSeries {
                    inner,
                    hooks: self.hooks,
                }) as Box<dyn Series + '_>
            })
            .collect())
    }

    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        self.inner.label_values(name, matchers)
    }

    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError> {
        self.inner.label_names(matchers)
    }
}

impl<H: ReadHooks> Series for HookedSeries<'_, H> {
    fn labels(&self) -> &Labels {
        self.hooks.on_labels();
        self.inner.labels()
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        self.inner.iter()
    }

    fn append_samples(&self, out: &mut Vec<(i64, f64)>) -> Result<(), StorageError> {
        self.hooks.on_bulk();
        self.inner.append_samples(out)
    }

    fn last_sample(&self) -> Result<Option<(i64, f64)>, StorageError> {
        self.hooks.on_newest();
        self.inner.last_sample()
    }

    fn append_samples_thin(&self, out: &mut Vec<(i64, f64)>) -> Result<usize, StorageError> {
        self.hooks.thin(self.inner.as_ref(), out)
    }

    fn append_samples_extreme(
        &self,
        out: &mut Vec<(i64, f64)>,
        max: bool,
    ) -> Result<usize, StorageError> {
        self.hooks.extreme(self.inner.as_ref(), out, max)
    }
}
