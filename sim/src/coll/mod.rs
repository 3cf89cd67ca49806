//! Collective operations on [`Comm`], in mpi4py's object style, built from point-to-point
//! messages with named algorithms.
//!
//! Every collective runs its algorithm on the rank that calls it: rounds of sends and
//! receives on the communicator's collective channel (so they never match a user's
//! receive), tagged with the communicator's collective sequence number (so consecutive and
//! nonblocking collectives never cross-match), between an `Op::CollBegin` and an
//! `Op::CollEnd` marker (so the trace shows the collective spanning its algorithm's calls,
//! the engine checks that every rank calls the same collectives, and deadlock reports name
//! the collective and the user's file:line). Values travel as their postcard encoding, so
//! the cost model charges what they really weigh.
//!
//! Which algorithm runs: the user's choice (`World::algorithm`, `--algorithm coll=name`),
//! else MPICH's rules by size and rank count ([`select`]). Where a rule needs a size that
//! only some ranks know (the root's value in a bcast on 8 ranks or more, the blocks of an
//! allgather or alltoall), the ranks first agree on it with a small collective, as mpi4py
//! does on top of MPI (its bcast sends the pickle's size first). An explicit choice needs
//! no agreement.

pub(crate) mod barrier;
pub(crate) mod bcast;
pub(crate) mod blocks;
pub(crate) mod net;
mod nonblocking;
pub mod ops;
pub(crate) mod reduce;
pub mod select;
#[cfg(feature = "proptest")]
pub mod strategies;
pub(crate) mod tree;
pub(crate) mod wire;

use crate::call::{CallKind, Channel, Op};
use crate::call::{ErrorClass, MpiError};
use crate::codec::Payload;
use crate::comm::Comm;
use crate::site::CallSite;
use crate::words::plural;
use crate::{Rank, Tag, TAG_UB};
use net::{Direct, Net};
pub use nonblocking::CollRequest;
use ops::Operator;
use reduce::Reduction;
use select::{mpich, Facts};
pub use select::{Algorithm, AlgorithmError, Algorithms, Collective};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use wire::Blocks;

/// A rank's collective state: the next sequence number on each communicator, the world's
/// algorithm choices, and the nonblocking collectives in progress.
#[derive(Default)]
pub(crate) struct RankColl {
    seqs: RefCell<BTreeMap<u32, u32>>,
    algorithms: RefCell<Rc<Algorithms>>,
    /// The rank's nonblocking collectives that have not completed, in call order. Held
    /// even if the program drops its request: a collective still completes, as MPI's do.
    pending: RefCell<Vec<Rc<RefCell<dyn nonblocking::Pending>>>>,
}

impl RankColl {
    /// Adds a nonblocking collective to the ones the rank's calls advance.
    fn add_pending(&self, p: Rc<RefCell<dyn nonblocking::Pending>>) {
        self.pending.borrow_mut().push(p);
    }

    /// Advances the rank's nonblocking collectives with the completed steps the engine
    /// handed over (MPI's progress rule); a collective that completes leaves the list.
    pub fn advance(&self, done: Vec<crate::call::Background>) {
        for step in done {
            // Taken out of the list's borrow: advancing posts the next round, a call of its own.
            let owner = self.pending.borrow().iter().find(|p| p.borrow().owns(step.req)).cloned();
            if let Some(p) = owner {
                p.borrow_mut().complete(step.req, step.payload);
            }
        }
        self.pending.borrow_mut().retain(|p| !p.borrow().done());
    }

    /// Uses the world's algorithm choices.
    pub fn choose(&self, algorithms: Rc<Algorithms>) {
        *self.algorithms.borrow_mut() = algorithms;
    }

    /// The algorithm choices in force.
    pub fn algorithms(&self) -> Rc<Algorithms> {
        self.algorithms.borrow().clone()
    }

    fn chosen(&self, c: Collective) -> Option<Algorithm> {
        self.algorithms.borrow().get(c)
    }

