//! What can go wrong in a run, as values with everything needed to understand them.

use crate::call::{CallKind, MpiError};
use crate::deadlock::{BlockedCall, DeadlockReport};
use crate::time::Time;
use crate::trace::Site;
use crate::words::plural;
use crate::Rank;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A rank failed: an MPI misuse, or a panic in the program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankFailure {
    /// The failing rank.
    pub rank: Rank,
    /// Virtual time of the failure.
    pub time: Time,
    /// The call that failed (`None` for a panic outside any call).
    pub call: Option<CallKind>,
    /// Where: the call's file:line, or the panic's.
    pub location: Option<Site>,
    /// The MPI error, if the failure is a misuse.
    pub error: Option<MpiError>,
    /// The panic message, if the program panicked.
    pub panic: Option<String>,
}

/// Why a run did not complete.
///
/// Its `Debug` is its `Display`, the report a person reads (`{:#?}` gives its fields as
/// JSON): a test's `World::new(4).run(ring).unwrap()` that fails prints the deadlock
/// report, not kilobytes of structure.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SimError {
    /// No rank can make progress.
    Deadlock(DeadlockReport),
    /// A rank misused MPI or panicked; the other ranks were stopped.
    RankFailed(RankFailure),
    /// A rank called `abort`.
    Aborted {
        /// The rank that aborted.
        rank: Rank,
        /// Its error code.
        code: i32,
        /// Where.
        location: Site,
        /// When.
        time: Time,
    },
    /// The run took more engine steps than allowed (a livelock, or a limit set too low).
    StepLimit {
        /// The limit.
        steps: u64,
        /// Virtual time reached.
        time: Time,
        /// Ranks that spent much of the run polling (`iprobe`, `test`…) in vain.
        spinning: Vec<Spinning>,
        /// What every rank was doing when the run was stopped.
        #[serde(default)]
        ranks: Vec<RankActivity>,
    },
    /// The run reached its virtual-time limit (a program that runs forever, or a limit set
    /// too low).
    TimeLimit {
        /// The limit.
        limit: Time,
        /// Engine steps taken.
        steps: u64,
        /// What every rank was doing when the run was stopped.
        ranks: Vec<RankActivity>,
    },
    /// Every rank still running only polled (`iprobe`, `test`…) and found nothing, with
    /// no message in flight, for so long that nothing can change: a livelock.
    Livelock {
        /// Virtual time reached.
        time: Time,
        /// Fruitless polls in a row when the run was stopped.
        polls: u64,
        /// The polling ranks and their calls.
        spinning: Vec<Spinning>,
    },
    /// The world cannot be built as asked.
    Setup {
        /// What is wrong and what to do.
        message: String,
    },
}

/// What a rank was doing when a limit stopped its run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "doing", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RankActivity {
    /// Running its own code (or about to), after its last call.
    Running {
        /// The rank.
        rank: Rank,
        /// Its last MPI call and where it was made.
        last_call: Option<(CallKind, Site)>,
    },
    /// Blocked in a call.
    Blocked(Box<BlockedCall>),
    /// Its program had returned.
    Finished {
        /// The rank.
        rank: Rank,
    },
}

impl RankActivity {
    /// The rank it is about.
    pub fn rank(&self) -> Rank {
        match self {
            RankActivity::Running { rank, .. } | RankActivity::Finished { rank } => *rank,
            RankActivity::Blocked(b) => b.rank,
        }
    }
}

impl fmt::Display for RankActivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RankActivity::Running { rank, last_call: Some((call, site)) } => {
                write!(f, "rank {rank:>3}  running its own code; its last call was {} at {site}", call.mpi_name())
            }
            RankActivity::Running { rank, last_call: None } => write!(f, "rank {rank:>3}  running, before any call"),
            RankActivity::Blocked(b) => write!(f, "{b}"),
            RankActivity::Finished { rank } => write!(f, "rank {rank:>3}  finished"),
        }
    }
}

/// At most this many ranks' activities are printed; the JSON report has them all.
const ACTIVITIES_SHOWN: usize = 16;

