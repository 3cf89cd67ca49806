//! The timeline: a [`Trace`] indexed for viewers. Calls become spans, messages get their
//! send, arrival, match and completion times, receives are paired with the messages they
//! took, and every rank's pending call and queues can be read at any event index.
//!
//! Viewers (the TUI, the Chrome export) only draw what this module derives; it is computed
//! once per trace. Event indices are positions in [`Trace::events`]; a *cursor* `c` means
//! "the first `c` events have happened" (`0..=events.len()`).
//!
//! Nothing is derived by MPI's rules: the trace records every receive as it starts (`Post`,
//! with its filter and communicator) and which receive took each message (`Match`), so the
//! pairing shown is the engine's own.

use crate::call::CallKind;
use crate::time::Time;
use crate::trace::{EventKind, Protocol, Site, Trace};
use crate::{Rank, Tag};
use std::collections::BTreeMap;

mod query;

/// What the horizontal axis of a diagram measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Virtual time, in nanoseconds.
    Time,
    /// Event order: event `i` of the trace is one unit. Shows what happened in which order
    /// even when it all happened at one instant (a deadlock at t = 0).
    Events,
}

/// What a rank is doing, as a space-time diagram colours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// Running its own code between calls (takes no virtual time).
    Run,
    /// In `compute`.
    Compute,
    /// In a send (blocking, nonblocking or persistent start).
    Send,
    /// In a receive or probe (and `sendrecv`, which returns when its receive completes).
    Recv,
    /// In a wait or test on requests.
    Wait,
    /// In a collective operation (or a communicator split or dup).
    Collective,
    /// In a call that never returned: the run ended with the rank inside it.
    Blocked,
    /// The program returned.
    Done,
}

impl State {
    /// Every state, in legend order.
    pub const ALL: [State; 8] = [
        State::Compute,
        State::Send,
        State::Recv,
        State::Wait,
        State::Collective,
        State::Blocked,
        State::Done,
        State::Run,
    ];

    /// The state a call puts its rank in.
    pub fn of(call: CallKind) -> State {
        use CallKind::*;
        match call {
            _ if call.is_collective() => State::Collective,
            Compute => State::Compute,
            Send | Ssend | Bsend | Rsend | Isend | Issend | Ibsend | Irsend | SendInit | Start | Startall => {
                State::Send
            }
            Recv | Irecv | RecvInit | Probe | Iprobe | Sendrecv => State::Recv,
            Wait | Waitall | Waitany | Waitsome | Test | Testall | Testany | Testsome => State::Wait,
            _ => State::Run,
        }
    }

    /// Lower-case name, as in legends.
    pub fn name(self) -> &'static str {
        match self {
            State::Run => "run",
            State::Compute => "compute",
            State::Send => "send",
            State::Recv => "receive",
            State::Wait => "wait",
            State::Collective => "collective",
            State::Blocked => "blocked",
            State::Done => "done",
        }
    }

    /// Index in [`State::ALL`]-sized arrays.
    pub fn index(self) -> usize {
        State::ALL.iter().position(|s| *s == self).expect("every state is listed")
    }
}

/// One MPI call of one rank: from its `Enter` to its `Leave` event.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSpan {
    /// The calling rank.
    pub rank: Rank,
    /// Which call.
    pub call: CallKind,
    /// The user's file:line.
    pub site: Site,
    /// The peer it names (a rank of its communicator), if any.
    pub peer: Option<Rank>,
    /// The tag it names, if any.
    pub tag: Option<Tag>,
    /// The bytes it sends, if any.
    pub bytes: Option<u64>,
    /// The communicator it is on (0 is `COMM_WORLD`), if it has one.
    pub comm: Option<u32>,
    /// When it was entered.
    pub start: Time,
    /// When it returned; `None` if the run ended inside it.
    pub end: Option<Time>,
    /// Index of its `Enter` event.
    pub enter_event: usize,
    /// Index of its `Leave` event.
    pub leave_event: Option<usize>,
    /// The collective whose algorithm this call is a step of.
    pub parent: Option<usize>,
    /// For an outermost collective: how many collectives of the same kind its rank called
    /// before it. Collectives match in call order, so equal kinds and instances on
    /// different ranks are one operation.
    pub instance: Option<u32>,
}

