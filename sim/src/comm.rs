//! The communicator a rank's program calls: MPI point-to-point in mpi4py's object style.
//!
//! Every public call is `#[track_caller]`, so reports name the user's file:line, and each
//! one suspends the rank into the engine with a [`Call`](crate::call::Call).

use crate::call::{
    Call, CallKind, Channel, CommHandle, Completion, Op, RecvArgs, Reply, SendArgs, SendMode, Status, WaitHow,
    ANY_SOURCE, ANY_TAG, UNDEFINED, WORLD_COMM,
};
use crate::call::{ErrorClass, MpiError};
use crate::codec::{self, Payload};
use crate::request::Request;
use crate::site::CallSite;
use crate::task::{Misuse, Running, Yielder};
use crate::time::Time;
use crate::{Rank, Tag};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::Cell;
use std::rc::Rc;

/// Who answers a rank's calls when it is not the simulator's engine: the real MPI backend
/// implements this, the same protocol of [`Op`]s and [`Reply`]s.
pub(crate) trait Backend {
    /// Carries out one call of the rank's program.
    fn call(&self, kind: CallKind, site: CallSite, op: Op) -> Reply;
}

/// The one place that decides simulated or real MPI; the rest of `Comm` does not care.
enum Answerer {
    /// The suspending end of the rank's green task (valid while `live`) in world `world`.
    Simulated { yielder: *const Yielder, world: u64 },
    /// Another implementation of the protocol: one rank per process, so no other rank
    /// can hold this one's communicators.
    Other(Rc<dyn Backend>),
}

/// One rank's link to the engine. Shared by all communicators of the rank.
pub(crate) struct RankCtx {
    /// The rank in `COMM_WORLD`.
    world_rank: Rank,
    seed: u64,
    /// This rank's `COMM_SELF`, made on first use.
    self_comm: Cell<Option<CommHandle>>,
    /// Who answers the rank's calls.
    answerer: Answerer,
    live: Cell<bool>,
    /// The site every call is attributed to instead of its Rust caller, while set: a
    /// script's line, for the ranks of an mpi4py script ([`Comm::with_site`]).
    site: Cell<Option<CallSite>>,
    /// Collective sequence numbers, the world's algorithm choices, and the rank's pending
    /// nonblocking collectives.
    pub(crate) coll: crate::coll::RankColl,
}

impl RankCtx {
    #[track_caller]
    #[inline]
    pub(crate) fn call(&self, kind: CallKind, op: Op) -> Reply {
        self.call_at(kind, CallSite::here(), op)
    }

    /// [`RankCtx::call`] on behalf of a call made at `site`: a collective's steps carry
    /// the user's file:line. While the call is not over, the engine may hand the rank
    /// completed steps of its nonblocking collectives to advance (MPI's progress rule).
    pub(crate) fn call_at(&self, kind: CallKind, site: CallSite, mut op: Op) -> Reply {
        let site = self.site.get().unwrap_or(site);
        loop {
            match self.answer(kind, site, op) {
                Reply::Progress(done) => {
                    self.coll.advance(done);
                    op = Op::Resume;
                }
                reply => return reply,
            }
        }
    }

    /// One call handed to the answerer (inline: it is one step of every call's path, and
    /// its `Op` and `Reply` are each some hundred bytes, copied at every layer).
    #[inline]
    fn answer(&self, kind: CallKind, site: CallSite, op: Op) -> Reply {
        self.check_running(kind, site);
        match &self.answerer {
            Answerer::Simulated { yielder, .. } => {
                // SAFETY: `check_running` made sure this rank's task is the one running, and
                // its yielder lives on that task's stack for the whole of the program.
                let yielder = unsafe { &**yielder };
                crate::task::suspending();
                yielder.suspend(Call { kind, site, op }).expect("the engine answers every call it resumes")
            }
            Answerer::Other(backend) => backend.call(kind, site, op),
        }
    }

