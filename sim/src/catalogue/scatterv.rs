//! `scatterv`: rank 0 deals out uneven chunks with scatterv (rank i gets i + 1 values, up
//! to [`MAX_CHUNK`]), each rank squares its chunk, and allgatherv gives everyone the whole
//! result.

use super::{rounds, Footprint, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// The largest chunk: rank i gets `min(i + 1, MAX_CHUNK)` values, so the chunks are uneven
/// on any number of ranks while the data grows linearly with them (with `i + 1` values
/// each, every rank's copy of the result grew as n², and the run as n³: 24 GB at 1,000).
pub const MAX_CHUNK: usize = 8;

/// How many values each of `ranks` ranks gets.
pub fn chunk_counts(ranks: usize) -> Vec<usize> {
    (1..=ranks).map(|i| i.min(MAX_CHUNK)).collect()
}

/// Returns the squares of `0..n` (n the sum of the chunks) on every rank.
pub fn scatterv(comm: &Comm) -> Vec<u64> {
    let counts = chunk_counts(comm.size());
    let n: usize = counts.iter().sum();
    let data = (comm.rank() == 0).then(|| (0..n as u64).collect::<Vec<_>>());
    let mine = comm.scatterv(data.as_deref(), &counts, 0);
    let squared: Vec<u64> = mine.iter().map(|x| x * x).collect();
    let all = comm.allgatherv(&squared, &counts);
    assert!(all.iter().enumerate().all(|(x, &sq)| sq == (x * x) as u64), "allgatherv put a chunk out of place");
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
    memory: |_: &Params, n: usize| {
        // Every rank ends with all the squares (8 bytes each), and their pieces travel
        // encoded in each of allgatherv's rounds.
        let values: u64 = chunk_counts(n).iter().map(|&c| c as u64).sum();
        let ranks = n as u64;
        Footprint::buffers(ranks.saturating_mul(3), values * 8)
            + Footprint::messages(ranks.saturating_mul(rounds(n) + 1))
    },
};
