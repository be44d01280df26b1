//! How the reports quote CPU use, written once for `echo` and `chat`: the
//! generator's JSON keys, and the server's figures (its share of a core and
//! the work done per second of its CPU) in JSON and in the summary's
//! `server` line.

use std::fmt::Write as _;

use super::json::JsonObject;
use crate::cpu::CpuUse;

/// The server's CPU use as a load measured it: `None` without
/// `--server-pid`, or why it could not be read.
pub type ServerCpu = Option<Result<CpuUse, String>>;

/// The server's CPU use, when it was measured.
pub fn measured(server: &ServerCpu) -> Option<&CpuUse> {
    server.as_ref().and_then(|r| r.as_ref().ok())
}

/// Work done per second of server CPU over the window, at `per_sec` of
/// work per wall-clock second.
pub fn per_server_cpu_sec(per_sec: f64, server: &ServerCpu) -> Option<f64> {
    measured(server).and_then(|u| {
        let cpu = u.total().as_secs_f64();
        (cpu > 0.0).then(|| per_sec * u.wall.as_secs_f64() / cpu)
    })
}

/// Adds `gen_cpu_percent`, `gen_user_percent`, `gen_sys_percent` and
/// `gen_runq_wait_percent`.
pub fn generator_json<'j>(j: &'j mut JsonObject, g: &CpuUse) -> &'j mut JsonObject {
    j.float("gen_cpu_percent", g.percent(), 1)
        .float("gen_user_percent", g.user_percent(), 1)
        .float("gen_sys_percent", g.system_percent(), 1)
        .opt_float("gen_runq_wait_percent", g.waiting_percent(), 1)
}

/// Adds `server_pid`, `server_cpu_percent`, `server_runq_wait_percent`,
/// the work per server CPU second as `per_cpu_key`, and
/// `server_cpu_error`.
pub fn server_json<'j>(
    j: &'j mut JsonObject,
    pid: Option<u32>,
    server: &ServerCpu,
    per_cpu_key: &str,
    per_cpu: Option<f64>,
) -> &'j mut JsonObject {
    match pid {
        Some(pid) => j.int("server_pid", u64::from(pid)),
        None => j.null("server_pid"),
    };
    let used = measured(server);
    j.opt_float("server_cpu_percent", used.map(CpuUse::percent), 1)
        .opt_float(
            "server_runq_wait_percent",
            used.and_then(CpuUse::waiting_percent),
            1,
        )
        .opt_float(per_cpu_key, per_cpu, 0)
        .opt_string(
            "server_cpu_error",
            server
                .as_ref()
                .and_then(|r| r.as_ref().err())
                .map(String::as_str),
        )
}

/// Writes the summary's `server` line (`pid P: CPU x% of one core, N
/// <unit> per server CPU second`, or why it was not measured) and returns
/// the measured use, for the caller's line on run-queue waits.
pub fn server_human<'s>(
    s: &mut String,
    pid: Option<u32>,
    server: &'s ServerCpu,
    per_cpu: Option<f64>,
    unit: &str,
) -> Option<&'s CpuUse> {
    match (server, pid) {
        (Some(Ok(u)), Some(pid)) => {
            let _ = write!(
                s,
                "  server      pid {pid}: CPU {:.1}% of one core",
                u.percent()
            );
            if let Some(n) = per_cpu {
                let _ = write!(s, ", {n:.0} {unit} per server CPU second");
            }
            s.push('\n');
            Some(u)
        }
        (Some(Err(e)), Some(pid)) => {
            let _ = writeln!(s, "  server      pid {pid}: CPU not measured: {e}");
            None
        }
        _ => None,
    }
}
