//! Nonblocking collectives (`ibcast`, `iallreduce`, …): the same algorithms as the blocking
//! ones, run as a schedule of rounds.
//!
//! The algorithm runs on a small coroutine of its own; each round it asks for is posted to
//! the engine as *background* requests of the collective's own request. MPI's progress
//! rule (MPI 4.1 §3.7.4, applied to collectives in §6.12) says a pending collective
//! advances inside any MPI call of its rank: so whenever the rank is in a call that would
//! block, or a test that would find nothing, and a round's requests have completed, the
//! engine hands them over ([`Reply::Progress`](crate::call::Reply::Progress)), the
//! algorithm posts its next round, and the call goes on. Virtual time spent computing
//! between the call and the wait overlaps with the messages in flight, but a round that
//! depends on the previous one waits for the rank's next MPI call, as in a library without
//! an asynchronous progress thread.
//!
//! With no size agreement possible before the first round, a nonblocking collective that
//! the user did not pin to an algorithm picks by what every rank knows: binomial bcast,
//! scatter and gather; recursive-doubling (power of two) or Bruck allgather; isend/irecv
//! alltoall; reductions by count × element size, as MPICH.

use super::net::{Net, Round, Transport};
use super::ops::Operator;
use super::reduce::{self, Reduction};
use super::select::{mpich, Collective};
use super::{barrier, bcast, blocks, check_one_per_rank, wire, Invocation, Marker};
use crate::call::{CallKind, Channel, Op, RecvArgs, Reply, ReqId, SendArgs, SendMode, WaitHow};
use crate::call::{ErrorClass, MpiError};
use crate::codec::Payload;
use crate::comm::{Comm, RankCtx};
use crate::site::CallSite;
use crate::{Rank, Tag};
use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;

/// Stack of an algorithm's coroutine: algorithms are shallow, user ops run on it too.
const STACK_SIZE: usize = 256 * 1024;

type Schedule<R> = Coroutine<Vec<Payload>, Round, Result<R, MpiError>, DefaultStack>;

/// Hands each round to the request that drives the coroutine.
struct Yielding<'y> {
    yielder: &'y Yielder<Vec<Payload>, Round>,
}

impl Transport for Yielding<'_> {
    fn round(&mut self, sends: Vec<(Rank, Payload)>, recvs: Vec<Rank>) -> Vec<Payload> {
        self.yielder.suspend((sends, recvs))
    }
}

/// A nonblocking collective in progress (`MPI_Request` of `MPI_Ibcast` and its kin). Take
/// its result with [`CollRequest::wait`]; [`CollRequest::test`] says whether it is
/// complete. It advances in any MPI call of its rank, so ranks may complete their
/// collectives in different orders, and a rank blocked in a receive still takes part.
///
/// ```
/// use mpisim::{op, World};
/// use std::time::Duration;
/// let run = World::new(4).run(|comm| {
///     let req = comm.iallreduce(&(comm.rank() as u64), op::SUM);
///     comm.compute(Duration::from_micros(5));              // overlaps with the reduction
///     req.wait()
/// }).unwrap();
/// assert_eq!(run.results, vec![6; 4]);
/// ```
pub struct CollRequest<R> {
    state: Rc<RefCell<Progress<R>>>,
    /// Whether a wait or test has taken the engine's completion of the collective.
    taken: bool,
}

/// A nonblocking collective's schedule and its current round, shared by its request and
/// the rank's list of pending collectives.
struct Progress<R> {
    ctx: Rc<RankCtx>,
    kind: CallKind,
    /// Where the user called it: its steps are reported there.
    site: CallSite,
    chan: Channel,
    tag: Tag,
    /// The engine's request of the whole collective.
    coll: ReqId,
    schedule: Option<Schedule<R>>,
    /// The current round's receives, then its sends; `None` once complete.
    posted: Vec<Option<ReqId>>,
    /// What the round's receives brought.
    got: Vec<Option<Payload>>,
    result: Option<R>,
}

/// What the rank's progress needs of a pending collective, whatever its result type.
pub(crate) trait Pending {
    /// Whether request `req` is a step of this collective's current round.
    fn owns(&self, req: ReqId) -> bool;
    /// Records that step `req` completed; a complete round lets the algorithm post the next.
    fn complete(&mut self, req: ReqId, payload: Option<Payload>);
    /// Whether the collective has its result.
    fn done(&self) -> bool;
}

impl<R> std::fmt::Debug for CollRequest<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("CollRequest").field("call", &state.kind).field("complete", &state.result.is_some()).finish()
    }
}

