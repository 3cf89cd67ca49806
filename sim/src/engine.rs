//! The discrete-event engine: ranks, requests, messages and the event queue on the virtual
//! clock.
//!
//! Invariants:
//! - Events run in `(time, class, rank, seq)` order: at equal times, message deliveries and
//!   request completions (class 0) run before ranks resume (class 1), lower ranks first.
//! - A rank runs only while its clock is the earliest thing pending, so every call it makes
//!   sees exactly the messages that have arrived by its own virtual time.
//! - Nothing here reads the wall clock or iterates a hash map.

use crate::call::{
    is_satisfied, satisfying, stale_request, Call, CallKind, CommHandle, Completion, Op, Progress, RecvArgs, Reply,
    ReqId, SendArgs, SendMode, WaitHow,
};
use crate::codec::Payload;
use crate::comm::{Status, PROC_NULL};
use crate::error::{
    comm_name, list, plural, BlockedCall, DeadlockReport, ErrorClass, MpiError, Peer, RankFailure, SimError, Spinning,
    Unreceived, WaitsOn, WildcardMatch,
};
use crate::matching::{Envelope, Mailbox, Posted};
use crate::platform::Platform;
use crate::sched::{Choice, Oracle};
use crate::task::{Step, Tasks};
use crate::time::Time;
use crate::trace::{Event, EventKind, Protocol, Site};
use crate::waitfor::{on_rank, WaitForGraph};
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
    /// Virtual time spent in `compute` calls, summed over the ranks (POP's useful time).
    pub compute: Time,
    /// The most virtual time one rank spent in `compute` calls.
    pub compute_max: Time,
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
    /// In strict mode, a blocking collective until every member has begun it.
    Gate {
        comm: u32,
        position: u64,
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
    /// root, algorithm), innermost last.
    collective: Vec<(CallKind, &'static Location<'static>, u32, Option<Rank>, &'static str)>,
    /// When this rank's NIC can inject its next message (LogGP injection serialisation).
    nic_free: Time,
    /// Visibility time of the last envelope sent to each destination: keeps messages
    /// between a pair of ranks in order (non-overtaking).
    channel: BTreeMap<Rank, Time>,
    /// The last wildcard receive that matched: (sender, where it was posted).
    last_wildcard: Option<(Rank, &'static Location<'static>)>,
    /// Whether the rank's last call was a poll that found nothing.
    polling: bool,
    /// Polls that found nothing, and the last of them.
    polls: u64,
    last_poll: Option<(CallKind, &'static Location<'static>)>,
    /// Virtual time this rank has spent in `compute` calls.
    computed: Time,
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
    /// The send's request; `None` for a blocking eager send, which completes at once.
    send_req: Option<ReqId>,
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
    /// Per communicator: the collectives its members have begun, to match them up.
    coll_logs: BTreeMap<u32, CollLog>,
    /// Polls in a row (over all ranks) that found nothing, with nothing else happening.
    poll_streak: u64,
    /// Standard and ready sends that went eager, and collectives begun: what a run with
    /// zero buffering and synchronising collectives could do differently.
    buffered_sends: u64,
    collectives_begun: u64,
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
                    last_wildcard: None,
                    polling: false,
                    polls: 0,
                    last_poll: None,
                    computed: Time::ZERO,
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
            coll_logs: BTreeMap::new(),
            poll_streak: 0,
            buffered_sends: 0,
            collectives_begun: 0,
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
                Action::Envelope(msg) => {
                    self.poll_streak = 0;
                    self.deliver(msg)
                }
                Action::Complete(req) => {
                    self.poll_streak = 0;
                    self.finish(req)
                }
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
                let spinning = self.spinning(self.cfg.step_limit / 100);
                self.failure = Some(SimError::StepLimit { steps: self.cfg.step_limit, time: self.now, spinning });
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
        // Any call but a fruitless poll is progress; the poll branches below count again.
        let streak = std::mem::take(&mut self.poll_streak);
        self.ranks[rank].polling = false;
        if !matches!(op, Op::CollEnd) {
            self.record(now, rank, || enter_event(kind, site, &op));
        }
        if let Err(error) = self.validate(&op) {
            return self.fail(rank, kind, site, error);
        }
        let op = self.to_world(op);
        match op {
            Op::Send { args, block: true } if args.dest != PROC_NULL && self.sends_eagerly(&args) => {
                // A blocking eager send completes locally after the send overhead: no
                // request to make, wait for and free (the hot path of most programs).
                let sent = now + Time(self.cfg.platform.link(rank, args.dest).send_overhead_ns);
                let context = args.chan.context();
                self.inject(rank, args.dest, args.tag, context, args.mode, args.payload, None, kind, site);
                Flow::Reply(Reply::Done, sent)
            }
            Op::Send { args, block } => {
                let req = self.new_request(rank, kind, site, send_op(args), false);
                self.start(req);
                if block {
                    self.wait(rank, kind, site, &[Some(req)], WaitHow::All)
                } else {
                    Flow::Reply(Reply::Request(req), now)
                }
            }
            Op::Recv { args, block } => {
                let req = self.new_request(rank, kind, site, ReqOp::Recv { filter: args }, false);
                self.start(req);
                if block {
                    self.wait(rank, kind, site, &[Some(req)], WaitHow::All)
                } else {
                    Flow::Reply(Reply::Request(req), now)
                }
            }
            Op::Sendrecv { send, recv } => {
                let s = self.new_request(rank, kind, site, send_op(send), false);
                let r = self.new_request(rank, kind, site, ReqOp::Recv { filter: recv }, false);
                self.start(s);
                self.start(r);
                self.wait(rank, kind, site, &[Some(s), Some(r)], WaitHow::All)
            }
            Op::Probe { args, block } => match self.probe(rank, &args) {
                Some(status) => Flow::Reply(Reply::Probed(Some(status)), now),
                None if block => {
                    self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Probe { filter: args } };
                    Flow::Block
                }
                None => self.fruitless_poll(rank, kind, site, streak, Reply::Probed(None)),
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
                    self.fruitless_poll(rank, kind, site, streak, Reply::Completed(Vec::new()))
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
            Op::CollBegin { comm, root, op, count, algorithm, .. } => {
                let world_root = root.map(|r| self.comms[comm as usize].world(r));
                self.ranks[rank].collective.push((kind, site, comm, world_root, algorithm));
                if self.ranks[rank].collective.len() > 1 {
                    // A collective inside another one's algorithm: the outer one was matched.
                    return Flow::Reply(Reply::Done, now);
                }
                self.collectives_begun += 1;
                self.coll_arrive(rank, kind, site, comm, CollSignature { kind, root, op, count })
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

    /// Whether a send goes out eagerly: standard or ready mode under the eager limit (not in
    /// strict mode), or buffered mode.
    fn sends_eagerly(&self, args: &SendArgs) -> bool {
        match args.mode {
            SendMode::Buffered => true,
            SendMode::Standard | SendMode::Ready => !self.cfg.strict && self.cfg.platform.is_eager(args.payload.len()),
            SendMode::Synchronous => false,
        }
    }

    /// Whether `id` is a live request of `rank`.
    fn owns(&self, rank: Rank, id: ReqId) -> bool {
        self.requests.get(id).is_some_and(|r| r.owner == rank)
    }

    fn compute(&mut self, rank: Rank, duration: Time) -> Flow {
        let end = self.now + duration;
        let computed = &mut self.ranks[rank].computed;
        *computed += duration;
        self.stats.compute += duration;
        self.stats.compute_max = self.stats.compute_max.max(*computed);
        self.record(self.now, rank, || EventKind::Compute { end });
        Flow::Reply(Reply::Done, end)
    }

    /// Checks ranks and tags before anything happens, as MPI's argument checks do.
    fn validate(&self, op: &Op) -> Result<(), MpiError> {
        op.validate(|comm| self.comms[comm as usize].size)
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
                let m = self.inject(owner, dest, tag, context, mode, payload, Some(id), kind, site);
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
                    if filter.source.is_none() && !filter.chan.collective {
                        self.ranks[owner].last_wildcard = Some((env.src, site));
                    }
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
        send_req: Option<ReqId>,
        kind: CallKind,
        site: &'static Location<'static>,
    ) -> u32 {
        let platform = &self.cfg.platform;
        let link = platform.link(src, dst);
        let bytes = payload.len();
        let eager = match mode {
            SendMode::Buffered => true,
            SendMode::Standard | SendMode::Ready => !self.cfg.strict && platform.is_eager(bytes),
            SendMode::Synchronous => false,
        };
        let protocol = if eager { Protocol::Eager } else { Protocol::Rendezvous };
        let sent = self.now + Time(link.send_overhead_ns);
        // Timing jitter of an exploring schedule (zero by default).
        let jitter = self.oracle.delay(src, dst, Time(link.latency_ns));
        let (arrival, send_done) = match protocol {
            Protocol::Eager => {
                if mode != SendMode::Buffered {
                    self.buffered_sends += 1;
                }
                let slot = &mut self.ranks[src];
                let inject = sent.max(slot.nic_free);
                slot.nic_free = inject + Time(link.gap_ns).max(link.wire_time(bytes));
                (Some(inject + link.transfer_time(bytes) + jitter), Some(sent))
            }
            Protocol::Rendezvous => (None, None),
        };
        let last = self.ranks[src].channel.get(&dst).copied().unwrap_or(Time::ZERO);
        let visible = arrival.unwrap_or(sent + jitter).max(last);
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
            if let Some(req) = send_req {
                self.complete_at(req, done, Status::EMPTY, None);
            }
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
            if posted.filter.source.is_none() && !posted.filter.chan.collective {
                let site = self.requests.get(posted.req).expect("posted receives exist").site;
                self.ranks[dst].last_wildcard = Some((src, site));
            }
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
                let req = m.send_req.expect("rendezvous sends have a request");
                self.complete_at(req, arrival, Status::EMPTY, None);
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
                !self.ranks[owner].woken && self.satisfied(reqs, *how)
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
                self.completion_reply(rank, &reqs, how).expect("a woken wait is satisfied")
            }
            RankState::Blocked { wait: Wait::Probe { filter }, .. } => {
                Reply::Probed(Some(self.probe(rank, &filter).expect("a woken probe has its message")))
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
        reqs: &[Option<ReqId>],
        how: WaitHow,
    ) -> Flow {
        match self.completion_reply(rank, reqs, how) {
            Some(reply) => Flow::Reply(reply, self.now),
            None => {
                let reqs = reqs.to_vec();
                self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Requests { reqs, how } };
                Flow::Block
            }
        }
    }

    /// Where request `id` stands (`None` for a null or stale handle).
    fn progress(&self, id: Option<ReqId>) -> Option<Progress> {
        id.and_then(|id| self.requests.get(id)).map(|r| match r.state {
            ReqState::Inactive => Progress::Inactive,
            ReqState::Done(..) => Progress::Done,
            ReqState::Active | ReqState::Completing(..) => Progress::Pending,
        })
    }

    /// Whether `reqs` satisfy `how`, without allocating (checked on every completion).
    fn satisfied(&self, reqs: &[Option<ReqId>], how: WaitHow) -> bool {
        let (mut active, mut done) = (0, 0);
        for p in reqs.iter().filter_map(|&id| self.progress(id)) {
            active += usize::from(p != Progress::Inactive);
            done += usize::from(p == Progress::Done);
        }
        is_satisfied(active, done, how)
    }

    /// The reply to a wait on `reqs` if they satisfy `how`; a single request's completion
    /// travels without a vector.
    fn completion_reply(&mut self, rank: Rank, reqs: &[Option<ReqId>], how: WaitHow) -> Option<Reply> {
        if let [Some(id)] = reqs {
            match self.requests.get(*id).map(|r| &r.state) {
                Some(ReqState::Done(..)) => return Some(Reply::One(self.take_completion(0, *id))),
                Some(ReqState::Active | ReqState::Completing(..)) => return None,
                _ => {}
            }
        }
        self.try_complete(rank, reqs, how).map(Reply::Completed)
    }

    /// The indices of the done requests among `reqs` if they satisfy `how`, or `None`.
    fn done_indices(&self, reqs: &[Option<ReqId>], how: WaitHow) -> Option<Vec<usize>> {
        satisfying(reqs.iter().map(|&id| self.progress(id)), how)
    }

    /// If `reqs` satisfy `how`, completes them (taking their status and data) and returns
    /// the completions; `Any` completes one, chosen by the oracle among the done ones.
    fn try_complete(&mut self, rank: Rank, reqs: &[Option<ReqId>], how: WaitHow) -> Option<Vec<Completion>> {
        let mut chosen = self.done_indices(reqs, how)?;
        if how != WaitHow::All && chosen.len() > 1 {
            // `Any` returns one done request; `Some` returns that one and, by default, every
            // other done one, any of which a real library may not have noticed yet.
            let first = self.oracle.choose(Choice::AnyRequest { rank }, chosen.len());
            let mut keep = vec![false; chosen.len()];
            keep[first] = true;
            if how == WaitHow::Some {
                for (i, k) in keep.iter_mut().enumerate() {
                    if i != first {
                        *k = self.oracle.choose(Choice::SomeRequest { rank }, 2) == 0;
                    }
                }
            }
            chosen = chosen.into_iter().zip(keep).filter_map(|(index, k)| k.then_some(index)).collect();
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
                    Some(m) if m.send_req == Some(id) => {
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
                    if let Some(&(coll, site, comm, root, algorithm)) = slot.collective.last() {
                        if !matches!(wait, Wait::Gate { .. }) {
                            b.waiting_for = format!("in a step of its {algorithm} algorithm, {}", b.waiting_for);
                            b.reason.clone_from(&b.waiting_for);
                            b.tag = None;
                            b.bytes = None;
                        }
                        b.call = coll;
                        b.location = Site::from_location(site);
                        b.comm = Some(comm);
                        b.root = root;
                    }
                    blocked.push(b)
                }
                RankState::Ready => unreachable!("a ready rank always has a pending resume"),
            }
        }
        let mut communicators = BTreeMap::new();
        for comm in blocked.iter().flat_map(|b| b.waits_on.iter().flat_map(|w| w.any_of.iter().copied())) {
            communicators.entry(comm).or_insert_with(|| self.members(comm));
        }
        // A rendezvous envelope nobody received is a blocked send, already listed.
        let unreceived = self.unreceived_where(|m| m.protocol == Protocol::Eager);
        let analysis = WaitForGraph::new(&blocked, &finished, &communicators).analyse();
        let facts = HintFacts {
            blocked: &blocked,
            finished: &finished,
            core: &analysis.core,
            communicators: &communicators,
            unreceived: &unreceived,
            platform: &self.cfg.platform,
            strict: self.cfg.strict,
        };
        let hint = facts.hint();
        let time = self.ranks.iter().map(|r| r.clock).max().unwrap_or(Time::ZERO);
        DeadlockReport {
            time,
            cycle: analysis.cycles.first().cloned().unwrap_or_default(),
            core: analysis.core,
            knot: analysis.knot,
            blocked,
            finished,
            communicators,
            unreceived,
            eager_limit: self.cfg.platform.eager_limit,
            hint,
        }
    }

    /// The members of communicator `comm`, as world ranks.
    fn members(&self, comm: u32) -> Vec<Rank> {
        let entry = &self.comms[comm as usize];
        match &entry.members {
            Some(members) => members.clone(),
            None => (0..entry.size).collect(),
        }
    }

    /// The members of `comm` (world ranks) that have not yet reached position `seq` of
    /// its splits or collectives, as counted by `called`.
    fn missing(&self, comm: u32, called: impl Fn(Rank) -> u64, seq: u64) -> Vec<Rank> {
        let entry = &self.comms[comm as usize];
        (0..entry.size).filter(|&r| called(r) <= seq).map(|r| entry.world(r)).collect()
    }

    fn describe(&self, rank: Rank, call: CallKind, site: &'static Location<'static>, wait: &Wait) -> BlockedCall {
        let mut b = BlockedCall {
            rank,
            call,
            peer: None,
            tag: None,
            bytes: None,
            comm: None,
            root: None,
            location: Site::from_location(site),
            waiting_for: String::new(),
            reason: String::new(),
            waits_on: Vec::new(),
            last_wildcard: self.ranks[rank]
                .last_wildcard
                .map(|(source, site)| WildcardMatch { source, location: Site::from_location(site) }),
        };
        let arrive = |b: &mut BlockedCall, comm: u32, missing: Vec<Rank>, why: &str| {
            b.peer = match missing[..] {
                [one] => Some(Peer::Rank(one)),
                _ => None,
            };
            b.comm = Some(comm);
            b.waits_on =
                missing.iter().map(|&m| on_rank(m, format!("{} on {}", call.mpi_name(), comm_name(comm)))).collect();
            b.waiting_for = format!(
                "{why}it waits for rank{} {} to call {} on {} too",
                plural(missing.len()),
                list(&missing),
                call.mpi_name(),
                comm_name(comm)
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
                    "probe for a message from {}: none was sent{}",
                    source_words(filter.source, filter.tag),
                    self.near_misses(rank, filter)
                );
            }
            Wait::Requests { reqs, how } => {
                let pending: Vec<&Req> = reqs
                    .iter()
                    .flatten()
                    .filter_map(|id| self.requests.get(*id))
                    .filter(|r| matches!(r.state, ReqState::Active | ReqState::Completing(..)))
                    .collect();
                let facts: Vec<ReqFacts> = pending.iter().map(|r| self.request_facts(rank, r)).collect();
                if let Some(first) = facts.first() {
                    (b.peer, b.tag, b.bytes, b.comm) = (first.peer, first.tag, first.bytes, Some(first.comm));
                }
                // The headline already names a blocking call's own request.
                let own = pending.first().is_some_and(|r| r.kind == call) && self.ranks[rank].collective.is_empty();
                if let (true, [one]) = (own, &facts[..]) {
                    b.reason = one.brief.clone();
                }
                b.waiting_for = match &facts[..] {
                    [] => "nothing: its requests are all complete".into(),
                    [one] => format!("{}: {}", one.what, one.why),
                    many => {
                        let each: Vec<String> = many
                            .iter()
                            .zip(&pending)
                            .map(|(f, r)| {
                                let place = if std::ptr::eq(r.site, site) {
                                    String::new()
                                } else {
                                    format!(" (at {})", Site::from_location(r.site))
                                };
                                format!("{} {}: {}{place}", r.kind.mpi_name(), f.what, f.why)
                            })
                            .collect();
                        let all = if *how == WaitHow::All { "all" } else { "any" };
                        format!("waits for {all} of {} requests: {}", many.len(), each.join("; "))
                    }
                };
                let deps = facts.into_iter().map(|f| f.dep);
                b.waits_on = if *how == WaitHow::All {
                    deps.collect()
                } else {
                    let mut any = WaitsOn { ranks: Vec::new(), any_of: Vec::new(), what: String::new() };
                    let mut whats = Vec::new();
                    for d in deps {
                        any.ranks.extend(d.ranks);
                        any.any_of.extend(d.any_of);
                        whats.push(d.what);
                    }
                    any.ranks.sort_unstable();
                    any.ranks.dedup();
                    any.any_of.sort_unstable();
                    any.any_of.dedup();
                    any.what = format!("{} of: {}", call.mpi_name(), whats.join(" | "));
                    vec![any]
                };
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

    /// What a pending request of `rank` waits for.
    fn request_facts(&self, rank: Rank, req: &Req) -> ReqFacts {
        // Inside a collective, label edges with the collective the user called.
        let step = |collective: bool, text: String| match self.ranks[rank].collective.last() {
            Some((coll, ..)) if collective => format!("{} ({text})", coll.mpi_name()),
            _ => format!("{} {text}", req.kind.mpi_name()),
        };
        match &req.op {
            ReqOp::Send { dest, tag, mode, msg, payload, context } => {
                let bytes = msg
                    .and_then(|m| self.messages.get(self.message_id(m)))
                    .map(|m| m.payload.len())
                    .or(payload.as_ref().map(Payload::len));
                let (why, brief) = match mode {
                    SendMode::Synchronous => ("a synchronous send", "a synchronous send"),
                    _ if self.cfg.strict => {
                        ("in strict mode every send is synchronous and", "in strict mode every send is synchronous")
                    }
                    _ => ("above the eager limit, it", "above the eager limit"),
                };
                let b = bytes.unwrap_or(0);
                ReqFacts {
                    peer: Some(Peer::Rank(*dest)),
                    tag: Some(*tag),
                    bytes,
                    comm: context / 2,
                    dep: on_rank(*dest, step(context % 2 == 1, format!("to {dest}, tag {tag}, {b} bytes"))),
                    what: format!("send to rank {dest}, tag {tag}, {b} bytes"),
                    why: format!("{why} waits for rank {dest} to post a matching receive"),
                    brief: format!("{brief}: waits for rank {dest} to post a matching receive"),
                }
            }
            ReqOp::Recv { filter } => ReqFacts {
                peer: Some(filter.source.map_or(Peer::Any, Peer::Rank)),
                tag: filter.tag,
                bytes: None,
                comm: filter.chan.comm,
                dep: self.source_dep(
                    filter,
                    step(filter.chan.collective, format!("from {}", source_words(filter.source, filter.tag))),
                ),
                what: format!("receive from {}", source_words(filter.source, filter.tag)),
                why: format!("no matching message was sent{}", self.near_misses(rank, filter)),
                brief: format!("no matching message was sent{}", self.near_misses(rank, filter)),
            },
        }
    }

    /// Messages waiting at `rank` that `filter` just misses (right source or right tag),
    /// as a clause for a sentence; empty if none.
    fn near_misses(&self, rank: Rank, filter: &RecvArgs) -> String {
        let near: Vec<String> = self.mailboxes[rank]
            .unexpected()
            .filter(|e| e.context == filter.chan.context())
            .filter(|e| filter.source.is_none_or(|s| s == e.src) != filter.tag.is_none_or(|t| t == e.tag))
            .take(3)
            .map(|e| format!("rank {} with tag {}", e.src, e.tag))
            .collect();
        if near.is_empty() {
            String::new()
        } else {
            format!(" (a message from {} did arrive: check the source and tag)", near.join(", and from "))
        }
    }

    /// Point-to-point messages that arrived and were never received, by destination rank.
    pub fn unreceived(&self) -> Vec<Unreceived> {
        self.unreceived_where(|_| true)
    }

    fn unreceived_where(&self, keep: impl Fn(&Message) -> bool) -> Vec<Unreceived> {
        let mut out = Vec::new();
        for (rank, mb) in self.mailboxes.iter().enumerate() {
            for env in mb.unexpected().filter(|e| e.context % 2 == 0) {
                let m = self.messages.get(self.message_id(env.msg)).expect("unexpected messages exist");
                if !keep(m) {
                    continue;
                }
                out.push(Unreceived {
                    rank,
                    source: env.src,
                    tag: env.tag,
                    bytes: env.bytes,
                    call: m.kind,
                    location: Site::from_location(m.site),
                });
            }
        }
        out
    }

    /// Whether a run with zero buffering and synchronising collectives could go otherwise:
    /// some standard send went eager, or a collective was called, outside strict mode.
    pub fn relied_on_buffering(&self) -> bool {
        !self.cfg.strict && (self.buffered_sends > 0 || self.collectives_begun > 0)
    }

    /// The first envelope a probe with `filter` on `rank` sees; with several senders'
    /// messages waiting, a wildcard probe's pick is the oracle's.
    fn probe(&mut self, rank: Rank, filter: &RecvArgs) -> Option<Status> {
        let candidates = self.mailboxes[rank].candidates(filter);
        let pick = match candidates.len() {
            0 => return None,
            1 => 0,
            n => self.oracle.choose(Choice::WildcardProbe { rank }, n),
        };
        let env = self.mailboxes[rank].unexpected().nth(candidates[pick]).expect("candidates are in the queue");
        Some(self.envelope_status(env, filter.chan.comm))
    }

    /// A poll (`iprobe`, `test`…) found nothing: counts it, and stops the run if every
    /// rank still running has only polled in vain for [`LIVELOCK_POLLS`] polls in a row
    /// with nothing in flight.
    fn fruitless_poll(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: &'static Location<'static>,
        streak: u64,
        reply: Reply,
    ) -> Flow {
        let slot = &mut self.ranks[rank];
        slot.polling = true;
        slot.polls += 1;
        slot.last_poll = Some((kind, site));
        self.poll_streak = streak + 1;
        if self.poll_streak % LIVELOCK_POLLS == 0 && self.livelocked(rank) {
            self.failure =
                Some(SimError::Livelock { time: self.now, polls: self.poll_streak, spinning: self.spinning(1) });
            return Flow::Stop;
        }
        Flow::Reply(reply, self.now + Time(self.cfg.platform.poll_ns))
    }

    /// Whether nothing but fruitless polls can ever happen again: no message or
    /// completion is pending, and every rank due to resume (and `rank`, running now) last
    /// polled in vain.
    fn livelocked(&self, rank: Rank) -> bool {
        self.queue.iter().all(|Reverse(p)| match p.action {
            Action::Resume(r) => self.ranks[r].polling,
            Action::Envelope(_) | Action::Complete(_) => false,
        }) && self.ranks[rank].polling
    }

    /// Ranks with at least `min_polls` fruitless polls, most first.
    fn spinning(&self, min_polls: u64) -> Vec<Spinning> {
        let mut out: Vec<Spinning> = self
            .ranks
            .iter()
            .enumerate()
            .filter(|(_, s)| s.polls >= min_polls.max(1) && !matches!(s.state, RankState::Done))
            .filter_map(|(rank, s)| {
                s.last_poll.map(|(call, site)| Spinning {
                    rank,
                    call,
                    location: Site::from_location(site),
                    polls: s.polls,
                })
            })
            .collect();
        out.sort_by_key(|s| (Reverse(s.polls), s.rank));
        out.truncate(8);
        out.sort_by_key(|s| s.rank);
        out
    }

    /// A rank begins a (user-called) collective on `comm`: checks it against what the
    /// first member to reach the same position there began, and in strict mode holds the
    /// rank until every member has begun it.
    fn coll_arrive(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: &'static Location<'static>,
        comm: u32,
        sig: CollSignature,
    ) -> Flow {
        let entry = &self.comms[comm as usize];
        let (size, local) = (entry.size, entry.local(rank));
        let log = self.coll_logs.entry(comm).or_insert_with(|| CollLog { begun: vec![0; size], open: BTreeMap::new() });
        let position = log.begun[local];
        log.begun[local] += 1;
        let at = log.open.entry(position).or_insert_with(|| CollPosition {
            first: sig,
            first_rank: rank,
            first_site: site,
            arrived: 0,
            gated: Vec::new(),
        });
        if let Some((class, what)) = at.first.mismatch(&sig) {
            let e = format!(
                "collective mismatch on {}: the {} collective of rank {rank} there is {}, but rank {}'s was {} (at \
                 {}): {what} differ. Every rank of a communicator must call the same collectives in the same order, \
                 with the same root, op and count",
                comm_name(comm),
                ordinal(position + 1),
                sig.describe(),
                at.first_rank,
                at.first.describe(),
                Site::from_location(at.first_site),
            );
            return self.fail(rank, kind, site, MpiError::new(class, e));
        }
        at.arrived += 1;
        if at.arrived == size {
            let gated = log.open.remove(&position).expect("just updated").gated;
            for r in gated {
                self.wake(r, Reply::Done);
            }
        } else if self.cfg.strict && !kind.mpi_name().starts_with("MPI_I") {
            at.gated.push(rank);
            self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Gate { comm, position } };
            return Flow::Block;
        }
        Flow::Reply(Reply::Done, self.now)
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

/// The `Enter` event of a call: its peer, tag and bytes as the program gave them (built
/// only when the trace is recorded).
fn enter_event(call: CallKind, site: &'static Location<'static>, op: &Op) -> EventKind {
    let (peer, tag, bytes) = match op {
        Op::Send { args, .. } | Op::SendInit { args } | Op::Sendrecv { send: args, .. } => {
            (Some(args.dest), Some(args.tag), Some(args.payload.len()))
        }
        Op::Recv { args, .. } | Op::RecvInit { args } | Op::Probe { args, .. } => (args.source, args.tag, None),
        Op::CollBegin { root, bytes, .. } => (*root, None, *bytes),
        _ => (None, None, None),
    };
    EventKind::Enter { call, site: Site::from_location(site), peer, tag, bytes }
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

/// Fruitless polls in a row, with nothing in flight, after which a run is a livelock.
const LIVELOCK_POLLS: u64 = 1 << 20;

/// What a pending request waits for, for a deadlock report.
struct ReqFacts {
    peer: Option<Peer>,
    tag: Option<Tag>,
    bytes: Option<u64>,
    comm: u32,
    dep: WaitsOn,
    /// The request in words (`send to rank 1, tag 0, 8 bytes`), why it waits, and why in
    /// brief for under a headline that already names the request.
    what: String,
    why: String,
    brief: String,
}

/// What must agree between the ranks that begin a collective at the same position on a
/// communicator. `None` fields are not compared.
#[derive(Debug, Clone, Copy)]
struct CollSignature {
    kind: CallKind,
    /// In the communicator's numbering.
    root: Option<Rank>,
    op: Option<&'static str>,
    count: Option<u64>,
}

impl CollSignature {
    /// The error class and the words for what differs, if anything.
    fn mismatch(&self, other: &CollSignature) -> Option<(ErrorClass, &'static str)> {
        fn differ<T: PartialEq>(a: Option<T>, b: Option<T>) -> bool {
            a.is_some() && b.is_some() && a != b
        }
        if self.kind != other.kind {
            Some((ErrorClass::Other, "the calls"))
        } else if self.root != other.root {
            Some((ErrorClass::Root, "the roots"))
        } else if differ(self.op, other.op) {
            Some((ErrorClass::Op, "the reduction ops"))
        } else if differ(self.count, other.count) {
            Some((ErrorClass::Count, "the counts"))
        } else {
            None
        }
    }

    fn describe(&self) -> String {
        let mut out = self.kind.mpi_name().to_string();
        let mut parts = Vec::new();
        if let Some(root) = self.root {
            parts.push(format!("root {root}"));
        }
        if let Some(op) = self.op {
            parts.push(format!("op {op}"));
        }
        if let Some(count) = self.count {
            parts.push(format!("count {count}"));
        }
        if !parts.is_empty() {
            out += &format!(" ({})", parts.join(", "));
        }
        out
    }
}

/// One communicator's collectives, for matching them up across its members.
#[derive(Debug)]
struct CollLog {
    /// Per member (rank in the communicator): collectives begun here.
    begun: Vec<u64>,
    /// Positions some members have reached and others not yet.
    open: BTreeMap<u64, CollPosition>,
}

#[derive(Debug)]
struct CollPosition {
    first: CollSignature,
    first_rank: Rank,
    first_site: &'static Location<'static>,
    arrived: usize,
    /// Ranks held at this position in strict mode.
    gated: Vec<Rank>,
}

/// `1st`, `2nd`, `3rd`, `4th`, … `11th`, `21st`.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// `rank 3, tag 0`, `any source, any tag`.
fn source_words(source: Option<Rank>, tag: Option<Tag>) -> String {
    let source = source.map_or("any source".to_string(), |s| format!("rank {s}"));
    let tag = tag.map_or("any tag".to_string(), |t| format!("tag {t}"));
    format!("{source}, {tag}")
}

/// What the hint of a deadlock is chosen from.
struct HintFacts<'a> {
    blocked: &'a [BlockedCall],
    finished: &'a [Rank],
    core: &'a [Rank],
    communicators: &'a BTreeMap<u32, Vec<Rank>>,
    unreceived: &'a [Unreceived],
    platform: &'a Platform,
    strict: bool,
}

impl HintFacts<'_> {
    /// The finished ranks `b` waits for in vain: those of every `WaitsOn` that only
    /// finished ranks could satisfy.
    fn dead_ends(&self, b: &BlockedCall) -> Vec<Rank> {
        let mut out = Vec::new();
        for w in &b.waits_on {
            let mut candidates: Vec<Rank> = w.ranks.clone();
            for comm in &w.any_of {
                candidates.extend(self.communicators.get(comm).into_iter().flatten().filter(|&&r| r != b.rank));
            }
            if !candidates.is_empty() && candidates.iter().all(|r| self.finished.contains(r)) {
                out.extend(candidates);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Advice in plain words, chosen by the pattern of the blocked calls.
    fn hint(&self) -> String {
        let in_core = |b: &&BlockedCall| self.core.is_empty() || self.core.contains(&b.rank);
        let core: Vec<&BlockedCall> = self.blocked.iter().filter(in_core).collect();
        let collective =
            |b: &BlockedCall| b.call.is_collective() || matches!(b.call, CallKind::CommSplit | CallKind::CommDup);
        let where_ = |b: &BlockedCall| format!("{} on {}", b.call.mpi_name(), comm_name(b.comm.unwrap_or(0)));

        // A rank that finished without calling a collective the others are in.
        let stuck: Vec<(&BlockedCall, Vec<Rank>)> =
            self.blocked.iter().map(|b| (b, self.dead_ends(b))).filter(|(_, d)| !d.is_empty()).collect();
        if let Some((b, _)) = stuck.iter().find(|(b, _)| collective(b)) {
            let gone: Vec<Rank> = {
                let mut g: Vec<Rank> =
                    stuck.iter().filter(|(s, _)| collective(s)).flat_map(|(_, d)| d.clone()).collect();
                g.sort_unstable();
                g.dedup();
                g
            };
            let waiting: Vec<Rank> =
                self.blocked.iter().filter(|x| collective(x) && x.call == b.call).map(|x| x.rank).collect();
            return format!(
                "rank{} {} finished without calling {}, which rank{} {} {} in: every rank of a communicator must call \
                 each of its collectives, in the same order",
                plural(gone.len()),
                list(&gone),
                where_(b),
                plural(waiting.len()),
                list(&waiting),
                if waiting.len() == 1 { "is" } else { "are" }
            );
        }

        // Ranks of a cycle in different collectives, or some in a collective and some not.
        if let Some(c) = core.iter().find(|b| collective(b)) {
            if let Some(other) = core.iter().find(|b| !collective(b) || (b.call, b.comm) != (c.call, c.comm)) {
                let other_is = if collective(other) { where_(other) } else { other.headline() };
                let strict = if self.strict {
                    " In strict mode every collective synchronises: the program relies on a collective returning \
                     before the other ranks have called it, which MPI does not promise."
                } else {
                    ""
                };
                return format!(
                    "collectives called in different orders: rank {} is in {} while rank {} is in {}. Every rank \
                     must call the collectives of a communicator in the same order, and no rank may wait for a rank \
                     that first needs it in a collective.{strict}",
                    c.rank,
                    where_(c),
                    other.rank,
                    other_is
                );
            }
        }

        // A wildcard receive took a message that a later named receive expected.
        for (b, gone) in &stuck {
            if let Some(w) = b.last_wildcard.as_ref().filter(|w| gone.contains(&w.source)) {
                let left: Vec<String> = self
                    .unreceived
                    .iter()
                    .filter(|u| u.rank == b.rank && u.source != w.source)
                    .map(|u| format!("rank {} (tag {})", u.source, u.tag))
                    .collect();
                let left = if left.is_empty() {
                    String::new()
                } else {
                    format!(", and the message of {} is left unreceived", left.join(", "))
                };
                return format!(
                    "rank {} waits for rank {}, which finished; its ANY_SOURCE receive at {} took rank {}'s message \
                     earlier{left}. Which sender an ANY_SOURCE receive matches depends on timing, and MPI does not fix \
                     it: receive from explicit sources, or handle the messages in whatever order they come \
                     (--explore tries other orders)",
                    b.rank, w.source, w.location, w.source
                );
            }
        }

        // A rank waits for one that finished.
        if self.core.is_empty() && !stuck.is_empty() {
            let mut gone: Vec<Rank> = stuck.iter().flat_map(|(_, d)| d.clone()).collect();
            gone.sort_unstable();
            gone.dedup();
            let waiting: Vec<Rank> = stuck.iter().map(|(b, _)| b.rank).collect();
            let arrived = if self.unreceived.iter().any(|u| waiting.contains(&u.rank)) {
                " Messages did arrive that no receive took (listed as unreceived): check their sources and tags."
            } else {
                ""
            };
            return format!(
                "rank{} {} finished while rank{} {} still wait{} for {}: a matching send or receive is missing there, \
                 or has another source or tag.{arrived}",
                plural(gone.len()),
                list(&gone),
                plural(waiting.len()),
                list(&waiting),
                if waiting.len() == 1 { "s" } else { "" },
                if gone.len() == 1 { "it" } else { "them" }
            );
        }

        let sends = core.iter().filter(|b| b.bytes.is_some()).count();
        let who = if core.len() == self.blocked.len() { "every blocked rank" } else { "every rank in the cycle" };
        if sends == core.len() && sends > 0 {
            let limit = if self.strict {
                "in strict mode no send is buffered, so every send".to_string()
            } else {
                format!(
                    "messages above the eager limit ({}) are not buffered, so each send",
                    self.platform.eager_limit_text()
                )
            };
            return format!(
                "{who} is sending and none is receiving; {limit} waits for its receiver. Order the calls by rank \
                 parity (even ranks send first, odd ranks receive first), or use sendrecv, or isend/irecv with \
                 waitall"
            );
        }
        let wildcard = core.iter().any(|b| b.peer == Some(Peer::Any));
        if wildcard && core.iter().any(|b| b.last_wildcard.is_some()) {
            return "the ranks in the knot wait on ANY_SOURCE receives whose earlier matches went another way: which \
                    sender an ANY_SOURCE receive matches depends on timing, and MPI does not fix it. Receive from \
                    explicit sources where the order matters (--explore tries other orders)"
                .into();
        }
        if sends == 0 {
            let arrived = if self.unreceived.iter().any(|u| core.iter().any(|b| b.rank == u.rank)) {
                " Messages did arrive that no receive took (listed as unreceived): check their sources and tags."
            } else {
                ""
            };
            return format!(
                "{who} is receiving and none is sending: each waits for a message that is never sent. Let one side \
                 send before it receives, or post the receives with irecv first.{arrived}"
            );
        }
        "each blocked rank waits for another: follow the cycle above; a send or receive is missing or in the wrong order"
            .into()
    }
}
