//! The `promlite` command: `serve`, `demo`, `import`, `check`.

mod cli;
mod server;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    huge_page_heap();
    one_malloc_arena();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("promlite: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Asks glibc for a single malloc arena unless `MALLOC_ARENA_MAX` is set.
/// The scrape tasks run on every runtime worker, and per-thread arenas each
/// keep their own free memory: one arena measured 1,228 instead of 1,309 B
/// of peak RSS per scraped series (−6%) at the same CPU per sample
/// (`docs/scrape.md`, "Cost"). Called before any thread starts.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator parameters; no thread
        // allocates concurrently this early in `main`.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

/// glibc's tunable that makes malloc back its heap with transparent huge
/// pages (`madvise(MADV_HUGEPAGE)` on every extension of the heap, grown in
/// 2 MiB steps).
const HUGETLB_TUNABLE: &str = "glibc.malloc.hugetlb";

/// Set in the environment of the re-executed process, so that it never
/// executes itself again.
const REEXEC_GUARD: &str = "PROMLITE_HUGE_PAGE_HEAP";

/// Re-executes the process with `glibc.malloc.hugetlb=1` added to
/// `GLIBC_TUNABLES` when the kernel gives transparent huge pages only on
/// request (`madvise` mode), unless the tunable is already set (an
/// operator's `glibc.malloc.hugetlb=0` opts out) or the process runs under
/// valgrind (whose `execve` would leave the new image running without it).
///
/// A scrape touches every series' struct and open chunk once per scrape
/// interval, each on a different 4 KiB page: the per-sample cost is mostly
/// cache and TLB misses on memory last touched an interval ago. With the
/// heap on 2 MiB pages the TLB misses go; measured in
/// `docs/scrape-performance-2.md` ("Session 13"). glibc reads its tunables
/// only before `main`, hence the `exec`. Nothing has been allocated or
/// started yet; if the `exec` fails, the process carries on as it is.
fn huge_page_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        // Under valgrind the new image would run without it.
        let preload = std::env::var("LD_PRELOAD").unwrap_or_default();
        if std::env::var_os(REEXEC_GUARD).is_some() || preload.contains("vgpreload") {
            return;
        }
        let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .unwrap_or_default();
        let current = std::env::var("GLIBC_TUNABLES").ok();
        let Some(tunables) = tunables_with_huge_pages(current.as_deref(), &thp) else {
            return;
        };
        let mut args = std::env::args_os();
        let argv0 = args.next().unwrap_or_else(|| "promlite".into());
        let err = std::process::Command::new("/proc/self/exe")
            .arg0(argv0)
            .args(args)
            .env("GLIBC_TUNABLES", tunables)
            .env(REEXEC_GUARD, "1")
            .exec();
        eprintln!("promlite: could not re-execute with huge pages for the heap: {err}");
    }
}

/// The `GLIBC_TUNABLES` value that adds `glibc.malloc.hugetlb=1` to
/// `current`, given the kernel's transparent-huge-page mode (the contents
/// of `/sys/kernel/mm/transparent_hugepage/enabled`, the active mode in
/// brackets). `None` when nothing is to change: the mode is not `madvise`
/// (`always` gives the heap huge pages anyway, `never` none), or the
/// tunable is set already, to whatever value.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
fn tunables_with_huge_pages(current: Option<&str>, thp_enabled: &str) -> Option<String> {
    if !thp_enabled.contains("[madvise]") {
        return None;
    }
    let current = current.unwrap_or("");
    let set = current
        .split(':')
        .any(|t| t.split('=').next() == Some(HUGETLB_TUNABLE));
    if set {
        return None;
    }
    Some(if current.is_empty() {
        format!("{HUGETLB_TUNABLE}=1")
    } else {
        format!("{current}:{HUGETLB_TUNABLE}=1")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MADVISE: &str = "always [madvise] never\n";

    #[test]
    fn huge_pages_are_asked_for_only_in_madvise_mode() {
        assert_eq!(
            tunables_with_huge_pages(None, MADVISE).as_deref(),
            Some("glibc.malloc.hugetlb=1")
        );
        assert_eq!(
            tunables_with_huge_pages(None, "[always] madvise never\n"),
            None
        );
        assert_eq!(
            tunables_with_huge_pages(None, "always madvise [never]\n"),
            None
        );
        // No sysfs file (not Linux's, or not mounted): nothing.
        assert_eq!(tunables_with_huge_pages(None, ""), None);
    }

    #[test]
    fn other_tunables_are_kept_and_an_operator_setting_wins() {
        assert_eq!(
            tunables_with_huge_pages(Some("glibc.malloc.arena_max=2"), MADVISE).as_deref(),
            Some("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1")
        );
        assert_eq!(
            tunables_with_huge_pages(Some(""), MADVISE).as_deref(),
            Some("glibc.malloc.hugetlb=1")
        );
        for set in [
            "glibc.malloc.hugetlb=0",
            "glibc.malloc.hugetlb=1",
            "glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=0",
        ] {
            assert_eq!(tunables_with_huge_pages(Some(set), MADVISE), None, "{set}");
        }
        // A longer name that merely starts with it is another tunable.
        assert_eq!(
            tunables_with_huge_pages(Some("glibc.malloc.hugetlbx=0"), MADVISE).as_deref(),
            Some("glibc.malloc.hugetlbx=0:glibc.malloc.hugetlb=1")
        );
    }
}
