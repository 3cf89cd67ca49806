//! How a run is told: plain text for people, JSON for pipes and CI.

use crate::error::SimError;
use crate::world::Simulation;
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
}

/// The run as text: printed lines, then the outcome, time and counts.
pub fn text<R: Serialize>(sim: &Simulation<R>, header: &RunHeader) -> String {
    let mut out = String::new();
    for line in &sim.output {
        let _ = writeln!(out, "[rank {}] {}", line.rank, line.text);
    }
    let trace = &sim.trace;
    let params: String = header.params.iter().map(|(k, v)| format!(" --{k} {v}")).collect();
    let setup = format!(
        "{}{params} on {} rank{}, platform {} (eager limit {}{})",
        header.program,
        trace.ranks,
        crate::error::plural(trace.ranks),
        trace.platform.name,
        trace.platform.eager_limit_text(),
        if trace.strict { ", strict" } else { "" }
    );
    match &sim.outcome {
        Ok(results) => {
            let _ = writeln!(out, "completed: {setup}");
            let _ = writeln!(
                out,
                "  virtual time {}; {} message{}, {} bytes",
                sim.time,
                sim.stats.messages,
                crate::error::plural(sim.stats.messages as usize),
                sim.stats.bytes
            );
            let shown: Vec<String> =
                results.iter().take(16).map(|r| serde_json::to_string(r).unwrap_or_else(|_| "?".into())).collect();
            if shown.iter().any(|s| s != "null") {
                let more = if results.len() > 16 { format!(", … ({} ranks)", results.len()) } else { String::new() };
                let _ = writeln!(out, "  results by rank: [{}{more}]", shown.join(", "));
            }
        }
        Err(e) => {
            let _ = writeln!(out, "{}: {setup}", sim_outcome_word(e));
            let _ = writeln!(out, "{e}");
            let _ = writeln!(
                out,
                "  virtual time {}; {} message{}, {} bytes before it stopped",
                sim.time,
                sim.stats.messages,
                crate::error::plural(sim.stats.messages as usize),
                sim.stats.bytes
            );
        }
    }
    for w in &sim.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

fn sim_outcome_word(e: &SimError) -> &'static str {
    match e {
        SimError::Deadlock(_) => "deadlock",
        _ => "error",
    }
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
        "virtual_time_ns": sim.time.as_nanos(),
        "messages": sim.stats.messages,
        "bytes": sim.stats.bytes,
        "calls": sim.stats.calls,
        "ranks": ranks,
        "output": sim.output.iter().map(|l| json!({"rank": l.rank, "time_ns": l.time.as_nanos(), "text": l.text})).collect::<Vec<_>>(),
        "warnings": sim.warnings.iter().map(|w| json!({"message": w.to_string(), "detail": w})).collect::<Vec<_>>(),
    });
    match &sim.outcome {
        Err(SimError::Deadlock(d)) => {
            report["deadlock"] = json!({
                "time_ns": d.time.as_nanos(),
                "blocked": d.blocked.iter().map(|b| json!({
                    "rank": b.rank,
                    "call": b.call,
                    "peer": b.peer,
                    "tag": b.tag,
                    "bytes": b.bytes,
                    "location": b.location.to_string(),
                    "waiting_for": b.waiting_for,
                })).collect::<Vec<_>>(),
                "finished": d.finished,
                "hint": d.hint,
            });
        }
        Err(e) => {
            report["error"] = json!({ "message": e.to_string(), "detail": e });
        }
        Ok(_) => {}
    }
    report
}
