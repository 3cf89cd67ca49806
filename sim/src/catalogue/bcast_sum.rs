//! `bcast-sum`: rank `--root` broadcasts the numbers `0..count` with `bcast`, and every
//! rank returns their sum: the reference of the exercise in which students write their own
//! binomial broadcast with sends and receives.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};

/// Broadcasts `0..count` from `root`; returns the sum of what this rank received.
pub fn bcast_sum(comm: &Comm, count: u64, root: usize) -> u64 {
    let numbers = (comm.rank() == root).then(|| (0..count).collect::<Vec<u64>>());
    let got: Vec<u64> = comm.bcast(numbers.as_ref(), root);
    got.iter().sum()
}

pub(super) const PROGRAM: Program = Program {
    name: "bcast-sum",
    summary: "the root broadcasts 0..count with bcast; every rank returns their sum",
    params: &[
        Param::count("count", "1000", "numbers to broadcast: 0..count").range(1, 1 << 24),
        Param::count("root", "0", "the broadcasting rank"),
    ],
    min_ranks: 1,
    default_ranks: 8,
    run: |comm: &Comm, p: &Params| -> Value { json!(bcast_sum(comm, p.number("count"), p.number("root") as usize)) },
};
