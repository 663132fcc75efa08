//! The storage traits: how data goes in and comes out.
//!
//! They follow Prometheus's `storage/interface.go`. The write side is an
//! [`Appendable`] that hands out [`Appender`]s: a batch of `append` calls
//! that becomes visible atomically on `commit`. The read side is a
//! [`Queryable`] that opens a [`Querier`] over a time range; `select` returns
//! the matching [`Series`], sorted by labels, and each series yields a
//! [`SampleIterator`].
//!
//! `promlite-tsdb` implements these traits on disk, [`crate::MemStorage`] in
//! memory. `promlite-promql`, `promlite-scrape` and `promlite-rules` only ever
//! see the traits.

use crate::{AppendError, Labels, Matcher, StorageError};

/// An opaque reference to a series inside one storage, returned by
/// [`Appender::append`] so that callers (the scraper's cache) can skip the
/// label lookup next time. Only meaningful to the storage that issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesRef(pub u64);

/// Something that accepts samples.
pub trait Appendable: Send + Sync {
    /// A new batch. Appenders are cheap; use one per scrape or rule evaluation.
    fn appender(&self) -> Box<dyn Appender>;
}

/// A batch of samples that becomes visible atomically.
///
/// Not safe for concurrent use; must not be used after `commit` or `rollback`.
pub trait Appender: Send {
    /// Stages one sample. `series` is a hint from an earlier `append` of the
    /// same labels (implementations may ignore it or verify it). A sample that
    /// is out of order, a conflicting duplicate, or out of bounds is rejected
    /// here with its typed error; the rest of the batch is unaffected.
    fn append(
        &mut self,
        series: Option<SeriesRef>,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError>;

    /// A hint that a sample for `series` (a reference an earlier `append`
    /// returned) comes soon: the implementation may start loading that
    /// series into the CPU cache. It never changes a result; the default
    /// does nothing. Callers that know their next series (a scrape
    /// repeating the last body's order) call it a few samples ahead.
    fn prefetch(&self, series: SeriesRef) {
        let _ = series;
    }

    /// Makes the staged samples durable (as the implementation's durability
    /// policy defines it) and visible. Returns only after that, or with an
    /// error, in which case nothing of the batch is visible.
    fn commit(&mut self) -> Result<(), StorageError>;

    /// Discards the staged samples.
    fn rollback(&mut self);
}

/// Something that can be queried over time ranges.
pub trait Queryable: Send + Sync {
    /// A querier over `[mint, maxt]` (milliseconds, both inclusive).
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier + '_>, StorageError>;
}

/// Optional hints a query gives to `select`: the time range it really needs
/// and the step, so storage may skip data.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SelectHints {
    /// Start of the needed range in ms (0 with `end == 0` means "the querier's range").
    pub start: i64,
    /// End of the needed range in ms.
    pub end: i64,
    /// Query step in ms (0 for instant queries).
    pub step: i64,
    /// Only the label sets are needed, not the samples (the series API).
    pub labels_only: bool,
    /// Upper bound on the number of series wanted (0 = no limit).
    pub limit: usize,
}

/// Read access to a fixed time range. The series it returns may borrow from it.
pub trait Querier: Send + Sync {
    /// The series matching all `matchers`, sorted by labels, with samples
    /// restricted to the querier's range. At least one matcher must not match
    /// the empty string; otherwise an error is returned (as in Prometheus).
    fn select(
        &self,
        hints: &SelectHints,
        matchers: &[Matcher],
    ) -> Result<Vec<Box<dyn Series + '_>>, StorageError>;

    /// Sorted, unique values of label `name` among series matching
    /// `matchers` (all series when empty) that have data in range.
    fn label_values(&self, name: &str, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;

    /// Sorted, unique label names among series matching `matchers` (all series
    /// when empty).
    fn label_names(&self, matchers: &[Matcher]) -> Result<Vec<String>, StorageError>;
}

/// One series: labels and a way to read its samples.
pub trait Series: Send + Sync {
    /// The series' labels.
    fn labels(&self) -> &Labels;

