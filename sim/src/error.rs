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
    #[serde(rename = "MPI_ERR_OP")]
    Op,
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
            ErrorClass::Op => "MPI_ERR_OP",
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

/// How a blocked rank depends on the ranks one [`WaitsOn`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// It needs this one rank (a receive from a named source, a rendezvous send, a
    /// collective waiting for a rank that has not arrived): an AND edge of the wait-for
    /// graph.
    And,
    /// Any one of several ranks would do (`ANY_SOURCE`, `waitany`, `waitsome`): OR edges.
    Or,
}

/// One thing a blocked call waits for. The call proceeds once every one of its
/// `WaitsOn` is satisfied; one of them is satisfied by any one of the ranks it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitsOn {
    /// World ranks that could satisfy it.
    pub ranks: Vec<Rank>,
    /// Communicators any of whose members (other than the waiting rank) could satisfy it:
    /// a receive or probe from `ANY_SOURCE`. Their members are in
    /// [`DeadlockReport::communicators`].
    pub any_of: Vec<u32>,
    /// The call behind it in a few words (`MPI_Send to 1, tag 0`): the label of its edges.
    pub what: String,
}

impl WaitsOn {
    /// AND if it names exactly one rank, OR otherwise.
    pub fn kind(&self) -> EdgeKind {
        if self.ranks.len() == 1 && self.any_of.is_empty() {
            EdgeKind::And
        } else {
            EdgeKind::Or
        }
    }
}

/// The last wildcard receive a rank made that matched, for hints about match order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WildcardMatch {
    /// The world rank whose message it took.
    pub source: Rank,
    /// Where the receive was posted.
    pub location: Site,
}

/// A rank blocked when the run could go no further.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockedCall {
    /// The blocked rank.
    pub rank: Rank,
    /// The call it is blocked in (for a rank inside a collective, the collective).
    pub call: CallKind,
    /// The rank it waits for, if the call names one (world rank).
    pub peer: Option<Peer>,
    /// The tag involved, if any (`None` also for ANY_TAG).
    pub tag: Option<Tag>,
    /// The bytes involved, if a send.
    pub bytes: Option<u64>,
    /// The communicator of the call (0 is `COMM_WORLD`), if it has one.
    pub comm: Option<u32>,
    /// The root of a rooted collective (world rank).
    pub root: Option<Rank>,
    /// The user's file:line:column of the call.
    pub location: Site,
    /// What exactly it waits for, in words: a sentence that stands alone.
    pub waiting_for: String,
    /// Why it waits, in words meant for under [`BlockedCall::headline`] (which may already
    /// name the peer, tag and bytes).
    pub reason: String,
    /// What it waits for, as edges of the wait-for graph: all of them must be satisfied.
    pub waits_on: Vec<WaitsOn>,
    /// The last `ANY_SOURCE` receive of this rank that matched.
    pub last_wildcard: Option<WildcardMatch>,
}

impl BlockedCall {
    /// The call in one line: name, peer or root, tag, bytes and communicator.
    pub fn headline(&self) -> String {
        let mut out = self.call.mpi_name().to_string();
        let named_call =
            !matches!(self.call, CallKind::Wait | CallKind::Waitall | CallKind::Waitany | CallKind::Waitsome);
        if self.call.is_collective() || matches!(self.call, CallKind::CommSplit | CallKind::CommDup) {
            if let Some(root) = self.root {
                out += &format!(", root {root}");
            }
            if let Some(bytes) = self.bytes {
                out += &format!(", {bytes} bytes");
            }
        } else if named_call {
            match (self.peer, self.bytes) {
                (Some(peer), Some(bytes)) => out += &format!(" to rank {peer}, {}, {bytes} bytes", tag_words(self.tag)),
                (Some(Peer::Rank(r)), None) => out += &format!(" from rank {r}, {}", tag_words(self.tag)),
                (Some(Peer::Any), None) => out += &format!(" from any source, {}", tag_words(self.tag)),
                (None, _) => {}
            }
        }
        if let Some(comm) = self.comm {
            out += &format!(" on {}", comm_name(comm));
        }
        out
    }
}

fn tag_words(tag: Option<Tag>) -> String {
    tag.map_or("any tag".into(), |t| format!("tag {t}"))
}

/// `COMM_WORLD`, or `communicator N`.
pub(crate) fn comm_name(comm: u32) -> String {
    if comm == 0 {
        "COMM_WORLD".into()
    } else {
        format!("communicator {comm}")
    }
}

/// A message that arrived at a rank and was never received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreceived {
    /// The rank it was sent to.
    pub rank: Rank,
    /// Its sender (world rank).
    pub source: Rank,
    /// Its tag.
    pub tag: Tag,
    /// Its size.
    pub bytes: u64,
    /// The call that sent it.
    pub call: CallKind,
    /// Where it was sent.
    pub location: Site,
}

