//! What can go wrong in a run, as values with everything needed to understand them.

use crate::call::CallKind;
use crate::time::Time;
use crate::trace::Site;
use crate::{Rank, Tag};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// MPI error classes (MPI 4.1, section 9.4), for misuse that fails a rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum ErrorClass {
    #[serde(rename = "MPI_ERR_RANK")]
    Rank,
    #[serde(rename = "MPI_ERR_TAG")]
    Tag,
    #[serde(rename = "MPI_ERR_ROOT")]
    Root,
    #[serde(rename = "MPI_ERR_COMM")]
    Comm,
    #[serde(rename = "MPI_ERR_COUNT")]
    Count,
    #[serde(rename = "MPI_ERR_TRUNCATE")]
    Truncate,
    #[serde(rename = "MPI_ERR_TYPE")]
    Type,
    #[serde(rename = "MPI_ERR_REQUEST")]
    Request,
    #[serde(rename = "MPI_ERR_ARG")]
    Arg,
    #[serde(rename = "MPI_ERR_OTHER")]
    Other,
}

impl ErrorClass {
    /// The class's MPI name, e.g. `MPI_ERR_RANK`.
    pub fn mpi_name(self) -> &'static str {
        match self {
            ErrorClass::Rank => "MPI_ERR_RANK",
            ErrorClass::Tag => "MPI_ERR_TAG",
            ErrorClass::Root => "MPI_ERR_ROOT",
            ErrorClass::Comm => "MPI_ERR_COMM",
            ErrorClass::Count => "MPI_ERR_COUNT",
            ErrorClass::Truncate => "MPI_ERR_TRUNCATE",
            ErrorClass::Type => "MPI_ERR_TYPE",
            ErrorClass::Request => "MPI_ERR_REQUEST",
            ErrorClass::Arg => "MPI_ERR_ARG",
            ErrorClass::Other => "MPI_ERR_OTHER",
        }
    }
}

/// A misuse of MPI found by the engine: its class and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpiError {
    /// The MPI error class.
    pub class: ErrorClass,
    /// What happened and what to do.
    pub message: String,
}

impl MpiError {
    pub(crate) fn new(class: ErrorClass, message: impl Into<String>) -> MpiError {
        MpiError { class, message: message.into() }
    }
}

impl fmt::Display for MpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.mpi_name(), self.message)
    }
}

/// The peer a blocked call waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Peer {
    /// A named rank.
    Rank(Rank),
    /// `ANY_SOURCE`.
    #[serde(deserialize_with = "any_peer")]
    Any,
}

fn any_peer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    let s = String::deserialize(d)?;
    if s == "any" {
        Ok(())
    } else {
        Err(serde::de::Error::custom("expected a rank or \"any\""))
    }
}

/// A rank as a number, `ANY_SOURCE` as `"any"`.
impl Serialize for Peer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Peer::Rank(r) => s.serialize_u64(*r as u64),
            Peer::Any => s.serialize_str("any"),
        }
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Rank(r) => write!(f, "{r}"),
            Peer::Any => f.write_str("any source"),
        }
    }
}

/// A rank blocked when the run could go no further.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockedCall {
    /// The blocked rank.
    pub rank: Rank,
    /// The call it is blocked in.
    pub call: CallKind,
    /// The rank it waits for, if the call names one.
    pub peer: Option<Peer>,
    /// The tag involved, if any (`None` also for ANY_TAG).
    pub tag: Option<Tag>,
    /// The bytes involved, if a send.
    pub bytes: Option<u64>,
    /// The user's file:line:column of the call.
    pub location: Site,
    /// What exactly it waits for, in words.
    pub waiting_for: String,
}

/// The run could go no further: no rank can run and no message is in flight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadlockReport {
    /// Virtual time at which the last rank blocked.
    pub time: Time,
    /// Every blocked rank, in rank order.
    pub blocked: Vec<BlockedCall>,
    /// Ranks whose program had returned.
    pub finished: Vec<Rank>,
    /// The platform's eager limit, in bytes (for the hint).
    pub eager_limit: u64,
    /// Advice in plain words.
    pub hint: String,
}

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
    },
    /// The world cannot be built as asked.
    Setup {
        /// What is wrong and what to do.
        message: String,
    },
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

impl fmt::Display for BlockedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rank {:>3}  {:<9} {}", self.rank, self.call.to_string(), self.waiting_for)?;
        write!(f, "\n            at {}", self.location)
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Deadlock(d) => {
                let n = d.blocked.len();
                writeln!(f, "deadlock at t = {}: {n} rank{} blocked, none can proceed", d.time, plural(n))?;
                for b in &d.blocked {
                    writeln!(f, "  {b}")?;
                }
                if !d.finished.is_empty() {
                    writeln!(f, "  finished: rank{} {}", plural(d.finished.len()), list(&d.finished))?;
                }
                write!(f, "  hint: {}", d.hint)
            }
            SimError::RankFailed(r) => {
                match (&r.error, &r.panic) {
                    (Some(e), _) => write!(f, "rank {} failed at t = {}: {e}", r.rank, r.time)?,
                    (None, Some(p)) => write!(f, "rank {} panicked at t = {}: {p}", r.rank, r.time)?,
                    (None, None) => write!(f, "rank {} failed at t = {}", r.rank, r.time)?,
                }
                if let Some(call) = r.call {
                    write!(f, "\n  in {}", call.mpi_name())?;
                }
                if let Some(loc) = &r.location {
                    write!(f, "\n  at {loc}")?;
                }
                write!(f, "\n  the other ranks were stopped; the trace up to here is kept")
            }
            SimError::Aborted { rank, code, location, time } => {
                write!(f, "rank {rank} called abort with code {code} at t = {time}\n  at {location}")
            }
            SimError::StepLimit { steps, time } => write!(
                f,
                "stopped after {steps} engine steps at t = {time}: the program may poll forever (a livelock); \
                 if it is just long, raise the limit with World::step_limit"
            ),
            SimError::Setup { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for SimError {}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub(crate) fn list(ranks: &[Rank]) -> String {
    ranks.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ")
}