    /// The value of label `name`, if the series has it: the same as
    /// `self.labels().get(name)`. Storages that build label sets lazily
    /// override it to read the one label without building the set
    /// (`count by (__name__) (…)` needs one label per series).
    fn label_value(&self, name: &str) -> Option<&str> {
        self.labels().get(name)
    }

    /// A fresh iterator over its samples in the querier's range, in time order.
    fn iter(&self) -> Box<dyn SampleIterator + '_>;

    /// Appends all its samples in the querier's range, in time order, to
    /// `out` (the same samples [`Series::iter`] yields). Storages override
    /// this to decode whole chunks at once instead of sample by sample.
    fn append_samples(&self, out: &mut Vec<(i64, f64)>) -> Result<(), StorageError> {
        let mut it = self.iter();
        while it.next() == ValueType::Float {
            out.push(it.at());
        }
        match it.err() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// [`Series::append_samples`], except that of a run of consecutive
    /// samples in which no value is NaN and none is below its predecessor
    /// only the first and the last may be appended (the run's other
    /// samples are left out, and not decoded); returns how many samples
    /// were left out in all. What `out` gets is the series' samples minus
    /// some samples that each lie between two kept ones of the same run,
    /// so the first and last samples, the sample count (with the return
    /// value) and every point where a value falls below its predecessor
    /// are the same as in the full list: all that `rate` and `increase`
    /// of a window holding all of the samples need. The default leaves
    /// nothing out; block storage uses the chunks flagged monotone.
    fn append_samples_thin(&self, out: &mut Vec<(i64, f64)>) -> Result<usize, StorageError> {
        self.append_samples(out).map(|()| 0)
    }

    /// [`Series::append_samples`], except that a run of consecutive
    /// samples whose values are neither NaN nor `-0` may be appended as
    /// its first and last samples (one for a run of one), both holding
    /// the run's greatest value (`max`) or its least; returns how many
    /// samples were left out in all. The first and last timestamps, every
    /// NaN (staleness markers included) and `-0`, and the greatest (least)
    /// value with its bits are the same as in the full list: all that
    /// `max_over_time` (`min_over_time`) of a window holding all of the
    /// samples needs. The default leaves nothing out; block storage folds
    /// the chunks whose value columns can hold neither.
    fn append_samples_extreme(
        &self,
        out: &mut Vec<(i64, f64)>,
        max: bool,
    ) -> Result<usize, StorageError> {
        let _ = max;
        self.append_samples(out).map(|()| 0)
    }

    /// Appends its newest `n` samples in the querier's range (all of them
    /// when it has fewer), in time order, staleness markers included: the
    /// last `n` of those [`Series::append_samples`] appends. `irate` and
    /// `idelta` at a single time need the newest two. The default reads
    /// them all and drops the older ones; storages override it to decode
    /// only the newest.
    fn append_newest(&self, out: &mut Vec<(i64, f64)>, n: usize) -> Result<(), StorageError> {
        let base = out.len();
        self.append_samples(out)?;
        let got = out.len() - base;
        if got > n {
            out.drain(base..base + (got - n));
        }
        Ok(())
    }

    /// The newest of its samples in the querier's range (the last one
    /// [`Series::iter`] yields), or `None` if it has none there. An instant
    /// selector needs only this sample. The default walks [`Series::iter`]
    /// to the end, keeping only the current sample (no buffer); storages
    /// override it to find the newest sample without decoding the older
    /// ones.
    fn last_sample(&self) -> Result<Option<(i64, f64)>, StorageError> {
        let mut it = self.iter();
        let mut last = None;
        while it.next() == ValueType::Float {
            last = Some(it.at());
        }
        match it.err() {
            Some(e) => Err(e),
            None => Ok(last),
        }
    }
}

/// What kind of value the iterator is positioned on. Native histograms will
/// add a variant here; float-only code matches `Float` and treats the rest
/// as absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// Exhausted (or failed: check [`SampleIterator::err`]).
    None,
    /// A float sample; read it with [`SampleIterator::at`].
    Float,
}

/// A cursor over one series' samples, in increasing time order.
pub trait SampleIterator {
    /// Advances to the next sample.
    fn next(&mut self) -> ValueType;

