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

/// Bytes and messages between ordered pairs of ranks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CommMatrix {
    /// Number of ranks.
    pub ranks: usize,
    /// `(src, dst)` to `(bytes, messages)`; pairs that exchanged nothing are absent.
    pub pairs: BTreeMap<(Rank, Rank), (u64, u64)>,
}

impl CommMatrix {
    /// Sums over blocks of ranks: cell `(i, j)` holds the bytes from ranks
    /// `i*group..(i+1)*group` to ranks `j*group..(j+1)*group`.
    pub fn grouped(&self, group: usize) -> Vec<Vec<u64>> {
        let group = group.max(1);
        let n = self.ranks.div_ceil(group);
        let mut cells = vec![vec![0u64; n]; n];
        for (&(s, d), &(bytes, _)) in &self.pairs {
            cells[s / group][d / group] += bytes;
        }
        cells
    }

    /// The largest byte count of one pair.
    pub fn max_bytes(&self) -> u64 {
        self.pairs.values().map(|&(b, _)| b).max().unwrap_or(0)
    }
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

    /// Time of event `index`.
    pub fn event_time(&self, index: usize) -> Time {
        self.times.get(index).copied().unwrap_or(self.end)
    }

    /// The virtual time after the first `cursor` events: that of the last of them.
    pub fn time_at(&self, cursor: usize) -> Time {
        match cursor {
            0 => Time::ZERO,
            c => self.event_time(c.min(self.event_count) - 1),
        }
    }

    /// The innermost call the rank of event `index` is in right after that event (whose
    /// slice therefore encloses it).
    pub fn call_after(&self, index: usize) -> Option<usize> {
        self.open_after.get(index).copied().flatten()
    }

    /// Indices of `rank`'s events, in order.
    pub fn rank_events(&self, rank: Rank) -> &[usize] {
        &self.rank_events[rank]
    }

    /// `rank`'s outermost calls, in order.
    pub fn top_calls(&self, rank: Rank) -> &[usize] {
        &self.top_calls[rank]
    }

    /// The first event of `rank` at index `>= cursor`, as a cursor just after it.
    pub fn next_rank_cursor(&self, rank: Rank, cursor: usize) -> Option<usize> {
        let events = &self.rank_events[rank];
        let i = events.partition_point(|&e| e < cursor);
        events.get(i).map(|&e| e + 1)
    }

    /// The last event of `rank` before the current one, as a cursor just after it.
    pub fn prev_rank_cursor(&self, rank: Rank, cursor: usize) -> Option<usize> {
        let events = &self.rank_events[rank];
        let i = events.partition_point(|&e| e + 1 < cursor);
        i.checked_sub(1).map(|i| events[i] + 1)
    }

    /// What `rank` is in after the first `cursor` events.
    pub fn snapshot(&self, rank: Rank, cursor: usize) -> RankSnapshot {
        let mut snap = RankSnapshot::default();
        let calls = &self.rank_calls[rank];
        let entered = calls.partition_point(|&c| self.calls[c].enter_event < cursor);
        // Calls nest, so the open ones in entry order run from the outermost inwards.
        snap.open = calls[..entered].iter().copied().filter(|&c| self.calls[c].open_at(cursor)).collect();
        for &r in &self.rank_receives[rank] {
            let recv = &self.receives[r];
            if recv.post_event >= cursor {
                break;
            }
            if recv.queued && recv.unposted_event.is_none_or(|u| u >= cursor) {
                snap.posted.push(r);
            }
        }
        for &m in &self.rank_incoming[rank] {
            let msg = &self.messages[m];
            if msg.send_event >= cursor {
                break;
            }
            let arrived = msg.arrive_event.is_some_and(|a| a < cursor);
            let waiting = msg.unexpected && msg.match_event.is_none_or(|e| e >= cursor);
            if arrived && (waiting || msg.match_event.is_none()) {
                snap.unexpected.push(m);
            }
        }
        snap.unexpected.sort_by_key(|&m| self.messages[m].arrive_event);
        snap.exited = self.exits[rank].is_some_and(|(_, e)| e < cursor);
        snap
    }