impl CallSpan {
    /// Whether the call is still open after the first `cursor` events.
    pub fn open_at(&self, cursor: usize) -> bool {
        self.enter_event < cursor && self.leave_event.is_none_or(|l| l >= cursor)
    }
}

/// One point-to-point message, collective steps included.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageSpan {
    /// The engine's message id (unique in the run).
    pub id: u64,
    /// Sender (world rank).
    pub src: Rank,
    /// Receiver (world rank).
    pub dst: Rank,
    /// Tag.
    pub tag: Tag,
    /// Size in bytes.
    pub bytes: u64,
    /// Eager or rendezvous.
    pub protocol: Protocol,
    /// When the sender injected it (eager) or asked to send (rendezvous).
    pub sent: Time,
    /// Index of its `Send` event.
    pub send_event: usize,
    /// The call that sent it.
    pub send_call: Option<usize>,
    /// The collective it is a step of (on the sender's side).
    pub collective: Option<usize>,
    /// When its envelope reached the receiver's queues.
    pub arrived: Option<Time>,
    /// Index of its `Arrive` event.
    pub arrive_event: Option<usize>,
    /// When a receive took it.
    pub matched: Option<Time>,
    /// Index of its `Match` event.
    pub match_event: Option<usize>,
    /// When its last byte is at the receiver (`None` until matched, for rendezvous).
    pub delivered: Option<Time>,
    /// When the send side completes (eager: after the send overhead; rendezvous: on delivery).
    pub send_done: Option<Time>,
    /// When the receive side completes (delivery plus the receive overhead).
    pub recv_done: Option<Time>,
    /// Whether it waited in the receiver's unexpected queue before a receive took it.
    pub unexpected: bool,
    /// The receive that took it (index into [`Timeline::receives`]).
    pub receive: Option<usize>,
}

/// The source and tag a receive accepts; `None` is ANY_SOURCE or ANY_TAG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Filter {
    /// The source it names (a world rank).
    pub source: Option<Rank>,
    /// The tag it names.
    pub tag: Option<Tag>,
}

/// A receive request: posted by a call, paired with the message it took.
#[derive(Clone, Debug, PartialEq)]
pub struct Receive {
    /// The receiving rank.
    pub rank: Rank,
    /// The call that posted it.
    pub call: usize,
    /// What it accepts.
    pub filter: Filter,
    /// Its communicator.
    pub comm: u32,
    /// Whether it is a step of a collective (collective traffic has its own context).
    pub collective: bool,
    /// When it was posted.
    pub posted: Time,
    /// Index of its `Post` event.
    pub post_event: usize,
    /// The message it took.
    pub message: Option<usize>,
    /// Index of the event after which it is no longer in the posted queue: its `Match`, or
    /// its cancellation. `None`: still posted at the end.
    pub unposted_event: Option<usize>,
    /// Whether it waited in the posted queue (false: a message was already there).
    pub queued: bool,
    /// The nonblocking request it is (index into [`Timeline::requests`]), if one.
    pub request: Option<usize>,
}

/// Whether a request sends or receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// `isend` and friends, or a started persistent send.
    Send,
    /// `irecv`.
    Recv,
}

/// A nonblocking request, from the call that started it to its completion in the engine.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestSpan {
    /// Its rank.
    pub rank: Rank,
    /// Send or receive.
    pub kind: RequestKind,
    /// The call that started it.
    pub call: usize,
    /// Its message, once known.
    pub message: Option<usize>,
    /// When it started.
    pub start: Time,
    /// When it completed; `None` if it never did.
    pub end: Option<Time>,
}

