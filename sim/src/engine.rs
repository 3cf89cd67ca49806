//! The discrete-event engine: ranks, requests, messages and the event queue on the virtual
//! clock.
//!
//! Invariants:
//! - Events run in `(time, class, rank, seq)` order: at equal times, message deliveries and
//!   request completions (class 0) run before ranks resume (class 1), lower ranks first.
//! - A rank runs only while its clock is the earliest thing pending, so every call it makes
//!   sees exactly the messages that have arrived by its own virtual time.
//! - Nothing here reads the wall clock or iterates a hash map.

use crate::call::{Call, CallKind, CommHandle, Completion, Op, RecvArgs, Reply, ReqId, SendArgs, SendMode, WaitHow};
use crate::codec::Payload;
use crate::comm::{Status, PROC_NULL, TAG_UB};
use crate::error::{list, BlockedCall, DeadlockReport, ErrorClass, MpiError, Peer, RankFailure, SimError};
use crate::matching::{Envelope, Mailbox, Posted};
use crate::platform::Platform;
use crate::sched::{Choice, Oracle};
use crate::task::{Step, Tasks};
use crate::time::Time;
use crate::trace::{Event, EventKind, Protocol, Site};
use crate::{Rank, Tag};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::panic::Location;

/// The id of `COMM_WORLD` in the engine's table of communicators.
pub(crate) const WORLD_COMM: u32 = 0;

/// A communicator: its members as world ranks, indexed by their rank in it.
#[derive(Debug)]
struct CommEntry {
    /// `None` for `COMM_WORLD`, whose ranks are the world ranks.
    members: Option<Vec<Rank>>,
    /// World rank to rank in this communicator (empty for `COMM_WORLD`).
    local: BTreeMap<Rank, Rank>,
    size: usize,
    /// Per member (by rank here): how many splits it has called on this communicator.
    splits_called: Vec<u32>,
    /// Splits in progress: (sequence number, the callers so far as (rank, color, key)).
    splits: BTreeMap<u32, Vec<(Rank, Option<u32>, i32)>>,
}

impl CommEntry {
    fn new(members: Option<Vec<Rank>>, size: usize) -> CommEntry {
        let local = members.iter().flatten().enumerate().map(|(i, &w)| (w, i)).collect();
        CommEntry { members, local, size, splits_called: vec![0; size], splits: BTreeMap::new() }
    }

    /// The world rank of `rank` here (`PROC_NULL` stays).
    fn world(&self, rank: Rank) -> Rank {
        match &self.members {
            Some(m) if rank != PROC_NULL => m[rank],
            _ => rank,
        }
    }

    /// The rank here of world rank `world`.
    fn local(&self, world: Rank) -> Rank {
        match &self.members {
            Some(_) => self.local.get(&world).copied().unwrap_or(world),
            None => world,
        }
    }
}

/// What the engine needs to know of a world.
pub(crate) struct Config {
    pub ranks: usize,
    pub platform: Platform,
    pub strict: bool,
    pub step_limit: u64,
    pub record_trace: bool,
}

/// Counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunStats {
    /// Point-to-point messages sent (not counting those to `PROC_NULL`).
    pub messages: u64,
    /// Bytes in those messages.
    pub bytes: u64,
    /// MPI calls made by all ranks.
    pub calls: u64,
}

/// A line a rank printed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutputLine {
    /// Who printed it.
    pub rank: Rank,
    /// When, on the rank's clock.
    pub time: Time,
    /// The line.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    time: Time,
    class: u8,
    rank: u32,
    seq: u64,
}

const DELIVERY: u8 = 0;
const RESUME: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Resume(Rank),
    Envelope(u32),
    Complete(ReqId),
}

#[derive(Debug, PartialEq, Eq)]
struct Pending {
    key: Key,
    action: Action,
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

/// What a blocked rank waits for.
#[derive(Debug)]
enum Wait {
    Requests {
        reqs: Vec<Option<ReqId>>,
        how: WaitHow,
    },
    Probe {
        filter: RecvArgs,
    },
    /// A communicator split, until every member has called it.
    Split {
        comm: u32,
        seq: u32,
    },
}

#[derive(Debug)]
enum RankState {
    Ready,
    Blocked { kind: CallKind, site: &'static Location<'static>, wait: Wait },
    Done,
}

#[derive(Debug)]
struct RankSlot {
    clock: Time,
    state: RankState,
    reply: Option<Reply>,
    /// The call the rank is in, for its `Leave` event.
    in_call: Option<CallKind>,
    /// Blocked, with a resume scheduled that will make the reply to its wait.
    woken: bool,
    /// The collectives the rank is inside (kind, user's call site, communicator, world
    /// root), innermost last.
    collective: Vec<(CallKind, &'static Location<'static>, u32, Option<Rank>)>,
    /// When this rank's NIC can inject its next message (LogGP injection serialisation).
    nic_free: Time,
    /// Visibility time of the last envelope sent to each destination: keeps messages
    /// between a pair of ranks in order (non-overtaking).
    channel: BTreeMap<Rank, Time>,
}

#[derive(Debug)]
enum ReqOp {
    Send { dest: Rank, tag: Tag, context: u32, mode: SendMode, payload: Option<Payload>, msg: Option<u32> },
    Recv { filter: RecvArgs },
}

#[derive(Debug)]
enum ReqState {
    Inactive,
    Active,
    /// Matched; completes at a known future time.
    Completing(Status, Option<Payload>),
    Done(Status, Option<Payload>),
}

#[derive(Debug)]
struct Req {
    owner: Rank,
    kind: CallKind,
    site: &'static Location<'static>,
    op: ReqOp,
    state: ReqState,
    persistent: bool,
    /// Freed by the program while active: released when it completes.
    freed: bool,
}

#[derive(Debug)]
struct Message {
    id: u64,
    src: Rank,
    dst: Rank,
    tag: Tag,
    context: u32,
    payload: Payload,
    protocol: Protocol,
    mode: SendMode,
    send_req: ReqId,
    kind: CallKind,
    site: &'static Location<'static>,
    /// Eager: when the last byte reaches the receiver.
    arrival: Time,
    cancelled: bool,
}

/// Generational slab: handles of freed entries go stale instead of aliasing new ones.
struct Slab<T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    fn new() -> Self {
        Slab { slots: Vec::new(), free: Vec::new() }
    }

