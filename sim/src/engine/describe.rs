//! A deadlock described: each blocked rank's call, what it waits for in words and as
//! edges of the wait-for graph, and the report the graph and the hint are made from.

use super::rank::{RankState, Wait};
use super::requests::{Req, ReqOp, ReqState};
use super::Engine;
use crate::call::{CallKind, RecvArgs, ReqId, SendMode, WaitHow};
use crate::codec::Payload;
use crate::deadlock::graph::{any_of_edges, on_rank};
use crate::deadlock::{BlockedCall, DeadlockReport, Peer, SendWait, Stuck, WaitsOn, WildcardMatch};
use crate::error::RankActivity;
use crate::matching::Envelope;
use crate::site::CallSite;
use crate::time::Time;
use crate::trace::Protocol;
use crate::words::{list, plural};
use crate::{Rank, Tag};

impl Engine<'_> {
    /// What every rank is doing, for a run that a limit stops.
    pub(super) fn activities(&self) -> Vec<RankActivity> {
        (0..self.ranks.len())
            .map(|rank| match &self.ranks[rank].state {
                RankState::Done => RankActivity::Finished { rank },
                RankState::Blocked { kind, site, wait } => {
                    RankActivity::Blocked(Box::new(self.describe(rank, *kind, *site, wait)))
                }
                RankState::Ready => RankActivity::Running {
                    rank,
                    last_call: self.ranks[rank].last_call.map(|(call, site)| (call, site.site())),
                },
            })
            .collect()
    }

    /// The report of the deadlock the run ended in.
    pub(super) fn deadlock_report(&self) -> DeadlockReport {
        let mut blocked = Vec::new();
        let mut finished = Vec::new();
        for (rank, slot) in self.ranks.iter().enumerate() {
            match &slot.state {
                RankState::Done => finished.push(rank),
                RankState::Blocked { kind, site, wait } => {
                    let mut b = self.describe(rank, *kind, *site, wait);
                    // Blocked inside a collective's algorithm: name the collective the user called.
                    if let Some(open) = slot.collective.last() {
                        if !matches!(wait, Wait::Gate { .. }) {
                            b.waiting_for = format!("in a step of its {} algorithm, {}", open.algorithm, b.waiting_for);
                            b.reason.clone_from(&b.waiting_for);
                            b.tag = None;
                            b.bytes = None;
                            b.send_wait = None;
                        }
                        b.call = open.kind;
                        b.location = open.site.site();
                        b.comm = Some(open.comm);
                        b.root = open.root;
                    }
                    blocked.push(b)
                }
                RankState::Ready => unreachable!("a ready rank always has a pending resume"),
            }
        }
        for b in &mut blocked {
            b.comm_name = b.comm.map(|c| self.comm_name(c));
        }
        // A rendezvous envelope nobody received is a blocked send, already listed.
        let unreceived = self.unreceived_where(|m| m.protocol == Protocol::Eager);
        let time = self.ranks.iter().map(|r| r.clock).max().unwrap_or(Time::ZERO);
        let (eager_limit, strict) = (self.cfg.platform.eager_limit, self.cfg.strict);
        let stuck = Stuck { time, blocked, finished, unreceived, eager_limit, strict };
        DeadlockReport::analyse(stuck, |comm| self.members(comm))
    }

    /// What `rank`, blocked in `call` at `site`, waits for.
    fn describe(&self, rank: Rank, call: CallKind, site: CallSite, wait: &Wait) -> BlockedCall {
        let mut b = BlockedCall {
            rank,
            call,
            peer: None,
            tag: None,
            bytes: None,
            comm: None,
            comm_name: None,
            root: None,
            location: site.site(),
            waiting_for: String::new(),
            reason: String::new(),
            waits_on: Vec::new(),
            send_wait: None,
            last_wildcard: self.ranks[rank]
                .last_wildcard
                .map(|(source, site)| WildcardMatch { source, location: site.site() }),
        };
        let arrive = |b: &mut BlockedCall, comm: u32, missing: Vec<Rank>, why: &str| {
            b.peer = match missing[..] {
                [one] => Some(Peer::Rank(one)),
                _ => None,
            };
            b.comm = Some(comm);
            b.waits_on = missing
                .iter()
                .map(|&m| on_rank(m, format!("{} on {}", call.mpi_name(), self.comm_name(comm))))
                .collect();
            b.waiting_for = format!(
                "{why}it waits for rank{} {} to call {} on {} too",
                plural(missing.len()),
                list(&missing),
                call.mpi_name(),
                self.comm_name(comm)
            );
        };
        match wait {
            Wait::Split { comm, seq } => {
                let entry = &self.comms[*comm as usize];
                let missing = self.missing(*comm, |r| u64::from(entry.splits_called[r]), u64::from(*seq));
                arrive(&mut b, *comm, missing, "");
            }
            Wait::Gate { comm, position } => {
                let log = &self.coll_logs[comm];
                let missing = self.missing(*comm, |r| log.begun[r], *position);
                arrive(&mut b, *comm, missing, "in strict mode every collective synchronises: ");
            }
            Wait::Probe { filter } => {
                b.peer = Some(filter.source.map_or(Peer::Any, Peer::Rank));
                b.tag = filter.tag;
                b.comm = Some(filter.chan.comm);
                let what = format!("{} from {}", call.mpi_name(), source_words(filter.source, filter.tag));
                b.waits_on = vec![self.source_dep(filter, what)];
                b.waiting_for = format!(
                    "probe for a message from {}: {}{}",
                    source_words(filter.source, filter.tag),
                    self.unsent(filter.source),
                    self.near_misses(rank, filter)
                );
            }
            Wait::Requests { reqs, how } => {
                let pending: Vec<(&Req, ReqFacts)> =
                    reqs.iter().flatten().flat_map(|&id| self.pending_facts(rank, id)).collect();
                if let Some((_, first)) = pending.first() {
                    (b.peer, b.tag, b.bytes, b.comm) = (first.peer, first.tag, first.bytes, Some(first.comm));
                    b.send_wait = first.send_wait;
                }
                // The headline already names a blocking call's own request.
                let own =
                    pending.first().is_some_and(|(r, _)| r.kind == call) && self.ranks[rank].collective.is_empty();
                if let (true, [(_, one)]) = (own, &pending[..]) {
                    b.reason = one.brief.clone();
                }
                b.waiting_for = match &pending[..] {
                    [] => "nothing: its requests are all complete".into(),
                    [(_, one)] => format!("{}: {}", one.what, one.why),
                    many => {
                        let each: Vec<String> = many
                            .iter()
                            .map(|(r, f)| {
                                let place =
                                    if r.site == site { String::new() } else { format!(" (at {})", r.site.site()) };
                                format!("{} {}: {}{place}", r.kind.mpi_name(), f.what, f.why)
                            })
                            .collect();
                        let all = if *how == WaitHow::All { "all" } else { "any" };
                        format!("waits for {all} of {} requests: {}", many.len(), each.join("; "))
                    }
                };
                let facts = pending.into_iter().map(|(_, f)| f);
                let deps = facts.map(|f| f.dep);
                b.waits_on = if *how == WaitHow::All { deps.collect() } else { vec![any_of_edges(call, deps)] };
            }
        }
        if b.reason.is_empty() {
            b.reason = b.waiting_for.clone();
        }
        b
    }

    /// What a receive or probe filter waits on: its source, or any member of its
    /// communicator.
    fn source_dep(&self, filter: &RecvArgs, what: String) -> WaitsOn {
        match filter.source {
            Some(s) => on_rank(s, what),
            None => WaitsOn { ranks: Vec::new(), any_of: vec![filter.chan.comm], what },
        }
    }

    /// What pending request `id` of `rank` waits for: itself, or for a nonblocking
    /// collective, each pending step of its algorithm. Empty if it is not pending.
    fn pending_facts(&self, rank: Rank, id: ReqId) -> Vec<(&Req, ReqFacts)> {
        let Some(req) =
            self.requests.get(id).filter(|r| matches!(r.state, ReqState::Active | ReqState::Completing(..)))
        else {
            return Vec::new();
        };
        let ReqOp::Collective { algorithm } = req.op else {
            let step = |collective: bool, text: String| match self.ranks[rank].collective.last() {
                // Inside a collective, label edges with the collective the user called.
                Some(open) if collective => format!("{} ({text})", open.kind.mpi_name()),
                _ => format!("{} {text}", req.kind.mpi_name()),
            };
            return vec![(req, self.request_facts(rank, req, step))];
        };
        let steps = self.ranks[rank]
            .background
            .iter()
            .filter_map(|&s| self.requests.get(s))
            .filter(|s| s.background == Some(id) && matches!(s.state, ReqState::Active | ReqState::Completing(..)));
        steps
            .map(|s| {
                let label = |_: bool, text: String| format!("{} ({text})", req.kind.mpi_name());
                let mut facts = self.request_facts(rank, s, label);
                facts.what = format!("{} (a step of its {algorithm} algorithm: {})", req.kind.mpi_name(), facts.what);
                (req, facts)
            })
            .collect()
    }

    /// What pending send or receive `req` of `rank` waits for; `label(collective, text)`
    /// names its edge.
    fn request_facts(&self, rank: Rank, req: &Req, label: impl Fn(bool, String) -> String) -> ReqFacts {
        match &req.op {
            ReqOp::Send { dest, tag, mode, msg, payload, chan } => {
                let bytes = msg
                    .and_then(|m| self.messages.get(self.messages.id_of(m)))
                    .map(|m| m.payload.len())
                    .or(payload.as_ref().map(Payload::len));
                let send_wait = match mode {
                    SendMode::Synchronous => SendWait::Synchronous,
                    _ if self.cfg.strict => SendWait::Strict,
                    _ => SendWait::AboveEagerLimit,
                };
                let (why, brief) = match send_wait {
                    SendWait::Synchronous => ("a synchronous send", "a synchronous send"),
                    SendWait::Strict => {
                        ("in strict mode every send is synchronous and", "in strict mode every send is synchronous")
                    }
                    _ => ("above the eager limit, it", "above the eager limit"),
                };
                let b = bytes.unwrap_or(0);
                ReqFacts {
                    peer: Some(Peer::Rank(*dest)),
                    tag: Some(*tag),
                    bytes,
                    comm: chan.comm,
                    send_wait: Some(send_wait),
                    dep: on_rank(
                        *dest,
                        label(chan.collective, format!("to {dest}, tag {tag}, {}", crate::words::bytes(b))),
                    ),
                    what: format!("send to rank {dest}, tag {tag}, {}", crate::words::bytes(b)),
                    why: format!("{why} waits for rank {dest} to post a matching receive"),
                    brief: format!("{brief}: waits for rank {dest} to post a matching receive"),
                }
            }
            ReqOp::Recv { filter, .. } => ReqFacts {
                peer: Some(filter.source.map_or(Peer::Any, Peer::Rank)),
                tag: filter.tag,
                bytes: None,
                comm: filter.chan.comm,
                send_wait: None,
                dep: self.source_dep(
                    filter,
                    label(filter.chan.collective, format!("from {}", source_words(filter.source, filter.tag))),
                ),
                what: format!("receive from {}", source_words(filter.source, filter.tag)),
                why: format!("{}{}", self.unsent(filter.source), self.near_misses(rank, filter)),
                brief: format!("{}{}", self.unsent(filter.source), self.near_misses(rank, filter)),
            },
            ReqOp::Collective { .. } => unreachable!("a collective's steps are described, not the collective"),
        }
    }

    /// Why a receive from `source` has nothing to take, as the run saw it when it ended: the
    /// source is blocked before it sent a match, or finished without one.
    fn unsent(&self, source: Option<Rank>) -> String {
        let Some(s) = source else { return "no matching message has been sent".into() };
        match &self.ranks[s].state {
            RankState::Blocked { kind, site, .. } => match self.ranks[s].collective.last() {
                // Inside a collective's algorithm: the call its user made.
                Some(open) => format!(
                    "no matching message has been sent: rank {s} is blocked in {} on {}, at {}",
                    open.kind.mpi_name(),
                    self.comm_name(open.comm),
                    open.site.site()
                ),
                None => format!(
                    "no matching message has been sent: rank {s} is blocked in {} at {}",
                    kind.mpi_name(),
                    site.site()
                ),
            },
            RankState::Done => format!("no matching message was sent: rank {s} finished"),
            RankState::Ready => "no matching message has been sent".into(),
        }
    }

    /// Messages waiting at `rank` that `filter` just misses (right source or right tag),
    /// as a clause for a sentence; empty if none, and for a step of a collective (its
    /// messages are the algorithm's, not the user's).
    fn near_misses(&self, rank: Rank, filter: &RecvArgs) -> String {
        if filter.chan.collective {
            return String::new();
        }
        let source_ok = |e: &&Envelope| filter.source.is_none_or(|s| s == e.src);
        let tag_ok = |e: &&Envelope| filter.tag.is_none_or(|t| t == e.tag);
        let waiting = || self.mailboxes[rank].unexpected().filter(|e| e.chan.collective == filter.chan.collective);
        let near: Vec<String> = waiting()
            .filter(|e| e.chan == filter.chan)
            .filter(|e| source_ok(e) != tag_ok(e))
            .take(3)
            .map(|e| format!("rank {} with tag {}", e.src, e.tag))
            .collect();
        let elsewhere: Vec<String> = waiting()
            .filter(|e| e.chan != filter.chan && source_ok(e) && tag_ok(e))
            .take(3)
            .map(|e| format!("rank {} with tag {} on {}", e.src, e.tag, self.comm_name(e.chan.comm)))
            .collect();
        if !elsewhere.is_empty() {
            format!(
                " (a message from {} did arrive; this receive is on {}, and a receive matches only messages of its \
                 own communicator)",
                elsewhere.join(", and from "),
                self.comm_name(filter.chan.comm)
            )
        } else if near.is_empty() {
            String::new()
        } else {
            format!(" (a message from {} did arrive: check the source and tag)", near.join(", and from "))
        }
    }
}

/// What a pending request waits for, for a deadlock report.
struct ReqFacts {
    peer: Option<Peer>,
    tag: Option<Tag>,
    bytes: Option<u64>,
    comm: u32,
    send_wait: Option<SendWait>,
    dep: WaitsOn,
    /// The request in words (`send to rank 1, tag 0, 8 bytes`), why it waits, and why in
    /// brief for under a headline that already names the request.
    what: String,
    why: String,
    brief: String,
}

/// `rank 3, tag 0`, `any source, any tag`.
fn source_words(source: Option<Rank>, tag: Option<Tag>) -> String {
    let source = source.map_or("any source".to_string(), |s| format!("rank {s}"));
    let tag = tag.map_or("any tag".to_string(), |t| format!("tag {t}"));
    format!("{source}, {tag}")
}
