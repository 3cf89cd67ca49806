//! proptest strategies for testing collectives, yours or mpisim's (cargo feature
//! `proptest`): rank counts, roots, algorithms, payloads and counts.
//!
//! ```
//! use mpisim::{op, strategies, Collective, World};
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(16), |((p, alg) in strategies::world(Collective::Allreduce, 16),
//!                                            x in strategies::operands::<i32>(16, 4))| {
//!     let x2 = x.clone();
//!     let run = World::new(p).algorithm(Collective::Allreduce, alg)
//!         .run(move |c| c.allreduce(&x2[c.rank()], op::SUM)).unwrap();
//!     let want: Vec<i32> = (0..x[0].len())
//!         .map(|i| (0..p).fold(0i32, |s, r| s.wrapping_add(x[r][i]))).collect();
//!     prop_assert!(run.results.iter().all(|r| r == &want));
//! });
//! ```

use super::ops::ReduceOp;
use super::select::{Algorithm, Collective};
use crate::Rank;
use proptest::collection::vec;
use proptest::prelude::*;

/// A communicator size from 1 to `max` ranks (powers of two and not alike).
pub fn ranks(max: usize) -> impl Strategy<Value = usize> {
    1..=max.max(1)
}

/// A size from 1 to `max` and a root among its ranks.
pub fn ranks_and_root(max: usize) -> impl Strategy<Value = (usize, Rank)> {
    ranks(max).prop_flat_map(|p| (Just(p), 0..p))
}

/// Any algorithm of `collective`.
pub fn algorithm(collective: Collective) -> impl Strategy<Value = Algorithm> {
    proptest::sample::select(collective.algorithms().to_vec())
}

/// A size from 1 to `max` and an algorithm of `collective`.
pub fn world(collective: Collective, max: usize) -> impl Strategy<Value = (usize, Algorithm)> {
    (ranks(max), algorithm(collective))
}

/// A size, a root and an algorithm of `collective`.
pub fn rooted_world(collective: Collective, max: usize) -> impl Strategy<Value = (usize, Rank, Algorithm)> {
    (ranks_and_root(max), algorithm(collective)).prop_map(|((p, root), alg)| (p, root, alg))
}

/// One vector per possible rank (`max_ranks` of them: index by rank), each of up to
/// `max_len` values: blocks for scatter, gather, allgather and alltoall.
pub fn payloads<T: Arbitrary + Clone + 'static>(
    max_ranks: usize,
    max_len: usize,
) -> impl Strategy<Value = Vec<Vec<T>>> {
    vec(vec(any::<T>(), 0..=max_len), max_ranks)
}

/// One vector per possible rank, all of the same length (up to `max_len`): operands of a
/// reduction, which every rank must give the same count.
pub fn operands<T: Arbitrary + Clone + 'static>(
    max_ranks: usize,
    max_len: usize,
) -> impl Strategy<Value = Vec<Vec<T>>> {
    (0..=max_len).prop_flat_map(move |len| vec(vec(any::<T>(), len), max_ranks))
}

/// Counts for a v-variant on `ranks` ranks, each up to `max`.
pub fn counts(ranks: usize, max: usize) -> impl Strategy<Value = Vec<usize>> {
    vec(0..=max, ranks)
}

/// A predefined operator that applies to integers (every one but MAXLOC and MINLOC).
pub fn integer_op() -> impl Strategy<Value = ReduceOp> {
    proptest::sample::select(
        ReduceOp::ALL.iter().copied().filter(|o| !matches!(o, ReduceOp::Maxloc | ReduceOp::Minloc)).collect::<Vec<_>>(),
    )
}
