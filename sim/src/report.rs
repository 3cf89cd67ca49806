//! How a run is told: plain text for people, JSON for pipes and CI.

use crate::deadlock::{unreceived_lines, DeadlockReport, Unreceived};
use crate::error::SimError;
use crate::escape::escape_control;
use crate::hazard::BufferingCheck;
use crate::sched::Schedule;
use crate::world::{Simulation, Warning};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Write;

/// Exit code of a run that completed.
pub const EXIT_COMPLETED: i32 = 0;
/// Exit code of a usage error (unknown program, flag or platform; bad value).
pub const EXIT_USAGE: i32 = 2;
/// Exit code of a run that deadlocked.
pub const EXIT_DEADLOCK: i32 = 3;
/// Exit code of a run in which a rank failed (misuse, panic, abort) or a limit stopped it.
pub const EXIT_PROGRAM_ERROR: i32 = 4;
/// Exit code of a run stopped by Ctrl-C (SIGINT): 128 + the signal's number, as shells do.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The exit code for a run's outcome.
pub fn exit_code<R>(sim: &Simulation<R>) -> i32 {
    match &sim.outcome {
        Ok(_) => EXIT_COMPLETED,
        Err(SimError::Deadlock(_)) => EXIT_DEADLOCK,
        Err(SimError::Setup { .. }) => EXIT_USAGE,
        Err(_) => EXIT_PROGRAM_ERROR,
    }
}

/// What a report says about the run besides its outcome.
#[derive(Clone, Debug, Default)]
pub struct RunHeader {
    /// The program's name.
    pub program: String,
    /// Its parameters, as `name=value`.
    pub params: Vec<(String, String)>,
    /// The schedule of the reported run (`--replay`, or the one `--explore` found).
    pub schedule: Schedule,
    /// What `--explore` did, if it ran.
    pub exploration: Option<Explored>,
    /// Where it ran.
    pub backend: Backend,
}

/// Where a run ran: on the simulator, or on a real MPI library (`--real`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// On the simulator, in virtual time.
    #[default]
    Simulated,
    /// On a real MPI library, in measured wall-clock time.
    Real {
        /// The library, as it names itself (e.g. `Open MPI v4.1.4`).
        library: String,
    },
}

/// What `--explore N` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explored {
    /// Schedules run.
    pub runs: usize,
    /// Schedules it was allowed to run (`N`).
    pub limit: usize,
    /// The run that failed (0 is the default schedule) and its schedule, if one did.
    pub failed: Option<(usize, Schedule)>,
    /// Ctrl-C stopped it after `runs` of `limit`.
    pub interrupted: bool,
}

/// The run as text: printed lines, then the outcome, time and counts.
pub fn text<R: Serialize>(sim: &Simulation<R>, header: &RunHeader) -> String {
    let mut out = String::new();
    for line in &sim.output {
        let _ = writeln!(out, "[rank {}] {}", line.rank, escape_control(&line.text));
    }
    let trace = &sim.trace;
    let params: String = header.params.iter().map(|(k, v)| format!(" --{k} {v}")).collect();
    let setup = match &header.backend {
        Backend::Simulated => format!(
            "{}{params} on {} rank{}, platform {} (eager limit {}{}){}",
            header.program,
            trace.ranks,
            crate::words::plural(trace.ranks),
            escape_control(&trace.platform.name),
            trace.platform.eager_limit_text(),
            if trace.strict { ", strict" } else { "" },
            if header.schedule == Schedule::First { String::new() } else { format!(", schedule {}", header.schedule) }
        ),
        Backend::Real { library } => format!(
            "{}{params} on {} rank{}, real MPI ({library})",
            header.program,
            trace.ranks,
            crate::words::plural(trace.ranks)
        ),
    };
    let clock = match header.backend {
        Backend::Simulated => "virtual time",
        Backend::Real { .. } => "wall time",
    };
    match &sim.outcome {
        Ok(results) => {
            let _ = writeln!(out, "completed: {setup}");
            let _ = writeln!(out, "  {}", counts(sim, clock));
            let shown: Vec<String> =
                results.iter().take(16).map(|r| serde_json::to_string(r).unwrap_or_else(|_| "?".into())).collect();
            if shown.iter().any(|s| s != "null") {
                let more = if results.len() > 16 { format!(", … ({} ranks)", results.len()) } else { String::new() };
                let _ = writeln!(out, "  results by rank: [{}{more}]", shown.join(", "));
            }
            // A hazard found is told by its warning below.
            if matches!(
                sim.buffering_check,
                BufferingCheck::Unneeded | BufferingCheck::Proven { .. } | BufferingCheck::Ran { hazard: false, .. }
            ) {
                let _ = writeln!(out, "  {}", sim.buffering_check);
            }
        }
        Err(e) => {
            let _ = writeln!(out, "{}: {setup}", sim_outcome_word(e));
            let _ = writeln!(out, "{}", error_text(e, &header.backend));
            let _ = writeln!(out, "  {} before it stopped", counts(sim, clock));
        }
    }
    let unreceived: Vec<Unreceived> = sim
        .warnings
        .iter()
        .filter_map(|w| match w {
            Warning::Unreceived(u) => Some(u.clone()),
            _ => None,
        })
        .collect();
    for line in unreceived_lines(&unreceived, trace.ranks) {
        let _ = writeln!(out, "warning: {line}");
    }
    for w in sim.warnings.iter().filter(|w| !matches!(w, Warning::Unreceived(_))) {
        let _ = writeln!(out, "warning: {w}");
    }
    match header.exploration {
        Some(Explored { limit, failed: Some((run, schedule)), .. }) => {
            let _ = writeln!(
                out,
                "explore: run {} failed (of up to {limit}), under schedule {schedule}\n  replay: add --replay \
                 {schedule} to this command, or set MPISIM_SEED={schedule}",
                run + 1
            );
        }
        Some(Explored { runs, limit, failed: None, interrupted: true }) => {
            let _ = writeln!(
                out,
                "explore: stopped by Ctrl-C after {runs} of up to {limit} schedules, all of which completed; another \
                 --seed explores other schedules"
            );
        }
        Some(Explored { runs, failed: None, .. }) => {
            let _ = writeln!(
                out,
                "explore: all {runs} schedule{} completed (other ANY_SOURCE matches, waitany picks and timing jitter)",
                crate::words::plural(runs)
            );
        }
        None => {}
    }
    out
}

