//! Requests and waits: starting, completing, waiting for and testing requests, and the
//! progress of nonblocking collectives.
//!
//! A nonblocking collective is a request of its own (`ReqOp::Collective`) whose algorithm's
//! messages are *background* requests. MPI's progress rule says a pending collective
//! advances inside any MPI call of its rank, so a rank that is in a blocking call (or a
//! test that would find nothing) while one of its background requests has completed is
//! handed those completions ([`Reply::Progress`]): its blocking call is *parked*, the rank
//! advances its collectives, and `Op::Resume` takes the call up again.

use super::rank::{Parked, RankState, ReqList, Wait};
use super::{Engine, Flow};
use crate::call::{
    is_satisfied, satisfying, stale_request, Background, CallKind, Channel, Completion, ErrorClass, MpiError, RecvArgs,
    Reply, ReqId, SendArgs, SendMode, Standing, Status, WaitHow,
};
use crate::codec::Payload;
use crate::site::CallSite;
use crate::trace::{EventKind, Site};
use crate::{Rank, Tag};

/// What a request does.
#[derive(Debug)]
pub(super) enum ReqOp {
    Send {
        dest: Rank,
        tag: Tag,
        chan: Channel,
        mode: SendMode,
        payload: Option<Payload>,
        msg: Option<u32>,
    },
    /// `id` names the current start of the receive in the trace's `Post` and `Match` events.
    Recv {
        filter: RecvArgs,
        id: u64,
    },
    /// A nonblocking collective: done when its rank says its algorithm has finished.
    Collective {
        algorithm: &'static str,
    },
}

#[derive(Debug)]
pub(super) enum ReqState {
    Inactive,
    Active,
    /// Matched; completes at a known future time.
    Completing(Status, Option<Payload>),
    Done(Status, Option<Payload>),
}

#[derive(Debug)]
pub(super) struct Req {
    pub owner: Rank,
    pub kind: CallKind,
    pub site: CallSite,
    pub op: ReqOp,
    pub state: ReqState,
    pub persistent: bool,
    /// Freed by the program while active: released when it completes.
    pub freed: bool,
    /// The nonblocking collective this request is a step of.
    pub background: Option<ReqId>,
}

pub(super) fn send_op(args: SendArgs) -> ReqOp {
    ReqOp::Send {
        dest: args.dest,
        tag: args.tag,
        chan: args.chan,
        mode: args.mode,
        payload: Some(args.payload),
        msg: None,
    }
}

pub(super) fn recv_op(filter: RecvArgs) -> ReqOp {
    ReqOp::Recv { filter, id: 0 }
}

/// Generational slab: handles of freed entries go stale instead of aliasing new ones.
pub(super) struct Slab<T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    pub fn new() -> Self {
        Slab { slots: Vec::new(), free: Vec::new() }
    }

    #[inline]
    pub fn insert(&mut self, value: T) -> ReqId {
        if let Some(slot) = self.free.pop() {
            let entry = &mut self.slots[slot as usize];
            entry.1 = Some(value);
            ReqId { slot, generation: entry.0 }
        } else {
            self.slots.push((0, Some(value)));
            ReqId { slot: (self.slots.len() - 1) as u32, generation: 0 }
        }
    }

    #[inline]
    pub fn get(&self, id: ReqId) -> Option<&T> {
        match self.slots.get(id.slot as usize) {
            Some((generation, Some(v))) if *generation == id.generation => Some(v),
            _ => None,
        }
    }

    #[inline]
    pub fn get_mut(&mut self, id: ReqId) -> Option<&mut T> {
        match self.slots.get_mut(id.slot as usize) {
            Some((generation, Some(v))) if *generation == id.generation => Some(v),
            _ => None,
        }
    }

    #[inline]
    pub fn remove(&mut self, id: ReqId) -> Option<T> {
        let entry = self.slots.get_mut(id.slot as usize)?;
        if entry.0 != id.generation {
            return None;
        }
        let value = entry.1.take()?;
        entry.0 = entry.0.wrapping_add(1);
        self.free.push(id.slot);
        Some(value)
    }

    /// Removes the entry of `id` if it is live, dropping it where it lies: [`Slab::remove`]
    /// moves the value out first (a copy of a whole request, on the path of every
    /// completion).
    #[inline]
    pub fn free(&mut self, id: ReqId) {
        if let Some(entry) = self.slots.get_mut(id.slot as usize).filter(|e| e.0 == id.generation && e.1.is_some()) {
            entry.1 = None;
            entry.0 = entry.0.wrapping_add(1);
            self.free.push(id.slot);
        }
    }

    /// Asks the cache for the entry in `slot`.
    #[inline]
    pub fn prefetch(&self, slot: u32) {
        if let Some(entry) = self.slots.get(slot as usize) {
            crate::prefetch::value(entry);
        }
    }

    /// The live handle of slot `slot`.
    #[inline]
    pub fn id_of(&self, slot: u32) -> ReqId {
        ReqId { slot, generation: self.slots[slot as usize].0 }
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|(_, v)| v.as_ref())
    }
}

