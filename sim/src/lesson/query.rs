//! The query language of answers: facts of a step's run (its outcome, virtual time,
//! counts, deadlock, a rank's result, a message, a collective, a closed form), and a little
//! arithmetic between them. A query says where the answer is, never what it is.

use super::closed_form;
use super::run::StepRun;
use crate::error::SimError;
use crate::timeline::State;
use crate::world::Warning;
use crate::Rank;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A value of a query, and of a multiple-choice question's choice. In a lesson file a
/// choice's value is written as RON: `"deadlock"`, `8`, `true`, `[0, 1, 2, 3]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// Yes or no.
    Bool(bool),
    /// A number: a count, a rank, nanoseconds, bytes.
    Number(f64),
    /// A word: an outcome, a protocol, a call.
    Text(String),
    /// Several values: the ranks of a cycle.
    List(Vec<Value>),
}

impl Value {
    /// Whether two values are the same answer (numbers to a part in 10⁹).
    pub fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => close(*a, *b, 0.0),
            (Value::List(a), Value::List(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y)),
            (a, b) => a == b,
        }
    }

    fn number(&self, what: &str) -> Result<f64, QueryError> {
        match self {
            Value::Number(n) => Ok(*n),
            other => Err(QueryError(format!("{what} needs numbers, but got {other}"))),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => f.write_str(if *b { "yes" } else { "no" }),
            Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => write!(f, "{}", *n as i64),
            Value::Number(n) => write!(f, "{}", (n * 1000.0).round() / 1000.0),
            Value::Text(t) => write!(f, "{t}"),
            Value::List(items) => {
                let parts: Vec<String> = items.iter().map(|v| v.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

/// Why a query has no value on a run: it asks about something the run does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fact of a step's run. Times are in nanoseconds of virtual time, sizes in bytes.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub enum Query {
    /// `"completed"`, `"deadlock"` or `"error"`.
    Outcome,
    /// The run's virtual time.
    Time,
    /// Point-to-point messages sent (collectives' included).
    Messages,
    /// Bytes in those messages.
    Bytes,
    /// Number of ranks.
    Ranks,
    /// The platform's eager limit.
    EagerLimit,
    /// A parameter of the program, as a number (`Param("bytes")`).
    Param(String),
    /// The deadlock's cycle, from its lowest rank.
    Cycle,
    /// Ranks in the deadlock's cycle.
    CycleLength,
    /// Ranks blocked at the deadlock.
    Blocked,
    /// The rank whose blocked call began first.
    FirstBlocked,
    /// The MPI call a rank is blocked in (`"MPI_Send"`).
    BlockedCall {
        /// The rank.
        rank: Rank,
    },
    /// Whether the run completed only thanks to buffering (a `--strict` run deadlocks).
    Hazard,
    /// The cycle of the `--strict` run behind a buffering hazard.
    HazardCycle,
    /// A rank's result; `field` picks a part of it (`"best_rank"`, `"0"`, `"a.1"`).
    Result {
        /// The rank.
        rank: Rank,
        /// A dotted path into the result.
        #[serde(default)]
        field: Option<String>,
    },
    /// Lines the ranks printed.
    Lines,
    /// The rank that printed the first line.
    FirstPrinter,
    /// `"eager"` or `"rendezvous"`: how the `nth` message from `from` to `to` travelled.
    Protocol {
        /// Sender.
        from: Rank,
        /// Receiver.
        to: Rank,
        /// 0 for the first such message.
        #[serde(default)]
        nth: usize,
    },
    /// The size of the `nth` message from `from` to `to`.
    MessageBytes {
        /// Sender.
        from: Rank,
        /// Receiver.
        to: Rank,
        /// 0 for the first such message.
        #[serde(default)]
        nth: usize,
    },
    /// Messages a rank sent.
    MessagesFrom {
        /// The rank.
        rank: Rank,
    },
    /// Messages a rank received (or was sent and never received).
    MessagesTo {
        /// The rank.
        rank: Rank,
    },
    /// When a rank's program returned.
    Exit {
        /// The rank.
        rank: Rank,
    },
    /// The rank whose program returned last (ties: the lowest).
    LastToFinish,
    /// Time a rank spent in a state: `compute`, `send`, `receive`, `wait`, `collective`,
    /// `blocked`, `done`, `run`.
    StateTime {
        /// The rank.
        rank: Rank,
        /// The state's name.
        state: String,
    },
    /// The rank that spent the most time in a state (ties: the lowest).
    MostIn {
        /// The state's name.
        state: String,
    },
    /// How long the first call of a collective took, from the first rank's entry to the
    /// last rank's return (`call: "MPI_Bcast"`).
    CollectiveTime {
        /// The collective.
        call: String,
    },
    /// Messages the algorithm of the first call of a collective sent.
    CollectiveMessages {
        /// The collective.
        call: String,
    },
    /// The closed-form time of `algorithm` for `collective` (Thakur, Rabenseifner & Gropp)
    /// on this run's ranks and platform; `bytes` as the `coll` program's `--bytes` means it
    /// (the whole message, or one rank's block for scatter, gather, allgather, alltoall).
    ClosedForm {
        /// `bcast`, `allreduce`, …
        collective: String,
        /// `binomial`, `ring`, …
        algorithm: String,
        /// The size, as a query (`Param("bytes")`, `MessageBytes(from: 0, to: 1)`).
        bytes: Box<Query>,
    },
    /// A query on an earlier step's run of the same lesson (1-based).
    Step(usize, Box<Query>),
    /// `a / b`.
    Ratio(Box<Query>, Box<Query>),
    /// `a − b`.
    Difference(Box<Query>, Box<Query>),
    /// Whether `a` and `b` are the same value.
    Equal(Box<Query>, Box<Query>),
    /// Whether `a < b`.
    Less(Box<Query>, Box<Query>),
}

/// Units a number may be answered in, with their size in the base unit (ns or bytes).
pub(crate) const UNITS: [&str; 8] = ["ns", "µs", "us", "ms", "s", "B", "KiB", "MiB"];

pub(crate) fn unit_scale(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" | "B" => 1.0,
        "µs" | "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        _ => return None,
    })
}

/// A value in base units (ns, bytes) expressed in `unit`.
pub(crate) fn in_unit(value: f64, unit: Option<&str>) -> f64 {
    value / unit.and_then(unit_scale).unwrap_or(1.0)
}

/// A typed number, in `unit` unless it names its own (`1.5 µs`, `2048 B`, `64KiB`).
pub(crate) fn parse_number(text: &str, unit: Option<&str>) -> Option<f64> {
    let text = text.trim().replace('_', "");
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e')).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let n: f64 = digits.trim().parse().ok().filter(|n: &f64| n.is_finite())?;
    match suffix.trim() {
        "" => Some(n),
        own => {
            let own = unit_scale(own)?;
            let want = unit.and_then(unit_scale).unwrap_or(1.0);
            Some(n * own / want)
        }
    }
}

/// `a` and `b` agree within a relative `tolerance` (and always to a part in 10⁹).
pub(crate) fn close(a: f64, b: f64, tolerance: f64) -> bool {
    let scale = a.abs().max(b.abs()).max(1e-12);
    (a - b).abs() <= scale * tolerance.max(1e-9)
}

fn state_named(name: &str) -> Result<State, String> {
    State::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
        let names: Vec<&str> = State::ALL.iter().map(|s| s.name()).collect();
        format!("`{name}` is not a state; states are {}", names.join(", "))
    })
}

