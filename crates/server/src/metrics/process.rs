//! Process figures read at scrape time: CPU seconds (`getrusage`), resident memory, threads and
//! open file descriptors (`/proc/self`, Linux only; elsewhere those lines are left out).
//!
//! They are written straight into the text rather than through the recorder because the
//! facade's counters are integers, and CPU time needs fractions of a second.

use std::fmt::Write;

/// Counter: user plus system CPU time of the server process.
pub const CPU_SECONDS: &str = "zebench_process_cpu_seconds_total";
/// Gauge: resident set size.
pub const RESIDENT_MEMORY: &str = "zebench_process_resident_memory_bytes";
/// Gauge: the largest resident set size so far.
pub const RESIDENT_MEMORY_PEAK: &str = "zebench_process_resident_memory_peak_bytes";
/// Gauge: operating-system threads.
pub const THREADS: &str = "zebench_process_threads";
/// Gauge: open file descriptors (connections, database files).
pub const OPEN_FDS: &str = "zebench_process_open_fds";
/// Gauge: the soft limit on open file descriptors.
pub const MAX_FDS: &str = "zebench_process_max_fds";

/// Appends the process metrics to `out`.
pub(super) fn render(out: &mut String) {
    use nix::sys::resource::{getrlimit, getrusage, Resource, UsageWho};
    if let Ok(usage) = getrusage(UsageWho::RUSAGE_SELF) {
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        let cpu = secs(usage.user_time()) + secs(usage.system_time());
        sample(out, CPU_SECONDS, "counter", "User and system CPU time", cpu);
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
        };
        if let Some(kb) = field("VmRSS:") {
            sample(
                out,
                RESIDENT_MEMORY,
                "gauge",
                "Resident memory",
                kb * 1024.0,
            );
        }
        if let Some(kb) = field("VmHWM:") {
            let help = "Largest resident memory so far";
            sample(out, RESIDENT_MEMORY_PEAK, "gauge", help, kb * 1024.0);
        }
        if let Some(n) = field("Threads:") {
            sample(out, THREADS, "gauge", "Operating-system threads", n);
        }
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        let n = dir.count() as f64;
        sample(out, OPEN_FDS, "gauge", "Open file descriptors", n);
    }
    if let Ok((soft, _)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let help = "Soft limit on open file descriptors";
        sample(out, MAX_FDS, "gauge", help, soft as f64);
    }
}

fn sample(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_cpu_and_memory_as_typed_samples() {
        let mut out = String::new();
        super::render(&mut out);
        assert!(out.contains("# TYPE zebench_process_cpu_seconds_total counter\n"));
        let cpu: f64 = out
            .lines()
            .find_map(|l| l.strip_prefix("zebench_process_cpu_seconds_total "))
            .expect("cpu sample")
            .parse()
            .unwrap();
        assert!(cpu > 0.0, "{out}");
        if cfg!(target_os = "linux") {
            let rss: f64 = out
                .lines()
                .find_map(|l| l.strip_prefix("zebench_process_resident_memory_bytes "))
                .expect("rss sample")
                .parse()
                .unwrap();
            assert!(rss > 1e6, "{out}");
            assert!(out.contains("zebench_process_open_fds "), "{out}");
        }
    }
}