    /// The tag of the next collective on `comm`: every member calls the collectives of a
    /// communicator in the same order, so they agree on it without a message.
    fn next_tag(&self, comm: u32) -> Tag {
        let mut seqs = self.seqs.borrow_mut();
        let seq = seqs.entry(comm).or_insert(0);
        let tag = *seq & TAG_UB as u32;
        *seq = seq.wrapping_add(1);
        tag as Tag
    }
}

/// One collective call of one rank: where it was made and what it is.
pub(crate) struct Invocation<'c> {
    comm: &'c Comm,
    kind: CallKind,
    site: CallSite,
    tag: Tag,
}

/// What a collective's begin marker says of it.
#[derive(Clone, Copy, Default)]
struct Marker {
    root: Option<Rank>,
    bytes: Option<u64>,
    op: Option<&'static str>,
    count: Option<u64>,
}

impl<'c> Invocation<'c> {
    fn new(comm: &'c Comm, kind: CallKind, site: CallSite) -> Invocation<'c> {
        let tag = comm.ctx.coll.next_tag(comm.handle.id);
        Invocation { comm, kind, site, tag }
    }

    fn fail(&self, error: MpiError) -> ! {
        self.comm.ctx.fail_at(self.kind, self.site, error)
    }

    fn ok<T>(&self, result: Result<T, MpiError>) -> T {
        result.unwrap_or_else(|e| self.fail(e))
    }

    fn channel(&self) -> Channel {
        self.comm.channel(true)
    }

    fn check_root(&self, root: Rank) {
        let n = self.comm.size();
        if root >= n {
            self.fail(MpiError::new(
                ErrorClass::Root,
                format!(
                    "invalid root {root}: the communicator has {n} rank{} (0 to {}); every rank must pass the same \
                     root, one of them",
                    if n == 1 { "" } else { "s" },
                    n - 1
                ),
            ));
        }
    }

    fn check(&self, ok: bool, class: ErrorClass, message: impl FnOnce() -> String) {
        if !ok {
            self.fail(MpiError::new(class, message()));
        }
    }

    fn begin(&self, m: Marker, algorithm: &'static str) {
        let op = Op::CollBegin {
            comm: self.comm.handle.id,
            root: m.root,
            bytes: m.bytes,
            algorithm,
            op: m.op,
            count: m.count,
        };
        self.comm.ctx.call_at(self.kind, self.site, op);
    }

    fn end(&self) {
        self.comm.ctx.call_at(self.kind, self.site, Op::CollEnd);
    }

    /// Runs an algorithm's rounds now.
    fn run<R>(&self, body: impl FnOnce(&mut Net) -> Result<R, MpiError>) -> R {
        let mut direct = Direct { ctx: &self.comm.ctx, chan: self.channel(), tag: self.tag, site: self.site };
        let mut net = Net::new(self.comm.rank(), self.comm.size(), &mut direct);
        let result = body(&mut net);
        self.ok(result)
    }

    /// The algorithm for `collective`: the user's choice, else MPICH's rule on `facts`.
    /// `agree` gives the size the rule needs when ranks must first agree on it (it runs
    /// inside an outer `auto` phase, which the returned flag says to end).
    fn select(
        &self,
        collective: Collective,
        m: Marker,
        facts: Facts,
        agree: Option<&dyn Fn(&Invocation) -> u64>,
    ) -> (Algorithm, bool) {
        let chosen = self.comm.ctx.coll.chosen(collective);
        match (chosen, agree) {
            (None, Some(agree)) => {
                self.begin(m, "auto");
                let bytes = agree(self);
                let algorithm = select::choose(collective, None, &Facts { bytes, ..facts });
                self.begin(m, algorithm.name());
                (algorithm, true)
            }
            _ => {
                let algorithm = select::choose(collective, chosen, &facts);
                self.begin(m, algorithm.name());
                (algorithm, false)
            }
        }
    }

    fn finish(&self, nested: bool) {
        self.end();
        if nested {
            self.end();
        }
    }

    /// The root's `bytes`, agreed by a binomial bcast of the count.
    fn agree_root(&self, root: Rank, bytes: Option<u64>) -> u64 {
        let data = bytes.map(|b| wire::payload("u64", b.to_le_bytes().to_vec()));
        let got = self.run(|net| bcast::binomial(net, root, data, "u64"));
        u64::from_le_bytes(got.bytes.try_into().unwrap_or_default())
    }

    /// The sum (`max: false`) or maximum of every rank's `bytes`, agreed by a
    /// recursive-doubling allreduce.
    fn agree_all(&self, bytes: u64, max: bool) -> u64 {
        let op = if max { ops::ReduceOp::Max } else { ops::ReduceOp::Sum };
        let combine =
            move |acc: &mut [u64], other: &[u64], lower| <u64 as ops::Element>::apply_into(op, acc, other, lower);
        let red = Reduction { combine: &combine, commutative: true, name: op.mpi_name().into() };
        let out = self.run(|net| reduce::allreduce(net, Algorithm::RecursiveDoubling, vec![bytes], &red));
        out[0]
    }

    fn facts(&self, bytes: u64) -> Facts {
        Facts { ranks: self.comm.size(), bytes, count: 0, commutative: true, builtin: true }
    }
}

/// `op` as a [`Reduction`] for `body`.
pub(crate) fn with_reduction<T, O: Operator<T>, R>(op: &O, body: impl FnOnce(&Reduction<O::Elem>) -> R) -> R {
    let combine = |acc: &mut [O::Elem], other: &[O::Elem], lower: bool| op.combine_into(acc, other, lower);
    body(&Reduction { combine: &combine, commutative: op.commutative(), name: op.name() })
}

/// Checks a v-variant's counts: one per rank.
fn check_counts(inv: &Invocation, counts: &[usize], what: &str) {
    let p = inv.comm.size();
    inv.check(counts.len() == p, ErrorClass::Count, || {
        format!(
            "{what} has {} entr{} for {p} rank{}: give one count per rank of the communicator",
            counts.len(),
            if counts.len() == 1 { "y" } else { "ies" },
            plural(p)
        )
    });
}

/// Checks that `given` values were passed for a call that takes one per rank (`what`
/// names the call, e.g. "alltoall" or "scatter at the root").
pub(crate) fn check_one_per_rank(inv: &Invocation, what: &str, given: usize) {
    let p = inv.comm.size();
    inv.check(given == p, ErrorClass::Count, || {
        format!(
            "{what} needs one value per rank: it was given {given} value{} for {p} rank{}",
            plural(given),
            plural(p)
        )
    });
}

fn decode_one<T: DeserializeOwned>(inv: &Invocation, block: &[u8], from: Rank) -> T {
    inv.ok(wire::decode_value(block, from))
}

fn decode_many<T: DeserializeOwned>(inv: &Invocation, block: &[u8], from: Rank, count: usize) -> Vec<T> {
    let values: Vec<T> = inv.ok(wire::decode_values(block, from));
    inv.check(values.len() == count, ErrorClass::Count, || {
        format!(
            "mismatched counts: rank {from} sent {} value{} where this rank expects {count}; every rank must pass \
             the same counts",
            values.len(),
            plural(values.len())
        )
    });
    values
}

/// The pieces of a reduction call.
struct ReduceCall<E> {
    elems: Vec<E>,
    facts: Facts,
    marker: Marker,
}

/// A reduction of `elems` with `op`: MPICH's size is the count times the element's size,
/// which every rank knows (they must pass the same count).
fn reduce_call<T, O: Operator<T>>(
    inv: &Invocation,
    op: &O,
    elems: Vec<O::Elem>,
    root: Option<Rank>,
) -> ReduceCall<O::Elem> {
    let count = elems.len();
    let bytes = (count * std::mem::size_of::<O::Elem>()) as u64;
    let facts =
        Facts { ranks: inv.comm.size(), bytes, count, commutative: op.commutative(), builtin: op.builtin().is_some() };
    let name = op.builtin().map_or("user op", |b| b.mpi_name());
    let marker = Marker { root, bytes: Some(bytes), op: Some(name), count: Some(count as u64) };
    ReduceCall { elems, facts, marker }
}

/// Collectives (MPI's, in mpi4py's object style). Every call is collective over the
/// communicator: all its ranks must make it, in the same order, with the same root and op.
impl Comm {
    #[track_caller]
    fn invocation(&self, kind: CallKind) -> Invocation<'_> {
        Invocation::new(self, kind, CallSite::here())
    }