impl Query {
    /// The query's name, as written in a lesson file.
    pub fn name(&self) -> &'static str {
        match self {
            Query::Outcome => "Outcome",
            Query::Time => "Time",
            Query::Messages => "Messages",
            Query::Bytes => "Bytes",
            Query::Ranks => "Ranks",
            Query::EagerLimit => "EagerLimit",
            Query::Param(_) => "Param",
            Query::Cycle => "Cycle",
            Query::CycleLength => "CycleLength",
            Query::Blocked => "Blocked",
            Query::FirstBlocked => "FirstBlocked",
            Query::BlockedCall { .. } => "BlockedCall",
            Query::Hazard => "Hazard",
            Query::HazardCycle => "HazardCycle",
            Query::Result { .. } => "Result",
            Query::Lines => "Lines",
            Query::FirstPrinter => "FirstPrinter",
            Query::Protocol { .. } => "Protocol",
            Query::MessageBytes { .. } => "MessageBytes",
            Query::MessagesFrom { .. } => "MessagesFrom",
            Query::MessagesTo { .. } => "MessagesTo",
            Query::Exit { .. } => "Exit",
            Query::LastToFinish => "LastToFinish",
            Query::StateTime { .. } => "StateTime",
            Query::MostIn { .. } => "MostIn",
            Query::CollectiveTime { .. } => "CollectiveTime",
            Query::CollectiveMessages { .. } => "CollectiveMessages",
            Query::ClosedForm { .. } => "ClosedForm",
            Query::Step(..) => "Step",
            Query::Ratio(..) => "Ratio",
            Query::Difference(..) => "Difference",
            Query::Equal(..) => "Equal",
            Query::Less(..) => "Less",
        }
    }

    /// The words a text-valued query can give, where they are few and known.
    pub fn domain(&self) -> Option<&'static [&'static str]> {
        match self {
            Query::Outcome => Some(&["completed", "deadlock", "error"]),
            Query::Protocol { .. } => Some(&["eager", "rendezvous"]),
            Query::Step(_, q) => q.domain(),
            _ => None,
        }
    }

    /// Whether the value is a time, which people read with a unit.
    pub fn is_time(&self) -> bool {
        match self {
            Query::Time
            | Query::Exit { .. }
            | Query::StateTime { .. }
            | Query::CollectiveTime { .. }
            | Query::ClosedForm { .. } => true,
            Query::Step(_, q) => q.is_time(),
            Query::Difference(a, _) => a.is_time(),
            _ => false,
        }
    }

    fn parts(&self) -> Vec<&Query> {
        match self {
            Query::ClosedForm { bytes, .. } => vec![bytes],
            Query::Step(_, q) => vec![q],
            Query::Ratio(a, b) | Query::Difference(a, b) | Query::Equal(a, b) | Query::Less(a, b) => vec![a, b],
            _ => Vec::new(),
        }
    }

    /// Checks what can be known before the run: ranks exist, names are known.
    pub(crate) fn check(&self, ranks: usize) -> Result<(), String> {
        let rank_ok = |r: Rank| {
            if r < ranks {
                Ok(())
            } else {
                Err(format!("{} names rank {r}, but the run has {ranks} ranks (0 to {})", self.name(), ranks - 1))
            }
        };
        match self {
            Query::BlockedCall { rank }
            | Query::Result { rank, .. }
            | Query::MessagesFrom { rank }
            | Query::MessagesTo { rank }
            | Query::Exit { rank } => rank_ok(*rank)?,
            Query::Protocol { from, to, .. } | Query::MessageBytes { from, to, .. } => {
                rank_ok(*from)?;
                rank_ok(*to)?;
            }
            Query::StateTime { rank, state } => {
                rank_ok(*rank)?;
                state_named(state)?;
            }
            Query::MostIn { state } => {
                state_named(state)?;
            }
            Query::CollectiveTime { call } | Query::CollectiveMessages { call } => {
                let kind = super::call_kind(call).map_err(|e| e.to_string())?;
                if !kind.is_collective() {
                    return Err(format!("{} needs a collective, and {call} is not one", self.name()));
                }
            }
            Query::ClosedForm { collective, algorithm, .. } => {
                closed_form::parse(collective, algorithm).map_err(|e| e.to_string())?;
            }
            _ => {}
        }
        // A step's query is checked against that step's ranks when the lesson runs.
        if let Query::Step(..) = self {
            return Ok(());
        }
        self.parts().into_iter().try_for_each(|q| q.check(ranks))
    }

    /// Checks that every `Step(n, …)` names a step before `step` (1-based).
    pub(crate) fn check_steps(&self, step: usize) -> Result<(), String> {
        if let Query::Step(n, q) = self {
            if *n == 0 || *n >= step {
                return Err(format!(
                    "Step({n}, …) must name an earlier step (1 to {}), as runs happen in order",
                    step.saturating_sub(1)
                ));
            }
            return q.check_steps(*n);
        }
        self.parts().into_iter().try_for_each(|q| q.check_steps(step))
    }

    /// The value on `run`; `earlier` are the runs of the lesson's earlier steps, in order.
    pub fn eval(&self, run: &StepRun, earlier: &[StepRun]) -> Result<Value, QueryError> {
        let err = |m: String| Err(QueryError(m));
        let num = |n: u64| Ok(Value::Number(n as f64));
        let sim = &run.sim;
        let tl = &run.timeline;
        let deadlock = || match &sim.outcome {
            Err(SimError::Deadlock(d)) => Ok(d),
            Ok(_) => Err(QueryError(format!("{} asks about a deadlock, and the run completed", self.name()))),
            Err(e) => Err(QueryError(format!("{} asks about a deadlock, and the run failed: {e}", self.name()))),
        };
        let ranks_of = |rs: &[Rank]| Value::List(rs.iter().map(|&r| Value::Number(r as f64)).collect());
        let message = |from: Rank, to: Rank, nth: usize| {
            tl.messages.iter().filter(|m| m.src == from && m.dst == to).nth(nth).ok_or_else(|| {
                QueryError(format!(
                    "the run has no message {} from rank {from} to rank {to} (it has {})",
                    ordinal(nth),
                    tl.messages.iter().filter(|m| m.src == from && m.dst == to).count()
                ))
            })
        };
        let first_collective = |call: &str| {
            let kind = super::call_kind(call).map_err(|e| QueryError(e.to_string()))?;
            let calls: Vec<usize> =
                (0..tl.calls.len()).filter(|&c| tl.calls[c].call == kind && tl.calls[c].instance == Some(0)).collect();
            if calls.is_empty() {
                return Err(QueryError(format!("the run calls no {}", kind.mpi_name())));
            }
            Ok(calls)
        };
        match self {
            Query::Outcome => Ok(Value::Text(
                match &sim.outcome {
                    Ok(_) => "completed",
                    Err(e) => e.outcome(),
                }
                .into(),
            )),
            Query::Time => num(sim.time.as_nanos()),
            Query::Messages => num(sim.stats.messages),
            Query::Bytes => num(sim.stats.bytes),
            Query::Ranks => num(tl.ranks as u64),
            Query::EagerLimit => num(sim.trace.platform.eager_limit),
            Query::Param(name) => match run.spec.program().params.iter().find(|p| p.name == name) {
                Some(p) if !matches!(p.kind, crate::catalogue::ParamKind::Choice(_)) => {
                    num(run.spec.params().number(p.name))
                }
                Some(p) => Ok(Value::Text(run.spec.params().word(p.name).to_string())),
                None => err(format!("program `{}` has no parameter `{name}`", run.spec.program().name)),
            },
            Query::Cycle => {
                let d = deadlock()?;
                if d.cycle.is_empty() {
                    return err("the deadlock has no cycle: every blocked rank waits for one that finished".into());
                }
                Ok(ranks_of(&d.cycle))
            }
            Query::CycleLength => num(deadlock()?.cycle.len() as u64),
            Query::Blocked => num(deadlock()?.blocked.len() as u64),
            Query::FirstBlocked => {
                deadlock()?;
                let first = tl.unfinished().into_iter().min_by_key(|&c| tl.calls[c].enter_event);
                match first {
                    Some(c) => num(tl.calls[c].rank as u64),
                    None => err("the trace shows no blocked call".into()),
                }
            }
            Query::BlockedCall { rank } => match deadlock()?.blocked.iter().find(|b| b.rank == *rank) {
                Some(b) => Ok(Value::Text(b.call.mpi_name().to_string())),
                None => err(format!("rank {rank} is not blocked at the deadlock")),
            },
            Query::Hazard => Ok(Value::Bool(sim.warnings.iter().any(|w| matches!(w, Warning::BufferingHazard { .. })))),
            Query::HazardCycle => {
                let cycle = sim.warnings.iter().find_map(|w| match w {
                    Warning::BufferingHazard { deadlock, .. } => Some(deadlock.cycle.clone()),
                    _ => None,
                });
                match cycle {
                    Some(c) if !c.is_empty() => Ok(ranks_of(&c)),
                    Some(_) => err("the strict run deadlocks without a cycle".into()),
                    None => err("the run has no buffering hazard, so no strict-run cycle".into()),
                }
            }
            Query::Result { rank, field } => {
                let results = match &sim.outcome {
                    Ok(results) => results,
                    Err(e) => {
                        return err(format!(
                            "Result asks for rank {rank}'s result, but the run did not complete: {}",
                            e.outcome()
                        ))
                    }
                };
                let mut value = &results[*rank];
                if let Some(path) = field {
                    for part in path.split('.') {
                        let next = match value {
                            serde_json::Value::Object(map) => map.get(part),
                            serde_json::Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
                            _ => None,
                        };
                        value = next.ok_or_else(|| {
                            QueryError(format!("rank {rank}'s result {value} has no part `{part}` (field `{path}`)"))
                        })?;
                    }
                }
                from_json(value).ok_or_else(|| QueryError(format!("rank {rank}'s result is empty (null)")))
            }
            Query::Lines => num(sim.output.len() as u64),
            Query::FirstPrinter => match sim.output.first() {
                Some(line) => num(line.rank as u64),
                None => err("no rank printed anything".into()),
            },
            Query::Protocol { from, to, nth } => Ok(Value::Text(message(*from, *to, *nth)?.protocol.to_string())),
            Query::MessageBytes { from, to, nth } => num(message(*from, *to, *nth)?.bytes),
            Query::MessagesFrom { rank } => num(tl.messages.iter().filter(|m| m.src == *rank).count() as u64),
            Query::MessagesTo { rank } => num(tl.messages.iter().filter(|m| m.dst == *rank).count() as u64),
            Query::Exit { rank } => match tl.exits[*rank] {
                Some((t, _)) => num(t.as_nanos()),
                None => err(format!("rank {rank}'s program never returned")),
            },
            Query::LastToFinish => {
                let mut last: Option<(crate::Time, Rank)> = None;
                for (rank, exit) in tl.exits.iter().enumerate() {
                    match exit {
                        Some((t, _)) if last.is_none_or(|(lt, _)| *t > lt) => last = Some((*t, rank)),
                        Some(_) => {}
                        None => return err(format!("rank {rank}'s program never returned")),
                    }
                }
                num(last.map_or(0, |(_, r)| r as u64))
            }
            Query::StateTime { rank, state } => {
                let state = state_named(state).map_err(QueryError)?;
                num(tl.time_in_states()[*rank][state.index()].as_nanos())
            }
            Query::MostIn { state } => {
                let state = state_named(state).map_err(QueryError)?;
                let times = tl.time_in_states();
                let best = (0..times.len()).rev().max_by_key(|&r| times[r][state.index()]);
                num(best.unwrap_or(0) as u64)
            }
            Query::CollectiveTime { call } => {
                let calls = first_collective(call)?;
                let start = calls.iter().map(|&c| tl.calls[c].start).min().unwrap_or_default();
                let mut end = start;
                for &c in &calls {
                    match tl.calls[c].end {
                        Some(t) => end = end.max(t),
                        None => return err(format!("rank {}'s {call} never returned", tl.calls[c].rank)),
                    }
                }
                num((end - start).as_nanos())
            }
            Query::CollectiveMessages { call } => num(tl.collective_messages(first_collective(call)?[0]).len() as u64),
            Query::ClosedForm { collective, algorithm, bytes } => {
                let (coll, alg) = closed_form::parse(collective, algorithm).map_err(|e| QueryError(e.to_string()))?;
                let n = bytes.eval(run, earlier)?.number("ClosedForm's bytes")?;
                if n < 0.0 || n.fract() != 0.0 {
                    return err(format!("ClosedForm's bytes must be a whole number of bytes, not {n}"));
                }
                let t = closed_form::time(coll, alg, tl.ranks, n as u64, &sim.trace.platform)
                    .map_err(|e| QueryError(e.to_string()))?;
                num(t.as_nanos())
            }
            Query::Step(n, q) => match earlier.get(n.wrapping_sub(1)) {
                Some(step) => q.eval(step, &earlier[..n - 1]),
                None => err(format!("Step({n}, …) names a step that has not run before this one")),
            },
            Query::Ratio(a, b) => {
                let (a, b) = (a.eval(run, earlier)?.number("Ratio")?, b.eval(run, earlier)?.number("Ratio")?);
                if b == 0.0 {
                    return err("Ratio divides by zero".into());
                }
                Ok(Value::Number(a / b))
            }
            Query::Difference(a, b) => Ok(Value::Number(
                a.eval(run, earlier)?.number("Difference")? - b.eval(run, earlier)?.number("Difference")?,
            )),
            Query::Equal(a, b) => Ok(Value::Bool(a.eval(run, earlier)?.same(&b.eval(run, earlier)?))),
            Query::Less(a, b) => {
                Ok(Value::Bool(a.eval(run, earlier)?.number("Less")? < b.eval(run, earlier)?.number("Less")?))
            }
        }
    }

    /// The value as people read it: times with a unit.
    pub fn show(&self, value: &Value) -> String {
        match value {
            Value::Number(n) if self.is_time() && *n >= 0.0 && n.fract() == 0.0 => {
                format!("{} ({} ns)", crate::Time(*n as u64), *n as u64)
            }
            Value::List(_) if matches!(self, Query::Cycle | Query::HazardCycle) => {
                let Value::List(items) = value else { unreachable!() };
                let mut parts: Vec<String> = items.iter().map(|v| v.to_string()).collect();
                if let Some(first) = parts.first().cloned() {
                    parts.push(first);
                }
                parts.join(" → ")
            }
            v => v.to_string(),
        }
    }
}

