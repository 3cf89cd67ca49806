//! `alltoall`: rank i holds row i of a matrix whose entry (i, j) is `10·i + j`, cut in one
//! block per rank; alltoall sends block j to rank j, so rank j ends with column j: a
//! transpose, the step of a parallel FFT or a bucket sort.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Sends block j (`length` copies of `10·rank + j`) to rank j; returns the first value of
/// each block received, in source order: column `rank` of the matrix.
pub fn alltoall(comm: &Comm, length: u64) -> Vec<u64> {
    let (rank, size) = (comm.rank() as u64, comm.size() as u64);
    let row: Vec<Vec<u64>> = (0..size).map(|j| vec![10 * rank + j; length as usize]).collect();
    let got: Vec<Vec<u64>> = comm.alltoall(&row);
    let column: Vec<u64> = got.iter().map(|block| block.first().copied().unwrap_or(0)).collect();
    let want: Vec<u64> = (0..size).map(|i| 10 * i + rank).collect();
    assert!(length == 0 || column == want, "rank {rank} got {column:?}, not column {want:?}");
    comm.print(format!("rank {rank} has column {column:?}"));
    column
}

pub(super) const PROGRAM: Program = Program {
    name: "alltoall",
    summary: "a matrix transpose: block j of every rank's row goes to rank j",
    params: &[Param::count("length", "1", "numbers in each block")],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(alltoall(comm, p.number("length"))) },
};
