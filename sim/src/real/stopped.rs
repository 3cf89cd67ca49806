//! A real run stopped before it finished (`--timeout`, Ctrl-C, or a rank's `MPI_Abort`),
//! told from what its ranks said of themselves ([`snapshot`](super::snapshot)).
//!
//! The launching process names a directory in the job's environment ([`Reports`]). At a
//! timeout it asks every rank twice, a moment apart, what it is doing: a rank blocked in
//! the same wait both times is stuck. If every rank is stuck or finished, the run is a
//! deadlock, and the report is the simulator's: each blocked call with its peer, tag,
//! size, communicator and file:line, the wait-for graph's cycle
//! ([`WaitForGraph`](crate::deadlock::graph::WaitForGraph)) and the hint. Otherwise it
//! hung, and the report says what each rank was doing. A failing rank writes its error
//! there too, so that the report of the run counts every rank's messages.

use super::snapshot::{
    request_path, snapshot_path, Activity, CommFacts, InCollective, Pending, PendingOp, RankSnapshot, Wait,
};
use crate::call::CallKind;
use crate::deadlock::graph::{any_of_edges, on_rank};
use crate::deadlock::{BlockedCall, DeadlockReport, Peer, SendWait, Stuck, WaitsOn};
use crate::error::SimError;
use crate::time::Time;
use crate::words::{comm_name, list, plural};
use crate::world::{OutputLine, RunStats};
use crate::{Rank, Tag};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The directory a job's ranks write their snapshots and failures in; removed when
/// dropped.
pub(crate) struct Reports {
    dir: PathBuf,
}

/// What a failing rank leaves for the launching process: its error and its part of the run.
#[derive(Serialize, Deserialize)]
pub(crate) struct FailureFile {
    pub rank: Rank,
    pub library: String,
    pub error: SimError,
    pub time: Time,
    pub stats: RunStats,
    pub output: Vec<OutputLine>,
}

/// How long a round of snapshots may take: the ranks' helpers look every 25 ms.
const PATIENCE: Duration = Duration::from_secs(3);
/// Between the two rounds: a rank whose wait is the same after this long is stuck.
const SETTLE: Duration = Duration::from_millis(300);