    /// Runs this rank's later `collective` calls (on every communicator) with `algorithm`
    /// instead of MPICH's choice or the world's, as an MPI library's tuning hint does.
    /// Every rank must make the same choice, or the algorithms' steps will not match.
    ///
    /// ```
    /// use mpisim::{Algorithm, Collective, World};
    /// let run = World::new(4).run(|comm| {
    ///     comm.use_algorithm(Collective::Bcast, Algorithm::Linear).unwrap();
    ///     comm.bcast((comm.rank() == 0).then_some(&7u8), 0)
    /// }).unwrap();
    /// assert_eq!(run.results, vec![7; 4]);
    /// ```
    pub fn use_algorithm(&self, collective: Collective, algorithm: Algorithm) -> Result<(), select::AlgorithmError> {
        let mut chosen = (*self.ctx.coll.algorithms()).clone();
        chosen.set(collective, algorithm)?;
        self.ctx.coll.choose(Rc::new(chosen));
        Ok(())
    }

    /// Blocks until every rank has called it (`MPI_Barrier`).
    #[track_caller]
    pub fn barrier(&self) {
        let inv = self.invocation(CallKind::Barrier);
        let (alg, nested) = inv.select(Collective::Barrier, Marker::default(), inv.facts(0), None);
        inv.run(|net| {
            barrier::barrier(net, alg);
            Ok(())
        });
        inv.finish(nested);
    }

