//! Nonblocking collectives (`ibcast`, `iallreduce`, …): the same algorithms as the blocking
//! ones, run as a schedule of rounds.
//!
//! The algorithm runs on a small coroutine of its own. Each time it asks for a round, the
//! request posts the round's receives and sends (`irecv`/`isend`) and returns to the
//! program; [`CollRequest::test`] and [`CollRequest::wait`] complete posted rounds of every
//! pending nonblocking collective of the rank and let their algorithms post the next. So
//! nonblocking collectives advance inside their tests and waits, as in an MPI library
//! without an asynchronous progress thread; virtual time spent computing between the call
//! and the wait overlaps with their messages.
//!
//! With no size agreement possible before the first round, a nonblocking collective that
//! the user did not pin to an algorithm picks by what every rank knows: binomial bcast,
//! scatter and gather; recursive-doubling (power of two) or Bruck allgather; isend/irecv
//! alltoall; reductions by count × element size, as MPICH.

use super::net::{request, Net, Round, Transport};
use super::ops::Operator;
use super::reduce::{self, Reduction};
use super::select::{mpich, Collective};
use super::{barrier, bcast, blocks, check_one_per_rank, wire, Invocation, Marker};
use crate::call::{CallKind, Channel, Op, RecvArgs, ReqId, SendArgs, SendMode, WaitHow};
use crate::codec::Payload;
use crate::comm::{Comm, RankCtx};
use crate::error::{ErrorClass, MpiError};
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
/// its result with [`CollRequest::wait`]; [`CollRequest::test`] advances it without
/// blocking. Waiting for or testing one advances every pending nonblocking collective of
/// the rank, so ranks may complete them in different orders.
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
}

/// A nonblocking collective's schedule and its current round, shared by its request and
/// the rank's list of pending collectives.
struct Progress<R> {
    ctx: Rc<RankCtx>,
    kind: CallKind,
    chan: Channel,
    tag: Tag,
    schedule: Option<Schedule<R>>,
    /// The current round's receives, then its sends; `None` once complete.
    posted: Vec<Option<ReqId>>,
    /// What the round's receives brought.
    got: Vec<Option<Payload>>,
    result: Option<R>,
}

/// What the rank's progress loop needs of a pending collective, whatever its result type.
pub(crate) trait Pending {
    /// The current round's incomplete requests, by their index in the round.
    fn live(&self) -> Vec<(usize, ReqId)>;
    /// Records a completed request; a complete round lets the algorithm post the next.
    fn complete(&mut self, index: usize, payload: Option<Payload>, site: CallSite);
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
    fn advance(&mut self, received: Vec<Payload>, site: CallSite) {
        let schedule = self.schedule.as_mut().expect("an unfinished collective has its schedule");
        match schedule.resume(received) {
            CoroutineResult::Yield((sends, recvs)) => self.post(sends, recvs, site),
            CoroutineResult::Return(Ok(r)) => {
                self.result = Some(r);
                self.schedule = None;
            }
            CoroutineResult::Return(Err(e)) => self.ctx.fail_at(self.kind, site, e),
        }
    }

    fn post(&mut self, sends: Vec<(Rank, Payload)>, recvs: Vec<Rank>, site: CallSite) {
        if sends.is_empty() && recvs.is_empty() {
            return self.advance(Vec::new(), site);
        }
        self.posted.clear();
        self.got = vec![None; recvs.len()];
        for from in recvs {
            let args = RecvArgs { chan: self.chan, source: Some(from), tag: Some(self.tag) };
            self.posted.push(Some(request(self.ctx.call_at(CallKind::Irecv, site, Op::Recv { args, block: false }))));
        }
        for (dest, payload) in sends {
            let args = SendArgs { chan: self.chan, dest, tag: self.tag, mode: SendMode::Standard, payload };
            self.posted.push(Some(request(self.ctx.call_at(CallKind::Isend, site, Op::Send { args, block: false }))));
        }
    }
}

impl<R: 'static> Pending for Progress<R> {
    fn live(&self) -> Vec<(usize, ReqId)> {
        self.posted.iter().enumerate().filter_map(|(i, id)| id.map(|id| (i, id))).collect()
    }

    fn complete(&mut self, index: usize, payload: Option<Payload>, site: CallSite) {
        self.posted[index] = None;
        if index < self.got.len() {
            self.got[index] = payload;
        }
        if self.result.is_none() && self.posted.iter().all(Option::is_none) {
            let got = std::mem::take(&mut self.got);
            self.advance(got.into_iter().map(|p| p.expect("a completed receive carries data")).collect(), site);
        }
    }

    fn done(&self) -> bool {
        self.result.is_some()
    }
}