/// Writes what the ranks were doing, the finished ones in one line, the others one by one
/// up to [`ACTIVITIES_SHOWN`].
fn write_activities(f: &mut fmt::Formatter<'_>, ranks: &[RankActivity]) -> fmt::Result {
    let finished: Vec<Rank> =
        ranks.iter().filter(|a| matches!(a, RankActivity::Finished { .. })).map(RankActivity::rank).collect();
    let others: Vec<&RankActivity> = ranks.iter().filter(|a| !matches!(a, RankActivity::Finished { .. })).collect();
    for a in others.iter().take(ACTIVITIES_SHOWN) {
        write!(f, "\n  {a}")?;
    }
    if others.len() > ACTIVITIES_SHOWN {
        write!(f, "\n  … and {} more ranks (the JSON report lists them all)", others.len() - ACTIVITIES_SHOWN)?;
    }
    if !finished.is_empty() {
        write!(f, "\n  finished: rank{} {}", plural(finished.len()), crate::words::list(&finished))?;
    }
    Ok(())
}

/// A rank caught polling when a run was stopped: its last fruitless poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spinning {
    /// The rank.
    pub rank: Rank,
    /// Its polling call.
    pub call: CallKind,
    /// Where.
    pub location: Site,
    /// How many of its polls found nothing.
    pub polls: u64,
}

impl fmt::Display for Spinning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rank {} polled {} {} time{} in vain, last at {}",
            self.rank,
            self.call.mpi_name(),
            self.polls,
            plural(self.polls as usize),
            self.location
        )
    }
}

/// The failure, its call and its site (what happened to the other ranks is the run's to
/// say: a simulated run keeps its trace, a real one stops its job).
impl fmt::Display for RankFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.error, &self.panic) {
            (Some(e), _) => write!(f, "rank {} failed at t = {}: {e}", self.rank, self.time)?,
            (None, Some(p)) => write!(f, "rank {} panicked at t = {}: {p}", self.rank, self.time)?,
            (None, None) => write!(f, "rank {} failed at t = {}", self.rank, self.time)?,
        }
        if let Some(call) = self.call {
            write!(f, "\n  in {}", call.mpi_name())?;
        }
        if let Some(loc) = &self.location {
            write!(f, "\n  at {loc}")?;
        }
        Ok(())
    }
}

impl SimError {
    /// One-word outcome for machine-readable output: `deadlock` or `error`.
    pub fn outcome(&self) -> &'static str {
        match self {
            SimError::Deadlock(_) => "deadlock",
            _ => "error",
        }
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Deadlock(d) => write!(f, "{d}"),
            SimError::RankFailed(r) => write!(f, "{r}\n  the other ranks were stopped; the trace up to here is kept"),
            SimError::Aborted { rank, code, location, time } => {
                write!(f, "rank {rank} called abort with code {code} at t = {time}\n  at {location}")
            }
            SimError::StepLimit { steps, time, spinning, ranks } => {
                write!(f, "stopped after {steps} engine steps at t = {time}")?;
                for s in spinning {
                    write!(f, "\n  {s}")?;
                }
                write_activities(f, ranks)?;
                write!(
                    f,
                    "\n  hint: {}if the program is just long, raise the limit (--step-limit, World::step_limit)",
                    if spinning.is_empty() {
                        String::new()
                    } else {
                        "the ranks above may poll forever for a message nobody sends (a livelock); ".to_string()
                    }
                )
            }
            SimError::TimeLimit { limit, steps, ranks } => {
                write!(f, "stopped at the virtual-time limit t = {limit}, after {steps} engine steps")?;
                write_activities(f, ranks)?;
                write!(
                    f,
                    "\n  hint: a program that loops forever (a loop of compute or of messages that never ends) is \
                     stopped here; if it is just long, raise the limit (--time-limit, World::time_limit)"
                )
            }
            SimError::Livelock { time, polls, spinning } => {
                write!(f, "livelock at t = {time}: {polls} polls in a row found nothing, and no message is in flight")?;
                for s in spinning {
                    write!(f, "\n  {s}")?;
                }
                write!(
                    f,
                    "\n  hint: every rank still running polls for a message that no rank will send: send it, \
                     or stop polling when it cannot come (a blocking receive would have been reported as a \
                     deadlock)"
                )
            }
            SimError::Setup { message } => f.write_str(message),
        }
    }
}

impl fmt::Debug for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::deadlock::debug_as_report(self, f)
    }
}

impl std::error::Error for SimError {}
