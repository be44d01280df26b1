//! CPU time of a process, read from `/proc/<pid>/stat`.
//!
//! `utime` and `stime` there cover every thread of the process and count in
//! clock ticks of `USER_HZ`, which Linux fixes at 100 on every architecture
//! it exports to user space with this ABI, so the resolution is 10 ms: enough
//! for windows of a second or more.
//!
//! Alongside, `/proc/<pid>/task/*/schedstat` gives the time the threads were
//! runnable but waiting for a CPU (in ns): a noisy neighbour on a pinned core
//! shows up there, so a run can say when its numbers are not to be trusted.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// Clock ticks per second of `utime`/`stime` (`USER_HZ`).
const TICKS_PER_SEC: u64 = 100;

/// Which process to sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// This process.
    Current,
    /// Another process by id.
    Pid(u32),
}

/// User and system CPU time of a process at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time spent in user mode.
    pub user: Duration,
    /// Time spent in the kernel on the process's behalf.
    pub system: Duration,
    /// Time the threads were runnable but not running (`None` where the
    /// kernel has no schedstat).
    pub waiting: Option<Duration>,
}

impl CpuTimes {
    /// Reads the current CPU times of `process`.
    ///
    /// # Errors
    ///
    /// When the process does not exist (any more) or its stat file cannot be
    /// parsed.
    pub fn read(process: Process) -> anyhow::Result<CpuTimes> {
        let path = match process {
            Process::Current => "/proc/self/stat".to_string(),
            Process::Pid(pid) => format!("/proc/{pid}/stat"),
        };
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let (user, system) = parse_stat(&text).with_context(|| format!("parsing {path}"))?;
        Ok(CpuTimes {
            user,
            system,
            waiting: runqueue_wait(process),
        })
    }
}

/// CPU use over a window: the difference of two samples and the wall time
/// between them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuUse {
    /// User CPU time used in the window.
    pub user: Duration,
    /// System CPU time used in the window.
    pub system: Duration,
    /// Time runnable but waiting for a CPU in the window, if known.
    pub waiting: Option<Duration>,
    /// Wall-clock length of the window.
    pub wall: Duration,
}

/// Run-queue wait (of the window) above which another process competed for
/// the CPU, so the figures are noisy.
pub const CONTENDED_WAIT_PERCENT: f64 = 10.0;

impl CpuUse {
    /// The generator's lines of a human summary: its CPU use, how long it
    /// waited for a CPU, and a warning when another process competed.
    pub fn write_generator_summary(&self, s: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            s,
            "  generator   CPU {:.1}% of one core (user {:.1}%, sys {:.1}%)",
            self.percent(),
            self.user_percent(),
            self.system_percent()
        );
        if let Some(w) = self.waiting_percent() {
            let _ = writeln!(s, "              waited for a CPU {w:.1}% of the window");
            if w > CONTENDED_WAIT_PERCENT {
                s.push_str(
                    "    warning: another process competed for the generator's CPU; figures are noisy\n",
                );
            }
        }
    }

    /// User plus system time.
    pub fn total(&self) -> Duration {
        self.user + self.system
    }

    /// CPU use as a percentage of one core.
    pub fn percent(&self) -> f64 {
        percent_of(self.total(), self.wall)
    }

    /// User time as a percentage of one core.
    pub fn user_percent(&self) -> f64 {
        percent_of(self.user, self.wall)
    }

    /// System time as a percentage of one core.
    pub fn system_percent(&self) -> f64 {
        percent_of(self.system, self.wall)
    }

    /// Time spent waiting for a CPU as a percentage of the window (summed
    /// over threads), if known.
    pub fn waiting_percent(&self) -> Option<f64> {
        self.waiting.map(|w| percent_of(w, self.wall))
    }
}

fn percent_of(part: Duration, wall: Duration) -> f64 {
    if wall.is_zero() {
        0.0
    } else {
        100.0 * part.as_secs_f64() / wall.as_secs_f64()
    }
}

/// Samples a process's CPU times at the start of a window and turns a second
/// sample into [`CpuUse`].
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    process: Process,
    start: CpuTimes,
    at: Instant,
}

impl CpuMeter {
    /// Starts a window now.
    ///
    /// # Errors
    ///
    /// As [`CpuTimes::read`].
    pub fn start(process: Process) -> anyhow::Result<CpuMeter> {
        let start = CpuTimes::read(process)?;
        Ok(CpuMeter {
            process,
            start,
            at: Instant::now(),
        })
    }

    /// Ends the window now.
    ///
    /// # Errors
    ///
    /// As [`CpuTimes::read`] (for example, the process has exited).
    pub fn finish(&self) -> anyhow::Result<CpuUse> {
        let end = CpuTimes::read(self.process)?;
        let wall = self.at.elapsed();
        let waiting = match (end.waiting, self.start.waiting) {
            (Some(end), Some(start)) => Some(end.saturating_sub(start)),
            _ => None,
        };
        Ok(CpuUse {
            user: end.user.saturating_sub(self.start.user),
            system: end.system.saturating_sub(self.start.system),
            waiting,
            wall,
        })
    }
}