impl Reports {
    /// A new, empty directory under the system's temporary directory.
    pub fn create() -> std::io::Result<Reports> {
        let base = std::env::temp_dir();
        for n in 0..1000 {
            let dir = base.join(format!("mpisim-real-{}-{n}", std::process::id()));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(Reports { dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other("no free name for the job's report directory"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The failure a rank left, if one did (the lowest rank's if several).
    pub fn failure(&self) -> Option<FailureFile> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("failure-")))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
            .min_by_key(|f: &FailureFile| f.rank)
    }

    /// Each rank's snapshot of round `round` (`final`: written as the job was stopped).
    pub fn read(&self, round: &str, ranks: usize) -> Vec<Option<RankSnapshot>> {
        (0..ranks)
            .map(|rank| {
                let bytes = std::fs::read(snapshot_path(&self.dir, rank, round)).ok()?;
                serde_json::from_slice(&bytes).ok()
            })
            .collect()
    }

    /// Asks every rank for snapshot `round` and waits for them, at most [`PATIENCE`].
    fn request(&self, round: u32, ranks: usize) -> Vec<Option<RankSnapshot>> {
        if std::fs::write(request_path(&self.dir, round), b"").is_err() {
            return vec![None; ranks];
        }
        let all_there = || (0..ranks).all(|r| snapshot_path(&self.dir, r, &round.to_string()).exists());
        // The launching process waits in wall time by design: it is no part of a simulation.
        #[allow(clippy::disallowed_methods)]
        let deadline = std::time::Instant::now() + PATIENCE;
        #[allow(clippy::disallowed_methods)]
        while !all_there() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.read(&round.to_string(), ranks)
    }

    /// Two rounds of snapshots, [`SETTLE`] apart: what the ranks were doing, and whether
    /// they moved.
    pub fn look(&self, ranks: usize) -> Looks {
        let first = self.request(1, ranks);
        std::thread::sleep(SETTLE);
        let second = self.request(2, ranks);
        Looks { first, second }
    }
}

impl Drop for Reports {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Two looks at every rank of a job.
#[derive(Clone, Debug, Default)]
pub(crate) struct Looks {
    pub first: Vec<Option<RankSnapshot>>,
    pub second: Vec<Option<RankSnapshot>>,
}

/// What a stopped run was, from its ranks' snapshots.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Stopped {
    /// Every rank was stuck in a wait, or had finished.
    Deadlock(DeadlockReport),
    /// Some rank was running, moving, or did not answer: each rank's state, in words.
    Hung(Vec<RankState>),
}

/// One rank of a hung run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct RankState {
    pub rank: Rank,
    /// `blocked`, `running`, `finished` or `unknown`.
    pub state: &'static str,
    /// What it was doing, in words.
    pub doing: String,
    /// The call's file:line:column, if in a call.
    pub location: Option<String>,
}

/// The run the snapshots `looks` tell, for a job of `ranks` ranks stopped at `time`
/// (wall time). Without a second look (a job stopped by Ctrl-C or by the launcher), the
/// first is taken as it is.
pub(crate) fn judge(looks: &Looks, ranks: usize, time: Time, fallback_eager_limit: u64) -> Stopped {
    let last: Vec<Option<&RankSnapshot>> =
        (0..ranks).map(|r| looks.second.get(r).and_then(Option::as_ref).or(looks.first.get(r)?.as_ref())).collect();
    let moved = |rank: Rank| match (looks.first.get(rank).and_then(Option::as_ref), looks.second.get(rank)) {
        (Some(a), Some(Some(b))) => a.entered != b.entered || a.activity != b.activity,
        _ => false,
    };
    let comms = Comms::of(&last);
    let stuck = |r: Rank| matches!(last[r], Some(s) if matches!(s.activity, Activity::Blocked { .. })) && !moved(r);
    let finished = |r: Rank| matches!(last[r], Some(s) if s.activity == Activity::Finished);
    let every = (0..ranks).all(|r| stuck(r) || finished(r));
    if every && (0..ranks).any(stuck) {
        let eager_limit = last.iter().flatten().find_map(|s| s.eager_limit).unwrap_or(fallback_eager_limit);
        return Stopped::Deadlock(deadlock(&last, &comms, time, eager_limit));
    }
    Stopped::Hung(
        (0..ranks)
            .map(|rank| {
                let Some(snap) = last[rank] else {
                    return RankState {
                        rank,
                        state: "unknown",
                        doing: "did not answer (it may run on another node, where the report directory is not \
                                seen, or not have started)"
                            .into(),
                        location: None,
                    };
                };
                let moving = if moved(rank) { "; it was still moving" } else { "" };
                match &snap.activity {
                    Activity::Finished => {
                        RankState { rank, state: "finished", doing: "its program had returned".into(), location: None }
                    }
                    Activity::Running { last } => RankState {
                        rank,
                        state: "running",
                        doing: format!(
                            "running: its own code, compute, or calls that do not block (iprobe, test){}{moving}",
                            last.as_ref()
                                .map(|w| format!(", after {}", describe(snap.rank, w, &comms).headline()))
                                .unwrap_or_default()
                        ),
                        location: None,
                    },
                    Activity::Blocked { wait } => {
                        let b = describe(rank, wait, &comms);
                        RankState {
                            rank,
                            state: "blocked",
                            doing: format!("{}: {}{moving}", b.headline(), b.reason),
                            location: Some(b.location.to_string()),
                        }
                    }
                }
            })
            .collect(),
    )
}

/// The deadlock of ranks that are all stuck or finished.
fn deadlock(last: &[Option<&RankSnapshot>], comms: &Comms, time: Time, eager_limit: u64) -> DeadlockReport {
    let mut blocked = Vec::new();
    let mut finished = Vec::new();
    for snap in last.iter().flatten() {
        match &snap.activity {
            Activity::Blocked { wait } => blocked.push(describe(snap.rank, wait, comms)),
            _ => finished.push(snap.rank),
        }
    }
    let stuck = Stuck { time, blocked, finished, unreceived: Vec::new(), eager_limit, strict: false };
    DeadlockReport::analyse(stuck, |id| comms.members(id).to_vec())
}

/// The communicators of a job, named alike on every rank: each rank numbers its own in
/// the order it made them, so a communicator is known by its members and how many with
/// the same members its rank made before it, and numbered in the order rank 0, 1, …
/// first name it (`COMM_WORLD` is 0).
struct Comms<'a> {
    /// Per rank, its communicators' job-wide ids, by its own id.
    ids: Vec<Vec<u32>>,
    /// Per job-wide id: the members, and each member's facts of it.
    members: Vec<Vec<Rank>>,
    facts: BTreeMap<(u32, Rank), &'a CommFacts>,
}

impl<'a> Comms<'a> {
    fn of(last: &[Option<&'a RankSnapshot>]) -> Comms<'a> {
        let mut known: BTreeMap<(&'a [Rank], usize), u32> = BTreeMap::new();
        let mut comms = Comms { ids: Vec::new(), members: Vec::new(), facts: BTreeMap::new() };
        for (rank, snap) in last.iter().enumerate() {
            let mut ids = Vec::new();
            let mut seen: BTreeMap<&[Rank], usize> = BTreeMap::new();
            for facts in snap.map(|s| &s.comms[..]).unwrap_or_default() {
                let n = seen.entry(&facts.members[..]).or_insert(0);
                let key = (&facts.members[..], *n);
                *n += 1;
                let next = comms.members.len() as u32;
                let id = *known.entry(key).or_insert(next);
                if id == next {
                    comms.members.push(facts.members.clone());
                }
                comms.facts.insert((id, rank), facts);
                ids.push(id);
            }
            comms.ids.push(ids);
        }
        comms
    }

    /// The job-wide id of `rank`'s communicator `local`.
    fn id(&self, rank: Rank, local: u32) -> u32 {
        self.ids.get(rank).and_then(|ids| ids.get(local as usize)).copied().unwrap_or(local)
    }

    fn members(&self, id: u32) -> &[Rank] {
        self.members.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Members of `id` other than `rank` that have not entered its split at `position`.
    fn not_at_split(&self, id: u32, rank: Rank, position: u64) -> Vec<Rank> {
        let entered = |m: Rank| self.facts.get(&(id, m)).is_some_and(|f| f.splits > position);
        self.members(id).iter().copied().filter(|&m| m != rank && !entered(m)).collect()
    }
}

/// `rank 3, tag 0`, `any source, any tag`.
fn source_words(source: Option<Rank>, tag: Option<Tag>) -> String {
    let source = source.map_or("any source".to_string(), |s| format!("rank {s}"));
    let tag = tag.map_or("any tag".to_string(), |t| format!("tag {t}"));
    format!("{source}, {tag}")
}

/// A pending operation in words and as an edge: (what, why, the edge).
fn facts(
    rank: Rank,
    p: &Pending,
    call: CallKind,
    inside: Option<&InCollective>,
    comms: &Comms,
) -> (String, String, WaitsOn) {
    let comm = comms.id(rank, p.comm);
    let name = p.request.as_ref().map_or(call, |(kind, _)| *kind).mpi_name();
    // Inside a collective, edges are labelled with the collective the user called.
    let label = |text: String| match inside {
        Some(c) if p.collective => format!("{} ({text})", c.kind.mpi_name()),
        _ => format!("{name} {text}"),
    };
    match p.op {
        PendingOp::Send { dest, tag, bytes, synchronous } => {
            let why = if synchronous {
                format!("a synchronous send: it waits for rank {dest} to post a matching receive")
            } else {
                format!("the library did not buffer it: it waits for rank {dest} to post a matching receive")
            };
            (
                format!("send to rank {dest}, tag {tag}, {bytes} bytes"),
                why,
                on_rank(dest, label(format!("to {dest}, tag {tag}, {bytes} bytes"))),
            )
        }
        PendingOp::Recv { source, tag, matched } => {
            let what = format!("receive from {}", source_words(source, tag));
            let why = if matched {
                "its message is matched and still arriving".to_string()
            } else {
                "no matching message has come".to_string()
            };
            let label = label(format!("from {}", source_words(source, tag)));
            let edge = match source {
                Some(s) => on_rank(s, label),
                None => WaitsOn { ranks: Vec::new(), any_of: vec![comm], what: label },
            };
            (what, why, edge)
        }
        PendingOp::Probe { source, tag } => {
            let label = label(format!("from {}", source_words(source, tag)));
            let edge = match source {
                Some(s) => on_rank(s, label),
                None => WaitsOn { ranks: Vec::new(), any_of: vec![comm], what: label },
            };
            (format!("probe for a message from {}", source_words(source, tag)), "none has come".into(), edge)
        }
        PendingOp::Join { position } => {
            let missing = comms.not_at_split(comm, rank, position);
            let why = format!(
                "it waits for rank{} {} to call {} on {} too",
                plural(missing.len()),
                list(&missing),
                call.mpi_name(),
                comm_name(comm)
            );
            let edge = WaitsOn {
                ranks: missing,
                any_of: Vec::new(),
                what: format!("{} on {}", call.mpi_name(), comm_name(comm)),
            };
            (format!("{} on {}", call.mpi_name(), comm_name(comm)), why, edge)
        }
    }
}

/// A blocked wait of `rank` as the simulator reports one.
fn describe(rank: Rank, wait: &Wait, comms: &Comms) -> BlockedCall {
    let call = wait.call.unwrap_or(CallKind::Wait);
    let inside = wait.collective.as_ref();
    let each: Vec<(String, String, WaitsOn)> =
        wait.pending.iter().map(|p| facts(rank, p, call, inside, comms)).collect();
    let first = wait.pending.first();
    let mut b = BlockedCall {
        rank,
        call,
        peer: None,
        tag: None,
        bytes: None,
        comm: first.map(|p| comms.id(rank, p.comm)),
        comm_name: None,
        root: None,
        location: wait.location.clone().unwrap_or_else(|| crate::trace::Site {
            file: "an unknown site".into(),
            line: 0,
            column: 0,
        }),
        waiting_for: String::new(),
        reason: String::new(),
        waits_on: Vec::new(),
        last_wildcard: None,
        send_wait: None,
    };
    match first.map(|p| p.op) {
        Some(PendingOp::Send { dest, tag, bytes, synchronous }) => {
            (b.peer, b.tag, b.bytes) = (Some(Peer::Rank(dest)), Some(tag), Some(bytes));
            b.send_wait = Some(if synchronous { SendWait::Synchronous } else { SendWait::AboveEagerLimit });
        }
        Some(PendingOp::Recv { source, tag, .. } | PendingOp::Probe { source, tag }) => {
            (b.peer, b.tag) = (Some(source.map_or(Peer::Any, Peer::Rank)), tag);
        }
        Some(PendingOp::Join { .. }) => {
            // The one member not there yet, if only one is missing.
            b.peer = match each.first().map(|(_, _, edge)| &edge.ranks[..]) {
                Some([one]) => Some(Peer::Rank(*one)),
                _ => None,
            };
        }
        None => {}
    }
    b.waiting_for = match &each[..] {
        [] => "nothing that MPI still holds: the wait had not returned when the job was stopped".into(),
        [(what, why, _)] => format!("{what}: {why}"),
        many => {
            let each: Vec<String> = wait
                .pending
                .iter()
                .zip(many)
                .map(|(p, (what, why, _))| {
                    let (kind, place) = match &p.request {
                        Some((kind, site)) => (*kind, format!(" (at {site})")),
                        None => (call, String::new()),
                    };
                    format!("{} {what}: {why}{place}", kind.mpi_name())
                })
                .collect();
            let all = if wait.any { "any" } else { "all" };
            format!("waits for {all} of {} requests: {}", many.len(), each.join("; "))
        }
    };
    // The headline already names a blocking call's own request.
    b.reason = match &each[..] {
        [(_, why, _)] if first.is_some_and(|p| p.request.is_none()) && inside.is_none() => why.clone(),
        _ => b.waiting_for.clone(),
    };
    let edges = each.into_iter().map(|(_, _, edge)| edge);
    b.waits_on = if wait.any { vec![any_of_edges(call, edges)] } else { edges.collect() };
    if let Some(c) = inside {
        // Blocked inside a collective's algorithm: name the collective the user called.
        if !matches!(first.map(|p| p.op), Some(PendingOp::Join { .. })) {
            b.waiting_for = format!("in a step of its {} algorithm, {}", c.algorithm, b.waiting_for);
            b.reason.clone_from(&b.waiting_for);
            b.tag = None;
            b.bytes = None;
            b.send_wait = None;
        }
        b.call = c.kind;
        b.location = c.location.clone();
        b.comm = Some(comms.id(rank, c.comm));
        b.root = c.root;
    }
    b
}
