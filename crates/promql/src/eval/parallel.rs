//! Reading and per-series work on several cores.
//!
//! A selector's series are independent until they meet in an aggregation
//! or a result set, so decoding a series and evaluating a function over all
//! steps of it (a `rate`, an instant selector's lookback) can run on worker
//! threads. The series are split into contiguous runs, one per thread; the
//! results are then consumed on the calling thread in series order, so the
//! answer (including float summation order downstream) does not depend on
//! the number of threads.
//!
//! The extra threads come from a pool kept for the life of the process
//! (starting a thread per run cost tens of microseconds each, a large part
//! of a small query); the calling thread works through the first run itself.
//!
//! Waking a worker and waiting for it still costs wake-ups and scheduler
//! round trips (about 0.15 ms of CPU per query on the benchmark machine,
//! as much as a quarter of a small instant query), so the calling thread
//! first works through the series alone; only when that has taken
//! [`SPLIT_AFTER`] and the series left look like at least
//! [`MIN_SPLIT_WORK`] more are they split across threads.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use promlite_model::{is_stale_nan, Labels, SelectHints, Series};

use super::{Evaluator, StopSignal};
use crate::ast::VectorSelector;
use crate::error::QueryError;

/// Below this many series per extra thread, one thread does all the work
/// (a thread costs tens of microseconds to start).
const SERIES_PER_THREAD: usize = 32;

/// Most threads a query uses.
const MAX_THREADS: usize = 4;

/// How long the calling thread works alone before it considers help.
/// (Unit tests split after the first series, so that they cover the
/// parallel path.)
#[cfg(not(test))]
const SPLIT_AFTER: Duration = Duration::from_micros(300);
#[cfg(test)]
const SPLIT_AFTER: Duration = Duration::ZERO;

/// Least estimated work left (at the rate so far) worth waking workers for.
#[cfg(not(test))]
const MIN_SPLIT_WORK: Duration = Duration::from_micros(200);
#[cfg(test)]
const MIN_SPLIT_WORK: Duration = Duration::ZERO;

/// The cores this process may use.
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|c| c.get())
            .unwrap_or(1)
    })
}

/// The worker threads shared by all queries (one fewer than the threads a
/// selection uses at most: the calling thread is the other one; fewer idle
/// workers also means fewer woken per run); `None` if they could not be
/// started, and every selection then runs on the calling thread.
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads((cores().min(MAX_THREADS) - 1).max(1))
            .thread_name(|i| format!("promql-worker-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// The threads to use for `n` series.
fn threads_for(n: usize) -> usize {
    cores().min(MAX_THREADS).min(n / SERIES_PER_THREAD).max(1)
}

/// The labels of a series handed to a sink. A selected series' labels are
/// asked for only when the sink needs them: block storage builds them on
/// first use, and an aggregation that drops every label (`avg(x)`) never
/// needs them.
#[derive(Clone, Copy)]
pub(crate) enum Metric<'a> {
    /// Labels already at hand.
    Labels(&'a Labels),
    /// A selected series.
    Series(&'a (dyn Series + 'a)),
}

impl<'a> Metric<'a> {
    /// The labels (built now if the storage builds them lazily).
    pub(crate) fn labels(self) -> &'a Labels {
        match self {
            Metric::Labels(l) => l,
            Metric::Series(s) => s.labels(),
        }
    }
}

/// What [`run_part`] gives for a run of series.
type PartResult<T> = Result<Vec<Option<T>>, QueryError>;