    /// A rank may use only its own communicators and requests, and only while its program
    /// runs: anything else is a misuse reported on the rank that is running.
    #[inline]
    fn check_running(&self, kind: CallKind, site: CallSite) {
        let Answerer::Simulated { world, .. } = self.answerer else { return };
        if crate::task::running() != Some(Running { world, rank: self.world_rank }) || !self.live.get() {
            self.misused(kind, site, world);
        }
    }

    /// [`RankCtx::check_running`]'s failure, out of the hot path: the rank that is
    /// running used this rank's communicator (or its own after it returned, or another
    /// run's).
    #[cold]
    #[inline(never)]
    fn misused(&self, kind: CallKind, site: CallSite, world: u64) -> ! {
        let me = Running { world, rank: self.world_rank };
        match crate::task::running() {
            Some(running) => {
                let whose = match (running.world == world, running == me) {
                    (true, true) => "after its program returned, its own".to_string(),
                    (true, false) => format!("rank {}'s", self.world_rank),
                    (false, _) => "another run's".to_string(),
                };
                let message = format!(
                    "rank {} used {whose} communicator or request: each rank may use only the communicators its \
                     program was given or made and their requests; keep them out of statics, thread-locals and \
                     values shared between ranks",
                    running.rank
                );
                let error = MpiError::new(ErrorClass::Comm, message);
                std::panic::panic_any(Misuse { call: kind, site: site.site(), error })
            }
            None => panic!(
                "{} at {}: this communicator belongs to a run that has ended; use a Comm only inside the program \
                 it was given to",
                kind.mpi_name(),
                site.site()
            ),
        }
    }

    /// Stops the rank for an error found in the program's own process (e.g. a receive of
    /// the wrong type). The engine ends the run and never resumes the rank.
    #[track_caller]
    pub(crate) fn fail(&self, kind: CallKind, error: MpiError) -> ! {
        self.fail_at(kind, CallSite::here(), error)
    }

    /// [`RankCtx::fail`] for a call made at `site`.
    pub(crate) fn fail_at(&self, kind: CallKind, site: CallSite, error: MpiError) -> ! {
        self.call_at(kind, site, Op::Fail { error });
        unreachable!("the engine does not resume a failed rank")
    }
}

/// A communicator: a group of ranks and a private space for their messages. `COMM_WORLD`
/// is what `World::run` hands to each rank's program; `dup`, `split` and `self_comm`
/// make others.
pub struct Comm {
    pub(crate) ctx: Rc<RankCtx>,
    pub(crate) handle: CommHandle,
}

/// A marker that the rank's program has returned; makes later use of `Comm` a clear panic.
pub(crate) struct LiveGuard(Rc<RankCtx>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.set(false);
    }
}

impl Comm {
    /// `COMM_WORLD` of rank `rank` of simulated world number `world` (see
    /// [`crate::task::running`]), whose task suspends through `yielder`.
    pub(crate) fn world(world: u64, rank: Rank, size: usize, seed: u64, yielder: &Yielder) -> (Comm, LiveGuard) {
        Comm::world_on(Answerer::Simulated { yielder, world }, rank, size, seed)
    }