    /// Broadcasts the root's value (`comm.bcast(obj, root)`): the root passes
    /// `Some(&value)`, the others `None`; every rank gets the value.
    ///
    /// ```
    /// use mpisim::World;
    /// let run = World::new(4).run(|comm| {
    ///     let config = (comm.rank() == 0).then(|| vec![("alpha".to_string(), 1.5), ("beta".to_string(), 2.0)]);
    ///     comm.bcast(config.as_ref(), 0)
    /// }).unwrap();
    /// assert!(run.results.iter().all(|c| c[1] == ("beta".to_string(), 2.0)));
    /// ```
    #[track_caller]
    pub fn bcast<T: Serialize + DeserializeOwned>(&self, value: Option<&T>, root: Rank) -> T {
        let inv = self.invocation(CallKind::Bcast);
        inv.check_root(root);
        let ty = std::any::type_name::<T>();
        let data = (self.rank() == root).then(|| {
            let v = value.unwrap_or_else(|| {
                inv.fail(MpiError::new(ErrorClass::Arg, "the root of a bcast must pass Some(&value); it passed None"))
            });
            wire::payload(ty, inv.ok(wire::encode(v)))
        });
        let bytes = data.as_ref().map(Payload::len);
        let m = Marker { root: Some(root), bytes, ..Marker::default() };
        let agree: &dyn Fn(&Invocation) -> u64 = &|inv| inv.agree_root(root, bytes);
        let needs_size = self.size() >= mpich::BCAST_MIN_PROCS;
        let (alg, nested) = inv.select(Collective::Bcast, m, inv.facts(0), needs_size.then_some(agree));
        let got = inv.run(|net| bcast::bcast(net, alg, root, data, ty));
        inv.finish(nested);
        decode_one(&inv, &got.bytes, root)
    }

    /// Scatters the root's values, one per rank (`comm.scatter(values, root)`): the root
    /// passes `Some(values)` with exactly `size()` values, the others `None`; rank i gets
    /// `values[i]`.
    #[track_caller]
    pub fn scatter<T: Serialize + DeserializeOwned>(&self, values: Option<&[T]>, root: Rank) -> T {
        let inv = self.invocation(CallKind::Scatter);
        inv.check_root(root);
        let data = (self.rank() == root).then(|| {
            let values = values.unwrap_or_else(|| {
                inv.fail(MpiError::new(ErrorClass::Arg, "the root of a scatter must pass Some(values); it passed None"))
            });
            check_one_per_rank(&inv, "scatter at the root", values.len());
            values.iter().map(|v| inv.ok(wire::encode(v))).collect::<Vec<_>>()
        });
        let bytes = data.as_ref().map(|d| d.iter().map(|b| b.len() as u64).sum());
        let m = Marker { root: Some(root), bytes, ..Marker::default() };
        let (alg, nested) = inv.select(Collective::Scatter, m, inv.facts(0), None);
        let blocks = Blocks::of::<T>();
        let mine = inv.run(|net| blocks::scatter(net, alg, root, &blocks, data));
        inv.finish(nested);
        decode_one(&inv, &mine, root)
    }

