//! Point-to-point messages: injection, delivery to the receiver's queues, matching, and
//! probes. The times come from the cost model (`crate::cost`).

use super::causality::{AtPost, Held};
use super::queue::{Action, Class};
use super::rank::{RankState, Wait};
use super::requests::ReqOp;
use super::{Engine, Flow};
use crate::call::{
    CallKind, Channel, ErrorClass, MpiError, RecvArgs, Reply, ReqId, SendArgs, SendMode, Status, ANY_TAG, PROC_NULL,
};
use crate::codec::Payload;
use crate::deadlock::Unreceived;
use crate::matching::{Envelope, Posted};
use crate::sched::Choice;
use crate::site::CallSite;
use crate::time::Time;
use crate::trace::{EventKind, Protocol};
use crate::{Rank, Tag};

#[derive(Debug)]
pub(super) struct Message {
    pub id: u64,
    pub src: Rank,
    pub dst: Rank,
    pub tag: Tag,
    pub chan: Channel,
    pub payload: Payload,
    pub protocol: Protocol,
    pub mode: SendMode,
    /// The send's request; `None` for a blocking eager send, which completes at once.
    pub send_req: Option<ReqId>,
    pub kind: CallKind,
    pub site: CallSite,
    /// Eager: when the last byte reaches the receiver.
    pub arrival: Time,
    pub cancelled: bool,
    /// The sender's open taints when it sent this (`super::causality`).
    pub taints: Vec<super::causality::Taint>,
}

/// Where a matched message found its receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arrived {
    /// It waited in the unexpected queue until the receive was posted.
    Unexpected,
    /// At a receive already posted when it was sent.
    Expected,
    /// At a posted receive, but one posted after it was sent (it was still in flight).
    InFlight,
}