    /// `COMM_WORLD` of a rank whose calls `backend` answers (a rank on real MPI).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn with_backend(backend: Rc<dyn Backend>, rank: Rank, size: usize, seed: u64) -> (Comm, LiveGuard) {
        Comm::world_on(Answerer::Other(backend), rank, size, seed)
    }

    fn world_on(answerer: Answerer, rank: Rank, size: usize, seed: u64) -> (Comm, LiveGuard) {
        let ctx = Rc::new(RankCtx {
            world_rank: rank,
            seed,
            self_comm: Cell::new(None),
            answerer,
            live: Cell::new(true),
            site: Cell::new(None),
            coll: crate::coll::RankColl::default(),
        });
        let handle = CommHandle { id: WORLD_COMM, rank, size };
        (Comm { ctx: ctx.clone(), handle }, LiveGuard(ctx))
    }

    /// This rank's number in the communicator, `0..size()` (`MPI_Comm_rank`).
    #[track_caller]
    pub fn rank(&self) -> Rank {
        self.ctx.check_running(CallKind::CommRank, CallSite::here());
        self.handle.rank
    }

    /// The number of ranks in the communicator (`MPI_Comm_size`).
    #[track_caller]
    pub fn size(&self) -> usize {
        self.ctx.check_running(CallKind::CommSize, CallSite::here());
        self.handle.size
    }

    /// Runs `f` with every MPI call it makes on this rank (a collective's own steps too)
    /// attributed to `site` instead of its Rust caller: how a script's rank names the
    /// script's line in traces and reports. Restores the previous site after `f`, also
    /// when `f` unwinds.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn with_site<T>(&self, site: CallSite, f: impl FnOnce() -> T) -> T {
        struct Restore<'a>(&'a Cell<Option<CallSite>>, Option<CallSite>);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.ctx.site, self.ctx.site.replace(Some(site)));
        f()
    }

    /// This rank's number in `COMM_WORLD`.
    pub fn world_rank(&self) -> Rank {
        self.ctx.world_rank
    }

    /// A seed for this rank's own random numbers: fixed by the world's seed and the world
    /// rank.
    pub fn seed(&self) -> u64 {
        let mix = |x| crate::sched::SplitMix64::new(x).next_u64();
        mix(self.ctx.seed ^ mix(self.ctx.world_rank as u64))
    }

    /// The point-to-point channel of this communicator; collectives use the other one.
    pub(crate) fn channel(&self, collective: bool) -> Channel {
        Channel { comm: self.handle.id, collective }
    }

    fn filter(&self, source: Rank, tag: Tag) -> RecvArgs {
        RecvArgs {
            chan: self.channel(false),
            source: (source != ANY_SOURCE).then_some(source),
            tag: (tag != ANY_TAG).then_some(tag),
        }
    }

    fn derived(&self, reply: Reply) -> Option<Comm> {
        match reply {
            Reply::Comm(handle) => handle.map(|handle| Comm { ctx: self.ctx.clone(), handle }),
            other => unreachable!("a communicator-making call got {other:?}"),
        }
    }

    /// Splits the communicator (`MPI_Comm_split`, collective): ranks with the same `color`
    /// form a new communicator, numbered by `key` (ties: old rank). A rank with color
    /// [`UNDEFINED`] gets `None`.
    #[track_caller]
    pub fn split(&self, color: u32, key: i32) -> Option<Comm> {
        let color = (color != UNDEFINED).then_some(color);
        self.derived(self.ctx.call(CallKind::CommSplit, Op::CommSplit { comm: self.handle.id, color, key }))
    }

    /// A copy of the communicator with its own message space (`MPI_Comm_dup`, collective).
    #[track_caller]
    pub fn dup(&self) -> Comm {
        let op = Op::CommSplit { comm: self.handle.id, color: Some(0), key: self.handle.rank as i32 };
        self.derived(self.ctx.call(CallKind::CommDup, op)).expect("every rank takes part in a dup")
    }

    /// `COMM_SELF`: a communicator of this rank alone.
    #[track_caller]
    pub fn self_comm(&self) -> Comm {
        let handle = match self.ctx.self_comm.get() {
            Some(h) => h,
            None => {
                let made = self.derived(self.ctx.call(CallKind::CommDup, Op::CommSelf)).expect("self is a member");
                self.ctx.self_comm.set(Some(made.handle));
                made.handle
            }
        };
        Comm { ctx: self.ctx.clone(), handle }
    }

    #[track_caller]
    fn encode<T: Serialize + ?Sized>(&self, kind: CallKind, value: &T) -> Payload {
        match codec::encode(value) {
            Ok(payload) => payload,
            Err(e) => self.ctx.fail(kind, MpiError::new(ErrorClass::Type, e)),
        }
    }

    #[track_caller]
    fn send_mode<T: Serialize + ?Sized>(&self, kind: CallKind, mode: SendMode, value: &T, dest: Rank, tag: Tag) {
        let payload = self.encode(kind, value);
        self.ctx.call(
            kind,
            Op::Send { args: SendArgs { chan: self.channel(false), dest, tag, mode, payload }, block: true },
        );
    }

    /// Sends `value` to `dest` with `tag` (`MPI_Send`): returns when the value may be
    /// reused, which for a message above the eager limit means when it is received.
    #[track_caller]
    pub fn send<T: Serialize + ?Sized>(&self, value: &T, dest: Rank, tag: Tag) {
        self.send_mode(CallKind::Send, SendMode::Standard, value, dest, tag);
    }

    /// Synchronous send (`MPI_Ssend`): returns only once the matching receive has started.
    #[track_caller]
    pub fn ssend<T: Serialize + ?Sized>(&self, value: &T, dest: Rank, tag: Tag) {
        self.send_mode(CallKind::Ssend, SendMode::Synchronous, value, dest, tag);
    }

    /// Buffered send (`MPI_Bsend`): always completes locally.
    #[track_caller]
    pub fn bsend<T: Serialize + ?Sized>(&self, value: &T, dest: Rank, tag: Tag) {
        self.send_mode(CallKind::Bsend, SendMode::Buffered, value, dest, tag);
    }

    /// Ready send (`MPI_Rsend`): erroneous unless the matching receive is already posted.
    #[track_caller]
    pub fn rsend<T: Serialize + ?Sized>(&self, value: &T, dest: Rank, tag: Tag) {
        self.send_mode(CallKind::Rsend, SendMode::Ready, value, dest, tag);
    }

    /// Receives a value (`MPI_Recv`); `source` may be [`ANY_SOURCE`], `tag` [`ANY_TAG`].
    #[track_caller]
    pub fn recv<T: DeserializeOwned>(&self, source: Rank, tag: Tag) -> T {
        self.recv_status(source, tag).0
    }

    /// Receives a value and its [`Status`].
    #[track_caller]
    pub fn recv_status<T: DeserializeOwned>(&self, source: Rank, tag: Tag) -> (T, Status) {
        let reply = self.ctx.call(CallKind::Recv, Op::Recv { args: self.filter(source, tag), block: true });
        let c = reply.into_single();
        (self.decode(CallKind::Recv, &c), c.status)
    }

    /// Receives a vector of values into `buf` (a receive with a buffer, as `MPI_Recv` of
    /// `buf.len()` elements); returns the status with `count` in elements. A longer
    /// message is `MPI_ERR_TRUNCATE`.
    #[track_caller]
    pub fn recv_into<T: DeserializeOwned>(&self, buf: &mut [T], source: Rank, tag: Tag) -> Status {
        let reply = self.ctx.call(CallKind::Recv, Op::Recv { args: self.filter(source, tag), block: true });
        let c = reply.into_single();
        if c.payload.is_none() {
            return c.status;
        }
        let values: Vec<T> = self.decode(CallKind::Recv, &c);
        if values.len() > buf.len() {
            self.ctx.fail(
                CallKind::Recv,
                MpiError::new(
                    ErrorClass::Truncate,
                    format!(
                        "message of {} elements ({} bytes) from rank {} with tag {} does not fit the receive buffer of {} \
                         elements; receive into a buffer at least as long as the message",
                        values.len(),
                        c.status.count,
                        c.status.source,
                        c.status.tag,
                        buf.len()
                    ),
                ),
            );
        }
        let n = values.len();
        for (slot, v) in buf.iter_mut().zip(values) {
            *slot = v;
        }
        Status { count: n as u64, ..c.status }
    }

    /// Sends `value` to `dest` and receives from `source` at once (`MPI_Sendrecv`): the
    /// safe way to exchange in a ring.
    #[track_caller]
    pub fn sendrecv<S: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        value: &S,
        dest: Rank,
        send_tag: Tag,
        source: Rank,
        recv_tag: Tag,
    ) -> R {
        self.sendrecv_status(value, dest, send_tag, source, recv_tag).0
    }

    /// [`Comm::sendrecv`] with the receive's [`Status`].
    #[track_caller]
    pub fn sendrecv_status<S: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        value: &S,
        dest: Rank,
        send_tag: Tag,
        source: Rank,
        recv_tag: Tag,
    ) -> (R, Status) {
        let payload = self.encode(CallKind::Sendrecv, value);
        let send = SendArgs { chan: self.channel(false), dest, tag: send_tag, mode: SendMode::Standard, payload };
        let reply = self.ctx.call(CallKind::Sendrecv, Op::Sendrecv { send, recv: self.filter(source, recv_tag) });
        let c = reply.into_completion(1).expect("sendrecv completes its receive");
        (self.decode(CallKind::Sendrecv, &c), c.status)
    }

    /// Waits for a matching message without receiving it (`MPI_Probe`).
    #[track_caller]
    pub fn probe(&self, source: Rank, tag: Tag) -> Status {
        match self.ctx.call(CallKind::Probe, Op::Probe { args: self.filter(source, tag), block: true }) {
            Reply::Probed(Some(status)) => status,
            other => unreachable!("probe got {other:?}"),
        }
    }

    /// Looks for a matching message without waiting or receiving it (`MPI_Iprobe`).
    #[track_caller]
    pub fn iprobe(&self, source: Rank, tag: Tag) -> Option<Status> {
        match self.ctx.call(CallKind::Iprobe, Op::Probe { args: self.filter(source, tag), block: false }) {
            Reply::Probed(status) => status,
            other => unreachable!("iprobe got {other:?}"),
        }
    }

    #[track_caller]
    fn isend_mode<T: Serialize + ?Sized>(
        &self,
        kind: CallKind,
        mode: SendMode,
        value: &T,
        dest: Rank,
        tag: Tag,
    ) -> Request {
        let payload = self.encode(kind, value);
        let args = SendArgs { chan: self.channel(false), dest, tag, mode, payload };
        let reply = self.ctx.call(kind, Op::Send { args, block: false });
        self.request(reply, false)
    }

    /// Starts a send and returns at once (`MPI_Isend`); complete it with a wait or test.
    #[track_caller]
    pub fn isend<T: Serialize + ?Sized>(&self, value: &T, dest: Rank, tag: Tag) -> Request {
        self.isend_mode(CallKind::Isend, SendMode::Standard, value, dest, tag)
    }

    /// Nonblocking synchronous send (`MPI_Issend`).
    #[track_caller]
    pub fn issend<T: Serialize + ?Sized>(&self, value: &T, dest: Rank, tag: Tag) -> Request {
        self.isend_mode(CallKind::Issend, SendMode::Synchronous, value, dest, tag)
    }

    /// Nonblocking buffered send (`MPI_Ibsend`).
    #[track_caller]
    pub fn ibsend<T: Serialize + ?Sized>(&self, value: &T, dest: Rank, tag: Tag) -> Request {
        self.isend_mode(CallKind::Ibsend, SendMode::Buffered, value, dest, tag)
    }

    /// Nonblocking ready send (`MPI_Irsend`).
    #[track_caller]
    pub fn irsend<T: Serialize + ?Sized>(&self, value: &T, dest: Rank, tag: Tag) -> Request {
        self.isend_mode(CallKind::Irsend, SendMode::Ready, value, dest, tag)
    }

    /// Posts a receive and returns at once (`MPI_Irecv`); take the value with
    /// [`Request::wait_value`] or [`Request::value`].
    #[track_caller]
    pub fn irecv(&self, source: Rank, tag: Tag) -> Request {
        let reply = self.ctx.call(CallKind::Irecv, Op::Recv { args: self.filter(source, tag), block: false });
        self.request(reply, false)
    }

    /// A persistent send of `value` to `dest` (`MPI_Send_init`), inactive until started.
    #[track_caller]
    pub fn send_init<T: Serialize + ?Sized>(&self, value: &T, dest: Rank, tag: Tag) -> Request {
        let payload = self.encode(CallKind::SendInit, value);
        let args = SendArgs { chan: self.channel(false), dest, tag, mode: SendMode::Standard, payload };
        let reply = self.ctx.call(CallKind::SendInit, Op::SendInit { args });
        self.request(reply, true)
    }

    /// A persistent receive (`MPI_Recv_init`), inactive until started.
    #[track_caller]
    pub fn recv_init(&self, source: Rank, tag: Tag) -> Request {
        let reply = self.ctx.call(CallKind::RecvInit, Op::RecvInit { args: self.filter(source, tag) });
        self.request(reply, true)
    }

    /// Starts persistent requests (`MPI_Startall`).
    #[track_caller]
    pub fn startall(&self, requests: &mut [Request]) {
        let reqs = requests.iter_mut().map(|r| (r.persistent_id(CallKind::Startall), r.bound.take())).collect();
        self.ctx.call(CallKind::Startall, Op::Start { reqs });
        for r in requests {
            r.data = None;
        }
    }

    /// Waits for all requests (`MPI_Waitall`); returns their statuses in order.
    #[track_caller]
    pub fn waitall(&self, requests: &mut [Request]) -> Vec<Status> {
        let done = self.complete(CallKind::Waitall, requests, WaitHow::All, true);
        in_order(requests.len(), done)
    }

    /// Waits for one request (`MPI_Waitany`): its index and status, or `None` if every
    /// request is null or inactive.
    #[track_caller]
    pub fn waitany(&self, requests: &mut [Request]) -> Option<(usize, Status)> {
        self.complete(CallKind::Waitany, requests, WaitHow::Any, true).into_iter().next()
    }

    /// Waits for at least one request (`MPI_Waitsome`): the indices and statuses of all
    /// that completed; empty if every request is null or inactive.
    #[track_caller]
    pub fn waitsome(&self, requests: &mut [Request]) -> Vec<(usize, Status)> {
        self.complete(CallKind::Waitsome, requests, WaitHow::Some, true)
    }

    /// Whether all requests are complete (`MPI_Testall`); if so, completes them and
    /// returns their statuses.
    #[track_caller]
    pub fn testall(&self, requests: &mut [Request]) -> Option<Vec<Status>> {
        let done = self.complete(CallKind::Testall, requests, WaitHow::All, false);
        let live = requests.iter().filter(|r| r.id.is_some()).count();
        if done.is_empty() && live > 0 {
            return None;
        }
        Some(in_order(requests.len(), done))
    }

    /// Completes one request if any is complete (`MPI_Testany`).
    #[track_caller]
    pub fn testany(&self, requests: &mut [Request]) -> Option<(usize, Status)> {
        self.complete(CallKind::Testany, requests, WaitHow::Any, false).into_iter().next()
    }

    /// Completes every request that is complete (`MPI_Testsome`).
    #[track_caller]
    pub fn testsome(&self, requests: &mut [Request]) -> Vec<(usize, Status)> {
        self.complete(CallKind::Testsome, requests, WaitHow::Some, false)
    }

    #[track_caller]
    fn complete(&self, kind: CallKind, requests: &mut [Request], how: WaitHow, block: bool) -> Vec<(usize, Status)> {
        let reqs = requests.iter().map(|r| r.id).collect();
        let reply = self.ctx.call(kind, Op::Wait { reqs, how, block });
        reply
            .into_completions()
            .into_iter()
            .map(|c| {
                requests[c.index].settle(c.payload);
                (c.index, c.status)
            })
            .collect()
    }

    /// Advances this rank's clock by `duration` of computation (scaled by the platform's
    /// compute speed).
    #[track_caller]
    pub fn compute(&self, duration: std::time::Duration) {
        self.ctx.call(CallKind::Compute, Op::Compute { duration: duration.into() });
    }

    /// Advances this rank's clock by the time of `flops` floating-point operations.
    #[track_caller]
    pub fn compute_flops(&self, flops: u64) {
        self.ctx.call(CallKind::Compute, Op::ComputeFlops { flops });
    }

    /// The rank's virtual clock in seconds (`MPI_Wtime`).
    #[track_caller]
    pub fn wtime(&self) -> f64 {
        self.now().as_secs_f64()
    }

    /// The rank's virtual clock.
    #[track_caller]
    pub fn now(&self) -> Time {
        match self.ctx.call(CallKind::Wtime, Op::Wtime) {
            Reply::Time(t) => t,
            other => unreachable!("wtime got {other:?}"),
        }
    }

    /// Prints a line as this rank. Lines come out in virtual-time order (ties: rank),
    /// the same on every run.
    #[track_caller]
    pub fn print(&self, text: impl std::fmt::Display) {
        self.ctx.call(CallKind::Print, Op::Print { text: text.to_string() });
    }

    /// Ends the whole run with `code` (`MPI_Abort`).
    #[track_caller]
    pub fn abort(&self, code: i32) -> ! {
        self.ctx.call(CallKind::Abort, Op::Abort { code });
        unreachable!("the engine does not resume an aborted rank")
    }

    #[track_caller]
    fn decode<T: DeserializeOwned>(&self, kind: CallKind, c: &Completion) -> T {
        decode_completion(&self.ctx, kind, c.payload.as_ref(), &c.status)
    }

    fn request(&self, reply: Reply, persistent: bool) -> Request {
        match reply {
            Reply::Request(id) => Request::new(id, self.ctx.clone(), persistent),
            other => unreachable!("a request-making call got {other:?}"),
        }
    }
}