    /// Gathers every rank's value at the root (`comm.gather(value, root)`): `Some` of the
    /// values in rank order there, `None` elsewhere.
    #[track_caller]
    pub fn gather<T: Serialize + DeserializeOwned>(&self, value: &T, root: Rank) -> Option<Vec<T>> {
        let inv = self.invocation(CallKind::Gather);
        inv.check_root(root);
        let mine = inv.ok(wire::encode(value));
        let m = Marker { root: Some(root), bytes: Some(mine.len() as u64), ..Marker::default() };
        let (alg, nested) = inv.select(Collective::Gather, m, inv.facts(0), None);
        let blocks = Blocks::of::<T>();
        let got = inv.run(|net| blocks::gather(net, alg, root, &blocks, mine));
        inv.finish(nested);
        got.map(|all| all.iter().enumerate().map(|(i, b)| decode_one(&inv, b, i)).collect())
    }

    /// Gathers every rank's value at every rank (`comm.allgather(value)`).
    #[track_caller]
    pub fn allgather<T: Serialize + DeserializeOwned>(&self, value: &T) -> Vec<T> {
        let inv = self.invocation(CallKind::Allgather);
        let mine = inv.ok(wire::encode(value));
        let own = mine.len() as u64;
        let m = Marker { bytes: Some(own), ..Marker::default() };
        let agree: &dyn Fn(&Invocation) -> u64 = &|inv| inv.agree_all(own, false);
        let (alg, nested) = inv.select(Collective::Allgather, m, inv.facts(0), Some(agree));
        let blocks = Blocks::of::<T>();
        let all = inv.run(|net| blocks::allgather(net, alg, &blocks, mine));
        inv.finish(nested);
        all.iter().enumerate().map(|(i, b)| decode_one(&inv, b, i)).collect()
    }

    /// Sends `values[i]` to rank i and returns what each rank sent this one
    /// (`comm.alltoall(values)`): the transpose. `values` has one value per rank.
    #[track_caller]
    pub fn alltoall<T: Serialize + DeserializeOwned>(&self, values: &[T]) -> Vec<T> {
        let inv = self.invocation(CallKind::Alltoall);
        check_one_per_rank(&inv, "alltoall", values.len());
        let data: Vec<Vec<u8>> = values.iter().map(|v| inv.ok(wire::encode(v))).collect();
        let largest = data.iter().map(|b| b.len() as u64).max().unwrap_or(0);
        let m = Marker { bytes: Some(data.iter().map(|b| b.len() as u64).sum()), ..Marker::default() };
        let agree: &dyn Fn(&Invocation) -> u64 = &|inv| inv.agree_all(largest, true);
        let (alg, nested) = inv.select(Collective::Alltoall, m, inv.facts(0), Some(agree));
        let blocks = Blocks::of::<T>();
        let got = inv.run(|net| blocks::alltoall(net, alg, &blocks, data));
        inv.finish(nested);
        got.iter().enumerate().map(|(i, b)| decode_one(&inv, b, i)).collect()
    }

