//! A process-wide, bounded cache of compiled patterns.
//!
//! Compiling a regex (parsing, building its automata) costs far more than
//! matching it against the few hundred label values of a query: for
//! `label_replace(node_load1, …, "(.*):.*")` over 98 series the compile was
//! a third of the query. Dashboards send the same patterns again and again,
//! so compiled patterns are kept, keyed by pattern text.
//!
//! Bounded in entries and in pattern bytes; when full, an arbitrary entry
//! makes room (no recency bookkeeping on the hit path). Patterns longer
//! than [`MAX_PATTERN`], and values the caller's `keep` rejects (compiled
//! regexes that may be large: see [`crate::matcher`]), are compiled each
//! time and not kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most pattern bytes kept in all.
const MAX_BYTES: usize = 1 << 20;
/// Longest pattern kept.
const MAX_PATTERN: usize = 16 << 10;

/// Compiled values of type `T` by pattern.
pub(crate) struct Cache<T> {
    inner: Mutex<Inner<T>>,
    /// Most entries kept.
    max_entries: usize,
}

struct Inner<T> {
    map: HashMap<String, Arc<T>>,
    bytes: usize,
}

impl<T> Cache<T> {
    /// An empty cache of at most `max_entries` entries.
    pub(crate) fn new(max_entries: usize) -> Self {
        Cache {
            max_entries,
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                bytes: 0,
            }),
        }
    }

    /// The value for `pattern`, compiled by `compile` if not kept yet, and
    /// then kept if `keep` accepts it. Errors are not kept.
    pub(crate) fn get_or_compile<E>(
        &self,
        pattern: &str,
        compile: impl FnOnce() -> Result<T, E>,
        keep: impl FnOnce(&T) -> bool,
    ) -> Result<Arc<T>, E> {
        if let Some(v) = self.lock().and_then(|g| g.map.get(pattern).cloned()) {
            return Ok(v);
        }
        // Compiled outside the lock: a slow compile does not hold up
        // other queries' lookups.
        let v = Arc::new(compile()?);
        if pattern.len() <= MAX_PATTERN && keep(&v) {
            if let Some(mut g) = self.lock() {
                while !g.map.is_empty()
                    && (g.map.len() >= self.max_entries || g.bytes + pattern.len() > MAX_BYTES)
                {
                    let Some(k) = g.map.keys().next().cloned() else {
                        break;
                    };
                    g.map.remove(&k);
                    g.bytes -= k.len();
                }
                if g.map.insert(pattern.to_string(), v.clone()).is_none() {
                    g.bytes += pattern.len();
                }
            }
        }
        Ok(v)
    }

    /// The guard; `None` if a thread panicked while holding it (the cache
    /// is then bypassed rather than trusted).
    fn lock(&self) -> Option<std::sync::MutexGuard<'_, Inner<T>>> {
        self.inner.lock().ok()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().map_or(0, |g| g.map.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_compiled_values_and_stays_bounded() {
        const MAX_ENTRIES: usize = 100;
        let c: Cache<String> = Cache::new(MAX_ENTRIES);
        let all = |_: &String| true;
        let mut compiles = 0;
        for _ in 0..3 {
            let v = c
                .get_or_compile::<()>(
                    "a.*",
                    || {
                        compiles += 1;
                        Ok("x".to_string())
                    },
                    all,
                )
                .unwrap();
            assert_eq!(*v, "x");
        }
        assert_eq!(compiles, 1);
        assert!(c.get_or_compile("bad", || Err("no"), all).is_err());
        assert_eq!(c.len(), 1);
        // Values `keep` rejects are returned, not kept.
        let v = c.get_or_compile::<()>("big{1000}", || Ok("big".into()), |_| false);
        assert_eq!(*v.unwrap(), "big");
        assert_eq!(c.len(), 1);
        for i in 0..MAX_ENTRIES + 10 {
            c.get_or_compile::<()>(&format!("p{i}"), || Ok(String::new()), all)
                .unwrap();
        }
        assert_eq!(c.len(), MAX_ENTRIES);
        // A pattern too long to keep is still compiled and returned.
        let long = "x".repeat(MAX_PATTERN + 1);
        let v = c
            .get_or_compile::<()>(&long, || Ok("long".into()), all)
            .unwrap();
        assert_eq!(*v, "long");
        assert!(c.lock().is_some_and(|g| !g.map.contains_key(&long)));
        // Byte bound: big patterns evict others.
        let big = "y".repeat(MAX_PATTERN - 8);
        for i in 0..(MAX_BYTES / MAX_PATTERN) + 5 {
            c.get_or_compile::<()>(&format!("{big}{i}"), || Ok(String::new()), all)
                .unwrap();
        }
        assert!(c.lock().is_some_and(|g| g.bytes <= MAX_BYTES));
    }
}