impl fmt::Display for Unreceived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a message from rank {} to rank {} (tag {}, {} bytes, {} at {}) was never received",
            self.source,
            self.rank,
            self.tag,
            self.bytes,
            self.call.mpi_name(),
            self.location
        )
    }
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
    /// A cycle of the wait-for graph, in order from its lowest rank (`[0, 1, 2, 3]` for
    /// 0 → 1 → 2 → 3 → 0); empty if no rank waits on itself through others (then every
    /// blocked rank waits, directly or not, for a finished one).
    pub cycle: Vec<Rank>,
    /// The deadlocked core: every rank on a cycle of the wait-for graph. The other blocked
    /// ranks merely wait on it (or on finished ranks).
    pub core: Vec<Rank>,
    /// Whether OR edges (wildcards, `waitany`) take part in the core: then it is a knot, a
    /// set of ranks none of which can be released by a rank outside it.
    pub knot: bool,
    /// Members (world ranks) of each communicator a wildcard wait names.
    pub communicators: std::collections::BTreeMap<u32, Vec<Rank>>,
    /// Messages that arrived and were not received: often the one a blocked rank wanted,
    /// with another tag or taken in another order.
    pub unreceived: Vec<Unreceived>,
    /// The platform's eager limit, in bytes (for the hint).
    pub eager_limit: u64,
    /// Advice in plain words.
    pub hint: String,
}

impl DeadlockReport {
    /// The cycle as people read it: `0 → 1 → 2 → 3 → 0` (empty if there is none).
    pub fn cycle_text(&self) -> String {
        match self.cycle.first() {
            Some(first) => {
                let mut parts: Vec<String> = self.cycle.iter().map(|r| r.to_string()).collect();
                parts.push(first.to_string());
                parts.join(" → ")
            }
            None => String::new(),
        }
    }

    /// The wait-for graph of this deadlock.
    pub fn graph(&self) -> crate::waitfor::WaitForGraph {
        crate::waitfor::WaitForGraph::new(&self.blocked, &self.finished, &self.communicators)
    }

    /// The wait-for graph in Graphviz DOT: AND edges solid, OR edges dashed, each labelled
    /// with its call; the deadlocked core in red.
    pub fn dot(&self) -> String {
        self.graph().dot(&self.core)
    }
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
        /// Ranks that spent much of the run polling (`iprobe`, `test`…) in vain.
        spinning: Vec<Spinning>,
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
        write!(f, "rank {:>3}  {}", self.rank, self.headline())?;
        write!(f, "\n            {}", self.reason)?;
        write!(f, "\n            at {}", self.location)
    }
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.blocked.len();
        writeln!(f, "deadlock at t = {}: {n} rank{} blocked, none can proceed", self.time, plural(n))?;
        if !self.cycle.is_empty() {
            if self.knot {
                writeln!(
                    f,
                    "  knot of rank{} {}: none of them can be released by a rank outside it; one cycle: {}",
                    plural(self.core.len()),
                    list(&self.core),
                    self.cycle_text()
                )?;
            } else if self.core.len() > self.cycle.len() {
                writeln!(f, "  cycle: {} (ranks on cycles: {})", self.cycle_text(), list(&self.core))?;
            } else {
                writeln!(f, "  cycle: {}", self.cycle_text())?;
            }
        }
        let (core, others): (Vec<&BlockedCall>, Vec<&BlockedCall>) =
            self.blocked.iter().partition(|b| self.core.contains(&b.rank));
        for b in &core {
            writeln!(f, "  {b}")?;
        }
        if !others.is_empty() {
            if !core.is_empty() {
                writeln!(f, "  waiting on {}:", if self.knot { "the knot" } else { "the cycle" })?;
            }
            for b in &others {
                writeln!(f, "  {b}")?;
            }
        }
        if !self.finished.is_empty() {
            writeln!(f, "  finished: rank{} {}", plural(self.finished.len()), list(&self.finished))?;
        }
        for u in &self.unreceived {
            writeln!(f, "  unreceived: {u}")?;
        }
        write!(f, "  hint: {}", self.hint)
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Deadlock(d) => write!(f, "{d}"),
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
            SimError::StepLimit { steps, time, spinning } => {
                write!(f, "stopped after {steps} engine steps at t = {time}")?;
                for s in spinning {
                    write!(f, "\n  {s}")?;
                }
                write!(
                    f,
                    "\n  hint: {}if the program is just long, raise the limit (World::step_limit)",
                    if spinning.is_empty() {
                        String::new()
                    } else {
                        "the ranks above may poll forever for a message nobody sends (a livelock); ".to_string()
                    }
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
