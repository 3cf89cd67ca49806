//! A deadlock as a value: every blocked call with what it waits for, the wait-for graph's
//! cycle and core, the messages nobody received, and a hint in plain words.
//!
//! The engine describes what each blocked rank waits for ([`WaitsOn`] edges); [`graph`]
//! alone decides what is a cycle or a knot, and [`hint`] chooses advice from the report
//! alone, so both can be tested without running anything.

pub mod graph;
mod hint;
mod text;

pub(crate) use hint::hint;

use crate::call::CallKind;
use crate::time::Time;
use crate::trace::Site;
use crate::words::{bytes, comm_name, list, plural, ranks};
use crate::{Rank, Tag};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt::{self, Write};

/// The peer a blocked call waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// What the communicator is called: how it was made (`dup of COMM_WORLD at
    /// ring.rs:12:20`); `None` if unknown (then `communicator N`).
    #[serde(default)]
    pub comm_name: Option<String>,
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
    /// For a blocked send: why it waits for its receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_wait: Option<SendWait>,
}

/// Why a blocked send waits for its receiver instead of completing on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SendWait {
    /// A standard send above the eager limit goes by rendezvous.
    AboveEagerLimit,
    /// A synchronous send (`ssend`) completes only once its receive has started.
    Synchronous,
    /// In strict mode every standard send is synchronous.
    Strict,
}

impl BlockedCall {
    /// The call in one line: name, peer or root, tag, bytes and communicator.
    pub fn headline(&self) -> String {
        let mut out = self.call.mpi_name().to_string();
        let named_call =
            !matches!(self.call, CallKind::Wait | CallKind::Waitall | CallKind::Waitany | CallKind::Waitsome);
        if self.call.is_collective() {
            if let Some(root) = self.root {
                out += &format!(", root {root}");
            }
            if let Some(n) = self.bytes {
                out += &format!(", {}", bytes(n));
            }
        } else if named_call {
            match (self.peer, self.bytes) {
                (Some(peer), Some(n)) => out += &format!(" to rank {peer}, {}, {}", tag_words(self.tag), bytes(n)),
                (Some(Peer::Rank(r)), None) => out += &format!(" from rank {r}, {}", tag_words(self.tag)),
                (Some(Peer::Any), None) => out += &format!(" from any source, {}", tag_words(self.tag)),
                (None, _) => {}
            }
        }
        if let Some(name) = self.comm_text() {
            out += &format!(" on {name}");
        }
        out
    }

    /// The communicator of the call as reports name it, if it has one.
    pub fn comm_text(&self) -> Option<String> {
        self.comm.map(|c| self.comm_name.clone().unwrap_or_else(|| comm_name(c)))
    }
}

fn tag_words(tag: Option<Tag>) -> String {
    tag.map_or("any tag".into(), |t| format!("tag {t}"))
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
    /// The communicator it was sent on (0 is `COMM_WORLD`).
    #[serde(default)]
    pub comm: u32,
    /// What the communicator is called (see [`BlockedCall::comm_name`]).
    #[serde(default)]
    pub comm_name: Option<String>,
}

impl Unreceived {
    /// The communicator as reports name it.
    pub fn comm_text(&self) -> String {
        self.comm_name.clone().unwrap_or_else(|| comm_name(self.comm))
    }
}

impl fmt::Display for Unreceived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on =
            if self.comm == crate::call::WORLD_COMM { String::new() } else { format!(", on {}", self.comm_text()) };
        write!(
            f,
            "a message from rank {} to rank {} (tag {}, {}, {} at {}{on}) was never received",
            self.source,
            self.rank,
            self.tag,
            bytes(self.bytes),
            self.call.mpi_name(),
            self.location
        )
    }
}

/// Unreceived messages as lines of a report: one a message, or one for many messages that
/// differ only by rank (`a message from rank (r-1) mod 1000 to rank r …`).
pub fn unreceived_lines(unreceived: &[Unreceived], ranks: usize) -> Vec<String> {
    let entries: Vec<text::Entry> = unreceived
        .iter()
        .map(|u| text::Entry { rank: u.rank, peer: Some(u.source), lines: vec![u.to_string()] })
        .collect();
    text::group(&entries, ranks)
        .into_iter()
        .map(|g| match (g.ranks.len(), g.relative) {
            (1, _) => g.lines.join(" "),
            (n, false) => format!("{} ({n} such messages)", g.lines.join(" ")),
            (_, true) => format!("{} (for r = {})", g.lines.join(" "), list(&g.ranks)),
        })
        .collect()
}

/// The run could go no further: no rank can run and no message is in flight.
///
/// Its `Debug` is the report as text (`{:#?}` gives its fields as JSON), so that a test's
/// `run.unwrap()` prints what happened, not pages of structure.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
    /// Whether the run was in strict mode (every send synchronous, collectives
    /// synchronising).
    #[serde(default)]
    pub strict: bool,
    /// Advice in plain words.
    pub hint: String,
}

/// Cycles longer than this are elided in text: the first ranks, `…`, the last two.
const CYCLE_SHOWN: usize = 12;

/// What a backend knows of a deadlock before the wait-for graph is analysed.
pub(crate) struct Stuck {
    pub time: Time,
    pub blocked: Vec<BlockedCall>,
    pub finished: Vec<Rank>,
    pub unreceived: Vec<Unreceived>,
    pub eager_limit: u64,
    pub strict: bool,
}