/// What one rank is in after some events: its open calls (outermost first) and queues.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RankSnapshot {
    /// Open calls, outermost first (a collective, then its current step).
    pub open: Vec<usize>,
    /// Receives in the posted queue, in posting order (indices into `receives`).
    pub posted: Vec<usize>,
    /// Messages in the unexpected queue, in arrival order (indices into `messages`).
    pub unexpected: Vec<usize>,
    /// Whether the program has returned.
    pub exited: bool,
}

/// Messages and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes, summed (saturating: a hand-made trace may claim sizes near 2^64).
    pub bytes: u64,
    /// Messages.
    pub messages: u64,
}

impl Traffic {
    fn add(&mut self, bytes: u64) {
        self.sum(Traffic { bytes, messages: 1 });
    }

    fn sum(&mut self, other: Traffic) {
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.messages += other.messages;
    }
}

/// What went from one rank to another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PairTraffic {
    /// Messages a receive took.
    pub received: Traffic,
    /// Messages sent that no receive took by the end of the trace (a rendezvous request
    /// to send whose data never moved, or an eager message left in a queue).
    pub unreceived: Traffic,
}

/// Bytes and messages between ordered pairs of ranks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommMatrix {
    /// Number of ranks.
    pub ranks: usize,
    /// `(src, dst)` to what went between them; pairs that exchanged nothing are absent.
    pub pairs: BTreeMap<(Rank, Rank), PairTraffic>,
}

impl CommMatrix {
    /// Received bytes summed over blocks of ranks: cell `(i, j)` holds the bytes from ranks
    /// `i*group..(i+1)*group` to ranks `j*group..(j+1)*group` that a receive took.
    pub fn grouped(&self, group: usize) -> Vec<Vec<u64>> {
        let group = group.max(1);
        let n = self.ranks.div_ceil(group);
        let mut cells = vec![vec![0u64; n]; n];
        for (&(s, d), pair) in &self.pairs {
            let cell = &mut cells[s / group][d / group];
            *cell = cell.saturating_add(pair.received.bytes);
        }
        cells
    }

    /// Per rank: what it sent that was received, and what it received.
    pub fn totals(&self) -> Vec<RankTraffic> {
        let mut out = vec![RankTraffic::default(); self.ranks];
        for (&(s, d), pair) in &self.pairs {
            let from = &mut out[s];
            from.sent.sum(pair.received);
            from.unreceived.sum(pair.unreceived);
            from.sent_to += usize::from(pair.received.messages > 0);
            let to = &mut out[d];
            to.received.sum(pair.received);
            to.received_from += usize::from(pair.received.messages > 0);
        }
        out
    }

    /// Everything no receive took, summed over all pairs.
    pub fn unreceived(&self) -> Traffic {
        let mut all = Traffic::default();
        for pair in self.pairs.values() {
            all.sum(pair.unreceived);
        }
        all
    }
}

/// One rank's row and column of a [`CommMatrix`], summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RankTraffic {
    /// What it sent that a receive took.
    pub sent: Traffic,
    /// Ranks that received something from it.
    pub sent_to: usize,
    /// What it received.
    pub received: Traffic,
    /// Ranks it received something from.
    pub received_from: usize,
    /// What it sent that no receive took.
    pub unreceived: Traffic,
}

/// A trace indexed for viewing. Build it with [`Timeline::new`].
#[derive(Clone, Debug)]
pub struct Timeline {
    /// Number of ranks.
    pub ranks: usize,
    /// Time of the last event.
    pub end: Time,
    /// Number of events in the trace.
    pub event_count: usize,
    /// Every call, in the order they were entered.
    pub calls: Vec<CallSpan>,
    /// Every message, in the order they were sent.
    pub messages: Vec<MessageSpan>,
    /// Every receive request the trace shows, in posting order.
    pub receives: Vec<Receive>,
    /// Every nonblocking request, in the order they started.
    pub requests: Vec<RequestSpan>,
    /// Per rank: when the program returned, and the index of its `Exit` event.
    pub exits: Vec<Option<(Time, usize)>>,
    /// Per rank: its outermost calls (collectives, not their steps), in order.
    top_calls: Vec<Vec<usize>>,
    /// Per rank: all its calls, in order.
    rank_calls: Vec<Vec<usize>>,
    /// Per rank: indices of its events.
    rank_events: Vec<Vec<usize>>,
    /// Per rank: indices of its receives.
    rank_receives: Vec<Vec<usize>>,
    /// Per rank: indices of the messages sent to it.
    rank_incoming: Vec<Vec<usize>>,
    /// Event time of each event.
    times: Vec<Time>,
    /// Per event: the innermost call its rank is in right after it.
    open_after: Vec<Option<usize>>,
}

