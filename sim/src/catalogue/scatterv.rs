//! `scatterv`: rank 0 deals out uneven chunks with scatterv (rank i gets i + 1 values),
//! each rank squares its chunk, and allgatherv gives everyone the whole result.

use super::{Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Returns the squares of `0..n` (n = 1 + 2 + … + size) on every rank.
pub fn scatterv(comm: &Comm) -> Vec<u64> {
    let size = comm.size();
    let counts: Vec<usize> = (1..=size).collect();
    let n: usize = counts.iter().sum();
    let data = (comm.rank() == 0).then(|| (0..n as u64).collect::<Vec<_>>());
    let mine = comm.scatterv(data.as_deref(), &counts, 0);
    let squared: Vec<u64> = mine.iter().map(|x| x * x).collect();
    let all = comm.allgatherv(&squared, &counts);
    assert_eq!(all, (0..n as u64).map(|x| x * x).collect::<Vec<_>>());
    comm.print(format!("rank {} squared {:?}", comm.rank(), mine));
    all
}

pub(super) const PROGRAM: Program = Program {
    name: "scatterv",
    summary: "uneven chunks out with scatterv, results back with allgatherv",
    params: &[],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, _: &Params| -> Value { json!(scatterv(comm)) },
};