    /// The state of `rank` after the first `cursor` events, and the call it is in.
    pub fn state_at(&self, rank: Rank, cursor: usize) -> (State, Option<usize>) {
        let snap = self.snapshot(rank, cursor);
        if snap.exited {
            return (State::Done, None);
        }
        match snap.open.first() {
            Some(&outer) => {
                let inner = snap.open.last().copied();
                (self.call_state(outer, cursor), inner)
            }
            None => (State::Run, None),
        }
    }

    /// How call `c` is drawn after the first `cursor` events: its kind's state, or
    /// [`State::Blocked`] once the trace has ended with the call still open.
    pub fn call_state(&self, c: usize, cursor: usize) -> State {
        let call = &self.calls[c];
        if call.leave_event.is_none() && cursor >= self.event_count && self.exits[call.rank].is_none() {
            State::Blocked
        } else {
            State::of(call.call)
        }
    }

    /// Where the cursor is on `axis`: its time, or the number of events before it.
    pub fn position(&self, axis: Axis, cursor: usize) -> u64 {
        match axis {
            Axis::Time => self.time_at(cursor).as_nanos(),
            Axis::Events => cursor.min(self.event_count) as u64,
        }
    }

    /// The extent of the whole trace on `axis`.
    pub fn extent(&self, axis: Axis) -> u64 {
        match axis {
            Axis::Time => self.end.as_nanos(),
            Axis::Events => self.event_count as u64,
        }
    }

    /// Where message `m` starts and ends on `axis` after the first `cursor` events: from its
    /// send to its delivery once matched, else to its envelope's arrival. The flag says
    /// whether it was matched by then.
    pub fn message_extent(&self, m: usize, axis: Axis, cursor: usize) -> (u64, u64, bool) {
        let msg = &self.messages[m];
        let matched = msg.match_event.is_some_and(|e| e < cursor);
        match axis {
            Axis::Time => {
                let target = if matched { msg.delivered } else { msg.arrived.or(msg.delivered) };
                (msg.sent.as_nanos(), target.unwrap_or(msg.sent).as_nanos(), matched)
            }
            Axis::Events => {
                let target = if matched { msg.match_event } else { msg.arrive_event };
                (msg.send_event as u64, target.unwrap_or(msg.send_event) as u64, matched)
            }
        }
    }

    /// The dominant state of `rank` in each of `columns` equal slices of `[from, to)` on
    /// `axis`, after the first `cursor` events. `None`: nothing has happened there yet. A
    /// call still open at the end of the trace reaches to infinity. On the event axis, event
    /// `i` is at `i`.
    pub fn bins(
        &self,
        rank: Rank,
        axis: Axis,
        (from, to): (u64, u64),
        columns: usize,
        cursor: usize,
    ) -> Vec<Option<State>> {
        let mut cover = vec![[0u64; 8]; columns];
        if columns == 0 || to <= from {
            return vec![None; columns];
        }
        // The last point that has happened: the cursor's time, or its last event (spans on
        // the event axis include their last event).
        let now = match axis {
            Axis::Time => self.position(axis, cursor),
            Axis::Events if cursor == 0 => return vec![None; columns],
            Axis::Events => cursor as u64 - 1,
        };
        let width = u128::from(to - from);
        let column_of = |x: u64| -> usize {
            let x = x.clamp(from, to) - from;
            ((u128::from(x) * columns as u128) / width).min(columns as u128 - 1) as usize
        };
        let column_start = |c: usize| from + ((c as u128 * width) / columns as u128) as u64;
        // Per column: weight of each state, and units covered by calls or exit.
        let mut covered = vec![0u64; columns];
        let paint = |a: u64, b: Option<u64>, state: State, cover: &mut Vec<[u64; 8]>, covered: &mut Vec<u64>| {
            let b = b.unwrap_or(u64::MAX).min(to);
            let a = a.max(from);
            if a > b || a >= to {
                return;
            }
            for c in column_of(a)..=column_of(b) {
                let overlap = b.min(column_start(c + 1)).saturating_sub(a.max(column_start(c)));
                // One unit for touching a column at all keeps instants visible on their own.
                cover[c][state.index()] += overlap.saturating_mul(4) + 1;
                if state != State::Run {
                    covered[c] += overlap;
                }
            }
        };
        let ended = cursor >= self.event_count;
        for &c in &self.top_calls[rank] {
            let call = &self.calls[c];
            if call.enter_event >= cursor {
                break;
            }
            let (start, end) = match axis {
                Axis::Time => (call.start.as_nanos(), call.end.map(Time::as_nanos)),
                Axis::Events => (call.enter_event as u64, call.leave_event.map(|l| l as u64)),
            };
            let end = match call.leave_event {
                Some(l) if l < cursor => end,
                _ if ended => None,
                _ => Some(now),
            };
            paint(start, end.map(|e| e.max(start)), self.call_state(c, cursor), &mut cover, &mut covered);
        }
        let exited = self.exits[rank].filter(|&(_, e)| e < cursor).map(|(t, e)| match axis {
            Axis::Time => t.as_nanos(),
            Axis::Events => e as u64,
        });
        if let Some(x) = exited {
            paint(x, None, State::Done, &mut cover, &mut covered);
        }
        // Program code fills what calls leave uncovered, from 0 to now (or the exit).
        let alive_until = exited.unwrap_or(now).min(to);
        if alive_until >= from {
            for c in column_of(from)..=column_of(alive_until) {
                let span = alive_until.min(column_start(c + 1)).saturating_sub(column_start(c).max(from));
                let free = span.saturating_sub(covered[c]);
                if free > 0 || cover[c].iter().all(|&w| w == 0) {
                    cover[c][State::Run.index()] += free.saturating_mul(4) + 1;
                }
            }
        }
        cover
            .iter()
            .map(|cell| {
                let best = (0..8).max_by_key(|&i| (cell[i], priority(State::ALL[i])))?;
                (cell[best] > 0).then_some(State::ALL[best])
            })
            .collect()
    }