    /// Scatters `counts[i]` of the root's values to each rank i (`MPI_Scatterv`): the root
    /// passes `Some(values)` with `Σ counts` values in rank order, the others `None`; every
    /// rank passes the same `counts`, one per rank.
    #[track_caller]
    pub fn scatterv<T: Serialize + DeserializeOwned>(
        &self,
        values: Option<&[T]>,
        counts: &[usize],
        root: Rank,
    ) -> Vec<T> {
        let inv = self.invocation(CallKind::Scatterv);
        inv.check_root(root);
        check_counts(&inv, counts, "scatterv's counts");
        let data = (self.rank() == root).then(|| {
            let values = values.unwrap_or_else(|| {
                inv.fail(MpiError::new(
                    ErrorClass::Arg,
                    "the root of a scatterv must pass Some(values); it passed None",
                ))
            });
            let total: usize = counts.iter().sum();
            inv.check(values.len() == total, ErrorClass::Count, || {
                format!("scatterv's counts add up to {total} but the root passed {} values", values.len())
            });
            let mut at = 0;
            counts
                .iter()
                .map(|&c| {
                    at += c;
                    inv.ok(wire::encode_values(&values[at - c..at]))
                })
                .collect::<Vec<_>>()
        });
        let bytes = data.as_ref().map(|d| d.iter().map(|b| b.len() as u64).sum());
        let m = Marker { root: Some(root), bytes, ..Marker::default() };
        let (alg, nested) = inv.select(Collective::Scatterv, m, inv.facts(0), None);
        let blocks = Blocks::counted::<T>(counts.to_vec());
        let mine = inv.run(|net| blocks::scatter(net, alg, root, &blocks, data));
        inv.finish(nested);
        decode_many(&inv, &mine, root, counts[self.rank()])
    }

    /// Gathers `counts[i]` values from each rank i at the root, in rank order
    /// (`MPI_Gatherv`); every rank passes the same `counts` and its own `counts[rank]`
    /// values.
    #[track_caller]
    pub fn gatherv<T: Serialize + DeserializeOwned>(
        &self,
        values: &[T],
        counts: &[usize],
        root: Rank,
    ) -> Option<Vec<T>> {
        let inv = self.invocation(CallKind::Gatherv);
        inv.check_root(root);
        check_counts(&inv, counts, "gatherv's counts");
        let r = self.rank();
        inv.check(values.len() == counts[r], ErrorClass::Count, || {
            format!("gatherv: rank {r} passed {} values but counts[{r}] is {}", values.len(), counts[r])
        });
        let mine = inv.ok(wire::encode_values(values));
        let m = Marker { root: Some(root), bytes: Some(mine.len() as u64), ..Marker::default() };
        let (alg, nested) = inv.select(Collective::Gatherv, m, inv.facts(0), None);
        let blocks = Blocks::counted::<T>(counts.to_vec());
        let got = inv.run(|net| blocks::gather(net, alg, root, &blocks, mine));
        inv.finish(nested);
        got.map(|all| all.iter().enumerate().flat_map(|(i, b)| decode_many(&inv, b, i, counts[i])).collect())
    }

    /// Gathers `counts[i]` values from each rank i at every rank, in rank order
    /// (`MPI_Allgatherv`).
    #[track_caller]
    pub fn allgatherv<T: Serialize + DeserializeOwned>(&self, values: &[T], counts: &[usize]) -> Vec<T> {
        let inv = self.invocation(CallKind::Allgatherv);
        check_counts(&inv, counts, "allgatherv's counts");
        let r = self.rank();
        inv.check(values.len() == counts[r], ErrorClass::Count, || {
            format!("allgatherv: rank {r} passed {} values but counts[{r}] is {}", values.len(), counts[r])
        });
        let mine = inv.ok(wire::encode_values(values));
        let own = mine.len() as u64;
        let m = Marker { bytes: Some(own), ..Marker::default() };
        let agree: &dyn Fn(&Invocation) -> u64 = &|inv| inv.agree_all(own, false);
        let (alg, nested) = inv.select(Collective::Allgatherv, m, inv.facts(0), Some(agree));
        let blocks = Blocks::counted::<T>(counts.to_vec());
        let all = inv.run(|net| blocks::allgather(net, alg, &blocks, mine));
        inv.finish(nested);
        all.iter().enumerate().flat_map(|(i, b)| decode_many(&inv, b, i, counts[i])).collect()
    }