    fn insert(&mut self, value: T) -> ReqId {
        if let Some(slot) = self.free.pop() {
            let entry = &mut self.slots[slot as usize];
            entry.1 = Some(value);
            ReqId { slot, generation: entry.0 }
        } else {
            self.slots.push((0, Some(value)));
            ReqId { slot: (self.slots.len() - 1) as u32, generation: 0 }
        }
    }

    fn get(&self, id: ReqId) -> Option<&T> {
        match self.slots.get(id.slot as usize) {
            Some((generation, Some(v))) if *generation == id.generation => Some(v),
            _ => None,
        }
    }

    fn get_mut(&mut self, id: ReqId) -> Option<&mut T> {
        match self.slots.get_mut(id.slot as usize) {
            Some((generation, Some(v))) if *generation == id.generation => Some(v),
            _ => None,
        }
    }

    fn remove(&mut self, id: ReqId) -> Option<T> {
        let entry = self.slots.get_mut(id.slot as usize)?;
        if entry.0 != id.generation {
            return None;
        }
        let value = entry.1.take()?;
        entry.0 = entry.0.wrapping_add(1);
        self.free.push(id.slot);
        Some(value)
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|(_, v)| v.as_ref())
    }
}

/// How a handled call continues.
enum Flow {
    /// Reply at the given time on the rank's clock.
    Reply(Reply, Time),
    /// The rank is blocked until something completes.
    Block,
    /// The run is over (a failure was recorded).
    Stop,
}

/// The engine of one run.
pub(crate) struct Engine<'o> {
    cfg: Config,
    now: Time,
    seq: u64,
    queue: BinaryHeap<Reverse<Pending>>,
    ranks: Vec<RankSlot>,
    mailboxes: Vec<Mailbox>,
    comms: Vec<CommEntry>,
    requests: Slab<Req>,
    messages: Slab<Message>,
    next_msg_id: u64,
    steps: u64,
    oracle: &'o mut dyn Oracle,
    failure: Option<SimError>,
    pub stats: RunStats,
    pub events: Vec<Event>,
    pub output: Vec<OutputLine>,
}

/// The outcome of [`Engine::run`]: each rank's return value, or the error that ended the
/// run.
pub(crate) type EngineResult<R> = Result<Vec<R>, SimError>;