#[track_caller]
pub(crate) fn decode_completion<T: DeserializeOwned>(
    ctx: &RankCtx,
    kind: CallKind,
    payload: Option<&Payload>,
    status: &Status,
) -> T {
    let empty;
    let payload = match payload {
        Some(p) => p,
        None => {
            // A receive from PROC_NULL: only a unit value can come of it.
            empty = codec::encode(&()).expect("unit encodes");
            &empty
        }
    };
    match codec::decode(payload) {
        Ok(value) => value,
        Err(m) => ctx.fail(
            kind,
            MpiError::new(
                ErrorClass::Type,
                format!(
                    "the message from rank {} with tag {} holds a `{}` but the receive asked for a `{}`; \
                     receive it as the type that was sent",
                    status.source, status.tag, m.sent, m.expected
                ),
            ),
        ),
    }
}

/// The statuses of `n` requests in order from `(index, status)` pairs; requests not among
/// them (null or inactive) get the empty status.
fn in_order(n: usize, done: Vec<(usize, Status)>) -> Vec<Status> {
    let mut statuses = vec![Status::EMPTY; n];
    for (i, s) in done {
        statuses[i] = s;
    }
    statuses
}

#[cfg(test)]
mod tests {
    use crate::site::CallSite;
    use crate::{SimError, World};

