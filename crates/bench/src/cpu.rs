//! CPU time of a process, read from `/proc/<pid>/stat`.
//!
//! `utime` and `stime` there cover every thread of the process and count in
//! clock ticks of `USER_HZ`, which Linux fixes at 100 on every architecture
//! it exports to user space with this ABI, so the resolution is 10 ms: enough
//! for windows of a second or more.

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
        parse_stat(&text).with_context(|| format!("parsing {path}"))
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
    /// Wall-clock length of the window.
    pub wall: Duration,
}

impl CpuUse {
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
        Ok(CpuUse {
            user: end.user.saturating_sub(self.start.user),
            system: end.system.saturating_sub(self.start.system),
            wall,
        })
    }
}

/// Parses `utime` and `stime` (fields 14 and 15) out of a stat line. The
/// command name (field 2) may hold spaces and parentheses, so fields are
/// counted from the last `)`.
fn parse_stat(text: &str) -> anyhow::Result<CpuTimes> {
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
    Ok(CpuTimes {
        user: ticks(utime),
        system: ticks(stime),
    })
}

fn ticks(n: u64) -> Duration {
    Duration::from_millis(n.saturating_mul(1000 / TICKS_PER_SEC))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_with_spaces_and_parens() {
        let line = "1234 (we ird) (x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 1 0 100 1000 10";
        let t = parse_stat(line).unwrap();
        assert_eq!(t.user, Duration::from_millis(2500));
        assert_eq!(t.system, Duration::from_millis(370));
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
    }

    #[test]
    fn percentages() {
        let u = CpuUse {
            user: Duration::from_millis(250),
            system: Duration::from_millis(250),
            wall: Duration::from_secs(1),
        };
        assert!((u.percent() - 50.0).abs() < 1e-9);
        assert!((u.user_percent() - 25.0).abs() < 1e-9);
    }
}