impl Engine<'_> {
    #[inline]
    pub(super) fn new_request(
        &mut self,
        owner: Rank,
        kind: CallKind,
        site: CallSite,
        op: ReqOp,
        persistent: bool,
    ) -> ReqId {
        let req = Req { owner, kind, site, op, state: ReqState::Inactive, persistent, freed: false, background: None };
        self.requests.insert(req)
    }

    /// Whether `id` is a live request of `rank`.
    pub(super) fn owns(&self, rank: Rank, id: ReqId) -> bool {
        self.requests.get(id).is_some_and(|r| r.owner == rank)
    }

    /// A send or receive: started, and for a blocking call waited for.
    pub(super) fn start_and_maybe_wait(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: CallSite,
        op: ReqOp,
        block: bool,
    ) -> Flow {
        let req = self.new_request(rank, kind, site, op, false);
        self.start(req);
        if block {
            self.wait(rank, kind, site, ReqList::of(&[Some(req)]), WaitHow::All)
        } else {
            Flow::Reply(Reply::Request(req), self.now)
        }
    }

    /// Activates a request: a send injects its message, a receive is matched or posted.
    pub(super) fn start(&mut self, id: ReqId) {
        let req = self.requests.get_mut(id).expect("started requests exist");
        req.state = ReqState::Active;
        match req.op {
            ReqOp::Send { .. } => self.start_send(id),
            ReqOp::Recv { .. } => self.start_recv(id),
            ReqOp::Collective { .. } => {}
        }
    }

    /// `MPI_Start`/`MPI_Startall`: starts inactive persistent requests of `rank`, a send
    /// with the value bound to it since its last start.
    pub(super) fn start_persistent(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: CallSite,
        reqs: Vec<(ReqId, Option<Payload>)>,
    ) -> Flow {
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
            if let (Some(p), Some(Req { op: ReqOp::Send { payload, .. }, .. })) = (payload, self.requests.get_mut(*id))
            {
                *payload = Some(p.clone());
            }
        }
        for (id, _) in reqs {
            self.start(id);
        }
        Flow::Reply(Reply::Done, self.now)
    }

    /// `MPI_Wait*` and `MPI_Test*`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn wait_call(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: CallSite,
        reqs: Vec<Option<ReqId>>,
        how: WaitHow,
        block: bool,
        streak: u64,
    ) -> Flow {
        for id in reqs.iter().flatten() {
            if !self.owns(rank, *id) {
                return self.fail(rank, kind, site, stale_request());
            }
        }
        if let Some(done) = self.try_complete(rank, &reqs, how) {
            Flow::Reply(Reply::Completed(done), self.now)
        } else if block {
            self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Requests { reqs: reqs.into(), how } };
            Flow::Block
        } else {
            let wait = Wait::Requests { reqs: reqs.into(), how };
            self.poll_in_vain(rank, kind, site, wait, streak, Reply::Completed(Vec::new()))
        }
    }

    /// A test or `iprobe` found nothing: if background requests of the rank have
    /// completed, it advances its collectives first and looks again (`Op::Resume`);
    /// otherwise the poll was in vain and answers `nothing`.
    pub(super) fn poll_in_vain(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: CallSite,
        wait: Wait,
        streak: u64,
        nothing: Reply,
    ) -> Flow {
        if self.has_done_background(rank) {
            self.park(rank, kind, site, wait, false)
        } else {
            self.fruitless_poll(rank, kind, site, streak, nothing)
        }
    }

    /// `MPI_Cancel`.
    pub(super) fn cancel_call(&mut self, rank: Rank, kind: CallKind, site: CallSite, req: ReqId) -> Flow {
        if !self.owns(rank, req) {
            return self.fail(rank, kind, site, stale_request());
        }
        self.cancel(req);
        Flow::Reply(Reply::Done, self.now)
    }

    /// `MPI_Request_free`: an active request is released when it completes.
    pub(super) fn free_call(&mut self, rank: Rank, kind: CallKind, site: CallSite, req: ReqId) -> Flow {
        let Some(r) = self.requests.get_mut(req).filter(|r| r.owner == rank) else {
            return self.fail(rank, kind, site, stale_request());
        };
        if matches!(r.state, ReqState::Active | ReqState::Completing(..)) {
            r.freed = true;
        } else {
            self.requests.free(req);
        }
        Flow::Reply(Reply::Done, self.now)
    }

    /// Completes a request at `time`: now, or by a scheduled event.
    pub(super) fn complete_at(&mut self, id: ReqId, time: crate::Time, status: Status, payload: Option<Payload>) {
        let req = self.requests.get_mut(id).expect("completing requests exist");
        if time <= self.now {
            req.state = ReqState::Done(status, payload);
            self.completed(id);
        } else {
            req.state = ReqState::Completing(status, payload);
            let owner = req.owner;
            self.queue.push(time, super::queue::Class::Delivery, owner, super::queue::Action::Complete(id));
        }
    }

    /// A scheduled completion is due.
    pub(super) fn finish(&mut self, id: ReqId) {
        let Some(req) = self.requests.get_mut(id) else {
            return;
        };
        if let ReqState::Completing(status, payload) = std::mem::replace(&mut req.state, ReqState::Inactive) {
            req.state = ReqState::Done(status, payload);
            self.completed(id);
        }
    }

    /// A request just became done: release it if freed, or wake its owner if its wait is
    /// now satisfied, or if it is a background request and its owner is blocked (to
    /// advance the collective). The owner's reply is made when it resumes, so that every
    /// request completing at this same instant is in it.
    fn completed(&mut self, id: ReqId) {
        let req = self.requests.get(id).expect("completed requests exist");
        let (owner, background) = (req.owner, req.background.is_some());
        if req.freed {
            self.requests.free(id);
            return;
        }
        let slot = &self.ranks[owner];
        if slot.woken || slot.parked.is_some() {
            return; // it will look again when it runs
        }
        let due = match &slot.state {
            // A wait on this request alone is satisfied by its completion, however it waits.
            RankState::Blocked { wait: Wait::Requests { reqs, .. }, .. }
                if reqs.single().is_some_and(|(_, r)| r == id) =>
            {
                true
            }
            // A sendrecv, one half just done: due unless the other is still pending
            // (satisfied()'s count, with one lookup).
            RankState::Blocked {
                wait: Wait::Requests { reqs: ReqList::Sendrecv([Some(a), Some(b)]), how: WaitHow::All },
                ..
            } if *a == id || *b == id => {
                let other = if *a == id { *b } else { *a };
                self.standing(Some(other)) != Some(Standing::Pending)
            }
            RankState::Blocked { wait: Wait::Requests { reqs, how }, .. } if reqs.contains(&Some(id)) => {
                self.satisfied(reqs, *how)
            }
            RankState::Blocked { .. } => background,
            _ => false,
        };
        if due {
            self.schedule_wake(owner);
        }
    }

    /// Resumes a blocked rank at the current time; its reply is made when it runs.
    #[inline]
    pub(super) fn schedule_wake(&mut self, rank: Rank) {
        let slot = &mut self.ranks[rank];
        slot.woken = true;
        slot.clock = self.now;
        self.queue.push(self.now, super::queue::Class::Resume, rank, super::queue::Action::Resume(rank));
    }

    /// The reply to the wait a woken rank was blocked in, made as it resumes: what it
    /// waited for, or else the background completions it was woken to advance.
    pub(super) fn reply_to_wait(&mut self, rank: Rank) -> Reply {
        self.ranks[rank].woken = false;
        let RankState::Blocked { kind, site, wait } = std::mem::replace(&mut self.ranks[rank].state, RankState::Ready)
        else {
            unreachable!("only blocked ranks are woken")
        };
        match self.satisfied_reply(rank, &wait) {
            Some(reply) => reply,
            None => match self.park(rank, kind, site, wait, true) {
                Flow::Reply(reply, _) => reply,
                _ => unreachable!("parking replies"),
            },
        }
    }

    /// The reply to `wait` if it is satisfied now. Splits and gates are answered by the
    /// rank that completes them ([`Engine::wake`]).
    #[inline]
    fn satisfied_reply(&mut self, rank: Rank, wait: &Wait) -> Option<Reply> {
        match wait {
            Wait::Requests { reqs, how } => self.completion_reply(rank, reqs, *how),
            Wait::Probe { filter } => self.probe(rank, filter).map(|s| Reply::Probed(Some(s))),
            Wait::Split { .. } | Wait::Gate { .. } => None,
        }
    }

    /// Resumes a rank with a reply made now (for calls that complete all their ranks at
    /// once); a parked call keeps it for its resumption.
    pub(super) fn wake(&mut self, rank: Rank, reply: Reply) {
        let slot = &mut self.ranks[rank];
        if let Some(parked) = slot.parked.as_mut() {
            parked.reply = Some(reply);
            return;
        }
        slot.state = RankState::Ready;
        slot.reply = Some(reply);
        slot.clock = self.now;
        self.queue.push(self.now, super::queue::Class::Resume, rank, super::queue::Action::Resume(rank));
    }

    /// Blocks `rank` until its requests satisfy `how`, or replies at once if they do.
    pub(super) fn wait(&mut self, rank: Rank, kind: CallKind, site: CallSite, reqs: ReqList, how: WaitHow) -> Flow {
        match self.completion_reply(rank, &reqs, how) {
            Some(reply) => Flow::Reply(reply, self.now),
            None => {
                self.ranks[rank].state = RankState::Blocked { kind, site, wait: Wait::Requests { reqs, how } };
                Flow::Block
            }
        }
    }

    /// Where request `id` stands (`None` for a null or stale handle).
    fn standing(&self, id: Option<ReqId>) -> Option<Standing> {
        id.and_then(|id| self.requests.get(id)).map(|r| match r.state {
            ReqState::Inactive => Standing::Inactive,
            ReqState::Done(..) => Standing::Done,
            ReqState::Active | ReqState::Completing(..) => Standing::Pending,
        })
    }

    /// Whether `reqs` satisfy `how`, without allocating (checked on every completion).
    fn satisfied(&self, reqs: &[Option<ReqId>], how: WaitHow) -> bool {
        let (mut active, mut done) = (0, 0);
        for p in reqs.iter().filter_map(|&id| self.standing(id)) {
            active += usize::from(p != Standing::Inactive);
            done += usize::from(p == Standing::Done);
        }
        is_satisfied(active, done, how)
    }

    /// The reply to a wait on `reqs` if they satisfy `how`. Waiting for all of them (a
    /// blocking call, a sendrecv, a blocked `MPI_Waitall`), finding that they are not all
    /// done allocates nothing, and a single completion (a sendrecv's is its receive's)
    /// travels without a vector.
    fn completion_reply(&mut self, rank: Rank, reqs: &ReqList, how: WaitHow) -> Option<Reply> {
        if let Some((index, id)) = reqs.single() {
            match self.requests.get(id).map(|r| &r.state) {
                Some(ReqState::Done(..)) => return Some(Reply::One(self.take_completion(index, id))),
                Some(ReqState::Active | ReqState::Completing(..)) => return None,
                _ => {}
            }
        }
        if let (ReqList::Sendrecv([Some(send), Some(recv)]), WaitHow::All) = (reqs, how) {
            let (send, recv) = (*send, *recv);
            // A sendrecv's two halves, each pending or done (as they always are: neither
            // is taken before both are done): the general path's answer, one lookup each.
            use Standing::{Done, Pending};
            match (self.standing(Some(send)), self.standing(Some(recv))) {
                (Some(Done), Some(Done)) => {
                    self.take_completion(0, send);
                    return Some(Reply::One(self.take_completion(1, recv)));
                }
                (Some(Pending), Some(Pending | Done)) | (Some(Done), Some(Pending)) => return None,
                _ => {}
            }
        }
        if how != WaitHow::All {
            return self.try_complete(rank, reqs, how).map(Reply::Completed);
        }
        if !self.satisfied(reqs, how) {
            return None;
        }
        // Every active request is done: each completes, in the order of `reqs`.
        let (mut first, mut count) = ([None; 2], 0);
        for (index, &id) in reqs.iter().enumerate() {
            if let Some(id) = id.filter(|&id| self.standing(Some(id)) == Some(Standing::Done)) {
                if let Some(place) = first.get_mut(count) {
                    *place = Some((index, id));
                }
                count += 1;
            }
        }
        Some(match (count, first) {
            (0, _) => Reply::Completed(Vec::new()),
            (1, [Some((i, a)), _]) => Reply::One(self.take_completion(i, a)),
            (2, [Some((0, send)), Some((1, recv))]) if matches!(reqs, ReqList::Sendrecv(_)) => {
                self.take_completion(0, send);
                Reply::One(self.take_completion(1, recv))
            }
            _ => Reply::Completed(self.try_complete(rank, reqs, how).expect("every active request is done")),
        })
    }

    /// If `reqs` satisfy `how`, completes them (taking their status and data) and returns
    /// the completions; `Any` completes one, chosen by the oracle among the done ones.
    fn try_complete(&mut self, rank: Rank, reqs: &[Option<ReqId>], how: WaitHow) -> Option<Vec<Completion>> {
        let mut chosen = satisfying(reqs.iter().map(|&id| self.standing(id)), how)?;
        if how != WaitHow::All && chosen.len() > 1 {
            // `Any` returns one done request; `Some` returns that one and, by default, every
            // other done one, any of which a real library may not have noticed yet.
            let first = self.oracle.choose(crate::sched::Choice::AnyRequest { rank }, chosen.len());
            let mut keep = vec![false; chosen.len()];
            keep[first] = true;
            if how == WaitHow::Some {
                for (i, k) in keep.iter_mut().enumerate() {
                    if i != first {
                        *k = self.oracle.choose(crate::sched::Choice::SomeRequest { rank }, 2) == 0;
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

    #[inline]
    fn take_completion(&mut self, index: usize, id: ReqId) -> Completion {
        let req = self.requests.get_mut(id).expect("completion exists");
        let ReqState::Done(status, payload) = std::mem::replace(&mut req.state, ReqState::Inactive) else {
            unreachable!("only done requests complete")
        };
        if !req.persistent {
            self.requests.free(id);
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
            ReqOp::Recv { id: recv, .. } => {
                let recv = *recv;
                let gone = self.mailboxes[owner].cancel_posted(id);
                if gone {
                    self.record(self.now, owner, || EventKind::Unpost { recv });
                }
                gone
            }
            ReqOp::Send { msg: Some(slot), .. } => self.cancel_message(*slot, id),
            ReqOp::Send { msg: None, .. } | ReqOp::Collective { .. } => false,
        };
        if cancelled {
            let status = Status { cancelled: true, ..Status::EMPTY };
            self.complete_at(id, self.now, status, None);
        }
    }

    /// Requests never completed or freed: `(rank, call, site)`. A nonblocking collective
    /// counts as one request, its steps not at all.
    pub fn dangling_requests(&self) -> Vec<(Rank, CallKind, Site)> {
        let mut out: Vec<_> = self
            .requests
            .iter()
            .filter(|r| r.background.is_none())
            .filter(|r| !(r.freed || r.persistent && matches!(r.state, ReqState::Inactive)))
            .map(|r| (r.owner, r.kind, r.site.site()))
            .collect();
        out.sort();
        out
    }

    /// `MPI_Ibcast` and its kin begin: the collective's own request.
    pub(super) fn coll_start(&mut self, rank: Rank, kind: CallKind, site: CallSite, algorithm: &'static str) -> Flow {
        let id = self.new_request(rank, kind, site, ReqOp::Collective { algorithm }, false);
        self.start(id);
        Flow::Reply(Reply::Request(id), self.now)
    }

    /// A round of nonblocking collective `coll`: its receives and sends start as background
    /// requests of its rank.
    pub(super) fn post_round(
        &mut self,
        rank: Rank,
        kind: CallKind,
        site: CallSite,
        coll: ReqId,
        recvs: Vec<RecvArgs>,
        sends: Vec<SendArgs>,
    ) -> Flow {
        if !self.requests.get(coll).is_some_and(|r| r.owner == rank && matches!(r.op, ReqOp::Collective { .. })) {
            return self.fail(rank, kind, site, stale_request());
        }
        let ops = recvs
            .into_iter()
            .map(|r| (CallKind::Irecv, recv_op(r)))
            .chain(sends.into_iter().map(|s| (CallKind::Isend, send_op(s))));
        let mut ids = Vec::new();
        for (step, op) in ops {
            let id = self.new_request(rank, step, site, op, false);
            self.requests.get_mut(id).expect("just made").background = Some(coll);
            self.ranks[rank].background.push(id);
            ids.push(id);
        }
        for &id in &ids {
            self.start(id);
        }
        Flow::Reply(Reply::Posted(ids), self.now)
    }

    /// Nonblocking collective `coll` has its result: its request completes.
    pub(super) fn coll_done(&mut self, rank: Rank, kind: CallKind, site: CallSite, coll: ReqId) -> Flow {
        if !self.owns(rank, coll) {
            return self.fail(rank, kind, site, stale_request());
        }
        self.complete_at(coll, self.now, Status::EMPTY, None);
        Flow::Reply(Reply::Done, self.now)
    }

    /// Whether some background request of `rank` has completed and not been handed over.
    fn has_done_background(&self, rank: Rank) -> bool {
        self.ranks[rank]
            .background
            .iter()
            .any(|&id| matches!(self.requests.get(id).map(|r| &r.state), Some(ReqState::Done(..))))
    }

    /// The completed background requests of `rank`, handed over and released.
    fn take_background(&mut self, rank: Rank) -> Vec<Background> {
        let mut live = std::mem::take(&mut self.ranks[rank].background);
        let mut done = Vec::new();
        live.retain(|&id| match self.requests.get(id).map(|r| &r.state) {
            Some(ReqState::Done(..)) => {
                done.push(id);
                false
            }
            Some(_) => true,
            None => false,
        });
        self.ranks[rank].background = live;
        done.into_iter().map(|req| Background { req, payload: self.take_completion(0, req).payload }).collect()
    }

    /// Sets a call aside so that its rank can advance its nonblocking collectives with the
    /// background requests that have completed; `Op::Resume` takes it up again.
    fn park(&mut self, rank: Rank, kind: CallKind, site: CallSite, wait: Wait, block: bool) -> Flow {
        let in_call = self.ranks[rank].in_call.take();
        self.ranks[rank].state = RankState::Ready;
        self.ranks[rank].parked = Some(Box::new(Parked { kind, site, wait, block, in_call, reply: None }));
        Flow::Reply(Reply::Progress(self.take_background(rank)), self.now)
    }

    /// A call that would block, while background requests of its rank have completed, is
    /// parked instead, so that its collectives advance (MPI's progress rule).
    pub(super) fn progress_instead_of_blocking(&mut self, rank: Rank, flow: Flow) -> Flow {
        if !matches!(flow, Flow::Block) || !self.has_done_background(rank) {
            return flow;
        }
        let RankState::Blocked { kind, site, wait } = std::mem::replace(&mut self.ranks[rank].state, RankState::Ready)
        else {
            unreachable!("a blocking call leaves its rank blocked")
        };
        self.park(rank, kind, site, wait, true)
    }

    /// `Op::Resume`: the parked call goes on, answered if it can be, else blocked again (or,
    /// for a test, a poll that found nothing).
    pub(super) fn resume_parked(&mut self, rank: Rank) -> Flow {
        let Some(parked) = self.ranks[rank].parked.take() else {
            let e = MpiError::new(ErrorClass::Other, "a return into a call that was not interrupted");
            return self.fail(rank, CallKind::Wait, crate::site::CallSite::here(), e);
        };
        let Parked { kind, site, wait, block, in_call, reply } = *parked;
        self.ranks[rank].in_call = in_call;
        if let Some(reply) = reply {
            return Flow::Reply(reply, self.now);
        }
        if let Some(reply) = self.satisfied_reply(rank, &wait) {
            return Flow::Reply(reply, self.now);
        }
        if block {
            self.ranks[rank].state = RankState::Blocked { kind, site, wait };
            return Flow::Block;
        }
        // A test that advanced collectives was not in vain, though it found nothing.
        let nothing = match wait {
            Wait::Probe { .. } => Reply::Probed(None),
            _ => Reply::Completed(Vec::new()),
        };
        Flow::Reply(nothing, self.now + crate::Time(self.cfg.platform.poll_ns))
    }
}