impl<'o> Engine<'o> {
    pub fn new(cfg: Config, oracle: &'o mut dyn Oracle) -> Engine<'o> {
        let n = cfg.ranks;
        Engine {
            ranks: (0..n)
                .map(|_| RankSlot {
                    clock: Time::ZERO,
                    state: RankState::Ready,
                    reply: None,
                    in_call: None,
                    woken: false,
                    collective: Vec::new(),
                    nic_free: Time::ZERO,
                    channel: BTreeMap::new(),
                })
                .collect(),
            mailboxes: (0..n).map(|_| Mailbox::default()).collect(),
            comms: vec![CommEntry::new(None, n)],
            cfg,
            now: Time::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            requests: Slab::new(),
            messages: Slab::new(),
            next_msg_id: 0,
            steps: 0,
            oracle,
            failure: None,
            stats: RunStats::default(),
            events: Vec::new(),
            output: Vec::new(),
        }
    }

    /// The time the last event happened: the makespan of a completed run.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Runs every rank's task to completion, failure or deadlock.
    pub fn run<R>(&mut self, tasks: &mut Tasks<R>) -> EngineResult<R> {
        let mut results: Vec<Option<R>> = (0..self.cfg.ranks).map(|_| None).collect();
        for rank in 0..self.cfg.ranks {
            self.push(Time::ZERO, RESUME, rank, Action::Resume(rank));
        }
        while let Some(Reverse(pending)) = self.queue.pop() {
            self.now = pending.key.time;
            match pending.action {
                Action::Resume(rank) => self.drive(rank, tasks, &mut results),
                Action::Envelope(msg) => self.deliver(msg),
                Action::Complete(req) => self.finish(req),
            }
            if self.failure.is_some() {
                break;
            }
        }
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        if results.iter().any(Option::is_none) {
            return Err(SimError::Deadlock(self.deadlock_report()));
        }
        Ok(results.into_iter().map(|r| r.expect("every rank returned")).collect())
    }

    fn push(&mut self, time: Time, class: u8, rank: Rank, action: Action) {
        self.seq += 1;
        let key = Key { time, class, rank: rank as u32, seq: self.seq };
        self.queue.push(Reverse(Pending { key, action }));
    }

    fn record(&mut self, time: Time, rank: Rank, kind: impl FnOnce() -> EventKind) {
        if self.cfg.record_trace {
            self.events.push(Event { time, rank, kind: kind() });
        }
    }

    /// Resumes `rank` and keeps it running while it stays the earliest thing pending.
    fn drive<R>(&mut self, rank: Rank, tasks: &mut Tasks<R>, results: &mut [Option<R>]) {
        if self.ranks[rank].woken {
            let reply = self.reply_to_wait(rank);
            self.ranks[rank].reply = Some(reply);
        }
        loop {
            let reply = self.ranks[rank].reply.take();
            if let Some(call) = self.ranks[rank].in_call.take() {
                self.record(self.now, rank, || EventKind::Leave { call });
            }
            self.steps += 1;
            if self.steps > self.cfg.step_limit {
                self.failure = Some(SimError::StepLimit { steps: self.cfg.step_limit, time: self.now });
                return;
            }
            match tasks.resume(rank, reply) {
                Step::Call(call) => {
                    self.stats.calls += 1;
                    // A collective's phase is entered by its begin marker and left by its
                    // end marker, so the phase spans the calls of its algorithm.
                    self.ranks[rank].in_call = match call.op {
                        Op::CollBegin { .. } => None,
                        Op::CollEnd => {
                            let (kind, ..) = self.ranks[rank].collective.pop().expect("a collective is open");
                            Some(kind)
                        }
                        _ => Some(call.kind),
                    };
                    match self.handle(rank, call) {
                        Flow::Reply(reply, at) => {
                            let slot = &mut self.ranks[rank];
                            slot.clock = at;
                            slot.reply = Some(reply);
                            let next = self.queue.peek().map(|p| (p.0.key.time, p.0.key.class, p.0.key.rank));
                            if next.is_none_or(|next| (at, RESUME, rank as u32) < next) {
                                self.now = at;
                                continue;
                            }
                            self.push(at, RESUME, rank, Action::Resume(rank));
                            return;
                        }
                        Flow::Block | Flow::Stop => return,
                    }
                }
                Step::Returned(value) => {
                    results[rank] = Some(value);
                    self.ranks[rank].state = RankState::Done;
                    self.record(self.now, rank, || EventKind::Exit);
                    return;
                }
                Step::Panicked(message, location) => {
                    self.failure = Some(SimError::RankFailed(RankFailure {
                        rank,
                        time: self.now,
                        call: None,
                        location,
                        error: None,
                        panic: Some(message),
                    }));
                    return;
                }
            }
        }
    }

    fn fail(&mut self, rank: Rank, kind: CallKind, site: &'static Location<'static>, error: MpiError) -> Flow {
        self.failure = Some(SimError::RankFailed(RankFailure {
            rank,
            time: self.now,
            call: Some(kind),
            location: Some(Site::from_location(site)),
            error: Some(error),
            panic: None,
        }));
        Flow::Stop
    }

    fn handle(&mut self, rank: Rank, call: Call) -> Flow {
        let Call { kind, site, op } = call;
        let now = self.now;
        let (peer, tag, bytes) = match &op {
            Op::Send { args, .. } | Op::SendInit { args } => {
                (Some(args.dest), Some(args.tag), Some(args.payload.len()))
            }
            Op::Sendrecv { send, .. } => (Some(send.dest), Some(send.tag), Some(send.payload.len())),
            Op::Recv { args, .. } | Op::RecvInit { args } | Op::Probe { args, .. } => (args.source, args.tag, None),
            _ => (None, None, None),
        };
        let (peer, bytes) = match &op {
            Op::CollBegin { root, bytes, .. } => (*root, *bytes),
            _ => (peer, bytes),
        };
        if !matches!(op, Op::CollEnd) {
            self.record(now, rank, || EventKind::Enter {
                call: kind,
                site: Site::from_location(site),
                peer,
                tag,
                bytes,
            });
        }
        if let Err(error) = self.validate(&op) {
            return self.fail(rank, kind, site, error);
        }
        let op = self.to_world(op);
        match op {
            Op::Send { args, block } => {
                let req = self.new_request(rank, kind, site, send_op(args), false);
                self.start(req);
                if block {
                    self.wait(rank, kind, site, vec![Some(req)], WaitHow::All)
                } else {
                    Flow::Reply(Reply::Request(req), now)
                }
            }
            Op::Recv { args, block } => {
                let req = self.new_request(rank, kind, site, ReqOp::Recv { filter: args }, false);
                self.start(req);
                if block {
                    self.wait(rank, kind, site, vec![Some(req)], WaitHow::All)
                } else {
                    Flow::Reply(Reply::Request(req), now)
                }
            }
            Op::Sendrecv { send, recv } => {
                let s = self.new_request(rank, kind, site, send_op(send), false);
                let r = self.new_request(rank, kind, site, ReqOp::Recv { filter: recv }, false);
                self.start(s);
                self.start(r);
                self.wait(rank, kind, site, vec![Some(s), Some(r)], WaitHow::All)
            }
            Op::Probe { args, block } => match self.mailboxes[rank].peek(&args) {
                Some(env) => Flow::Reply(Reply::Probed(Some(self.envelope_status(env, args.chan.comm))), now),
                None if block => {
                    self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Probe { filter: args } };
                    Flow::Block
                }
                None => Flow::Reply(Reply::Probed(None), now + Time(self.cfg.platform.poll_ns)),
            },
            Op::SendInit { args } => {
                Flow::Reply(Reply::Request(self.new_request(rank, kind, site, send_op(args), true)), now)
            }
            Op::RecvInit { args } => {
                Flow::Reply(Reply::Request(self.new_request(rank, kind, site, ReqOp::Recv { filter: args }, true)), now)
            }
            Op::Start { reqs } => {
                for (id, payload) in &reqs {
                    match self.requests.get(*id) {
                        Some(r) if r.owner == rank && r.persistent && matches!(r.state, ReqState::Inactive) => {}
                        Some(r) if r.owner == rank && r.persistent => {
                            let e = "start of a persistent request that is still active: wait for it (or test it to \
                                     completion) before starting it again";
                            return self.fail(rank, kind, site, MpiError::new(ErrorClass::Request, e));
                        }
                        _ => return self.fail(rank, kind, site, stale_request()),
                    }
                    if let (Some(p), Some(Req { op: ReqOp::Send { payload, .. }, .. })) =
                        (payload, self.requests.get_mut(*id))
                    {
                        *payload = Some(p.clone());
                    }
                }
                for (id, _) in reqs {
                    self.start(id);
                }
                Flow::Reply(Reply::Done, now)
            }
            Op::Wait { reqs, how, block } => {
                for id in reqs.iter().flatten() {
                    if !self.owns(rank, *id) {
                        return self.fail(rank, kind, site, stale_request());
                    }
                }
                if let Some(done) = self.try_complete(rank, &reqs, how) {
                    Flow::Reply(Reply::Completed(done), now)
                } else if block {
                    self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Requests { reqs, how } };
                    Flow::Block
                } else {
                    Flow::Reply(Reply::Completed(Vec::new()), now + Time(self.cfg.platform.poll_ns))
                }
            }
            Op::Cancel { req } => {
                if !self.owns(rank, req) {
                    return self.fail(rank, kind, site, stale_request());
                }
                self.cancel(req);
                Flow::Reply(Reply::Done, now)
            }
            Op::Free { req } => {
                let Some(r) = self.requests.get_mut(req).filter(|r| r.owner == rank) else {
                    return self.fail(rank, kind, site, stale_request());
                };
                if matches!(r.state, ReqState::Active | ReqState::Completing(..)) {
                    r.freed = true;
                } else {
                    self.requests.remove(req);
                }
                Flow::Reply(Reply::Done, now)
            }
            Op::Compute { duration } => self.compute(rank, self.cfg.platform.compute_time(duration)),
            Op::ComputeFlops { flops } => self.compute(rank, self.cfg.platform.flops_time(flops)),
            Op::Wtime => Flow::Reply(Reply::Time(now), now),
            Op::Print { text } => {
                for line in text.lines() {
                    self.output.push(OutputLine { rank, time: now, text: line.to_string() });
                    self.record(now, rank, || EventKind::Print { text: line.to_string() });
                }
                Flow::Reply(Reply::Done, now)
            }
            Op::Abort { code } => {
                self.failure = Some(SimError::Aborted { rank, code, location: Site::from_location(site), time: now });
                Flow::Stop
            }
            Op::Fail { error } => self.fail(rank, kind, site, error),
            Op::CommSplit { comm, color, key } => self.split(rank, kind, site, comm, color, key),
            Op::CollBegin { comm, root, .. } => {
                let world_root = root.map(|r| self.comms[comm as usize].world(r));
                self.ranks[rank].collective.push((kind, site, comm, world_root));
                Flow::Reply(Reply::Done, now)
            }
            Op::CollEnd => Flow::Reply(Reply::Done, now),
            Op::CommSelf => {
                self.comms.push(CommEntry::new(Some(vec![rank]), 1));
                let id = (self.comms.len() - 1) as u32;
                Flow::Reply(Reply::Comm(Some(CommHandle { id, rank: 0, size: 1 })), now)
            }
        }
    }

    /// Ranks in `op` are ranks of its communicator; the engine works in world ranks.
    fn to_world(&self, op: Op) -> Op {
        let send = |mut a: SendArgs| {
            a.dest = self.comms[a.chan.comm as usize].world(a.dest);
            a
        };
        let recv = |mut a: RecvArgs| {
            a.source = a.source.map(|s| self.comms[a.chan.comm as usize].world(s));
            a
        };
        match op {
            Op::Send { args, block } => Op::Send { args: send(args), block },
            Op::SendInit { args } => Op::SendInit { args: send(args) },
            Op::Recv { args, block } => Op::Recv { args: recv(args), block },
            Op::RecvInit { args } => Op::RecvInit { args: recv(args) },
            Op::Probe { args, block } => Op::Probe { args: recv(args), block },
            Op::Sendrecv { send: s, recv: r } => Op::Sendrecv { send: send(s), recv: recv(r) },
            other => other,
        }
    }

    /// A rank calls `MPI_Comm_split`: it waits until every member has; the last one makes
    /// the new communicators (one per color, ranked by key, then old rank) and wakes all.
    fn split(
        &mut self,
        world_rank: Rank,
        kind: CallKind,
        site: &'static Location<'static>,
        comm: u32,
        color: Option<u32>,
        key: i32,
    ) -> Flow {
        let entry = &mut self.comms[comm as usize];
        let rank = entry.local(world_rank);
        let seq = entry.splits_called[rank];
        entry.splits_called[rank] += 1;
        let callers = entry.splits.entry(seq).or_default();
        callers.push((rank, color, key));
        if callers.len() < entry.size {
            self.ranks[world_rank].state = RankState::Blocked { kind, site, wait: Wait::Split { comm, seq } };
            return Flow::Block;
        }
        let callers = entry.splits.remove(&seq).expect("just filled");
        let mut groups: BTreeMap<u32, Vec<(i32, Rank)>> = BTreeMap::new();
        for &(r, color, key) in &callers {
            if let Some(c) = color {
                groups.entry(c).or_default().push((key, r));
            }
        }
        let mut handles: BTreeMap<Rank, CommHandle> = BTreeMap::new();
        for (_, mut members) in groups {
            members.sort();
            let parent = &self.comms[comm as usize];
            let world: Vec<Rank> = members.iter().map(|&(_, r)| parent.world(r)).collect();
            let id = self.comms.len() as u32;
            for (new_rank, &w) in world.iter().enumerate() {
                handles.insert(w, CommHandle { id, rank: new_rank, size: world.len() });
            }
            let size = world.len();
            self.comms.push(CommEntry::new(Some(world), size));
        }
        let parent = &self.comms[comm as usize];
        let others: Vec<Rank> = callers.iter().map(|&(r, ..)| parent.world(r)).filter(|&w| w != world_rank).collect();
        for w in others {
            self.wake(w, Reply::Comm(handles.get(&w).copied()));
        }
        Flow::Reply(Reply::Comm(handles.get(&world_rank).copied()), self.now)
    }

    /// What a probe on communicator `comm` tells of an envelope.
    fn envelope_status(&self, env: &Envelope, comm: u32) -> Status {
        Status { source: self.comms[comm as usize].local(env.src), tag: env.tag, count: env.bytes, cancelled: false }
    }

    /// Whether `id` is a live request of `rank`.
    fn owns(&self, rank: Rank, id: ReqId) -> bool {
        self.requests.get(id).is_some_and(|r| r.owner == rank)
    }

    fn compute(&mut self, rank: Rank, duration: Time) -> Flow {
        let end = self.now + duration;
        self.record(self.now, rank, || EventKind::Compute { end });
        Flow::Reply(Reply::Done, end)
    }

    /// Checks ranks and tags before anything happens, as MPI's argument checks do.
    fn validate(&self, op: &Op) -> Result<(), MpiError> {
        let comm = match op {
            Op::Send { args, .. } | Op::SendInit { args } | Op::Sendrecv { send: args, .. } => args.chan.comm,
            Op::Recv { args, .. } | Op::RecvInit { args } | Op::Probe { args, .. } => args.chan.comm,
            _ => return Ok(()),
        };
        let n = self.comms[comm as usize].size;
        let rank_ok = |r: Rank| r < n || r == PROC_NULL;
        let bad_rank = |what: &str, r: Rank| {
            MpiError::new(
                ErrorClass::Rank,
                format!(
                    "invalid {what} rank {r}: the communicator has {n} rank{} (0 to {}); use one of them, PROC_NULL{}",
                    crate::error::plural(n),
                    n - 1,
                    if what == "source" { " or ANY_SOURCE" } else { "" }
                ),
            )
        };
        let bad_tag = |t: Tag, recv: bool| {
            MpiError::new(
                ErrorClass::Tag,
                format!(
                    "invalid tag {t}: tags run from 0 to {TAG_UB}{}",
                    if recv { " (or ANY_TAG to receive any)" } else { "; only receives may use ANY_TAG" }
                ),
            )
        };
        let check_send = |a: &SendArgs| {
            if !rank_ok(a.dest) {
                Err(bad_rank("destination", a.dest))
            } else if a.tag < 0 {
                Err(bad_tag(a.tag, false))
            } else {
                Ok(())
            }
        };
        let check_recv = |a: &RecvArgs| match (a.source, a.tag) {
            (Some(s), _) if !rank_ok(s) => Err(bad_rank("source", s)),
            (_, Some(t)) if t < 0 => Err(bad_tag(t, true)),
            _ => Ok(()),
        };
        match op {
            Op::Send { args, .. } | Op::SendInit { args } => check_send(args),
            Op::Recv { args, .. } | Op::RecvInit { args } | Op::Probe { args, .. } => check_recv(args),
            Op::Sendrecv { send, recv } => check_send(send).and_then(|_| check_recv(recv)),
            _ => Ok(()),
        }
    }

    fn new_request(
        &mut self,
        owner: Rank,
        kind: CallKind,
        site: &'static Location<'static>,
        op: ReqOp,
        persistent: bool,
    ) -> ReqId {
        self.requests.insert(Req { owner, kind, site, op, state: ReqState::Inactive, persistent, freed: false })
    }

    /// Activates a request: a send injects its message, a receive is matched or posted.
    fn start(&mut self, id: ReqId) {
        let req = self.requests.get_mut(id).expect("started requests exist");
        req.state = ReqState::Active;
        let (owner, persistent, kind, site) = (req.owner, req.persistent, req.kind, req.site);
        match &mut req.op {
            ReqOp::Send { dest, tag, mode, payload, context, .. } => {
                let (dest, tag, mode, context) = (*dest, *tag, *mode, *context);
                let payload = if persistent { payload.clone() } else { payload.take() }.expect("sends have data");
                if dest == PROC_NULL {
                    self.complete_at(id, self.now, Status::EMPTY, None);
                    return;
                }
                let m = self.inject(owner, dest, tag, context, mode, payload, id, kind, site);
                if let Some(Req { op: ReqOp::Send { msg, .. }, .. }) = self.requests.get_mut(id) {
                    *msg = Some(m);
                }
            }
            ReqOp::Recv { filter } => {
                let filter = *filter;
                if filter.source == Some(PROC_NULL) {
                    let status = Status { source: PROC_NULL, tag: crate::comm::ANY_TAG, count: 0, cancelled: false };
                    self.complete_at(id, self.now, status, None);
                    return;
                }
                let candidates = self.mailboxes[owner].candidates(&filter);
                if candidates.is_empty() {
                    self.mailboxes[owner].push_posted(Posted { req: id, filter });
                } else {
                    let pick = if candidates.len() == 1 {
                        0
                    } else {
                        self.oracle.choose(Choice::WildcardMatch { rank: owner }, candidates.len())
                    };
                    let env = self.mailboxes[owner].take_unexpected(candidates[pick]);
                    self.matched(env.msg, id);
                }
            }
        }
    }

    /// Puts a message on the wire and schedules its envelope at the receiver.
    #[allow(clippy::too_many_arguments)]
    fn inject(
        &mut self,
        src: Rank,
        dst: Rank,
        tag: Tag,
        context: u32,
        mode: SendMode,
        payload: Payload,
        send_req: ReqId,
        kind: CallKind,
        site: &'static Location<'static>,
    ) -> u32 {
        let platform = &self.cfg.platform;
        let link = platform.link(src, dst);
        let bytes = payload.len();
        let protocol = match mode {
            SendMode::Buffered => Protocol::Eager,
            SendMode::Synchronous => Protocol::Rendezvous,
            SendMode::Standard | SendMode::Ready if !self.cfg.strict && platform.is_eager(bytes) => Protocol::Eager,
            SendMode::Standard | SendMode::Ready => Protocol::Rendezvous,
        };
        let sent = self.now + Time(link.send_overhead_ns);
        let (arrival, send_done) = match protocol {
            Protocol::Eager => {
                let slot = &mut self.ranks[src];
                let inject = sent.max(slot.nic_free);
                slot.nic_free = inject + Time(link.gap_ns).max(link.wire_time(bytes));
                (Some(inject + link.transfer_time(bytes)), Some(sent))
            }
            Protocol::Rendezvous => (None, None),
        };
        let last = self.ranks[src].channel.get(&dst).copied().unwrap_or(Time::ZERO);
        let visible = arrival.unwrap_or(sent).max(last);
        self.ranks[src].channel.insert(dst, visible);
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        self.stats.messages += 1;
        self.stats.bytes += bytes;
        self.record(self.now, src, || EventKind::Send { msg: id, dst, tag, bytes, protocol, arrival });
        let m = self.messages.insert(Message {
            id,
            src,
            dst,
            tag,
            context,
            payload,
            protocol,
            mode,
            send_req,
            kind,
            site,
            arrival: arrival.unwrap_or(Time::ZERO),
            cancelled: false,
        });
        if let Some(done) = send_done {
            self.complete_at(send_req, done, Status::EMPTY, None);
        }
        self.push(visible, DELIVERY, src, Action::Envelope(m.slot));
        m.slot
    }

    fn message_id(&self, slot: u32) -> ReqId {
        let generation = self.messages.slots[slot as usize].0;
        ReqId { slot, generation }
    }

    /// An envelope becomes visible at its destination.
    fn deliver(&mut self, slot: u32) {
        let mid = self.message_id(slot);
        let m = self.messages.get(mid).expect("delivered messages exist");
        if m.cancelled {
            self.messages.remove(mid);
            return;
        }
        let env = Envelope { msg: slot, src: m.src, tag: m.tag, context: m.context, bytes: m.payload.len() };
        let (dst, id, mode, src) = (m.dst, m.id, m.mode, m.src);
        self.record(self.now, dst, || EventKind::Arrive { msg: id, src });
        if let Some(posted) = self.mailboxes[dst].take_posted(&env) {
            self.matched(slot, posted.req);
            return;
        }
        if mode == SendMode::Ready {
            let m = self.messages.get(mid).expect("message exists");
            let (kind, site, tag) = (m.kind, m.site, m.tag);
            let e = format!(
                "ready send to rank {dst} with tag {tag} found no matching receive posted there; a ready send is \
                 correct only when the receive is already posted: use send, or post the receive first"
            );
            self.fail(src, kind, site, MpiError::new(ErrorClass::Other, e));
            return;
        }
        self.mailboxes[dst].push_unexpected(env);
        if let RankState::Blocked { wait: Wait::Probe { filter }, .. } = &self.ranks[dst].state {
            if !self.ranks[dst].woken && self.mailboxes[dst].peek(filter).is_some() {
                self.schedule_wake(dst);
            }
        }
    }

    /// A receive request takes a message: data moves (rendezvous) and both sides complete.
    fn matched(&mut self, slot: u32, recv: ReqId) {
        let mid = self.message_id(slot);
        let m = self.messages.remove(mid).expect("matched messages exist");
        let link = self.cfg.platform.link(m.src, m.dst).clone();
        let bytes = m.payload.len();
        let comm = match self.requests.get(recv).map(|r| &r.op) {
            Some(ReqOp::Recv { filter }) => filter.chan.comm,
            _ => WORLD_COMM,
        };
        let source = self.comms[comm as usize].local(m.src);
        let status = Status { source, tag: m.tag, count: bytes, cancelled: false };
        let arrival = match m.protocol {
            Protocol::Eager => m.arrival.max(self.now),
            Protocol::Rendezvous => {
                let slot = &mut self.ranks[m.src];
                let inject = (self.now + Time(self.cfg.platform.handshake_ns)).max(slot.nic_free);
                slot.nic_free = inject + Time(link.gap_ns).max(link.wire_time(bytes));
                let arrival = inject + link.transfer_time(bytes);
                self.complete_at(m.send_req, arrival, Status::EMPTY, None);
                arrival
            }
        };
        let (id, src) = (m.id, m.src);
        self.record(self.now, m.dst, || EventKind::Match { msg: id, src, arrival });
        self.complete_at(recv, arrival + Time(link.recv_overhead_ns), status, Some(m.payload));
    }

    /// Completes a request at `time`: now, or by a scheduled event.
    fn complete_at(&mut self, id: ReqId, time: Time, status: Status, payload: Option<Payload>) {
        let req = self.requests.get_mut(id).expect("completing requests exist");
        if time <= self.now {
            req.state = ReqState::Done(status, payload);
            self.completed(id);
        } else {
            req.state = ReqState::Completing(status, payload);
            let owner = req.owner;
            self.push(time, DELIVERY, owner, Action::Complete(id));
        }
    }

    /// A scheduled completion is due.
    fn finish(&mut self, id: ReqId) {
        let Some(req) = self.requests.get_mut(id) else {
            return;
        };
        if let ReqState::Completing(status, payload) = std::mem::replace(&mut req.state, ReqState::Inactive) {
            req.state = ReqState::Done(status, payload);
            self.completed(id);
        }
    }

    /// A request just became done: release it if freed, or wake its owner if its wait is
    /// now satisfied. The owner's reply is made when it resumes, so that every request
    /// completing at this same instant is in it.
    fn completed(&mut self, id: ReqId) {
        let req = self.requests.get(id).expect("completed requests exist");
        let owner = req.owner;
        if req.freed {
            self.requests.remove(id);
            return;
        }
        let due = match &self.ranks[owner].state {
            RankState::Blocked { wait: Wait::Requests { reqs, how }, .. } if reqs.contains(&Some(id)) => {
                !self.ranks[owner].woken && self.done_indices(reqs, *how).is_some()
            }
            _ => false,
        };
        if due {
            self.schedule_wake(owner);
        }
    }

    /// Resumes a blocked rank at the current time; its reply is made when it runs.
    fn schedule_wake(&mut self, rank: Rank) {
        let slot = &mut self.ranks[rank];
        slot.woken = true;
        slot.clock = self.now;
        self.push(self.now, RESUME, rank, Action::Resume(rank));
    }

    /// The reply to the wait a woken rank was blocked in, made as it resumes.
    fn reply_to_wait(&mut self, rank: Rank) -> Reply {
        self.ranks[rank].woken = false;
        match std::mem::replace(&mut self.ranks[rank].state, RankState::Ready) {
            RankState::Blocked { wait: Wait::Requests { reqs, how }, .. } => {
                Reply::Completed(self.try_complete(rank, &reqs, how).expect("a woken wait is satisfied"))
            }
            RankState::Blocked { wait: Wait::Probe { filter }, .. } => {
                let env = self.mailboxes[rank].peek(&filter).expect("a woken probe has its message");
                Reply::Probed(Some(self.envelope_status(env, filter.chan.comm)))
            }
            other => unreachable!("rank {rank} woken in state {other:?}"),
        }
    }

    /// Resumes a rank with a reply made now (for calls that complete all their ranks at once).
    fn wake(&mut self, rank: Rank, reply: Reply) {
        let slot = &mut self.ranks[rank];
        slot.state = RankState::Ready;
        slot.reply = Some(reply);
        slot.clock = self.now;
        self.push(self.now, RESUME, rank, Action::Resume(rank));
    }

    /// Blocks `rank` until its requests satisfy `how`, or replies at once if they do.
    fn wait(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: &'static Location<'static>,
        reqs: Vec<Option<ReqId>>,
        how: WaitHow,
    ) -> Flow {
        match self.try_complete(rank, &reqs, how) {
            Some(done) => Flow::Reply(Reply::Completed(done), self.now),
            None => {
                self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Requests { reqs, how } };
                Flow::Block
            }
        }
    }

    /// The indices of the done requests among `reqs` if they satisfy `how` (inactive and
    /// null requests count as complete and are not listed), or `None`.
    fn done_indices(&self, reqs: &[Option<ReqId>], how: WaitHow) -> Option<Vec<usize>> {
        let mut active = 0;
        let mut done = Vec::new();
        for (index, id) in reqs.iter().enumerate() {
            let Some(req) = id.and_then(|id| self.requests.get(id)) else { continue };
            match req.state {
                ReqState::Inactive => {}
                ReqState::Done(..) => {
                    active += 1;
                    done.push(index);
                }
                _ => active += 1,
            }
        }
        match how {
            WaitHow::All if done.len() < active => None,
            WaitHow::Any | WaitHow::Some if active > 0 && done.is_empty() => None,
            _ => Some(done),
        }
    }

    /// If `reqs` satisfy `how`, completes them (taking their status and data) and returns
    /// the completions; `Any` completes one, chosen by the oracle among the done ones.
    fn try_complete(&mut self, rank: Rank, reqs: &[Option<ReqId>], how: WaitHow) -> Option<Vec<Completion>> {
        let mut chosen = self.done_indices(reqs, how)?;
        if how == WaitHow::Any && chosen.len() > 1 {
            chosen = vec![chosen[self.oracle.choose(Choice::AnyRequest { rank }, chosen.len())]];
        }
        Some(
            chosen
                .into_iter()
                .map(|index| self.take_completion(index, reqs[index].expect("done is non-null")))
                .collect(),
        )
    }

    fn take_completion(&mut self, index: usize, id: ReqId) -> Completion {
        let req = self.requests.get_mut(id).expect("completion exists");
        let ReqState::Done(status, payload) = std::mem::replace(&mut req.state, ReqState::Inactive) else {
            unreachable!("only done requests complete")
        };
        if !req.persistent {
            self.requests.remove(id);
        }
        Completion { index, status, payload }
    }

    /// Cancels a request whose message has not been matched; otherwise does nothing.
    fn cancel(&mut self, id: ReqId) {
        let req = self.requests.get(id).expect("checked by the caller");
        if !matches!(req.state, ReqState::Active) {
            return;
        }
        let owner = req.owner;
        let cancelled = match &req.op {
            ReqOp::Recv { .. } => self.mailboxes[owner].cancel_posted(id),
            ReqOp::Send { msg: Some(slot), .. } => {
                let slot = *slot;
                let mid = self.message_id(slot);
                match self.messages.get_mut(mid) {
                    Some(m) if m.send_req == id => {
                        let dst = m.dst;
                        if !self.mailboxes[dst].cancel_unexpected(slot) {
                            // Still in flight: dropped when its envelope would arrive.
                            m.cancelled = true;
                        } else {
                            self.messages.remove(mid);
                        }
                        true
                    }
                    _ => false,
                }
            }
            ReqOp::Send { msg: None, .. } => false,
        };
        if cancelled {
            let status = Status { cancelled: true, ..Status::EMPTY };
            self.complete_at(id, self.now, status, None);
        }
    }

    fn deadlock_report(&self) -> DeadlockReport {
        let mut blocked = Vec::new();
        let mut finished = Vec::new();
        for (rank, slot) in self.ranks.iter().enumerate() {
            match &slot.state {
                RankState::Done => finished.push(rank),
                RankState::Blocked { kind, site, wait } => {
                    let mut b = self.describe(rank, *kind, site, wait);
                    // Blocked inside a collective's algorithm: name the collective the user called.
                    if let Some(&(coll, site, comm, root)) = slot.collective.last() {
                        let root = root.map_or(String::new(), |r| format!(" (root {r})"));
                        b.waiting_for =
                            format!("{}{root} on communicator {comm}: its {}", coll.mpi_name(), b.waiting_for);
                        b.call = coll;
                        b.location = Site::from_location(site);
                    }
                    blocked.push(b)
                }
                RankState::Ready => unreachable!("a ready rank always has a pending resume"),
            }
        }
        let hint = deadlock_hint(&blocked, &finished, &self.cfg.platform, self.cfg.strict);
        let time = self.ranks.iter().map(|r| r.clock).max().unwrap_or(Time::ZERO);
        DeadlockReport { time, blocked, finished, eager_limit: self.cfg.platform.eager_limit, hint }
    }

    fn describe(&self, rank: Rank, call: CallKind, site: &'static Location<'static>, wait: &Wait) -> BlockedCall {
        let location = Site::from_location(site);
        let any = |s: Option<Rank>| s.map_or(Peer::Any, Peer::Rank);
        let tag_text = |t: Option<Tag>| t.map_or("any tag".to_string(), |t| format!("tag {t}"));
        match wait {
            Wait::Split { comm, seq } => {
                let entry = &self.comms[*comm as usize];
                let missing: Vec<Rank> =
                    (0..entry.size).filter(|&r| entry.splits_called[r] <= *seq).map(|r| entry.world(r)).collect();
                BlockedCall {
                    rank,
                    call,
                    peer: match missing[..] {
                        [one] => Some(Peer::Rank(one)),
                        _ => None,
                    },
                    tag: None,
                    bytes: None,
                    location,
                    waiting_for: format!(
                        "{} of communicator {comm}: waits for rank{} {} to call it too",
                        call.mpi_name(),
                        crate::error::plural(missing.len()),
                        list(&missing)
                    ),
                }
            }
            Wait::Probe { filter } => BlockedCall {
                rank,
                call,
                peer: Some(any(filter.source)),
                tag: filter.tag,
                bytes: None,
                location,
                waiting_for: format!(
                    "probe for a message from {} with {}: none was sent",
                    any(filter.source),
                    tag_text(filter.tag)
                ),
            },
            Wait::Requests { reqs, .. } => {
                let pending = reqs
                    .iter()
                    .flatten()
                    .filter_map(|id| self.requests.get(*id))
                    .find(|r| matches!(r.state, ReqState::Active | ReqState::Completing(..)));
                let Some(req) = pending else {
                    return BlockedCall {
                        rank,
                        call,
                        peer: None,
                        tag: None,
                        bytes: None,
                        location,
                        waiting_for: "nothing".into(),
                    };
                };
                match &req.op {
                    ReqOp::Send { dest, tag, mode, msg, payload, .. } => {
                        let bytes = msg
                            .and_then(|m| self.messages.get(self.message_id(m)))
                            .map(|m| m.payload.len())
                            .or(payload.as_ref().map(Payload::len));
                        let why = match mode {
                            SendMode::Synchronous => "a synchronous send",
                            _ if self.cfg.strict => "in strict mode every send is synchronous and",
                            _ => "above the eager limit, it",
                        };
                        BlockedCall {
                            rank,
                            call,
                            peer: Some(Peer::Rank(*dest)),
                            tag: Some(*tag),
                            bytes,
                            location,
                            waiting_for: format!(
                                "send to rank {dest}, tag {tag}, {} bytes: {why} waits for rank {dest} to post a matching receive",
                                bytes.unwrap_or(0)
                            ),
                        }
                    }
                    ReqOp::Recv { filter } => BlockedCall {
                        rank,
                        call,
                        peer: Some(any(filter.source)),
                        tag: filter.tag,
                        bytes: None,
                        location,
                        waiting_for: format!(
                            "receive from {} with {}: no matching message was sent",
                            match filter.source {
                                Some(s) => format!("rank {s}"),
                                None => "any source".into(),
                            },
                            tag_text(filter.tag)
                        ),
                    },
                }
            }
        }
    }

    /// Messages that arrived and were never received, per destination rank: `(rank, src, tag, bytes)`.
    pub fn unreceived(&self) -> Vec<(Rank, Rank, Tag, u64)> {
        let mut out = Vec::new();
        for (rank, mb) in self.mailboxes.iter().enumerate() {
            for env in mb.unexpected() {
                out.push((rank, env.src, env.tag, env.bytes));
            }
        }
        out
    }

    /// Requests never completed or freed: `(rank, call, site)`.
    pub fn dangling_requests(&self) -> Vec<(Rank, CallKind, Site)> {
        let mut out: Vec<_> = self
            .requests
            .iter()
            .filter(|r| !(r.freed || r.persistent && matches!(r.state, ReqState::Inactive)))
            .map(|r| (r.owner, r.kind, Site::from_location(r.site)))
            .collect();
        out.sort();
        out
    }
}