    /// Sends `send_counts[i]` of `values` (in rank order) to each rank i and returns the
    /// `recv_counts[j]` values from each rank j, in rank order (`MPI_Alltoallv`).
    #[track_caller]
    pub fn alltoallv<T: Serialize + DeserializeOwned>(
        &self,
        values: &[T],
        send_counts: &[usize],
        recv_counts: &[usize],
    ) -> Vec<T> {
        let inv = self.invocation(CallKind::Alltoallv);
        check_counts(&inv, send_counts, "alltoallv's send counts");
        check_counts(&inv, recv_counts, "alltoallv's receive counts");
        let total: usize = send_counts.iter().sum();
        inv.check(values.len() == total, ErrorClass::Count, || {
            format!("alltoallv's send counts add up to {total} but {} values were passed", values.len())
        });
        let mut at = 0;
        let data: Vec<Vec<u8>> = send_counts
            .iter()
            .map(|&c| {
                at += c;
                inv.ok(wire::encode_values(&values[at - c..at]))
            })
            .collect();
        let m = Marker { bytes: Some(data.iter().map(|b| b.len() as u64).sum()), ..Marker::default() };
        let (alg, nested) = inv.select(Collective::Alltoallv, m, inv.facts(0), None);
        let blocks = Blocks::counted::<T>(recv_counts.to_vec());
        let got = inv.run(|net| blocks::alltoall(net, alg, &blocks, data));
        inv.finish(nested);
        got.iter().enumerate().flat_map(|(j, b)| decode_many(&inv, b, j, recv_counts[j])).collect()
    }

    /// Reduces every rank's value with `op` at the root (`comm.reduce(value, op, root)`):
    /// `Some` of `v₀ ∘ v₁ ∘ … ∘ vₚ₋₁` there, `None` elsewhere. Vectors reduce element by
    /// element.
    ///
    /// ```
    /// use mpisim::{op, World};
    /// let run = World::new(4).run(|comm| {
    ///     let r = comm.rank() as i64;
    ///     (comm.reduce(&r, op::SUM, 0), comm.reduce(&vec![r, -r], op::MAX, 0), comm.reduce(&r, op::REPLACE, 0))
    /// }).unwrap();
    /// assert_eq!(run.results[0], (Some(6), Some(vec![3, 0]), Some(3)));
    /// assert_eq!(run.results[1], (None, None, None));
    /// ```
    #[track_caller]
    pub fn reduce<T: Clone, O: Operator<T>>(&self, value: &T, op: O, root: Rank) -> Option<T> {
        let inv = self.invocation(CallKind::Reduce);
        inv.check_root(root);
        let call = reduce_call(&inv, &op, op.elements(value.clone()), Some(root));
        let (alg, nested) = inv.select(Collective::Reduce, call.marker, call.facts, None);
        let out = with_reduction(&op, |red| inv.run(|net| reduce::reduce(net, alg, root, call.elems, red)));
        inv.finish(nested);
        out.map(|e| op.assemble(e))
    }

    /// Reduces every rank's value with `op` and gives every rank the result
    /// (`comm.allreduce(value, op)`).
    ///
    /// ```
    /// use mpisim::{op, World};
    /// let run = World::new(5).run(|comm| {
    ///     let dist = [4.0, 1.5, 3.0, 1.5, 9.0][comm.rank()];
    ///     comm.allreduce(&(dist, comm.rank()), op::MINLOC)        // ties go to the smaller index
    /// }).unwrap();
    /// assert_eq!(run.results, vec![(1.5, 1); 5]);
    /// ```
    #[track_caller]
    pub fn allreduce<T: Clone, O: Operator<T>>(&self, value: &T, op: O) -> T {
        let inv = self.invocation(CallKind::Allreduce);
        let call = reduce_call(&inv, &op, op.elements(value.clone()), None);
        let (alg, nested) = inv.select(Collective::Allreduce, call.marker, call.facts, None);
        let out = with_reduction(&op, |red| inv.run(|net| reduce::allreduce(net, alg, call.elems, red)));
        inv.finish(nested);
        op.assemble(out)
    }