impl Engine<'_> {
    /// Whether a send to a rank (not `PROC_NULL`) goes out eagerly (the cost model's eager
    /// rule).
    pub(super) fn sends_eagerly(&self, args: &SendArgs) -> bool {
        args.dest != PROC_NULL
            && self.cfg.platform.protocol(args.mode, args.payload.len(), self.cfg.strict) == Protocol::Eager
    }

    /// Starts send request `id`: its message goes on the wire.
    pub(super) fn start_send(&mut self, id: ReqId) {
        let req = self.requests.get_mut(id).expect("started requests exist");
        let (owner, persistent, kind, site) = (req.owner, req.persistent, req.kind, req.site);
        let ReqOp::Send { dest, tag, mode, payload, chan, .. } = &mut req.op else { unreachable!("a send") };
        let (dest, tag, mode, chan) = (*dest, *tag, *mode, *chan);
        let payload = if persistent { payload.clone() } else { payload.take() }.expect("sends have data");
        if dest == PROC_NULL {
            self.complete_at(id, self.now, Status::EMPTY, None);
            return;
        }
        let m = self.inject(owner, SendArgs { chan, dest, tag, mode, payload }, Some(id), kind, site);
        if let Some(ReqOp::Send { msg, .. }) = self.requests.get_mut(id).map(|r| &mut r.op) {
            *msg = Some(m);
        }
    }

    /// Starts receive request `id`: it takes a waiting message, or joins the posted queue.
    pub(super) fn start_recv(&mut self, id: ReqId) {
        let recv = self.next_recv_id;
        self.next_recv_id += 1;
        let req = self.requests.get_mut(id).expect("started requests exist");
        let (owner, site) = (req.owner, req.site);
        let ReqOp::Recv { filter, id: current } = &mut req.op else { unreachable!("a receive") };
        *current = recv;
        let filter = *filter;
        if filter.source == Some(PROC_NULL) {
            let status = Status { source: PROC_NULL, tag: ANY_TAG, count: 0, cancelled: false };
            self.complete_at(id, self.now, status, None);
            return;
        }
        self.record(self.now, owner, || EventKind::Post {
            recv,
            source: filter.source,
            tag: filter.tag,
            comm: filter.chan.comm,
            collective: filter.chan.collective,
        });
        let candidates = self.mailboxes[owner].candidates(&filter);
        if candidates.is_empty() {
            let tainted = self.posted(owner, id, &filter);
            self.mailboxes[owner].push_posted(Posted { req: id, filter, after_msgs: self.next_msg_id, tainted });
            return;
        }
        let pick = if candidates.len() == 1 {
            0
        } else {
            self.oracle.choose(Choice::WildcardMatch { rank: owner }, candidates.len())
        };
        let env = self.mailboxes[owner].take_unexpected(candidates[pick]);
        if filter.source.is_none() && !filter.chan.collective {
            self.ranks[owner].last_wildcard = Some((env.src, site));
        }
        self.matched(env.msg, id, Arrived::Unexpected, AtPost::Now);
    }

    /// Puts a message on the wire and schedules its envelope at the receiver.
    pub(super) fn inject(
        &mut self,
        src: Rank,
        args: SendArgs,
        send_req: Option<ReqId>,
        kind: CallKind,
        site: CallSite,
    ) -> u32 {
        let SendArgs { chan, dest: dst, tag, mode, payload } = args;
        let bytes = payload.len();
        let platform = &self.cfg.platform;
        let protocol = platform.protocol(mode, bytes, self.cfg.strict);
        let sent = platform.send_done(src, dst, self.now);
        // Timing jitter of an exploring schedule (zero by default).
        let jitter = self.oracle.delay(src, dst, Time(platform.link(src, dst).latency_ns));
        let arrival = match protocol {
            Protocol::Eager => {
                if mode != SendMode::Buffered {
                    self.reliance.eager_sends += 1;
                }
                let flight = platform.eager(src, dst, bytes, self.now, self.ranks[src].nic_free, jitter);
                self.ranks[src].nic_free = flight.nic_free;
                Some(flight.arrival)
            }
            Protocol::Rendezvous => None,
        };
        let last = self.ranks[src].channel.entry(dst).or_insert(Time::ZERO);
        let visible = arrival.unwrap_or(sent + jitter).max(*last);
        *last = visible;
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        self.stats.messages += 1;
        self.stats.bytes += bytes;
        self.record(self.now, src, || EventKind::Send { msg: id, dst, tag, bytes, protocol, arrival });
        let taints = self.carried(src);
        let m = self.messages.insert(Message {
            id,
            src,
            dst,
            tag,
            chan,
            payload,
            protocol,
            mode,
            send_req,
            kind,
            site,
            arrival: arrival.unwrap_or(Time::ZERO),
            cancelled: false,
            taints,
        });
        if protocol == Protocol::Eager && mode != SendMode::Buffered && !chan.collective {
            self.went_on(src, dst, m, &Envelope { msg: m.slot, src, tag, chan, bytes });
        }
        if let (Protocol::Eager, Some(req)) = (protocol, send_req) {
            self.complete_at(req, sent, Status::EMPTY, None);
        }
        self.queue.push_by(visible, Class::Delivery, dst, src, Action::Envelope(m.slot));
        m.slot
    }

    /// An envelope becomes visible at its destination.
    pub(super) fn deliver(&mut self, slot: u32) {
        let mid = self.messages.id_of(slot);
        let m = self.messages.get(mid).expect("delivered messages exist");
        if m.cancelled {
            self.messages.remove(mid);
            return;
        }
        let env = Envelope { msg: slot, src: m.src, tag: m.tag, chan: m.chan, bytes: m.payload.len() };
        let (dst, id, mode, src) = (m.dst, m.id, m.mode, m.src);
        self.record(self.now, dst, || EventKind::Arrive { msg: id, src });
        if let Some(posted) = self.mailboxes[dst].take_posted(&env) {
            if posted.filter.source.is_none() && !posted.filter.chan.collective {
                let site = self.requests.get(posted.req).expect("posted receives exist").site;
                self.ranks[dst].last_wildcard = Some((src, site));
            }
            let arrived = if posted.after_msgs > id { Arrived::InFlight } else { Arrived::Expected };
            let at_post = if posted.tainted { AtPost::Kept } else { AtPost::Nothing };
            self.matched(slot, posted.req, arrived, at_post);
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
    /// An eager standard send whose receive was posted only after it was sent counts as
    /// buffered: with no buffer it would have waited. A collective's own messages do not
    /// count: its algorithm posts each round's receives with its sends, so only a
    /// collective that returned early (counted when it does) can wait differently.
    /// `at_post`: what the receiver carried when it posted the receive (`super::causality`).
    fn matched(&mut self, slot: u32, recv: ReqId, arrived: Arrived, at_post: AtPost) {
        let mid = self.messages.id_of(slot);
        if self.following_causality() {
            // Before the message leaves the table: until then its own taint is open.
            let m = self.messages.get_mut(mid).expect("matched messages exist");
            let held = match (m.chan.collective || m.mode == SendMode::Buffered, m.protocol) {
                (true, _) => Held::Not,
                (false, Protocol::Rendezvous) => Held::Rendezvous,
                (false, Protocol::Eager) if arrived == Arrived::Expected => Held::InTime,
                (false, Protocol::Eager) => Held::Early,
            };
            let (ends, brought) = ((m.src, m.dst, recv), std::mem::take(&mut m.taints));
            self.matched_causally(ends, held, at_post, &brought);
        }
        let m = self.messages.remove(mid).expect("matched messages exist");
        if arrived != Arrived::Expected
            && m.protocol == Protocol::Eager
            && m.mode != SendMode::Buffered
            && !m.chan.collective
        {
            self.reliance.buffered_sends += 1;
        }
        let unexpected = arrived == Arrived::Unexpected;
        let bytes = m.payload.len();
        let (comm, recv_id) = match self.requests.get(recv).map(|r| &r.op) {
            Some(ReqOp::Recv { filter, id }) => (filter.chan.comm, *id),
            _ => unreachable!("messages match receives"),
        };
        let source = self.comms[comm as usize].local(m.src);
        let status = Status { source, tag: m.tag, count: bytes, cancelled: false };
        let arrival = match m.protocol {
            Protocol::Eager => m.arrival.max(self.now),
            Protocol::Rendezvous => {
                let flight = self.cfg.platform.rendezvous(m.src, m.dst, bytes, self.now, self.ranks[m.src].nic_free);
                self.ranks[m.src].nic_free = flight.nic_free;
                let req = m.send_req.expect("rendezvous sends have a request");
                self.complete_at(req, flight.arrival, Status::EMPTY, None);
                flight.arrival
            }
        };
        let (id, src) = (m.id, m.src);
        self.record(self.now, m.dst, || EventKind::Match { msg: id, src, arrival, recv: recv_id, unexpected });
        let done = self.cfg.platform.recv_done(m.src, m.dst, arrival);
        self.complete_at(recv, done, status, Some(m.payload));
    }

    /// Cancels the unmatched message of send request `req`; whether it was still unmatched.
    pub(super) fn cancel_message(&mut self, slot: u32, req: ReqId) -> bool {
        let mid = self.messages.id_of(slot);
        match self.messages.get_mut(mid) {
            Some(m) if m.send_req == Some(req) => {
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

    /// `MPI_Probe` and `MPI_Iprobe`.
    pub(super) fn probe_call(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: CallSite,
        args: RecvArgs,
        block: bool,
        streak: u64,
    ) -> Flow {
        match self.probe(rank, &args) {
            Some(status) => Flow::Reply(Reply::Probed(Some(status)), self.now),
            None if block => {
                self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Probe { filter: args } };
                Flow::Block
            }
            None => self.poll_in_vain(rank, kind, site, Wait::Probe { filter: args }, streak, Reply::Probed(None)),
        }
    }

    /// The first envelope a probe with `filter` on `rank` sees; with several senders'
    /// messages waiting, a wildcard probe's pick is the oracle's.
    pub(super) fn probe(&mut self, rank: Rank, filter: &RecvArgs) -> Option<Status> {
        let candidates = self.mailboxes[rank].candidates(filter);
        let pick = match candidates.len() {
            0 => return None,
            1 => 0,
            n => self.oracle.choose(Choice::WildcardProbe { rank }, n),
        };
        let env = self.mailboxes[rank].envelope(candidates[pick]);
        let status = Status {
            source: self.comms[filter.chan.comm as usize].local(env.src),
            tag: env.tag,
            count: env.bytes,
            cancelled: false,
        };
        // What a probe sees happened before it returns, as a receive's message does.
        let brought = self.messages.get(self.messages.id_of(env.msg)).map(|m| m.taints.clone()).unwrap_or_default();
        self.probed(rank, &brought);
        Some(status)
    }

    /// Point-to-point messages that arrived and were never received, by destination rank.
    pub fn unreceived(&self) -> Vec<Unreceived> {
        self.unreceived_where(|_| true)
    }

    pub(super) fn unreceived_where(&self, keep: impl Fn(&Message) -> bool) -> Vec<Unreceived> {
        let mut out = Vec::new();
        for (rank, mb) in self.mailboxes.iter().enumerate() {
            for env in mb.unexpected().filter(|e| !e.chan.collective) {
                let m = self.messages.get(self.messages.id_of(env.msg)).expect("unexpected messages exist");
                if !keep(m) {
                    continue;
                }
                out.push(Unreceived {
                    rank,
                    source: env.src,
                    tag: env.tag,
                    bytes: env.bytes,
                    call: m.kind,
                    location: m.site.site(),
                    comm: env.chan.comm,
                    comm_name: Some(self.comm_name(env.chan.comm)),
                });
            }
        }
        out
    }
}