/// Run-queue wait summed over the threads alive now, or `None` when no
/// thread's schedstat can be read.
fn runqueue_wait(process: Process) -> Option<Duration> {
    let dir = match process {
        Process::Current => "/proc/self/task".to_string(),
        Process::Pid(pid) => format!("/proc/{pid}/task"),
    };
    let mut total: Option<Duration> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        // A thread may exit between listing and reading: skip it.
        let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) else {
            continue;
        };
        if let Some(wait) = parse_schedstat_wait(&text) {
            total = Some(total.unwrap_or_default() + wait);
        }
    }
    total
}

/// The second field of a schedstat line: ns spent waiting on a run queue.
fn parse_schedstat_wait(text: &str) -> Option<Duration> {
    let nanos = text.split_ascii_whitespace().nth(1)?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Parses `utime` and `stime` (fields 14 and 15) out of a stat line. The
/// command name (field 2) may hold spaces and parentheses, so fields are
/// counted from the last `)`.
fn parse_stat(text: &str) -> anyhow::Result<(Duration, Duration)> {
    let Some(close) = text.rfind(')') else {
        bail!("no ')' after the command name");
    };
    // After ")" come fields 3 (state), 4, ...; utime is field 14.
    let mut fields = text[close + 1..].split_ascii_whitespace().skip(14 - 3);
    let mut next = |name: &str| -> anyhow::Result<u64> {
        let field = fields
            .next()
            .with_context(|| format!("missing field {name}"))?;
        field
            .parse::<u64>()
            .with_context(|| format!("field {name} is not a number: {field:?}"))
    };
    let utime = next("utime")?;
    let stime = next("stime")?;
    Ok((ticks(utime), ticks(stime)))
}

fn ticks(n: u64) -> Duration {
    Duration::from_millis(n.saturating_mul(1000 / TICKS_PER_SEC))
}

/// Time all CPUs together have spent running tasks (user, nice and system
/// time of `/proc/stat`'s `cpu` line; not interrupts, softirqs, steal or
/// idle), so that a window's total minus the generator's and the server's
/// share is what other processes took.
///
/// # Errors
///
/// When `/proc/stat` cannot be read or its first line parsed.
pub fn all_tasks_time() -> anyhow::Result<Duration> {
    let text = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    parse_all_tasks(&text).context("parsing /proc/stat")
}

/// User + nice + system of the `cpu` line.
fn parse_all_tasks(text: &str) -> anyhow::Result<Duration> {
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        bail!("no cpu line");
    };
    let mut fields = line.split_ascii_whitespace().skip(1);
    let mut total = 0u64;
    for name in ["user", "nice", "system"] {
        let field = fields
            .next()
            .with_context(|| format!("missing field {name}"))?;
        let n: u64 = field
            .parse()
            .with_context(|| format!("field {name} is not a number: {field:?}"))?;
        total = total.saturating_add(n);
    }
    Ok(ticks(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_with_spaces_and_parens() {
        let line = "1234 (we ird) (x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 100 1000 10";
        let (user, system) = parse_stat(line).unwrap();
        assert_eq!(user, Duration::from_millis(2500));
        assert_eq!(system, Duration::from_millis(370));
    }

    #[test]
    fn parses_proc_stat_task_time() {
        let text = "cpu  290230 10 464457 293897 334125 0 209614 5132 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(
            parse_all_tasks(text).unwrap(),
            Duration::from_millis((290_230 + 10 + 464_457) * 10)
        );
        assert!(parse_all_tasks("cpu0 1 2 3").is_err());
        assert!(parse_all_tasks("cpu  1 x 3").is_err());
        assert!(all_tasks_time().unwrap() > Duration::ZERO);
    }

    #[test]
    fn parses_schedstat() {
        assert_eq!(
            parse_schedstat_wait("306765238 205896624 1099\n"),
            Some(Duration::from_nanos(205_896_624))
        );
        assert_eq!(parse_schedstat_wait("1"), None);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_stat("nothing here").is_err());
        assert!(parse_stat("1 (a) S 1 2").is_err());
    }

    #[test]
    fn reads_own_process() {
        let t = CpuTimes::read(Process::Current).unwrap();
        let own = CpuTimes::read(Process::Pid(std::process::id())).unwrap();
        assert!(own.user + own.system >= t.user + t.system);
        assert!(t.waiting.is_some());
    }

    #[test]
    fn percentages() {
        let u = CpuUse {
            user: Duration::from_millis(250),
            system: Duration::from_millis(250),
            waiting: Some(Duration::from_millis(100)),
            wall: Duration::from_secs(1),
        };
        assert_eq!(u.waiting_percent(), Some(10.0));
        assert!((u.percent() - 50.0).abs() < 1e-9);
        assert!((u.user_percent() - 25.0).abs() < 1e-9);
    }
}