    /// Inclusive prefix reduction (`comm.scan(value, op)`): rank i gets `v₀ ∘ … ∘ vᵢ`.
    #[track_caller]
    pub fn scan<T: Clone, O: Operator<T>>(&self, value: &T, op: O) -> T {
        let inv = self.invocation(CallKind::Scan);
        self.prefix(&inv, value, op, false).expect("an inclusive scan has a value on every rank")
    }

    /// Exclusive prefix reduction (`comm.exscan(value, op)`): rank i gets
    /// `v₀ ∘ … ∘ vᵢ₋₁`; rank 0 gets `None`.
    #[track_caller]
    pub fn exscan<T: Clone, O: Operator<T>>(&self, value: &T, op: O) -> Option<T> {
        let inv = self.invocation(CallKind::Exscan);
        self.prefix(&inv, value, op, true)
    }

    fn prefix<T: Clone, O: Operator<T>>(&self, inv: &Invocation, value: &T, op: O, exclusive: bool) -> Option<T> {
        let call = reduce_call(inv, &op, op.elements(value.clone()), None);
        let which = if exclusive { Collective::Exscan } else { Collective::Scan };
        let (alg, nested) = inv.select(which, call.marker, call.facts, None);
        let out = with_reduction(&op, |red| inv.run(|net| reduce::scan(net, alg, call.elems, exclusive, red)));
        inv.finish(nested);
        out.map(|e| op.assemble(e))
    }

    /// Reduces `values` (one per rank, on every rank) and gives rank i the reduction of
    /// every rank's `values[i]` (`MPI_Reduce_scatter_block`).
    #[track_caller]
    pub fn reduce_scatter_block<T: Clone, O: Operator<T>>(&self, values: &[T], op: O) -> T {
        let inv = self.invocation(CallKind::ReduceScatterBlock);
        let p = self.size();
        check_one_per_rank(&inv, "reduce_scatter_block", values.len());
        let counts = vec![1; p];
        self.reduce_scatter_in(&inv, values, &counts, op).pop().expect("one value per rank")
    }

    /// Reduces `values` (`Σ counts` of them, on every rank) and gives rank i the
    /// reductions of its `counts[i]` values, in order (`MPI_Reduce_scatter`).
    #[track_caller]
    pub fn reduce_scatter<T: Clone, O: Operator<T>>(&self, values: &[T], counts: &[usize], op: O) -> Vec<T> {
        let inv = self.invocation(CallKind::ReduceScatter);
        check_counts(&inv, counts, "reduce_scatter's counts");
        let total: usize = counts.iter().sum();
        inv.check(values.len() == total, ErrorClass::Count, || {
            format!("reduce_scatter's counts add up to {total} but {} values were passed", values.len())
        });
        self.reduce_scatter_in(&inv, values, counts, op)
    }

    fn reduce_scatter_in<T: Clone, O: Operator<T>>(
        &self,
        inv: &Invocation,
        values: &[T],
        counts: &[usize],
        op: O,
    ) -> Vec<T> {
        // Each value is a run of elements; a rank's segment is the elements of its values.
        let parts: Vec<Vec<O::Elem>> = values.iter().map(|v| op.elements(v.clone())).collect();
        let mut elem_counts = Vec::with_capacity(counts.len());
        let mut at = 0;
        for &c in counts {
            elem_counts.push(parts[at..at + c].iter().map(Vec::len).sum::<usize>());
            at += c;
        }
        let mine_from: usize = counts[..self.rank()].iter().sum();
        let my_shape: Vec<usize> = parts[mine_from..mine_from + counts[self.rank()]].iter().map(Vec::len).collect();
        let elems: Vec<O::Elem> = parts.into_iter().flatten().collect();
        let call = reduce_call(inv, &op, elems, None);
        let (alg, nested) = inv.select(Collective::ReduceScatter, call.marker, call.facts, None);
        let mine =
            with_reduction(&op, |red| inv.run(|net| reduce::reduce_scatter(net, alg, &elem_counts, call.elems, red)));
        inv.finish(nested);
        let mut out = Vec::with_capacity(my_shape.len());
        let mut rest = mine.into_iter();
        for n in my_shape {
            out.push(op.assemble(rest.by_ref().take(n).collect()));
        }
        out
    }
}