/// Which samples of a selected series (those with `mint < t <= maxt`) are
/// handed to the per-series function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Read {
    /// All of them; staleness markers only with `keep_stale`.
    All {
        /// Keep staleness markers.
        keep_stale: bool,
    },
    /// Only the newest, staleness marker or not: all an instant selector
    /// at a single time needs. Storage finds it without decoding the
    /// older samples ([`Series::last_sample`]).
    Newest,
    /// Only the newest that is not a staleness marker: all
    /// `last_over_time` of a window holding every sample read needs.
    /// Storage finds the newest sample without decoding the older ones;
    /// only when that is a staleness marker are the others read.
    NewestLive,
    /// Only the newest two that are not staleness markers: all `irate`
    /// and `idelta` of a window holding every sample read need. Storage
    /// decodes only the newest two ([`Series::append_newest`]); only when
    /// one of them is a staleness marker are the others read.
    NewestTwoLive,
    /// All of them but staleness markers, where storage may leave out the
    /// middle of runs that never fall ([`Series::append_samples_thin`]):
    /// enough for `rate` and `increase` of a window that holds them all.
    /// The per-series function gets the number left out.
    Thin,
    /// All of them but staleness markers, where storage may replace a run
    /// without NaN and `-0` by its first and last samples, both holding
    /// the run's greatest value (`max`) or its least
    /// ([`Series::append_samples_extreme`]): enough for `max_over_time`
    /// (`min_over_time`) of a window that holds them all. The per-series
    /// function gets the number left out.
    Extreme {
        /// The greatest value (else the least).
        max: bool,
    },
}