fn send_op(args: SendArgs) -> ReqOp {
    ReqOp::Send {
        dest: args.dest,
        tag: args.tag,
        context: args.chan.context(),
        mode: args.mode,
        payload: Some(args.payload),
        msg: None,
    }
}

fn stale_request() -> MpiError {
    MpiError::new(
        ErrorClass::Request,
        "this request is not one of this rank's live requests (it was completed, freed, or made by another run)",
    )
}

/// Advice for a deadlock, chosen by the pattern of the blocked calls.
fn deadlock_hint(blocked: &[BlockedCall], finished: &[Rank], platform: &Platform, strict: bool) -> String {
    let sends = blocked.iter().filter(|b| b.bytes.is_some()).count();
    let waits_on_finished = blocked.iter().any(|b| matches!(b.peer, Some(Peer::Rank(p)) if finished.contains(&p)));
    if waits_on_finished {
        return format!(
            "rank{} {} finished while others still wait for {}: a matching send or receive is missing there",
            crate::error::plural(finished.len()),
            list(finished),
            if finished.len() == 1 { "it" } else { "them" }
        );
    }
    if sends == blocked.len() {
        let limit = if strict {
            "in strict mode no send is buffered, so every send".to_string()
        } else {
            format!("messages above the eager limit ({}) are not buffered, so each send", platform.eager_limit_text())
        };
        return format!(
            "every blocked rank is sending and none is receiving; {limit} waits for its receiver. Order the calls by \
             rank parity (even ranks send first, odd ranks receive first), or use sendrecv, or isend/irecv with waitall"
        );
    }
    if sends == 0 {
        return "every blocked rank is receiving and none is sending: each waits for a message that is never sent. \
                Check the sources and tags, and let one side send before it receives"
            .into();
    }
    "each blocked rank waits for another: follow the peers above; a send or receive is missing or in the wrong order"
        .into()
}