fn ordinal(nth: usize) -> String {
    match nth {
        0 => "first".into(),
        1 => "second".into(),
        2 => "third".into(),
        n => format!("number {}", n + 1),
    }
}

fn from_json(v: &serde_json::Value) -> Option<Value> {
    Some(match v {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64()?),
        serde_json::Value::String(s) => Value::Text(s.clone()),
        serde_json::Value::Array(items) => {
            Value::List(items.iter().map(|i| from_json(i).unwrap_or(Value::Text("null".into()))).collect())
        }
        serde_json::Value::Object(_) => Value::Text(v.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::RunSpec;

    fn run(program: &str, flags: &str) -> StepRun {
        let p = crate::catalogue::find(program).unwrap();
        RunSpec::new(p, flags.split_whitespace().map(String::from).collect()).unwrap().run()
    }

    fn query(text: &str) -> Query {
        crate::lesson::ron_options().from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// Evaluates each query on the run and compares with the value, or the error's words.
    #[track_caller]
    fn check(run: &StepRun, cases: &[(&str, Result<Value, &str>)]) {
        for (text, want) in cases {
            let got = query(text).eval(run, &[]);
            match (want, &got) {
                (Ok(v), Ok(g)) => assert!(v.same(g), "{text}: want {v}, got {g}"),
                (Err(words), Err(e)) => assert!(e.0.contains(words), "{text}: want an error with {words:?}, got {e}"),
                _ => panic!("{text}: want {want:?}, got {got:?}"),
            }
        }
    }

    fn n(x: f64) -> Result<Value, &'static str> {
        Ok(Value::Number(x))
    }

    fn ranks(rs: &[usize]) -> Result<Value, &'static str> {
        Ok(Value::List(rs.iter().map(|&r| Value::Number(r as f64)).collect()))
    }

    #[test]
    fn a_deadlocked_ring() {
        let ring = run("ring", "-n 4 --bytes 1MiB");
        check(
            &ring,
            &[
                ("Outcome", Ok(Value::Text("deadlock".into()))),
                ("Cycle", ranks(&[0, 1, 2, 3])),
                ("CycleLength", n(4.0)),
                ("Blocked", n(4.0)),
                ("FirstBlocked", n(0.0)),
                ("BlockedCall(rank: 2)", Ok(Value::Text("MPI_Send".into()))),
                ("Time", n(0.0)),
                ("Param(\"bytes\")", n(1048576.0)),
                ("Param(\"order\")", Ok(Value::Text("naive".into()))),
                ("Protocol(from: 0, to: 1)", Ok(Value::Text("rendezvous".into()))),
                ("Result(rank: 0)", Err("did not complete")),
                ("Exit(rank: 1)", Err("never returned")),
                ("Hazard", Ok(Value::Bool(false))),
                ("HazardCycle", Err("no buffering hazard")),
                ("Protocol(from: 0, to: 2)", Err("no message first from rank 0 to rank 2")),
                ("Param(\"colour\")", Err("has no parameter `colour`")),
            ],
        );
    }

    #[test]
    fn a_completed_ring() {
        let ring = run("ring", "-n 4 --bytes 8");
        check(
            &ring,
            &[
                ("Outcome", Ok(Value::Text("completed".into()))),
                ("Time", n(1008.0)),
                ("Messages", n(4.0)),
                ("Bytes", n(32.0)),
                ("Ranks", n(4.0)),
                ("EagerLimit", n(65536.0)),
                ("Hazard", Ok(Value::Bool(true))),
                ("HazardCycle", ranks(&[0, 1, 2, 3])),
                ("Result(rank: 0)", n(3.0)),
                ("Result(rank: 2)", n(1.0)),
                ("Protocol(from: 3, to: 0)", Ok(Value::Text("eager".into()))),
                ("MessageBytes(from: 3, to: 0)", n(8.0)),
                ("MessagesFrom(rank: 1)", n(1.0)),
                ("Exit(rank: 1)", n(1008.0)),
                ("Cycle", Err("the run completed")),
                ("FirstBlocked", Err("the run completed")),
                ("Ratio(Time, Messages)", n(252.0)),
                ("Difference(Time, Bytes)", n(976.0)),
                ("Equal(Messages, Ranks)", Ok(Value::Bool(true))),
                ("Less(Time, Bytes)", Ok(Value::Bool(false))),
                ("Ratio(Time, Lines)", Err("divides by zero")),
                ("FirstPrinter", Err("no rank printed")),
                ("CollectiveTime(call: \"MPI_Bcast\")", Err("calls no MPI_Bcast")),
            ],
        );
    }

    #[test]
    fn collectives_and_their_closed_forms() {
        let bcast = run("coll", "-n 16 --op bcast --bytes 1024 --algorithm binomial");
        check(
            &bcast,
            &[
                ("CollectiveTime(call: \"MPI_Bcast\")", n(8096.0)),
                ("CollectiveMessages(call: \"bcast\")", n(15.0)),
                ("ClosedForm(collective: \"bcast\", algorithm: \"binomial\", bytes: Param(\"bytes\"))", n(8096.0)),
                (
                    "Equal(Time, ClosedForm(collective: \"bcast\", algorithm: \"binomial\", bytes: Param(\"bytes\")))",
                    Ok(Value::Bool(true)),
                ),
                ("Result(rank: 5)", n(1022.0)), // 1022 bytes encode in 1024
            ],
        );
        let kmeans = run("kmeans", "-n 4 --points 200 --iterations 2");
        check(&kmeans, &[("Result(rank: 0, field: \"nope\")", Err("has no part `nope`"))]);
        assert!(matches!(query("Result(rank: 0, field: \"best_restart\")").eval(&kmeans, &[]), Ok(Value::Number(_))));
    }

    #[test]
    fn earlier_steps_are_queried_by_number() {
        let one = run("ring", "-n 4 --bytes 8");
        let two = run("ring", "-n 4 --bytes 1MiB --order parity");
        let earlier = [one];
        let got = query("Ratio(Time, Step(1, Time))").eval(&two, &earlier).unwrap();
        assert!(matches!(got, Value::Number(r) if r > 100.0), "{got}");
        assert!(query("Step(2, Time)").eval(&two, &earlier).unwrap_err().0.contains("has not run"));
    }

    #[test]
    fn static_checks_name_the_problem() {
        let cases = [
            ("Result(rank: 4)", "names rank 4, but the run has 4 ranks"),
            ("StateTime(rank: 0, state: \"napping\")", "not a state"),
            ("CollectiveTime(call: \"MPI_Send\")", "not one"),
            ("ClosedForm(collective: \"bcast\", algorithm: \"ring\", bytes: Bytes)", "ring"),
            ("Ratio(Time, Exit(rank: 7))", "names rank 7"),
        ];
        for (text, want) in cases {
            let err = query(text).check(4).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        assert!(query("Step(2, Time)").check_steps(2).unwrap_err().contains("earlier step (1 to 1)"));
        assert!(query("Ratio(Time, Step(1, Time))").check_steps(2).is_ok());
    }

    #[test]
    fn typed_numbers_take_units() {
        assert_eq!(parse_number("1.5", Some("µs")), Some(1.5));
        assert_eq!(parse_number("1500 ns", Some("µs")), Some(1.5));
        assert_eq!(parse_number("64KiB", Some("B")), Some(65536.0));
        assert_eq!(parse_number("1_008", None), Some(1008.0));
        assert_eq!(parse_number("fast", None), None);
        assert_eq!(parse_number("3 parsecs", None), None);
        assert!(close(1.0, 1.04, 0.05) && !close(1.0, 1.06, 0.05));
        assert!(close(0.0, 0.0, 0.0));
    }

    proptest::proptest! {
        /// A number answer is right exactly when it is within the tolerance, in any unit.
        #[test]
        fn number_answers_within_tolerance(ns in 1u64..10_000_000_000, off in -0.2f64..0.2, tol in 0.0f64..0.1) {
            let q = crate::lesson::Question {
                ask: "How long?".into(),
                answer: Query::Time,
                kind: crate::lesson::Kind::Number { unit: Some("µs".into()), tolerance: tol },
                hint: Some("Read the title.".into()),
                explain: None,
            };
            let typed = ns as f64 / 1e3 * (1.0 + off);
            let verdict = q.grade(&Value::Number(ns as f64), &crate::lesson::Given::Typed(format!("{typed}")));
            let within = (off.abs() / (1.0 + off).max(1.0)) <= tol.max(1e-9) * 0.999;
            let outside = off.abs() / (1.0 + off).max(1.0) > tol * 1.001 + 1e-9;
            if within { proptest::prop_assert!(verdict.correct, "{typed} µs for {ns} ns, tolerance {tol}"); }
            if outside { proptest::prop_assert!(!verdict.correct, "{typed} µs for {ns} ns, tolerance {tol}"); }
        }

        /// A choice is right exactly when its value is the run's value.
        #[test]
        fn choices_match_exactly_one_value(values in proptest::collection::vec(0u8..6, 2..5), answer in 0u8..6) {
            let choices: Vec<crate::lesson::Choice> = values.iter().map(|v| crate::lesson::Choice {
                text: format!("{v}"), value: Value::Number(f64::from(*v)), feedback: "no".into(),
            }).collect();
            let q = crate::lesson::Question {
                ask: "Which?".into(), answer: Query::Ranks,
                kind: crate::lesson::Kind::Choice(choices), hint: None, explain: None,
            };
            for (i, v) in values.iter().enumerate() {
                let verdict = q.grade(&Value::Number(f64::from(answer)), &crate::lesson::Given::Choice(i));
                proptest::prop_assert_eq!(verdict.correct, *v == answer);
            }
        }
    }
}