impl<R: 'static> Progress<R> {
    /// Resumes the algorithm with what its last round received.
    fn advance(&mut self, received: Vec<Payload>) {
        let schedule = self.schedule.as_mut().expect("an unfinished collective has its schedule");
        match schedule.resume(received) {
            CoroutineResult::Yield((sends, recvs)) => self.post(sends, recvs),
            CoroutineResult::Return(Ok(r)) => {
                self.result = Some(r);
                self.schedule = None;
                self.ctx.call_at(self.kind, self.site, Op::CollDone { coll: self.coll });
            }
            CoroutineResult::Return(Err(e)) => self.ctx.fail_at(self.kind, self.site, e),
        }
    }

    fn post(&mut self, sends: Vec<(Rank, Payload)>, recvs: Vec<Rank>) {
        if sends.is_empty() && recvs.is_empty() {
            return self.advance(Vec::new());
        }
        self.got = vec![None; recvs.len()];
        let recvs = recvs.into_iter().map(|from| RecvArgs { chan: self.chan, source: Some(from), tag: Some(self.tag) });
        let sends = sends.into_iter().map(|(dest, payload)| SendArgs {
            chan: self.chan,
            dest,
            tag: self.tag,
            mode: SendMode::Standard,
            payload,
        });
        let op = Op::Post { coll: self.coll, recvs: recvs.collect(), sends: sends.collect() };
        self.posted = match self.ctx.call_at(self.kind, self.site, op) {
            Reply::Posted(ids) => ids.into_iter().map(Some).collect(),
            other => unreachable!("a round's post got {other:?}"),
        };
    }
}

impl<R: 'static> Pending for Progress<R> {
    fn owns(&self, req: ReqId) -> bool {
        self.posted.contains(&Some(req))
    }

    fn complete(&mut self, req: ReqId, payload: Option<Payload>) {
        let Some(index) = self.posted.iter().position(|&p| p == Some(req)) else {
            return;
        };
        self.posted[index] = None;
        if index < self.got.len() {
            self.got[index] = payload;
        }
        if self.result.is_none() && self.posted.iter().all(Option::is_none) {
            let got = std::mem::take(&mut self.got);
            self.advance(got.into_iter().map(|p| p.expect("a completed receive carries data")).collect());
        }
    }

    fn done(&self) -> bool {
        self.result.is_some()
    }
}

impl<R: 'static> CollRequest<R> {
    fn start(
        inv: &Invocation,
        algorithm: super::Algorithm,
        body: impl FnOnce(&mut Net) -> Result<R, MpiError> + 'static,
    ) -> CollRequest<R> {
        let (rank, size) = (inv.comm.rank(), inv.comm.size());
        let stack = DefaultStack::new(STACK_SIZE).unwrap_or_else(|e| {
            inv.fail(MpiError::new(
                ErrorClass::Other,
                format!("cannot map a stack for a nonblocking collective: {e}; complete earlier ones first"),
            ))
        });
        let coll = match inv.comm.ctx.call_at(inv.kind, inv.site, Op::CollStart { algorithm: algorithm.name() }) {
            Reply::Request(id) => id,
            other => unreachable!("a collective's start got {other:?}"),
        };
        let schedule = Coroutine::with_stack(stack, move |yielder: &Yielder<Vec<Payload>, Round>, _: Vec<Payload>| {
            let mut transport = Yielding { yielder };
            body(&mut Net::new(rank, size, &mut transport))
        });
        let state = Rc::new(RefCell::new(Progress {
            ctx: inv.comm.ctx.clone(),
            kind: inv.kind,
            site: inv.site,
            chan: inv.channel(),
            tag: inv.tag,
            coll,
            schedule: Some(schedule),
            posted: Vec::new(),
            got: Vec::new(),
            result: None,
        }));
        state.borrow_mut().advance(Vec::new());
        if !state.borrow().done() {
            inv.comm.ctx.coll.add_pending(state.clone());
        }
        CollRequest { state, taken: false }
    }

    /// Completes the collective's request in the engine (`MPI_Wait`, or with `block:
    /// false`, `MPI_Test`); the rank's collectives advance meanwhile.
    fn complete(&mut self, kind: CallKind, block: bool, site: CallSite) {
        if self.taken {
            return;
        }
        let (ctx, coll) = {
            let state = self.state.borrow();
            (state.ctx.clone(), state.coll)
        };
        let op = Op::Wait { reqs: vec![Some(coll)], how: WaitHow::All, block };
        let done = match ctx.call_at(kind, site, op) {
            Reply::One(_) => true,
            Reply::Completed(done) => !done.is_empty(),
            other => unreachable!("a wait got {other:?}"),
        };
        self.taken = done;
    }

    /// Whether the collective is complete (`MPI_Test`); its rank's collectives advance.
    #[track_caller]
    pub fn test(&mut self) -> bool {
        self.complete(CallKind::Test, false, CallSite::here());
        self.taken
    }

    /// Whether the collective has completed (by an earlier test or wait, or at once).
    pub fn is_complete(&self) -> bool {
        self.state.borrow().done()
    }

    /// Completes the collective (`MPI_Wait`) and returns its result.
    #[track_caller]
    pub fn wait(mut self) -> R {
        self.complete(CallKind::Wait, true, CallSite::here());
        let result = self.state.borrow_mut().result.take();
        result.expect("a waited collective is complete")
    }
}

