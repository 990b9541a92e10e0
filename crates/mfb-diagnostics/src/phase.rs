//! Phase timings for performance work: with `MFB_PHASE_TIMES=1` in the environment, each
//! [`mark`] prints the time since the process's first mark and since the previous one, the
//! CPU time used since the previous one (all threads) and resident memory to standard error. Without it a mark costs one relaxed atomic load.

use std::io::Write;
use std::sync::Mutex;
use std::sync::OnceLock;
use std::time::Instant;

static ENABLED: OnceLock<bool> = OnceLock::new();
static LAST: Mutex<Option<(Instant, Instant, u64)>> = Mutex::new(None);

fn enabled() -> bool {
    *ENABLED.get_or_init(|| std::env::var_os("MFB_PHASE_TIMES").is_some())
}

/// [`mark`] with a name built only when phase times are on.
pub fn mark_with(name: impl FnOnce() -> String) {
    if enabled() {
        mark(&name());
    }
}

/// Records the end of phase `name` (printed only when `MFB_PHASE_TIMES` is set).
pub fn mark(name: &str) {
    if !enabled() {
        return;
    }
    let now = Instant::now();
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let cpu = cpu_ticks();
    let (start, prev, prev_cpu) = last.get_or_insert((now, now, cpu));
    // Resident memory, from /proc (Linux); 0 where it cannot be read.
    let rss_mb = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096 / (1 << 20));
    let _ = writeln!(
        std::io::stderr().lock(),
        "phase {:>8.3}s {:>8.3}s cpu {:>6.2}s {rss_mb:>6} MB  {name}",
        now.duration_since(*start).as_secs_f64(),
        now.duration_since(*prev).as_secs_f64(),
        cpu.saturating_sub(*prev_cpu) as f64 / 100.0
    );
    *prev = now;
    *prev_cpu = cpu;
}

/// The process's user plus system CPU time in clock ticks (1/100 s on Linux), from
/// `/proc/self/stat`; 0 where it cannot be read.
fn cpu_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0;
    };
    let mut fields = rest.split_whitespace().skip(11);
    let user = fields
        .next()
        .and_then(|f| f.parse::<u64>().ok())
        .unwrap_or(0);
    let system = fields
        .next()
        .and_then(|f| f.parse::<u64>().ok())
        .unwrap_or(0);
    user + system
}
