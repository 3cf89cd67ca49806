//! The discrete-event engine: ranks, requests, messages and the event queue on the virtual
//! clock.
//!
//! Invariants:
//! - Events run in `(time, rank, class, by, seq)` order: at equal times, lower ranks
//!   first, and a rank's message deliveries (lower senders first) and request completions
//!   before it resumes.
//! - A rank runs only while its clock is the earliest thing pending, so every call it makes
//!   sees exactly the messages that have arrived by its own virtual time.
//! - The engine is a plain `&mut self` state machine: a rank's program only suspends with
//!   a `Call` and is resumed with a `Reply`.
//! - Nothing here reads the wall clock or iterates a hash map.
//!
//! The parts: `queue` (the event queue), `rank` (what each rank is doing), `requests`
//! (requests, waits and the progress of nonblocking collectives), `p2p` (sends, matching
//! and delivery), `comms` (communicators), `collectives` (matching collectives by
//! position), `describe` (a deadlock as a report), `livelock` (polls in vain). What things
//! cost is `crate::cost`.

mod causality;
mod collectives;
mod comms;
mod describe;
mod livelock;
mod p2p;
mod queue;
mod rank;
mod requests;

use crate::call::{Call, CallKind, Op, RecvArgs, Reply, SendArgs};
use crate::error::{RankFailure, SimError};
use crate::hazard::Reliance;
use crate::matching::Mailbox;
use crate::platform::Platform;
use crate::sched::Oracle;
use crate::site::CallSite;
use crate::task::{Step, Tasks};
use crate::time::Time;
use crate::trace::{Event, EventKind};
use crate::world::{OutputLine, RunStats};
use crate::{MpiError, Rank};
use collectives::CollLog;
use comms::CommEntry;
use p2p::Message;
use queue::{Action, Class, EventQueue};
use rank::{RankSlot, RankState};
use requests::{Req, Slab};
use std::collections::BTreeMap;

/// What the engine needs to know of a world.
pub(crate) struct Config {
    pub ranks: usize,
    pub platform: Platform,
    pub strict: bool,
    pub step_limit: u64,
    /// Virtual time past which the run is stopped.
    pub time_limit: Time,
    pub record_trace: bool,
    /// Events the trace keeps at most; later ones are dropped (`truncated`).
    pub trace_limit: usize,
    /// Whether to follow the run's causality, so that the buffering check can do without
    /// its re-run (`causality`).
    pub causality: bool,
}

/// The ranks from which the event loop prefetches each next event's state
/// ([`Engine::prefetch`]). On the development machine an allreduce message costs the same
/// from 256 to 1,536 ranks and about twice as much from 2,048 on, where the ranks' state
/// no longer stays cached between their turns; below, the prefetches' instructions (about
/// 350 a message, 10%) would buy nothing (bench/PROFILE.md).
const PREFETCH_RANKS: usize = 2048;

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
    queue: EventQueue,
    ranks: Vec<RankSlot>,
    mailboxes: Vec<Mailbox>,
    comms: Vec<CommEntry>,
    requests: Slab<Req>,
    messages: Slab<Message>,
    next_msg_id: u64,
    /// Identity of the next receive request started, as `Post` and `Match` events name it.
    next_recv_id: u64,
    steps: u64,
    oracle: &'o mut dyn Oracle,
    failure: Option<SimError>,
    /// Per communicator: the collectives its members have begun, to match them up.
    coll_logs: BTreeMap<u32, CollLog>,
    /// Polls in a row (over all ranks) that found nothing, with nothing else happening.
    poll_streak: u64,
    /// What a run with zero buffering and synchronising collectives could do differently.
    reliance: Reliance,
    /// Whether the run shows by itself that a strict run completes.
    causality: causality::Causality,
    pub stats: RunStats,
    pub events: Vec<Event>,
    /// Whether the trace reached its limit and dropped the events after it.
    pub truncated: bool,
    pub output: Vec<OutputLine>,
}

/// The outcome of [`Engine::run`]: each rank's return value, or the error that ended the
/// run.
pub(crate) type EngineResult<R> = Result<Vec<R>, SimError>;