impl DeadlockReport {
    /// The report of `stuck`: the wait-for graph's cycle, core and knot, the members of
    /// every communicator an edge waits on any of (`members`), and the hint. Both backends
    /// describe their blocked ranks, then make the report here.
    pub(crate) fn analyse(stuck: Stuck, members: impl Fn(u32) -> Vec<Rank>) -> DeadlockReport {
        let Stuck { time, blocked, finished, unreceived, eager_limit, strict } = stuck;
        let mut communicators = std::collections::BTreeMap::new();
        for comm in blocked.iter().flat_map(|b| b.waits_on.iter().flat_map(|w| w.any_of.iter().copied())) {
            communicators.entry(comm).or_insert_with(|| members(comm));
        }
        let analysis = graph::WaitForGraph::new(&blocked, &finished, &communicators).analyse();
        let mut report = DeadlockReport {
            time,
            cycle: analysis.cycles.first().cloned().unwrap_or_default(),
            core: analysis.core,
            knot: analysis.knot,
            blocked,
            finished,
            communicators,
            unreceived,
            eager_limit,
            strict,
            hint: String::new(),
        };
        report.hint = hint(&report);
        report
    }

    /// The cycle as people read it: `0 → 1 → 2 → 3 → 0`; a long one elided, with its
    /// length: `0 → 1 → 2 → 3 → … → 998 → 999 → 0 (1000 ranks)` (the `cycle` field has it
    /// all). Empty if there is none.
    pub fn cycle_text(&self) -> String {
        let Some(first) = self.cycle.first() else { return String::new() };
        let mut parts: Vec<String> = self.cycle.iter().map(|r| r.to_string()).collect();
        let n = parts.len();
        if n > CYCLE_SHOWN {
            let tail = parts.split_off(n - 2);
            parts.truncate(4);
            parts.push("…".into());
            parts.extend(tail);
        }
        parts.push(first.to_string());
        let text = parts.join(" → ");
        if n > CYCLE_SHOWN {
            format!("{text} ({n} ranks)")
        } else {
            text
        }
    }

    /// The number of ranks of the run: every rank is blocked or finished in a deadlock.
    fn ranks(&self) -> usize {
        let highest = self.blocked.iter().map(|b| b.rank).chain(self.finished.iter().copied()).max();
        (self.blocked.len() + self.finished.len()).max(highest.map_or(0, |r| r + 1))
    }

    /// The blocked calls as lines of text, two spaces in: those of the core first, then
    /// (under `waiting on the cycle:`) the others. Calls that differ only by rank are one
    /// entry (`ranks r = 0–999  MPI_Send to rank (r+1) mod 1000, …`) once there are five
    /// of them.
    pub fn blocked_text(&self) -> String {
        let ranks = self.ranks();
        let entry = |b: &BlockedCall| text::Entry {
            rank: b.rank,
            peer: match b.peer {
                Some(Peer::Rank(p)) => Some(p),
                _ => None,
            },
            lines: vec![b.headline(), b.reason.clone(), format!("at {}", b.location)],
        };
        let in_core = |b: &&BlockedCall| self.core.binary_search(&b.rank).is_ok();
        let core: Vec<text::Entry> = self.blocked.iter().filter(in_core).map(entry).collect();
        let others: Vec<text::Entry> = self.blocked.iter().filter(|b| !in_core(b)).map(entry).collect();
        let put = |out: &mut String, entries: &[text::Entry]| {
            for g in text::group(entries, ranks) {
                let _ = write!(out, "  {}  {}", g.who(), g.lines[0]);
                for line in &g.lines[1..] {
                    let _ = write!(out, "\n            {line}");
                }
                out.push('\n');
            }
        };
        let mut out = String::new();
        put(&mut out, &core);
        if !others.is_empty() {
            if !core.is_empty() {
                out += &format!("  waiting on {}:\n", if self.knot { "the knot" } else { "the cycle" });
            }
            put(&mut out, &others);
        }
        out
    }

    /// The wait-for graph of this deadlock.
    pub fn graph(&self) -> graph::WaitForGraph {
        graph::WaitForGraph::new(&self.blocked, &self.finished, &self.communicators)
    }

    /// The wait-for graph in Graphviz DOT: AND edges solid, OR edges dashed, each labelled
    /// with its call; the deadlocked core in red.
    pub fn dot(&self) -> String {
        self.graph().dot(&self.core)
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
        f.write_str(&self.blocked_text())?;
        if !self.finished.is_empty() {
            writeln!(f, "  finished: {}", ranks(&self.finished))?;
        }
        for u in unreceived_lines(&self.unreceived, self.ranks()) {
            writeln!(f, "  unreceived: {u}")?;
        }
        write!(f, "  hint: {}", self.hint)
    }
}

/// The report as text; `{:#?}`, its fields as JSON.
impl fmt::Debug for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_as_report(self, f)
    }
}

/// `Debug` of a report that reads like the report: its `Display`, or with `{:#?}`, its
/// fields as pretty JSON.
pub(crate) fn debug_as_report<T: fmt::Display + Serialize>(value: &T, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if f.alternate() {
        let json = serde_json::to_string_pretty(value).map_err(|_| fmt::Error)?;
        f.write_str(&json)
    } else {
        write!(f, "{value}")
    }
}