    /// Bytes and messages between every pair of ranks, over the whole run.
    pub fn comm_matrix(&self) -> CommMatrix {
        let mut m = CommMatrix { ranks: self.ranks, pairs: BTreeMap::new() };
        for msg in &self.messages {
            let cell = m.pairs.entry((msg.src, msg.dst)).or_insert((0, 0));
            cell.0 += msg.bytes;
            cell.1 += 1;
        }
        m
    }

    /// Virtual time each rank spent in each state (indexed by [`State::index`]), from 0 to
    /// the end of the trace. Time in program code counts as [`State::Run`].
    pub fn time_in_states(&self) -> Vec<[Time; 8]> {
        (0..self.ranks)
            .map(|rank| {
                let mut out = [Time::ZERO; 8];
                let mut busy = Time::ZERO;
                for &c in &self.top_calls[rank] {
                    let call = &self.calls[c];
                    let end = call.end.unwrap_or(self.end);
                    let d = end.saturating_sub(call.start);
                    out[self.call_state(c, self.event_count).index()] += d;
                    busy += d;
                }
                let life = match self.exits[rank] {
                    Some((t, _)) => {
                        out[State::Done.index()] += self.end.saturating_sub(t);
                        t
                    }
                    None => self.end,
                };
                out[State::Run.index()] += life.saturating_sub(busy);
                out
            })
            .collect()
    }

    /// Calls still open at the end of the trace, outermost per rank, in rank order: what a
    /// saved trace says of a deadlock when its report is not at hand.
    pub fn unfinished(&self) -> Vec<usize> {
        (0..self.ranks).filter_map(|r| self.snapshot(r, self.event_count).open.first().copied()).collect()
    }

    /// The innermost open call of `rank` at the end of the trace (the step a collective is
    /// blocked in, or the call itself).
    pub fn innermost_unfinished(&self, rank: Rank) -> Option<usize> {
        self.snapshot(rank, self.event_count).open.last().copied()
    }

    /// The message whose `Send`, `Arrive` or `Match` is event `index`.
    pub fn message_of_event(&self, index: usize) -> Option<usize> {
        let rank_of =
            |m: &MessageSpan| m.send_event == index || m.arrive_event == Some(index) || m.match_event == Some(index);
        // Messages are in send order; the event is at or after the send.
        let upto = self.messages.partition_point(|m| m.send_event <= index);
        (0..upto).rev().find(|&m| rank_of(&self.messages[m]))
    }

    /// The call whose `Enter` or `Leave` is event `index`.
    pub fn call_of_event(&self, index: usize) -> Option<usize> {
        let upto = self.calls.partition_point(|c| c.enter_event <= index);
        (0..upto).rev().find(|&c| self.calls[c].enter_event == index || self.calls[c].leave_event == Some(index))
    }