impl<'o> Engine<'o> {
    pub fn new(cfg: Config, oracle: &'o mut dyn Oracle) -> Engine<'o> {
        let n = cfg.ranks;
        let causality = causality::Causality::new(cfg.causality, n);
        Engine {
            ranks: (0..n).map(|_| RankSlot::default()).collect(),
            mailboxes: (0..n).map(|_| Mailbox::default()).collect(),
            comms: vec![CommEntry::world(n)],
            cfg,
            now: Time::ZERO,
            queue: EventQueue::default(),
            requests: Slab::new(),
            messages: Slab::new(),
            next_msg_id: 0,
            next_recv_id: 0,
            steps: 0,
            oracle,
            failure: None,
            coll_logs: BTreeMap::new(),
            poll_streak: 0,
            reliance: Reliance::default(),
            causality,
            stats: RunStats::default(),
            events: Vec::new(),
            truncated: false,
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
            self.queue.push(Time::ZERO, Class::Resume, rank, Action::Resume(rank));
        }
        let prefetch = self.cfg.ranks >= PREFETCH_RANKS;
        while let Some((time, action)) = self.queue.pop() {
            if time > self.cfg.time_limit {
                self.stop_at_time_limit();
                break;
            }
            self.now = time;
            if prefetch {
                if let Some(next) = self.queue.next_action() {
                    self.prefetch(next, tasks);
                }
            }
            match action {
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

    /// Asks the cache for what the next event will touch first (a rank's slot, task and
    /// suspended stack; a message; a request), so that it arrives while this event runs:
    /// with thousands of ranks, nothing of a rank is still cached from its last turn.
    #[inline]
    fn prefetch<R>(&self, next: Action, tasks: &Tasks<R>) {
        match next {
            Action::Resume(rank) => {
                crate::prefetch::value(&self.ranks[rank]);
                crate::prefetch::value(&self.mailboxes[rank]);
                tasks.prefetch(rank);
            }
            Action::Envelope(slot) => self.messages.prefetch(slot),
            Action::Complete(req) => self.requests.prefetch(req.slot),
        }
    }

    fn record(&mut self, time: Time, rank: Rank, kind: impl FnOnce() -> EventKind) {
        if self.cfg.record_trace {
            self.push_event(Event { time, rank, kind: kind() });
        }
    }

    /// Keeps an event, up to the trace's limit.
    fn push_event(&mut self, event: Event) {
        if self.events.len() < self.cfg.trace_limit {
            self.events.push(event);
        } else {
            self.truncated = true;
        }
    }

    /// The run passed its virtual-time limit: it stops, with what each rank was doing.
    fn stop_at_time_limit(&mut self) {
        let ranks = self.activities();
        self.failure = Some(SimError::TimeLimit { limit: self.cfg.time_limit, steps: self.steps, ranks });
    }

    /// Resumes `rank` and keeps it running while it stays the earliest thing pending.
    fn drive<R>(&mut self, rank: Rank, tasks: &mut Tasks<R>, results: &mut [Option<R>]) {
        // The reply travels in this local while the rank runs on; it waits in the rank's
        // slot only while the rank waits in the queue.
        let mut reply =
            if self.ranks[rank].woken { Some(self.reply_to_wait(rank)) } else { self.ranks[rank].reply.take() };
        loop {
            if let Some(call) = self.ranks[rank].in_call.take() {
                self.record(self.now, rank, || EventKind::Leave { call });
            }
            self.steps += 1;
            if self.steps > self.cfg.step_limit {
                let (spinning, ranks) = (self.spinning(self.cfg.step_limit / 100), self.activities());
                let steps = self.cfg.step_limit;
                self.failure = Some(SimError::StepLimit { steps, time: self.now, spinning, ranks });
                return;
            }
            match tasks.resume(rank, reply.take()) {
                Step::Call(call) => {
                    self.stats.calls += 1;
                    self.ranks[rank].in_call = self.opens_span(rank, &call);
                    match self.handle(rank, call) {
                        Flow::Reply(answer, at) => {
                            self.ranks[rank].clock = at;
                            if self.queue.runs_before(at, rank) {
                                if at > self.cfg.time_limit {
                                    self.stop_at_time_limit();
                                    return;
                                }
                                self.now = at;
                                reply = Some(answer);
                                continue;
                            }
                            self.ranks[rank].reply = Some(answer);
                            self.queue.push(at, Class::Resume, rank, Action::Resume(rank));
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
                Step::Failed(failure) => {
                    self.failure = Some(SimError::RankFailed(RankFailure { rank, time: self.now, ..failure }));
                    return;
                }
            }
        }
    }

    /// The call whose `Leave` the rank's next resumption records: the call itself, the
    /// collective a `CollEnd` closes, or none for the engine's own protocol (a collective's
    /// begin marker, a nonblocking collective's rounds, a return into a call).
    #[inline]
    fn opens_span(&mut self, rank: Rank, call: &Call) -> Option<CallKind> {
        match call.op {
            Op::CollBegin { .. } | Op::CollStart { .. } | Op::Post { .. } | Op::CollDone { .. } => None,
            Op::Resume => None,
            Op::CollEnd => {
                let open = self.ranks[rank].collective.pop().expect("a collective is open");
                if self.ranks[rank].collective.is_empty() {
                    self.collective_left(rank, &open);
                }
                Some(open.kind)
            }
            _ => Some(call.kind),
        }
    }

    fn fail(&mut self, rank: Rank, kind: CallKind, site: CallSite, error: MpiError) -> Flow {
        self.failure = Some(SimError::RankFailed(RankFailure {
            rank,
            time: self.now,
            call: Some(kind),
            location: Some(site.site()),
            error: Some(error),
            panic: None,
        }));
        Flow::Stop
    }

    fn handle(&mut self, rank: Rank, mut call: Call) -> Flow {
        // The op is used where it lies (its arms move only their arguments out of it): a
        // copy of the whole `Op` per call showed in the ping-pong's profile.
        let (kind, site, op) = (call.kind, call.site, &mut call.op);
        let now = self.now;
        // Any call but a fruitless poll is progress; the poll branches below count again.
        let streak = std::mem::take(&mut self.poll_streak);
        self.ranks[rank].polling = false;
        if let Some(event) = self.cfg.record_trace.then(|| self.enter_event(kind, site, op)).flatten() {
            self.push_event(Event { time: now, rank, kind: event });
        }
        self.ranks[rank].last_call = Some((kind, site));
        self.reliance.timing |= depends_on_timing(kind, op);
        if let Err(error) = self.validate(op) {
            return self.fail(rank, kind, site, error);
        }
        self.to_world(op);
        let flow = match call.op {
            Op::Send { args, block: true } if self.sends_eagerly(&args) => {
                // A blocking eager send completes locally after the send overhead: no
                // request to make, wait for and free (the hot path of most programs).
                let sent = self.cfg.platform.send_done(rank, args.dest, now);
                self.inject(rank, args, None, kind, site);
                Flow::Reply(Reply::Done, sent)
            }
            Op::Send { args, block } => self.start_and_maybe_wait(rank, kind, site, requests::send_op(args), block),
            Op::Recv { args, block } => self.start_and_maybe_wait(rank, kind, site, requests::recv_op(args), block),
            Op::Sendrecv { send, recv } => {
                // An eager send done as it leaves (no send overhead) needs no request, as a
                // blocking eager send does not: the wait is on the receive alone (the round
                // of most collectives).
                let s = if self.sends_eagerly(&send) && self.cfg.platform.send_done(rank, send.dest, now) <= now {
                    self.inject(rank, send, None, kind, site);
                    None
                } else {
                    let s = self.new_request(rank, kind, site, requests::send_op(send), false);
                    self.start(s);
                    Some(s)
                };
                let r = self.new_request(rank, kind, site, requests::recv_op(recv), false);
                self.start(r);
                self.wait(rank, kind, site, rank::ReqList::Sendrecv([s, Some(r)]), crate::call::WaitHow::All)
            }
            Op::Probe { args, block } => self.probe_call(rank, kind, site, args, block, streak),
            Op::SendInit { args } => {
                Flow::Reply(Reply::Request(self.new_request(rank, kind, site, requests::send_op(args), true)), now)
            }
            Op::RecvInit { args } => {
                Flow::Reply(Reply::Request(self.new_request(rank, kind, site, requests::recv_op(args), true)), now)
            }
            Op::Start { reqs } => self.start_persistent(rank, kind, site, reqs),
            Op::Wait { reqs, how, block } => self.wait_call(rank, kind, site, reqs, how, block, streak),
            Op::Cancel { req } => self.cancel_call(rank, kind, site, req),
            Op::Free { req } => self.free_call(rank, kind, site, req),
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
                self.failure = Some(SimError::Aborted { rank, code, location: site.site(), time: now });
                Flow::Stop
            }
            Op::Fail { error } => self.fail(rank, kind, site, error),
            Op::CommSplit { comm, color, key } => self.split(rank, kind, site, comm, color, key),
            Op::CommSelf => self.comm_self(rank),
            Op::CollBegin { comm, root, op, count, algorithm, .. } => {
                self.coll_begin(rank, kind, site, comm, root, op, count, algorithm)
            }
            Op::CollEnd => Flow::Reply(Reply::Done, now),
            Op::CollStart { algorithm } => self.coll_start(rank, kind, site, algorithm),
            Op::Post { coll, recvs, sends } => self.post_round(rank, kind, site, coll, recvs, sends),
            Op::CollDone { coll } => self.coll_done(rank, kind, site, coll),
            Op::Resume => self.resume_parked(rank),
        };
        self.progress_instead_of_blocking(rank, flow)
    }

    /// The `Enter` event of a call: its peer, tag, bytes and communicator as the program
    /// gave them; none for the engine's own protocol.
    fn enter_event(&self, call: CallKind, site: CallSite, op: &Op) -> Option<EventKind> {
        let (peer, tag, bytes, comm) = match op {
            Op::Send { args, .. } | Op::SendInit { args } | Op::Sendrecv { send: args, .. } => {
                (Some(args.dest), Some(args.tag), Some(args.payload.len()), Some(args.chan.comm))
            }
            Op::Recv { args, .. } | Op::RecvInit { args } | Op::Probe { args, .. } => {
                (args.source, args.tag, None, Some(args.chan.comm))
            }
            Op::CollBegin { root, bytes, comm, .. } => (*root, None, *bytes, Some(*comm)),
            Op::CommSplit { comm, .. } => (None, None, None, Some(*comm)),
            Op::CollEnd | Op::CollStart { .. } | Op::Post { .. } | Op::CollDone { .. } | Op::Resume => return None,
            _ => (None, None, None, None),
        };
        Some(EventKind::Enter { call, site: site.site(), peer, tag, bytes, comm })
    }

    /// Ranks in `op` are ranks of its communicator; the engine works in world ranks. Done
    /// in place: an `Op` is some hundred bytes, and this is on every call's path.
    fn to_world(&self, op: &mut Op) {
        let send = |a: &mut SendArgs| a.dest = self.comms[a.chan.comm as usize].world_rank(a.dest);
        let recv = |a: &mut RecvArgs| a.source = a.source.map(|s| self.comms[a.chan.comm as usize].world_rank(s));
        match op {
            Op::Send { args, .. } | Op::SendInit { args } => send(args),
            Op::Recv { args, .. } | Op::RecvInit { args } | Op::Probe { args, .. } => recv(args),
            Op::Sendrecv { send: s, recv: r } => {
                send(s);
                recv(r);
            }
            Op::Post { recvs, sends, .. } => {
                recvs.iter_mut().for_each(recv);
                sends.iter_mut().for_each(send);
            }
            _ => {}
        }
    }

    /// Checks ranks and tags before anything happens, as MPI's argument checks do.
    #[inline]
    fn validate(&self, op: &Op) -> Result<(), MpiError> {
        op.validate(|comm| self.comms[comm as usize].size)
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
}

/// Whether a call's outcome or what the program does next can depend on timing: a
/// wildcard receive or probe (not a collective's own), a test, `MPI_Waitany`,
/// `MPI_Waitsome` or a clock read.
#[inline]
fn depends_on_timing(kind: CallKind, op: &Op) -> bool {
    use CallKind::*;
    let wildcard = |args: &RecvArgs| args.source.is_none() && !args.chan.collective;
    match op {
        Op::Recv { args, .. } | Op::RecvInit { args } | Op::Probe { args, .. } => wildcard(args),
        Op::Sendrecv { recv, .. } => wildcard(recv),
        // Whether a cancel succeeds depends on whether its message was matched yet.
        _ => matches!(kind, Iprobe | Test | Testall | Testany | Testsome | Waitany | Waitsome | Wtime | Cancel),
    }
}
