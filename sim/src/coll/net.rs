//! The point-to-point steps of a collective algorithm.
//!
//! An algorithm is straight-line code over a [`Net`]: a sequence of rounds, each a set of
//! sends and receives that complete together. A blocking collective runs its rounds at
//! once through [`Direct`]; a nonblocking one runs the same code on a coroutine of its own
//! and posts each round when the program tests or waits (see `nonblocking.rs`).

use crate::call::{CallKind, Channel, Completion, Op, RecvArgs, Reply, SendArgs, SendMode, WaitHow};
use crate::codec::Payload;
use crate::comm::RankCtx;
use crate::site::CallSite;
use crate::{Rank, Tag};

/// Sends to post (destination, data) and sources to receive from, in one round.
pub(crate) type Round = (Vec<(Rank, Payload)>, Vec<Rank>);

/// Carries out rounds of point-to-point messages.
pub(crate) trait Transport {
    /// Posts the receives and the sends of a round and returns, once all are complete,
    /// the received payloads in the order of `recvs`.
    fn round(&mut self, sends: Vec<(Rank, Payload)>, recvs: Vec<Rank>) -> Vec<Payload>;

    /// A round of one send.
    fn send(&mut self, to: Rank, data: Payload) {
        self.round(vec![(to, data)], Vec::new());
    }

    /// A round of one receive.
    fn recv(&mut self, from: Rank) -> Payload {
        self.round(Vec::new(), vec![from]).pop().expect("a round returns what it received")
    }

    /// A round of one send and one receive, the step of most algorithms: a transport that
    /// can carries it out without the vectors of a general round.
    fn sendrecv(&mut self, to: Rank, data: Payload, from: Rank) -> Payload {
        self.round(vec![(to, data)], vec![from]).pop().expect("a round returns what it received")
    }
}

/// What an algorithm sees: its rank, the communicator's size, and rounds of messages.
pub(crate) struct Net<'t> {
    pub rank: Rank,
    pub size: usize,
    transport: &'t mut dyn Transport,
}

impl<'t> Net<'t> {
    pub fn new(rank: Rank, size: usize, transport: &'t mut dyn Transport) -> Net<'t> {
        Net { rank, size, transport }
    }

    /// One round of sends and receives.
    pub fn round(&mut self, sends: Vec<(Rank, Payload)>, recvs: Vec<Rank>) -> Vec<Payload> {
        self.transport.round(sends, recvs)
    }

    /// A blocking send.
    pub fn send(&mut self, to: Rank, data: Payload) {
        self.transport.send(to, data)
    }

    /// A blocking receive.
    pub fn recv(&mut self, from: Rank) -> Payload {
        self.transport.recv(from)
    }

    /// A send and a receive at once (`MPI_Sendrecv`).
    pub fn sendrecv(&mut self, to: Rank, data: Payload, from: Rank) -> Payload {
        self.transport.sendrecv(to, data, from)
    }
}

/// Rounds carried out at once by the calling rank, on the communicator's collective
/// channel with the collective's tag, at the user's call site.
pub(crate) struct Direct<'a> {
    pub ctx: &'a RankCtx,
    pub chan: Channel,
    pub tag: Tag,
    pub site: CallSite,
}

impl Direct<'_> {
    fn send_args(&self, dest: Rank, payload: Payload) -> SendArgs {
        SendArgs { chan: self.chan, dest, tag: self.tag, mode: SendMode::Standard, payload }
    }

    fn recv_args(&self, source: Rank) -> RecvArgs {
        RecvArgs { chan: self.chan, source: Some(source), tag: Some(self.tag) }
    }
}

/// The data of a completed receive.
pub(crate) fn received(c: Completion) -> Payload {
    c.payload.expect("a receive from a rank carries data")
}

pub(crate) fn request(reply: Reply) -> crate::call::ReqId {
    match reply {
        Reply::Request(id) => id,
        other => unreachable!("a request-making call got {other:?}"),
    }
}

impl Transport for Direct<'_> {
    fn send(&mut self, to: Rank, data: Payload) {
        let op = Op::Send { args: self.send_args(to, data), block: true };
        self.ctx.call_at(CallKind::Send, self.site, op);
    }

    fn recv(&mut self, from: Rank) -> Payload {
        let op = Op::Recv { args: self.recv_args(from), block: true };
        received(self.ctx.call_at(CallKind::Recv, self.site, op).into_single())
    }

    fn sendrecv(&mut self, to: Rank, data: Payload, from: Rank) -> Payload {
        let op = Op::Sendrecv { send: self.send_args(to, data), recv: self.recv_args(from) };
        received(self.ctx.call_at(CallKind::Sendrecv, self.site, op).into_completion(1).expect("sendrecv receives"))
    }

    fn round(&mut self, mut sends: Vec<(Rank, Payload)>, recvs: Vec<Rank>) -> Vec<Payload> {
        let (ctx, site) = (self.ctx, self.site);
        // One call where one will do, so the trace reads like hand-written MPI.
        match (sends.len(), recvs.len()) {
            (0, 0) => Vec::new(),
            (1, 0) => {
                let (to, data) = sends.pop().expect("one send");
                self.send(to, data);
                Vec::new()
            }
            (0, 1) => vec![self.recv(recvs[0])],
            (1, 1) => {
                let (to, data) = sends.pop().expect("one send");
                vec![self.sendrecv(to, data, recvs[0])]
            }
            _ => {
                let mut reqs = Vec::with_capacity(recvs.len() + sends.len());
                for &from in &recvs {
                    let op = Op::Recv { args: self.recv_args(from), block: false };
                    reqs.push(Some(request(ctx.call_at(CallKind::Irecv, site, op))));
                }
                for (to, data) in sends {
                    let op = Op::Send { args: self.send_args(to, data), block: false };
                    reqs.push(Some(request(ctx.call_at(CallKind::Isend, site, op))));
                }
                let done = ctx
                    .call_at(CallKind::Waitall, site, Op::Wait { reqs, how: WaitHow::All, block: true })
                    .into_completions();
                let mut out: Vec<Option<Payload>> = (0..recvs.len()).map(|_| None).collect();
                for c in done {
                    let i = c.index;
                    if i < out.len() {
                        out[i] = Some(received(c));
                    }
                }
                out.into_iter().map(|p| p.expect("waitall completes every receive")).collect()
            }
        }
    }
}