/// Advances the rank's pending nonblocking collectives until `own` is done (`block`), or
/// as far as they go without waiting: MPI's progress rule, as a library without a
/// progress thread keeps it inside its test and wait calls.
fn drive(ctx: &RankCtx, own: &dyn Pending, block: bool, site: CallSite) {
    while !own.done() {
        let pending = ctx.coll.pending();
        let mut owners = Vec::new();
        let mut reqs = Vec::new();
        for (e, entry) in pending.iter().enumerate() {
            for (i, id) in entry.borrow().live() {
                owners.push((e, i));
                reqs.push(Some(id));
            }
        }
        let kind = if block { CallKind::Waitsome } else { CallKind::Testsome };
        let done = ctx.call_at(kind, site, Op::Wait { reqs, how: WaitHow::Some, block }).into_completions();
        if done.is_empty() {
            return; // a test found nothing complete
        }
        for c in done {
            let (e, i) = owners[c.index];
            pending[e].borrow_mut().complete(i, c.payload, site);
        }
    }
}

impl<R: 'static> CollRequest<R> {
    fn start(inv: &Invocation, body: impl FnOnce(&mut Net) -> Result<R, MpiError> + 'static) -> CollRequest<R> {
        let (rank, size) = (inv.comm.rank(), inv.comm.size());
        let stack = DefaultStack::new(STACK_SIZE).unwrap_or_else(|e| {
            inv.fail(MpiError::new(
                ErrorClass::Other,
                format!("cannot map a stack for a nonblocking collective: {e}; complete earlier ones first"),
            ))
        });
        let schedule = Coroutine::with_stack(stack, move |yielder: &Yielder<Vec<Payload>, Round>, _: Vec<Payload>| {
            let mut transport = Yielding { yielder };
            body(&mut Net::new(rank, size, &mut transport))
        });
        let state = Rc::new(RefCell::new(Progress {
            ctx: inv.comm.ctx.clone(),
            kind: inv.kind,
            chan: inv.channel(),
            tag: inv.tag,
            schedule: Some(schedule),
            posted: Vec::new(),
            got: Vec::new(),
            result: None,
        }));
        state.borrow_mut().advance(Vec::new(), inv.site);
        if !state.borrow().done() {
            inv.comm.ctx.coll.add_pending(state.clone());
        }
        CollRequest { state }
    }

    fn progress(&self, block: bool, site: CallSite) {
        if self.state.borrow().done() {
            return;
        }
        let ctx = self.state.borrow().ctx.clone();
        drive(&ctx, &Watch(&self.state), block, site);
    }

    /// Advances the collective (and the rank's other pending ones) without blocking
    /// (`MPI_Test`); whether it is complete.
    #[track_caller]
    pub fn test(&mut self) -> bool {
        self.progress(false, CallSite::here());
        self.is_complete()
    }

    /// Whether the collective has completed (by an earlier test or wait, or at once).
    pub fn is_complete(&self) -> bool {
        self.state.borrow().done()
    }

    /// Completes the collective (`MPI_Wait`) and returns its result.
    #[track_caller]
    pub fn wait(self) -> R {
        self.progress(true, CallSite::here());
        let result = self.state.borrow_mut().result.take();
        result.expect("a waited collective is complete")
    }
}

/// Asks whether a collective is done without holding its borrow across the progress loop,
/// which advances it too.
struct Watch<'a, R>(&'a RefCell<Progress<R>>);

impl<R: 'static> Pending for Watch<'_, R> {
    fn live(&self) -> Vec<(usize, ReqId)> {
        self.0.borrow().live()
    }
    fn complete(&mut self, index: usize, payload: Option<Payload>, site: CallSite) {
        self.0.borrow_mut().complete(index, payload, site)
    }
    fn done(&self) -> bool {
        self.0.borrow().done()
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
    let req = CollRequest::start(inv, move |net| body(alg, net));
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
    let req = CollRequest::start(inv, move |net| {
        let combiner = op.clone();
        let combine = move |a: &O::Elem, b: &O::Elem| combiner.combine(a, b);
        let red = Reduction { combine: &combine, commutative: op.commutative(), name: op.name() };
        let out = body(alg, net, elems, &red)?;
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