fn decode<T: DeserializeOwned>(block: &[u8], from: Rank) -> Result<T, MpiError> {
    wire::decode_value(block, from)
}

/// Starts a collective that the request then carries on.
fn launch<R: 'static>(
    inv: &Invocation,
    collective: Collective,
    m: Marker,
    bytes: u64,
    body: impl FnOnce(super::Algorithm, &mut Net) -> Result<R, MpiError> + 'static,
) -> CollRequest<R> {
    let (alg, _) = inv.select(collective, m, inv.facts(bytes), None);
    let req = CollRequest::start(inv, alg, move |net| body(alg, net));
    inv.end();
    req
}

fn launch_reduction<T: Clone + 'static, O: Operator<T>, R: 'static>(
    inv: &Invocation,
    collective: Collective,
    op: O,
    value: &T,
    root: Option<Rank>,
    body: impl FnOnce(super::Algorithm, &mut Net, Vec<O::Elem>, &Reduction<O::Elem>) -> Result<Option<Vec<O::Elem>>, MpiError>
        + 'static,
    finish: impl FnOnce(Option<T>) -> R + 'static,
) -> CollRequest<R> {
    let call = super::reduce_call(inv, &op, op.elements(value.clone()), root);
    let (alg, _) = inv.select(collective, call.marker, call.facts, None);
    let elems = call.elems;
    let req = CollRequest::start(inv, alg, move |net| {
        let out = super::with_reduction(&op, |red| body(alg, net, elems, red))?;
        Ok(finish(out.map(|e| op.assemble(e))))
    });
    inv.end();
    req
}

/// Nonblocking collectives: each returns at once with a [`CollRequest`].
impl Comm {
    /// Nonblocking barrier (`MPI_Ibarrier`).
    #[track_caller]
    pub fn ibarrier(&self) -> CollRequest<()> {
        let inv = self.invocation(CallKind::Ibarrier);
        launch(&inv, Collective::Barrier, Marker::default(), 0, |alg, net| {
            barrier::barrier(net, alg);
            Ok(())
        })
    }

