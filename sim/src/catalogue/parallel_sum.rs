//! `parallel-sum`: a sum as a reduction tree, written by hand with sends and receives
//! (rank r adds what r + 1, r + 2, r + 4, … send it, then sends to its parent), beside
//! the same sum by `reduce`, whose binomial algorithm builds the same tree.
//!
//! Compute model: [`NS_PER_VALUE`] of virtual time per number a rank adds to its own
//! partial sum, so the `values` numbers are divided among the ranks; the tree's additions
//! of partial sums are charged nothing, the messages carrying them are.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};
use std::time::Duration;

/// Virtual time charged per number added.
pub const NS_PER_VALUE: u64 = 1;

/// Sums `values` numbers (each rank holds a share); returns the total on rank 0 and the
/// partial sum this rank passed up elsewhere.
pub fn parallel_sum(comm: &Comm, values: u64) -> u64 {
    let (rank, size) = (comm.rank(), comm.size());
    let (lo, hi) = (values * rank as u64 / size as u64, values * (rank as u64 + 1) / size as u64);
    comm.compute(Duration::from_nanos(NS_PER_VALUE * (hi - lo)));
    let mine: u64 = (lo..hi).sum();
    let mut sum = mine;
    // The tree: at distance d = 1, 2, 4, … ranks that are multiples of 2d take from r + d.
    let mut d = 1;
    while d < size {
        if rank % (2 * d) == d {
            comm.send(&sum, rank - d, 0);
            break;
        }
        if rank + d < size {
            sum += comm.recv::<u64>(rank + d, 0);
        }
        d *= 2;
    }
    let by_reduce = comm.reduce(&mine, crate::op::SUM, 0);
    if rank == 0 {
        assert_eq!(Some(sum), by_reduce, "the hand-written tree and reduce disagree");
        assert_eq!(sum, values * values.saturating_sub(1) / 2);
        comm.print(format!("sum of 0..{values} = {sum}: by the hand-written tree and by reduce"));
    }
    sum
}

pub(super) const PROGRAM: Program = Program {
    name: "parallel-sum",
    summary: "a sum as a reduction tree, by hand and by reduce",
    params: &[Param::count("values", "1000000", "numbers to add (0..values)")],
    min_ranks: 1,
    default_ranks: 8,
    run: |comm: &Comm, p: &Params| -> Value { json!(parallel_sum(comm, p.number("values"))) },
};