impl Timeline {
    /// Indexes `trace`. Linear in the number of events (plus the posted receives a
    /// delivery has to look through).
    pub fn new(trace: &Trace) -> Timeline {
        let n = trace.ranks;
        let mut tl = Timeline {
            ranks: n,
            end: trace.end_time(),
            event_count: trace.events.len(),
            calls: Vec::new(),
            messages: Vec::new(),
            receives: Vec::new(),
            requests: Vec::new(),
            exits: vec![None; n],
            top_calls: vec![Vec::new(); n],
            rank_calls: vec![Vec::new(); n],
            rank_events: vec![Vec::new(); n],
            rank_receives: vec![Vec::new(); n],
            rank_incoming: vec![Vec::new(); n],
            times: trace.events.iter().map(|e| e.time).collect(),
            open_after: vec![None; trace.events.len()],
        };
        // Per rank: open calls, innermost last.
        let mut stacks: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut by_id: BTreeMap<u64, usize> = BTreeMap::new();
        let mut by_recv: BTreeMap<u64, usize> = BTreeMap::new();
        let mut instances: BTreeMap<(Rank, CallKind), u32> = BTreeMap::new();
        for (index, event) in trace.events.iter().enumerate() {
            let rank = event.rank;
            if rank >= n {
                continue;
            }
            tl.rank_events[rank].push(index);
            match &event.kind {
                EventKind::Enter { call, site, peer, tag, bytes, comm } => {
                    let parent =
                        stacks[rank].iter().rev().copied().find(|&c| State::of(tl.calls[c].call) == State::Collective);
                    let id = tl.calls.len();
                    tl.calls.push(CallSpan {
                        rank,
                        call: *call,
                        site: site.clone(),
                        peer: *peer,
                        tag: *tag,
                        bytes: *bytes,
                        comm: *comm,
                        start: event.time,
                        end: None,
                        enter_event: index,
                        leave_event: None,
                        parent,
                        instance: None,
                    });
                    if stacks[rank].is_empty() {
                        if State::of(*call) == State::Collective {
                            let count = instances.entry((rank, *call)).or_insert(0);
                            tl.calls[id].instance = Some(*count);
                            *count += 1;
                        }
                        tl.top_calls[rank].push(id);
                    }
                    tl.rank_calls[rank].push(id);
                    stacks[rank].push(id);
                }
                EventKind::Leave { call } => {
                    // Pop to the matching call; a well-formed trace has it on top.
                    while let Some(top) = stacks[rank].pop() {
                        tl.calls[top].end = Some(event.time);
                        tl.calls[top].leave_event = Some(index);
                        if tl.calls[top].call == *call {
                            break;
                        }
                    }
                }
                EventKind::Post { recv, source, tag, comm, collective } => {
                    let Some(&call) = stacks[rank].last() else { continue };
                    let r = tl.receives.len();
                    let request = is_request_call(tl.calls[call].call).then(|| {
                        tl.requests.push(RequestSpan {
                            rank,
                            kind: RequestKind::Recv,
                            call,
                            message: None,
                            start: event.time,
                            end: None,
                        });
                        tl.requests.len() - 1
                    });
                    tl.receives.push(Receive {
                        rank,
                        call,
                        filter: Filter { source: *source, tag: *tag },
                        comm: *comm,
                        collective: *collective,
                        posted: event.time,
                        post_event: index,
                        message: None,
                        unposted_event: None,
                        queued: true,
                        request,
                    });
                    tl.rank_receives[rank].push(r);
                    by_recv.insert(*recv, r);
                }
                EventKind::Unpost { recv } => {
                    if let Some(&r) = by_recv.get(recv) {
                        tl.receives[r].unposted_event = Some(index);
                    }
                }
                EventKind::Send { msg, dst, tag, bytes, protocol, arrival: _ } => {
                    let send_call = stacks[rank].last().copied();
                    let collective =
                        stacks[rank].iter().rev().copied().find(|&c| State::of(tl.calls[c].call) == State::Collective);
                    let m = tl.messages.len();
                    tl.messages.push(MessageSpan {
                        id: *msg,
                        src: rank,
                        dst: *dst,
                        tag: *tag,
                        bytes: *bytes,
                        protocol: *protocol,
                        sent: event.time,
                        send_event: index,
                        send_call,
                        collective,
                        arrived: None,
                        arrive_event: None,
                        matched: None,
                        match_event: None,
                        delivered: None,
                        send_done: match protocol {
                            Protocol::Eager => Some(trace.platform.send_done(rank, *dst, event.time)),
                            Protocol::Rendezvous => None,
                        },
                        recv_done: None,
                        unexpected: false,
                        receive: None,
                    });
                    by_id.insert(*msg, m);
                    if *dst < n {
                        tl.rank_incoming[*dst].push(m);
                    }
                    if let Some(call) = send_call.filter(|&c| is_request_call(tl.calls[c].call)) {
                        tl.requests.push(RequestSpan {
                            rank,
                            kind: RequestKind::Send,
                            call,
                            message: Some(m),
                            start: tl.calls[call].start,
                            end: tl.messages[m].send_done,
                        });
                    }
                }
                EventKind::Arrive { msg, .. } => {
                    if let Some(&m) = by_id.get(msg) {
                        tl.messages[m].arrived = Some(event.time);
                        tl.messages[m].arrive_event = Some(index);
                    }
                }
                EventKind::Match { msg, src, arrival, recv, unexpected } => {
                    let (Some(&m), Some(&r)) = (by_id.get(msg), by_recv.get(recv)) else { continue };
                    let recv_done = trace.platform.recv_done(*src, rank, *arrival);
                    let message = &mut tl.messages[m];
                    message.matched = Some(event.time);
                    message.match_event = Some(index);
                    message.delivered = Some(*arrival);
                    message.recv_done = Some(recv_done);
                    message.unexpected = *unexpected;
                    message.receive = Some(r);
                    if message.protocol == Protocol::Rendezvous {
                        message.send_done = Some(*arrival);
                    }
                    let receive = &mut tl.receives[r];
                    receive.message = Some(m);
                    receive.unposted_event = Some(index);
                    receive.queued = !*unexpected;
                    if let Some(q) = receive.request {
                        tl.requests[q].message = Some(m);
                        tl.requests[q].end = Some(recv_done);
                    }
                }
                EventKind::Exit => {
                    tl.exits[rank] = Some((event.time, index));
                }
                EventKind::Compute { .. } | EventKind::Print { .. } => {}
            }
            tl.open_after[index] = stacks[rank].last().copied();
        }
        // Rendezvous sends complete on delivery: fill in their requests now.
        for req in &mut tl.requests {
            if req.kind == RequestKind::Send {
                req.end = req.message.and_then(|m| tl.messages[m].send_done);
            }
        }
        tl
    }
}

/// Whether a call starts requests that outlive it.
fn is_request_call(call: CallKind) -> bool {
    matches!(
        call,
        CallKind::Isend
            | CallKind::Issend
            | CallKind::Ibsend
            | CallKind::Irsend
            | CallKind::Irecv
            | CallKind::Start
            | CallKind::Startall
    )
}

#[cfg(test)]
mod tests;