    /// Messages that `rank` sent or received, in send order.
    pub fn messages_of(&self, rank: Rank) -> Vec<usize> {
        (0..self.messages.len()).filter(|&m| self.messages[m].src == rank || self.messages[m].dst == rank).collect()
    }

    /// Ranks `rank` exchanged messages with, in rank order.
    pub fn peers_of(&self, rank: Rank) -> Vec<Rank> {
        let mut peers: Vec<Rank> = self
            .messages
            .iter()
            .filter_map(|m| match (m.src == rank, m.dst == rank) {
                (true, false) => Some(m.dst),
                (false, true) => Some(m.src),
                _ => None,
            })
            .collect();
        peers.sort_unstable();
        peers.dedup();
        peers
    }

    /// Messages that are steps of collective call `c` on any rank (the calls of the same
    /// kind and instance): the algorithm's traffic, grouped.
    pub fn collective_messages(&self, c: usize) -> Vec<usize> {
        let (kind, instance) = (self.calls[c].call, self.calls[c].instance);
        if instance.is_none() {
            return Vec::new();
        }
        (0..self.messages.len())
            .filter(|&m| {
                self.messages[m]
                    .collective
                    .is_some_and(|k| self.calls[k].call == kind && self.calls[k].instance == instance)
            })
            .collect()
    }
}