    #[test]
    fn calls_made_with_a_script_site_are_reported_at_it() {
        let run = World::new(2).run(|comm| {
            let line = 11 + comm.rank() as u32;
            comm.with_site(CallSite::script("ring.py", line), || {
                comm.barrier();
                comm.send(&vec![0u8; 1 << 20], 1 - comm.rank(), 0);
            });
        });
        let Err(SimError::Deadlock(report)) = run else { panic!("the ring of two 1 MiB sends deadlocks: {run:?}") };
        let sites: Vec<String> = report.blocked.iter().map(|b| b.location.to_string()).collect();
        assert_eq!(sites, ["ring.py:11", "ring.py:12"]);
        let collective = World::new(2)
            .run(|comm| {
                comm.with_site(CallSite::script("bcast.py", 3), || comm.barrier());
                comm.barrier();
            })
            .unwrap();
        let entered: Vec<String> = collective
            .trace
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                crate::EventKind::Enter { call, site, .. } if e.rank == 0 => Some(format!("{call} {site}")),
                _ => None,
            })
            .collect();
        assert!(entered[0].starts_with("barrier bcast.py:3"), "{entered:?}");
        assert!(entered.iter().any(|e| e.starts_with("barrier sim/src/comm.rs")), "the site is restored: {entered:?}");
    }
}
