//! `parallel-map`: each rank maps a function over its chunk of `0..items`, then one
//! allreduce combines the partial results.
//!
//! Compute model: [`NS_PER_ITEM`] of virtual time per item mapped, so the work, `items`
//! items in all, is divided among the ranks (chunks differ by at most one item) and the
//! allreduce's ⌈lg N⌉ message times are what stops the speedup.

use super::{Param, Params, Program};
use crate::comm::Comm;
use serde_json::{json, Value};
use std::time::Duration;

/// Virtual time charged per item mapped.
pub const NS_PER_ITEM: u64 = 1;

/// Σ f(i) over `0..items` for f(i) = i² mod 1000, split in equal chunks; every rank
/// returns the total (rank 0 checks it against a sequential sum).
pub fn parallel_map(comm: &Comm, items: u64) -> u64 {
    let (rank, size) = (comm.rank() as u64, comm.size() as u64);
    let (lo, hi) = (items * rank / size, items * (rank + 1) / size);
    let f = |i: u64| i * i % 1000;
    comm.compute(Duration::from_nanos(NS_PER_ITEM * (hi - lo)));
    let partial: u64 = (lo..hi).map(f).sum();
    let total = comm.allreduce(&partial, crate::op::SUM);
    if rank == 0 {
        // Once, not on every rank: a sweep to a thousand ranks would redo it a thousand times.
        assert_eq!(total, (0..items).map(f).sum::<u64>(), "the chunks do not add up");
        comm.print(format!("Σ i² mod 1000 over 0..{items} = {total} on {size} ranks"));
    }
    total
}

pub(super) const PROGRAM: Program = Program {
    name: "parallel-map",
    summary: "map over chunks, then one allreduce",
    params: &[Param::count("items", "100000", "items to map")],
    min_ranks: 1,
    default_ranks: 4,
    run: |comm: &Comm, p: &Params| -> Value { json!(parallel_map(comm, p.number("items"))) },
};