    /// Nonblocking [`Comm::bcast`] (`MPI_Ibcast`).
    #[track_caller]
    pub fn ibcast<T: Serialize + DeserializeOwned + 'static>(&self, value: Option<&T>, root: Rank) -> CollRequest<T> {
        let inv = self.invocation(CallKind::Ibcast);
        inv.check_root(root);
        let ty = std::any::type_name::<T>();
        let data = (self.rank() == root).then(|| {
            let v = value.unwrap_or_else(|| {
                inv.fail(MpiError::new(ErrorClass::Arg, "the root of an ibcast must pass Some(&value); it passed None"))
            });
            wire::payload(ty, inv.ok(wire::encode(v)))
        });
        let m = Marker { root: Some(root), bytes: data.as_ref().map(Payload::len), ..Marker::default() };
        launch(&inv, Collective::Bcast, m, 0, move |alg, net| {
            let got = bcast::bcast(net, alg, root, data, ty)?;
            decode(&got.bytes, root)
        })
    }

    /// Nonblocking [`Comm::scatter`] (`MPI_Iscatter`).
    #[track_caller]
    pub fn iscatter<T: Serialize + DeserializeOwned + 'static>(
        &self,
        values: Option<&[T]>,
        root: Rank,
    ) -> CollRequest<T> {
        let inv = self.invocation(CallKind::Iscatter);
        inv.check_root(root);
        let data = (self.rank() == root).then(|| {
            let values = values.unwrap_or_else(|| {
                inv.fail(MpiError::new(
                    ErrorClass::Arg,
                    "the root of an iscatter must pass Some(values); it passed None",
                ))
            });
            check_one_per_rank(&inv, "iscatter at the root", values.len());
            values.iter().map(|v| inv.ok(wire::encode(v))).collect::<Vec<_>>()
        });
        let m = Marker { root: Some(root), ..Marker::default() };
        launch(&inv, Collective::Scatter, m, 0, move |alg, net| {
            let blocks = wire::Blocks::of::<T>();
            decode(&blocks::scatter(net, alg, root, &blocks, data)?, root)
        })
    }

    /// Nonblocking [`Comm::gather`] (`MPI_Igather`).
    #[track_caller]
    pub fn igather<T: Serialize + DeserializeOwned + 'static>(
        &self,
        value: &T,
        root: Rank,
    ) -> CollRequest<Option<Vec<T>>> {
        let inv = self.invocation(CallKind::Igather);
        inv.check_root(root);
        let mine = inv.ok(wire::encode(value));
        let m = Marker { root: Some(root), bytes: Some(mine.len() as u64), ..Marker::default() };
        launch(&inv, Collective::Gather, m, 0, move |alg, net| {
            let blocks = wire::Blocks::of::<T>();
            match blocks::gather(net, alg, root, &blocks, mine)? {
                Some(all) => Ok(Some(all.iter().enumerate().map(|(i, b)| decode(b, i)).collect::<Result<_, _>>()?)),
                None => Ok(None),
            }
        })
    }

    /// Nonblocking [`Comm::allgather`] (`MPI_Iallgather`).
    #[track_caller]
    pub fn iallgather<T: Serialize + DeserializeOwned + 'static>(&self, value: &T) -> CollRequest<Vec<T>> {
        let inv = self.invocation(CallKind::Iallgather);
        let mine = inv.ok(wire::encode(value));
        let m = Marker { bytes: Some(mine.len() as u64), ..Marker::default() };
        launch(&inv, Collective::Allgather, m, 0, move |alg, net| {
            let blocks = wire::Blocks::of::<T>();
            blocks::allgather(net, alg, &blocks, mine)?.iter().enumerate().map(|(i, b)| decode(b, i)).collect()
        })
    }

    /// Nonblocking [`Comm::alltoall`] (`MPI_Ialltoall`).
    #[track_caller]
    pub fn ialltoall<T: Serialize + DeserializeOwned + 'static>(&self, values: &[T]) -> CollRequest<Vec<T>> {
        let inv = self.invocation(CallKind::Ialltoall);
        check_one_per_rank(&inv, "ialltoall", values.len());
        let data: Vec<Vec<u8>> = values.iter().map(|v| inv.ok(wire::encode(v))).collect();
        let m = Marker { bytes: Some(data.iter().map(|b| b.len() as u64).sum()), ..Marker::default() };
        launch(&inv, Collective::Alltoall, m, mpich::ALLTOALL_MEDIUM, move |alg, net| {
            let blocks = wire::Blocks::of::<T>();
            blocks::alltoall(net, alg, &blocks, data)?.iter().enumerate().map(|(i, b)| decode(b, i)).collect()
        })
    }

    /// Nonblocking [`Comm::reduce`] (`MPI_Ireduce`).
    #[track_caller]
    pub fn ireduce<T: Clone + 'static, O: Operator<T>>(&self, value: &T, op: O, root: Rank) -> CollRequest<Option<T>> {
        let inv = self.invocation(CallKind::Ireduce);
        inv.check_root(root);
        let body =
            move |alg, net: &mut Net, elems, red: &Reduction<O::Elem>| reduce::reduce(net, alg, root, elems, red);
        launch_reduction(&inv, Collective::Reduce, op, value, Some(root), body, |out| out)
    }

    /// Nonblocking [`Comm::allreduce`] (`MPI_Iallreduce`).
    #[track_caller]
    pub fn iallreduce<T: Clone + 'static, O: Operator<T>>(&self, value: &T, op: O) -> CollRequest<T> {
        let inv = self.invocation(CallKind::Iallreduce);
        let body =
            |alg, net: &mut Net, elems, red: &Reduction<O::Elem>| reduce::allreduce(net, alg, elems, red).map(Some);
        launch_reduction(&inv, Collective::Allreduce, op, value, None, body, |out| {
            out.expect("an allreduce has a value on every rank")
        })
    }

    /// Nonblocking [`Comm::scan`] (`MPI_Iscan`).
    #[track_caller]
    pub fn iscan<T: Clone + 'static, O: Operator<T>>(&self, value: &T, op: O) -> CollRequest<T> {
        let inv = self.invocation(CallKind::Iscan);
        let body = |alg, net: &mut Net, elems, red: &Reduction<O::Elem>| reduce::scan(net, alg, elems, false, red);
        launch_reduction(&inv, Collective::Scan, op, value, None, body, |out| {
            out.expect("an inclusive scan has a value on every rank")
        })
    }

    /// Nonblocking [`Comm::exscan`] (`MPI_Iexscan`); `None` on rank 0.
    #[track_caller]
    pub fn iexscan<T: Clone + 'static, O: Operator<T>>(&self, value: &T, op: O) -> CollRequest<Option<T>> {
        let inv = self.invocation(CallKind::Iexscan);
        let body = |alg, net: &mut Net, elems, red: &Reduction<O::Elem>| reduce::scan(net, alg, elems, true, red);
        launch_reduction(&inv, Collective::Exscan, op, value, None, body, |out| out)
    }
}