    /// Advances to the first sample with timestamp `>= t`. Never moves
    /// backwards: if already there, stays.
    fn seek(&mut self, t: i64) -> ValueType;

    /// The current sample. Only valid after `next`/`seek` returned `Float`.
    fn at(&self) -> (i64, f64);

    /// The error that ended iteration early, if any.
    fn err(&self) -> Option<StorageError> {
        None
    }
}

/// A [`SampleIterator`] over a slice of `(t, v)` pairs.
pub struct VecSampleIterator<'a> {
    samples: &'a [(i64, f64)],
    pos: usize,
    started: bool,
}

impl<'a> VecSampleIterator<'a> {
    /// An iterator over `samples`, which must be sorted by time.
    pub fn new(samples: &'a [(i64, f64)]) -> Self {
        VecSampleIterator {
            samples,
            pos: 0,
            started: false,
        }
    }
}

impl SampleIterator for VecSampleIterator<'_> {
    fn next(&mut self) -> ValueType {
        if self.started {
            self.pos += 1;
        } else {
            self.started = true;
        }
        if self.pos < self.samples.len() {
            ValueType::Float
        } else {
            self.pos = self.samples.len();
            ValueType::None
        }
    }

    fn seek(&mut self, t: i64) -> ValueType {
        if !self.started {
            self.started = true;
        }
        if self.pos >= self.samples.len() {
            return ValueType::None;
        }
        if self.samples[self.pos].0 >= t {
            return ValueType::Float;
        }
        let rest = &self.samples[self.pos..];
        self.pos += rest.partition_point(|s| s.0 < t);
        if self.pos < self.samples.len() {
            ValueType::Float
        } else {
            ValueType::None
        }
    }

    fn at(&self) -> (i64, f64) {
        self.samples[self.pos.min(self.samples.len().saturating_sub(1))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{labels, MemStorage, Queryable};

    #[test]
    fn default_last_sample_is_the_newest_in_range() {
        let storage = MemStorage::new();
        let stale = f64::from_bits(crate::STALE_NAN_BITS);
        storage.insert(
            labels!("__name__" => "m"),
            &[(10, 1.0), (20, 2.0), (30, stale)],
        );
        let newest = |mint, maxt| {
            let q = storage.querier(mint, maxt).unwrap();
            let series = q
                .select(&SelectHints::default(), &[Matcher::equal("__name__", "m")])
                .unwrap();
            series.first().map(|s| s.last_sample().unwrap())
        };
        assert_eq!(newest(0, 25), Some(Some((20, 2.0))));
        assert_eq!(newest(20, 20), Some(Some((20, 2.0))));
        assert_eq!(newest(0, 10), Some(Some((10, 1.0))));
        // A staleness marker is a sample like any other here.
        let last = newest(0, 100).flatten().unwrap();
        assert_eq!((last.0, last.1.to_bits()), (30, crate::STALE_NAN_BITS));
        assert_eq!(newest(31, 100), None, "no series without samples in range");
    }

    #[test]
    fn vec_iterator_next_and_seek() {
        let s = [(1, 1.0), (5, 2.0), (9, 3.0)];
        let mut it = VecSampleIterator::new(&s);
        assert_eq!(it.seek(4), ValueType::Float);
        assert_eq!(it.at(), (5, 2.0));
        assert_eq!(it.seek(2), ValueType::Float);
        assert_eq!(it.at(), (5, 2.0));
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at(), (9, 3.0));
        assert_eq!(it.next(), ValueType::None);
        assert_eq!(it.seek(0), ValueType::None);
        let mut it = VecSampleIterator::new(&s);
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at(), (1, 1.0));
    }
}
