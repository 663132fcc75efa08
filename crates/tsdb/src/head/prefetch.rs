//! Cache prefetch hints for the append path.
//!
//! A scrape appends one sample to each of thousands of series whose data
//! was last touched a scrape interval ago, so nearly every series struct
//! and chunk tail is a cache miss. Taken one after another (each series
//! lock is a full fence), those misses dominate the per-sample cost; asking
//! for the lines of a series a few samples before it is reached overlaps
//! them. A prefetch never faults and never changes a result: a stale or
//! dangling address only wastes the hint.

/// Asks the CPU to load the `lines` cache lines starting at `p`.
#[inline(always)]
pub(crate) fn prefetch_lines(p: *const u8, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for i in 0..lines {
        let at = p.wrapping_add(i * 64);
        // SAFETY: PREFETCHT0 is a hint: it does not access memory
        // architecturally and cannot fault, whatever the address (SSE is
        // part of the x86_64 baseline).
        #[allow(unused_unsafe)]
        unsafe {
            core::arch::x86_64::_mm_prefetch(at as *const i8, core::arch::x86_64::_MM_HINT_T0);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, lines);
}