/// `virtual time 1.008 µs; 4 messages, 32 bytes`.
fn counts<R>(sim: &Simulation<R>, clock: &str) -> String {
    let messages = sim.stats.messages;
    format!(
        "{clock} {}; {messages} message{}, {}",
        sim.time,
        crate::words::plural(messages as usize),
        crate::words::bytes(sim.stats.bytes)
    )
}

/// The error that ended a run. A real run keeps no trace: its failing rank stopped the
/// job with `MPI_Abort`.
fn error_text(e: &SimError, backend: &Backend) -> String {
    match (e, backend) {
        (SimError::RankFailed(r), Backend::Real { .. }) => {
            format!("{r}\n  the other ranks were stopped: the failing rank called MPI_Abort")
        }
        _ => e.to_string(),
    }
}

fn sim_outcome_word(e: &SimError) -> &'static str {
    match e {
        SimError::Deadlock(_) => "deadlock",
        _ => "error",
    }
}

/// A deadlock as JSON: the cycle, the core, every blocked call with its edges, the
/// finished ranks, unreceived messages and the hint.
pub fn deadlock_json(d: &DeadlockReport) -> Value {
    json!({
        "time_ns": d.time.as_nanos(),
        "cycle": d.cycle,
        "core": d.core,
        "knot": d.knot,
        "blocked": d.blocked.iter().map(|b| json!({
            "rank": b.rank,
            "call": b.call,
            "mpi_call": b.call.mpi_name(),
            "peer": b.peer,
            "root": b.root,
            "tag": b.tag,
            "bytes": b.bytes,
            "comm": b.comm,
            "comm_name": b.comm_text(),
            "location": b.location.to_string(),
            "waiting_for": b.waiting_for,
            "waits_on": b.waits_on.iter().map(|w| json!({
                "kind": w.kind(),
                "ranks": w.ranks,
                "any_of": w.any_of,
                "what": w.what,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "finished": d.finished,
        "unreceived": d.unreceived.iter().map(|u| json!({
            "rank": u.rank,
            "source": u.source,
            "tag": u.tag,
            "bytes": u.bytes,
            "comm": u.comm,
            "comm_name": u.comm_text(),
            "call": u.call,
            "location": u.location.to_string(),
        })).collect::<Vec<_>>(),
        "hint": d.hint,
    })
}

/// The run as one JSON object (see README for its fields).
pub fn json<R: Serialize>(sim: &Simulation<R>, header: &RunHeader) -> Value {
    let trace = &sim.trace;
    let outcome = match &sim.outcome {
        Ok(_) => "completed",
        Err(e) => e.outcome(),
    };
    let ranks: Vec<Value> = (0..trace.ranks)
        .map(|rank| {
            let result = match &sim.outcome {
                Ok(results) => serde_json::to_value(&results[rank]).unwrap_or(Value::Null),
                Err(_) => Value::Null,
            };
            json!({ "rank": rank, "result": result })
        })
        .collect();
    let mut report = json!({
        "outcome": outcome,
        "program": header.program,
        "params": header.params.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
        "size": trace.ranks,
        "platform": trace.platform.name,
        "eager_limit": trace.platform.eager_limit,
        "strict": trace.strict,
        "seed": trace.seed,
        "schedule": header.schedule.to_string(),
        "messages": sim.stats.messages,
        "bytes": sim.stats.bytes,
        "calls": sim.stats.calls,
        "ranks": ranks,
        "output": sim.output.iter().map(|l| json!({"rank": l.rank, "time_ns": l.time.as_nanos(), "text": l.text})).collect::<Vec<_>>(),
        "warnings": sim.warnings.iter().map(|w| json!({"message": w.to_string(), "detail": w})).collect::<Vec<_>>(),
    });
    if let Some(e) = header.exploration {
        report["explore"] = json!({
            "runs": e.runs,
            "limit": e.limit,
            "interrupted": e.interrupted,
            "failed_run": e.failed.map(|(run, _)| run),
            "replay": e.failed.map(|(_, schedule)| schedule.to_string()),
        });
    }
    match &header.backend {
        Backend::Simulated => {
            report["backend"] = json!("simulated");
            report["virtual_time_ns"] = json!(sim.time.as_nanos());
            if sim.buffering_check != BufferingCheck::NotRun {
                report["buffering_check"] =
                    json!({"message": sim.buffering_check.to_string(), "detail": sim.buffering_check});
            }
        }
        Backend::Real { library } => {
            report["backend"] = json!("real");
            report["library"] = json!(library);
            report["wall_time_ns"] = json!(sim.time.as_nanos());
        }
    }
    match &sim.outcome {
        Err(SimError::Deadlock(d)) => report["deadlock"] = deadlock_json(d),
        Err(e) => {
            report["error"] = json!({ "message": error_text(e, &header.backend), "detail": e });
        }
        Ok(_) => {}
    }
    report
}