/// Reads each series of `part` (see [`Read`]) into one reused buffer and
/// maps it; `None` for series without such samples.
fn run_part<T>(
    part: &[Box<dyn Series + '_>],
    mint: i64,
    maxt: i64,
    read: Read,
    stop: &StopSignal,
    map: &(impl Fn(&[(i64, f64)], usize) -> Option<T> + Sync),
) -> PartResult<T> {
    let mut out = Vec::with_capacity(part.len());
    run_until(part, mint, maxt, read, stop, map, None, &mut out)?;
    Ok(out)
}

/// Replaces `buf` with the samples of `s` that `read` asks for; returns
/// how many samples storage left out ([`Read::Thin`] and [`Read::Extreme`]
/// only).
pub(super) fn read_series(
    s: &dyn Series,
    mint: i64,
    maxt: i64,
    read: Read,
    buf: &mut Vec<(i64, f64)>,
) -> Result<usize, QueryError> {
    buf.clear();
    let mut hidden = 0;
    match read {
        Read::Newest => {
            if let Some(x) = s.last_sample()? {
                if x.0 > mint && x.0 <= maxt {
                    buf.push(x);
                }
            }
        }
        Read::NewestLive => match s.last_sample()? {
            Some(x) if x.0 <= mint || x.0 > maxt => {}
            Some(x) if !is_stale_nan(x.1) => buf.push(x),
            Some(_) => {
                // A staleness marker: the newest live sample, if any, is
                // older.
                s.append_samples(buf)?;
                let last = buf
                    .iter()
                    .rev()
                    .find(|x| x.0 > mint && x.0 <= maxt && !is_stale_nan(x.1))
                    .copied();
                buf.clear();
                buf.extend(last);
            }
            None => {}
        },
        Read::NewestTwoLive => {
            s.append_newest(buf, 2)?;
            let live = |x: &(i64, f64)| x.0 > mint && x.0 <= maxt && !is_stale_nan(x.1);
            if !buf.iter().all(live) {
                // A staleness marker among them: the newest two live
                // samples, if any, from all of them.
                buf.clear();
                s.append_samples(buf)?;
                buf.retain(live);
                let extra = buf.len().saturating_sub(2);
                buf.drain(..extra);
            }
        }
        Read::All { .. } | Read::Thin | Read::Extreme { .. } => {
            let keep_stale = matches!(read, Read::All { keep_stale: true });
            match read {
                Read::Thin => hidden = s.append_samples_thin(buf)?,
                Read::Extreme { max } => hidden = s.append_samples_extreme(buf, max)?,
                _ => s.append_samples(buf)?,
            }
            let in_bounds =
                buf.first().is_none_or(|x| x.0 > mint) && buf.last().is_none_or(|x| x.0 <= maxt);
            // Not stopping at the first marker keeps the scan vectorised.
            let has_stale = !keep_stale && buf.iter().fold(false, |any, x| any | is_stale_nan(x.1));
            if !in_bounds || has_stale {
                buf.retain(|x| x.0 > mint && x.0 <= maxt && (keep_stale || !is_stale_nan(x.1)));
            }
        }
    }
    Ok(hidden)
}

/// [`run_part`] into `out`, stopping before the next series once `until`
/// has passed (after one series at least); returns how many series were
/// done.
#[allow(clippy::too_many_arguments)]
fn run_until<T>(
    part: &[Box<dyn Series + '_>],
    mint: i64,
    maxt: i64,
    read: Read,
    stop: &StopSignal,
    map: &(impl Fn(&[(i64, f64)], usize) -> Option<T> + Sync),
    until: Option<Instant>,
    out: &mut Vec<Option<T>>,
) -> Result<usize, QueryError> {
    let mut stop = stop.clone();
    let mut buf: Vec<(i64, f64)> = Vec::new();
    for (done, s) in part.iter().enumerate() {
        // The clock is read for each of the first eight series, then for
        // every eighth: a read costs as much as a cheap series' work, and
        // series slow enough for a late split to matter pass the time
        // limit within the first eight.
        let look = done > 0 && (done < 8 || done % 8 == 0);
        if look && until.is_some_and(|u| Instant::now() >= u) {
            return Ok(done);
        }
        stop.check()?;
        let hidden = read_series(s.as_ref(), mint, maxt, read, &mut buf)?;
        out.push(if buf.is_empty() {
            None
        } else {
            map(&buf, hidden)
        });
    }
    Ok(part.len())
}

/// Whether `left` more series are worth splitting across threads after
/// `done` series took `elapsed`.
fn worth_splitting(done: usize, left: usize, elapsed: Duration) -> bool {
    if done == 0 || threads_for(left) < 2 {
        return false;
    }
    let per = elapsed / u32::try_from(done).unwrap_or(u32::MAX);
    per.saturating_mul(u32::try_from(left).unwrap_or(u32::MAX)) >= MIN_SPLIT_WORK
}

impl Evaluator<'_> {
    /// Reads every series matching `vs` with samples in `mint < t <= maxt`
    /// (staleness markers only with `keep_stale`), turns each series'
    /// samples into a `T` with `map` — on several threads when there are
    /// many series — and hands the results to `sink` on this thread, in
    /// series order. `map` returning `None` skips the series.
    pub(crate) fn map_selected<T: Send>(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        keep_stale: bool,
        map: impl Fn(&[(i64, f64)]) -> Option<T> + Sync,
        sink: impl FnMut(&mut Self, Metric<'_>, T) -> Result<(), QueryError>,
    ) -> Result<(), QueryError> {
        self.map_selected_read(vs, mint, maxt, Read::All { keep_stale }, map, sink)
    }

    /// [`Evaluator::map_selected`] with the samples of each series chosen
    /// by `read`.
    pub(crate) fn map_selected_read<T: Send>(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        read: Read,
        map: impl Fn(&[(i64, f64)]) -> Option<T> + Sync,
        sink: impl FnMut(&mut Self, Metric<'_>, T) -> Result<(), QueryError>,
    ) -> Result<(), QueryError> {
        self.map_selected_counted(vs, mint, maxt, read, |s, _| map(s), sink)
    }

    /// [`Evaluator::map_selected_read`] with `map` also given the number of
    /// samples storage left out of the series ([`Read::Thin`],
    /// [`Read::Extreme`]; 0 otherwise).
    pub(crate) fn map_selected_counted<T: Send>(
        &mut self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
        read: Read,
        map: impl Fn(&[(i64, f64)], usize) -> Option<T> + Sync,
        mut sink: impl FnMut(&mut Self, Metric<'_>, T) -> Result<(), QueryError>,
    ) -> Result<(), QueryError> {
        if maxt <= mint {
            return Ok(());
        }
        let storage = self.storage;
        let querier = storage.querier(mint.saturating_add(1), maxt)?;
        let hints = SelectHints {
            start: mint.saturating_add(1),
            end: maxt,
            ..Default::default()
        };
        let sets = querier.select(&hints, &vs.matchers)?;
        let stop = self.stop_signal().clock_every(16);
        // The calling thread starts alone (see the module docs).
        let pool = if threads_for(sets.len()) > 1 {
            pool()
        } else {
            None
        };
        let started = Instant::now();
        let until = pool.map(|_| started + SPLIT_AFTER);
        let mut results = Vec::with_capacity(sets.len());
        let done = run_until(&sets, mint, maxt, read, &stop, &map, until, &mut results)?;
        let rest = sets.get(done..).unwrap_or(&[]);
        match pool {
            Some(pool) if worth_splitting(done, rest.len(), started.elapsed()) => {
                let threads = threads_for(rest.len());
                let per = rest.len().div_ceil(threads);
                let (first, rest) = rest.split_at(per.min(rest.len()));
                let parts: Vec<_> = rest.chunks(per).collect();
                let mut outs: Vec<Option<PartResult<T>>> = parts.iter().map(|_| None).collect();
                let mut all = Ok(Vec::new());
                pool.in_place_scope(|scope| {
                    for (part, out) in parts.iter().zip(outs.iter_mut()) {
                        let (stop, map) = (&stop, &map);
                        scope.spawn(move |_| {
                            let run = || run_part(part, mint, maxt, read, stop, map);
                            *out = Some(
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                                    .unwrap_or_else(|_| {
                                        Err(QueryError::Execution(
                                            "query worker thread panicked".into(),
                                        ))
                                    }),
                            );
                        });
                    }
                    all = run_part(first, mint, maxt, read, &stop, &map);
                });
                results.extend(all?);
                for part in outs {
                    let part = part.unwrap_or_else(|| {
                        Err(QueryError::Execution("query worker did not run".into()))
                    });
                    results.extend(part?);
                }
            }
            _ => {
                run_until(rest, mint, maxt, read, &stop, &map, None, &mut results)?;
            }
        }
        for (s, t) in sets.iter().zip(results) {
            self.check()?;
            if let Some(t) = t {
                sink(self, Metric::Series(s.as_ref()), t)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use promlite_model::{labels, MemStorage};

    use crate::engine::{Engine, QueryOptions};
    use crate::value::Value;

    /// Enough series that the work is split across threads (where the
    /// machine has several cores); every series must come out whole, with
    /// its own labels, in label order.
    #[test]
    fn many_series_come_out_whole_and_in_order() {
        let storage = MemStorage::new();
        let n = 300usize;
        for i in 0..n {
            let samples: Vec<(i64, f64)> = (0..100)
                .map(|k| (k * 15_000, (i as f64 + 1.0) * k as f64))
                .collect();
            let id = format!("{i:04}");
            storage.insert(labels!("__name__" => "c", "i" => id.as_str()), &samples);
        }
        let engine = Engine::default();
        let q = QueryOptions::default();
        let (start, end, step) = (300_000, 1_485_000, 60_000);
        let res = engine
            .range_query(&storage, "rate(c[1m])", start, end, step, &q)
            .unwrap();
        let Value::Matrix(m) = res.value else {
            panic!("matrix expected")
        };
        assert_eq!(m.len(), n);
        for (i, s) in m.iter().enumerate() {
            assert_eq!(s.metric.get("i"), Some(format!("{i:04}").as_str()));
            assert_eq!(s.floats.len(), 20);
            // A counter rising (i+1) every 15 s.
            for p in &s.floats {
                assert!((p.f - (i as f64 + 1.0) / 15.0).abs() < 1e-9, "{i} {p:?}");
            }
        }
        let res = engine
            .range_query(&storage, "c", start, end, step, &q)
            .unwrap();
        let Value::Matrix(m) = res.value else {
            panic!("matrix expected")
        };
        assert_eq!(m.len(), n);
        for (i, s) in m.iter().enumerate() {
            assert_eq!(s.metric.get("i"), Some(format!("{i:04}").as_str()));
            for p in &s.floats {
                // The last sample at or before the step.
                let k = (p.t / 15_000) as f64;
                assert_eq!(p.f, (i as f64 + 1.0) * k);
            }
        }
    }
}