/// Which state wins a column when two cover it equally: the more telling one.
fn priority(state: State) -> u8 {
    match state {
        State::Blocked => 7,
        State::Collective => 6,
        State::Send => 5,
        State::Recv => 4,
        State::Wait => 3,
        State::Compute => 2,
        State::Done => 1,
        State::Run => 0,
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
mod tests {
    use super::*;
    use crate::catalogue::{self, RingOrder};
    use crate::world::World;

    fn trace_of<R>(world: World, program: impl Fn(&crate::Comm) -> R) -> Trace {
        world.simulate(program).trace
    }

    #[test]
    fn eager_ring_messages_have_every_time() {
        let trace = trace_of(World::new(3), |c| catalogue::ring(c, 8, RingOrder::Naive));
        let tl = Timeline::new(&trace);
        assert_eq!(tl.messages.len(), 3);
        for m in &tl.messages {
            assert_eq!(m.protocol, Protocol::Eager);
            assert_eq!(
                (m.sent, m.arrived, m.matched, m.delivered),
                (Time(0), Some(Time(1008)), Some(Time(1008)), Some(Time(1008)))
            );
            assert_eq!(m.send_done, Some(Time(0)));
            assert!(!m.unexpected, "each receive was posted before its message arrived");
            let r = &tl.receives[m.receive.expect("paired")];
            assert_eq!((r.rank, r.queued), (m.dst, true));
        }
        // Every rank: send [0, 0], recv [0, 1008], exit.
        for rank in 0..3 {
            let calls: Vec<_> =
                tl.top_calls(rank).iter().map(|&c| (tl.calls[c].call, tl.calls[c].start, tl.calls[c].end)).collect();
            assert_eq!(
                calls,
                vec![(CallKind::Send, Time(0), Some(Time(0))), (CallKind::Recv, Time(0), Some(Time(1008)))]
            );
            assert_eq!(tl.exits[rank].map(|e| e.0), Some(Time(1008)));
        }
    }

    #[test]
    fn deadlocked_ring_ends_blocked_with_requests_in_queues() {
        let trace = trace_of(World::new(4), |c| catalogue::ring(c, 1 << 20, RingOrder::Naive));
        let tl = Timeline::new(&trace);
        let end = tl.event_count;
        let unfinished: Vec<_> = tl.unfinished().iter().map(|&c| (tl.calls[c].rank, tl.calls[c].call)).collect();
        assert_eq!(unfinished, (0..4).map(|r| (r, CallKind::Send)).collect::<Vec<_>>());
        for rank in 0..4 {
            assert_eq!(tl.state_at(rank, end).0, State::Blocked);
            let snap = tl.snapshot(rank, end);
            assert_eq!(snap.unexpected.len(), 1, "the left neighbour's request to send waits unmatched");
            assert_eq!(tl.messages[snap.unexpected[0]].src, (rank + 3) % 4);
            assert!(snap.posted.is_empty());
        }
        // Before the end, the same call is drawn as a send in progress.
        assert_eq!(tl.state_at(0, 2).0, State::Send);
        assert_eq!(tl.state_at(0, 0).0, State::Run);
        assert!(tl.bins(0, Axis::Time, (0, 1000), 10, end).iter().all(|b| *b == Some(State::Blocked)));
        // In event order, rank 0 runs its code, then enters its send (event 0) and blocks.
        let bins = tl.bins(0, Axis::Events, (0, 12), 12, end);
        assert!(bins.iter().all(|b| *b == Some(State::Blocked)), "{bins:?}");
        let bins = tl.bins(0, Axis::Events, (0, 12), 12, 2);
        assert_eq!(&bins[..3], &[Some(State::Send), Some(State::Send), None]);
    }

    #[test]
    fn nonblocking_requests_pair_receives_and_complete() {
        let trace = trace_of(World::new(2), catalogue::nonblocking);
        let tl = Timeline::new(&trace);
        assert_eq!(tl.requests.len(), 8);
        for req in &tl.requests {
            let m = &tl.messages[req.message.expect("every request has its message")];
            match req.kind {
                RequestKind::Send => assert_eq!((m.src, req.end), (req.rank, m.send_done)),
                RequestKind::Recv => {
                    assert_eq!(m.dst, req.rank);
                    // irecv(left, 1) takes tag 1; irecv(right, 2) takes tag 2.
                    assert_eq!(Some(m.tag), tl.calls[req.call].tag);
                    assert_eq!(req.end, m.recv_done);
                }
            }
        }
        // Once rank 0 is in its waitall, after its four posts and sends, both its receives
        // are posted.
        let waitall = tl.top_calls(0).iter().find(|&&c| tl.calls[c].call == CallKind::Waitall).unwrap();
        let after_posts = tl.calls[*waitall].enter_event + 1;
        let snap = tl.snapshot(0, after_posts);
        assert_eq!(snap.posted.len(), 2);
        assert_eq!(tl.calls[snap.open[0]].call, CallKind::Waitall);
    }

    #[test]
    fn unexpected_messages_wait_in_the_queue_until_received() {
        let trace = trace_of(World::new(2), |c| {
            if c.rank() == 0 {
                c.send(&1u8, 1, 5);
            } else {
                c.compute(std::time::Duration::from_micros(10));
                let _: u8 = c.recv(0, 5);
            }
        });
        let tl = Timeline::new(&trace);
        let m = &tl.messages[0];
        assert!(m.unexpected);
        let (arrive, matched) = (m.arrive_event.unwrap(), m.match_event.unwrap());
        assert_eq!(tl.snapshot(1, arrive + 1).unexpected, vec![0]);
        assert!(tl.snapshot(1, matched + 1).unexpected.is_empty());
        assert!(!tl.receives[m.receive.unwrap()].queued);
        let states = tl.time_in_states();
        assert_eq!(states[1][State::Compute.index()], Time(10_000));
    }

    #[test]
    fn rank_cursors_step_through_one_rank() {
        let trace = trace_of(World::new(3), |c| catalogue::ring(c, 8, RingOrder::Naive));
        let tl = Timeline::new(&trace);
        let mut cursor = 0;
        let mut seen = Vec::new();
        while let Some(next) = tl.next_rank_cursor(1, cursor) {
            seen.push(next - 1);
            cursor = next;
        }
        assert_eq!(seen, tl.rank_events(1));
        assert_eq!(tl.prev_rank_cursor(1, cursor), Some(seen[seen.len() - 2] + 1));
        assert_eq!(tl.prev_rank_cursor(1, seen[0] + 1), None);
    }

    #[test]
    fn matrix_counts_bytes_per_pair() {
        let trace = trace_of(World::new(4), |c| catalogue::ring(c, 100, RingOrder::Naive));
        let m = Timeline::new(&trace).comm_matrix();
        assert_eq!(m.pairs.len(), 4);
        assert_eq!(m.pairs[&(3, 0)].1, 1);
        let grouped = m.grouped(2);
        assert_eq!(grouped[0][0] + grouped[0][1] + grouped[1][0] + grouped[1][1], 4 * m.pairs[&(0, 1)].0);
    }
}
