//! `scatterv-blocks`: rank 0 deals `--items` numbers out in near-equal blocks with
//! scatterv (the first `items mod p` ranks get one more), every rank squares its block,
//! and gatherv brings the squares back to rank 0: the reference of the exercise on
//! scatterv with uneven counts.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// How many of `items` values each of `ranks` ranks gets: `items / ranks`, and one more
/// for the first `items % ranks`.
pub fn block_counts(items: usize, ranks: usize) -> Vec<usize> {
    (0..ranks).map(|r| items / ranks + usize::from(r < items % ranks)).collect()
}

/// Returns every square, in order, on rank 0, and its own block of squares elsewhere.
pub fn scatterv_blocks(comm: &Comm, items: u64) -> Vec<u64> {
    let counts = block_counts(items as usize, comm.size());
    let data = (comm.rank() == 0).then(|| (0..items).collect::<Vec<u64>>());
    let mine = comm.scatterv(data.as_deref(), &counts, 0);
    let squares: Vec<u64> = mine.iter().map(|x| x * x).collect();
    comm.gatherv(&squares, &counts, 0).unwrap_or(squares)
}

pub(super) const PROGRAM: Program = Program {
    name: "scatterv-blocks",
    summary: "near-equal blocks out with scatterv, squares back with gatherv",
    params: &[Param::count("items", "10", "numbers to deal out (0..items)").range(0, 1 << 20)],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(scatterv_blocks(comm, p.number("items"))) },
};
